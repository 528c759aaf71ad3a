"""Video frames in, annotated video out.

:class:`VideoReader` yields :class:`VideoFrame` ``(index, timestamp, image)`` with ``image`` an
``(H, W, 3)`` uint8 RGB array and ``timestamp`` in seconds. It decodes with OpenCV
(``cv2.VideoCapture``) and falls back to PyAV (``pip install posekit[video]``) when OpenCV cannot
open the file or decode its first frame. Videos that end before the frame count in their header,
or whose frames stop decoding part-way, end the iteration cleanly: ``frames_read``,
``expected_frames`` and ``stop_reason`` then say what happened.

:class:`VideoWriter` writes an MP4 (``mp4v``) atomically: frames go to a temporary file beside the
target, renamed over it only when the writer is closed without an error.

FFmpeg's own log lines about a broken file are silenced while a file is opened (the error raised
says what went wrong); set ``OPENCV_FFMPEG_LOGLEVEL=-8`` before the first OpenCV video call to
silence them while decoding too (``posekit predict`` does).

With ``prefetch=N`` the next ``N`` frames are decoded in a background thread while the caller works
on the current one (OpenCV and PyAV release the GIL while decoding), so decoding overlaps inference
on a machine with a spare core; the frames, their order and ``stop_reason`` are the same.

Timestamps are ``index / fps`` (the container's average frame rate; 30 fps when the file does not
state one), which is what per-frame results files store.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import cv2
import numpy as np

from posekit.io.atomic import atomic_path

__all__ = ["VIDEO_SUFFIXES", "VideoFrame", "VideoReader", "VideoWriter", "is_video_path", "suppress_native_stderr"]

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv"})
DEFAULT_FPS = 30.0


@contextlib.contextmanager
def suppress_native_stderr() -> Iterator[None]:
    """Silence writes to file descriptor 2 from native code (FFmpeg, TFLite banners) inside the block.

    Python-level ``sys.stderr`` is flushed first; the descriptor is restored on exit, also on errors.
    """
    try:
        saved = os.dup(2)
    except OSError:  # no stderr descriptor (embedded interpreters): nothing to silence
        yield
        return
    try:
        sys.stderr.flush()
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def is_video_path(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` has a video suffix (by name only)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


@dataclass(frozen=True)
class VideoFrame:
    """One decoded frame.

    Attributes:
        index: 0-based frame index in decoding order.
        timestamp: ``index / fps`` in seconds.
        image: ``(H, W, 3)`` uint8 RGB.
    """

    index: int
    timestamp: float
    image: np.ndarray


class VideoReader:
    """Iterate over the frames of a video file (OpenCV first, PyAV as the fallback).

    Args:
        path: video file.
        backend: ``"auto"`` (OpenCV, then PyAV), ``"opencv"`` or ``"pyav"``.
        prefetch: decode up to this many frames ahead in a background thread (0: decode in the
            caller's thread, when it asks for the next frame).

    Raises:
        OSError: when the file does not exist.
        ValueError: when the file is empty or no backend can decode a first frame from it.

    Attributes:
        fps: frames per second from the container (``DEFAULT_FPS`` when absent).
        expected_frames: frame count from the container header, ``None`` when unknown.
        size: ``(w, h)`` of the frames.
        backend: ``"opencv"`` or ``"pyav"``, the backend in use.
        frames_read: frames yielded so far.
        stop_reason: after iteration, why it stopped early (``None`` when it read all the frames
            the header announced, or the header gave no count).
    """

    def __init__(self, path: str | os.PathLike[str], backend: str = "auto", prefetch: int = 0) -> None:
        if backend not in ("auto", "opencv", "pyav"):
            raise ValueError(f"backend must be 'auto', 'opencv' or 'pyav', got {backend!r}")
        if prefetch < 0:
            raise ValueError(f"prefetch must be >= 0 frames, got {prefetch}")
        self.prefetch = int(prefetch)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.path = Path(path)
        if not self.path.is_file():
            raise OSError(f"video not found: {self.path}")
        if self.path.stat().st_size == 0:
            raise ValueError(f"cannot read video {self.path}: the file is empty (0 bytes)")
        self.frames_read = 0
        self.stop_reason: str | None = None
        self._capture: Any = None
        self._container: Any = None
        self._frames: Iterator[np.ndarray] | None = None
        self._first: np.ndarray | None = None
        errors = []
        for name in ("opencv", "pyav") if backend == "auto" else (backend,):
            try:
                with suppress_native_stderr():  # FFmpeg logs its own complaint about broken files
                    self._open(name)
                self.backend = name
                break
            except ValueError as error:
                errors.append(f"{name}: {error}")
                self._release()
        else:
            raise ValueError(f"cannot read video {self.path}: " + "; ".join(errors))
        height, width = self._first.shape[:2] if self._first is not None else (0, 0)
        self.size = (int(width), int(height))

    # ---------------------------------------------------------------- opening
    def _open(self, name: str) -> None:
        if name == "opencv":
            capture = cv2.VideoCapture(str(self.path))
            self._capture = capture
            if not capture.isOpened():
                raise ValueError("OpenCV cannot open the file")
            fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
            count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            self._frames = self._opencv_frames(capture)
        else:
            try:
                import av
            except ImportError:
                raise ValueError("PyAV is not installed (pip install posekit[video])") from None
            try:
                container = av.open(str(self.path))
            except Exception as error:  # PyAV raises its own error hierarchy (av.error.*)
                raise ValueError(f"PyAV cannot open the file ({type(error).__name__}: {error})") from None
            self._container = container
            if not container.streams.video:
                raise ValueError("the file has no video stream")
            stream = container.streams.video[0]
            fps = float(stream.average_rate) if stream.average_rate else 0.0
            count = int(stream.frames or 0)
            self._frames = self._pyav_frames(container, stream)
        self.fps = fps if np.isfinite(fps) and fps > 0 else DEFAULT_FPS
        self.expected_frames: int | None = count if count > 0 else None
        self._first = next(self._frames, None)
        if self._first is None:
            raise ValueError(self.stop_reason or "no frame could be decoded")
        self.stop_reason = None

    def _opencv_frames(self, capture: Any) -> Iterator[np.ndarray]:
        while True:
            try:
                ok, bgr = capture.read()
            except cv2.error as error:
                self.stop_reason = f"decoding failed after {self.frames_read} frames ({error})"
                return
            if not ok or bgr is None:
                return
            if bgr.ndim == 2:
                yield cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
            elif bgr.shape[2] == 4:
                yield cv2.cvtColor(bgr, cv2.COLOR_BGRA2RGB)
            else:
                yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)  # several times faster than a numpy channel flip

    def _pyav_frames(self, container: Any, stream: Any) -> Iterator[np.ndarray]:
        try:
            for frame in container.decode(stream):
                yield frame.to_ndarray(format="rgb24")
        except Exception as error:  # av.error.InvalidDataError and friends: stop cleanly
            self.stop_reason = f"decoding failed after {self.frames_read} frames ({type(error).__name__}: {error})"

    # ---------------------------------------------------------------- iteration
    def __iter__(self) -> Iterator[VideoFrame]:
        if self._frames is None:
            return
        if self._first is not None:
            first, self._first = self._first, None
            yield self._emit(first)
        for image in self._frames if self.prefetch == 0 else self._prefetched(self._frames):
            yield self._emit(image)
        if self.stop_reason is None and self.expected_frames is not None and self.frames_read < self.expected_frames:
            self.stop_reason = f"the video ended early: read {self.frames_read} of {self.expected_frames} frames"
        self._frames = None

    def _prefetched(self, frames: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        """``frames``, decoded ahead by a background thread; its errors are raised here."""
        done = object()
        ready: queue.Queue[Any] = queue.Queue(maxsize=self.prefetch)

        def put(item: Any) -> bool:
            while not self._stop.is_set():
                try:
                    ready.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def decode() -> None:
            try:
                for image in frames:
                    if not put(image):
                        return
                put(done)
            except BaseException as error:  # handed to the caller's thread
                put(error)

        self._stop.clear()
        self._thread = threading.Thread(target=decode, name=f"decode {self.path.name}", daemon=True)
        self._thread.start()
        try:
            while True:
                item = ready.get()
                if item is done:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self._join()

    def _join(self) -> None:
        """Stop the decoding thread (if any) and wait for it, so the decoder can be released."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None

    def _emit(self, image: np.ndarray) -> VideoFrame:
        frame = VideoFrame(index=self.frames_read, timestamp=self.frames_read / self.fps, image=image)
        self.frames_read += 1
        return frame

    # ---------------------------------------------------------------- cleanup
    def _release(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None
        if self._container is not None:
            with contextlib.suppress(Exception):
                self._container.close()
            self._container = None

    def close(self) -> None:
        """Release the decoder (after stopping the decoding thread)."""
        self._join()
        self._frames = None
        self._release()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


class VideoWriter:
    """Write ``(H, W, 3)`` uint8 RGB frames to an MP4 file (``mp4v``), atomically.

    Use as a context manager; the target appears only when the block ends without an error.

    Args:
        path: target file (its suffix is kept for the temporary file, so ``.mp4`` picks MP4).
        fps: frames per second.
        size: ``(w, h)`` of every frame.
        codec: FourCC code, ``"mp4v"`` by default (available in every OpenCV build).

    Raises:
        OSError: when OpenCV cannot open a writer for the file.
    """

    def __init__(self, path: str | os.PathLike[str], fps: float, size: tuple[int, int], codec: str = "mp4v") -> None:
        if not (np.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be a positive number, got {fps}")
        if len(size) != 2 or min(int(size[0]), int(size[1])) <= 0:
            raise ValueError(f"size must be (w, h) with positive values, got {size}")
        self.path = Path(path)
        self.size = (int(size[0]), int(size[1]))
        self.frames_written = 0
        self._stack = contextlib.ExitStack()
        tmp = self._stack.enter_context(atomic_path(self.path))
        self._writer: Any = cv2.VideoWriter(str(tmp), cv2.VideoWriter.fourcc(*codec), float(fps), self.size)
        if not self._writer.isOpened():
            self._writer.release()
            self._stack.__exit__(OSError, OSError(), None)
            raise OSError(f"cannot write video {self.path}: OpenCV has no {codec!r} writer for this file type")

    def write(self, image: np.ndarray) -> None:
        """Append one ``(H, W, 3)`` uint8 RGB frame of the writer's size."""
        if image.ndim != 3 or image.shape[2] != 3 or (image.shape[1], image.shape[0]) != self.size:
            raise ValueError(
                f"frame must have shape ({self.size[1]}, {self.size[0]}, 3) to match the video, got {image.shape}"
            )
        self._writer.write(np.ascontiguousarray(image[:, :, ::-1]))
        self.frames_written += 1

    def close(self, error: BaseException | None = None) -> None:
        """Finish the file and move it into place (or discard it when ``error`` is given)."""
        if self._writer is None:
            return
        self._writer.release()
        self._writer = None
        if error is None:
            self._stack.close()
        else:
            self._stack.__exit__(type(error), error, error.__traceback__)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close(value)
