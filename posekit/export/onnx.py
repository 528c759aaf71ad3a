"""ONNX export of the 2D single-person models and the VideoPose3D lifters, checked with onnxruntime.

Exporter: ``torch.onnx.export(..., dynamo=False)``, the TorchScript-tracing exporter. It needs no
network, no ``onnxscript`` and handles every posekit model (DeepPose's ``grid_sample`` crops,
IEF's Gaussian rendering, soft-argmax, CPM's fixed centre map); the dynamo exporter of torch 2.13
is not used. Every file is written atomically: the model is exported to a temporary file beside
the target, checked (when asked), then renamed over the target, so a failed export or check
leaves no file behind.

Graphs (``B`` batch, ``K`` keypoints, ``T`` frames, ``J`` joints, input ``(w, h)``, heatmaps ``(W, H)``):

=======================  ==============================  =============================================
model                    input                           outputs
=======================  ==============================  =============================================
heatmap models           ``images (B, 3, h, w)``         ``heatmaps (B, K, H, W)`` (raw, no sigmoid)
coordinate models        ``images (B, 3, h, w)``         ``coordinates (B, K, 2)`` as ``(x / w, y / h)``
hybrids (integral, DS)   ``images (B, 3, h, w)``         ``heatmaps (B, K, H, W)``, ``coordinates (B, K, 2)``
VideoPose3D lifters      ``keypoints_2d (B, T, J, 2)``   ``keypoints_3d (B, T - rf + 1, J, 3)`` (metres)
=======================  ==============================  =============================================

``images`` are float32 RGB normalised with the ImageNet mean and std (``(pixel / 255 - mean) / std``,
:func:`posekit.models.pose2d.base.normalize_images`). ``B`` is a dynamic axis unless a fixed batch
is asked for; the lifters' ``T`` is always dynamic (at least the receptive field ``rf``). The
model's facts (name, output kind, input size, heatmap size, normalisation, skeleton, codec) are
stored in the ONNX ``metadata_props`` under ``posekit.*`` keys.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from posekit.io.atomic import atomic_path
from posekit.models.pose2d.base import IMAGENET_MEAN, IMAGENET_STD, Pose2DModel

__all__ = [
    "DEFAULT_OPSET",
    "DEFAULT_TOLERANCE",
    "OnnxExport",
    "OnnxExportError",
    "compare_with_torch",
    "export_lifter_onnx",
    "export_pose2d_onnx",
    "is_lifter",
    "read_onnx_metadata",
]

DEFAULT_OPSET = 17
DEFAULT_TOLERANCE = 1e-4
# Batch of the example input when the batch axis is dynamic, and of the check (another size,
# so that a batch size baked into the graph shows up as a failure).
_TRACE_BATCH = 2
_CHECK_BATCH = 3


class OnnxExportError(ValueError):
    """The model cannot be exported, or the exported graph disagrees with torch."""


@dataclass(frozen=True)
class OnnxExport:
    """What :func:`export_pose2d_onnx` / :func:`export_lifter_onnx` wrote.

    Attributes:
        path: the ONNX file.
        input_names: graph input names.
        output_names: graph output names.
        input_shapes: per input, its shape with names for dynamic axes (``"batch"``, ``"frames"``).
        output_shapes: per output, likewise (``"frames_out"`` for the lifters' output frames).
        opset: ONNX opset version.
        max_abs_diff: largest ``|onnxruntime - torch|`` over all outputs on random inputs, ``None``
            when not checked.
        metadata: the ``posekit.*`` metadata stored in the file.
    """

    path: Path
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    input_shapes: tuple[tuple[int | str, ...], ...]
    output_shapes: tuple[tuple[int | str, ...], ...]
    opset: int
    max_abs_diff: float | None
    metadata: Mapping[str, str]

    def describe(self) -> str:
        """One line: inputs -> outputs, opset, check result."""

        def shapes(names: tuple[str, ...], dims: tuple[tuple[int | str, ...], ...]) -> str:
            return ", ".join(
                f"{name} ({', '.join(str(dim) for dim in shape)})" for name, shape in zip(names, dims, strict=True)
            )

        line = f"{shapes(self.input_names, self.input_shapes)} -> {shapes(self.output_names, self.output_shapes)}"
        line += f", opset {self.opset}"
        if self.max_abs_diff is not None:
            line += f", onnxruntime vs torch max abs diff {self.max_abs_diff:.3g}"
        return line


class _Pose2DGraph(nn.Module):
    """The exported function of a 2D model: its final prediction(s) without background maps."""

    def __init__(self, model: Pose2DModel) -> None:
        super().__init__()
        self.model = model
        self.hybrid = model.output_kind == "heatmap+coordinates"

    def forward(self, images: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        if not self.hybrid:
            return self.model(images)
        outputs = self.model.forward_outputs(images)
        assert outputs.heatmaps is not None and outputs.coordinates is not None
        return outputs.heatmaps[:, : self.model.num_keypoints], outputs.coordinates


def is_lifter(model: nn.Module) -> bool:
    """True for VideoPose3D-style lifters (a ``receptive_field()`` method and joint counts)."""
    return callable(getattr(model, "receptive_field", None)) and hasattr(model, "num_joints_in")


def _check_batch(batch: int | None) -> None:
    if batch is not None and batch < 1:
        raise ValueError(f"batch must be a positive integer or None (dynamic), got {batch}")


def _check_opset(opset: int) -> None:
    if not 7 <= opset <= 20:
        raise ValueError(f"opset must be between 7 and 20 for the TorchScript ONNX exporter, got {opset}")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


@contextlib.contextmanager
def _silence_native_stdout() -> Iterator[None]:
    """Send what native code prints on file descriptor 1 to a discarded temporary file.

    The TorchScript exporter of torch 2.13 always turns its native log on (its
    ``setup_onnx_logging`` tests a function object for truth) and prints the whole IR graph to
    stdout when an operator fails to convert; the error message already names the operator.
    """
    try:
        descriptor = sys.__stdout__.fileno() if sys.__stdout__ is not None else 1
        saved = os.dup(descriptor)
    except (OSError, ValueError):  # no usable descriptor (embedded interpreters): leave it alone
        yield
        return
    sys.stdout.flush()
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), descriptor)
        try:
            yield
        finally:
            os.dup2(saved, descriptor)
            os.close(saved)


def _run_export(
    module: nn.Module,
    example: torch.Tensor,
    path: Path,
    input_name: str,
    output_names: list[str],
    dynamic_axes: dict[str, dict[int, str]],
    opset: int,
    what: str,
) -> None:
    """``torch.onnx.export`` with the TorchScript exporter; errors become :class:`OnnxExportError`."""
    try:
        with warnings.catch_warnings(), _silence_native_stdout():
            # Tracer warnings about Python-side shape checks: the checks hold for the traced shapes.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                (example,),
                str(path),
                dynamo=False,
                input_names=[input_name],
                output_names=output_names,
                dynamic_axes=dynamic_axes or None,
                opset_version=opset,
                do_constant_folding=True,
            )
    except torch.onnx.errors.UnsupportedOperatorError as error:
        raise OnnxExportError(f"cannot export {what} to ONNX opset {opset}: {_first_line(error)}") from None
    except (torch.onnx.errors.OnnxExporterError, RuntimeError, TypeError) as error:
        raise OnnxExportError(f"cannot export {what} to ONNX (opset {opset}): {_first_line(error)}") from None


def compare_with_torch(path: str | os.PathLike[str], module: nn.Module, inputs: Mapping[str, torch.Tensor]) -> float:
    """Largest absolute difference between onnxruntime (CPU) and torch on the same inputs.

    Args:
        path: ONNX file.
        module: the torch module it was exported from (run in eval mode, no grad).
        inputs: graph input name -> tensor (passed to ``module`` in this order).

    Returns:
        ``max |onnx - torch|`` over every element of every output (``inf`` on a shape mismatch or
        a non-finite value on one side only).
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    onnx_outputs = session.run(None, {name: tensor.numpy() for name, tensor in inputs.items()})
    was_training = module.training
    module.eval()
    try:
        with torch.inference_mode():
            torch_result = module(*inputs.values())
    finally:
        module.train(was_training)
    torch_outputs = list(torch_result) if isinstance(torch_result, (tuple, list)) else [torch_result]
    if len(torch_outputs) != len(onnx_outputs):
        return float("inf")
    worst = 0.0
    for expected, actual in zip(torch_outputs, onnx_outputs, strict=True):
        expected_array = expected.float().numpy()
        if expected_array.shape != actual.shape:
            return float("inf")
        difference = np.abs(actual.astype(np.float64) - expected_array.astype(np.float64))
        if difference.size and not np.isfinite(difference).all():
            both_nan = np.isnan(actual) & np.isnan(expected_array)
            if not np.all(both_nan | np.isfinite(difference)):
                return float("inf")
            difference = np.where(both_nan, 0.0, difference)
        worst = max(worst, float(difference.max()) if difference.size else 0.0)
    return worst


def _add_metadata(path: Path, metadata: Mapping[str, str]) -> None:
    import onnx

    proto = onnx.load(str(path))
    existing = {entry.key: entry for entry in proto.metadata_props}
    for key, value in metadata.items():
        if key in existing:
            existing[key].value = value
        else:
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
    onnx.save(proto, str(path))


def read_onnx_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The ``metadata_props`` of an ONNX file as a dict (``posekit.*`` keys for posekit exports)."""
    import onnx

    if not Path(path).is_file():
        raise FileNotFoundError(f"ONNX file not found: {path}")
    proto = onnx.load(str(path), load_external_data=False)
    return {entry.key: entry.value for entry in proto.metadata_props}


def _finish(
    module: nn.Module,
    example: torch.Tensor,
    path: str | os.PathLike[str],
    input_name: str,
    output_names: list[str],
    dynamic_axes: dict[str, dict[int, str]],
    opset: int,
    what: str,
    metadata: dict[str, str],
    check_input: torch.Tensor | None,
    tolerance: float,
    input_shape: tuple[int | str, ...],
    output_shapes: tuple[tuple[int | str, ...], ...],
) -> OnnxExport:
    target = Path(path)
    max_abs_diff: float | None = None
    module.eval()  # the exporter restores the module's mode after tracing; keep it in eval mode
    with atomic_path(target) as temporary:
        _run_export(module, example, temporary, input_name, output_names, dynamic_axes, opset, what)
        _add_metadata(temporary, metadata)
        if check_input is not None:
            max_abs_diff = compare_with_torch(temporary, module, {input_name: check_input})
            if not max_abs_diff <= tolerance:
                raise OnnxExportError(
                    f"the ONNX export of {what} disagrees with torch: max abs diff {max_abs_diff:.3g} > {tolerance:g} "
                    f"on an input of shape {tuple(check_input.shape)}; no file written"
                )
    return OnnxExport(
        path=target,
        input_names=(input_name,),
        output_names=tuple(output_names),
        input_shapes=(input_shape,),
        output_shapes=output_shapes,
        opset=opset,
        max_abs_diff=max_abs_diff,
        metadata=dict(metadata),
    )


def export_pose2d_onnx(
    model: Pose2DModel,
    path: str | os.PathLike[str],
    *,
    input_size: tuple[int, int] | None = None,
    batch: int | None = None,
    opset: int = DEFAULT_OPSET,
    check: bool = False,
    tolerance: float = DEFAULT_TOLERANCE,
    metadata: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> OnnxExport:
    """Export a 2D single-person model to ONNX (see the module docstring for the graph).

    Args:
        model: any :class:`~posekit.models.pose2d.base.Pose2DModel` (exported in eval mode; its
            training mode is restored afterwards).
        path: the ``.onnx`` file to write (atomically).
        input_size: network input ``(w, h)``; default ``model.input_size``. Fully convolutional
            heatmap models take other sizes; coordinate models and CPM need their own.
        batch: fixed batch size, or ``None`` for a dynamic ``batch`` axis.
        opset: ONNX opset version.
        check: run onnxruntime on random input and compare with torch; fail (no file written)
            when the largest absolute difference exceeds ``tolerance``. With a dynamic batch the
            check uses another batch size than the export, so a batch baked into the graph fails.
        tolerance: largest accepted ``|onnx - torch|``.
        metadata: extra ``posekit.*`` metadata (e.g. ``{"model": name, "skeleton": "coco",
            "codec": {...}}``; non-strings are stored as JSON).
        seed: seed of the random inputs.

    Returns:
        :class:`OnnxExport` (``max_abs_diff`` set when checked).

    Raises:
        ValueError: a bad size, batch or opset; :class:`OnnxExportError` when the model does not
            run at ``input_size``, an operator has no ONNX export (the message names it), or the
            check fails.
    """
    if not isinstance(model, Pose2DModel):
        raise ValueError(f"model must be a posekit Pose2DModel, got {type(model).__name__}")
    _check_batch(batch)
    _check_opset(opset)
    width, height = model.input_size if input_size is None else (int(input_size[0]), int(input_size[1]))
    if width < 1 or height < 1:
        raise ValueError(f"input_size must be (w, h) with positive sides, got {input_size}")
    what = type(model).__name__
    was_training = model.training
    graph = _Pose2DGraph(model).eval()
    generator = torch.Generator().manual_seed(seed)
    example = torch.randn(batch or _TRACE_BATCH, 3, height, width, generator=generator)
    try:
        with torch.inference_mode():
            try:
                traced_outputs = graph(example)
            except (ValueError, RuntimeError) as error:
                raise OnnxExportError(
                    f"{what} does not run at input size (w, h) = ({width}, {height}): {_first_line(error)}"
                ) from None
        outputs = list(traced_outputs) if isinstance(traced_outputs, tuple) else [traced_outputs]
        output_names = (
            ["heatmaps", "coordinates"]
            if graph.hybrid
            else (["coordinates"] if model.output_kind == "coordinates" else ["heatmaps"])
        )
        batch_axis: int | str = batch if batch is not None else "batch"
        dynamic_axes = {} if batch is not None else {name: {0: "batch"} for name in ["images", *output_names]}
        output_shapes = tuple((batch_axis, *tuple(output.shape[1:])) for output in outputs)
        heatmap_shape = outputs[0].shape if output_names[0] == "heatmaps" else None
        stored = {
            "posekit.output_kind": model.output_kind,
            "posekit.input_size": json.dumps([width, height]),
            "posekit.num_keypoints": str(model.num_keypoints),
            "posekit.heatmap_size": json.dumps(
                None if heatmap_shape is None else [int(heatmap_shape[-1]), int(heatmap_shape[-2])]
            ),
            "posekit.normalization": json.dumps({"scale": 1 / 255, "mean": IMAGENET_MEAN, "std": IMAGENET_STD}),
            "posekit.coordinates": "normalised (x / w, y / h), pixel centres at integers",
        }
        stored.update(_plain_metadata(metadata))
        check_input = torch.randn(batch or _CHECK_BATCH, 3, height, width, generator=generator) if check else None
        return _finish(
            graph,
            example,
            path,
            "images",
            output_names,
            dynamic_axes,
            opset,
            what,
            stored,
            check_input,
            tolerance,
            (batch_axis, 3, height, width),
            output_shapes,
        )
    finally:
        model.train(was_training)


def export_lifter_onnx(
    model: nn.Module,
    path: str | os.PathLike[str],
    *,
    num_frames: int | None = None,
    batch: int | None = None,
    opset: int = DEFAULT_OPSET,
    check: bool = False,
    tolerance: float = DEFAULT_TOLERANCE,
    metadata: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> OnnxExport:
    """Export a VideoPose3D lifter (``TemporalModel``) with a dynamic number of frames.

    Args:
        model: a lifter: ``(B, T, J_in, F)`` -> ``(B, T - rf + 1, J_out, 3)``.
        path: the ``.onnx`` file to write (atomically).
        num_frames: frames of the example input (default ``rf + 8``); the frame axis stays dynamic
            and the check runs on a different length.
        batch: fixed batch size, or ``None`` for a dynamic ``batch`` axis.
        opset: ONNX opset version.
        check: compare onnxruntime with torch on random input (see :func:`export_pose2d_onnx`).
        tolerance: largest accepted ``|onnx - torch|``.
        metadata: extra ``posekit.*`` metadata.
        seed: seed of the random inputs.

    Returns:
        :class:`OnnxExport`.
    """
    if not is_lifter(model):
        raise ValueError(f"model must be a VideoPose3D lifter (with receptive_field()), got {type(model).__name__}")
    _check_batch(batch)
    _check_opset(opset)
    receptive_field = int(model.receptive_field())  # type: ignore[operator]
    frames = receptive_field + 8 if num_frames is None else int(num_frames)
    if frames < receptive_field:
        raise ValueError(f"num_frames must be at least the receptive field ({receptive_field}), got {frames}")
    joints_in = int(model.num_joints_in)  # type: ignore[arg-type]
    features = int(getattr(model, "in_features", 2))
    joints_out = int(getattr(model, "num_joints_out", joints_in))
    what = type(model).__name__
    was_training = model.training
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    example = torch.randn(batch or _TRACE_BATCH, frames, joints_in, features, generator=generator) * 0.5
    batch_axis: int | str = batch if batch is not None else "batch"
    dynamic_axes: dict[str, dict[int, str]] = {"keypoints_2d": {1: "frames"}, "keypoints_3d": {1: "frames_out"}}
    if batch is None:
        for axes in dynamic_axes.values():
            axes[0] = "batch"
    stored = {
        "posekit.output_kind": "keypoints_3d",
        "posekit.receptive_field": str(receptive_field),
        "posekit.causal": json.dumps(bool(getattr(model, "causal", False))),
        "posekit.num_joints_in": str(joints_in),
        "posekit.num_joints_out": str(joints_out),
        "posekit.coordinates": "input: normalised screen coordinates; output: root-relative metres, camera space",
    }
    stored.update(_plain_metadata(metadata))
    check_input = (
        torch.randn(batch or _CHECK_BATCH, frames + 5, joints_in, features, generator=generator) * 0.5
        if check
        else None
    )
    try:
        return _finish(
            model,
            example,
            path,
            "keypoints_2d",
            ["keypoints_3d"],
            dynamic_axes,
            opset,
            what,
            stored,
            check_input,
            tolerance,
            (batch_axis, "frames", joints_in, features),
            ((batch_axis, f"frames - {receptive_field - 1}", joints_out, 3),),
        )
    finally:
        model.train(was_training)


def _plain_metadata(metadata: Mapping[str, Any] | None) -> dict[str, str]:
    """``{key: value}`` -> ``{"posekit.key": str or JSON}``."""
    result: dict[str, str] = {}
    for key, value in (metadata or {}).items():
        name = key if key.startswith("posekit.") else f"posekit.{key}"
        result[name] = value if isinstance(value, str) else json.dumps(value)
    return result
