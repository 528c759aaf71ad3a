"""Top-down multi-person pose estimation: a person detector, then a single-person model per person.

:class:`TopDownPipeline` composes any :class:`~posekit.inference.detections.PersonDetector` with any
:class:`PersonPoseEstimator` (``estimate(image, detections) -> PoseInstances`` in original image
pixels) and is itself a whole-image :class:`~posekit.inference.estimator.PoseEstimator`. Two
per-person estimators ship: :class:`~posekit.inference.blazepose.estimator.BlazePoseEstimator`
(the default, :func:`build_blazepose_pipeline`) and
:class:`~posekit.inference.model_estimator.ModelPoseEstimator` (any registered 2D model on the person
boxes, :func:`posekit.inference.estimator.build_estimator`).

Legend: ``N`` people, ``K`` keypoints; keypoints in image pixels, boxes ``xyxy``; images
``(H, W, 3)`` uint8 RGB.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from posekit.geometry import box_area, box_from_keypoints
from posekit.inference.blazepose.detector import BlazePoseDetector
from posekit.inference.blazepose.estimator import BlazePoseEstimator
from posekit.inference.blazepose.landmarks import BlazePoseLandmarker
from posekit.inference.detections import PersonDetections, PersonDetector
from posekit.inference.image import to_rgb_uint8
from posekit.inference.tiling import TiledPersonDetector
from posekit.inference.tracking import suppress_duplicates
from posekit.structures import PoseInstances

__all__ = [
    "PersonPoseEstimator",
    "TopDownPipeline",
    "TrackedDetectionFilter",
    "TrackingPoseEstimator",
    "build_blazepose_pipeline",
    "build_person_detector",
    "default_num_threads",
]


@runtime_checkable
class PersonPoseEstimator(Protocol):
    """Estimates one pose per detection (the second stage of a top-down pipeline)."""

    def estimate(self, image: np.ndarray, detections: PersonDetections) -> PoseInstances:
        """Poses for ``detections`` in ``image``, in image pixels (instances may be fewer, any order)."""
        ...


@runtime_checkable
class TrackingPoseEstimator(PersonPoseEstimator, Protocol):
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
        estimator: PersonPoseEstimator,
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

    def for_video(self) -> TopDownPipeline:
        """This pipeline for video frames: the detector's video schedule (``for_video``) where it has one.

        The copy shares the detector's model and the estimator; only the detector's tiling schedule
        differs (:meth:`posekit.inference.tiling.TiledPersonDetector.for_video`).
        """
        for_video = getattr(self.detector, "for_video", None)
        if for_video is None:
            return self
        video = copy.copy(self)
        video.detector = for_video()
        return video

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
            least 448 px; :class:`~posekit.inference.tiling.TiledPersonDetector`); ``"off"``
            the whole image only; an integer ``N`` one level of tiles of side long side / N.
        tile_levels: at most this many tile sizes (long / 2, long / 4, ...) with ``"auto"``.
    """
    num_threads = default_num_threads() if num_threads is None else num_threads
    detector = build_person_detector(detector_min_score, num_threads, tiles, tile_levels, detector_path)
    landmarker = BlazePoseLandmarker(model_path=landmarker_path, num_threads=num_threads)
    return TopDownPipeline(
        detector=detector,
        estimator=BlazePoseEstimator(landmarker),
        max_people=max_people,
        min_score=min_score,
    )
