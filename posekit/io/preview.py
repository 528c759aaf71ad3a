"""A preview window for overlays as they are made (``posekit predict --show``).

:func:`display_problem` says, before anything runs, why no window can open here: OpenCV built
without GUI support (``opencv-python-headless``, the OpenCV posekit installs, has none) or, on
Linux, no display (neither ``DISPLAY`` nor ``WAYLAND_DISPLAY`` set: an SSH session without X
forwarding, a container, a server). :class:`PreviewWindow` shows ``(H, W, 3)`` uint8 RGB images
with ``cv2.imshow``; pressing ``q`` or Esc in it, or closing it, asks the caller to stop.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

import cv2
import numpy as np

__all__ = ["PreviewWindow", "display_problem", "opencv_has_gui"]

STOP_KEYS = frozenset({ord("q"), ord("Q"), 27})  # q, Q, Esc


def opencv_has_gui(build_information: str | None = None) -> bool:
    """Whether this OpenCV was built with a GUI backend (its build information has ``GUI: <name>``).

    Args:
        build_information: the text of ``cv2.getBuildInformation()`` (read when ``None``).
    """
    text = cv2.getBuildInformation() if build_information is None else build_information
    for line in text.splitlines():
        name, _, value = line.strip().partition(":")
        if name.strip() == "GUI":
            return value.strip().upper() not in ("", "NONE", "NO")
    return False


def display_problem(environ: Mapping[str, str] | None = None, platform: str | None = None) -> str | None:
    """Why no preview window can open here, as the end of a sentence; ``None`` when one can.

    Args:
        environ: environment variables (``os.environ`` when ``None``).
        platform: ``sys.platform`` when ``None``.
    """
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not opencv_has_gui():
        return (
            f"this OpenCV ({cv2.__version__}) is built without GUI support, as opencv-python-headless (what posekit "
            "installs) always is; install opencv-python in its place to use --show"
        )
    if platform.startswith("linux") and not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")):
        return "neither DISPLAY nor WAYLAND_DISPLAY is set (no desktop session: SSH without X forwarding, a container)"
    return None


class PreviewWindow:
    """One OpenCV window that shows RGB images; ``q``, Esc or closing it asks to stop.

    Args:
        title: the window's title.

    Raises:
        ValueError: when the window cannot be opened (one sentence saying why).
    """

    def __init__(self, title: str = "posekit") -> None:
        self.title = title
        self.stopped = False
        problem = display_problem()
        if problem is not None:
            raise ValueError(f"--show needs a display and an OpenCV with GUI support: {problem}")
        try:
            cv2.namedWindow(self.title, cv2.WINDOW_NORMAL)
        except cv2.error as error:
            message = " ".join(str(error).split())
            raise ValueError(f"--show cannot open a window here: {message}") from None
        self._open = True

    def show(self, image: np.ndarray) -> bool:
        """Show one ``(H, W, 3)`` uint8 RGB image; ``False`` once the user asked to stop."""
        if not self._open or self.stopped:
            return False
        cv2.imshow(self.title, np.ascontiguousarray(image[:, :, ::-1]))
        key = cv2.waitKey(1)
        if key >= 0 and key & 0xFF in STOP_KEYS:
            self.stopped = True
        elif cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:  # closed with the mouse
            self.stopped = True
        return not self.stopped

    def close(self) -> None:
        """Close the window (safe to call twice)."""
        if self._open:
            self._open = False
            try:
                cv2.destroyWindow(self.title)
                cv2.waitKey(1)  # lets the GUI backend process the close
            except cv2.error:
                pass
