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

Live sources: a camera index (an ``int``, OpenCV only) or a stream URL (``rtsp://``, ``http://``,
``udp://``, ... :func:`is_stream_url`; OpenCV's FFmpeg, then PyAV) are read the same way, frame by
frame: nothing is kept but the ``prefetch`` frames decoded ahead. ``"-"`` (:data:`STDIN`) reads a
video piped to standard input with PyAV, in a container that can be read front to back (AVI, MKV,
MPEG-TS; not an MP4 whose index is at its end). Opening a URL and waiting for each
frame give up after ``timeout`` seconds, so a dead address fails with one sentence instead of a
hang. Live sources have no frame count (``expected_frames`` is ``None``); their timestamps are the
stream's own (seconds since its first frame) when it has them, else the wall clock since the first
frame (cameras always). A camera that stops delivering frames, or a stream that sends none for
``timeout`` seconds, ends the iteration with a ``stop_reason``; a stream that simply ends ends it
without one.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import cv2
import numpy as np

from posekit.io.atomic import atomic_path

__all__ = [
    "STDIN",
    "STREAM_SCHEMES",
    "VIDEO_SUFFIXES",
    "VideoFrame",
    "VideoReader",
    "VideoWriter",
    "is_stream_url",
    "is_video_path",
    "redact_url",
    "suppress_native_stderr",
]

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv"})
DEFAULT_FPS = 30.0
# URL schemes read as live streams (FFmpeg protocols that OpenCV and PyAV open).
STREAM_SCHEMES = frozenset(
    {"rtsp", "rtsps", "rtmp", "rtmps", "rtp", "srt", "http", "https", "udp", "tcp", "hls", "mmsh", "mmst"}
)
# The path that means "read the video piped to standard input" (PyAV; a format that streams).
STDIN = "-"
# Seconds a stream may take to open and, after that, to deliver each frame.
STREAM_TIMEOUT = 5.0
# Frame rates above this from a live source are clock rates (RTSP's 90 kHz), not frame rates.
MAX_LIVE_FPS = 240.0
_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://")
_CREDENTIALS = re.compile(r"^(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/@:]*):[^/@]*@")


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


def is_stream_url(text: str) -> bool:
    """Whether ``text`` is a URL with a stream scheme (``rtsp://``, ``http(s)://``, ``udp://``, ...)."""
    match = _URL.match(text)
    return match is not None and match.group("scheme").lower() in STREAM_SCHEMES


def redact_url(url: str) -> str:
    """``url`` with the password of ``user:password@`` replaced by ``***`` (for messages and results)."""
    return _CREDENTIALS.sub(lambda match: f"{match.group('head')}:***@", url)


@dataclass(frozen=True)
class VideoFrame:
    """One decoded frame.

    Attributes:
        index: 0-based frame index in decoding order.
        timestamp: seconds: ``index / fps`` for files, the stream's time or the wall clock since
            the first frame for live sources.
        image: ``(H, W, 3)`` uint8 RGB.
    """

    index: int
    timestamp: float
    image: np.ndarray


_Decoded = tuple[np.ndarray, float | None]  # an RGB image and its live timestamp (None: index / fps)


class _LiveClock:
    """Seconds since the first frame of a live source.

    The stream's own timestamps when they advance from the first frame to the second, else the wall
    clock at decoding (cameras pass none). Never decreases.
    """

    def __init__(self) -> None:
        self._frames = 0
        self._stream_origin = 0.0
        self._wall_origin = 0.0
        self._use_stream = False
        self._last = 0.0

    def __call__(self, stream_seconds: float | None) -> float:
        now = time.monotonic()
        usable = stream_seconds is not None and bool(np.isfinite(stream_seconds))
        self._frames += 1
        if self._frames == 1:
            self._wall_origin = now
            self._stream_origin = float(stream_seconds) if stream_seconds is not None and usable else 0.0
            self._use_stream = usable
            return 0.0
        if self._frames == 2 and self._use_stream:
            self._use_stream = usable and float(stream_seconds or 0.0) > self._stream_origin
        if not self._use_stream:
            value = now - self._wall_origin
        elif usable:
            value = float(stream_seconds or 0.0) - self._stream_origin
        else:
            value = self._last
        self._last = max(self._last, value)
        return self._last


class VideoReader:
    """Iterate over the frames of a video file, a camera or a stream (OpenCV first, PyAV as the fallback).

    Args:
        path: video file, camera index (an ``int``), stream URL (:func:`is_stream_url`) or ``"-"``
            (standard input, PyAV).
        backend: ``"auto"`` (OpenCV, then PyAV), ``"opencv"`` or ``"pyav"``; cameras use OpenCV.
        prefetch: decode up to this many frames ahead in a background thread (0: decode in the
            caller's thread, when it asks for the next frame).
        timeout: seconds a stream URL may take to open, and then to deliver each frame.

    Raises:
        OSError: when the file does not exist.
        ValueError: when the file is empty or no backend can decode a first frame from it; when the
            camera cannot be opened, or the stream cannot be opened or gives no frame (one sentence
            naming it, within about ``timeout`` seconds for a stream).

    Attributes:
        source: what is read, for messages: the file's path, ``"camera N"``, the URL (its
            password replaced by ``***``) or ``"standard input"``.
        live: whether the source is a camera or a stream.
        path: the video file (``None`` for live sources).
        fps: frames per second from the container (``DEFAULT_FPS`` when absent).
        expected_frames: frame count from the container header, ``None`` when unknown (always for
            live sources).
        size: ``(w, h)`` of the frames.
        backend: ``"opencv"`` or ``"pyav"``, the backend in use.
        frames_read: frames yielded so far.
        stop_reason: after iteration, why it stopped early (``None`` when it read all the frames
            the header announced, the header gave no count, or a stream ended).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | int,
        backend: str = "auto",
        prefetch: int = 0,
        timeout: float = STREAM_TIMEOUT,
    ) -> None:
        if backend not in ("auto", "opencv", "pyav"):
            raise ValueError(f"backend must be 'auto', 'opencv' or 'pyav', got {backend!r}")
        if prefetch < 0:
            raise ValueError(f"prefetch must be >= 0 frames, got {prefetch}")
        if not (np.isfinite(timeout) and timeout > 0):
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout}")
        self.prefetch = int(prefetch)
        self.timeout = float(timeout)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._camera: int | None = None
        self._url: str | None = None
        self._pipe = False
        self.path: Path | None = None
        if isinstance(path, int):
            if path < 0:
                raise ValueError(f"a camera index is a number >= 0, got {path}")
            self._camera = path
            self.source = f"camera {path}"
            if backend == "pyav":
                raise ValueError(f"{self.source}: cameras are read with OpenCV, not PyAV")
        elif isinstance(path, str) and is_stream_url(path):
            self._url = path
            self.source = redact_url(path)
        elif isinstance(path, str) and path == STDIN:
            self._pipe = True
            self.source = "standard input"
            if backend == "opencv":
                raise ValueError("standard input is read with PyAV, not OpenCV")
        else:
            self.path = Path(path)
            self.source = str(self.path)
            if not self.path.is_file():
                raise OSError(f"video not found: {self.path}")
            if self.path.stat().st_size == 0:
                raise ValueError(f"cannot read video {self.path}: the file is empty (0 bytes)")
        self.live = self.path is None
        self._clock = _LiveClock() if self.live else None
        self.frames_read = 0
        self.stop_reason: str | None = None
        self._capture: Any = None
        self._container: Any = None
        self._frames: Iterator[_Decoded] | None = None
        self._first: _Decoded | None = None
        errors = []
        if self._camera is not None or self._pipe:
            names: tuple[str, ...] = ("opencv",) if self._camera is not None else ("pyav",)
        else:
            names = ("opencv", "pyav") if backend == "auto" else (backend,)
        for name in names:
            started = time.monotonic()
            try:
                with suppress_native_stderr():  # FFmpeg logs its own complaint about broken files
                    self._open(name)
                self.backend = name
                break
            except ValueError as error:
                errors.append(f"{name}: {error}")
                self._release()
                if self._url is not None and time.monotonic() - started >= 0.9 * self.timeout:
                    break  # the address does not answer: another backend would wait as long
        else:
            if self._camera is not None:
                raise ValueError(f"{self.source}: {errors[0].removeprefix('opencv: ')}")
            if self._url is not None:
                raise ValueError(f"cannot read stream {self.source}: " + "; ".join(errors))
            if self._pipe:
                hint = " (a pipe needs a container that streams: AVI, MKV or MPEG-TS, not MP4)"
                raise ValueError(f"cannot read a video from {self.source}: {errors[0].removeprefix('pyav: ')}{hint}")
            raise ValueError(f"cannot read video {self.path}: " + "; ".join(errors))
        if self._first is None:  # the loop above stopped early on a stream that does not answer
            raise ValueError(f"cannot read stream {self.source}: " + "; ".join(errors))
        height, width = self._first[0].shape[:2]
        self.size: tuple[int, int] = (int(width), int(height))

    # ---------------------------------------------------------------- opening
    def _open(self, name: str) -> None:
        if name == "opencv":
            started = time.monotonic()
            if self._camera is not None:
                capture = cv2.VideoCapture(self._camera)
            elif self._url is not None:
                milliseconds = int(round(self.timeout * 1000))
                timeouts = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, milliseconds, cv2.CAP_PROP_READ_TIMEOUT_MSEC, milliseconds]
                capture = cv2.VideoCapture(self._url, cv2.CAP_FFMPEG, timeouts)
            else:
                capture = cv2.VideoCapture(str(self.path))
            self._capture = capture
            if not capture.isOpened():
                if self._camera is not None:
                    raise ValueError("no such camera or it cannot be opened")
                if self._url is not None:
                    waited = time.monotonic() - started >= 0.9 * self.timeout
                    raise ValueError(f"no answer within {self.timeout:g} s" if waited else "OpenCV cannot open it")
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
                if self._url is not None:
                    container = av.open(self._url, timeout=(self.timeout, self.timeout))
                elif self._pipe:
                    container = av.open(sys.stdin.buffer, mode="r")
                else:
                    container = av.open(str(self.path))
            except Exception as error:  # PyAV raises its own error hierarchy (av.error.*)
                what = "the file" if self.path is not None else "it"
                message = str(error)
                if self._url is not None:  # PyAV ends its message with the URL, which the caller names already
                    message = message.replace(f": '{self._url}'", "").replace(self._url, self.source)
                raise ValueError(f"PyAV cannot open {what} ({type(error).__name__}: {message})") from None
            self._container = container
            if not container.streams.video:
                raise ValueError("the file has no video stream" if self.path is not None else "it has no video stream")
            stream = container.streams.video[0]
            fps = float(stream.average_rate) if stream.average_rate else 0.0
            count = int(stream.frames or 0)
            self._frames = self._pyav_frames(container, stream)
        if self.live and fps > MAX_LIVE_FPS:  # a clock rate, not a frame rate
            fps = 0.0
        self.fps = fps if np.isfinite(fps) and fps > 0 else DEFAULT_FPS
        self.expected_frames: int | None = count if count > 0 and not self.live else None
        self._first = next(self._frames, None)
        if self._first is None:
            raise ValueError(
                self.stop_reason or ("it opened but gave no frame" if self.live else "no frame could be decoded")
            )
        self.stop_reason = None

    def _opencv_frames(self, capture: Any) -> Iterator[_Decoded]:
        waited = 0.0  # seconds the previous read took
        while True:
            started = time.monotonic()
            try:
                ok, bgr = capture.read()
            except cv2.error as error:
                self.stop_reason = f"decoding failed after {self.frames_read} frames ({error})"
                return
            waited, before = time.monotonic() - started, waited
            if not ok or bgr is None:
                # OpenCV's FFmpeg returns what it had when the read timeout hits, then fails at once.
                if self._camera is not None:
                    self.stop_reason = "the camera stopped delivering frames"
                elif self._url is not None and max(waited, before) >= 0.9 * self.timeout:
                    self.stop_reason = f"no frame for {self.timeout:g} s: the stream stalled or was cut"
                return
            stamp = None
            if self._clock is not None:
                stamp = self._clock(None if self._url is None else capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0)
            if bgr.ndim == 2:
                yield cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB), stamp
            elif bgr.shape[2] == 4:
                yield cv2.cvtColor(bgr, cv2.COLOR_BGRA2RGB), stamp
            else:
                yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), stamp  # several times faster than a numpy channel flip

    def _pyav_frames(self, container: Any, stream: Any) -> Iterator[_Decoded]:
        try:
            for frame in container.decode(stream):
                stamp = None if self._clock is None else self._clock(frame.time)
                yield frame.to_ndarray(format="rgb24"), stamp
        except Exception as error:  # av.error.InvalidDataError and friends: stop cleanly
            self.stop_reason = f"decoding failed after {self.frames_read} frames ({type(error).__name__}: {error})"

    # ---------------------------------------------------------------- iteration
    def __iter__(self) -> Iterator[VideoFrame]:
        if self._frames is None:
            return
        if self._first is not None:
            first, self._first = self._first, None
            yield self._emit(*first)
        for image, stamp in self._frames if self.prefetch == 0 else self._prefetched(self._frames):
            yield self._emit(image, stamp)
        if self.stop_reason is None and self.expected_frames is not None and self.frames_read < self.expected_frames:
            self.stop_reason = f"the video ended early: read {self.frames_read} of {self.expected_frames} frames"
        self._frames = None

    def _prefetched(self, frames: Iterator[_Decoded]) -> Iterator[_Decoded]:
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
        name = self.source if self.path is None else self.path.name
        self._thread = threading.Thread(target=decode, name=f"decode {name}", daemon=True)
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

    def _emit(self, image: np.ndarray, stamp: float | None = None) -> VideoFrame:
        timestamp = self.frames_read / self.fps if stamp is None else stamp
        frame = VideoFrame(index=self.frames_read, timestamp=timestamp, image=image)
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
