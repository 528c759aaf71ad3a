"""BlazePose out of the box: Google's landmark model as a per-person estimator, no mediapipe.

:class:`BlazePoseEstimator` turns person detections into BlazePose ROIs (from the BlazePose
detector's alignment points, or from person boxes when a detection has none), runs the landmark
model (:mod:`posekit.inference.blazepose.landmarks`) in each and returns ``PoseInstances`` with
skeleton ``"blazepose"`` (33 keypoints, MediaPipe order). Its tracking state is the landmark model's
auxiliary points, from which MediaPipe builds the next frame's ROI. The whole-image estimator is a
:class:`~posekit.inference.topdown.TopDownPipeline` of the BlazePose detector
(:mod:`posekit.inference.blazepose.detector`, tiled by :mod:`posekit.inference.tiling`) and this
estimator: :func:`~posekit.inference.topdown.build_blazepose_pipeline`.

Unlike MediaPipe's single-person pose solution, every detected person is processed. For one person
on the same image, the landmarks agree with ``mp.solutions.pose`` (mediapipe 0.10.14, static image
mode) to about 0.02 px on average; see ``benchmarks/blazepose_parity.py``.

Legend: ``N`` people, 33 keypoints; pixels with MediaPipe's convention (normalised coordinate x image size).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from posekit.geometry import box_from_keypoints, clip_boxes
from posekit.inference.blazepose.landmarks import (
    ROI_SCALE,
    BlazePoseLandmarker,
    BlazePoseLandmarks,
    Rois,
    detections_to_rois,
    landmarks_to_rois,
)
from posekit.inference.detections import PersonDetections
from posekit.structures import PoseInstances

__all__ = ["BlazePoseEstimator", "blazepose_instances", "box_rois", "landmark_arrays"]


def box_rois(boxes: np.ndarray, scale: float = ROI_SCALE) -> Rois:
    """Upright square ROIs around person boxes: centred on the box, side ``max(w, h) * scale``.

    BlazePose centres its ROI on the hips, about the middle of a standing person's box, with a side of
    about the body height times 1.25; a person box gives nearly the same square.

    Args:
        boxes: ``(N, 4)`` xyxy pixels.
        scale: side multiplier.

    Returns:
        ``Rois`` (N) with rotation 0.
    """
    values = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    center = (values[:, :2] + values[:, 2:]) / 2.0  # (N, 2)
    side = np.max(values[:, 2:] - values[:, :2], axis=1) * np.float32(scale)  # (N,)
    return Rois(
        center=center.astype(np.float32),
        size=np.stack([side, side], axis=1).astype(np.float32),
        rotation=np.zeros(values.shape[0], np.float32),
    )


def landmark_arrays(landmarks: BlazePoseLandmarks) -> tuple[np.ndarray, np.ndarray]:
    """The landmark model's 33 landmarks as ``PoseInstances.landmarks`` and ``world_landmarks``.

    Returns:
        ``(landmarks, world_landmarks)``: ``(N, 33, 5)`` float32 ``x, y`` (pixels), ``z`` (pixel
        scale of x, relative to the hips), visibility, presence; and ``(N, 33, 3)`` float32 metres,
        hip-centred; both in MediaPipe's landmark order (the ``"blazepose"`` skeleton's names).
    """
    stacked = np.concatenate(
        [landmarks.landmarks, landmarks.visibility[..., None], landmarks.presence[..., None]], axis=-1
    )  # (N, 33, 3) + (N, 33, 1) + (N, 33, 1) -> (N, 33, 5)
    return stacked.astype(np.float32), landmarks.world_landmarks.astype(np.float32)


def blazepose_instances(landmarks: BlazePoseLandmarks, image_size: tuple[int, int]) -> PoseInstances:
    """BlazePose landmark output as ``PoseInstances`` of skeleton ``"blazepose"`` (2D).

    Keypoint scores are MediaPipe's visibility; the instance score is the pose-presence score times
    the mean visibility (so that partly visible people rank below fully visible ones); boxes are the
    tight box around the 33 landmarks, clipped to the image. Non-finite landmarks (an unusable ROI)
    become 0 with score 0.

    Args:
        landmarks: landmark model output for ``N`` people.
        image_size: ``(w, h)``.
    """
    points = landmarks.landmarks[:, :, :2]  # (N, 33, 3) -> (N, 33, 2)
    finite = np.isfinite(points).all(axis=-1)  # (N, 33)
    visibility = np.where(finite, np.nan_to_num(landmarks.visibility), 0.0).astype(np.float32)
    keypoints = np.where(finite[..., None], points, 0.0).astype(np.float32)
    boxes = box_from_keypoints(points, valid=finite)
    boxes = clip_boxes(boxes, image_size)
    instance_scores = np.nan_to_num(landmarks.pose_score) * visibility.mean(axis=1) if len(landmarks) else None
    return PoseInstances(
        keypoints=keypoints,
        scores=visibility,
        skeleton="blazepose",
        boxes=boxes.astype(np.float32),
        instance_scores=np.zeros(0, np.float32) if instance_scores is None else instance_scores.astype(np.float32),
    )


class BlazePoseEstimator:
    """The BlazePose landmark model as a per-person estimator that can also track (MediaPipe's ROI tracking).

    It implements :class:`~posekit.inference.topdown.PersonPoseEstimator`,
    :class:`~posekit.inference.topdown.TrackingPoseEstimator` and
    :class:`~posekit.inference.topdown.TrackedDetectionFilter`; put it behind a person detector with
    :class:`~posekit.inference.topdown.TopDownPipeline` (or
    :func:`~posekit.inference.topdown.build_blazepose_pipeline`).

    Detections with alignment points (the BlazePose detector's) give MediaPipe's detection ROIs;
    detections without (NaN points: boxes from a file or another detector) give :func:`box_rois`.
    The tracking state of a person is the model's auxiliary points ``(6, 3)``, from which MediaPipe
    builds the next frame's ROI (``landmarks_to_rois``).

    Args:
        landmarker: the BlazePose landmark model.
        min_pose_score: the instance score (pose presence) below which a person counts as absent
            (MediaPipe: 0.5).
        keep_landmarks: also return the 33 landmarks (with z, visibility, presence) and the 33
            world landmarks in ``PoseInstances.landmarks`` / ``world_landmarks``
            (:func:`landmark_arrays`); off by default, when nothing extra is kept.
    """

    def __init__(
        self, landmarker: BlazePoseLandmarker, min_pose_score: float = 0.5, keep_landmarks: bool = False
    ) -> None:
        if not 0.0 <= min_pose_score <= 1.0:
            raise ValueError(f"min_pose_score must be in [0, 1], got {min_pose_score}")
        self.landmarker = landmarker
        self.min_pose_score = float(min_pose_score)
        self.keep_landmarks = bool(keep_landmarks)

    def rois_for(self, detections: PersonDetections) -> Rois:
        """ROIs for detections: alignment points where present, else the boxes."""
        count = len(detections)
        if count == 0:
            return Rois.empty()
        has_points = np.asarray(np.isfinite(detections.keypoints).all(axis=(1, 2)))  # (N,)
        from_points = detections_to_rois(detections)
        from_boxes = box_rois(detections.boxes)
        pick = has_points[:, None]
        return Rois(
            center=np.where(pick, from_points.center, from_boxes.center).astype(np.float32),
            size=np.where(pick, from_points.size, from_boxes.size).astype(np.float32),
            rotation=np.where(has_points, from_points.rotation, from_boxes.rotation).astype(np.float32),
        )

    def tracked_detections(
        self,
        detections: PersonDetections,
        states: Sequence[np.ndarray],
        max_center_distance: float = 0.1,
        max_size_ratio: float = 1.5,
    ) -> np.ndarray:
        """Which detections are people already tracked: their ROI is the ROI a tracking state predicts.

        A detection's ROI (:meth:`rois_for`) matches a state's ROI (``landmarks_to_rois`` of its
        auxiliary points) when the centres are closer than ``max_center_distance`` times the state
        ROI's side and the sides differ by less than a factor ``max_size_ratio``. Measured on
        ``dance.avi``: re-detections of tracked people lie within 0.08 side (their poses overlap
        with OKS 0.5-0.98), the nearest other person 0.26 side away.

        Args:
            detections: ``N`` detections in this frame.
            states: ``M`` auxiliary points ``(6, 3)`` from this frame's landmark runs (the
                propagated people who are present).
            max_center_distance: centre distance limit, as a fraction of the state ROI's side.
            max_size_ratio: side ratio limit (> 1).

        Returns:
            ``(N,)`` bool, True for detections of tracked people.
        """
        if max_center_distance < 0 or max_size_ratio < 1:
            raise ValueError(
                f"max_center_distance must be >= 0 and max_size_ratio >= 1, got {max_center_distance}, {max_size_ratio}"
            )
        covered = np.zeros(len(detections), bool)
        if len(detections) == 0 or len(states) == 0:
            return covered
        auxiliary = np.stack([np.asarray(state, np.float32) for state in states])  # (M, 6, 3)
        if auxiliary.ndim != 3 or auxiliary.shape[1] < 2 or auxiliary.shape[2] < 2:
            raise ValueError(f"states must be auxiliary points of shape (A, 2+) with A >= 2, got {auxiliary.shape[1:]}")
        auxiliary = auxiliary[np.isfinite(auxiliary[:, :2, :2]).all(axis=(1, 2))]
        if auxiliary.shape[0] == 0:
            return covered
        tracked = landmarks_to_rois(auxiliary)
        found = self.rois_for(detections)
        tracked_side = tracked.size.max(axis=1)  # (M,) square ROIs
        found_side = found.size.max(axis=1)  # (N,)
        distance = np.linalg.norm(found.center[:, None, :] - tracked.center[None, :, :], axis=-1)  # (N, M)
        ratio = found_side[:, None] / np.maximum(tracked_side[None, :], 1e-6)  # (N, M)
        match = (
            (distance <= max_center_distance * tracked_side[None, :])
            & (ratio <= max_size_ratio)
            & (ratio >= 1.0 / max_size_ratio)
            & (tracked_side[None, :] > 0)
        )
        return np.asarray(match.any(axis=1))

    def estimate_landmarks(self, image: np.ndarray, rois: Rois) -> tuple[PoseInstances, BlazePoseLandmarks]:
        """Poses in ``rois`` (one per ROI, same order) and the landmark model's raw output.

        Args:
            image: ``(H, W, 3)`` uint8 RGB.
            rois: ``N`` regions (from :meth:`rois_for`, ``detections_to_rois`` or ``landmarks_to_rois``).

        Returns:
            ``(instances, landmarks)``: :func:`blazepose_instances` with instance score 0 for absent
            people (pose presence below ``min_pose_score``) and, with ``keep_landmarks``, the
            landmarks and world landmarks; and the ``BlazePoseLandmarks`` (z, presence, world
            landmarks, auxiliary points, ROIs).
        """
        height, width = image.shape[:2]
        landmarks = self.landmarker.estimate(image, rois)
        instances = blazepose_instances(landmarks, (width, height))
        # Absent people (low pose presence) get instance score 0 so callers can drop them.
        present = np.nan_to_num(landmarks.pose_score) >= self.min_pose_score
        assert instances.instance_scores is not None
        kept, world = landmark_arrays(landmarks) if self.keep_landmarks else (None, None)
        instances = PoseInstances(
            keypoints=instances.keypoints,
            scores=instances.scores,
            skeleton=instances.skeleton,
            boxes=instances.boxes,
            instance_scores=np.where(present, instances.instance_scores, 0.0).astype(np.float32),
            landmarks=kept,
            world_landmarks=world,
        )
        return instances, landmarks

    def _run(self, image: np.ndarray, rois: Rois) -> tuple[PoseInstances, list[np.ndarray]]:
        instances, landmarks = self.estimate_landmarks(image, rois)
        return instances, [landmarks.auxiliary[row] for row in range(len(landmarks))]

    def estimate_with_state(
        self, image: np.ndarray, detections: PersonDetections
    ) -> tuple[PoseInstances, list[np.ndarray]]:
        """Poses (one per detection, same order) and their tracking states (auxiliary points)."""
        return self._run(image, self.rois_for(detections))

    def estimate(self, image: np.ndarray, detections: PersonDetections) -> PoseInstances:
        """Poses (one per detection, same order; absent people have instance score 0)."""
        return self._run(image, self.rois_for(detections))[0]

    def propagate(self, image: np.ndarray, states: Sequence[np.ndarray]) -> tuple[PoseInstances, list[np.ndarray]]:
        """Poses in the ROIs predicted from the previous frame's auxiliary points (MediaPipe tracking)."""
        if len(states) == 0:
            return self._run(image, Rois.empty())
        auxiliary = np.stack([np.asarray(state, np.float32) for state in states])  # (N, 6, 3)
        finite = np.asarray(np.isfinite(auxiliary[:, :2, :2]).all(axis=(1, 2)))
        rois = landmarks_to_rois(np.where(finite[:, None, None], auxiliary, 0.0))
        # An unusable state gives a zero-size ROI, which the landmarker reports as absent.
        rois = Rois(rois.center, np.where(finite[:, None], rois.size, 0.0).astype(np.float32), rois.rotation)
        return self._run(image, rois)
