"""BlazePose detector: anchors, decoding, weighted NMS and the letterbox crop by hand; real and degenerate images."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from posekit.inference.blazepose.detector import (
    BlazePoseDetector,
    PersonDetections,
    crop_rotated_rect,
    decode_detections,
    fixed_point_warp_maps,
    pad_roi_to_aspect,
    sigmoid,
    ssd_anchors,
    weighted_non_max_suppression,
)


@pytest.fixture(scope="module")
def detector() -> BlazePoseDetector:
    return BlazePoseDetector(num_threads=1)


def read_rgb(path: Path) -> np.ndarray:
    """Read an image file as (H, W, 3) uint8 RGB."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, f"cannot read {path}"
    return np.ascontiguousarray(image[:, :, ::-1])


def test_anchor_count_and_positions_by_hand() -> None:
    anchors = ssd_anchors()
    assert anchors.shape == (2254, 2)  # 28*28*2 + 14*14*2 + 7*7*6
    # Stride 8: 28x28 cells, 2 anchors per cell (aspect 1 + interpolated scale), row-major.
    np.testing.assert_allclose(anchors[0], [0.5 / 28, 0.5 / 28])
    np.testing.assert_allclose(anchors[1], [0.5 / 28, 0.5 / 28])
    np.testing.assert_allclose(anchors[2], [1.5 / 28, 0.5 / 28])
    np.testing.assert_allclose(anchors[56], [0.5 / 28, 1.5 / 28])
    # Stride 16 starts after 1568 anchors; the three stride-32 layers share one 7x7 map, 6 anchors per cell.
    np.testing.assert_allclose(anchors[1568], [0.5 / 14, 0.5 / 14])
    np.testing.assert_allclose(anchors[1960:1966], np.full((6, 2), 0.5 / 7))
    np.testing.assert_allclose(anchors[1966], [1.5 / 7, 0.5 / 7])
    np.testing.assert_allclose(anchors[-1], [6.5 / 7, 6.5 / 7])


def test_decode_detections_by_hand() -> None:
    anchors = np.array([[0.5, 0.5], [0.25, 0.75], [0.5, 0.5], [0.5, 0.5]], np.float32)
    raw = np.zeros((4, 12), np.float32)
    raw[0, :4] = [22.4, -22.4, 44.8, 22.4]  # centre +0.1, -0.1; size 0.2 x 0.1 (scale 224)
    raw[0, 4:6] = [-22.4, 44.8]  # keypoint 0 at anchor + (-0.1, 0.2)
    raw[1, :4] = [0.0, 0.0, 22.4, 22.4]
    raw[3, :4] = [0.0, 0.0, -22.4, 22.4]  # negative width: dropped like MediaPipe
    logits = np.array([0.0, 1000.0, -1.0, 5.0], np.float32)  # sigmoid 0.5 (kept at >= 0.5), 1 (clipped), 0.27
    boxes, scores, keypoints = decode_detections(raw, logits, anchors, min_score=0.5)
    assert boxes.shape == (2, 4) and keypoints.shape == (2, 4, 2)
    np.testing.assert_allclose(boxes[0], [0.5, 0.35, 0.7, 0.45], atol=1e-6)
    np.testing.assert_allclose(scores, [0.5, 1.0], atol=1e-6)
    np.testing.assert_allclose(keypoints[0, 0], [0.4, 0.7], atol=1e-6)
    np.testing.assert_allclose(keypoints[0, 1], [0.5, 0.5], atol=1e-6)
    np.testing.assert_allclose(boxes[1], [0.2, 0.7, 0.3, 0.8], atol=1e-6)


def test_weighted_nms_merges_overlaps_with_score_weights() -> None:
    boxes = np.array([[0, 0, 1, 1], [5, 5, 6, 6], [0.1, 0, 1.1, 1], [3, 0, 4, 1]], np.float32)
    scores = np.array([0.9, 0.8, 0.6, 0.7], np.float32)
    keypoints = np.zeros((4, 2, 2), np.float32)
    keypoints[0], keypoints[2] = 1.0, 2.5
    out_boxes, out_scores, out_keypoints = weighted_non_max_suppression(boxes, scores, keypoints, 0.3)
    # Cluster {0, 2} (IoU 0.9/1.1 > 0.3) -> weighted mean with weights 0.9, 0.6; then box 1, then box 3.
    np.testing.assert_allclose(out_scores, [0.9, 0.8, 0.7])
    np.testing.assert_allclose(out_boxes[0], [0.06 / 1.5, 0.0, 1.56 / 1.5, 1.0], atol=1e-6)
    np.testing.assert_allclose(out_keypoints[0], np.full((2, 2), (0.9 * 1.0 + 0.6 * 2.5) / 1.5), atol=1e-6)
    np.testing.assert_allclose(out_boxes[1:], boxes[[1, 3]])
    # Overlap exactly at the threshold is not merged (MediaPipe: similarity > threshold).
    touching = np.array([[0, 0, 2, 1], [1, 0, 3, 1]], np.float32)  # IoU = 1/3
    _, kept, _ = weighted_non_max_suppression(touching, np.array([0.9, 0.8], np.float32), np.zeros((2, 1, 2)), 1 / 3)
    assert kept.shape == (2,)
    _, limited, _ = weighted_non_max_suppression(boxes, scores, keypoints, 0.3, max_detections=1)
    assert limited.shape == (1,)
    empty = weighted_non_max_suppression(np.zeros((0, 4)), np.zeros((0,)), np.zeros((0, 4, 2)))
    assert [array.shape[0] for array in empty] == [0, 0, 0]


def test_pad_roi_to_aspect_letterboxes_the_short_side() -> None:
    padded, padding = pad_roi_to_aspect(np.array([640.0, 480.0]), (224, 224))
    np.testing.assert_allclose(padded, [640, 640])
    np.testing.assert_allclose(padding, [0.0, 0.125, 0.0, 0.125])
    padded, padding = pad_roi_to_aspect(np.array([300.0, 600.0]), (256, 256))
    np.testing.assert_allclose(padded, [600, 600])
    np.testing.assert_allclose(padding, [0.25, 0.0, 0.25, 0.0])


def test_fixed_point_maps_and_identity_crop() -> None:
    map_xy, fraction = fixed_point_warp_maps(np.eye(3), (4, 3))
    np.testing.assert_array_equal(map_xy[..., 0], np.tile(np.arange(4), (3, 1)))
    assert not fraction.any()
    # Source shifted by half a pixel: integer part floor(x - 0.5), fraction 16/32.
    shift = np.array([[1, 0, 0.5], [0, 1, 0], [0, 0, 1]], np.float64)
    map_xy, fraction = fixed_point_warp_maps(shift, (4, 3))
    np.testing.assert_array_equal(map_xy[0, :, 0], [-1, 0, 1, 2])
    np.testing.assert_array_equal(fraction[0], [16, 16, 16, 16])
    image = np.random.default_rng(0).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    crop = crop_rotated_rect(image, (20.0, 15.0), (40.0, 30.0), 0.0, (40, 30), cv2.BORDER_CONSTANT)
    np.testing.assert_array_equal(crop, image)
    # A quarter turn of a square ROI is a pixel-exact rotation, one row off: MediaPipe maps the ROI corners
    # to the output corners (0, 0) .. (w, h) in pixel-index coordinates, so index i goes to w - i.
    square = np.ascontiguousarray(image[:30, :30])
    turned = crop_rotated_rect(square, (15.0, 15.0), (30.0, 30.0), np.pi / 2, (30, 30), cv2.BORDER_REPLICATE)
    np.testing.assert_array_equal(turned[1:], np.rot90(square, k=1)[:-1])
    np.testing.assert_array_equal(turned[0], turned[1])  # replicated border


def reference_fixed_point_warp_maps(matrix: np.ndarray, output_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The classic OpenCV warp maps written plainly over the whole grid (int64, explicit clamps)."""
    width, height = output_size
    inverse = np.linalg.inv(matrix.astype(np.float64))
    columns = np.arange(width, dtype=np.float64)[None, :]  # (1, w)
    rows = np.arange(height, dtype=np.float64)[:, None]  # (h, 1)
    denominator = inverse[2, 0] * columns + (inverse[2, 1] * rows + inverse[2, 2])  # (h, w)
    factor = np.where(denominator != 0, 32.0 / np.where(denominator != 0, denominator, 1.0), 0.0)
    limit = (float(np.iinfo(np.int32).min), float(np.iinfo(np.int32).max))
    source_x = np.clip((inverse[0, 0] * columns + (inverse[0, 1] * rows + inverse[0, 2])) * factor, *limit)
    source_y = np.clip((inverse[1, 0] * columns + (inverse[1, 1] * rows + inverse[1, 2])) * factor, *limit)
    fixed_x = np.rint(source_x).astype(np.int64)
    fixed_y = np.rint(source_y).astype(np.int64)
    map_xy = np.clip(np.stack([fixed_x >> 5, fixed_y >> 5], axis=-1), -32768, 32767).astype(np.int16)  # (h, w, 2)
    return map_xy, ((fixed_y & 31) * 32 + (fixed_x & 31)).astype(np.uint16)


def roi_matrix(
    center: tuple[float, float], size: tuple[float, float], degrees: float, output: tuple[int, int]
) -> np.ndarray:
    """The perspective matrix ``crop_rotated_rect`` builds for a rotated rectangle."""
    corners = cv2.boxPoints((center, size, degrees)).astype(np.float32)
    width, height = output
    targets = np.array([[0.0, height], [0.0, 0.0], [width, 0.0], [width, height]], np.float32)
    return cv2.getPerspectiveTransform(corners, targets)


def test_fixed_point_maps_are_bit_identical_to_the_plain_computation() -> None:
    generator = np.random.default_rng(7)
    cases: list[tuple[np.ndarray, tuple[int, int]]] = []
    for output in [(256, 256), (224, 224), (37, 5), (1, 1), (300, 2)]:
        for _ in range(8):  # BlazePose-like ROIs: anywhere, any size and rotation, partly outside the image
            center = (float(generator.uniform(-300, 1600)), float(generator.uniform(-300, 1000)))
            side = float(generator.uniform(2.0, 3000.0))
            cases.append(
                (
                    roi_matrix(center, (side, side * generator.uniform(0.5, 2)), generator.uniform(-180, 180), output),
                    output,
                )
            )
        # True perspective, huge magnifications (int16 and int32 saturation), zero denominators.
        perspective = np.eye(3) + generator.normal(0, 0.01, (3, 3))
        cases.append((perspective, output))
        cases.append((np.diag([1e-7, 1e-7, 1.0]), output))
        cases.append((np.array([[1e-12, 0, 0], [0, 1e-12, 0], [0, 0, 1.0]]), output))
        cases.append((np.linalg.inv(np.array([[1.0, 0, 0], [0, 1, 0], [1.0, 0, -1.0]])), output))  # W = x - 1
        cases.append((np.linalg.inv(np.array([[2.0, 0, 5], [0, 1, 0], [-0.5, 1.0, 0.5]])), output))
    for matrix, output in cases:
        expected = reference_fixed_point_warp_maps(matrix, output)
        map_xy, fraction = fixed_point_warp_maps(matrix, output)
        assert map_xy.dtype == np.int16 and fraction.dtype == np.uint16
        assert map_xy.shape == (output[1], output[0], 2) and map_xy.flags.c_contiguous
        np.testing.assert_array_equal(map_xy, expected[0])
        np.testing.assert_array_equal(fraction, expected[1])
    assert any((reference_fixed_point_warp_maps(m, o)[0] == 32767).any() for m, o in cases)  # saturation was tested
    with pytest.raises(ValueError, match="3, 3"):
        fixed_point_warp_maps(np.eye(2), (4, 4))


def test_crop_is_bit_identical_to_remap_with_plain_maps() -> None:
    image = np.random.default_rng(3).integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    for center, side, degrees in [
        ((640.5, 360.25), 500.0, 17.0),
        ((10.0, 700.0), 900.0, -135.0),
        ((1279, 0), 40.0, 90.0),
    ]:
        matrix = roi_matrix(center, (side, side), degrees, (256, 256))
        map_xy, fraction = reference_fixed_point_warp_maps(matrix, (256, 256))
        expected = cv2.remap(image, map_xy, fraction, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        crop = crop_rotated_rect(image, center, (side, side), np.radians(degrees), (256, 256), cv2.BORDER_REPLICATE)
        np.testing.assert_array_equal(crop, expected)


def test_sigmoid_is_the_float32_formula_without_overflow() -> None:
    logits = np.concatenate(
        [np.linspace(-88.0, 88.0, 20001, dtype=np.float32), np.array([0.0, -0.0, 1e-30, 15.9, -87.99], np.float32)]
    )
    naive = (np.float32(1.0) / (np.float32(1.0) + np.exp(-logits))).astype(np.float32)
    result = sigmoid(logits)
    assert result.dtype == np.float32 and result.shape == logits.shape
    np.testing.assert_array_equal(result, naive)  # bit for bit where exp(-x) does not overflow
    with np.errstate(all="raise"):  # no overflow (underflow to subnormal/0 is ignored, as numpy's default)
        with np.errstate(under="ignore"):
            extreme = sigmoid(np.array([-1e4, -200.0, -100.0, -88.5, 100.0, 1e4, np.inf, -np.inf], np.float32))
    np.testing.assert_allclose(extreme, [0, 0, np.exp(-100.0), np.exp(-88.5), 1, 1, 1, 0], rtol=1e-5, atol=1e-45)
    assert np.isnan(sigmoid(np.array([np.nan], np.float32)))[0]
    assert sigmoid(np.float32(0.0)).shape == () and float(sigmoid(np.float32(0.0))) == 0.5
    assert float(sigmoid(np.float32(-100.0))) > 0.0  # the naive formula gives exactly 0 (and a warning)


def test_detects_people_in_a_real_image(shared_data: Path, detector: BlazePoseDetector) -> None:
    image = read_rgb(shared_data / "coco_val2014_images" / "COCO_val2014_000000000536.jpg")
    detections = detector.detect(image)
    assert isinstance(detections, PersonDetections) and len(detections) >= 1
    assert detections.image_size == (image.shape[1], image.shape[0])
    assert np.all(np.diff(detections.scores) <= 0) and detections.scores.min() >= 0.5
    height, width = image.shape[:2]
    assert np.all(detections.keypoints[:, 0, 0] > 0) and np.all(detections.keypoints[:, 0, 0] < width)
    assert np.all(detections.keypoints[:, 0, 1] > 0) and np.all(detections.keypoints[:, 0, 1] < height * 1.2)
    # The face box lies above the hip centre (alignment point 0) for upright people.
    assert np.all(detections.boxes[:, 3] < detections.keypoints[:, 0, 1])
    limited = BlazePoseDetector(max_detections=1, num_threads=1).detect(image)
    assert len(limited) == 1
    np.testing.assert_allclose(limited.keypoints[0], detections.keypoints[0], atol=1e-4)


@pytest.mark.parametrize("shape", [(480, 640, 3), (1, 1, 3), (10, 10, 3), (6000, 8000, 3), (64, 7, 3)])
def test_images_without_people_return_no_detections(shape: tuple[int, int, int], detector: BlazePoseDetector) -> None:
    detections = detector.detect(np.zeros(shape, np.uint8))
    assert len(detections) == 0 and detections.boxes.shape == (0, 4) and detections.keypoints.shape == (0, 4, 2)
    assert detections.image_size == (shape[1], shape[0])


def test_other_layouts_are_converted_and_bad_ones_refused(shared_data: Path, detector: BlazePoseDetector) -> None:
    image = read_rgb(shared_data / "coco_val2014_images" / "COCO_val2014_000000000536.jpg")
    reference = detector.detect(image)
    as_uint16 = detector.detect(image.astype(np.uint16) * 257)
    np.testing.assert_allclose(as_uint16.keypoints, reference.keypoints, atol=1e-4)
    rgba = np.concatenate([image, np.full(image.shape[:2] + (1,), 255, np.uint8)], axis=2)
    np.testing.assert_allclose(detector.detect(rgba).scores, reference.scores, atol=1e-6)
    gray = detector.detect(image.mean(axis=2).astype(np.uint8))
    assert gray.keypoints.shape[1:] == (4, 2)
    with pytest.raises(ValueError, match="shape"):
        detector.detect(np.zeros((10, 10, 2), np.uint8))
    with pytest.raises(ValueError, match="32767"):
        detector.detect(np.zeros((2, 40000, 3), np.uint8))


def test_constructor_checks_arguments() -> None:
    with pytest.raises(ValueError, match="min_score"):
        BlazePoseDetector(min_score=1.5)
    with pytest.raises(ValueError, match="max_detections"):
        BlazePoseDetector(max_detections=0)
    with pytest.raises(FileNotFoundError):
        BlazePoseDetector(model_path="/nonexistent/pose_detection.tflite")
