"""Reading VideoPose3D checkpoints: the architecture from the weights, and the one lifter loader.

* :func:`infer_temporal_architecture` reads filter widths, channels and joint counts from a state
  dict's tensor shapes (:class:`TemporalArchitecture`).
* :func:`load_lifter` reads an official VideoPose3D ``.bin`` checkpoint, a lifter written by
  :func:`save_lifter` or a ``lift3d`` training checkpoint, and returns a
  :class:`~posekit.models.lift3d.lifter.Lifter`. Files are read with weights-only unpickling;
  the numpy arrays of the official files' ``random_state`` are rebuilt through posekit's one
  numpy allow-list (:func:`posekit.io.safe_pickle.numpy_array_globals`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from posekit.io.checkpoint import CHECKPOINT_FORMAT, extract_state_dict, load_checkpoint, save_checkpoint
from posekit.models.lift3d.lifter import Lifter
from posekit.models.lift3d.videopose3d import TemporalModel, check_temporal_architecture

__all__ = [
    "TemporalArchitecture",
    "infer_temporal_architecture",
    "load_lifter",
    "load_lifter_checkpoint",
    "save_lifter",
]


@dataclass(frozen=True)
class TemporalArchitecture:
    """Architecture of a VideoPose3D model as read from its weights.

    Attributes:
        num_joints_in: input joints (``expand_conv`` input channels / ``in_features``).
        in_features: features per input joint (2: not recoverable from weights, given).
        num_joints_out: output joints (``shrink`` output channels / 3).
        filter_widths: convolution widths (expand conv, then the dilated conv of each block).
        channels: convolution channels.
        dense: the model uses undilated wide convolutions (given, not inferred).
    """

    num_joints_in: int
    in_features: int
    num_joints_out: int
    filter_widths: tuple[int, ...]
    channels: int
    dense: bool = False

    def __post_init__(self) -> None:
        check_temporal_architecture(
            self.num_joints_in, self.in_features, self.num_joints_out, self.filter_widths, self.channels
        )

    def receptive_field(self) -> int:
        """Product of the filter widths."""
        return math.prod(self.filter_widths)

    def build(self, *, causal: bool = False, dropout: float = 0.25) -> TemporalModel:
        """A :class:`TemporalModel` with this architecture (weights not loaded)."""
        return TemporalModel(
            self.num_joints_in,
            self.in_features,
            self.num_joints_out,
            list(self.filter_widths),
            causal=causal,
            dropout=dropout,
            channels=self.channels,
            dense=self.dense,
        )


def infer_temporal_architecture(
    state_dict: Mapping[str, torch.Tensor],
    *,
    in_features: int = 2,
    dense: bool = False,
) -> TemporalArchitecture:
    """Read a VideoPose3D architecture from a state dict's tensor shapes.

    ``expand_conv.weight`` is ``(C, J_in * in_features, W0)``; ``layers_conv.{2i}.weight`` is
    ``(C, C, W_i)`` (dense models: ``(C, C, (W_i - 1) * W0 * ... * W_{i-1} + 1)``);
    ``shrink.weight`` is ``(J_out * 3, C, 1)``. Causality leaves no trace in the weights, and
    whether a wide kernel is a dense ablation cannot be told apart from a wide dilated one, so
    both are arguments.

    Raises:
        ValueError: a missing key or a shape that fits no VideoPose3D model (even filter widths
            included).
    """
    for key in ("expand_conv.weight", "shrink.weight"):
        if key not in state_dict:
            raise ValueError(f"not a VideoPose3D state dict: no {key!r} (keys: {', '.join(list(state_dict)[:8])}, ...)")
    expand = state_dict["expand_conv.weight"]
    shrink = state_dict["shrink.weight"]
    if expand.ndim != 3 or shrink.ndim != 3:
        raise ValueError(
            "expand_conv.weight and shrink.weight must be 3D conv weights, got "
            f"{tuple(expand.shape)} and {tuple(shrink.shape)}"
        )
    channels, input_channels, first_width = (int(size) for size in expand.shape)
    if input_channels % in_features != 0:
        raise ValueError(
            f"expand_conv.weight takes {input_channels} channels, not a multiple of in_features={in_features}"
        )
    if shrink.shape[0] % 3 != 0 or shrink.shape[1] != channels:
        raise ValueError(f"shrink.weight must be (J_out * 3, {channels}, 1), got {tuple(shrink.shape)}")
    widths = [first_width]
    block = 0
    while f"layers_conv.{2 * block}.weight" in state_dict:
        kernel = state_dict[f"layers_conv.{2 * block}.weight"]
        if kernel.ndim != 3 or tuple(kernel.shape[:2]) != (channels, channels):
            raise ValueError(
                f"layers_conv.{2 * block}.weight must be ({channels}, {channels}, W), got {tuple(kernel.shape)}"
            )
        kernel_size = int(kernel.shape[2])
        if dense:
            # A dense block's kernel spans (W - 1) * dilation + 1 frames, its dilation the product
            # of the widths before it (see block_dilations).
            dilation = math.prod(widths)
            if (kernel_size - 1) % dilation != 0:
                raise ValueError(
                    f"layers_conv.{2 * block}.weight has width {kernel_size}, which no dense block after a "
                    f"receptive field of {dilation} frames has"
                )
            widths.append((kernel_size - 1) // dilation + 1)
        else:
            widths.append(kernel_size)
        block += 1
    # TemporalArchitecture checks the widths (odd, positive) and the sizes as the model does.
    return TemporalArchitecture(
        num_joints_in=input_channels // in_features,
        in_features=in_features,
        num_joints_out=int(shrink.shape[0]) // 3,
        filter_widths=tuple(widths),
        channels=channels,
        dense=dense,
    )


def load_lifter_checkpoint(path: str | os.PathLike[str], *, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a VideoPose3D checkpoint with weights-only unpickling.

    Official ``.bin`` files are dicts with ``model_pos``, optional ``model_traj`` (may be
    ``None``), ``epoch``, ``lr``, ``optimizer`` (an optimizer state dict), ``random_state`` and
    ``random_state_semi`` (numpy ``RandomState`` states). Only tensors, containers, numbers,
    strings and numeric numpy arrays are rebuilt; anything else is refused.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file cannot be read with weights-only semantics, or is not a dict.
    """
    return load_checkpoint(path, map_location=map_location, allow_numpy_arrays=True)


def _build_and_load(
    state_dict: Mapping[str, torch.Tensor],
    *,
    name: str,
    causal: bool,
    dense: bool,
    in_features: int,
) -> TemporalModel:
    try:  # the weights, without DataParallel / torch.compile prefixes
        state_dict = extract_state_dict(state_dict)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None
    architecture = infer_temporal_architecture(state_dict, in_features=in_features, dense=dense)
    model = architecture.build(causal=causal)
    expected = model.state_dict()
    missing = [key for key in expected if key not in state_dict and not key.endswith("num_batches_tracked")]
    unexpected = [key for key in state_dict if key not in expected]
    if missing or unexpected:
        raise ValueError(
            f"{name} does not match a VideoPose3D model with filter widths {list(architecture.filter_widths)}: "
            f"missing keys {missing[:6]}, unexpected keys {unexpected[:6]}"
        )
    for key, value in state_dict.items():
        if tuple(value.shape) != tuple(expected[key].shape):
            raise ValueError(f"{name}: {key} has shape {tuple(value.shape)}, expected {tuple(expected[key].shape)}")
    # Files from old PyTorch may lack num_batches_tracked; it only matters for momentum=None.
    filled = {key: state_dict.get(key, expected[key]) for key in expected}
    model.load_state_dict(filled, strict=True)
    return model.eval()


def load_lifter(
    path: str | os.PathLike[str],
    *,
    map_location: str | torch.device = "cpu",
    causal: bool | None = None,
    num_joints: int | None = None,
    dense: bool = False,
    in_features: int = 2,
) -> Lifter:
    """Load a VideoPose3D checkpoint (official ``.bin`` or posekit) as a :class:`Lifter`.

    The one loader of lifter checkpoints. The architecture (filter widths, channels, joints in
    and out) is read from the weights. Accepted contents:

    * a dict with ``model_pos`` (and optionally ``model_traj``, which may be ``None``): official
      ``.bin`` files and lifters written by :func:`save_lifter`;
    * a posekit training checkpoint of the ``lift3d`` task (``model`` holding ``pose.*`` and
      optionally ``trajectory.*`` weights);
    * a bare ``model_pos`` state dict.

    A leading ``module.`` or ``_orig_mod.`` on every key (``DataParallel``, ``torch.compile``) is
    removed.

    Args:
        path: checkpoint file.
        map_location: device for the tensors.
        causal: whether the model was trained causal. Weights do not record it: ``None`` uses
            the checkpoint's ``causal`` entry when present (:func:`save_lifter` writes one) and
            otherwise ``False`` (official files and training checkpoints: pass the training
            config's value, or ``True`` for the official causal models).
        num_joints: when given, the number of output joints expected; another count raises.
        dense: the checkpoint is the paper's dense-convolution ablation (weights cannot tell).
        in_features: features per input joint (2).

    Returns:
        A :class:`Lifter` in evaluation mode.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: unreadable file, not a VideoPose3D checkpoint, keys or shapes that do not
            match, a trajectory model that does not fit the pose model, or ``num_joints``
            different from the checkpoint's.
    """
    checkpoint = load_lifter_checkpoint(path, map_location=map_location)
    pose_state, trajectory_state = _lifter_states(checkpoint, os.fspath(path))
    if not isinstance(pose_state, Mapping):
        raise ValueError(f"{os.fspath(path)!r}: 'model_pos' must be a state dict, got {type(pose_state).__name__}")
    if causal is None:
        causal = bool(checkpoint.get("causal", False))
    pose_model = _build_and_load(
        pose_state, name=f"{os.fspath(path)!r} model_pos", causal=causal, dense=dense, in_features=in_features
    )
    if num_joints is not None and pose_model.num_joints_out != num_joints:
        raise ValueError(
            f"{os.fspath(path)!r} predicts {pose_model.num_joints_out} joints (shrink.weight has "
            f"{pose_model.num_joints_out * 3} outputs), but {num_joints} joints were requested"
        )
    trajectory_model = None
    if trajectory_state is not None:
        if not isinstance(trajectory_state, Mapping):
            raise ValueError(
                f"{os.fspath(path)!r}: 'model_traj' must be a state dict, got {type(trajectory_state).__name__}"
            )
        trajectory_model = _build_and_load(
            trajectory_state,
            name=f"{os.fspath(path)!r} model_traj",
            causal=causal,
            dense=dense,
            in_features=in_features,
        )
    return Lifter(pose_model, trajectory_model).eval()


def _lifter_states(checkpoint: Mapping[str, Any], name: str) -> tuple[Mapping[str, Any], Mapping[str, Any] | None]:
    """The pose and trajectory state dicts of any accepted checkpoint layout (see :func:`load_lifter`)."""
    if "model_pos" in checkpoint:  # official .bin files and lifters written by save_lifter
        return checkpoint["model_pos"], checkpoint.get("model_traj")
    weights = checkpoint.get("model")
    if isinstance(weights, Mapping) and any(str(key).startswith("pose.") for key in weights):
        # A lift3d training checkpoint: the state dict of a module with .pose and .trajectory.
        pose = {key[len("pose.") :]: value for key, value in weights.items() if key.startswith("pose.")}
        trajectory = {
            key[len("trajectory.") :]: value for key, value in weights.items() if key.startswith("trajectory.")
        }
        return pose, trajectory or None
    if "expand_conv.weight" in checkpoint or "module.expand_conv.weight" in checkpoint:
        return checkpoint, None
    raise ValueError(
        f"{name!r} is not a VideoPose3D checkpoint: expected a 'model_pos' entry, 'model' with pose.* weights "
        f"(a lift3d training checkpoint) or a bare state dict, got keys {sorted(checkpoint)[:8]}"
    )


def save_lifter(
    path: str | os.PathLike[str],
    pose_model: nn.Module,
    trajectory: nn.Module | None = None,
    *,
    causal: bool,
    weights_info: Mapping[str, Any],
) -> Path:
    """Write a lifter in the format :func:`load_lifter` reads (atomically).

    The file is a weights-only ``torch.save`` dict: ``format``, ``version``, ``model_pos``,
    ``model_traj`` (or ``None``), ``causal`` and ``weights_info`` (plain values only: source,
    training command, skeleton, metrics...).

    Args:
        path: target file.
        pose_model: a :class:`TemporalModel` or :class:`TemporalModelOptimized1f` (same weights).
        trajectory: optional trajectory model.
        causal: whether the models were trained causal (weights do not record it).
        weights_info: metadata stored with the weights.
    """
    state = {
        "format": CHECKPOINT_FORMAT,
        "version": 1,
        "model_pos": {key: value.detach().cpu().clone() for key, value in pose_model.state_dict().items()},
        "model_traj": (
            {key: value.detach().cpu().clone() for key, value in trajectory.state_dict().items()}
            if trajectory is not None
            else None
        ),
        "causal": bool(causal),
        "weights_info": dict(weights_info),
    }
    return save_checkpoint(path, state)
