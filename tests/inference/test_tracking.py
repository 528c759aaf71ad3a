"""PoseTracker: stable ids for crossing people, re-entry, new people; duplicate suppression."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from posekit.inference.tracking import PoseTracker, min_cost_assignment, suppress_duplicates

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


def test_min_cost_assignment_by_hand_and_against_scipy() -> None:
    from scipy.optimize import linear_sum_assignment

    # Greedy would take (0, 0) = 1 and then pay 10 for row 1; the optimum crosses over: 2 + 3.
    rows, columns = min_cost_assignment(np.array([[1.0, 2.0], [3.0, 10.0]]))
    assert rows.tolist() == [0, 1] and columns.tolist() == [1, 0]
    rows, columns = min_cost_assignment(np.array([[5.0], [1.0], [3.0]]))  # more rows than columns
    assert rows.tolist() == [1] and columns.tolist() == [0]
    assert [array.shape for array in min_cost_assignment(np.zeros((0, 3)))] == [(0,), (0,)]
    generator = np.random.default_rng(0)
    for _ in range(300):
        shape = tuple(generator.integers(1, 8, 2))
        cost = generator.normal(size=shape)  # continuous costs: the optimum is unique
        rows, columns = min_cost_assignment(cost)
        expected_rows, expected_columns = linear_sum_assignment(cost)
        np.testing.assert_array_equal(rows, expected_rows)
        np.testing.assert_array_equal(columns, expected_columns)
        tied = generator.integers(0, 3, shape).astype(np.float64)  # ties: any optimum, same total
        rows, columns = min_cost_assignment(tied)
        expected_rows, expected_columns = linear_sum_assignment(tied)
        assert len(set(rows.tolist())) == len(set(columns.tolist())) == min(shape)
        assert tied[rows, columns].sum() == tied[expected_rows, expected_columns].sum()
    with pytest.raises(ValueError, match="finite"):
        min_cost_assignment(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="shape"):
        min_cost_assignment(np.zeros(3))


def test_tracking_does_not_import_scipy_optimize() -> None:
    # scipy.optimize takes 0.3-0.5 s to import: a noticeable part of a short `posekit predict` run.
    script = (
        "import sys, numpy as np\n"
        "from posekit.inference.tracking import PoseTracker\n"
        "tracker = PoseTracker()\n"
        "points = np.zeros((1, 5, 2)) + [[10.0, 10.0]]\n"
        "tracker.update(0, np.array([[0.0, 0, 20, 20]]), points, np.ones(1))\n"
        "ids = tracker.update(2, np.array([[1.0, 0, 21, 20]]), points + 1, np.ones(1))\n"
        "assert ids.tolist() == [0], ids\n"
        "print('scipy.optimize' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
