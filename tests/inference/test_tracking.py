"""PoseTracker: stable ids for crossing people, re-entry, new people; duplicate suppression."""

from __future__ import annotations

import numpy as np
import pytest

from posekit.inference.tracking import PoseTracker, suppress_duplicates

# A 5-keypoint stick person (head, shoulders, feet) about 100 px tall, centred at the origin.
TEMPLATE = np.array([[0, -50], [-15, -30], [15, -30], [-10, 50], [10, 50]], np.float64)


def person(x: float, y: float = 200.0, wiggle: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    keypoints = TEMPLATE + np.array([x, y]) + wiggle
    box = np.concatenate([keypoints.min(0), keypoints.max(0)])
    return keypoints, box


def frame(*centres: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    people = [person(x) for x in centres]
    keypoints = np.stack([k for k, _ in people]) if people else np.zeros((0, 5, 2))
    boxes = np.stack([b for _, b in people]) if people else np.zeros((0, 4))
    return boxes, keypoints, np.ones(len(people))


def test_two_people_crossing_keep_their_ids() -> None:
    tracker = PoseTracker(max_age=5)
    ids_of_left_walker = []
    ids_of_right_walker = []
    for index in range(40):
        left_walker = 100.0 + 12.0 * index  # walks right
        right_walker = 568.0 - 12.0 * index  # walks left; they cross at index 19.5
        # Input order changes every frame, so ids cannot come from the order.
        order = [left_walker, right_walker] if index % 2 else [right_walker, left_walker]
        boxes, keypoints, scores = frame(*order)
        ids = tracker.update(index, boxes, keypoints, scores)
        by_position = dict(zip(order, ids.tolist(), strict=True))
        ids_of_left_walker.append(by_position[left_walker])
        ids_of_right_walker.append(by_position[right_walker])
    assert set(ids_of_left_walker) == {ids_of_left_walker[0]}
    assert set(ids_of_right_walker) == {ids_of_right_walker[0]}
    assert ids_of_left_walker[0] != ids_of_right_walker[0]


def test_person_leaving_and_reentering_within_max_age_keeps_id_and_new_person_gets_new_id() -> None:
    tracker = PoseTracker(max_age=10)
    first = tracker.update(0, *frame(100.0, 400.0))
    assert first.tolist() == [0, 1]
    tracker.update(1, *frame(100.0, 402.0))
    for index in range(2, 7):  # person 1 is out of view for 5 frames
        assert tracker.update(index, *frame(100.0)).tolist() == [0]
    back = tracker.update(7, *frame(100.0, 402.0))
    assert back.tolist() == [0, 1]
    newcomer = tracker.update(8, *frame(100.0, 402.0, 250.0))
    assert newcomer.tolist() == [0, 1, 2]


def test_tracks_older_than_max_age_are_dropped() -> None:
    tracker = PoseTracker(max_age=3)
    tracker.update(0, *frame(100.0))
    for index in range(1, 6):
        tracker.update(index, *frame())
    assert tracker.update(6, *frame(100.0)).tolist() == [1]
    assert list(tracker.tracks) == [1]


def test_hints_keep_propagated_ids_and_iou_mode_matches_boxes() -> None:
    tracker = PoseTracker(similarity="iou")
    tracker.update(0, *frame(100.0, 300.0))
    boxes, keypoints, scores = frame(300.0, 100.0)
    ids = tracker.update(1, boxes, keypoints, scores, track_hints=np.array([-1, 0]))
    assert ids.tolist() == [1, 0]
    assert [track.track_id for track in tracker.live_tracks(2)] == [0, 1]
    with pytest.raises(ValueError, match="must be 'oks' or 'iou'"):
        PoseTracker(similarity="l2")


def test_suppress_duplicates_keeps_the_better_of_two_poses_on_one_person() -> None:
    boxes, keypoints, _ = frame(100.0, 103.0, 300.0)
    keep = suppress_duplicates(keypoints, boxes, np.array([0.6, 0.9, 0.8]))
    assert keep.tolist() == [1, 2]
    # Equal scores: the priority (e.g. an established track) decides.
    keep = suppress_duplicates(keypoints[:2], boxes[:2], np.array([0.9, 0.9]), priority=np.array([0.0, 1.0]))
    assert keep.tolist() == [1]
