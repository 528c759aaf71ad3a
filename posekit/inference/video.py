"""Pose estimation on video frames: any estimator, track ids, smoothing; top-down ROI tracking.

:class:`VideoPosePipeline` runs any whole-image :class:`~posekit.inference.estimator.PoseEstimator`
over consecutive frames and gives every person a track id (:class:`~posekit.inference.tracking.PoseTracker`)
and, optionally, smoothed keypoints (One Euro, per track). Estimators without a detector stage
(bottom-up, mesh) are run on every frame and their poses associated by matching.

A top-down :class:`~posekit.inference.topdown.TopDownPipeline` is run more cheaply; per frame:

1. **propagate** every track seen in the previous frame: the estimator finds the person again in
   the region predicted from their last pose (for BlazePose, MediaPipe's tracking ROI from the
   landmark model's auxiliary points), without running the detector;
2. run the **detector** when there is no live track, when a propagated person was lost in this
   frame, or every ``redetect_every`` frames (to find people who walked in), unless
   ``max_people`` people are already tracked; detections of people who are already tracked are
   estimated too and removed as duplicates of their propagated pose (OKS; the better-scored pose
   stays, so a fresh detection ROI can re-anchor a drifting track), so they never spawn a second
   track. Optionally (``skip_tracked_detections``) they are skipped before estimating;
3. **associate** the poses with tracks: propagated poses keep their track id, the others are
   matched by Hungarian matching, new tracks are born, lost tracks are kept ``max_age`` frames;
4. **smooth** keypoints per track with the One Euro filter (optional).

Instances that carry the estimator's own landmarks (``PoseInstances.landmarks`` and
``world_landmarks``, e.g. BlazePose's 33 with ``keep_landmarks``) keep them through selection and
tracking, one row per returned person; they are the landmark model's raw output for the frame and
are not smoothed: only ``keypoints`` go through the smoother, so with smoothing on the two differ
by the filter's correction (with ``smoother=None`` the finite landmarks' ``x, y`` equal the
``"blazepose"`` keypoints).

MediaPipe's own tracking mode re-runs detection only when its single tracked person is lost; with
several people posekit also re-detects periodically (``redetect_every``; 10 by default, see
``benchmarks/bench_predict_video.py`` for the cost). With ``redetect_max_every``, a periodic
re-detection that finds nobody new doubles the interval to the next one (up to that many frames);
a newcomer, a lost person or an empty frame brings it back to ``redetect_every``, so a settled scene
pays for few detector runs while a busy one keeps the short interval.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from posekit.geometry import box_from_keypoints, clip_boxes
from posekit.inference.detections import PersonDetections, box_detections
from posekit.inference.estimator import PoseEstimator
from posekit.inference.image import to_rgb_uint8
from posekit.inference.smoothing import PoseSmoother
from posekit.inference.tiling import TiledPersonDetector
from posekit.inference.topdown import TopDownPipeline, TrackedDetectionFilter, TrackingPoseEstimator
from posekit.inference.tracking import PoseTracker
from posekit.structures import PoseInstances

__all__ = ["VideoPosePipeline"]


class VideoPosePipeline:
    """Track the poses of the people in consecutive video frames.

    Args:
        pipeline: the per-image estimator: any :class:`~posekit.inference.estimator.PoseEstimator`;
            a :class:`~posekit.inference.topdown.TopDownPipeline` (detector, per-person estimator,
            ``min_score``, ``max_people``) is tracked by propagation as described above. Pass
            ``estimator.for_video()`` (:func:`~posekit.inference.estimator.for_video`) for the
            estimator's video variant.
        tracker: track-id assignment (default ``PoseTracker()``).
        smoother: per-track keypoint smoothing, or ``None`` for raw keypoints.
        redetect_every: run the detector at least every this many frames while fewer than
            ``max_people`` are tracked (``None``: only when no one is tracked or someone is lost).
        redetect_max_every: back-off limit: after a periodic re-detection that found nobody new,
            the interval doubles, up to this many frames (``None``: always ``redetect_every``).
        box_margin: for estimators that cannot propagate by themselves, the previous pose's box is
            enlarged by this factor to form the next frame's detection.
        skip_tracked_detections: when the estimator is a ``TrackedDetectionFilter``, do not estimate
            detections of people tracked in this frame (their propagated pose stays, as in
            MediaPipe's tracking). Off by default: it saves landmark runs (3 % on ``dance.avi`` with
            ``redetect_every=10``, 12 % with 3) but changes tracking: the detection ROI no longer
            refreshes a drifting tracking ROI, and with ``redetect_every=5`` the dancer's track was
            lost for 4 frames and the video needed 11 % more landmark runs.

    Attributes:
        detector_runs: frames on which the detector ran (top-down pipelines only).
        estimator_runs: poses estimated (one landmark-model run each for BlazePose; top-down only).
        skipped_detections: detections of tracked people that were not estimated.
    """

    def __init__(
        self,
        pipeline: PoseEstimator,
        tracker: PoseTracker | None = None,
        smoother: PoseSmoother | None = None,
        redetect_every: int | None = 10,
        box_margin: float = 1.2,
        skip_tracked_detections: bool = False,
        redetect_max_every: int | None = None,
    ) -> None:
        if redetect_every is not None and redetect_every < 1:
            raise ValueError(f"redetect_every must be >= 1 or None, got {redetect_every}")
        if redetect_max_every is not None and (redetect_every is None or redetect_max_every < redetect_every):
            raise ValueError(
                f"redetect_max_every must be >= redetect_every ({redetect_every}), got {redetect_max_every}"
            )
        self.estimator = pipeline
        # Top-down pipelines are tracked by propagation; any other estimator runs on every frame.
        self.top_down = pipeline if isinstance(pipeline, TopDownPipeline) else None
        self.tracker = tracker if tracker is not None else PoseTracker()
        self.smoother = smoother
        self.redetect_every = redetect_every
        self.box_margin = float(box_margin)
        self.skip_tracked_detections = bool(skip_tracked_detections)
        self.redetect_max_every = redetect_max_every
        self.reset()

    def reset(self) -> None:
        """Start a new video: forget tracks, states and filters; the first detection is tiled again."""
        self.tracker.reset()
        if self.top_down is not None and isinstance(self.top_down.detector, TiledPersonDetector):
            self.top_down.detector.reset()
        if self.smoother is not None:
            self.smoother.reset()
        self._states: dict[int, np.ndarray] = {}
        self._last_detection: int | None = None
        self._last_frame: int | None = None
        self._interval = self.redetect_every
        self.detector_runs = 0
        self.estimator_runs = 0
        self.skipped_detections = 0

    def _propagate(
        self, pipeline: TopDownPipeline, image: np.ndarray, track_ids: list[int]
    ) -> tuple[PoseInstances | None, list[int], list[np.ndarray | None]]:
        estimator = pipeline.estimator
        if not track_ids:
            return None, [], []
        self.estimator_runs += len(track_ids)
        if isinstance(estimator, TrackingPoseEstimator):
            states = [self._states[track_id] for track_id in track_ids]
            instances, new_states = estimator.propagate(image, states)
            return instances, list(track_ids), list(new_states)
        # Generic estimators: the previous pose's box, enlarged, is this frame's detection.
        tracks = [self.tracker.tracks[track_id] for track_id in track_ids]
        boxes = np.stack([track.box for track in tracks]).astype(np.float64)  # (M, 4)
        center = (boxes[:, :2] + boxes[:, 2:]) / 2
        half = (boxes[:, 2:] - boxes[:, :2]) / 2 * self.box_margin
        height, width = image.shape[:2]
        enlarged = clip_boxes(np.concatenate([center - half, center + half], axis=1), (width, height))
        scores = np.array([track.score for track in tracks], np.float32)
        instances = estimator.estimate(image, box_detections(enlarged, scores, (width, height)))
        # Without a one-to-one guarantee, generic poses are associated by matching, not by hint.
        return instances, [-1] * len(instances), [None] * len(instances)

    def _drop_tracked(
        self,
        pipeline: TopDownPipeline,
        estimator: TrackedDetectionFilter,
        detections: PersonDetections,
        propagated: PoseInstances,
        states: Sequence[np.ndarray | None],
    ) -> PersonDetections:
        """The detections that are not people propagated (and present) in this frame."""
        scores = propagated.instance_scores
        present = [
            state
            for row, state in enumerate(states)
            if state is not None and (scores is None or scores[row] >= pipeline.min_score)
        ]
        if not present or len(detections) == 0:
            return detections
        tracked = np.asarray(estimator.tracked_detections(detections, present), bool)
        self.skipped_detections += int(tracked.sum())
        return detections.select(np.flatnonzero(~tracked))

    def __call__(self, image: np.ndarray, frame_index: int, timestamp: float) -> PoseInstances:
        """Poses of one frame with ``track_ids``, sorted by decreasing instance score.

        Args:
            image: ``(H, W, 3)`` uint8 RGB frame.
            frame_index: index of the frame; must increase (a smaller index restarts tracking).
            timestamp: time of the frame in seconds (for smoothing).
        """
        image = to_rgb_uint8(image)
        if self._last_frame is not None and frame_index <= self._last_frame:
            self.reset()
        self._last_frame = frame_index
        if self.top_down is None:
            return self._track_every_frame(self.estimator(image), frame_index, timestamp)
        pipeline = self.top_down
        live = [track.track_id for track in self.tracker.live_tracks(frame_index) if track.track_id in self._states]
        if not isinstance(pipeline.estimator, TrackingPoseEstimator):
            live = [track.track_id for track in self.tracker.live_tracks(frame_index)]
        parts: list[PoseInstances] = []
        hints: list[int] = []
        states: list[np.ndarray | None] = []
        propagated, propagated_hints, propagated_states = self._propagate(pipeline, image, live)
        lost = False
        if propagated is not None:
            parts.append(propagated)
            hints += propagated_hints
            states += propagated_states
            scores = propagated.instance_scores
            lost = scores is not None and bool(np.any(scores < pipeline.min_score))
        tracked_enough = pipeline.max_people is not None and len(live) - int(lost) >= pipeline.max_people
        due = self._interval is not None and (
            self._last_detection is None or frame_index - self._last_detection >= self._interval
        )
        periodic = bool(live) and not lost and due and not tracked_enough
        if not live or lost:
            self._interval = self.redetect_every
        if not live or lost or periodic:
            self.detector_runs += 1
            self._last_detection = frame_index
            detections = pipeline.detector.detect(image)
            estimator = pipeline.estimator
            if (
                propagated is not None
                and self.skip_tracked_detections
                and isinstance(estimator, TrackedDetectionFilter)
            ):
                detections = self._drop_tracked(pipeline, estimator, detections, propagated, propagated_states)
            self.estimator_runs += len(detections)
            if isinstance(estimator, TrackingPoseEstimator):
                found, found_states = estimator.estimate_with_state(image, detections)
                states += list(found_states)
            else:
                found = estimator.estimate(image, detections)
                states += [None] * len(found)
            parts.append(found)
            hints += [-1] * len(found)
        instances = PoseInstances.cat(parts)  # never empty: propagation or detection ran
        if len(instances) == 0:
            self.tracker.update(frame_index, np.zeros((0, 4)), np.zeros((0, instances.num_keypoints, 2)), np.zeros(0))
            self._states = {}
            return PoseInstances(
                keypoints=instances.keypoints,
                scores=instances.scores,
                skeleton=instances.skeleton,
                boxes=np.zeros((0, 4), np.float32),
                instance_scores=np.zeros(0, np.float32),
                track_ids=np.zeros(0, np.int64),
                landmarks=instances.landmarks,
                world_landmarks=instances.world_landmarks,
            )
        hint_array = np.asarray(hints, np.int64)
        keep = pipeline.select(instances, priority=(hint_array >= 0).astype(np.float64))
        instances = instances[keep]
        hint_array = hint_array[keep]
        kept_states = [states[index] for index in keep.tolist()]
        boxes = instances.boxes if instances.boxes is not None else box_from_keypoints(instances.keypoints)
        scores = instances.instance_scores if instances.instance_scores is not None else instances.scores.mean(1)
        track_ids = self.tracker.update(frame_index, boxes, instances.keypoints, scores, hint_array)
        if periodic:
            self._back_off(newcomer=bool(set(track_ids.tolist()) - set(live)))
        pairs = zip(track_ids.tolist(), kept_states, strict=True)
        self._states = {int(track_id): state for track_id, state in pairs if state is not None}
        keypoints = instances.keypoints
        if self.smoother is not None:
            keypoints = self.smoother(keypoints, track_ids, timestamp)
        return PoseInstances(
            keypoints=keypoints,
            scores=instances.scores,
            skeleton=instances.skeleton,
            boxes=boxes,
            instance_scores=scores,
            track_ids=track_ids,
            landmarks=instances.landmarks,
            world_landmarks=instances.world_landmarks,
        )

    def _track_every_frame(self, instances: PoseInstances, frame_index: int, timestamp: float) -> PoseInstances:
        """Track ids (by matching) and smoothing for the poses of an estimator run on the whole frame."""
        boxes = instances.boxes if instances.boxes is not None else box_from_keypoints(instances.keypoints)
        scores = instances.instance_scores if instances.instance_scores is not None else instances.scores.mean(1)
        track_ids = self.tracker.update(frame_index, boxes, instances.keypoints, scores)
        keypoints = instances.keypoints
        if self.smoother is not None and len(instances):
            keypoints = self.smoother(keypoints, track_ids, timestamp)
        return PoseInstances(
            keypoints=keypoints,
            scores=instances.scores,
            skeleton=instances.skeleton,
            boxes=np.asarray(boxes, np.float32),
            instance_scores=np.asarray(scores, np.float32),
            track_ids=track_ids,
            landmarks=instances.landmarks,
            world_landmarks=instances.world_landmarks,
        )

    def _back_off(self, newcomer: bool) -> None:
        """After a periodic re-detection: back to the base interval on a newcomer, else double it."""
        if self.redetect_max_every is None or self._interval is None:
            return
        self._interval = self.redetect_every if newcomer else min(2 * self._interval, self.redetect_max_every)

    def run(self, frames: Sequence[tuple[int, float, np.ndarray]]) -> list[PoseInstances]:
        """Process a whole list of ``(index, timestamp, image)`` frames from a fresh start."""
        self.reset()
        return [self(image, index, timestamp) for index, timestamp, image in frames]
