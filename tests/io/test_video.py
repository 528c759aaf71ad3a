"""Video reading (OpenCV, PyAV fallback) and atomic MP4 writing on synthetic clips made here."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from posekit.io.video import VideoReader, VideoWriter, is_video_path


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

    def broken() -> Iterator[np.ndarray]:
        yield np.zeros((48, 64, 3), np.uint8)
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
