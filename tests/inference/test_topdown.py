"""Top-down pipeline, box-file detector and video tracking on real sample images."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from posekit.inference.blazepose.estimator import BlazePoseEstimator, box_rois
from posekit.inference.box_file import BoxFileDetector
from posekit.inference.detections import PersonDetections, box_detections
from posekit.inference.tiling import TiledPersonDetector
from posekit.inference.topdown import (
    TopDownPipeline,
    TrackedDetectionFilter,
    build_blazepose_pipeline,
    default_num_threads,
)
from posekit.inference.video import VideoPosePipeline
from posekit.io.images import read_image
from posekit.structures import PoseInstances


@pytest.fixture(scope="module")
def blazepose() -> TopDownPipeline:
    return build_blazepose_pipeline(min_score=0.3)


def test_real_image_gives_people_in_image_coordinates_sorted_by_score(
    shared_data: Path, blazepose: TopDownPipeline
) -> None:
    image = read_image(shared_data / "coco_val2014_images" / "COCO_val2014_000000000241.jpg")
    instances = blazepose(image)
    assert instances.skeleton == "blazepose" and len(instances) >= 2
    assert instances.instance_scores is not None and instances.boxes is not None
    assert np.all(np.diff(instances.instance_scores) <= 0)
    height, width = image.shape[:2]
    confident = instances.scores > 0.5
    xy = instances.keypoints[confident]
    assert np.all((xy[:, 0] > -0.05 * width) & (xy[:, 0] < 1.05 * width) & (xy[:, 1] < 1.05 * height))
    coco = instances.convert("coco")
    # Every person is upright: nose above hips above ankles.
    assert np.all(coco.keypoints[:, 0, 1] < coco.keypoints[:, 11, 1])
    assert np.all(coco.keypoints[:, 11, 1] < coco.keypoints[:, 15, 1])
    # Each box lies within the image.
    assert np.all(instances.boxes >= 0) and np.all(instances.boxes[:, 2] <= width)


def test_box_file_detector_by_id_and_file_name(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "crowdpose"
    detector = BoxFileDetector(folder / "test_crowdpose_det_AP_40.json", images_path=folder / "test_crowdpose.json")
    entries = json.loads((folder / "test_crowdpose_det_AP_40.json").read_text())
    expected = [entry for entry in entries if entry["image_id"] == 106848]
    by_id = detector.lookup(106848, (640, 425))
    by_name = detector.lookup("some/folder/106848.jpg", (640, 425))
    assert len(by_id) == len(expected) == len(by_name)
    best = max(expected, key=lambda entry: entry["score"])
    x, y, w, h = best["bbox"]
    np.testing.assert_allclose(by_id.boxes[0], [x, y, x + w, y + h], rtol=1e-6)
    assert np.all(np.diff(by_id.scores) <= 0) and np.isnan(by_id.keypoints).all()
    assert len(detector.lookup("unknown.jpg", (10, 10))) == 0
    strict = BoxFileDetector(folder / "test_crowdpose_det_AP_40.json", min_score=0.9999)
    assert len(strict.lookup(106848, (640, 425))) == sum(entry["score"] >= 0.9999 for entry in expected)
    bad = tmp_path / "bad.json"
    bad.write_text('[{"bbox": [1, 2, 3, 4]}]')
    with pytest.raises(ValueError, match="entry 0 needs 'image_id'"):
        BoxFileDetector(bad)


def test_boxes_from_a_file_drive_blazepose(shared_data: Path, blazepose: TopDownPipeline) -> None:
    folder = shared_data / "crowdpose"
    detector = BoxFileDetector(folder / "test_crowdpose_det_AP_40.json", min_score=0.5)
    image = read_image(folder / "106848.jpg")
    detections = detector.lookup(106848, (image.shape[1], image.shape[0]))
    instances = blazepose(image, detections=detections)
    assert len(instances) >= 1
    # Each pose's hips lie inside one of the given boxes.
    hips = instances.convert("coco").keypoints[:, 11:13].mean(axis=1)
    boxes = detections.boxes
    inside = (hips[:, None, 0] >= boxes[None, :, 0]) & (hips[:, None, 0] <= boxes[None, :, 2])
    inside &= (hips[:, None, 1] >= boxes[None, :, 1]) & (hips[:, None, 1] <= boxes[None, :, 3])
    assert inside.any(axis=1).all()


def test_box_rois_are_upright_squares_around_the_box() -> None:
    rois = box_rois(np.array([[10.0, 20.0, 50.0, 120.0]]))
    np.testing.assert_allclose(rois.center, [[30.0, 70.0]])
    np.testing.assert_allclose(rois.size, [[125.0, 125.0]])
    assert rois.rotation.tolist() == [0.0]


class _FixedDetector:
    def detect(self, image: np.ndarray) -> PersonDetections:
        boxes = np.array([[0, 0, 10, 10], [50, 0, 60, 10], [51, 0, 61, 10], [90, 0, 99, 10]], np.float32)
        return box_detections(boxes, np.array([0.9, 0.8, 0.7, 0.6]), (100, 20))


class _BoxCornerEstimator:
    """A stand-in single-person model: a 17-keypoint 'pose' spread over each box, score = detection score."""

    def estimate(self, image: np.ndarray, detections: PersonDetections) -> PoseInstances:
        count = len(detections)
        fractions = np.linspace(0.0, 1.0, 17)[None, :, None]  # (1, 17, 1)
        low, high = detections.boxes[:, None, :2], detections.boxes[:, None, 2:]  # (N, 1, 2)
        points = low + fractions * (high - low)  # (N, 17, 2)
        return PoseInstances(
            keypoints=points,
            scores=np.ones((count, 17), np.float32),
            skeleton="coco",
            boxes=detections.boxes,
            instance_scores=detections.scores[::-1].copy(),  # reversed on purpose: the pipeline sorts
        )


def test_top_down_pipeline_filters_sorts_deduplicates_and_caps() -> None:
    image = np.zeros((20, 100, 3), np.uint8)
    pipeline = TopDownPipeline(_FixedDetector(), _BoxCornerEstimator(), min_score=0.65)
    instances = pipeline(image)
    # Scores after the estimator: [0.6, 0.7, 0.8, 0.9]; 0.6 is dropped, boxes 1 and 2 are one person.
    assert instances.instance_scores is not None
    np.testing.assert_allclose(instances.instance_scores, [0.9, 0.8])
    np.testing.assert_allclose(instances.boxes[:, 0], [90, 51])
    capped = TopDownPipeline(_FixedDetector(), _BoxCornerEstimator(), max_people=1, min_score=0.0)(image)
    assert len(capped) == 1
    with pytest.raises(ValueError, match="max_people"):
        TopDownPipeline(_FixedDetector(), _BoxCornerEstimator(), max_people=0)


def test_video_pipeline_keeps_ids_and_skips_the_detector_while_tracking(
    shared_data: Path, blazepose: TopDownPipeline
) -> None:
    clip = sorted((shared_data / "posetrack18" / "videos" / "000001_mpiinew_test").glob("*.jpg"))
    video = VideoPosePipeline(blazepose, redetect_every=100)
    results = [video(read_image(path), index, index / 25.0) for index, path in enumerate(clip)]
    assert len(results[0]) >= 1
    first_ids = set(results[0].track_ids.tolist())
    for instances in results[1:]:
        assert instances.track_ids is not None and set(instances.track_ids.tolist()) <= first_ids | {max(first_ids) + 1}
    assert first_ids <= set(results[-1].track_ids.tolist())
    assert video.detector_runs < len(clip)


def test_person_detections_select_keeps_the_image_size() -> None:
    detections = box_detections(np.array([[0, 0, 10, 10], [5, 5, 20, 30]], np.float32), np.array([0.9, 0.4]), (40, 30))
    chosen = detections.select(np.array([1]))
    assert len(chosen) == 1 and chosen.image_size == (40, 30)
    np.testing.assert_array_equal(chosen.boxes, [[5, 5, 20, 30]])
    assert len(detections.select(np.array([False, False]))) == 0


def test_tracked_detections_match_the_roi_that_tracking_predicts(blazepose: TopDownPipeline) -> None:
    adapter = blazepose.estimator
    assert isinstance(adapter, BlazePoseEstimator) and isinstance(adapter, TrackedDetectionFilter)
    state = np.zeros((6, 3), np.float32)
    state[0, :2], state[1, :2] = (100, 200), (100, 120)  # ROI centre (100, 200), side 2 * 80 * 1.25 = 200
    keypoints = np.full((5, 4, 2), np.nan, np.float32)
    keypoints[0, :2] = [[105, 200], [105, 120]]  # 5 px away, same size: the tracked person
    keypoints[1, :2] = [[150, 200], [150, 120]]  # 50 px away (0.25 side): someone else
    keypoints[2, :2] = [[100, 200], [100, 20]]  # same centre, side 450 (2.25x): someone else
    keypoints[3, :2] = [[100, 219], [100, 139]]  # 19 px away (< 0.1 side)
    keypoints[:4, 2:] = 0.0  # the ROI uses points 0 and 1; the others only need to be finite
    boxes = np.zeros((5, 4), np.float32)
    boxes[4] = [40, 120, 160, 280]  # no alignment points: the box ROI, centre (100, 200), side 160 * 1.25
    detections = PersonDetections(
        boxes=boxes, scores=np.full(5, 0.9, np.float32), keypoints=keypoints, image_size=(640, 480)
    )
    assert adapter.tracked_detections(detections, [state]).tolist() == [True, False, False, True, True]
    lost = np.full((6, 3), np.nan, np.float32)
    assert adapter.tracked_detections(detections, [lost]).tolist() == [False] * 5
    assert adapter.tracked_detections(detections, []).tolist() == [False] * 5
    assert adapter.tracked_detections(detections, [state], max_center_distance=0.01).tolist() == [False] * 4 + [True]
    with pytest.raises(ValueError, match="max_size_ratio"):
        adapter.tracked_detections(detections, [state], max_size_ratio=0.5)


class _StandingPeopleDetector:
    """People standing still at fixed x positions (a third one walks in at frame 3)."""

    def __init__(self, walk_in: int = 3) -> None:
        self.frame = 0
        self.walk_in = walk_in
        self.detected_on: list[int] = []

    def detect(self, image: np.ndarray) -> PersonDetections:
        self.detected_on.append(self.frame)
        centres = [50.0, 150.0] + ([250.0] if self.frame >= self.walk_in else [])
        boxes = np.array([[x - 20, 0, x + 20, 100] for x in centres], np.float32)
        return box_detections(boxes, np.full(len(centres), 0.9), (300, 100))


class _StandingPeopleEstimator:
    """A tracking estimator stand-in: a 17-point pose spread over each box; the state is the box."""

    def __init__(self) -> None:
        self.estimated = 0

    def _poses(self, boxes: np.ndarray) -> PoseInstances:
        fractions = np.linspace(0.0, 1.0, 17)[None, :, None]  # (1, 17, 1)
        points = boxes[:, None, :2] + fractions * (boxes[:, None, 2:] - boxes[:, None, :2])  # (N, 17, 2)
        count = boxes.shape[0]
        return PoseInstances(
            keypoints=points.astype(np.float32),
            scores=np.ones((count, 17), np.float32),
            skeleton="coco",
            boxes=boxes.astype(np.float32),
            instance_scores=np.full(count, 0.9, np.float32),
        )

    def estimate_with_state(
        self, image: np.ndarray, detections: PersonDetections
    ) -> tuple[PoseInstances, list[np.ndarray]]:
        self.estimated += len(detections)
        return self._poses(detections.boxes), list(detections.boxes)

    def estimate(self, image: np.ndarray, detections: PersonDetections) -> PoseInstances:
        return self.estimate_with_state(image, detections)[0]

    def propagate(self, image: np.ndarray, states: Sequence[np.ndarray]) -> tuple[PoseInstances, list[np.ndarray]]:
        boxes = np.stack(states) if len(states) else np.zeros((0, 4), np.float32)
        return self._poses(boxes), list(boxes)

    def tracked_detections(self, detections: PersonDetections, states: Sequence[np.ndarray]) -> np.ndarray:
        centres = (detections.boxes[:, :2] + detections.boxes[:, 2:]) / 2  # (N, 2)
        tracked = np.stack([(state[:2] + state[2:]) / 2 for state in states])  # (M, 2)
        return np.asarray((np.linalg.norm(centres[:, None] - tracked[None], axis=-1) < 5).any(axis=1))


def test_video_pipeline_skips_tracked_people_before_estimating() -> None:
    image = np.zeros((100, 300, 3), np.uint8)
    results = {}
    for skip in (True, False):
        detector, estimator = _StandingPeopleDetector(), _StandingPeopleEstimator()
        video = VideoPosePipeline(
            TopDownPipeline(detector, estimator, min_score=0.5), redetect_every=2, skip_tracked_detections=skip
        )
        ids = []
        for index in range(6):
            detector.frame = index
            instances = video(image, index, index / 25.0)
            assert instances.track_ids is not None
            ids.append(sorted(instances.track_ids.tolist()))
        results[skip] = (ids, estimator.estimated, video.skipped_detections, video.estimator_runs, video.detector_runs)
    ids, estimated, skipped, runs, detector_runs = results[True]
    assert ids == [[0, 1], [0, 1], [0, 1], [0, 1], [0, 1, 2], [0, 1, 2]]
    assert detector_runs == 3  # frames 0, 2, 4
    # Frame 0 estimates both people; frames 2 and 4 only the newcomer (walked in at frame 3, seen at 4).
    assert estimated == 3 and skipped == 4
    assert runs == 3 + 2 * 4 + 3  # estimated detections + propagated people (2 in frames 1-4, 3 in frame 5)
    # Without skipping, the same ids; the duplicates are estimated, then removed by OKS.
    assert results[False][0] == ids and results[False][1] == estimated + skipped and results[False][2] == 0


def test_video_pipeline_backs_off_re_detection_until_someone_new_walks_in() -> None:
    image = np.zeros((100, 300, 3), np.uint8)
    detector = _StandingPeopleDetector(walk_in=9)
    video = VideoPosePipeline(
        TopDownPipeline(detector, _StandingPeopleEstimator(), min_score=0.5), redetect_every=2, redetect_max_every=8
    )
    counts = []
    for index in range(25):
        detector.frame = index
        counts.append(len(video(image, index, index / 25.0)))
    # Intervals 2, 4, 8 while nobody new appears; the newcomer (in from frame 9) is found at frame 14,
    # which resets the interval to 2, then it grows again: 16, 20, (28).
    assert detector.detected_on == [0, 2, 6, 14, 16, 20] and video.detector_runs == 6
    assert counts[13] == 2 and counts[14] == 3
    fixed_detector = _StandingPeopleDetector(walk_in=9)
    fixed = VideoPosePipeline(
        TopDownPipeline(fixed_detector, _StandingPeopleEstimator(), min_score=0.5), redetect_every=2
    )
    for index in range(25):
        fixed_detector.frame = index
        fixed(image, index, index / 25.0)
    assert fixed_detector.detected_on == list(range(0, 25, 2))
    # A new video starts again from the base interval.
    detector.detected_on.clear()
    for index in range(5):
        detector.frame = index
        video(image, index, index / 25.0)
    assert detector.detected_on == [0, 2]
    with pytest.raises(ValueError, match="redetect_max_every"):
        VideoPosePipeline(
            TopDownPipeline(detector, _StandingPeopleEstimator()), redetect_every=10, redetect_max_every=5
        )


def test_video_pipeline_does_not_estimate_a_tracked_person_twice(shared_data: Path, blazepose: TopDownPipeline) -> None:
    clip = sorted((shared_data / "posetrack18" / "videos" / "000001_mpiinew_test").glob("*.jpg"))[:5]
    images = [read_image(path) for path in clip]
    runs = {}
    for skip in (True, False):
        video = VideoPosePipeline(blazepose, redetect_every=1, skip_tracked_detections=skip)
        ids = [video(image, index, index / 25.0).track_ids.tolist() for index, image in enumerate(images)]
        runs[skip] = (ids, video.estimator_runs, video.skipped_detections, video.detector_runs)
    assert runs[True][0] == runs[False][0] and len(runs[True][0][0]) >= 1
    assert runs[True][3] == runs[False][3] == len(images)  # the detector ran on every frame in both
    assert runs[True][2] >= 1 and runs[True][1] == runs[False][1] - runs[True][2]


def test_default_threads_follow_the_cores_this_process_may_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0}, raising=False)
    assert default_num_threads() == 1
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(16)), raising=False)
    assert default_num_threads() == 4


def test_a_new_video_restarts_the_tiling_schedule() -> None:
    detector = TiledPersonDetector(_StandingPeopleDetector(), tiles="auto", max_levels=1, tile_every=3)
    video = VideoPosePipeline(TopDownPipeline(detector, _StandingPeopleEstimator(), min_score=0.5), redetect_every=2)
    image = np.zeros((100, 300, 3), np.uint8)
    for index in range(5):
        video(image, index, index / 25.0)
    assert detector.calls == 3  # frames 0, 2, 4
    video(image, 0, 0.0)  # frame 0 again: a new video, whose first detection must be the tiled one
    assert detector.calls == 1


class _DroppingEstimator(_StandingPeopleEstimator):
    """Gives instance score 0 to the people for whom :meth:`dropped` is true on the current frame."""

    def __init__(self) -> None:
        super().__init__()
        self.frame = 0

    def dropped(self, centre_x: np.ndarray) -> np.ndarray:
        """``(N,)`` bool: which people, by box centre x, get score 0 now (here: nobody)."""
        return np.zeros(len(centre_x), bool)

    def _poses(self, boxes: np.ndarray) -> PoseInstances:
        poses = super()._poses(boxes)
        assert poses.instance_scores is not None
        centre_x = (boxes[:, 0] + boxes[:, 2]) / 2 if len(boxes) else np.zeros(0)
        return PoseInstances(
            keypoints=poses.keypoints,
            scores=poses.scores,
            skeleton=poses.skeleton,
            boxes=poses.boxes,
            instance_scores=np.where(self.dropped(centre_x), 0.0, poses.instance_scores).astype(np.float32),
        )


class _LateLandmarksEstimator(_DroppingEstimator):
    """Rejects (instance score 0) the person at x = 250 before frame ``accept_from``, as a landmark
    model whose presence check fails on a few noisy frames."""

    def __init__(self, accept_from: int) -> None:
        super().__init__()
        self.accept_from = accept_from

    def dropped(self, centre_x: np.ndarray) -> np.ndarray:
        return (np.abs(centre_x - 250.0) < 1) & (self.frame < self.accept_from)


def _run_late(retry: bool, frames: int = 12) -> tuple[list[int], list[int]]:
    image = np.zeros((100, 300, 3), np.uint8)
    detector, estimator = _StandingPeopleDetector(walk_in=0), _LateLandmarksEstimator(accept_from=2)
    video = VideoPosePipeline(
        TopDownPipeline(detector, estimator, min_score=0.5),
        redetect_every=10,
        redetect_max_every=40,
        retry_unresolved=retry,
    )
    counts = []
    for index in range(frames):
        detector.frame = estimator.frame = index
        counts.append(len(video(image, index, index / 25.0)))
    return counts, detector.detected_on


def test_video_pipeline_retries_a_detection_whose_pose_was_rejected() -> None:
    # Three people from frame 0; the third one's pose is rejected on frames 0 and 1 (a presence
    # check failing on a compressed frame). The retry runs the detector again at frames 1 and 3
    # (delays 1, 2) and finds them at frame 3, not at the periodic re-detection of frame 10 (a
    # retry is a detection: the next periodic one comes 10 frames after it, at 13).
    counts, detected_on = _run_late(retry=True)
    assert detected_on == [0, 1, 3]
    assert counts == [2, 2, 2] + [3] * 9
    counts, detected_on = _run_late(retry=False)
    assert detected_on == [0, 10] and counts == [2] * 10 + [3] * 2


class _VanishingEstimator(_DroppingEstimator):
    """Loses the person at x = 150 (propagation and detection ROIs alike) on frames in ``gone``."""

    def __init__(self, gone: set[int]) -> None:
        super().__init__()
        self.gone = gone

    def dropped(self, centre_x: np.ndarray) -> np.ndarray:
        return (np.abs(centre_x - 150.0) < 1) & (self.frame in self.gone)


def test_video_pipeline_retries_after_losing_someone_it_did_not_find_again() -> None:
    image = np.zeros((100, 300, 3), np.uint8)
    found = {}
    for retry in (True, False):
        detector, estimator = _StandingPeopleDetector(walk_in=100), _VanishingEstimator(gone={4, 5})
        video = VideoPosePipeline(
            TopDownPipeline(detector, estimator, min_score=0.5),
            redetect_every=10,
            retry_unresolved=retry,
            coast_frames=0,
        )
        ids = []
        for index in range(12):
            detector.frame = estimator.frame = index
            instances = video(image, index, index / 25.0)
            assert instances.track_ids is not None
            ids.append(sorted(instances.track_ids.tolist()))
        found[retry] = (ids, detector.detected_on)
    # Lost at frame 4 (the re-detection there fails too): retried at 5 (still gone), then 7.
    ids, detected_on = found[True]
    assert detected_on == [0, 4, 5, 7] and ids[6] == [0] and ids[7] == [0, 1]
    # Without the retry the person comes back only at the periodic re-detection (frame 14).
    ids, detected_on = found[False]
    assert detected_on == [0, 4] and all(frame == [0] for frame in ids[4:])


def test_video_pipeline_looks_for_a_lost_person_where_they_were_last_seen() -> None:
    image = np.zeros((100, 300, 3), np.uint8)
    detector, estimator = _StandingPeopleDetector(walk_in=100), _VanishingEstimator(gone={4, 5})
    video = VideoPosePipeline(TopDownPipeline(detector, estimator, min_score=0.5), redetect_every=10, coast_frames=3)
    ids = []
    for index in range(9):
        detector.frame = estimator.frame = index
        instances = video(image, index, index / 25.0)
        assert instances.track_ids is not None
        ids.append(sorted(instances.track_ids.tolist()))
    # Gone on frames 4 and 5; on frame 6 the landmark run in the region of their last pose (frame 3)
    # finds them again, under their own track id, before the retry detection of frame 7.
    assert ids[3] == [0, 1] and ids[4] == ids[5] == [0] and ids[6] == [0, 1]
    assert detector.detected_on == [0, 4, 5]
    # Looked for on frames 4 (propagation), 5 and 6 (coasting): 2 + 2 + 2 + 2 pose runs in frames 4-6.
    with pytest.raises(ValueError, match="coast_frames"):
        VideoPosePipeline(TopDownPipeline(detector, estimator), coast_frames=-1)


class _StepInFrontEstimator(_VanishingEstimator):
    """As ``_VanishingEstimator``; on frame ``step`` the track at x = 50 jumps to x = 160."""

    def __init__(self, gone: set[int], step: int) -> None:
        super().__init__(gone)
        self.step = step

    def propagate(self, image: np.ndarray, states: Sequence[np.ndarray]) -> tuple[PoseInstances, list[np.ndarray]]:
        boxes = np.stack(states).copy() if len(states) else np.zeros((0, 4), np.float32)
        if self.frame == self.step:
            at_50 = np.abs((boxes[:, 0] + boxes[:, 2]) / 2 - 50.0) < 1
            boxes[at_50] += np.array([110, 0, 110, 0], np.float32)
        return self._poses(boxes), list(boxes)


def test_a_lost_person_is_not_coasted_where_someone_tracked_now_stands() -> None:
    image = np.zeros((100, 300, 3), np.uint8)
    runs = {}
    for coast in (5, 0):
        detector, estimator = _StandingPeopleDetector(walk_in=100), _StepInFrontEstimator(gone={4, 5, 6, 7}, step=4)
        video = VideoPosePipeline(
            TopDownPipeline(detector, estimator, min_score=0.5), redetect_every=100, coast_frames=coast
        )
        ids = []
        for index in range(8):
            detector.frame = estimator.frame = index
            instances = video(image, index, index / 25.0)
            assert instances.track_ids is not None
            ids.append(sorted(instances.track_ids.tolist()))
        runs[coast] = (video.estimator_runs, ids, detector.detected_on)
    # Frame 4: track 0 jumps onto the region of track 1 (x = 150), who is lost; the detector finds
    # the person still at x = 50 (a new track). Track 1's last region now holds track 0, so it is
    # not coasted: the same landmark runs and tracks as without coasting.
    assert runs[5] == runs[0]
    assert all(1 not in frame for frame in runs[5][1][4:])
