"""Tiled person detection: tile plans, mapping back to image pixels, duplicate merging, real images."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from posekit.geometry import box_intersection_over_smaller, box_iou
from posekit.inference.blazepose.detector import BlazePoseDetector
from posekit.inference.detections import PersonDetections
from posekit.inference.tiling import (
    TiledPersonDetector,
    auto_tile_sides,
    body_squares,
    inside_fraction,
    merge_detections,
    plan_tiles,
    shift_detections,
    tile_starts,
)


class MarkerDetector:
    """A fake person detector: every red marker (R=255, G=0) is a face; the body hangs below it.

    For a marker covering columns ``a..b`` and rows ``c..d`` (inclusive) the face box is
    ``(a, c, b, d)``, the hip centre is 3 marker heights below the marker's top-left corner and the
    size point 2 marker heights above the hip centre (body radius 2 marker heights). Records the
    shape of every image it sees.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def detect(self, image: np.ndarray) -> PersonDetections:
        self.calls.append((image.shape[1], image.shape[0]))
        mask = ((image[:, :, 0] == 255) & (image[:, :, 1] == 0)).astype(np.uint8)
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        boxes, keypoints = [], []
        for left, top, width, height, _ in stats[1:count]:
            boxes.append([left, top, left + width - 1, top + height - 1])
            hip = np.array([left, top + 3.0 * height])
            keypoints.append([hip, hip - [0.0, 2.0 * height], hip - [0.0, 2.5 * height], hip - [0.0, 3.5 * height]])
        if not boxes:
            return PersonDetections.empty((image.shape[1], image.shape[0]))
        scores = np.linspace(0.9, 0.8, len(boxes)).astype(np.float32)
        return PersonDetections(
            boxes=np.asarray(boxes, np.float32),
            scores=scores,
            keypoints=np.asarray(keypoints, np.float32),
            image_size=(image.shape[1], image.shape[0]),
        )


def marker_image(size: tuple[int, int], markers: list[tuple[int, int, int]]) -> np.ndarray:
    """``(h, w, 3)`` grey image with square red markers ``(left, top, side)``."""
    image = np.full((size[1], size[0], 3), 90, np.uint8)
    for left, top, side in markers:
        image[top : top + side, left : left + side] = (255, 0, 0)
    return image


def test_tile_starts_and_plan_by_hand() -> None:
    # 640 px, tiles of 320, stride at most 240: 3 tiles at 0, 160, 320; 480 px: 2 tiles at 0, 160.
    np.testing.assert_array_equal(tile_starts(640, 320, 0.25), [0, 160, 320])
    np.testing.assert_array_equal(tile_starts(480, 320, 0.25), [0, 160])
    np.testing.assert_array_equal(tile_starts(300, 320, 0.25), [0])  # tile longer than the side
    np.testing.assert_array_equal(tile_starts(1000, 400, 0.0), [0, 300, 600])  # ceil(600 / 400) + 1 = 3
    tiles = plan_tiles((640, 480), 320, 0.25)
    assert tiles.shape == (6, 4)
    np.testing.assert_array_equal(tiles[0], [0, 0, 320, 320])
    np.testing.assert_array_equal(tiles[2], [320, 0, 640, 320])
    np.testing.assert_array_equal(tiles[-1], [320, 160, 640, 480])
    # Tiles are cut to a short image side.
    np.testing.assert_array_equal(plan_tiles((640, 200), 320, 0.25)[:, 3], [200, 200, 200])
    with pytest.raises(ValueError, match="overlap"):
        tile_starts(100, 50, 1.0)


def test_auto_tile_sides() -> None:
    assert auto_tile_sides((1920, 1080), min_tile_side=224) == [960, 480]
    assert auto_tile_sides((1920, 1080), min_tile_side=224, max_levels=3) == [960, 480, 240]
    assert auto_tile_sides((640, 480), min_tile_side=224) == [320]
    assert auto_tile_sides((480, 640), min_tile_side=224) == [320]
    assert auto_tile_sides((440, 300), min_tile_side=224) == []  # 220 < 224: not tiled
    assert auto_tile_sides((640, 480), min_tile_side=448) == []


def test_body_squares_and_inside_fraction_by_hand() -> None:
    keypoints = np.zeros((1, 4, 2))
    keypoints[0, 0] = [50.0, 60.0]  # hip centre
    keypoints[0, 1] = [50.0, 30.0]  # radius 30
    np.testing.assert_allclose(body_squares(keypoints), [[20.0, 30.0, 80.0, 90.0]])
    square = np.array([[20.0, 30.0, 80.0, 90.0]])
    np.testing.assert_allclose(inside_fraction(square, np.array([0.0, 0.0, 50.0, 200.0])), [0.5])
    np.testing.assert_allclose(inside_fraction(square, np.array([0.0, 0.0, 35.0, 45.0])), [0.25 * 0.25])
    # An open (infinite) side keeps everything beyond it.
    np.testing.assert_allclose(inside_fraction(square, np.array([-np.inf, 0.0, 50.0, np.inf])), [0.5])
    np.testing.assert_allclose(inside_fraction(square, np.array([100.0, 0.0, 200.0, 200.0])), [0.0])


def test_shift_detections_moves_boxes_and_points() -> None:
    detections = PersonDetections(
        boxes=np.array([[1.0, 2.0, 3.0, 4.0]], np.float32),
        scores=np.array([0.7], np.float32),
        keypoints=np.arange(8, dtype=np.float32).reshape(1, 4, 2),
        image_size=(10, 10),
    )
    moved = shift_detections(detections, (100, 50), (400, 300))
    np.testing.assert_allclose(moved.boxes, [[101.0, 52.0, 103.0, 54.0]])
    np.testing.assert_allclose(moved.keypoints[0, :, 0], [100.0, 102.0, 104.0, 106.0])
    np.testing.assert_allclose(moved.keypoints[0, :, 1], [51.0, 53.0, 55.0, 57.0])
    assert moved.image_size == (400, 300)


def test_merge_detections_weighted_and_containment_by_hand() -> None:
    points = np.zeros((1, 4, 2), np.float32)
    first = PersonDetections(
        np.array([[0.0, 0.0, 10.0, 10.0]], np.float32), np.array([0.9], np.float32), points, (100, 100)
    )
    second = PersonDetections(
        np.array([[2.0, 0.0, 12.0, 10.0]], np.float32), np.array([0.6], np.float32), points + 3.0, (100, 100)
    )
    far = PersonDetections(
        np.array([[50.0, 50.0, 60.0, 60.0]], np.float32), np.array([0.7], np.float32), points, (100, 100)
    )
    merged = merge_detections([first, second, far], (100, 100), iou_threshold=0.3)
    # IoU(first, second) = 80 / 120 > 0.3: one person, weights 0.6 and 0.4.
    assert len(merged) == 2
    np.testing.assert_allclose(merged.scores, [0.9, 0.7])
    np.testing.assert_allclose(merged.boxes[0], [0.8, 0.0, 10.8, 10.0], atol=1e-5)
    np.testing.assert_allclose(merged.keypoints[0], np.full((4, 2), 1.2), atol=1e-5)
    best = merge_detections([first, second, far], (100, 100), weighted=False)
    np.testing.assert_allclose(best.boxes[0], [0.0, 0.0, 10.0, 10.0])
    # A small face box inside a large one: IoU 0.25, merged only with containment.
    inner = PersonDetections(
        np.array([[0.0, 0.0, 5.0, 5.0]], np.float32), np.array([0.5], np.float32), points, (100, 100)
    )
    assert box_iou(first.boxes, inner.boxes)[0, 0] == pytest.approx(0.25)
    assert len(merge_detections([first, inner], (100, 100))) == 2
    assert len(merge_detections([first, inner], (100, 100), containment=0.6)) == 1
    assert len(merge_detections([], (100, 100))) == 0


def test_tiled_detections_map_back_to_image_pixels_without_duplicates() -> None:
    fake = MarkerDetector()
    markers = [(100, 100, 12), (700, 400, 10), (1500, 200, 14)]
    image = marker_image((1920, 1080), markers)
    plain = fake.detect(image)
    tiled = TiledPersonDetector(fake, tiles="auto", min_tile_side=224)
    found = tiled.detect(image)
    # Full image + 6 tiles of 960 + 15 tiles of 480.
    assert tiled.last_num_runs == 22 == len(fake.calls) - 1
    assert sorted(fake.calls[2:])[0] == (480, 480)
    # Every marker is one detection, at exactly the coordinates the full-image run gives.
    assert len(found) == len(plain) == 3
    order = np.argsort(found.boxes[:, 0])
    reference = np.argsort(plain.boxes[:, 0])
    np.testing.assert_allclose(found.boxes[order], plain.boxes[reference], atol=1e-4)
    np.testing.assert_allclose(found.keypoints[order], plain.keypoints[reference], atol=1e-4)
    np.testing.assert_allclose(found.boxes[order][:, :2], np.asarray(markers, np.float32)[:, :2])


def test_person_cut_by_a_tile_border_is_dropped_unless_the_border_is_the_image_edge() -> None:
    fake = MarkerDetector()
    # Tiles of 320 on 640 x 480: columns 0-319, 160-479, 320-639; rows 0-319, 160-479.
    # The marker at x = 300 has its body square (radius 40) across x = 320: mostly outside the first
    # column of tiles, fully inside the second.
    image = marker_image((640, 480), [(300, 200, 20)])
    tiled = TiledPersonDetector(fake, tiles="auto", min_tile_side=224, min_inside=0.6, containment=None)
    found = tiled.detect(image)
    assert len(found) == 1
    # The body square of a marker at the image's left edge is mostly outside the image, but that side
    # of the tile is the image edge: kept, and merged with the full-image detection.
    edge = marker_image((640, 480), [(0, 200, 20)])
    assert len(tiled.detect(edge)) == 1
    # Without the full image (a detector that finds nothing on it), the tile detection must survive.

    class TilesOnly(MarkerDetector):
        def detect(self, image: np.ndarray) -> PersonDetections:
            if image.shape[:2] == (480, 640):
                return PersonDetections.empty((640, 480))
            return super().detect(image)

    assert len(TiledPersonDetector(TilesOnly(), tiles="auto", min_tile_side=224).detect(edge)) == 1
    # A marker on rows 310-329 is cut by the bottom border (y = 320) of the top row of tiles: there the
    # fake detector sees a 10-row face and puts a small body at rows 320-360, wholly outside the tile,
    # which must be dropped rather than averaged into the person seen whole by the bottom row of tiles.
    cut = marker_image((640, 480), [(300, 310, 20)])
    whole = MarkerDetector().detect(cut)
    for min_inside, exact in ((0.6, True), (0.0, False)):
        detections = TiledPersonDetector(TilesOnly(), tiles="auto", min_tile_side=224, min_inside=min_inside).detect(
            cut
        )
        assert len(detections) == 1
        assert np.allclose(detections.keypoints, whole.keypoints) == exact
        assert np.allclose(detections.boxes, whole.boxes) == exact


def test_no_tiling_on_small_images_or_when_off() -> None:
    fake = MarkerDetector()
    small = marker_image((400, 300), [(50, 50, 10)])
    tiled = TiledPersonDetector(fake, tiles="auto", min_tile_side=224)
    assert len(tiled.detect(small)) == 1
    assert tiled.last_num_runs == 1 and fake.calls == [(400, 300)]
    off = TiledPersonDetector(fake, tiles="off")
    off.detect(marker_image((1920, 1080), []))
    assert off.last_num_runs == 1
    fixed = TiledPersonDetector(fake, tiles=2)
    assert fixed.tile_sides((400, 300)) == [200]
    np.testing.assert_array_equal(fixed.tile_regions((400, 300))[0], [0, 0, 200, 200])
    for bad in ("some", 1, True):
        with pytest.raises(ValueError, match="tiles"):
            TiledPersonDetector(fake, tiles=bad)


def test_tiling_finds_at_least_the_plain_detections_on_a_real_frame(shared_data: Path) -> None:
    path = shared_data / "posetrack18" / "images" / "val" / "012834_mpii_test" / "000000.jpg"
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None
    image = np.ascontiguousarray(image[:, :, ::-1])  # BGR -> RGB, 1920 x 1080, 11 annotated people
    detector = BlazePoseDetector(num_threads=1)
    plain = detector.detect(image)
    tiled = TiledPersonDetector(detector, tiles="auto")
    found = tiled.detect(image)
    assert tiled.last_num_runs == 22
    assert len(found) > len(plain)
    # Nobody the plain detector finds is lost: each plain face box overlaps a tiled one or contains one
    # (the plain detector's one box here spans two dancers whom the tiles find separately).
    if len(plain):
        overlap = np.maximum(box_iou(plain.boxes, found.boxes), box_intersection_over_smaller(plain.boxes, found.boxes))
        assert (overlap.max(axis=1) > 0.6).all()
    width, height = image.shape[1], image.shape[0]
    assert (found.keypoints[:, 0, 0] > -width).all() and (found.keypoints[:, 0, 0] < 2 * width).all()
    assert (found.boxes[:, 3] <= height + 50).all()
    assert np.all(np.diff(found.scores) <= 0)


def test_tile_every_tiles_the_first_call_and_every_nth_after() -> None:
    fake = MarkerDetector()
    image = marker_image((1280, 720), [(100, 100, 12)])
    tiled = TiledPersonDetector(fake, tiles="auto", max_levels=1, tile_every=3)
    runs = []
    for _ in range(7):
        assert len(tiled.detect(image)) == 1
        runs.append(tiled.last_num_runs)
    tiled_runs = runs[0]
    assert tiled_runs > 1
    assert runs == [tiled_runs, 1, 1, tiled_runs, 1, 1, tiled_runs]
    tiled.detect(image)
    tiled.reset()  # a new video: its first detection is tiled whatever the previous one did
    tiled.detect(image)
    assert tiled.last_num_runs == tiled_runs
    # A caller may force tiling (or the whole image only) for one call; the call still counts.
    tiled.reset()
    runs = []
    for force in (None, True, False, None, None):
        tiled.detect(image, tiled=force)
        runs.append(tiled.last_num_runs)
    assert runs == [tiled_runs, tiled_runs, 1, tiled_runs, 1]
    with pytest.raises(ValueError, match="tile_every"):
        TiledPersonDetector(fake, tile_every=0)
