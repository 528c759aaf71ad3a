"""BlazePose out of the box: Google's detector + landmark model, MediaPipe 0.10.14's processing, no mediapipe.

``BlazePoseEstimator`` composes ``BlazePoseDetector`` (people -> alignment points), ``detections_to_rois``
(alignment points -> rotated square ROIs) and ``BlazePoseLandmarker`` (ROI -> 33 landmarks), and returns
``PoseInstances`` with skeleton ``"blazepose"`` (33 keypoints, MediaPipe order) plus the raw
``BlazePoseLandmarks`` (z, presence, world landmarks, auxiliary points for tracking ROIs).

Unlike MediaPipe's single-person pose solution, every detected person is processed. For one person
on the same image, the landmarks agree with ``mp.solutions.pose`` (mediapipe 0.10.14, static image
mode) to about 0.02 px on average; see ``benchmarks/blazepose_parity.py``.

Legend: ``N`` people, 33 keypoints; pixels with MediaPipe's convention (normalised coordinate x image size).
"""

from __future__ import annotations

import numpy as np

from posekit.inference.blazepose_assets import verify_assets
from posekit.inference.blazepose_detector import BlazePoseDetector, PersonDetections
from posekit.inference.blazepose_landmarks import (
    BlazePoseLandmarker,
    BlazePoseLandmarks,
    Rois,
    detections_to_rois,
    landmarks_to_rois,
)
from posekit.inference.image import to_rgb_uint8
from posekit.structures import PoseInstances

__all__ = [
    "BlazePoseDetector",
    "BlazePoseEstimator",
    "BlazePoseLandmarker",
    "BlazePoseLandmarks",
    "PersonDetections",
    "Rois",
    "detections_to_rois",
    "landmarks_to_pose_instances",
    "landmarks_to_rois",
    "verify_assets",
]

SKELETON_NAME = "blazepose"


def landmarks_to_pose_instances(landmarks: BlazePoseLandmarks) -> PoseInstances:
    """Package BlazePose landmarks as ``PoseInstances`` (skeleton ``"blazepose"``).

    Choices (what MediaPipe's Python users see): ``keypoints (N, 33, 2)`` are the landmarks' x, y in
    pixels; ``scores (N, 33)`` are the visibilities (``mp.solutions.pose`` reports visibility and
    clears presence); ``boxes (N, 4)`` are the xyxy bounds of the 33 landmarks (the detector's own box
    is a face box); ``instance_scores (N,)`` are the landmark model's pose-presence scores.

    Args:
        landmarks: output of ``BlazePoseLandmarker.estimate`` with finite coordinates.

    Returns:
        ``PoseInstances`` with ``N`` people.
    """
    points = landmarks.landmarks[:, :, :2]  # (N, 33, 3) -> (N, 33, 2)
    if len(landmarks) == 0:
        boxes = np.zeros((0, 4), np.float32)
    else:
        boxes = np.concatenate([points.min(axis=1), points.max(axis=1)], axis=1)  # (N, 4) xyxy
    return PoseInstances(
        keypoints=points.astype(np.float32),
        scores=landmarks.visibility.astype(np.float32),
        skeleton=SKELETON_NAME,
        boxes=boxes.astype(np.float32),
        instance_scores=landmarks.pose_score.astype(np.float32),
    )


class BlazePoseEstimator:
    """Multi-person BlazePose: detector, ROIs, landmark model.

    Args:
        detector: a ``BlazePoseDetector`` (``None``: the shipped model with MediaPipe's settings).
        landmarker: a ``BlazePoseLandmarker`` (``None``: the shipped full model).
        min_pose_score: people are kept when the landmark model's pose-presence score is above this
            (MediaPipe's ``min_tracking_confidence``, 0.5 by default).
    """

    def __init__(
        self,
        detector: BlazePoseDetector | None = None,
        landmarker: BlazePoseLandmarker | None = None,
        min_pose_score: float = 0.5,
    ) -> None:
        if not 0.0 <= min_pose_score <= 1.0:
            raise ValueError(f"min_pose_score must be in [0, 1], got {min_pose_score}")
        self.detector = detector if detector is not None else BlazePoseDetector()
        self.landmarker = landmarker if landmarker is not None else BlazePoseLandmarker()
        self.min_pose_score = float(min_pose_score)

    def estimate(self, image: np.ndarray, rois: Rois | None = None) -> tuple[PoseInstances, BlazePoseLandmarks]:
        """Estimate the pose of every person in ``image``.

        Args:
            image: ``(H, W, 3)`` uint8 RGB (grayscale, RGBA, 16-bit and float images are converted by
                ``to_rgb_uint8``).
            rois: ROIs to use instead of running the detector (e.g. ``landmarks_to_rois`` of the previous
                frame's ``auxiliary`` points, for tracking).

        Returns:
            ``(instances, landmarks)`` for the ``N`` people kept (pose score > ``min_pose_score``), in
            detection-score order: ``PoseInstances`` (see ``landmarks_to_pose_instances``) and the raw
            ``BlazePoseLandmarks`` (z, presence, world landmarks, auxiliary points, ROIs).
        """
        image = to_rgb_uint8(image)
        height, width = image.shape[:2]
        if rois is None:
            detections = self.detector.detect(image)
            rois = detections_to_rois(detections, (width, height))
        landmarks = self.landmarker.estimate(image, rois)
        keep = np.flatnonzero(landmarks.pose_score > self.min_pose_score)  # MediaPipe's ThresholdingCalculator: >
        landmarks = landmarks.select(keep)
        return landmarks_to_pose_instances(landmarks), landmarks
