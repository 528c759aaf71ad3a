"""``posekit export onnx``: writes a valid checked model; clean failures for bad names, weights and options."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from posekit.cli.main import main
from posekit.export.onnx import read_onnx_metadata
from posekit.io.checkpoint import CHECKPOINT_FORMAT, save_checkpoint
from posekit.models.lift3d.videopose3d import TemporalModel


def test_exports_a_2d_model_with_its_weights_and_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from posekit.models.pose2d.loading import load_pose2d_model

    torch.manual_seed(0)
    source, _, _ = load_pose2d_model("hrnet_w16_128x96", None, skeleton="mpii")
    with torch.no_grad():
        source.final_layer.bias.uniform_(-1.0, 1.0)  # type: ignore[union-attr, operator]
    weights = tmp_path / "hrnet.pt"
    config = {"model": {"name": "hrnet_w16_128x96", "kwargs": {}}, "data": {"skeleton": "mpii", "codec": "auto"}}
    save_checkpoint(weights, {"format": CHECKPOINT_FORMAT, "model": source.state_dict(), "config": config})
    out = tmp_path / "out" / "hrnet.onnx"
    status = main(["export", "onnx", "--model", "hrnet_w16_128x96", "--weights", str(weights), "--out", str(out),
                   "--input-size", "64", "64", "--check"])  # fmt: skip
    assert status == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and "max abs diff" in printed
    onnx.checker.check_model(str(out))
    metadata = read_onnx_metadata(out)
    assert metadata["posekit.model"] == "hrnet_w16_128x96" and metadata["posekit.skeleton"] == "mpii"
    assert json.loads(metadata["posekit.codec"])["name"] == "msra"
    assert len(json.loads(metadata["posekit.flip_indices"])) == 16
    # the file holds the given weights: onnxruntime reproduces the source model
    images = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (heatmaps,) = session.run(None, {"images": images.numpy()})
    with torch.inference_mode():
        expected = source.eval()(images).numpy()
    assert heatmaps.shape == (2, 16, 16, 16)
    np.testing.assert_allclose(heatmaps, expected, atol=1e-4, rtol=0)


def test_exports_a_lifter_with_weights(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    torch.manual_seed(0)
    lifter = TemporalModel(17, 2, 17, [3, 3, 3], causal=False, dropout=0.25, channels=32).eval()
    weights = tmp_path / "lifter.pt"
    save_checkpoint(weights, {"format": CHECKPOINT_FORMAT, "model_pos": lifter.state_dict(), "model_traj": None})
    out = tmp_path / "lifter.onnx"
    status = main(["export", "onnx", "--model", "videopose3d_27", "--weights", str(weights), "--out", str(out),
                   "--batch", "1", "--check"])  # fmt: skip
    assert status == 0
    assert "keypoints_2d (1, frames, 17, 2) -> keypoints_3d (1, frames - 26, 17, 3)" in capsys.readouterr().out
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    keypoints = torch.randn(1, 40, 17, 2)
    (output,) = session.run(None, {"keypoints_2d": keypoints.numpy()})
    with torch.inference_mode():
        np.testing.assert_allclose(output, lifter(keypoints).numpy(), atol=1e-4, rtol=0)
    # the weights' receptive field must be the named model's
    status = main(
        ["export", "onnx", "--model", "videopose3d_81", "--weights", str(weights), "--out", str(tmp_path / "x.onnx")]
    )
    assert status == 2
    assert "receptive field of 27 frames, videopose3d_81 has 81" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--model", "no_such_model"], "unknown model 'no_such_model'"),
        (["--model", "hrnet_w16_128x96", "--weights", "{missing}"], "weights file not found"),
        (["--model", "hrnet_w16_128x96", "--weights", "{garbage}"], "garbage.pt: not a"),
        (["--model", "hrnet_w16_128x96", "--weights", "{mismatched}"], "weights do not match HRNetPose"),
        (["--model", "deeppose_res18_128x96", "--input-size", "64", "64"], "does not run at input size"),
        (["--model", "videopose3d_27", "--input-size", "64", "64"], "--input-size applies to 2D image models"),
    ],
)
def test_fails_cleanly(arguments: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x00not a checkpoint at all")
    mismatched = tmp_path / "mismatched.pt"
    save_checkpoint(mismatched, {"model": {"final_layer.weight": torch.zeros(2, 2)}})
    paths = {"missing": str(tmp_path / "missing.pt"), "garbage": str(garbage), "mismatched": str(mismatched)}
    arguments = [argument.format(**paths) for argument in arguments]
    out = tmp_path / "model.onnx"
    assert main(["export", "onnx", *arguments, "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("posekit export: error: ") and message in error
    assert len(error.strip().splitlines()) == 1
    assert not out.exists() and not any(path.suffix == ".onnx" for path in tmp_path.iterdir())


def test_bad_options_exit_2(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["export", "onnx", "--model", "hrnet_w16_128x96", "--out", str(tmp_path / "x.onnx"), "--batch", "zero"])
    assert raised.value.code == 2
    assert main(["export", "onnx", "--model", "hrnet_w16_128x96", "--out", str(tmp_path / "x.txt")]) == 2
