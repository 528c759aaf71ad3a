"""Bounding boxes: format conversions, centre/scale crops, IoU, boxes around keypoints.

Legend: ``N``/``M`` boxes, ``K`` keypoints; ``...`` any leading dimensions. Boxes are in image
pixels (continuous coordinates in which the centre of the top-left pixel is ``(0, 0)``):

* ``xyxy``: ``(x1, y1, x2, y2)``, left-top and right-bottom corners;
* ``xywh``: ``(x1, y1, w, h)``, as in COCO annotations;
* centre/scale: ``center (..., 2)`` = box centre ``(x, y)`` and ``scale (..., 2)`` = ``(w, h)`` of
  the region that a top-down crop covers, in PIXELS (MMPose 1.x). HRNet / SimpleBaseline and the
  official MPII annotations give the scale in units of 200 px instead: convert with
  :func:`scale_to_pixels` / :func:`pixels_to_scale`.

Widths are ``x2 - x1`` (no ``+ 1``); areas are ``w * h`` and are 0 for empty or inverted boxes.
Functions marked "numpy or torch" return the kind they were given.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from posekit.geometry import array_api as xp
from posekit.geometry.array_api import ArrayT

__all__ = [
    "box_area",
    "box_cs_to_xyxy",
    "box_from_keypoints",
    "box_iou",
    "box_xywh_to_xyxy",
    "box_xyxy_to_cs",
    "box_xyxy_to_xywh",
    "check_image_size",
    "clip_boxes",
    "fix_aspect_ratio",
    "pixels_to_scale",
    "scale_to_pixels",
]

PIXEL_STD = 200.0
"""The unit of HRNet / MPII scales, in pixels."""


def check_image_size(image_size: Any) -> tuple[int, int]:
    """``image_size`` as ``(w, h)`` positive ints; ValueError naming what was given otherwise."""
    try:
        width, height = (int(value) for value in image_size)
    except (TypeError, ValueError):
        raise ValueError(f"image_size must be (w, h) in pixels, got {image_size!r}") from None
    if width <= 0 or height <= 0:
        raise ValueError(f"image_size must be (w, h) with positive entries, got {image_size!r}")
    return width, height


def _check_boxes(boxes: ArrayT, name: str = "boxes") -> ArrayT:
    boxes = xp.as_float_array(boxes)
    xp.check_last_dims(boxes, name, (4,), "(..., 4)")
    return boxes


def _check_pairs(values: ArrayT, name: str) -> ArrayT:
    values = xp.as_float_array(values)
    xp.check_last_dims(values, name, (2,), "(..., 2)")
    return values


def _check_size(size: tuple[float, float] | np.ndarray, name: str) -> tuple[float, float]:
    values = np.asarray(size, dtype=np.float64)
    if values.shape != (2,):
        raise ValueError(f"{name} must be (w, h), got shape {xp.shape_text(values)}")
    return float(values[0]), float(values[1])


def box_xyxy_to_xywh(boxes: ArrayT) -> ArrayT:
    """``(x1, y1, x2, y2)`` to ``(x1, y1, w, h)``. numpy or torch.

    Args:
        boxes: ``(..., 4)`` xyxy boxes.

    Returns:
        ``(..., 4)`` xywh boxes.
    """
    boxes = _check_boxes(boxes)
    return xp.concatenate([boxes[..., :2], boxes[..., 2:] - boxes[..., :2]], axis=-1)


def box_xywh_to_xyxy(boxes: ArrayT) -> ArrayT:
    """``(x1, y1, w, h)`` to ``(x1, y1, x2, y2)``. numpy or torch.

    Args:
        boxes: ``(..., 4)`` xywh boxes.

    Returns:
        ``(..., 4)`` xyxy boxes.
    """
    boxes = _check_boxes(boxes)
    return xp.concatenate([boxes[..., :2], boxes[..., :2] + boxes[..., 2:]], axis=-1)


def fix_aspect_ratio(scale: ArrayT, aspect_ratio: float) -> ArrayT:
    """Enlarge the short side of ``(w, h)`` sizes so that ``w / h == aspect_ratio`` (MMPose ``_fix_aspect_ratio``).

    Args:
        scale: ``(..., 2)`` sizes ``(w, h)``.
        aspect_ratio: Target ``w / h``, e.g. ``192 / 256`` for a 192x256 (w x h) model input.

    Returns:
        ``(..., 2)`` sizes, each containing the input size. numpy or torch.
    """
    scale = _check_pairs(scale, "scale")
    if not aspect_ratio > 0:
        raise ValueError(f"aspect_ratio must be positive, got {aspect_ratio}")
    width, height = scale[..., 0], scale[..., 1]
    wide = width > height * aspect_ratio
    new_width = xp.where(wide, width, height * aspect_ratio)
    new_height = xp.where(wide, width / aspect_ratio, height)
    return xp.stack([new_width, new_height], axis=-1)


def box_xyxy_to_cs(boxes: ArrayT, aspect_ratio: float | None = None, padding: float = 1.25) -> tuple[ArrayT, ArrayT]:
    """Centre and scale (in pixels) of the crop region for top-down pose estimation.

    Same as MMPose ``bbox_xyxy2cs(bbox, padding)`` followed by ``_fix_aspect_ratio`` (as its
    ``TopdownAffine`` does); both steps scale linearly, so their order does not matter.

    Args:
        boxes: ``(..., 4)`` xyxy boxes.
        aspect_ratio: If given, the short side is enlarged so that ``w / h == aspect_ratio``.
        padding: Factor applied to the (fixed) width and height.

    Returns:
        ``center (..., 2)`` ``(x, y)`` and ``scale (..., 2)`` ``(w, h)`` in pixels. numpy or torch.
    """
    boxes = _check_boxes(boxes)
    center = (boxes[..., :2] + boxes[..., 2:]) * 0.5
    scale = (boxes[..., 2:] - boxes[..., :2]) * padding
    if aspect_ratio is not None:
        scale = fix_aspect_ratio(scale, aspect_ratio)
    return center, scale


def box_cs_to_xyxy(center: ArrayT, scale: ArrayT, padding: float = 1.0) -> ArrayT:
    """Box from centre and scale (MMPose ``bbox_cs2xyxy``): ``center -/+ scale / padding / 2``.

    With the default ``padding=1`` this is the region a crop covers; pass the padding that
    :func:`box_xyxy_to_cs` used (and no aspect-ratio fix) to get the original box back.

    Args:
        center: ``(..., 2)`` centres in pixels.
        scale: ``(..., 2)`` sizes ``(w, h)`` in pixels, broadcasting against ``center``.
        padding: The padding factor to remove.

    Returns:
        ``(..., 4)`` xyxy boxes. numpy or torch.
    """
    center = _check_pairs(center, "center")
    scale = _check_pairs(scale, "scale")
    half = scale / padding * 0.5
    return xp.concatenate([center - half, center + half], axis=-1)


def scale_to_pixels(scale: ArrayT, pixel_std: float = PIXEL_STD) -> ArrayT:
    """HRNet / MPII scale (units of ``pixel_std`` = 200 px) to pixels. Any shape; numpy or torch."""
    return xp.as_float_array(scale) * pixel_std


def pixels_to_scale(scale: ArrayT, pixel_std: float = PIXEL_STD) -> ArrayT:
    """Pixels to HRNet / MPII scale (units of ``pixel_std`` = 200 px). Any shape; numpy or torch."""
    return xp.as_float_array(scale) / pixel_std


def box_area(boxes: ArrayT) -> ArrayT:
    """Areas ``max(w, 0) * max(h, 0)`` of xyxy boxes. numpy or torch.

    Args:
        boxes: ``(..., 4)`` xyxy boxes.

    Returns:
        ``(...)`` areas in square pixels.
    """
    boxes = _check_boxes(boxes)
    width = xp.clip(boxes[..., 2] - boxes[..., 0], minimum=0.0)
    height = xp.clip(boxes[..., 3] - boxes[..., 1], minimum=0.0)
    return width * height


def _pairwise_overlap(boxes_a: ArrayT, boxes_b: ArrayT, name: str, over_smaller: bool) -> ArrayT:
    boxes_a = _check_boxes(boxes_a, "boxes_a")
    boxes_b = _check_boxes(boxes_b, "boxes_b")
    if boxes_a.ndim != 2 or boxes_b.ndim != 2:
        raise ValueError(
            f"{name} expects boxes_a (N, 4) and boxes_b (M, 4), "
            f"got {xp.shape_text(boxes_a)} and {xp.shape_text(boxes_b)}"
        )
    area_a = box_area(boxes_a)[:, None]  # (N, 1)
    area_b = box_area(boxes_b)[None, :]  # (1, M)
    top_left = xp.maximum(boxes_a[:, None, :2], boxes_b[None, :, :2])  # (N, M, 2)
    bottom_right = xp.minimum(boxes_a[:, None, 2:], boxes_b[None, :, 2:])  # (N, M, 2)
    size = xp.clip(bottom_right - top_left, minimum=0.0)
    intersection = size[..., 0] * size[..., 1]
    denominator = xp.minimum(area_a, area_b) if over_smaller else area_a + area_b - intersection
    positive = denominator > 0
    safe = xp.where(positive, denominator, xp.ones_like(denominator))
    return xp.where(positive, intersection / safe, xp.zeros_like(denominator))


def box_iou(boxes_a: ArrayT, boxes_b: ArrayT) -> ArrayT:
    """Pairwise intersection over union. numpy or torch (differentiable).

    Args:
        boxes_a: ``(N, 4)`` xyxy boxes.
        boxes_b: ``(M, 4)`` xyxy boxes.

    Returns:
        ``(N, M)`` IoU in ``[0, 1]``; 0 where the union is empty (two zero-area boxes).
    """
    return _pairwise_overlap(boxes_a, boxes_b, "box_iou", over_smaller=False)


def box_intersection_over_smaller(boxes_a: ArrayT, boxes_b: ArrayT) -> ArrayT:
    """Pairwise intersection over the smaller of the two areas (1 when one box contains the other).

    Args:
        boxes_a: ``(N, 4)`` xyxy boxes.
        boxes_b: ``(M, 4)`` xyxy boxes.

    Returns:
        ``(N, M)`` in ``[0, 1]``; 0 where the smaller box has no area. numpy or torch.
    """
    return _pairwise_overlap(boxes_a, boxes_b, "box_intersection_over_smaller", over_smaller=True)


def clip_boxes(boxes: ArrayT, image_size: tuple[float, float] | np.ndarray) -> ArrayT:
    """Clip xyxy boxes to the image: x to ``[0, w]`` and y to ``[0, h]`` (MMPose ``bbox_clip_border``).

    Args:
        boxes: ``(..., 4)`` xyxy boxes.
        image_size: ``(w, h)`` in pixels.

    Returns:
        ``(..., 4)`` clipped boxes (a new array). numpy or torch.
    """
    boxes = _check_boxes(boxes)
    width, height = _check_size(image_size, "image_size")
    x_values = xp.clip(boxes[..., 0::2], 0.0, width)
    y_values = xp.clip(boxes[..., 1::2], 0.0, height)
    return xp.stack([x_values[..., 0], y_values[..., 0], x_values[..., 1], y_values[..., 1]], axis=-1)


def box_from_keypoints(keypoints: ArrayT, valid: ArrayT | None = None, padding: float = 1.0) -> ArrayT:
    """Tightest xyxy box around the valid keypoints, enlarged about its centre by ``padding``.

    A keypoint counts when ``valid`` is true (or ``valid`` is None) and both coordinates are
    finite (NaN/inf keypoints are ignored).

    Degenerate cases: an instance with NO valid keypoint gets the all-zero box ``(0, 0, 0, 0)``
    (area 0; test with ``box_area(box) == 0``). One valid keypoint gives a zero-size box at it.

    Args:
        keypoints: ``(..., K, 2)`` pixel coordinates (``(..., K, 3)`` is accepted; only x, y are
            used).
        valid: ``(..., K)`` booleans (or scores, where ``> 0`` counts as valid), or None.
        padding: Width and height multiplier (1.0 = tight box).

    Returns:
        ``(..., 4)`` xyxy boxes. numpy or torch.
    """
    keypoints = xp.as_float_array(keypoints)
    shape = tuple(keypoints.shape)
    if len(shape) < 2 or shape[-1] not in (2, 3):
        raise ValueError(f"keypoints must have shape (..., K, 2) or (..., K, 3), got {xp.shape_text(keypoints)}")
    points = keypoints[..., :2]
    mask = xp.all_(xp.isfinite(points), axis=-1)  # (..., K)
    if valid is not None:
        valid = xp.same_kind(valid, keypoints)
        if tuple(valid.shape) != shape[:-1]:
            raise ValueError(
                f"valid must have shape {shape[:-1]} (keypoints without the last axis), got {xp.shape_text(valid)}"
            )
        mask = mask & (valid > 0)
    any_valid = xp.any_(mask, axis=-1)  # (...)
    big = xp.like(np.inf, points)
    masked = mask[..., None]
    lower = xp.amin(xp.where(masked, points, big), axis=-2)  # (..., 2)
    upper = xp.amax(xp.where(masked, points, -big), axis=-2)  # (..., 2)
    # Where nothing is valid the min/max are +/-inf: replace them with zeros (keeps gradients finite).
    lower = xp.where(any_valid[..., None], lower, xp.zeros_like(lower))
    upper = xp.where(any_valid[..., None], upper, xp.zeros_like(upper))
    center = (lower + upper) * 0.5
    half = (upper - lower) * (0.5 * padding)
    return xp.concatenate([center - half, center + half], axis=-1)
