"""2D pose overlays drawn with OpenCV on ``(H, W, 3)`` uint8 RGB images.

Colours follow the body side: joints and links of the person's left side in one colour, the right
side in another and the centre line (face, torso links across the body) in a third, using the
skeleton's ``left``/``right`` groups; track ids get a colour each so that a person keeps their box
colour through a video. Line widths and dot radii scale with the image size
(:func:`default_line_width`: 1 px for a long side under 600 px, 3 px at 1280 x 720, 5 px at
1920 x 1080; dots of radius 1.5 x the line width) unless a line width is given.
"""

from __future__ import annotations

import cv2
import numpy as np

from posekit.skeletons import Skeleton, get_skeleton
from posekit.structures import PoseInstances

__all__ = [
    "CENTER_COLOR",
    "DRAW_MIN_SCORE",
    "LEFT_COLOR",
    "RIGHT_COLOR",
    "default_line_width",
    "draw_poses",
    "track_color",
]

# RGB colours.
LEFT_COLOR = (0, 200, 255)  # person's left side: sky blue
RIGHT_COLOR = (255, 120, 0)  # person's right side: orange
CENTER_COLOR = (60, 220, 60)  # centre line: green
# Keypoints scoring below this are not drawn by default (nor the links touching them).
DRAW_MIN_SCORE = 0.3
_TRACK_PALETTE = (
    (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
    (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128), (170, 110, 40),
)  # fmt: skip


def track_color(track_id: int) -> tuple[int, int, int]:
    """A stable RGB colour for a track id (cycles through 12 distinct colours)."""
    return _TRACK_PALETTE[int(track_id) % len(_TRACK_PALETTE)]


def default_line_width(image_size: tuple[int, int]) -> int:
    """The overlay line width in pixels for an image of ``(w, h)``: ``max(1, round(long side / 400))``."""
    return max(1, round(max(image_size) / 400))


def _side_colors(skeleton: Skeleton) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
    """Per-keypoint and per-link colours from the skeleton's left/right groups."""
    left = set(skeleton.groups.get("left", ()))
    right = set(skeleton.groups.get("right", ()))

    def color_of(names: tuple[str, ...]) -> tuple[int, int, int]:
        if all(name in left for name in names):
            return LEFT_COLOR
        if all(name in right for name in names):
            return RIGHT_COLOR
        return CENTER_COLOR

    keypoint_colors = [color_of((name,)) for name in skeleton.keypoint_names]
    link_colors = [color_of(link) for link in skeleton.links]
    return keypoint_colors, link_colors


def draw_poses(
    image: np.ndarray,
    instances: PoseInstances,
    skeleton: Skeleton | str | None = None,
    min_score: float = DRAW_MIN_SCORE,
    draw_boxes: bool = True,
    draw_track_ids: bool = True,
    line_width: int | None = None,
) -> np.ndarray:
    """Draw keypoints, links, boxes and track ids on a copy of ``image``.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        instances: ``N`` poses in pixels of ``image``.
        skeleton: the skeleton of ``instances`` (default: ``instances.skeleton``).
        min_score: keypoints with a score below this are not drawn, nor links touching them.
        draw_boxes: draw each instance's box (when ``instances.boxes`` is set).
        draw_track_ids: write the track id (when ``instances.track_ids`` is set) above the box.
        line_width: line width in pixels (links, boxes, text); dots get radius
            ``max(1, round(1.5 x line_width))``. ``None``: :func:`default_line_width` of the image.

    Returns:
        ``(H, W, 3)`` uint8 RGB copy with the overlay.
    """
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(
            f"image must be a (H, W, 3) uint8 RGB array, got shape {getattr(image, 'shape', None)} "
            f"and dtype {getattr(image, 'dtype', None)}"
        )
    resolved = get_skeleton(skeleton if skeleton is not None else instances.skeleton)
    keypoints = np.asarray(instances.keypoints, dtype=np.float64)
    if keypoints.ndim != 3 or keypoints.shape[1] != resolved.num_keypoints:
        raise ValueError(
            f"instances.keypoints must have shape (N, {resolved.num_keypoints}, 2|3) for skeleton "
            f"{resolved.name!r}, got {keypoints.shape}"
        )
    if line_width is not None and (isinstance(line_width, bool) or int(line_width) != line_width or line_width < 1):
        raise ValueError(f"line_width must be a whole number of pixels >= 1, got {line_width!r}")
    scores = np.asarray(instances.scores, dtype=np.float64)
    canvas = np.ascontiguousarray(image.copy())
    height, width = canvas.shape[:2]
    thickness = default_line_width((width, height)) if line_width is None else int(line_width)
    radius = max(1, round(thickness * 1.5))
    font_scale = max(0.4, max(height, width) / 1500)
    keypoint_colors, link_colors = _side_colors(resolved)
    links = resolved.link_indices
    boxes = None if instances.boxes is None else np.asarray(instances.boxes, dtype=np.float64)
    track_ids = None if instances.track_ids is None else np.asarray(instances.track_ids)
    # Coordinates far outside the image would overflow OpenCV's int drawing; clip to a margin.
    limit = 4.0 * max(height, width)
    for person in range(keypoints.shape[0]):
        points = np.clip(keypoints[person, :, :2], -limit, limit)
        shown = (scores[person] >= min_score) & np.isfinite(keypoints[person, :, :2]).all(axis=1)
        pixel = np.round(np.nan_to_num(points)).astype(np.int32)
        for (first, second), color in zip(links, link_colors, strict=True):
            if shown[first] and shown[second]:
                start = (int(pixel[first, 0]), int(pixel[first, 1]))
                end = (int(pixel[second, 0]), int(pixel[second, 1]))
                cv2.line(canvas, start, end, color, thickness, cv2.LINE_AA)
        for index in np.flatnonzero(shown):
            center = (int(pixel[index, 0]), int(pixel[index, 1]))
            cv2.circle(canvas, center, radius, keypoint_colors[index], -1, cv2.LINE_AA)
        track_id = None if track_ids is None else int(track_ids[person])
        box_color = track_color(track_id) if track_id is not None and track_id >= 0 else (255, 255, 255)
        anchor = None
        if boxes is not None and draw_boxes and np.isfinite(boxes[person]).all():
            x0, y0, x1, y1 = (int(round(value)) for value in np.clip(boxes[person], -limit, limit))
            cv2.rectangle(canvas, (x0, y0), (x1, y1), box_color, thickness, cv2.LINE_AA)
            anchor = (x0, y0)
        if draw_track_ids and track_id is not None and track_id >= 0:
            if anchor is None and shown.any():
                anchor = (int(pixel[shown, 0].min()), int(pixel[shown, 1].min()))
            if anchor is not None:
                origin = (anchor[0], max(anchor[1] - 2 * thickness, int(12 * font_scale)))
                cv2.putText(
                    canvas, f"id {track_id}", origin, cv2.FONT_HERSHEY_SIMPLEX, font_scale, box_color,
                    max(1, thickness), cv2.LINE_AA,
                )  # fmt: skip
    return canvas
