"""Live inputs of predict(): cameras and streams as inputs, Ctrl-C that keeps what was done, the --show hook."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from support.estimators import OnePersonEstimator, count_frames
from support.streams import free_port, serve_folder, write_mjpeg_avi

from posekit.inference import predict as predict_module
from posekit.inference.predict import InputFile, PredictOptions, collect_inputs, predict, resolve_workers
from posekit.io import preview
from posekit.io.images import write_image

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_collect_inputs_names_cameras_and_streams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "1").mkdir()  # a folder named like a camera is a folder
    write_image(tmp_path / "1" / "a.png", np.zeros((8, 8, 3), np.uint8))
    url = "rtsp://admin:secret@10.0.0.2:554/live/ch1?tcp"
    inputs, notes, errors = collect_inputs(["0", "1", url, "http://127.0.0.1:8080", "07x", "-"])
    assert [item.kind for item in inputs] == ["camera", "image", "stream", "stream", "stream"]
    assert errors == ["07x: no such file or folder"] and notes == []
    camera, _, stream, bare, stdin = inputs
    assert (stdin.label, stdin.stem, stdin.reader_source) == ("standard input", "stdin", "-")
    assert (camera.label, camera.stem, camera.reader_source) == ("camera 0", "camera0", 0)
    assert stream.label == "rtsp://admin:***@10.0.0.2:554/live/ch1?tcp" and stream.stem == "ch1"
    assert stream.reader_source == url and bare.stem == "127_0_0_1_8080"
    file_input = InputFile(Path("clips/a.mp4"), "video")  # files keep their path as label and stem
    assert (file_input.label, file_input.stem, file_input.reader_source) == ("clips/a.mp4", "a", Path("clips/a.mp4"))
    # A camera or stream runs in this process (Ctrl-C, the preview window): no worker processes.
    assert resolve_workers(4, [file_input, file_input, camera]) == 1 and resolve_workers(4, [stream, file_input]) == 1
    assert resolve_workers(2, [file_input, file_input]) == 2


def test_predict_reads_a_stream_served_over_http(tmp_path: Path) -> None:
    write_mjpeg_avi(tmp_path / "clip.avi", count=10, size=(96, 64), fps=10.0)
    out = tmp_path / "out"
    with serve_folder(tmp_path) as base:
        result = predict([f"{base}/clip.avi"], PredictOptions(out=out), estimator=OnePersonEstimator())
    assert (result.videos, result.video_frames, result.people, result.failed, result.stopped) == (1, 10, 10, 0, None)
    entries = json.loads((out / "predictions.json").read_text())
    assert [entry["frame"] for entry in entries] == list(range(10))
    assert {entry["file_name"] for entry in entries} == {f"{base}/clip.avi"}
    np.testing.assert_allclose([entry["timestamp"] for entry in entries], np.arange(10) / 10.0, atol=1e-6)
    assert count_frames(out / "vis" / "clip.mp4") == 10


def test_bad_live_inputs_get_one_sentence_and_the_others_go_on(tmp_path: Path) -> None:
    messages: list[tuple[str, str]] = []
    image = write_image(tmp_path / "photo.png", np.zeros((32, 32, 3), np.uint8))
    dead = f"http://127.0.0.1:{free_port()}/live"
    started = time.monotonic()
    result = predict(
        ["7", dead, image] if not Path("/dev/video7").exists() else [dead, image],
        PredictOptions(out=tmp_path / "out"),
        estimator=OnePersonEstimator(),
        report=lambda level, text: messages.append((level, text)),
    )
    assert time.monotonic() - started < 10.0
    errors = [text for level, text in messages if level == "error"]
    if not Path("/dev/video7").exists():
        assert errors[0] == "camera 7: no such camera or it cannot be opened"
    assert errors[-1].startswith(f"cannot read stream {dead}: opencv: OpenCV cannot open it")
    assert result.images == 1 and result.failed == len(errors) and result.videos == 0
    assert not (tmp_path / "out" / "vis" / "camera7.mp4").exists() and not list((tmp_path / "out").rglob(".*"))


def test_ctrl_c_mid_video_keeps_a_valid_overlay_and_the_results_so_far(tmp_path: Path) -> None:
    clip = write_mjpeg_avi(tmp_path / "clip.avi", count=20)
    later = write_image(tmp_path / "later.png", np.zeros((32, 32, 3), np.uint8))
    out = tmp_path / "out"
    messages: list[tuple[str, str]] = []
    result = predict(
        [clip, later],
        PredictOptions(out=out),
        estimator=OnePersonEstimator(interrupt_at=7),
        report=lambda level, text: messages.append((level, text)),
    )
    assert result.stopped == "interrupt" and result.video_frames == 7 and result.images == 0 and result.failed == 0
    entries = json.loads((out / "predictions.json").read_text())
    assert [entry["frame"] for entry in entries] == list(range(7))
    assert count_frames(out / "vis" / "clip.mp4") == 7  # closed properly: every frame before the interrupt
    assert not list(out.rglob(".*"))  # no temporary file left
    assert messages == [
        ("note", f"{clip}: interrupted (Ctrl-C) after 7 frames; the results so far are kept"),
        ("note", "1 input(s) not processed"),
    ]


def test_ctrl_c_on_an_image_still_writes_the_earlier_inputs(tmp_path: Path) -> None:
    first = write_image(tmp_path / "a.png", np.zeros((32, 32, 3), np.uint8))
    second = write_image(tmp_path / "b.png", np.zeros((32, 32, 3), np.uint8))
    result = predict([first, second], PredictOptions(out=tmp_path / "out"), estimator=OnePersonEstimator(1))
    assert result.stopped == "interrupt" and result.images == 1
    entries = json.loads((tmp_path / "out" / "predictions.json").read_text())
    assert [entry["file_name"] for entry in entries] == [str(first)]


def test_a_real_sigint_stops_a_stream_and_the_files_are_valid(tmp_path: Path) -> None:
    """SIGINT from outside (what Ctrl-C sends) while the process reads a stream, wherever it is then."""
    write_mjpeg_avi(tmp_path / "long.avi", count=400, size=(96, 64))
    out = tmp_path / "out"
    marker = tmp_path / "started"
    script = f"""
import sys, time
from pathlib import Path
sys.path.insert(0, {str(REPO_ROOT / "tests")!r})
from support.estimators import OnePersonEstimator
from posekit.inference.predict import PredictOptions, predict

class Slow(OnePersonEstimator):
    def __call__(self, image):
        if self.calls == 5:
            Path({str(marker)!r}).touch()
        time.sleep(0.02)
        return super().__call__(image)

result = predict([sys.argv[1]], PredictOptions(out={str(out)!r}), estimator=Slow())
print(result.stopped, result.video_frames)
"""
    with serve_folder(tmp_path) as base:
        process = subprocess.Popen(
            [sys.executable, "-c", script, f"{base}/long.avi"],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    stopped, frames = stdout.split()
    assert stopped == "interrupt" and 5 <= int(frames) < 400
    entries = json.loads((out / "predictions.json").read_text())
    assert [entry["frame"] for entry in entries] == list(range(int(frames)))
    assert count_frames(out / "vis" / "long.mp4") == int(frames)


def test_show_is_refused_before_anything_runs_where_no_window_can_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(preview, "opencv_has_gui", lambda: False)
    estimator = OnePersonEstimator()
    with pytest.raises(ValueError, match="^--show needs a display and an OpenCV with GUI support: this OpenCV"):
        predict([write_mjpeg_avi(tmp_path / "clip.avi")], PredictOptions(show=True), estimator=estimator)
    assert estimator.calls == 0


def test_show_previews_each_overlay_and_q_stops_like_ctrl_c(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[np.ndarray] = []

    class FakeWindow:
        def __init__(self) -> None:
            self.stopped = False
            self.closed = False

        def show(self, image: np.ndarray) -> bool:
            shown.append(image)
            self.stopped = len(shown) == 4  # q pressed while the fourth frame is shown
            return not self.stopped

        def close(self) -> None:
            self.closed = True

    windows: list[FakeWindow] = []
    monkeypatch.setattr(predict_module, "display_problem", lambda: None)
    monkeypatch.setattr(predict_module, "PreviewWindow", lambda: windows.append(FakeWindow()) or windows[-1])
    clip = write_mjpeg_avi(tmp_path / "clip.avi", count=12)
    out = tmp_path / "out"
    options = PredictOptions(out=out, show=True, workers=2)  # one window: one process, whatever --workers says
    result = predict([clip], options, estimator=OnePersonEstimator())
    assert result.stopped == "window" and result.video_frames == 4 and windows[0].closed
    assert len(shown) == 4 and shown[0].shape == (48, 64, 3) and shown[0].dtype == np.uint8
    assert count_frames(out / "vis" / "clip.mp4") == 4
    assert len(json.loads((out / "predictions.json").read_text())) == 4
