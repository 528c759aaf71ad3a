"""Loading a registered bottom-up model with its weights: official HigherHRNet files and posekit checkpoints.

Layouts understood, detected by content (``torch.load(weights_only=True)``, see
:func:`posekit.io.checkpoint.load_checkpoint`):

* official model zoo (``pose_higher_hrnet_w32_512.pth`` ...), ``model_best.pth.tar`` and
  ``final_state*.pth.tar`` of the official ``tools/dist_train.py``: a plain state dict;
* the official ``checkpoint.pth.tar``: ``{"epoch", "model", "state_dict", "best_state_dict", "perf",
  "optimizer"}`` with DistributedDataParallel's ``module.`` prefixes under ``state_dict``;
* official FP16 training (``FP16.ENABLED``, e.g. the W48 experiments): the same, every name behind
  the ``1.`` of ``network_to_half`` and the weights in half precision (loaded into float32);
* posekit checkpoints (``posekit train``): ``{"format": "posekit-checkpoint", "model", "config", ...}``;
  the config's model name, builder arguments and skeleton are used (:func:`read_model_metadata`).

Official names gain the trunk's ``backbone.`` prefix in :meth:`HigherHRNet.remap_state_dict`, which
also turns a checkpoint of another architecture, joint count or trunk width into one sentence.
"""

from __future__ import annotations

import os
from typing import Any

from posekit.io.checkpoint import load_checkpoint, load_model_weights
from posekit.models.bottomup.higher_hrnet import VARIANTS, HigherHRNet
from posekit.models.pose2d.loading import read_model_metadata
from posekit.models.registry import get_model, list_models, unknown_model_message

__all__ = ["is_bottomup_model", "load_bottomup_model"]


def is_bottomup_model(name: str) -> bool:
    """Whether ``name`` is a registered bottom-up (HigherHRNet) variant."""
    return name in VARIANTS


def load_bottomup_model(
    name: str, weights: str | os.PathLike[str] | None, *, device: str = "cpu", **kwargs: Any
) -> HigherHRNet:
    """Build the bottom-up variant ``name`` and load ``weights`` into it.

    Args:
        name: a registered bottom-up variant (``higherhrnet_w32_512``, ...; ``posekit info`` lists them).
        weights: an official or posekit checkpoint (see the module docstring); ``None`` keeps the
            random (official) initialisation.
        device: where the model goes.
        **kwargs: builder arguments (official config keys, see
            :func:`posekit.models.bottomup.higher_hrnet.build_higher_hrnet`), over those a posekit
            checkpoint's config records.

    Returns:
        The model in eval mode, with ``skeleton`` set (the checkpoint's, else the variant's).

    Raises:
        ValueError: unknown or non-bottom-up name, weights trained as another model, or weights that
            do not fit (one sentence naming the file and what was expected).
        FileNotFoundError: the weights file does not exist.
    """
    known = list_models()
    if name not in known:  # before reading the weights: a misspelt name is the first thing to fix
        raise ValueError(unknown_model_message(name, known))
    if not is_bottomup_model(name):
        raise ValueError(f"model {name!r} is not a bottom-up model; expected one of {', '.join(sorted(VARIANTS))}")
    checkpoint = _read_checkpoint(weights) if weights is not None else {}
    metadata = read_model_metadata(checkpoint)
    if metadata.model_name is not None and metadata.model_name != name:
        raise ValueError(f"{weights}: these weights were trained as {metadata.model_name!r}, not {name!r}")
    options: dict[str, Any] = {**dict(metadata.model_kwargs or {}), **kwargs}
    if metadata.skeleton is not None and "skeleton" not in options and "num_joints" not in kwargs:
        options["skeleton"] = metadata.skeleton
    model = get_model(name, **options)
    if not isinstance(model, HigherHRNet):
        raise ValueError(f"model {name!r} did not build a HigherHRNet but a {type(model).__name__}")
    if weights is not None:
        try:
            load_model_weights(model, checkpoint)
        except ValueError as error:
            raise ValueError(f"{weights}: {str(error).removeprefix('state dict: ')}") from None
    return model.to(device).eval()


def _read_checkpoint(weights: str | os.PathLike[str]) -> dict[str, Any]:
    """The checkpoint dict, with a hint for the official FP16 ``checkpoint.pth.tar`` (it pickles a loss scaler)."""
    try:
        return load_checkpoint(weights)
    except ValueError as error:
        if "loss_scaler" not in str(error):
            raise
        raise ValueError(
            f"{weights}: an official FP16 training checkpoint (its optimizer state pickles a "
            "fp16_utils.loss_scaler object, which posekit will not unpickle); load the weights-only "
            "model_best.pth.tar or final_state*.pth.tar written beside it instead"
        ) from None
