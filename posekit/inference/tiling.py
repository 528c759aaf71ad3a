"""Tiled person detection: run a small-input detector on the whole image and on overlapping tiles.

The BlazePose person detector sees every image letterboxed to 224 x 224, so in a 1920 x 1080
frame a person 150 px tall becomes 17 px tall and is missed. :class:`TiledPersonDetector` wraps
any :class:`~posekit.inference.box_file.PersonDetector` and runs it on

* the whole image (finds the large people), and
* square tiles that overlap by ``overlap`` of their side, on one or more levels ("zoom levels")
  of decreasing tile side (finds the small ones),

maps every tile's detections (boxes and alignment points) back to image pixels by adding the
tile's top-left corner, and merges the detections of one person seen by several tiles or levels.

Two rules keep a person cut by a tile border from producing a bogus second detection:

1. a tile detection is kept only when at least ``min_inside`` of its *body square* lies inside the
   tile (tile sides on the image border count as open: the image border cuts everyone alike).
   The body square is centred on the hip centre (alignment point 0) with half side
   ``|point 1 - point 0|``, the body radius from which BlazePose builds its ROI
   (``posekit.inference.blazepose.landmarks.alignment_points_to_rois``). People larger than a tile
   fail this test on that level and come from a coarser level or the whole image;
2. the surviving detections are clustered by the IoU of their face boxes (the detector's own
   duplicate criterion, MediaPipe ``NonMaxSuppressionCalculator``: IoU > 0.3), or when one face
   box lies mostly inside another (``containment``: one face seen at two scales gives boxes of
   different sizes whose IoU stays low), and each cluster becomes one detection: the
   score-weighted mean of its boxes and alignment points (``weighted=True``, MediaPipe's WEIGHTED
   algorithm) or its best member.

Measured (``benchmarks/eval_shared_data.py --tiles off auto``, ``benchmarks/eval_tiled_mosaic.py``):
COCO keypoint AP on PoseTrack18 frames (1920 x 1080) 0.028 -> 0.142, CrowdPose (640 px) 0.178 ->
0.303, OCHuman 0.455 -> 0.495; people found on 20 COCO val2014 images 19 -> 31; 7 detector runs
for a 640 x 480 image, 22 for 1920 x 1080.

Pixel convention: as the wrapped detector's, the centre of the top-left pixel is (0, 0); a tile
whose top-left pixel is image pixel ``(x0, y0)`` maps tile coordinates ``p`` to ``p + (x0, y0)``.

The cost is one detector run per tile: :attr:`TiledPersonDetector.last_num_runs` says how many
the last image took.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import numpy as np

from posekit.geometry import box_intersection_over_smaller, box_iou, check_image_size
from posekit.inference.detections import NUM_ALIGNMENT_POINTS, PersonDetections, PersonDetector
from posekit.inference.image import to_rgb_uint8

__all__ = [
    "TiledPersonDetector",
    "auto_tile_sides",
    "body_squares",
    "inside_fraction",
    "merge_detections",
    "plan_tiles",
    "shift_detections",
    "tile_starts",
]

DETECTOR_INPUT_SIDE = 224

# Video: one level of tiles on every third detector call (see TiledPersonDetector.for_video).
VIDEO_TILE_LEVELS = 1
VIDEO_TILE_EVERY = 3


def tile_starts(length: int, tile_side: int, overlap: float) -> np.ndarray:
    """Start positions of tiles covering ``[0, length)`` that overlap by at least ``overlap`` of a tile.

    The first tile starts at 0, the last ends at ``length``, the others are evenly spaced (rounded
    to whole pixels), with the fewest tiles whose stride is at most ``tile_side * (1 - overlap)``.

    Args:
        length: the image side in pixels (>= 1).
        tile_side: the tile side in pixels (>= 1); a tile at least as long as the side gives one tile.
        overlap: wanted overlap of neighbouring tiles, a fraction of ``tile_side`` in [0, 1).

    Returns:
        ``(n,)`` int64 start positions, increasing.
    """
    if length < 1 or tile_side < 1:
        raise ValueError(f"length and tile_side must be >= 1, got {length} and {tile_side}")
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")
    if tile_side >= length:
        return np.zeros(1, np.int64)
    max_stride = tile_side * (1.0 - overlap)
    count = math.ceil((length - tile_side) / max_stride - 1e-9) + 1
    return np.rint(np.linspace(0.0, length - tile_side, count)).astype(np.int64)


def plan_tiles(image_size: tuple[int, int], tile_side: int, overlap: float) -> np.ndarray:
    """Square tiles of side ``tile_side`` (cut to the image) covering an image, row by row.

    Args:
        image_size: ``(w, h)`` in pixels.
        tile_side: tile side in pixels.
        overlap: overlap of neighbouring tiles, fraction of ``tile_side`` (see :func:`tile_starts`).

    Returns:
        ``(T, 4)`` int64 tiles ``(x0, y0, x1, y1)``: pixel columns ``x0 .. x1 - 1``, rows ``y0 .. y1 - 1``.
    """
    width, height = check_image_size(image_size)
    columns = tile_starts(width, tile_side, overlap)
    rows = tile_starts(height, tile_side, overlap)
    top, left = np.meshgrid(rows, columns, indexing="ij")  # (R, C) each
    left = left.reshape(-1)  # (R, C) -> (R*C,)
    top = top.reshape(-1)
    right = np.minimum(left + tile_side, width)
    bottom = np.minimum(top + tile_side, height)
    return np.stack([left, top, right, bottom], axis=1).astype(np.int64)  # (T, 4)


def auto_tile_sides(
    image_size: tuple[int, int],
    min_tile_side: int = DETECTOR_INPUT_SIDE,
    zoom_step: float = 2.0,
    max_levels: int = 2,
) -> list[int]:
    """Tile sides of the automatic policy: the long side divided by ``zoom_step``, again and again.

    Level ``k`` (1, 2, ...) has tiles of side ``round(long_side / zoom_step**k)``; levels go on while the
    side is at least ``min_tile_side`` and at most ``max_levels`` levels are made. With the defaults
    (tiles never smaller than the detector's 224 px input, so never upsampled) an image is tiled when its
    long side is at least 448 px: 1920 x 1080 gets tiles of 960 and 480 px, 1280 x 720 of 640 and 320,
    640 x 480 (COCO) of 320, 400 x 300 none.

    Args:
        image_size: ``(w, h)`` in pixels.
        min_tile_side: the smallest tile side in pixels (>= 1).
        zoom_step: ratio of the tile sides of consecutive levels (> 1).
        max_levels: at most this many tile levels (>= 0).

    Returns:
        Tile sides, decreasing; empty when the image is not tiled.
    """
    width, height = check_image_size(image_size)
    if min_tile_side < 1 or zoom_step <= 1.0 or max_levels < 0:
        raise ValueError(
            "expected min_tile_side >= 1, zoom_step > 1, max_levels >= 0, "
            f"got {min_tile_side}, {zoom_step}, {max_levels}"
        )
    long_side = max(width, height)
    sides: list[int] = []
    for level in range(1, max_levels + 1):
        side = round(long_side / zoom_step**level)
        if side < min_tile_side:
            break
        sides.append(side)
    return sides


def body_squares(keypoints: np.ndarray) -> np.ndarray:
    """Square around each person's body from the BlazePose alignment points.

    Centre: the hip centre (point 0); half side: ``|point 1 - point 0|``, the body radius from which
    BlazePose builds its ROI (the ROI side is ``2 * 1.25`` times it).

    Args:
        keypoints: ``(..., 4, 2)`` alignment points in pixels.

    Returns:
        ``(..., 4)`` xyxy squares (NaN where the points are NaN).
    """
    if keypoints.ndim < 2 or keypoints.shape[-2:] != (NUM_ALIGNMENT_POINTS, 2):
        raise ValueError(f"keypoints must have shape (..., 4, 2), got {keypoints.shape}")
    center = keypoints[..., 0, :]  # (..., 2)
    radius = np.linalg.norm(keypoints[..., 1, :] - center, axis=-1)[..., None]  # (..., 1)
    return np.concatenate([center - radius, center + radius], axis=-1)  # (..., 4)


def inside_fraction(boxes: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Fraction of the area of each box that lies inside ``region``.

    Args:
        boxes: ``(..., 4)`` xyxy boxes.
        region: ``(4,)`` xyxy region; infinite sides are allowed (an open side).

    Returns:
        ``(...,)`` fractions in [0, 1]; boxes of zero area count as inside when their point is inside,
        NaN boxes give NaN.
    """
    if boxes.ndim < 1 or boxes.shape[-1] != 4:
        raise ValueError(f"boxes must have shape (..., 4), got {boxes.shape}")
    region = np.asarray(region, np.float64)
    if region.shape != (4,):
        raise ValueError(f"region must have shape (4,), got {region.shape}")
    values = boxes.astype(np.float64)
    width = np.minimum(values[..., 2], region[2]) - np.maximum(values[..., 0], region[0])
    height = np.minimum(values[..., 3], region[3]) - np.maximum(values[..., 1], region[1])
    area = (values[..., 2] - values[..., 0]) * (values[..., 3] - values[..., 1])
    intersection = np.clip(width, 0.0, None) * np.clip(height, 0.0, None)
    point_inside = (width >= 0) & (height >= 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(area > 0, intersection / np.where(area > 0, area, 1.0), point_inside.astype(np.float64))
    return np.where(np.isnan(area), np.nan, fraction)


def shift_detections(
    detections: PersonDetections, offset: tuple[float, float], image_size: tuple[int, int]
) -> PersonDetections:
    """Detections found in a crop, moved to the coordinates of the image the crop was cut from.

    Args:
        detections: detections in crop pixels.
        offset: ``(x0, y0)``, the image pixel of the crop's top-left pixel.
        image_size: ``(w, h)`` of the full image.

    Returns:
        The same detections with boxes and alignment points in image pixels.
    """
    shift = np.asarray(offset, np.float32)
    if shift.shape != (2,):
        raise ValueError(f"offset must be (x0, y0), got {offset}")
    return PersonDetections(
        boxes=(detections.boxes + np.tile(shift, 2)).astype(np.float32),  # (N, 4) + (4,)
        scores=detections.scores.astype(np.float32),
        keypoints=(detections.keypoints + shift).astype(np.float32),  # (N, 4, 2) + (2,)
        image_size=check_image_size(image_size),
    )


def merge_detections(
    detections: Sequence[PersonDetections],
    image_size: tuple[int, int],
    iou_threshold: float = 0.3,
    weighted: bool = True,
    max_detections: int | None = None,
    containment: float | None = None,
) -> PersonDetections:
    """One detection per person from detections of the same image found on several crops.

    Greedy clustering by score, as MediaPipe's ``NonMaxSuppressionCalculator``: the best remaining
    detection gathers every remaining one whose box IoU with it is > ``iou_threshold`` (or, with
    ``containment``, whose intersection with it covers more than ``containment`` of the smaller box:
    one face seen at two scales), itself included; the cluster gives one detection with the best
    score and either the score-weighted mean of the boxes and alignment points (``weighted``) or the
    best detection's.

    Args:
        detections: detections in image pixels (e.g. from :func:`shift_detections`).
        image_size: ``(w, h)`` of the image.
        iou_threshold: IoU of the boxes above which two detections are one person.
        weighted: average each cluster (True) or keep its best detection (False).
        max_detections: keep at most this many (best first); ``None``: all.
        containment: also merge boxes whose intersection covers more than this fraction of the smaller
            one; ``None``: IoU only.

    Returns:
        ``PersonDetections`` sorted by decreasing score.
    """
    size = check_image_size(image_size)
    if max_detections is not None and max_detections < 1:
        raise ValueError(f"max_detections must be a positive integer or None, got {max_detections}")
    if not detections:
        return PersonDetections.empty(size)
    boxes = np.concatenate([item.boxes for item in detections]).astype(np.float64)  # (M, 4)
    scores = np.concatenate([item.scores for item in detections]).astype(np.float64)  # (M,)
    keypoints = np.concatenate([item.keypoints for item in detections]).astype(np.float64)  # (M, 4, 2)
    if scores.shape[0] == 0:
        return PersonDetections.empty(size)
    order = np.argsort(-scores, kind="stable")
    same = box_iou(boxes, boxes) > iou_threshold  # (M, M)
    if containment is not None:
        same |= box_intersection_over_smaller(boxes, boxes) > containment
    remaining = order
    kept: list[tuple[np.ndarray, float, np.ndarray]] = []
    while remaining.size > 0 and (max_detections is None or len(kept) < max_detections):
        best = remaining[0]
        in_cluster = same[best, remaining]
        in_cluster[0] = True  # a degenerate (zero-area) box still forms its own cluster
        cluster = remaining[in_cluster]
        if weighted and cluster.size > 1:
            weights = scores[cluster] / scores[cluster].sum()  # (C,)
            box = (boxes[cluster] * weights[:, None]).sum(axis=0)  # (C, 4) -> (4,)
            points = keypoints[cluster]  # (C, 4, 2)
            finite = np.isfinite(points).all(axis=(1, 2))  # (C,) detections with alignment points
            if finite.any():
                point_weights = weights[finite] / weights[finite].sum()
                points = (points[finite] * point_weights[:, None, None]).sum(axis=0)  # (C', 4, 2) -> (4, 2)
            else:
                points = keypoints[best]
        else:
            box, points = boxes[best], keypoints[best]
        kept.append((box, float(scores[best]), points))
        remaining = remaining[~in_cluster]
    return PersonDetections(
        boxes=np.stack([item[0] for item in kept]).astype(np.float32),
        scores=np.asarray([item[1] for item in kept], np.float32),
        keypoints=np.stack([item[2] for item in kept]).astype(np.float32),
        image_size=size,
    )


class TiledPersonDetector:
    """A person detector run on the whole image and on overlapping tiles, duplicates merged.

    Args:
        detector: the wrapped detector (``detect(image) -> PersonDetections``), e.g. ``BlazePoseDetector``.
        tiles: ``"auto"`` (levels from :func:`auto_tile_sides`: only images whose long side is at least
            ``2 * min_tile_side`` are tiled), ``"off"`` (the wrapped detector alone), or an integer
            ``N >= 2``: one level of tiles of side ``long_side / N`` on every image.
        overlap: overlap of neighbouring tiles, a fraction of the tile side in [0, 1).
        min_tile_side: ``"auto"``: the smallest tile side in pixels.
        zoom_step: ``"auto"``: ratio of the tile sides of consecutive levels.
        max_levels: ``"auto"``: at most this many tile levels.
        min_inside: a tile detection is kept when at least this fraction of its body square (or of
            its box when it has no alignment points) lies inside the tile; tile sides on the image
            border are open.
        nms_iou: face-box IoU above which detections from different crops are one person.
        containment: face boxes whose intersection covers more than this fraction of the smaller one
            are one person too (one face seen at two scales); ``None``: IoU only.
        weighted: merge a person's detections by score-weighted mean (True) or keep the best (False).
        max_detections: keep at most this many people (best first); ``None``: all.
        tile_every: tile on every ``tile_every``-th call only, the whole image alone in between
            (the first call is always tiled). Video runs the detector on re-detection frames to find
            newcomers; tiling a third of those keeps that search cheap while small people are still
            found within a few re-detections.
    """

    def __init__(
        self,
        detector: PersonDetector,
        tiles: str | int = "auto",
        overlap: float = 0.25,
        min_tile_side: int = DETECTOR_INPUT_SIDE,
        zoom_step: float = 2.0,
        max_levels: int = 2,
        min_inside: float = 0.6,
        nms_iou: float = 0.3,
        containment: float | None = 0.6,
        weighted: bool = True,
        max_detections: int | None = None,
        tile_every: int = 1,
    ) -> None:
        if tile_every < 1:
            raise ValueError(f"tile_every must be a positive integer, got {tile_every}")
        if isinstance(tiles, str):
            if tiles not in ("auto", "off"):
                raise ValueError(f"tiles must be 'auto', 'off' or an integer >= 2, got {tiles!r}")
        elif isinstance(tiles, bool) or not isinstance(tiles, int) or tiles < 2:
            raise ValueError(f"tiles must be 'auto', 'off' or an integer >= 2, got {tiles!r}")
        if not 0.0 <= overlap < 1.0:
            raise ValueError(f"overlap must be in [0, 1), got {overlap}")
        if min_tile_side < 1 or zoom_step <= 1.0 or max_levels < 0:
            raise ValueError(
                "expected min_tile_side >= 1, zoom_step > 1, max_levels >= 0, "
                f"got {min_tile_side}, {zoom_step}, {max_levels}"
            )
        if not 0.0 <= min_inside <= 1.0 or not 0.0 <= nms_iou <= 1.0:
            raise ValueError(f"min_inside and nms_iou must be in [0, 1], got {min_inside} and {nms_iou}")
        if containment is not None and not 0.0 <= containment <= 1.0:
            raise ValueError(f"containment must be in [0, 1] or None, got {containment}")
        if max_detections is not None and max_detections < 1:
            raise ValueError(f"max_detections must be a positive integer or None, got {max_detections}")
        self.detector = detector
        self.tiles = tiles
        self.overlap = float(overlap)
        self.min_tile_side = int(min_tile_side)
        self.zoom_step = float(zoom_step)
        self.max_levels = int(max_levels)
        self.min_inside = float(min_inside)
        self.nms_iou = float(nms_iou)
        self.containment = None if containment is None else float(containment)
        self.weighted = bool(weighted)
        self.max_detections = max_detections
        self.tile_every = int(tile_every)
        self.calls = 0
        self.last_num_runs = 0

    def reset(self) -> None:
        """Start the ``tile_every`` schedule again: the next call is tiled (a new video starts)."""
        self.calls = 0

    def for_video(self) -> TiledPersonDetector:
        """This detector's schedule for video frames, sharing the wrapped detector (and its interpreter).

        Video runs the detector only on some frames (the first frame, lost people, periodic
        re-detection); with ``tiles="auto"``, one tile level (``VIDEO_TILE_LEVELS``) on every third of
        those calls (``VIDEO_TILE_EVERY``) finds small newcomers within a few re-detections at almost
        no cost per frame; :class:`~posekit.inference.video.VideoPosePipeline` also tiles its
        retries for people it missed (``detect(image, tiled=True)``). Other ``tiles`` settings are
        kept as they are.
        """
        if self.tiles != "auto":
            return self
        video = copy.copy(self)
        video.max_levels = VIDEO_TILE_LEVELS
        video.tile_every = VIDEO_TILE_EVERY
        video.reset()
        return video

    def tile_sides(self, image_size: tuple[int, int]) -> list[int]:
        """Tile side of every level for an image of size ``(w, h)`` (empty: no tiling)."""
        width, height = check_image_size(image_size)
        if self.tiles == "off":
            return []
        if self.tiles == "auto":
            return auto_tile_sides((width, height), self.min_tile_side, self.zoom_step, self.max_levels)
        return [max(1, round(max(width, height) / int(self.tiles)))]

    def tile_regions(self, image_size: tuple[int, int]) -> np.ndarray:
        """All tiles of all levels, ``(T, 4)`` int64 ``(x0, y0, x1, y1)`` (end exclusive), coarse levels first."""
        regions = [plan_tiles(image_size, side, self.overlap) for side in self.tile_sides(image_size)]
        return np.concatenate(regions) if regions else np.zeros((0, 4), np.int64)

    def detect(self, image: np.ndarray, tiled: bool | None = None) -> PersonDetections:
        """People in ``image``: the wrapped detector on the whole image and on every tile, merged.

        Args:
            image: ``(H, W, 3)`` uint8 RGB (other layouts/dtypes go through ``to_rgb_uint8``).
            tiled: ``None``: tile as ``tile_every`` says; ``True``: tile this call whatever the
                schedule (video retries for people only tiles may find); ``False``: the whole image
                only. Every call counts towards the schedule.

        Returns:
            ``PersonDetections`` in image pixels, best first. ``last_num_runs`` is set to the number of
            runs of the wrapped detector (1 + number of tiles).
        """
        image = to_rgb_uint8(image)
        height, width = image.shape[:2]
        size = (width, height)
        whole = self.detector.detect(image)
        tiled = self.calls % self.tile_every == 0 if tiled is None else bool(tiled)
        self.calls += 1
        regions = self.tile_regions(size) if tiled else np.zeros((0, 4), np.int64)
        self.last_num_runs = 1 + int(regions.shape[0])
        if regions.shape[0] == 0:
            if self.max_detections is None:
                return whole
            return whole.select(np.arange(min(len(whole), self.max_detections)))
        found = [whole]
        for x0, y0, x1, y1 in regions.tolist():
            crop = image[y0:y1, x0:x1]
            detections = shift_detections(self.detector.detect(crop), (x0, y0), size)
            if len(detections) == 0:
                continue
            # Tile sides on the image border are open: the border cuts everyone alike.
            open_region = np.array(
                [
                    -np.inf if x0 == 0 else x0 - 0.5,
                    -np.inf if y0 == 0 else y0 - 0.5,
                    np.inf if x1 == width else x1 - 0.5,
                    np.inf if y1 == height else y1 - 0.5,
                ]
            )
            squares = body_squares(detections.keypoints.astype(np.float64))  # (N, 4)
            has_points = np.isfinite(squares).all(axis=1)
            regions_used = np.where(has_points[:, None], squares, detections.boxes.astype(np.float64))
            keep = inside_fraction(regions_used, open_region) >= self.min_inside
            found.append(detections.select(np.flatnonzero(keep)))
        return merge_detections(found, size, self.nms_iou, self.weighted, self.max_detections, self.containment)
