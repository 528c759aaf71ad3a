"""ONNX export of a registered model by name: the 2D single-person models and the VideoPose3D lifters.

:func:`export_registered_onnx` is what ``posekit export onnx`` runs: it builds the registered model,
loads ``weights`` (posekit or official checkpoints) and writes the graph with
:func:`~posekit.export.onnx.export_pose2d_onnx` (metadata: skeleton, flip indices, codec and flip
test settings, from the checkpoint's saved config when it has one) or
:func:`~posekit.export.onnx.export_lifter_onnx` (names starting with ``videopose3d``).
"""

from __future__ import annotations

import os

from posekit.export.onnx import OnnxExport, export_lifter_onnx, export_pose2d_onnx
from posekit.models.lift3d import load_lifter
from posekit.models.pose2d.loading import build_model_codec, load_pose2d_model
from posekit.models.registry import get_model
from posekit.skeletons import get_skeleton

__all__ = ["LIFTER_PREFIX", "export_registered_onnx"]

LIFTER_PREFIX = "videopose3d"


def export_registered_onnx(
    model_name: str,
    out: str | os.PathLike[str],
    *,
    weights: str | None = None,
    skeleton: str | None = None,
    input_size: tuple[int, int] | None = None,
    frames: int | None = None,
    batch: int | None = None,
    opset: int = 17,
    check: bool = False,
) -> OnnxExport:
    """Export the registered model ``model_name`` (with ``weights``) to ``out`` (``.onnx``, atomically).

    Args:
        model_name: a registered name (``posekit info`` lists them).
        out: the ``.onnx`` file.
        weights: checkpoint to load (``None``: the model's initial weights).
        skeleton: 2D models: keypoint format, overriding the checkpoint's.
        input_size: 2D models: ``(w, h)`` of the graph's input (``None``: the model's).
        frames: lifters: frames of the graph's input (``None``: the receptive field).
        batch: fixed batch size, ``None`` for a dynamic one.
        opset: ONNX opset.
        check: compare onnxruntime with torch on random input; the file is kept only if they agree.

    Raises:
        ValueError: an option that does not apply to the model's kind, mismatched weights.
    """
    if model_name.startswith(LIFTER_PREFIX):
        if input_size is not None:
            raise ValueError("--input-size applies to 2D image models; lifters take keypoints_2d (B, T, J, 2)")
        if skeleton is not None:
            raise ValueError("--skeleton applies to 2D image models")
        return _export_lifter(model_name, out, weights, frames=frames, batch=batch, opset=opset, check=check)
    if frames is not None:
        raise ValueError("--frames applies to VideoPose3D lifters only")
    return _export_pose2d(
        model_name, out, weights, skeleton, input_size=input_size, batch=batch, opset=opset, check=check
    )


def _export_pose2d(
    model_name: str,
    out: str | os.PathLike[str],
    weights: str | None,
    skeleton: str | None,
    *,
    input_size: tuple[int, int] | None,
    batch: int | None,
    opset: int,
    check: bool,
) -> OnnxExport:
    model, metadata, skeleton_name = load_pose2d_model(model_name, weights, skeleton)
    codec_name = build_model_codec(model, metadata.codec, sigma=metadata.sigma, unbiased=metadata.unbiased).name
    extra = {
        "model": model_name,
        "skeleton": skeleton_name,
        "flip_indices": list(get_skeleton(skeleton_name).flip_indices),
        "codec": {"name": codec_name, "sigma": metadata.sigma, "unbiased": metadata.unbiased},
        "flip_test": {"enabled": metadata.flip_test, "shift_heatmap": metadata.shift_heatmap and codec_name != "udp"},
    }
    return export_pose2d_onnx(
        model,
        out,
        input_size=input_size,
        batch=batch,
        opset=opset,
        check=check,
        metadata=extra,
    )


def _export_lifter(
    model_name: str,
    out: str | os.PathLike[str],
    weights: str | None,
    *,
    frames: int | None,
    batch: int | None,
    opset: int,
    check: bool,
) -> OnnxExport:
    named = get_model(model_name)
    model = named
    if weights is not None:
        lifter = load_lifter(weights, causal=bool(getattr(named, "causal", False)))
        model = lifter.pose_model
        if model.receptive_field() != named.receptive_field():  # type: ignore[operator]
            raise ValueError(
                f"{weights}: the weights have a receptive field of {model.receptive_field()} frames, "
                f"{model_name} has {named.receptive_field()}"  # type: ignore[operator]
            )
    return export_lifter_onnx(
        model,
        out,
        num_frames=frames,
        batch=batch,
        opset=opset,
        check=check,
        metadata={"model": model_name},
    )
