"""What person detectors return and the interface they share.

A :class:`PersonDetector` is anything with ``detect(image) -> PersonDetections``: the BlazePose
detector (:mod:`posekit.inference.blazepose.detector`), the tiled detector over it
(:mod:`posekit.inference.tiling`) and person boxes read from a COCO detection results file
(:class:`posekit.inference.box_file.BoxFileDetector`). Detections that carry only boxes (from a
file or another detector) have NaN alignment points, which tells pose estimators to build their
region from the box.

Legend: ``N`` detections; pixels with the centre of the top-left pixel at ``(0, 0)``; boxes ``xyxy``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["NUM_ALIGNMENT_POINTS", "PersonDetections", "PersonDetector", "box_detections"]

# BlazePose's four alignment points per person (mid-hip, full-body, mid-shoulder, upper-body).
NUM_ALIGNMENT_POINTS = 4


@dataclass(frozen=True)
class PersonDetections:
    """People found by a person detector in one image; ``N`` detections sorted by decreasing score.

    Attributes:
        boxes: ``(N, 4)`` float32 xyxy in image pixels (the detector's face box).
        scores: ``(N,)`` float32 detection scores in [0, 1].
        keypoints: ``(N, 4, 2)`` float32 alignment points (x, y) in image pixels: 0 mid-hip centre,
            1 full-body size/rotation point, 2 mid-shoulder centre, 3 upper-body size/rotation point.
        image_size: ``(w, h)`` of the image the detections refer to.
    """

    boxes: np.ndarray
    scores: np.ndarray
    keypoints: np.ndarray
    image_size: tuple[int, int]

    def __post_init__(self) -> None:
        count = self.scores.shape[0] if self.scores.ndim == 1 else -1
        if count < 0:
            raise ValueError(f"scores must have shape (N,), got {self.scores.shape}")
        if self.boxes.shape != (count, 4):
            raise ValueError(f"boxes must have shape ({count}, 4), got {self.boxes.shape}")
        if self.keypoints.shape != (count, NUM_ALIGNMENT_POINTS, 2):
            raise ValueError(f"keypoints must have shape ({count}, 4, 2), got {self.keypoints.shape}")

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def select(self, indices: np.ndarray) -> PersonDetections:
        """The detections at ``indices`` (integer array or boolean mask), same image size."""
        return PersonDetections(
            boxes=self.boxes[indices],
            scores=self.scores[indices],
            keypoints=self.keypoints[indices],
            image_size=self.image_size,
        )

    @classmethod
    def empty(cls, image_size: tuple[int, int]) -> PersonDetections:
        """No detections for an image of size ``(w, h)``."""
        return cls(
            boxes=np.zeros((0, 4), np.float32),
            scores=np.zeros((0,), np.float32),
            keypoints=np.zeros((0, NUM_ALIGNMENT_POINTS, 2), np.float32),
            image_size=image_size,
        )


@runtime_checkable
class PersonDetector(Protocol):
    """Finds people in an image."""

    def detect(self, image: np.ndarray) -> PersonDetections:
        """Detect people in ``image`` ``(H, W, 3)`` uint8 RGB; detections sorted by decreasing score."""
        ...


def box_detections(boxes: np.ndarray, scores: np.ndarray, image_size: tuple[int, int]) -> PersonDetections:
    """Detections from person boxes alone (alignment points set to NaN).

    Args:
        boxes: ``(N, 4)`` xyxy person boxes in pixels.
        scores: ``(N,)`` detection scores.
        image_size: ``(w, h)`` of the image.

    Returns:
        ``PersonDetections`` sorted by decreasing score.
    """
    box_values = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    score_values = np.asarray(scores, dtype=np.float32).reshape(-1)
    if score_values.shape[0] != box_values.shape[0]:
        raise ValueError(f"scores must have shape ({box_values.shape[0]},) to match boxes, got {score_values.shape}")
    order = np.argsort(-score_values, kind="stable")
    return PersonDetections(
        boxes=box_values[order],
        scores=score_values[order],
        keypoints=np.full((box_values.shape[0], NUM_ALIGNMENT_POINTS, 2), np.nan, np.float32),
        image_size=(int(image_size[0]), int(image_size[1])),
    )
