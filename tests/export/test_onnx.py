"""ONNX export: onnxruntime equals torch (1e-4) for one model of every family, dynamic axes, metadata, errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from torch import nn

from posekit.export.onnx import (
    OnnxExportError,
    compare_with_torch,
    export_lifter_onnx,
    export_pose2d_onnx,
    read_onnx_metadata,
)
from posekit.models.lift3d.videopose3d import TemporalModel
from posekit.models.pose2d.base import Pose2DModel, Pose2DOutput
from posekit.models.pose2d.deeppose import DeepPose
from posekit.models.pose2d.ief import IterativeErrorFeedback
from posekit.models.registry import get_model

ModuleT = TypeVar("ModuleT", bound=nn.Module)


def _randomise(model: ModuleT, seed: int = 0) -> ModuleT:
    """PyTorch's default initialisation everywhere and random BatchNorm statistics: outputs of order 1.

    (The models' own initialisations put near-zero weights on the last layers, which would make a
    1e-4 comparison meaningless.)
    """
    torch.manual_seed(seed)
    for module in model.modules():
        if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            module.reset_parameters()
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            module.running_mean.uniform_(-0.1, 0.1)  # type: ignore[union-attr]
            module.running_var.uniform_(0.5, 1.5)  # type: ignore[union-attr]
            module.weight.data.uniform_(0.5, 1.5)
    return model.eval()


# One small model per family, and the input size to export it at (``None``: its own).
FAMILIES: dict[str, Callable[[], tuple[nn.Module, tuple[int, int] | None]]] = {
    "simplebaseline": lambda: (get_model("simplebaseline_res18_128x96", num_keypoints=3), (32, 32)),
    "hrnet": lambda: (get_model("hrnet_w16_128x96", num_keypoints=3), (32, 32)),
    "hourglass": lambda: (
        get_model("hourglass_2stack_128x128", num_keypoints=3, channels=16, depth=2, stem_channels=(8, 16)),
        (32, 32),
    ),
    "cpm": lambda: (get_model("cpm_tiny_128x128", num_keypoints=3, num_stages=2), None),
    "deeppose": lambda: (DeepPose(3, (32, 32), num_stages=2, depth=18, crop_size=(8, 8)), None),
    "ief": lambda: (
        IterativeErrorFeedback(3, (32, 32), num_iterations=2, depth=18, max_step=4.0, render_sigma=2.0),
        None,
    ),
    "integral": lambda: (get_model("integral_res18_128x96", num_keypoints=3), (32, 32)),
    "dscnn": lambda: (get_model("dscnn_res18_128x96", num_keypoints=3), (32, 32)),
}


class _TinyHeatmapModel(Pose2DModel):
    """One convolution: a cheap heatmap model for the tests of the export machinery."""

    def __init__(self) -> None:
        super().__init__(3, (16, 16), "heatmap", (16, 16), num_stages=1)
        self.final_layer = nn.Conv2d(3, 3, 3, padding=1)

    def forward_outputs(self, images: torch.Tensor) -> Pose2DOutput:
        return Pose2DOutput(stage_heatmaps=[self.final_layer(images)])


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_onnxruntime_matches_torch_for_every_family(family: str, tmp_path: Path) -> None:
    module, input_size = FAMILIES[family]()
    model = _randomise(module)
    assert isinstance(model, Pose2DModel)
    path = tmp_path / f"{family}.onnx"
    result = export_pose2d_onnx(model, path, input_size=input_size, check=True)
    assert path.is_file() and result.max_abs_diff is not None and result.max_abs_diff <= 1e-4
    # the check ran on another batch size than the trace (the batch axis is dynamic); make sure it was
    # not vacuous and that the graph has the documented outputs
    width, height = input_size or model.input_size
    images = torch.randn(3, 3, height, width, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        full = model.forward_outputs(images)
        expected = [full.heatmaps, full.coordinates] if model.output_kind == "heatmap+coordinates" else [model(images)]
    assert max(float(tensor.abs().max()) for tensor in expected if tensor is not None) > 1e-2
    graph = onnx.load(str(path))
    assert [value.name for value in graph.graph.input] == ["images"]
    assert graph.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert result.output_names == (
        ("heatmaps", "coordinates")
        if model.output_kind == "heatmap+coordinates"
        else ("coordinates",)
        if model.output_kind == "coordinates"
        else ("heatmaps",)
    )
    assert model.training is False


def test_lifter_exports_with_dynamic_frames_and_batch(tmp_path: Path) -> None:
    model = _randomise(TemporalModel(17, 2, 17, [3, 3, 3], causal=False, dropout=0.25, channels=64))
    path = tmp_path / "lifter.onnx"
    result = export_lifter_onnx(model, path, check=True, metadata={"model": "videopose3d_27"})
    assert result.max_abs_diff is not None and result.max_abs_diff <= 1e-4
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch, frames in ((1, 27), (2, 60)):
        keypoints = torch.randn(batch, frames, 17, 2, generator=torch.Generator().manual_seed(frames))
        (output,) = session.run(None, {"keypoints_2d": keypoints.numpy()})
        with torch.inference_mode():
            expected = model(keypoints).numpy()
        assert output.shape == (batch, frames - 26, 17, 3)
        np.testing.assert_allclose(output, expected, atol=1e-4, rtol=0)
    metadata = read_onnx_metadata(path)
    assert metadata["posekit.receptive_field"] == "27" and metadata["posekit.model"] == "videopose3d_27"


def test_fixed_batch_and_metadata(tmp_path: Path) -> None:
    model = _randomise(_TinyHeatmapModel())
    path = tmp_path / "fixed.onnx"
    result = export_pose2d_onnx(model, path, input_size=(24, 8), batch=2, metadata={"skeleton": "coco"})
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape == [2, 3, 8, 24]
    assert result.output_shapes == ((2, 3, 8, 24),)
    metadata = read_onnx_metadata(path)
    assert json.loads(metadata["posekit.input_size"]) == [24, 8]
    assert json.loads(metadata["posekit.heatmap_size"]) == [24, 8]
    assert metadata["posekit.skeleton"] == "coco" and metadata["posekit.output_kind"] == "heatmap"
    assert json.loads(metadata["posekit.normalization"])["mean"] == [0.485, 0.456, 0.406]


class _BesselModel(Pose2DModel):
    """A model using an operator the exporter cannot convert (``aten::special_bessel_j0``)."""

    def __init__(self) -> None:
        super().__init__(2, (8, 8), "heatmap", (8, 8), num_stages=1)

    def forward_outputs(self, images: torch.Tensor) -> Pose2DOutput:
        return Pose2DOutput(stage_heatmaps=[torch.special.bessel_j0(images[:, :2])])


def test_unsupported_operator_is_named_and_nothing_is_written(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bessel.onnx"
    with pytest.raises(OnnxExportError, match="aten::special_bessel_j0"):
        export_pose2d_onnx(_BesselModel(), path)
    assert list(tmp_path.iterdir()) == []
    assert "Torch IR graph" not in capfd.readouterr().out  # the exporter's graph dump is silenced


def test_wrong_input_size_for_a_regression_model(tmp_path: Path) -> None:
    model = DeepPose(3, (32, 32), num_stages=1, depth=18, crop_size=(8, 8))
    with pytest.raises(OnnxExportError, match=r"does not run at input size \(w, h\) = \(48, 32\)"):
        export_pose2d_onnx(model, tmp_path / "x.onnx", input_size=(48, 32))
    assert list(tmp_path.iterdir()) == []


def test_failed_check_writes_nothing_and_keeps_an_old_file(tmp_path: Path) -> None:
    model = _randomise(_TinyHeatmapModel())
    path = tmp_path / "model.onnx"
    path.write_bytes(b"old")
    with pytest.raises(OnnxExportError, match="disagrees with torch"):
        export_pose2d_onnx(model, path, check=True, tolerance=-1.0)
    assert path.read_bytes() == b"old" and sorted(item.name for item in tmp_path.iterdir()) == ["model.onnx"]


def test_compare_with_torch_reports_the_difference(tmp_path: Path) -> None:
    model = _randomise(_TinyHeatmapModel())
    path = tmp_path / "model.onnx"
    export_pose2d_onnx(model, path)
    images = torch.randn(1, 3, 16, 16)
    assert compare_with_torch(path, model, {"images": images}) <= 1e-4
    with torch.no_grad():
        model.final_layer.bias.add_(0.5)  # type: ignore[union-attr, operator]
    assert compare_with_torch(path, model, {"images": images}) == pytest.approx(0.5, abs=1e-3)


def test_bad_arguments() -> None:
    model = _TinyHeatmapModel()
    with pytest.raises(ValueError, match="batch"):
        export_pose2d_onnx(model, "x.onnx", batch=0)
    with pytest.raises(ValueError, match="opset"):
        export_pose2d_onnx(model, "x.onnx", opset=3)
    with pytest.raises(ValueError, match="Pose2DModel"):
        export_pose2d_onnx(nn.Linear(2, 2), "x.onnx")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="receptive field"):
        export_lifter_onnx(
            TemporalModel(17, 2, 17, [3, 3], causal=False, dropout=0.0, channels=8), "x.onnx", num_frames=5
        )
