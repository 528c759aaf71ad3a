"""Local streams for the live-input tests: a file served over HTTP, a server that stalls, a silent one, a pipe.

Everything listens on 127.0.0.1 on a free port and stops when its context ends.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import socket
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np


def write_mjpeg_avi(path: Path, count: int = 12, size: tuple[int, int] = (64, 48), fps: float = 10.0) -> Path:
    """An MJPEG AVI of ``count`` frames with a bright square moving right (readable front to back,
    so it plays over HTTP without range requests, unlike an MP4 whose index is at its end)."""
    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, size)
    for index in range(count):
        image = np.zeros((height, width, 3), np.uint8)
        image[..., 2] = np.linspace(0, 120, width, dtype=np.uint8)[None, :]
        image[10:26, 4 + 3 * index : 20 + 3 * index] = (40, 200, 250)  # BGR
        writer.write(image)
    writer.release()
    return path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        return None


class _StallingHandler(_QuietHandler):
    """Sends the first ``fraction`` of the file, then holds the connection open without sending more."""

    fraction = 0.5
    hold_seconds = 30.0

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        data = Path(self.directory, self.path.lstrip("/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "video/x-msvideo")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: int(len(data) * self.fraction)])
        self.wfile.flush()
        deadline = time.monotonic() + self.hold_seconds
        while time.monotonic() < deadline and not getattr(self.server, "stopping", False):
            time.sleep(0.05)


@contextlib.contextmanager
def serve_folder(folder: Path, stall: bool = False) -> Iterator[str]:
    """Serve ``folder`` over HTTP; yields the base URL (``http://127.0.0.1:PORT``)."""
    handler = functools.partial(_StallingHandler if stall else _QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="test http server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.stopping = True  # type: ignore[attr-defined]
        server.shutdown()
        server.server_close()
        thread.join()


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never says anything; yields the port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, name="silent server", daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


def free_port() -> int:
    """A local TCP port nothing listens on (bound and released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def piped_stdin(data: bytes) -> Iterator[object]:
    """A real (unseekable) pipe carrying ``data``, as an object with ``.buffer`` to put in ``sys.stdin``'s place."""
    read_end, write_end = os.pipe()

    def feed() -> None:
        with open(write_end, "wb") as pipe, contextlib.suppress(BrokenPipeError):
            pipe.write(data)

    thread = threading.Thread(target=feed, name="stdin feeder", daemon=True)
    thread.start()
    with open(read_end, "rb") as buffer:
        yield types.SimpleNamespace(buffer=buffer)
    thread.join()
