"""draw_poses: side colours, score threshold, boxes and ids, input checks."""

from __future__ import annotations

import numpy as np
import pytest

from posekit.structures import PoseInstances
from posekit.viz.draw import CENTER_COLOR, LEFT_COLOR, RIGHT_COLOR, draw_poses, track_color


def coco_person(scores: float = 1.0) -> PoseInstances:
    keypoints = np.zeros((1, 17, 2), np.float32)
    keypoints[0, :, 0] = np.linspace(40, 160, 17)
    keypoints[0, :, 1] = np.linspace(30, 170, 17)
    keypoints[0, 5] = (60, 60)  # left shoulder
    keypoints[0, 7] = (60, 120)  # left elbow (link left_shoulder-left_elbow is vertical at x = 60)
    keypoints[0, 6] = (140, 60)  # right shoulder
    keypoints[0, 8] = (140, 120)  # right elbow
    return PoseInstances(
        keypoints=keypoints,
        scores=np.full((1, 17), scores, np.float32),
        skeleton="coco",
        boxes=np.array([[20, 20, 180, 180]], np.float32),
        track_ids=np.array([3]),
    )


def test_links_are_coloured_by_side_and_boxes_by_track() -> None:
    image = np.zeros((200, 200, 3), np.uint8)
    drawn = draw_poses(image, coco_person())
    assert drawn.shape == image.shape and drawn.dtype == np.uint8 and drawn is not image
    assert image.max() == 0  # the input is not modified
    # Anti-aliased 1-pixel lines: the brightest pixel across the left arm has the left colour's hue.
    across = drawn[90, 55:66].astype(float)
    brightest = across[across.sum(axis=1).argmax()]
    np.testing.assert_allclose(brightest / brightest.max(), np.array(LEFT_COLOR) / 255, atol=0.1)
    # Larger images get thicker lines, whose centres carry the exact colours.
    person = coco_person()
    large = PoseInstances(
        keypoints=person.keypoints * 4, scores=person.scores, skeleton="coco", boxes=person.boxes * 4,
        track_ids=person.track_ids,
    )  # fmt: skip
    drawn = draw_poses(np.zeros((800, 800, 3), np.uint8), large)
    assert tuple(drawn[360, 240]) == LEFT_COLOR  # middle of the left upper arm
    assert tuple(drawn[360, 560]) == RIGHT_COLOR
    assert tuple(drawn[240, 400]) == CENTER_COLOR  # shoulder-to-shoulder link crosses the body
    assert tuple(drawn[400, 80]) == track_color(3)  # left edge of the box


def test_low_scores_are_hidden_and_boxes_optional() -> None:
    image = np.zeros((200, 200, 3), np.uint8)
    drawn = draw_poses(image, coco_person(scores=0.1), min_score=0.3, draw_boxes=False, draw_track_ids=False)
    assert drawn.max() == 0
    shown = draw_poses(image, coco_person(scores=0.1), min_score=0.05, draw_boxes=False, draw_track_ids=False)
    assert shown.max() > 0


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8"):
        draw_poses(np.zeros((10, 10), np.uint8), coco_person())
    with pytest.raises(ValueError, match="skeleton 'blazepose'"):
        draw_poses(np.zeros((10, 10, 3), np.uint8), coco_person(), skeleton="blazepose")


def test_coordinates_far_outside_and_empty_sets_do_not_fail() -> None:
    person = coco_person()
    far = PoseInstances(
        keypoints=person.keypoints * 1e7, scores=person.scores, skeleton="coco", boxes=person.boxes * 1e7
    )
    assert draw_poses(np.zeros((50, 60, 3), np.uint8), far).shape == (50, 60, 3)
    empty = PoseInstances.empty("coco")
    assert draw_poses(np.zeros((5, 5, 3), np.uint8), empty).max() == 0
