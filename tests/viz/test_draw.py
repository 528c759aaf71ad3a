"""draw_poses: side colours, score threshold, boxes and ids, input checks."""

from __future__ import annotations

import numpy as np
import pytest

from posekit.structures import PoseInstances
from posekit.viz.draw import CENTER_COLOR, LEFT_COLOR, RIGHT_COLOR, default_line_width, draw_poses, track_color


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


def _lit(drawn: np.ndarray) -> int:
    return int((drawn.max(axis=2) > 0).sum())


def test_line_width_scales_with_the_image_unless_given() -> None:
    assert default_line_width((640, 480)) == 2 and default_line_width((320, 240)) == 1
    assert default_line_width((1280, 720)) == 3 and default_line_width((720, 1280)) == 3
    person = coco_person()

    def scaled(factor: int) -> PoseInstances:
        return PoseInstances(
            keypoints=person.keypoints * factor, scores=person.scores, skeleton="coco", boxes=person.boxes * factor
        )

    # 200 px: 1 px lines; the same drawing at 800 px: 2 px lines, about twice the pixels of 1 px lines there.
    small = draw_poses(np.zeros((200, 200, 3), np.uint8), person, draw_track_ids=False)
    np.testing.assert_array_equal(
        small, draw_poses(np.zeros((200, 200, 3), np.uint8), person, line_width=1, draw_track_ids=False)
    )
    large = draw_poses(np.zeros((800, 800, 3), np.uint8), scaled(4), draw_track_ids=False)
    thin_large = draw_poses(np.zeros((800, 800, 3), np.uint8), scaled(4), line_width=1, draw_track_ids=False)
    np.testing.assert_array_equal(large, draw_poses(np.zeros((800, 800, 3), np.uint8), scaled(4), line_width=2))
    assert 3.0 < _lit(thin_large) / _lit(small) < 5.0  # lines 4 times as long, as thin
    assert _lit(large) / _lit(thin_large) > 1.5
    # A given width wins over the image size; wider lines and dots light more pixels.
    counts = [
        _lit(draw_poses(np.zeros((200, 200, 3), np.uint8), person, line_width=width, draw_track_ids=False))
        for width in (1, 2, 4, 8)
    ]
    assert counts == sorted(counts) and len(set(counts)) == 4 and counts[-1] > 3 * counts[0], counts
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="line_width"):
            draw_poses(np.zeros((20, 20, 3), np.uint8), person, line_width=bad)  # type: ignore[arg-type]


def test_keypoint_threshold_hides_only_low_keypoints_and_their_links() -> None:
    person = coco_person()
    scores = person.scores.copy()
    scores[0, 7] = 0.2  # left elbow: its dot and the left upper arm (shoulder-elbow, x = 60) disappear
    low = PoseInstances(keypoints=person.keypoints, scores=scores, skeleton="coco", boxes=person.boxes)
    image = np.zeros((200, 200, 3), np.uint8)
    shown = draw_poses(image, low, min_score=0.1, draw_boxes=False, draw_track_ids=False)
    hidden = draw_poses(image, low, min_score=0.5, draw_boxes=False, draw_track_ids=False)
    assert shown[90, 58:63].max() > 0 and hidden[90, 58:63].max() == 0  # the arm's link
    assert shown[120, 58:63].max() > 0 and hidden[120, 58:63].max() == 0  # the elbow's dot
    assert hidden[90, 138:143].max() > 0  # the right arm is still drawn
    assert draw_poses(image, low, draw_boxes=False, draw_track_ids=False)[90, 58:63].max() == 0  # default 0.3


def test_boxes_can_be_hidden() -> None:
    image = np.zeros((200, 200, 3), np.uint8)
    with_boxes = draw_poses(image, coco_person(), draw_track_ids=False)
    without = draw_poses(image, coco_person(), draw_track_ids=False, draw_boxes=False)
    assert with_boxes[100, 19:22].max() > 0 and without[100, 19:22].max() == 0  # the box's left edge, x = 20
    assert _lit(with_boxes) > _lit(without) > 0
