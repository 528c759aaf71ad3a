"""Top-down multi-person pose estimation: a person detector, then a single-person model per person.

:class:`TopDownPipeline` composes any :class:`~posekit.inference.detectors.PersonDetector` with any
:class:`PoseEstimator` (``estimate(image, detections) -> PoseInstances`` in original image
pixels). The default estimator, :class:`BlazePoseEstimatorAdapter`, turns detections into BlazePose
ROIs (from the detector's alignment points, or from person boxes when a detection has none) and
runs the BlazePose landmark model in each. Heatmap models plug in the same way through an adapter
that crops the boxes.

Legend: ``N`` people, ``K`` keypoints; keypoints in image pixels, boxes ``xyxy``; images
``(H, W, 3)`` uint8 RGB.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from posekit.geometry import box_area, box_from_keypoints, clip_boxes
from posekit.inference.blazepose_detector import BlazePoseDetector, PersonDetections
from posekit.inference.blazepose_landmarks import (
    ROI_SCALE,
    BlazePoseLandmarker,
    BlazePoseLandmarks,
    Rois,
    detections_to_rois,
    landmarks_to_rois,
)
from posekit.inference.detectors import PersonDetector
from posekit.inference.image import to_rgb_uint8
from posekit.inference.multiscale import TiledPersonDetector
from posekit.inference.tracking import suppress_duplicates
from posekit.structures import PoseInstances

__all__ = [
    "BlazePoseEstimatorAdapter",
    "PoseEstimator",
    "TopDownPipeline",
    "TrackedDetectionFilter",
    "TrackingPoseEstimator",
    "blazepose_instances",
    "box_rois",
    "build_blazepose_pipeline",
    "build_person_detector",
    "default_num_threads",
]


@runtime_checkable
class PoseEstimator(Protocol):
    """Estimates one pose per detection."""

    def estimate(self, image: np.ndarray, detections: PersonDetections) -> PoseInstances:
        """Poses for ``detections`` in ``image``, in image pixels (instances may be fewer, any order)."""
        ...


@runtime_checkable
class TrackingPoseEstimator(PoseEstimator, Protocol):
    """An estimator that can also follow people from one video frame to the next without a detector.

    ``estimate_with_state`` and ``propagate`` return, beside the poses, one opaque tracking state per
    instance (same order); ``propagate`` takes the states of the previous frame and returns the
    poses found in the regions they predict, one per state (same order), with an instance score
    saying whether the person is still there.
    """

    def estimate_with_state(
        self, image: np.ndarray, detections: PersonDetections
    ) -> tuple[PoseInstances, list[np.ndarray]]:
        """Like ``estimate``, plus a tracking state per instance."""
        ...

    def propagate(self, image: np.ndarray, states: Sequence[np.ndarray]) -> tuple[PoseInstances, list[np.ndarray]]:
        """Poses in the regions predicted by ``states`` (one per state, same order), and their new states."""
        ...


@runtime_checkable
class TrackedDetectionFilter(Protocol):
    """An estimator that can tell, before estimating, which detections are people it already tracks.

    :class:`~posekit.inference.video.VideoPosePipeline` with ``skip_tracked_detections=True`` uses it
    to skip re-detected people (their pose from the tracked region is kept) instead of estimating
    them twice.
    """

    def tracked_detections(self, detections: PersonDetections, states: Sequence[np.ndarray]) -> np.ndarray:
        """``(N,)`` bool: detection n is a person whose tracking state (this frame's) is in ``states``."""
        ...


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


class BlazePoseEstimatorAdapter:
    """BlazePose landmark model behind the :class:`PoseEstimator` / :class:`TrackingPoseEstimator` API.

    Detections with alignment points (the BlazePose detector's) give MediaPipe's detection ROIs;
    detections without (NaN points: boxes from a file or another detector) give :func:`box_rois`.
    The tracking state of a person is the model's auxiliary points ``(6, 3)``, from which MediaPipe
    builds the next frame's ROI (``landmarks_to_rois``).

    Args:
        landmarker: the BlazePose landmark model.
        min_pose_score: the instance score (pose presence) below which a person counts as absent
            (MediaPipe: 0.5).
    """

    def __init__(self, landmarker: BlazePoseLandmarker, min_pose_score: float = 0.5) -> None:
        self.landmarker = landmarker
        self.min_pose_score = float(min_pose_score)

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

    def _run(self, image: np.ndarray, rois: Rois) -> tuple[PoseInstances, list[np.ndarray]]:
        height, width = image.shape[:2]
        landmarks = self.landmarker.estimate(image, rois)
        instances = blazepose_instances(landmarks, (width, height))
        # Absent people (low pose presence) get instance score 0 so callers can drop them.
        present = np.nan_to_num(landmarks.pose_score) >= self.min_pose_score
        assert instances.instance_scores is not None
        instances = PoseInstances(
            keypoints=instances.keypoints,
            scores=instances.scores,
            skeleton=instances.skeleton,
            boxes=instances.boxes,
            instance_scores=np.where(present, instances.instance_scores, 0.0).astype(np.float32),
        )
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


class TopDownPipeline:
    """Detect people, estimate one pose each, keep the confident ones.

    Args:
        detector: finds people (used when ``__call__`` gets no detections).
        estimator: one pose per detection, in image pixels.
        max_people: keep at most this many people per image (best first); ``None``: all.
        min_score: drop instances whose instance score is below this.
        duplicate_oks: two poses more similar than this (OKS) are one person; the better one stays.
    """

    def __init__(
        self,
        detector: PersonDetector,
        estimator: PoseEstimator,
        max_people: int | None = None,
        min_score: float = 0.5,
        duplicate_oks: float = 0.5,
    ) -> None:
        if max_people is not None and max_people < 1:
            raise ValueError(f"max_people must be >= 1 or None, got {max_people}")
        self.detector = detector
        self.estimator = estimator
        self.max_people = max_people
        self.min_score = float(min_score)
        self.duplicate_oks = float(duplicate_oks)

    def select(self, instances: PoseInstances, priority: np.ndarray | None = None) -> np.ndarray:
        """Indices of the instances to keep: confident, not duplicates, best first, at most ``max_people``."""
        if len(instances) == 0:
            return np.zeros(0, np.int64)
        scores = (
            instances.instance_scores
            if instances.instance_scores is not None
            else instances.scores.mean(axis=1).astype(np.float32)
        )
        confident = np.flatnonzero(scores >= self.min_score)
        if confident.size == 0:
            return confident.astype(np.int64)
        boxes = instances.boxes if instances.boxes is not None else box_from_keypoints(instances.keypoints)
        keep = suppress_duplicates(
            instances.keypoints[confident],
            boxes[confident],
            scores[confident],
            threshold=self.duplicate_oks,
            priority=None if priority is None else priority[confident],
        )
        selected = confident[keep]
        # Poses with an empty box (all keypoints in one pixel) are not people.
        selected = selected[box_area(np.asarray(boxes, np.float64)[selected]) > 0]
        if self.max_people is not None:
            selected = selected[: self.max_people]
        return selected.astype(np.int64)

    def __call__(self, image: np.ndarray, detections: PersonDetections | None = None) -> PoseInstances:
        """Poses of the people in ``image``.

        Args:
            image: ``(H, W, 3)`` uint8 RGB (grayscale, RGBA and 16-bit go through ``to_rgb_uint8``).
            detections: use these instead of running the detector (e.g. from a box file).

        Returns:
            ``PoseInstances`` in image pixels, sorted by decreasing instance score.
        """
        image = to_rgb_uint8(image)
        found = self.detector.detect(image) if detections is None else detections
        instances = self.estimator.estimate(image, found)
        return instances[self.select(instances)]


def default_num_threads() -> int:
    """CPU threads for the TFLite models by default: the cores this process may run on, at most 4.

    Measured on an idle 2-core machine (``benchmarks/bench_predict_video.py``): 2 threads run the
    landmark model in half the time of 1 for the same CPU time. On a machine whose cores are busy
    with other work, ``num_threads=1`` (``posekit predict --threads 1``) is the faster choice.
    """
    try:
        cores = len(os.sched_getaffinity(0))  # a container or taskset may allow fewer than cpu_count
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def build_person_detector(
    min_score: float = 0.5,
    num_threads: int | None = None,
    tiles: str | int = "auto",
    tile_levels: int = 2,
    model_path: str | Path | None = None,
    tile_every: int = 1,
) -> PersonDetector:
    """The BlazePose person detector, tiled over large images unless ``tiles="off"``.

    Args:
        min_score: minimum detection score (MediaPipe: 0.5).
        num_threads: CPU threads for TFLite (``None``: :func:`default_num_threads`).
        tiles: ``"auto"``, ``"off"`` or an integer (see :func:`build_blazepose_pipeline`).
        tile_levels: at most this many tile sizes with ``"auto"``.
        model_path: another ``pose_detection.tflite``; default the shipped one.
        tile_every: tile on every ``tile_every``-th call only (video re-detection).
    """
    num_threads = default_num_threads() if num_threads is None else num_threads
    detector = BlazePoseDetector(model_path=model_path, min_score=min_score, num_threads=num_threads)
    if tiles == "off":
        return detector
    return TiledPersonDetector(detector, tiles=tiles, max_levels=tile_levels, tile_every=tile_every)


def build_blazepose_pipeline(
    max_people: int | None = None,
    min_score: float = 0.2,
    detector_min_score: float = 0.5,
    detector_path: str | Path | None = None,
    landmarker_path: str | Path | None = None,
    num_threads: int | None = None,
    tiles: str | int = "auto",
    tile_levels: int = 2,
) -> TopDownPipeline:
    """The default posekit pipeline: BlazePose detector + BlazePose landmark model (shipped weights).

    Args:
        max_people: at most this many people per image.
        min_score: minimum instance score (pose presence x mean visibility) of a kept person; people
            whose pose presence is below 0.5 (MediaPipe's threshold) are dropped whatever this is.
        detector_min_score: minimum detection score (MediaPipe: 0.5).
        detector_path: another ``pose_detection.tflite``; default the shipped one.
        landmarker_path: another BlazePose landmark ``.tflite``; default the shipped ``full`` model.
        num_threads: CPU threads for TFLite (``None``: :func:`default_num_threads`).
        tiles: ``"auto"`` runs the detector on the whole image and on overlapping tiles, so that
            people too small for its 224 x 224 input are found too (images whose long side is at
            least 448 px; :class:`~posekit.inference.multiscale.TiledPersonDetector`); ``"off"``
            the whole image only; an integer ``N`` one level of tiles of side long side / N.
        tile_levels: at most this many tile sizes (long / 2, long / 4, ...) with ``"auto"``.
    """
    num_threads = default_num_threads() if num_threads is None else num_threads
    detector = build_person_detector(detector_min_score, num_threads, tiles, tile_levels, detector_path)
    landmarker = BlazePoseLandmarker(model_path=landmarker_path, num_threads=num_threads)
    return TopDownPipeline(
        detector=detector,
        estimator=BlazePoseEstimatorAdapter(landmarker),
        max_people=max_people,
        min_score=min_score,
    )
