"""A tiny stand-in pose estimator for predict() tests, and a frame counter for the videos they write."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from posekit.structures import PoseInstances


class OnePersonEstimator:
    """One person whose keypoints move 2 px right per call; raises ``KeyboardInterrupt`` on call ``interrupt_at``."""

    def __init__(self, interrupt_at: int | None = None) -> None:
        self.calls = 0
        self.interrupt_at = interrupt_at

    def __call__(self, image: np.ndarray) -> PoseInstances:
        if self.calls == self.interrupt_at:
            raise KeyboardInterrupt
        step = self.calls
        self.calls += 1
        grid = np.stack([np.arange(17) % 5, np.arange(17) // 5], axis=-1)  # (17, 2): a 5-wide grid
        keypoints = (grid * 8 + np.array([10 + 2 * step, 5])).astype(np.float32)[None]  # (1, 17, 2)
        return PoseInstances(
            keypoints=keypoints,
            scores=np.full((1, 17), 0.9, np.float32),
            skeleton="coco",
            instance_scores=np.full(1, 0.9, np.float32),
        )


def count_frames(path: Path) -> int:
    capture = cv2.VideoCapture(str(path))
    frames = 0
    while capture.read()[0]:
        frames += 1
    capture.release()
    return frames
