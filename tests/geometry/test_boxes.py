"""Boxes: hand-computed values, round trips, IoU known values, numpy/torch parity, shape errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posekit.geometry import (
    box_area,
    box_cs_to_xyxy,
    box_from_keypoints,
    box_iou,
    box_xywh_to_xyxy,
    box_xyxy_to_cs,
    box_xyxy_to_xywh,
    check_image_size,
    clip_boxes,
    fix_aspect_ratio,
    pixels_to_scale,
    scale_to_pixels,
)


def test_xyxy_xywh_hand_values_and_round_trip() -> None:
    boxes = np.array([[10.0, 20.0, 110.0, 220.0], [0.0, 0.0, 1.5, 2.5]])
    xywh = box_xyxy_to_xywh(boxes)
    np.testing.assert_array_equal(xywh, [[10, 20, 100, 200], [0, 0, 1.5, 2.5]])
    np.testing.assert_array_equal(box_xywh_to_xyxy(xywh), boxes)
    batched = np.random.default_rng(0).uniform(0, 100, size=(3, 5, 4))
    np.testing.assert_allclose(box_xywh_to_xyxy(box_xyxy_to_xywh(batched)), batched, atol=1e-12)


def test_xyxy_xywh_torch_keeps_kind_and_gradient() -> None:
    boxes = torch.tensor([[10.0, 20.0, 110.0, 220.0]], requires_grad=True)
    xywh = box_xyxy_to_xywh(boxes)
    assert isinstance(xywh, torch.Tensor) and xywh.dtype == torch.float32
    torch.testing.assert_close(xywh, torch.tensor([[10.0, 20.0, 100.0, 200.0]]))
    xywh.sum().backward()
    assert boxes.grad is not None
    torch.testing.assert_close(boxes.grad, torch.tensor([[0.0, 0.0, 1.0, 1.0]]))


def test_box_xyxy_to_cs_hand_values() -> None:
    # w=100, h=200; aspect 192/256 = 0.75: 100 < 200 * 0.75 so the width grows to 150; then x1.25.
    center, scale = box_xyxy_to_cs(np.array([10.0, 20.0, 110.0, 220.0]), aspect_ratio=0.75, padding=1.25)
    np.testing.assert_allclose(center, [60.0, 120.0])
    np.testing.assert_allclose(scale, [187.5, 250.0])
    # A wide box: the height grows instead (300 > 100 * 0.75).
    _, scale = box_xyxy_to_cs(np.array([0.0, 0.0, 300.0, 100.0]), aspect_ratio=0.75, padding=1.0)
    np.testing.assert_allclose(scale, [300.0, 400.0])
    _, scale = box_xyxy_to_cs(np.array([0.0, 0.0, 300.0, 100.0]), aspect_ratio=None, padding=1.0)
    np.testing.assert_allclose(scale, [300.0, 100.0])


def test_fix_aspect_ratio_only_enlarges() -> None:
    scale = np.random.default_rng(1).uniform(1, 100, size=(50, 2))
    fixed = fix_aspect_ratio(scale, 0.75)
    np.testing.assert_allclose(fixed[:, 0] / fixed[:, 1], 0.75)
    assert np.all(fixed >= scale - 1e-12)
    assert np.all(np.isclose(fixed, scale).any(axis=1))  # one side is unchanged


def test_cs_round_trip_with_padding() -> None:
    boxes = np.random.default_rng(2).uniform(0, 50, size=(4, 4)) + np.array([0, 0, 60, 60])
    center, scale = box_xyxy_to_cs(boxes, aspect_ratio=None, padding=1.25)
    np.testing.assert_allclose(box_cs_to_xyxy(center, scale, padding=1.25), boxes, atol=1e-12)
    np.testing.assert_allclose(box_area(box_cs_to_xyxy(center, scale)), box_area(boxes) * 1.25**2)


def test_hrnet_scale_units() -> None:
    np.testing.assert_allclose(scale_to_pixels(np.array([1.0, 1.5])), [200.0, 300.0])
    np.testing.assert_allclose(pixels_to_scale(np.array([200.0, 300.0])), [1.0, 1.5])
    np.testing.assert_allclose(scale_to_pixels(2.0, pixel_std=100.0), 200.0)


def test_box_iou_known_values() -> None:
    boxes_a = np.array([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.0, 1.0], [5.0, 5.0, 5.0, 5.0]])
    boxes_b = np.array([[1.0, 1.0, 3.0, 3.0], [0.0, 0.0, 2.0, 2.0], [10.0, 10.0, 11.0, 11.0], [5.0, 5.0, 5.0, 5.0]])
    expected = np.array(
        [
            [1.0 / 7.0, 1.0, 0.0, 0.0],
            [0.0, 0.25, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0],  # zero-area box: IoU 0, never NaN
        ]
    )
    iou = box_iou(boxes_a, boxes_b)
    assert iou.shape == (3, 4)
    np.testing.assert_allclose(iou, expected, atol=1e-12)
    iou_torch = box_iou(torch.from_numpy(boxes_a), torch.from_numpy(boxes_b))
    assert isinstance(iou_torch, torch.Tensor)
    np.testing.assert_allclose(iou_torch.numpy(), expected, atol=1e-12)


def test_box_area_of_inverted_box_is_zero() -> None:
    np.testing.assert_array_equal(box_area(np.array([[0, 0, 3, 2], [3, 0, 0, 2]])), [6.0, 0.0])


def test_clip_boxes() -> None:
    boxes = np.array([[-5.0, -1.0, 700.0, 300.0], [10.0, 20.0, 30.0, 40.0]])
    np.testing.assert_array_equal(clip_boxes(boxes, (640, 480)), [[0, 0, 640, 300], [10, 20, 30, 40]])
    assert boxes[0, 0] == -5.0  # input untouched


def test_box_from_keypoints_ignores_invalid_and_nan() -> None:
    keypoints = np.array(
        [
            [[10.0, 20.0], [30.0, 60.0], [1000.0, 1000.0], [np.nan, 5.0]],
            [[np.nan, np.nan], [np.nan, np.nan], [np.nan, np.nan], [np.nan, np.nan]],
        ]
    )
    valid = np.array([[True, True, False, True], [True, True, True, True]])
    boxes = box_from_keypoints(keypoints, valid)
    np.testing.assert_array_equal(boxes, [[10, 20, 30, 60], [0, 0, 0, 0]])
    padded = box_from_keypoints(keypoints, valid, padding=2.0)
    np.testing.assert_array_equal(padded[0], [0, 0, 40, 80])  # centre (20, 40), size (40, 80)
    # Scores as validity: > 0 counts.
    scores = np.array([[0.9, 0.5, 0.0, 0.3], [0.0, 0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(box_from_keypoints(keypoints, scores), boxes)
    # No mask: NaNs alone are skipped.
    np.testing.assert_array_equal(box_from_keypoints(keypoints)[0], [10, 20, 1000, 1000])


def test_box_from_keypoints_torch_gradient_finite() -> None:
    keypoints = torch.tensor([[[1.0, 2.0], [3.0, 5.0]], [[0.0, 0.0], [0.0, 0.0]]], requires_grad=True)
    valid = torch.tensor([[True, True], [False, False]])
    boxes = box_from_keypoints(keypoints, valid)
    torch.testing.assert_close(boxes, torch.tensor([[1.0, 2.0, 3.0, 5.0], [0.0, 0.0, 0.0, 0.0]]))
    boxes.sum().backward()
    assert keypoints.grad is not None and torch.isfinite(keypoints.grad).all()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: box_xyxy_to_xywh(np.zeros((3, 5))), r"boxes must have shape \(\.\.\., 4\), got \(3, 5\)"),
        (lambda: box_iou(np.zeros((2, 3, 4)), np.zeros((2, 4))), "box_iou expects"),
        (lambda: box_from_keypoints(np.zeros((5, 17))), r"keypoints must have shape"),
        (lambda: box_from_keypoints(np.zeros((5, 17, 2)), np.ones((5, 16))), "valid must have shape"),
        (lambda: fix_aspect_ratio(np.ones((4, 3)), 1.0), "scale must have shape"),
        (lambda: clip_boxes(np.zeros((1, 4)), (1, 2, 3)), "image_size must be"),
    ],
)
def test_bad_shapes_raise_value_error(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


def test_check_image_size() -> None:
    assert check_image_size((640, 480)) == (640, 480) and check_image_size(np.array([3.0, 2.0])) == (3, 2)
    with pytest.raises(ValueError, match="must be \\(w, h\\) in pixels"):
        check_image_size((1, 2, 3))
    with pytest.raises(ValueError, match="positive entries"):
        check_image_size((0, 10))
