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

Compressed video (phone and web MP4s) moves a landmark model's presence score and a detector's
score across their 0.5 thresholds from one frame to the next, so a person can vanish for a frame
or two, or be detected and rejected, where the lossless file kept them. Two mechanisms keep such
people:

* **coasting** (``coast_frames``, TrackingPoseEstimator only): a person lost by propagation is
  looked for again, for up to ``coast_frames`` frames, in the region of the last pose in which
  they were seen (one landmark run a frame, no detector), unless a tracked person is now there;
  found, they keep their track id;
* **retries** (``retry_unresolved``): a detection frame that leaves someone unresolved -- a lost
  person not found again, or a detection whose pose the estimator rejected (BlazePose: pose
  presence below 0.5) away from every kept person -- runs the detector again 1, 2, 4, ... frames
  later (the delay doubles while they stay unresolved and starts again at 1 on a new loss or a
  newcomer), instead of waiting for the periodic re-detection, backed off up to 40 frames. A
  :class:`~posekit.inference.tiling.TiledPersonDetector` tiles every retry: the unresolved person
  may be one that only tiles find.

Measured with ``benchmarks/bench_video_compression.py`` (``dance.avi`` re-encoded as ``mp4v``,
H.264 CRF 23 and 28, and FFV1): before these, the defaults found 78 % (mp4v), 75 % and 60 % of
the lossless file's 629 person-frames; see the README for the numbers with them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from posekit.geometry import box_from_keypoints, box_iou, clip_boxes
from posekit.inference.detections import PersonDetections, box_detections
from posekit.inference.estimator import PoseEstimator
from posekit.inference.image import to_rgb_uint8
from posekit.inference.smoothing import PoseSmoother
from posekit.inference.tiling import TiledPersonDetector
from posekit.inference.topdown import TopDownPipeline, TrackedDetectionFilter, TrackingPoseEstimator
from posekit.inference.tracking import PoseTracker
from posekit.structures import PoseInstances

__all__ = ["VideoPosePipeline"]

# A lost track stops coasting when a tracked person's box overlaps its last box by more than this IoU.
COAST_MAX_IOU = 0.3


def _outside(boxes: np.ndarray, people: np.ndarray) -> np.ndarray:
    """``(R,)`` bool: the centre of box r lies outside every box of ``people`` ``(P, 4)`` (xyxy pixels)."""
    if len(boxes) == 0:
        return np.zeros(0, bool)
    center = (np.asarray(boxes, np.float64)[:, :2] + np.asarray(boxes, np.float64)[:, 2:]) / 2  # (R, 2)
    people = np.asarray(people, np.float64).reshape(-1, 4)
    inside = (
        (center[:, None, 0] >= people[None, :, 0])
        & (center[:, None, 0] <= people[None, :, 2])
        & (center[:, None, 1] >= people[None, :, 1])
        & (center[:, None, 1] <= people[None, :, 3])
    )  # (R, P)
    return np.asarray(~inside.any(axis=1))


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
        retry_unresolved: after a detection frame that left someone unresolved (see above), run
            the detector again 1, 2, 4, ... frames later, until it resolves or the delay reaches
            ``redetect_max_every`` (or ``redetect_every``).
        coast_frames: look for a lost person in the region of their last pose for up to this many
            frames (0: never).

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
        retry_unresolved: bool = True,
        coast_frames: int = 10,
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
        self.retry_unresolved = bool(retry_unresolved)
        if coast_frames < 0:
            raise ValueError(f"coast_frames must be >= 0, got {coast_frames}")
        self.coast_frames = int(coast_frames)
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
        self._retry_delay = 0  # frames from the last unresolved detection to its retry (0: none pending)
        self._retry_at: int | None = None
        self._missing: set[int] = set()  # track ids lost and not found again since
        # (R, 4) boxes of detections whose pose was rejected, away from everyone kept since
        self._rejected = np.zeros((0, 4), np.float32)
        self._last_seen: dict[int, tuple[int, np.ndarray]] = {}  # track id -> (frame, tracking state)
        self.detector_runs = 0
        self.estimator_runs = 0
        self.skipped_detections = 0

    def _propagate(
        self, pipeline: TopDownPipeline, image: np.ndarray, track_ids: list[int], coasting: Sequence[int] = ()
    ) -> tuple[PoseInstances | None, list[int], list[np.ndarray | None]]:
        estimator = pipeline.estimator
        if not track_ids and not coasting:
            return None, [], []
        if isinstance(estimator, TrackingPoseEstimator):
            track_ids = list(track_ids) + list(coasting)
            self.estimator_runs += len(track_ids)
            states = [self._states[track_id] for track_id in track_ids[: len(track_ids) - len(coasting)]]
            states += [self._last_seen[track_id][1] for track_id in coasting]
            instances, new_states = estimator.propagate(image, states)
            return instances, list(track_ids), list(new_states)
        # Generic estimators: the previous pose's box, enlarged, is this frame's detection.
        self.estimator_runs += len(track_ids)
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
        coasting = self._coasting(frame_index, live) if isinstance(pipeline.estimator, TrackingPoseEstimator) else []
        propagated, propagated_hints, propagated_states = self._propagate(pipeline, image, live, coasting)
        if propagated is not None and coasting:
            propagated, propagated_hints, propagated_states = self._drop_covered(
                propagated, propagated_hints, propagated_states, len(live), pipeline.min_score
            )
        lost = False
        if propagated is not None:
            parts.append(propagated)
            hints += propagated_hints
            states += propagated_states
            scores = propagated.instance_scores
            # Only live people can be lost in this frame (coasting ones were lost before).
            lost = scores is not None and bool(np.any(scores[: len(live)] < pipeline.min_score))
        tracked_enough = pipeline.max_people is not None and len(live) - int(lost) >= pipeline.max_people
        due = self._interval is not None and (
            self._last_detection is None or frame_index - self._last_detection >= self._interval
        )
        periodic = bool(live) and not lost and due and not tracked_enough
        retry = (
            bool(live)
            and not lost
            and not periodic
            and not tracked_enough
            and self._retry_at is not None
            and frame_index >= self._retry_at
            and (bool(self._missing) or len(self._rejected) > 0)  # coasting may have found them meanwhile
        )
        if not live or lost:
            self._interval = self.redetect_every
        detected = not live or lost or periodic or retry
        rejected = np.zeros((0, 4), np.float32)  # (R, 4) detection boxes whose pose was rejected
        if detected:
            self.detector_runs += 1
            self._last_detection = frame_index
            detector = pipeline.detector
            if retry and isinstance(detector, TiledPersonDetector):
                # The unresolved person may be one only tiles find (small, far away): tile the retry.
                detections = detector.detect(image, tiled=True)
            else:
                detections = detector.detect(image)
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
            if len(found) == len(detections) and found.instance_scores is not None:  # one pose per detection
                rejected = detections.boxes[found.instance_scores < pipeline.min_score]
            parts.append(found)
            hints += [-1] * len(found)
        instances = PoseInstances.cat(parts)  # never empty: propagation or detection ran
        if len(instances) == 0:
            self.tracker.update(frame_index, np.zeros((0, 4)), np.zeros((0, instances.num_keypoints, 2)), np.zeros(0))
            self._states = {}
            self._missing = {track_id for track_id in self._missing | set(live) if track_id in self.tracker.tracks}
            if detected:
                self._rejected = rejected
                self._schedule_retry(frame_index, unresolved=bool(self._missing) or len(rejected) > 0, restart=True)
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
        newcomer = bool(set(track_ids.tolist()) - set(live))
        if periodic:
            self._back_off(newcomer=newcomer)
        lost_ids = self._lost_ids(live, propagated, propagated_hints[: len(live)], pipeline.min_score)
        # Lost people stay missing until a pose joins their track again, or the tracker drops it.
        self._missing = {
            track_id
            for track_id in (self._missing | lost_ids) - set(track_ids.tolist())
            if track_id in self.tracker.tracks
        }
        # Rejected detections stay unresolved until someone is kept where they were.
        self._rejected = rejected if detected else self._rejected
        self._rejected = self._rejected[_outside(self._rejected, boxes)]
        if detected:
            unresolved = bool(self._missing) or len(self._rejected) > 0
            self._schedule_retry(frame_index, unresolved, restart=lost or newcomer)
        pairs = zip(track_ids.tolist(), kept_states, strict=True)
        self._states = {int(track_id): state for track_id, state in pairs if state is not None}
        self._last_seen.update({track_id: (frame_index, state) for track_id, state in self._states.items()})
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

    def _drop_covered(
        self,
        propagated: PoseInstances,
        hints: list[int],
        states: list[np.ndarray | None],
        num_live: int,
        min_score: float,
    ) -> tuple[PoseInstances, list[int], list[np.ndarray | None]]:
        """Drop the coasting poses (rows from ``num_live`` on) that overlap a live person's pose.

        Someone tracked is now where the lost person was last seen (they walked in front, or the
        lost person was found again under a new track): the lost track stops coasting, so that its
        region can neither take over the live person nor cost more landmark runs.
        """
        scores = propagated.instance_scores
        if scores is None or propagated.boxes is None or num_live == len(propagated):
            return propagated, hints, states
        boxes = np.asarray(propagated.boxes, np.float64)
        present = np.flatnonzero(scores[:num_live] >= min_score)
        covered = np.zeros(len(propagated) - num_live, bool)
        if present.size:
            covered = np.asarray(
                (box_iou(boxes[num_live:], boxes[present]) > COAST_MAX_IOU).any(axis=1)
            )  # (C, P) -> (C,)
        for row in np.flatnonzero(covered).tolist():
            self._last_seen.pop(hints[num_live + row], None)
        keep = np.concatenate([np.arange(num_live), num_live + np.flatnonzero(~covered)])
        return propagated[keep], [hints[row] for row in keep.tolist()], [states[row] for row in keep.tolist()]

    def _coasting(self, frame_index: int, live: Sequence[int]) -> list[int]:
        """Tracks lost at most ``coast_frames`` frames ago, to look for again where they were last seen."""
        self._last_seen = {
            track_id: seen
            for track_id, seen in self._last_seen.items()
            if frame_index - seen[0] <= self.coast_frames and track_id in self.tracker.tracks
        }
        candidates = [track_id for track_id in self._last_seen if track_id not in live and track_id not in self._states]
        if not candidates or not live:
            return candidates
        # Not where a tracked person now is (someone walked in front, or they were found under a new id).
        last = np.stack([self.tracker.tracks[track_id].box for track_id in candidates]).astype(np.float64)
        now = np.stack([self.tracker.tracks[track_id].box for track_id in live]).astype(np.float64)
        covered = np.asarray((box_iou(last, now) > COAST_MAX_IOU).any(axis=1), bool)  # (C, L) -> (C,)
        return [track_id for track_id, hidden in zip(candidates, list(covered), strict=True) if not hidden]

    @staticmethod
    def _lost_ids(
        live: Sequence[int], propagated: PoseInstances | None, hints: Sequence[int], min_score: float
    ) -> set[int]:
        """Track ids of the live people not found again by propagation in this frame."""
        if propagated is None or not live:
            return set()
        if len(hints) == len(live) and all(hint >= 0 for hint in hints):  # one pose per track, same order
            scores = propagated.instance_scores
            if scores is None:
                return set()
            return {
                track_id
                for track_id, score in zip(hints, scores[: len(live)].tolist(), strict=True)
                if score < min_score
            }
        return set(live)  # generic estimators: any live track not matched again is lost

    def _schedule_retry(self, frame_index: int, unresolved: bool, restart: bool) -> None:
        """After a detection frame: plan a retry 1, 2, 4, ... frames later while someone is unresolved."""
        if not self.retry_unresolved or not unresolved:
            self._retry_delay, self._retry_at = 0, None
            return
        limit = self.redetect_max_every or self.redetect_every
        delay = 1 if restart or self._retry_delay == 0 else 2 * self._retry_delay
        if limit is not None and delay >= limit:  # the periodic re-detection comes as soon
            self._retry_delay, self._retry_at = delay, None
            return
        self._retry_delay, self._retry_at = delay, frame_index + delay

    def _back_off(self, newcomer: bool) -> None:
        """After a periodic re-detection: back to the base interval on a newcomer, else double it."""
        if self.redetect_max_every is None or self._interval is None:
            return
        self._interval = self.redetect_every if newcomer else min(2 * self._interval, self.redetect_max_every)

    def run(self, frames: Sequence[tuple[int, float, np.ndarray]]) -> list[PoseInstances]:
        """Process a whole list of ``(index, timestamp, image)`` frames from a fresh start."""
        self.reset()
        return [self(image, index, timestamp) for index, timestamp, image in frames]
