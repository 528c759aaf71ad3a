"""The --show preview window: why it cannot open (checked without a display), and its stop keys."""

from __future__ import annotations

import importlib.metadata

import cv2
import numpy as np
import pytest

from posekit.io import preview
from posekit.io.preview import PreviewWindow, display_problem, opencv_has_gui


def test_opencv_gui_support_is_read_from_the_build_information() -> None:
    assert not opencv_has_gui("General configuration\n  GUI:                           NONE\n")
    assert opencv_has_gui("  GUI:                           GTK3\n    GTK+:                        YES (ver 3.24)\n")
    assert not opencv_has_gui("no such line")
    names = {distribution.metadata["Name"] for distribution in importlib.metadata.distributions()}
    if "opencv-python-headless" in names and "opencv-python" not in names:
        assert not opencv_has_gui()  # the build posekit installs has no GUI


def test_display_problem_names_the_missing_gui_or_display(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preview, "opencv_has_gui", lambda: False)
    problem = display_problem({"DISPLAY": ":0"}, "linux")
    assert problem is not None and "built without GUI support" in problem and "opencv-python" in problem
    monkeypatch.setattr(preview, "opencv_has_gui", lambda: True)
    problem = display_problem({}, "linux")
    assert problem is not None and problem.startswith("neither DISPLAY nor WAYLAND_DISPLAY is set")
    assert display_problem({"DISPLAY": ":0"}, "linux") is None
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux") is None
    assert display_problem({}, "darwin") is None  # macOS and Windows need no display variable


def test_the_window_refuses_to_open_without_a_display(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preview, "opencv_has_gui", lambda: True)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(preview.sys, "platform", "linux")
    with pytest.raises(ValueError, match=r"^--show needs a display and an OpenCV with GUI support: neither DISPLAY"):
        PreviewWindow()


def test_q_esc_or_closing_the_window_asks_to_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preview, "display_problem", lambda: None)
    shown: list[np.ndarray] = []
    keys = iter([-1, -1, ord("q")])
    visible = [1.0]
    monkeypatch.setattr(cv2, "namedWindow", lambda title, flags: None)
    monkeypatch.setattr(cv2, "imshow", lambda title, image: shown.append(image))
    monkeypatch.setattr(cv2, "waitKey", lambda delay: next(keys, -1))
    monkeypatch.setattr(cv2, "getWindowProperty", lambda title, prop: visible[0])
    monkeypatch.setattr(cv2, "destroyWindow", lambda title: None)
    window = PreviewWindow("test")
    image = np.zeros((4, 6, 3), np.uint8)
    image[..., 0] = 200  # red in RGB
    assert window.show(image) and window.show(image)
    assert not window.show(image) and window.stopped and not window.show(image)
    assert len(shown) == 3 and shown[0][0, 0].tolist() == [0, 0, 200]  # shown as BGR
    keys = iter([27])
    assert not PreviewWindow("esc").show(image)
    keys = iter([-1])
    visible[0] = 0.0  # closed with the mouse
    closed = PreviewWindow("closed")
    assert not closed.show(image) and closed.stopped
    closed.close()
    closed.close()
