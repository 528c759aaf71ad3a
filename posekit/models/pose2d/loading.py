"""Loading a registered 2D model with its weights, and what the weights say about decoding.

:func:`load_pose2d_model` builds a registered model and loads a posekit or official checkpoint
into it; :func:`read_model_metadata` reads the decoding facts a checkpoint carries
(:class:`ModelMetadata`: skeleton, codec, sigma, DARK, flip settings); :func:`build_model_codec`
builds the codec that decodes a model's outputs, sized by the model, through the one codec
factory :func:`posekit.codecs.build_codec`.

Legend: ``K`` keypoints, input size ``(w, h)``, heatmap size ``(W, H)``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from posekit.codecs import Codec, build_codec, resolve_codec_name
from posekit.io.checkpoint import CHECKPOINT_FORMAT, load_checkpoint, load_model_weights
from posekit.models.pose2d.base import Pose2DModel
from posekit.models.registry import get_model, list_models, unknown_model_message
from posekit.skeletons import get_skeleton

__all__ = [
    "ModelMetadata",
    "build_model_codec",
    "default_skeleton_name",
    "load_pose2d_model",
    "read_model_metadata",
]

# Skeleton assumed for weights without metadata, by keypoint count.
_SKELETON_BY_COUNT = {17: "coco", 16: "mpii", 14: "crowdpose"}


def build_model_codec(model: Pose2DModel, name: str = "auto", sigma: float = 2.0, unbiased: bool = False) -> Codec:
    """The codec that decodes ``model``'s outputs, sized by the model.

    Args:
        model: a 2D model.
        name: ``"auto"`` (by ``output_kind``: MSRA heatmaps, regression labels, or the integral
            codec for hybrids), ``"msra"``, ``"udp"``, ``"integral"`` or ``"regression"``.
        sigma: Gaussian sigma in heatmap pixels (decoding uses it only through DARK's blur).
        unbiased: DARK decoding for the MSRA codec.

    Raises:
        ValueError: an unknown codec name, or a heatmap codec for a model without heatmaps.
    """
    key = resolve_codec_name(name, model.output_kind)
    if key == "regression":
        return build_codec(key, input_size=model.input_size)
    if model.heatmap_size is None:
        raise ValueError(f"codec {name!r} needs heatmaps, but {type(model).__name__} regresses coordinates only")
    options: dict[str, Any] = {"sigma": sigma, "unbiased": unbiased} if key == "msra" else {"sigma": sigma}
    return build_codec(key, input_size=model.input_size, heatmap_size=model.heatmap_size, **options)


def default_skeleton_name(num_keypoints: int) -> str:
    """Skeleton assumed for ``K`` keypoints when weights carry no metadata (17 COCO, 16 MPII, 14 CrowdPose)."""
    if num_keypoints not in _SKELETON_BY_COUNT:
        raise ValueError(
            f"no default skeleton for {num_keypoints} keypoints (known: {_SKELETON_BY_COUNT}); pass the skeleton name"
        )
    return _SKELETON_BY_COUNT[num_keypoints]


@dataclass(frozen=True)
class ModelMetadata:
    """What a weights file says about decoding (defaults when it says nothing).

    Attributes:
        model_name: the registered model the weights were trained as (``None``: unknown).
        model_kwargs: builder arguments from the training config (``num_keypoints`` excluded).
        skeleton: keypoint format name (``None``: unknown; chosen by keypoint count).
        codec: ``"auto"``, ``"msra"``, ``"udp"``, ``"integral"`` or ``"regression"``.
        sigma: Gaussian sigma in heatmap pixels.
        unbiased: DARK decoding.
        flip_test: flip test as evaluated in training.
        shift_heatmap: HRNet's heatmap shift as evaluated in training.
        source: ``"posekit-config"``, ``"weights_info"`` or ``"none"``.
    """

    model_name: str | None = None
    model_kwargs: Mapping[str, Any] | None = None
    skeleton: str | None = None
    codec: str = "auto"
    sigma: float = 2.0
    unbiased: bool = False
    flip_test: bool = True
    shift_heatmap: bool = True
    source: str = "none"


def read_model_metadata(checkpoint: Mapping[str, Any]) -> ModelMetadata:
    """Decoding metadata of a loaded checkpoint dict.

    Two sources are understood: the ``config`` that ``posekit train`` saves in its checkpoints
    (``model.name``, ``model.kwargs``, ``data.skeleton``, ``data.codec``, ``data.sigma``,
    ``data.unbiased``, ``augmentation.use_udp``, ``eval.flip_test``, ``eval.shift_heatmap``),
    and a ``weights_info`` dict of plain values (``skeleton`` and ``codec`` =
    ``{"name": ..., "sigma": ..., "unbiased": ...}``). Official
    checkpoints carry neither: defaults.
    """
    config = checkpoint.get("config") if checkpoint.get("format") == CHECKPOINT_FORMAT else None
    if (
        isinstance(config, Mapping)
        and isinstance(config.get("model"), Mapping)
        and isinstance(config.get("data"), Mapping)
    ):
        model_config, data = config["model"], config["data"]
        augmentation = config.get("augmentation") if isinstance(config.get("augmentation"), Mapping) else {}
        evaluation = config.get("eval") if isinstance(config.get("eval"), Mapping) else {}
        assert isinstance(augmentation, Mapping) and isinstance(evaluation, Mapping)
        codec = str(data.get("codec", "auto"))
        if augmentation.get("use_udp") and codec in ("auto", "msra"):
            codec = "udp"
        kwargs = {key: value for key, value in dict(model_config.get("kwargs") or {}).items() if key != "num_keypoints"}
        return ModelMetadata(
            model_name=str(model_config["name"]) if model_config.get("name") else None,
            model_kwargs=kwargs,
            skeleton=str(data["skeleton"]) if data.get("skeleton") else None,
            codec=codec,
            sigma=float(data.get("sigma", 2.0)),
            unbiased=bool(data.get("unbiased", False)),
            flip_test=bool(evaluation.get("flip_test", True)),
            shift_heatmap=bool(evaluation.get("shift_heatmap", True)),
            source="posekit-config",
        )
    info = checkpoint.get("weights_info")
    if isinstance(info, Mapping):
        codec_info = info.get("codec") if isinstance(info.get("codec"), Mapping) else {}
        assert isinstance(codec_info, Mapping)
        return ModelMetadata(
            skeleton=str(info["skeleton"]) if info.get("skeleton") else None,
            codec=str(codec_info.get("name", "auto")),
            sigma=float(codec_info.get("sigma", 2.0)),
            unbiased=bool(codec_info.get("unbiased", False)),
            source="weights_info",
        )
    return ModelMetadata()


def load_pose2d_model(
    model_name: str,
    weights: str | os.PathLike[str] | None,
    skeleton: str | None = None,
) -> tuple[Pose2DModel, ModelMetadata, str]:
    """Build the registered 2D model ``model_name`` and load ``weights`` into it.

    The keypoint count comes from ``skeleton``, else from the checkpoint's metadata, else from the
    builder's default (17 COCO keypoints, 16 for MPII variants).

    Args:
        model_name: a registered 2D model name (``posekit info`` lists them).
        weights: posekit or official checkpoint; ``None`` keeps the random initialisation.
        skeleton: keypoint format, overriding the checkpoint's.

    Returns:
        ``(model in eval mode, metadata, skeleton name)``.

    Raises:
        ValueError: unknown model name, not a 2D model, weights trained as another model, or
            weights that do not match.
        FileNotFoundError: the weights file does not exist.
    """
    known = list_models()
    if model_name not in known:  # before reading the weights: a misspelt name is the first thing to fix
        raise ValueError(unknown_model_message(model_name, known))
    checkpoint = load_checkpoint(weights) if weights is not None else {}
    metadata = read_model_metadata(checkpoint)
    if metadata.model_name is not None and metadata.model_name != model_name:
        raise ValueError(f"{weights}: these weights were trained as {metadata.model_name!r}, not {model_name!r}")
    kwargs: dict[str, Any] = dict(metadata.model_kwargs or {})
    skeleton_name = skeleton or metadata.skeleton
    if skeleton_name is not None:
        kwargs["num_keypoints"] = get_skeleton(skeleton_name).num_keypoints
    model = get_model(model_name, **kwargs)
    if not isinstance(model, Pose2DModel):
        raise ValueError(f"model {model_name!r} is not a 2D single-person model (posekit Pose2DModel)")
    if weights is not None:
        try:
            load_model_weights(model, checkpoint)
        except ValueError as error:
            raise ValueError(f"{weights}: {error}") from None
    if skeleton_name is None:
        skeleton_name = default_skeleton_name(model.num_keypoints)
    return model.eval(), metadata, get_skeleton(skeleton_name).name
