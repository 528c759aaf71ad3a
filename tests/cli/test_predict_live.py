"""``posekit predict`` with live inputs: one line and exit 1 for a bad camera or address, 130 after Ctrl-C, --show."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.estimators import OnePersonEstimator, count_frames
from support.streams import free_port, write_mjpeg_avi

from posekit.cli.main import main as posekit_main
from posekit.inference import predict as predict_module
from posekit.inference.predict import PredictOptions
from posekit.io import preview


@pytest.fixture
def estimator(monkeypatch: pytest.MonkeyPatch) -> OnePersonEstimator:
    """Replaces the BlazePose models (the CLI builds them) with a fast stand-in."""
    stand_in = OnePersonEstimator()

    def build(options: PredictOptions) -> OnePersonEstimator:
        return stand_in

    monkeypatch.setattr(predict_module, "build_predict_estimator", build)
    return stand_in


def test_a_missing_camera_and_a_dead_address_give_one_line_each_and_exit_1(
    tmp_path: Path, estimator: OnePersonEstimator, capsys: pytest.CaptureFixture[str]
) -> None:
    if Path("/dev/video7").exists():
        pytest.skip("this machine has a /dev/video7")
    dead = f"rtsp://127.0.0.1:{free_port()}/live"
    assert posekit_main(["predict", "7", dead, "--out", str(tmp_path / "out")]) == 1
    errors = capsys.readouterr().err.splitlines()
    assert errors[0] == "posekit predict: error: camera 7: no such camera or it cannot be opened"
    assert errors[1].startswith(f"posekit predict: error: cannot read stream {dead}: ") and len(errors) == 2
    assert not (tmp_path / "out" / "vis").exists()


def test_ctrl_c_exits_130_after_writing_what_was_processed(
    tmp_path: Path, estimator: OnePersonEstimator, capsys: pytest.CaptureFixture[str]
) -> None:
    estimator.interrupt_at = 5
    clip = write_mjpeg_avi(tmp_path / "clip.avi", count=12)
    out = tmp_path / "out"
    assert posekit_main(["predict", str(clip), "--out", str(out)]) == 130
    captured = capsys.readouterr()
    assert "interrupted (Ctrl-C) after 5 frames" in captured.err
    assert "1 video(s) with 5 frames" in captured.out and captured.out.rstrip().endswith("; interrupted (Ctrl-C)")
    assert len(json.loads((out / "predictions.json").read_text())) == 5 and count_frames(out / "vis" / "clip.mp4") == 5


def test_show_without_a_window_is_refused_with_one_line(
    tmp_path: Path, estimator: OnePersonEstimator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(preview, "opencv_has_gui", lambda: True)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(preview.sys, "platform", "linux")
    clip = write_mjpeg_avi(tmp_path / "clip.avi", count=3)
    assert posekit_main(["predict", str(clip), "--show", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("posekit predict: error: --show needs a display and an OpenCV with GUI support: neither")
    assert len(err.splitlines()) == 1 and estimator.calls == 0 and not (tmp_path / "out").exists()
