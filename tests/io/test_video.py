"""Video reading (OpenCV, PyAV fallback) and atomic MP4 writing on synthetic clips made here."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from support.streams import free_port, piped_stdin, serve_folder, silent_server, write_mjpeg_avi

from posekit.io import video
from posekit.io.video import VideoReader, VideoWriter, _LiveClock, is_stream_url, is_video_path, redact_url


def make_frames(count: int = 12, size: tuple[int, int] = (64, 48)) -> list[np.ndarray]:
    """Frames with a bright square moving right, on a dark gradient (RGB)."""
    width, height = size
    frames = []
    for index in range(count):
        image = np.zeros((height, width, 3), np.uint8)
        image[..., 2] = np.linspace(0, 120, width, dtype=np.uint8)[None, :]
        image[10:26, 4 + 3 * index : 20 + 3 * index] = (250, 200, 40)
        frames.append(image)
    return frames


def write_clip(path: Path, frames: list[np.ndarray], fps: float = 10.0) -> Path:
    with VideoWriter(path, fps, (frames[0].shape[1], frames[0].shape[0])) as writer:
        for image in frames:
            writer.write(image)
    return path


def test_round_trip_keeps_count_timestamps_size_and_content(tmp_path: Path) -> None:
    frames = make_frames()
    path = write_clip(tmp_path / "clip.mp4", frames)
    assert path.is_file() and not list(tmp_path.glob(".clip*"))  # no temporary file left behind
    with VideoReader(path) as reader:
        assert reader.backend == "opencv" and reader.size == (64, 48) and reader.fps == pytest.approx(10.0)
        read = list(reader)
    assert [frame.index for frame in read] == list(range(12))
    np.testing.assert_allclose([frame.timestamp for frame in read], np.arange(12) / 10.0)
    assert reader.frames_read == 12 and reader.stop_reason is None
    for original, frame in zip(frames, read, strict=True):
        assert frame.image.shape == (48, 64, 3) and frame.image.dtype == np.uint8
        assert np.abs(frame.image.astype(int) - original.astype(int)).mean() < 12  # lossy codec, same picture
    # The square moved right: its red-channel centroid follows.
    centroid = [np.nonzero(frame.image[..., 0] > 150)[1].mean() for frame in read]
    assert np.all(np.diff(centroid) > 0)


def test_pyav_backend_reads_the_same_frames(tmp_path: Path) -> None:
    pytest.importorskip("av")
    path = write_clip(tmp_path / "clip.mp4", make_frames(6))
    with VideoReader(path, backend="pyav") as reader:
        images = [frame.image for frame in reader]
    with VideoReader(path, backend="opencv") as reader:
        reference = [frame.image for frame in reader]
    assert len(images) == 6 and reader.expected_frames == 6
    assert all(np.abs(a.astype(int) - b.astype(int)).mean() < 3 for a, b in zip(images, reference, strict=True))


def test_truncated_video_stops_cleanly_and_says_how_many_frames_were_read(tmp_path: Path) -> None:
    # AVI keeps its index at the end, so a cut file still opens and ends early.
    path = tmp_path / "clip.avi"
    frames = make_frames(30)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (64, 48))
    for image in frames:
        writer.write(image[:, :, ::-1].copy())
    writer.release()
    data = path.read_bytes()
    # Keep the header and the first part of the frame data; drop the rest (and the index).
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    with VideoReader(cut) as reader:
        read = list(reader)
    assert 0 < len(read) < 30 and reader.expected_frames == 30  # the header still announces 30
    assert reader.stop_reason == f"the video ended early: read {len(read)} of 30 frames"


@pytest.mark.parametrize("prefetch", [1, 3])
def test_prefetching_reader_gives_the_same_frames_and_stop_reason(tmp_path: Path, prefetch: int) -> None:
    path = write_clip(tmp_path / "clip.mp4", make_frames(9))
    with VideoReader(path) as reader:
        reference = list(reader)
    with VideoReader(path, prefetch=prefetch) as reader:
        read = list(reader)
        assert reader.frames_read == 9 and reader.stop_reason is None
    assert [frame.index for frame in read] == list(range(9))
    for expected, frame in zip(reference, read, strict=True):
        np.testing.assert_array_equal(frame.image, expected.image)
        assert frame.timestamp == expected.timestamp
    # A file cut short ends early the same way, with the same message.
    writer = cv2.VideoWriter(str(tmp_path / "clip.avi"), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (64, 48))
    for image in make_frames(30):
        writer.write(image[:, :, ::-1].copy())
    writer.release()
    data = (tmp_path / "clip.avi").read_bytes()
    (tmp_path / "cut.avi").write_bytes(data[: len(data) // 2])
    messages = []
    for ahead in (0, prefetch):
        with VideoReader(tmp_path / "cut.avi", prefetch=ahead) as reader:
            count = len(list(reader))
            messages.append((count, reader.stop_reason))
    assert messages[0] == messages[1] and messages[0][1] is not None


def test_prefetching_reader_stops_its_thread_when_closed_early_and_passes_errors_on(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "clip.mp4", make_frames(12))
    before = threading.active_count()
    with VideoReader(path, prefetch=2) as reader:
        for frame in reader:
            if frame.index == 3:
                break
    assert reader.frames_read == 4 and threading.active_count() == before  # the decoding thread is gone

    def broken() -> Iterator[tuple[np.ndarray, float | None]]:  # (image, live timestamp)
        yield np.zeros((48, 64, 3), np.uint8), None
        raise RuntimeError("decoder exploded")

    reader = VideoReader(path, prefetch=2)
    reader._frames = broken()  # decoding fails part-way, inside the thread
    with pytest.raises(RuntimeError, match="decoder exploded"):
        list(reader)
    reader.close()
    assert threading.active_count() == before
    with pytest.raises(ValueError, match="prefetch"):
        VideoReader(path, prefetch=-1)


def test_empty_and_garbage_files_raise_one_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        VideoReader(empty)
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"not a video at all " * 50)
    with pytest.raises(ValueError, match="cannot read video .*garbage.mp4"):
        VideoReader(garbage)
    with pytest.raises(OSError, match="not found"):
        VideoReader(tmp_path / "missing.mp4")


def test_writer_checks_frames_and_discards_the_file_on_error(tmp_path: Path) -> None:
    target = tmp_path / "out.mp4"
    with pytest.raises(ValueError, match="frame must have shape"):
        with VideoWriter(target, 10.0, (64, 48)) as writer:
            writer.write(np.zeros((48, 64, 3), np.uint8))
            writer.write(np.zeros((10, 10, 3), np.uint8))
    assert not target.exists() and list(tmp_path.iterdir()) == []
    assert is_video_path("a/b.MP4") and not is_video_path("a/b.jpg")


# ------------------------------------------------------------------------------ live sources
def test_stream_urls_are_recognised_and_their_passwords_hidden() -> None:
    assert is_stream_url("rtsp://cam.local:554/live") and is_stream_url("HTTP://host/x.mjpg")
    assert is_stream_url("udp://@:1234") and is_stream_url("rtmp://host/app/key")
    assert not is_stream_url("clip.mp4") and not is_stream_url("file:///tmp/clip.mp4") and not is_stream_url("0")
    assert redact_url("rtsp://admin:hunter2@10.0.0.2/ch1") == "rtsp://admin:***@10.0.0.2/ch1"
    assert redact_url("rtsp://10.0.0.2/a:b@c") == "rtsp://10.0.0.2/a:b@c"  # no credentials: unchanged


@pytest.mark.parametrize("backend", ["opencv", "pyav"])
def test_a_video_served_over_http_is_read_as_a_live_stream(tmp_path: Path, backend: str) -> None:
    if backend == "pyav":
        pytest.importorskip("av")
    write_mjpeg_avi(tmp_path / "clip.avi", count=12, fps=10.0)
    with serve_folder(tmp_path) as base, VideoReader(f"{base}/clip.avi", backend=backend, prefetch=2) as reader:
        assert reader.live and reader.path is None and reader.source == f"{base}/clip.avi"
        assert reader.expected_frames is None and reader.size == (64, 48) and reader.fps == pytest.approx(10.0)
        read = list(reader)
    assert [frame.index for frame in read] == list(range(12)) and reader.stop_reason is None
    # The stream's own timestamps, from its first frame (the file says 10 fps).
    np.testing.assert_allclose([frame.timestamp for frame in read], np.arange(12) / 10.0, atol=1e-6)
    centroid = [np.nonzero(frame.image[..., 0] > 150)[1].mean() for frame in read]
    assert np.all(np.diff(centroid) > 0)  # RGB, in order


def test_a_stream_that_stalls_ends_after_the_timeout_with_the_frames_read(tmp_path: Path) -> None:
    write_mjpeg_avi(tmp_path / "clip.avi", count=40)
    with serve_folder(tmp_path, stall=True) as base:
        started = time.monotonic()
        with VideoReader(f"{base}/clip.avi", timeout=1.0) as reader:
            read = list(reader)
        elapsed = time.monotonic() - started
    assert 0 < len(read) < 40 and elapsed < 8.0
    assert reader.stop_reason == "no frame for 1 s: the stream stalled or was cut"


def test_an_address_that_refuses_or_never_answers_fails_fast_with_one_sentence() -> None:
    url = f"http://127.0.0.1:{free_port()}/live"
    started = time.monotonic()
    with pytest.raises(ValueError, match=r"^cannot read stream http://127\.0\.0\.1:\d+/live: opencv: OpenCV cannot"):
        VideoReader(url)
    assert time.monotonic() - started < 10.0
    with silent_server() as port:
        started = time.monotonic()
        with pytest.raises(ValueError) as caught:
            VideoReader(f"rtsp://127.0.0.1:{port}/live", timeout=1.0)
        elapsed = time.monotonic() - started
    # OpenCV gives up after the timeout, and PyAV is not tried: it would wait as long again.
    assert str(caught.value) == f"cannot read stream rtsp://127.0.0.1:{port}/live: opencv: no answer within 1 s"
    assert 0.8 < elapsed < 3.0


def test_a_camera_that_does_not_exist_fails_with_one_sentence() -> None:
    if Path("/dev/video7").exists():
        pytest.skip("this machine has a /dev/video7")
    with pytest.raises(ValueError, match=r"^camera 7: no such camera or it cannot be opened$"):
        VideoReader(7)
    with pytest.raises(ValueError, match="cameras are read with OpenCV"):
        VideoReader(7, backend="pyav")
    with pytest.raises(ValueError, match="camera index"):
        VideoReader(-1)


def test_live_clock_uses_stream_time_when_it_advances_else_the_wall_clock() -> None:
    clock = _LiveClock()
    assert [clock(value) for value in (12.0, 12.04, 12.08, None, 12.06)] == pytest.approx([0, 0.04, 0.08, 0.08, 0.08])
    wall = _LiveClock()  # a stream whose timestamps do not move (some MJPEG servers): wall clock
    stamps = [wall(0.0)]
    time.sleep(0.02)
    stamps += [wall(0.0), wall(None)]
    assert stamps[0] == 0.0 and 0.015 < stamps[1] <= stamps[2] < 1.0


def test_a_video_piped_to_standard_input_is_read_with_pyav(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("av")
    data = write_mjpeg_avi(tmp_path / "clip.avi", count=9).read_bytes()
    with piped_stdin(data) as stdin:
        monkeypatch.setattr(video.sys, "stdin", stdin)
        with VideoReader("-", prefetch=2) as reader:
            assert reader.live and reader.backend == "pyav" and reader.source == "standard input"
            read = list(reader)
    assert len(read) == 9 and reader.stop_reason is None and read[0].image.shape == (48, 64, 3)
    np.testing.assert_allclose([frame.timestamp for frame in read], np.arange(9) / 10.0, atol=1e-6)
    with piped_stdin(b"this is not a video\n" * 500) as stdin:
        monkeypatch.setattr(video.sys, "stdin", stdin)
        with pytest.raises(ValueError, match=r"^cannot read a video from standard input: .*not MP4\)$"):
            VideoReader("-")
