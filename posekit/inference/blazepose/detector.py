"""BlazePose person detector (Google's ``pose_detection.tflite``) without mediapipe.

The pre- and post-processing reproduce MediaPipe 0.10.14's ``PoseDetectionCpu`` graph (options read
from the graph compiled into that wheel):

1. ``ImageToTensorCalculator``: the whole image, letterboxed (aspect ratio kept, zero border) to
   224 x 224 with OpenCV's classic fixed-point bilinear warp (see ``fixed_point_warp_maps``), values
   mapped from [0, 255] to [-1, 1];
2. ``SsdAnchorsCalculator``: 5 layers, strides (8, 16, 32, 32, 32), fixed anchor size, one aspect
   ratio plus the interpolated one -> 28*28*2 + 14*14*2 + 7*7*6 = 2,254 anchors (the three stride-32
   layers share one 7 x 7 map);
3. ``TensorsToDetectionsCalculator``: box and 4 keypoints decoded relative to the anchors with
   x/y/w/h scale 224, scores = sigmoid(clip(logit, -100, 100)), kept when >= ``min_score``;
4. ``NonMaxSuppressionCalculator``: WEIGHTED algorithm, IoU > 0.3 suppresses, the kept box and
   keypoints are the score-weighted mean of the suppressed cluster (score of the best one);
5. ``DetectionLetterboxRemovalCalculator``: back to coordinates on the input image.

The detector's "box" is the face box; the four keypoints are the alignment points used to build the
body ROI (see ``posekit.inference.blazepose.landmarks.detections_to_rois``):
0 mid-hip centre, 1 full-body size/rotation point, 2 mid-shoulder centre, 3 upper-body size/rotation point.

Pixel convention: MediaPipe works in normalised image coordinates; pixels here are those values
times the image width/height, exactly as MediaPipe's own pixel conversions do. Because MediaPipe's
crop maps tensor pixel indices linearly onto image pixel indices (tensor index 0 samples image index
0 when nothing is cropped), these are posekit's pixel coordinates: the centre of the top-left pixel is
(0, 0).

Reference: V. Bazarevsky et al., "BlazePose: On-device Real-time Body Pose tracking", CVPR-W 2020
(arXiv:2006.10204), section 2 (detector + alignment points).
"""

from __future__ import annotations

import functools
import math
import sys
from pathlib import Path

import cv2
import numpy as np

from posekit.inference.blazepose.assets import BLAZEPOSE_DETECTOR_FILE, TfliteModel, blazepose_asset_path
from posekit.inference.detections import PersonDetections
from posekit.inference.image import to_rgb_uint8

__all__ = [
    "BlazePoseDetector",
    "crop_rotated_rect",
    "decode_detections",
    "fixed_point_warp_maps",
    "pad_roi_to_aspect",
    "sigmoid",
    "ssd_anchors",
    "weighted_non_max_suppression",
]

DETECTOR_INPUT_SIZE = 224
NUM_ANCHORS = 2254
# float32 exp(88) = 1.65e38 is finite; exp(88.73) overflows.
_SIGMOID_EXP_LIMIT = 88.0


def sigmoid(values: np.ndarray) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-x))`` in float32 without overflow (no RuntimeWarning).

    For ``x >= -88`` the result is bit for bit the textbook formula that MediaPipe evaluates in float32
    (``1.0f / (1.0f + std::exp(-x))``). Below, where ``exp(-x)`` nears or passes the float32 limit (the
    textbook formula then returns a subnormal, or 0 after an overflow to inf), it is ``exp(x)``: the
    correctly rounded tiny value (under 1.7e-38; 0 below about -104). NaN stays NaN.

    Args:
        values: array of any shape (logits).

    Returns:
        float32 array of the same shape, in [0, 1].
    """
    logits = np.asarray(values, dtype=np.float32)
    limit = np.float32(-_SIGMOID_EXP_LIMIT)
    result = np.asarray(1.0 / (1.0 + np.exp(-np.maximum(logits, limit))), dtype=np.float32)
    low = logits < limit
    if np.any(low):
        result = np.where(low, np.exp(np.minimum(logits, limit)), result)
    return result


def _anchor_scale(min_scale: float, max_scale: float, stride_index: int, num_strides: int) -> float:
    if num_strides == 1:
        return (min_scale + max_scale) * 0.5
    return min_scale + (max_scale - min_scale) * stride_index / (num_strides - 1.0)


@functools.lru_cache(maxsize=4)
def ssd_anchors(
    input_size: tuple[int, int] = (DETECTOR_INPUT_SIZE, DETECTOR_INPUT_SIZE),
    strides: tuple[int, ...] = (8, 16, 32, 32, 32),
    anchor_offset: tuple[float, float] = (0.5, 0.5),
    interpolated_scale_aspect_ratio: float = 1.0,
    aspect_ratios: tuple[float, ...] = (1.0,),
) -> np.ndarray:
    """SSD anchor centres in the order of MediaPipe's ``SsdAnchorsCalculator`` (fixed anchor size).

    Consecutive layers with the same stride share one feature map; on it, every cell gets one
    anchor per aspect ratio per merged layer plus one interpolated-scale anchor per merged layer.
    With ``fixed_anchor_size`` (the pose detector's setting) the anchor width and height are 1, so
    only the centres matter.

    Args:
        input_size: ``(w, h)`` of the model input.
        strides: one stride per layer.
        anchor_offset: ``(x, y)`` offset of an anchor centre inside its cell, in cells.
        interpolated_scale_aspect_ratio: > 0 adds one extra anchor per layer (as MediaPipe).
        aspect_ratios: aspect ratios per layer.

    Returns:
        ``(A, 2)`` float32 anchor centres ``(x, y)`` normalised to [0, 1] (width = height = 1).
    """
    width, height = input_size
    anchors_per_map: list[np.ndarray] = []
    layer_id = 0
    num_layers = len(strides)
    while layer_id < num_layers:
        anchors_per_cell = 0
        last_same_stride_layer = layer_id
        while last_same_stride_layer < num_layers and strides[last_same_stride_layer] == strides[layer_id]:
            anchors_per_cell += len(aspect_ratios) + (1 if interpolated_scale_aspect_ratio > 0.0 else 0)
            last_same_stride_layer += 1
        feature_height = math.ceil(height / strides[layer_id])
        feature_width = math.ceil(width / strides[layer_id])
        rows, cols = np.meshgrid(np.arange(feature_height), np.arange(feature_width), indexing="ij")
        centers = np.stack(
            [(cols + anchor_offset[0]) / feature_width, (rows + anchor_offset[1]) / feature_height], axis=-1
        )  # (fh, fw, 2)
        centers = np.repeat(centers.reshape(-1, 1, 2), anchors_per_cell, axis=1)  # (fh*fw, anchors_per_cell, 2)
        anchors_per_map.append(centers.reshape(-1, 2))  # (fh*fw*anchors_per_cell, 2)
        layer_id = last_same_stride_layer
    anchors = np.concatenate(anchors_per_map, axis=0).astype(np.float32)
    anchors.setflags(write=False)
    return anchors


def decode_detections(
    raw_boxes: np.ndarray,
    raw_scores: np.ndarray,
    anchors: np.ndarray,
    min_score: float,
    scale: float = float(DETECTOR_INPUT_SIZE),
    score_clipping: float = 100.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode the detector's raw outputs (``TensorsToDetectionsCalculator``, XYWH order, 4 keypoints).

    Args:
        raw_boxes: ``(A, 4 + 2*P)`` float32: centre offsets x, y, size w, h, then P keypoint offsets (x, y),
            all in units of ``scale`` relative to the anchor.
        raw_scores: ``(A,)`` or ``(A, 1)`` score logits.
        anchors: ``(A, 2)`` anchor centres, normalised (fixed anchor size 1).
        min_score: keep detections whose sigmoid score is >= this.
        scale: x/y/w/h scale of the offsets (224 for the pose detector).
        score_clipping: logits are clipped to ``[-score_clipping, score_clipping]`` before the sigmoid.

    Returns:
        ``boxes (M, 4)`` normalised xyxy, ``scores (M,)``, ``keypoints (M, P, 2)`` normalised (x, y), in
        anchor order, for the M kept detections.
    """
    if raw_boxes.ndim != 2 or raw_boxes.shape[1] < 4 or (raw_boxes.shape[1] - 4) % 2:
        raise ValueError(f"raw_boxes must have shape (A, 4 + 2*P), got {raw_boxes.shape}")
    num_anchors = raw_boxes.shape[0]
    logits = raw_scores.reshape(-1).astype(np.float32)
    if logits.shape[0] != num_anchors or anchors.shape != (num_anchors, 2):
        raise ValueError(
            f"raw_scores and anchors must match raw_boxes' {num_anchors} anchors, "
            f"got {raw_scores.shape}, {anchors.shape}"
        )
    scores = sigmoid(np.clip(logits, -score_clipping, score_clipping))
    keep = scores >= min_score
    values = raw_boxes[keep].astype(np.float32)  # (M, 4 + 2P)
    kept_anchors = anchors[keep]  # (M, 2)
    centers = values[:, 0:2] / scale + kept_anchors  # (M, 2) x, y; anchor size is 1
    sizes = values[:, 2:4] / scale  # (M, 2) w, h
    boxes = np.concatenate([centers - sizes / 2.0, centers + sizes / 2.0], axis=1)  # (M, 4) xyxy
    num_points = (values.shape[1] - 4) // 2
    keypoints = values[:, 4:].reshape(-1, num_points, 2) / scale + kept_anchors[:, None, :]  # (M, P, 2)
    valid = np.all(sizes >= 0.0, axis=1) & np.all(np.isfinite(sizes), axis=1)  # MediaPipe drops w<0, h<0, NaN
    return boxes[valid], scores[keep][valid].astype(np.float32), keypoints[valid].astype(np.float32)


def _iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one xyxy box ``(4,)`` with ``(M, 4)`` boxes; 0 where they do not overlap or the union is 0."""
    width = np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0])
    height = np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1])
    intersection = np.where((width > 0) & (height > 0), width * height, 0.0)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - intersection
    return np.where(union > 0, intersection / np.where(union > 0, union, 1.0), 0.0)


def weighted_non_max_suppression(
    boxes: np.ndarray,
    scores: np.ndarray,
    keypoints: np.ndarray,
    iou_threshold: float = 0.3,
    max_detections: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MediaPipe's WEIGHTED non-maximum suppression (``NonMaxSuppressionCalculator``).

    Repeatedly takes the best remaining detection, gathers every remaining detection whose IoU with it
    is > ``iou_threshold`` (itself included), and outputs the score-weighted mean of their boxes and
    keypoints with the best detection's score. Ties in score keep the input order (stable sort).

    Args:
        boxes: ``(M, 4)`` xyxy boxes (any consistent units).
        scores: ``(M,)`` scores.
        keypoints: ``(M, P, 2)`` keypoints in the same units as the boxes.
        iou_threshold: detections overlapping the best one by more than this are merged into it.
        max_detections: stop after this many outputs (``None``: no limit).

    Returns:
        ``boxes (N, 4)``, ``scores (N,)``, ``keypoints (N, P, 2)`` sorted by decreasing score.
    """
    count = scores.shape[0]
    if boxes.shape != (count, 4) or keypoints.ndim != 3 or keypoints.shape[0] != count or keypoints.shape[2] != 2:
        raise ValueError(
            "expected boxes (M, 4), scores (M,), keypoints (M, P, 2), "
            f"got {boxes.shape}, {scores.shape}, {keypoints.shape}"
        )
    if max_detections is not None and max_detections < 1:
        raise ValueError(f"max_detections must be a positive integer or None, got {max_detections}")
    order = np.argsort(-scores, kind="stable")
    remaining = order
    kept_boxes: list[np.ndarray] = []
    kept_scores: list[float] = []
    kept_keypoints: list[np.ndarray] = []
    while remaining.size > 0:
        best = remaining[0]
        overlaps = _iou_one_to_many(boxes[best], boxes[remaining])
        in_cluster = overlaps > iou_threshold
        cluster = remaining[in_cluster]
        if cluster.size > 0:
            weights = scores[cluster].astype(np.float64)
            total = weights.sum()
            merged_box = (boxes[cluster] * weights[:, None]).sum(axis=0) / total
            merged_keypoints = (keypoints[cluster] * weights[:, None, None]).sum(axis=0) / total
        else:  # degenerate (zero-area) best box: kept as is
            merged_box = boxes[best].astype(np.float64)
            merged_keypoints = keypoints[best].astype(np.float64)
        kept_boxes.append(merged_box)
        kept_scores.append(float(scores[best]))
        kept_keypoints.append(merged_keypoints)
        if max_detections is not None and len(kept_scores) >= max_detections:
            break
        if cluster.size == 0:  # MediaPipe stops when an iteration removes nothing
            break
        remaining = remaining[~in_cluster]
    num_points = keypoints.shape[1]
    if not kept_scores:
        return np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), np.zeros((0, num_points, 2), np.float32)
    return (
        np.stack(kept_boxes).astype(np.float32),
        np.asarray(kept_scores, np.float32),
        np.stack(kept_keypoints).astype(np.float32),
    )


def pad_roi_to_aspect(size: np.ndarray, output_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Grow ROI sizes to the output aspect ratio (MediaPipe ``PadRoi`` with ``keep_aspect_ratio``).

    Args:
        size: ``(..., 2)`` ROI ``(w, h)`` in pixels, > 0.
        output_size: ``(w, h)`` of the output tensor.

    Returns:
        ``padded_size (..., 2)`` and ``padding (..., 4)``: the letterbox fractions (left, top, right,
        bottom) of the output that lie outside the original ROI.
    """
    output_aspect = output_size[1] / output_size[0]
    roi_aspect = size[..., 1] / size[..., 0]
    taller_output = output_aspect > roi_aspect
    padded = np.where(
        taller_output[..., None],
        np.stack([size[..., 0], size[..., 0] * output_aspect], axis=-1),
        np.stack([size[..., 1] / output_aspect, size[..., 1]], axis=-1),
    )
    vertical = np.where(taller_output, (1.0 - roi_aspect / output_aspect) / 2.0, 0.0)
    horizontal = np.where(taller_output, 0.0, (1.0 - output_aspect / roi_aspect) / 2.0)
    padding = np.stack([horizontal, vertical, horizontal, vertical], axis=-1)
    return padded, padding


# OpenCV's classic fixed-point bilinear warp: sample positions rounded to 1/32 pixel (INTER_BITS = 5).
_INTER_BITS = 5
_INTER_TAB_SIZE = 1 << _INTER_BITS
_FRACTION_MASK = _INTER_TAB_SIZE - 1
_INT32_RANGE = (float(np.iinfo(np.int32).min), float(np.iinfo(np.int32).max))
_INT16_RANGE = (int(np.iinfo(np.int16).min), int(np.iinfo(np.int16).max))
# Rows per block: about 16k samples, so that a block's float64 intermediates stay in the CPU cache.
_BLOCK_SAMPLES = 1 << 14


@functools.lru_cache(maxsize=8)
def _pixel_indices(length: int) -> np.ndarray:
    """``(length,)`` float64 ``0, 1, ..., length - 1`` (read-only, shared)."""
    indices = np.arange(length, dtype=np.float64)
    indices.setflags(write=False)
    return indices


def fixed_point_warp_maps(matrix: np.ndarray, output_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Sampling maps of a perspective warp in OpenCV's fixed-point format (``CV_16SC2`` + ``CV_16UC1``).

    MediaPipe 0.10.14 links an OpenCV whose ``warpPerspective`` computes, for output pixel (x, y), the
    source position ``inverse(matrix) @ (x, y, 1)`` in double precision, rounds it to 1/32 pixel and
    interpolates with 15-bit integer weights. OpenCV >= 4.11 (what ``pip install opencv-python`` gives)
    rewrote ``warpPerspective`` and rounds differently (up to 6 grey levels apart), which moves
    BlazePose landmarks by up to several pixels. ``cv2.remap`` with these maps reproduces the classic
    result bit for bit.

    The arithmetic is the classic one, operation for operation, in float64: with ``M = inverse(matrix)``,
    ``W = M20*x + (M21*y + M22)``, ``scale = 32 / W`` (0 where ``W == 0``), ``X = round((M00*x + (M01*y + M02))
    * scale)`` clamped to int32 (round half to even, like ``cvRound``), the same for ``Y``; the integer
    part ``X >> 5`` saturates to int16, the fraction is ``X & 31``. It runs on blocks of rows (the
    intermediates stay in the CPU cache) and skips the clamps when the corners of the grid prove them
    unnecessary: each computed quantity is monotone in x and in y (IEEE rounding is monotone), so its
    extremes over the grid are at the corners.

    Args:
        matrix: ``(3, 3)`` source-to-output transform (as given to ``cv2.warpPerspective``).
        output_size: ``(w, h)``.

    Returns:
        ``map_xy (h, w, 2)`` int16 integer source positions and ``map_fraction (h, w)`` uint16
        ``32 * y_fraction + x_fraction`` (fractions in 1/32 pixel).
    """
    if np.shape(matrix) != (3, 3):
        raise ValueError(f"matrix must have shape (3, 3), got {np.shape(matrix)}")
    width, height = (int(value) for value in output_size)
    if width < 1 or height < 1:
        raise ValueError(f"output_size must be (w, h) with positive sizes, got {output_size}")
    inverse = np.linalg.inv(np.asarray(matrix, dtype=np.float64))
    column_terms = inverse[:, 0:1] * _pixel_indices(width)  # (3, w): M[k, 0] * x
    row_terms = inverse[:, 1:2] * _pixel_indices(height) + inverse[:, 2:3]  # (3, h): M[k, 1] * y + M[k, 2]
    # Denominator and numerators at the four corners of the grid, bound the whole grid.
    corners = column_terms[:, [0, -1], None] + row_terms[:, None, [0, -1]]  # (3, 2, 2)
    corner_denominators = corners[2]
    no_zero_denominator = bool(np.all(corner_denominators > 0) or np.all(corner_denominators < 0))
    clamp = True
    if no_zero_denominator:
        # |X| <= max|numerator| * 32 / min|W|, with a margin for the two roundings.
        bound = float(np.abs(corners[:2]).max()) * (_INTER_TAB_SIZE / float(np.abs(corner_denominators).min()))
        clamp = not bound * (1.0 + 1e-9) + 1.0 < _INT16_RANGE[1] * _INTER_TAB_SIZE
    map_xy = np.empty((height, width, 2), np.int16)
    map_fraction = np.empty((height, width), np.uint16)
    # Little-endian int32 view of the interleaved (x, y) int16 pairs: x in the low half, y in the high half.
    packed_xy = map_xy.view(np.int32).reshape(height, width) if sys.byteorder == "little" else None
    block = max(1, _BLOCK_SAMPLES // width)
    for start in range(0, height, block):
        stop = min(start + block, height)
        rows = row_terms[:, start:stop]  # (3, b)
        scale = column_terms[2][None, :] + rows[2][:, None]  # (b, w): W
        if no_zero_denominator or scale.all():
            np.divide(float(_INTER_TAB_SIZE), scale, out=scale)
        else:
            zero = scale == 0
            scale[zero] = 1.0
            np.divide(float(_INTER_TAB_SIZE), scale, out=scale)
            scale[zero] = 0.0
        source = column_terms[:2, None, :] + rows[:2, :, None]  # (2, b, w): numerators of x and y
        source *= scale
        if clamp:
            np.clip(source, *_INT32_RANGE, out=source)
        fixed = np.empty(source.shape, np.int32)  # (2, b, w) positions in 1/32 pixel
        np.rint(source, out=fixed, casting="unsafe")
        fraction = np.bitwise_and(fixed[1], _FRACTION_MASK)
        fraction <<= _INTER_BITS
        fraction |= fixed[0] & _FRACTION_MASK
        map_fraction[start:stop] = fraction
        fixed >>= _INTER_BITS
        if clamp:
            np.clip(fixed, *_INT16_RANGE, out=fixed)
        if packed_xy is not None:
            packed = packed_xy[start:stop]
            np.left_shift(fixed[1], 16, out=packed)
            packed |= fixed[0] & 0xFFFF
        else:
            map_xy[start:stop, :, 0] = fixed[0]
            map_xy[start:stop, :, 1] = fixed[1]
    return map_xy, map_fraction


def crop_rotated_rect(
    image: np.ndarray,
    center: tuple[float, float],
    size: tuple[float, float],
    rotation: float,
    output_size: tuple[int, int],
    border_mode: int,
) -> np.ndarray:
    """Resample a rotated rectangle of ``image`` to ``output_size`` as MediaPipe's OpenCV converter does.

    The rectangle's corners (``cv2.boxPoints``) go to the output corners ``(0, h), (0, 0), (w, 0), (w, h)``
    (``cv2.getPerspectiveTransform``); bilinear sampling on the uint8 image with OpenCV's classic
    fixed-point arithmetic (see ``fixed_point_warp_maps``); the result stays uint8, as in MediaPipe,
    before the float conversion.

    Args:
        image: ``(H, W, 3)`` uint8.
        center: ``(x, y)`` in pixels.
        size: ``(w, h)`` in pixels (already padded to the output aspect ratio).
        rotation: radians, MediaPipe's sign convention (positive turns the rectangle clockwise on screen).
        output_size: ``(w, h)``.
        border_mode: ``cv2.BORDER_CONSTANT`` (zero) or ``cv2.BORDER_REPLICATE``.

    Returns:
        ``(h, w, 3)`` uint8 crop.

    Raises:
        ValueError: for images over 32767 pixels on a side (the fixed-point maps are int16).
    """
    if max(image.shape[:2]) > np.iinfo(np.int16).max:
        raise ValueError(
            f"images up to 32767 pixels per side are supported (OpenCV's fixed-point maps), got {image.shape[:2]}; "
            "resize the image first"
        )
    corners = cv2.boxPoints(
        ((float(center[0]), float(center[1])), (float(size[0]), float(size[1])), math.degrees(float(rotation)))
    ).astype(np.float32)  # (4, 2)
    width, height = output_size
    targets = np.array([[0.0, height], [0.0, 0.0], [width, 0.0], [width, height]], np.float32)
    matrix = cv2.getPerspectiveTransform(corners, targets)
    map_xy, map_fraction = fixed_point_warp_maps(matrix, output_size)
    return cv2.remap(
        image, map_xy, map_fraction, interpolation=cv2.INTER_LINEAR, borderMode=border_mode, borderValue=(0, 0, 0)
    )


class BlazePoseDetector:
    """BlazePose person detector (``pose_detection.tflite``) with MediaPipe 0.10.14's processing.

    Args:
        model_path: a ``pose_detection.tflite`` file; ``None`` uses the copy shipped with posekit.
        min_score: detections scoring below this are dropped (MediaPipe's graph: 0.5).
        nms_iou: IoU above which detections are merged by weighted NMS (MediaPipe: 0.3).
        max_detections: keep at most this many people (``None``: all).
        num_threads: CPU threads for the TFLite interpreter (``None``: runtime default).
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        min_score: float = 0.5,
        nms_iou: float = 0.3,
        max_detections: int | None = None,
        num_threads: int | None = None,
    ) -> None:
        if not 0.0 <= min_score <= 1.0:
            raise ValueError(f"min_score must be in [0, 1], got {min_score}")
        if not 0.0 <= nms_iou <= 1.0:
            raise ValueError(f"nms_iou must be in [0, 1], got {nms_iou}")
        if max_detections is not None and max_detections < 1:
            raise ValueError(f"max_detections must be a positive integer or None, got {max_detections}")
        path = Path(model_path) if model_path is not None else blazepose_asset_path(BLAZEPOSE_DETECTOR_FILE)
        self.model = TfliteModel(path, num_threads=num_threads)
        expected_input = (1, DETECTOR_INPUT_SIZE, DETECTOR_INPUT_SIZE, 3)
        if self.model.input_shape != expected_input:
            raise ValueError(f"{path} is not a BlazePose detector: input shape {self.model.input_shape}")
        self.min_score = float(min_score)
        self.nms_iou = float(nms_iou)
        self.max_detections = max_detections
        self.anchors = ssd_anchors()
        if self.anchors.shape[0] != NUM_ANCHORS:
            raise ValueError(f"anchor generation gave {self.anchors.shape[0]} anchors, expected {NUM_ANCHORS}")
        self._input = np.zeros(expected_input, np.float32)

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        """Letterbox ``image`` ((H, W, 3) uint8 RGB) into the model input buffer.

        Returns:
            ``(4,)`` letterbox padding (left, top, right, bottom) as fractions of the 224 x 224 input.
        """
        height, width = image.shape[:2]
        padded, padding = pad_roi_to_aspect(
            np.array([width, height], np.float64), (DETECTOR_INPUT_SIZE, DETECTOR_INPUT_SIZE)
        )
        crop = crop_rotated_rect(
            image,
            (0.5 * width, 0.5 * height),
            (float(padded[0]), float(padded[1])),
            0.0,
            (DETECTOR_INPUT_SIZE, DETECTOR_INPUT_SIZE),
            cv2.BORDER_CONSTANT,
        )
        # [0, 255] -> [-1, 1]
        np.multiply(crop, np.float32(2.0 / 255.0), out=self._input[0], casting="unsafe")
        self._input -= np.float32(1.0)
        return padding

    def detect(self, image: np.ndarray) -> PersonDetections:
        """Find people in one image.

        Args:
            image: ``(H, W, 3)`` uint8 RGB (other layouts/dtypes go through ``to_rgb_uint8``).

        Returns:
            ``PersonDetections`` with every person scoring >= ``min_score``, best first.
        """
        image = to_rgb_uint8(image)
        height, width = image.shape[:2]
        padding = self.preprocess(image)
        outputs = self.model(self._input)
        raw_boxes = outputs["Identity"].reshape(NUM_ANCHORS, -1)  # (1, 2254, 12) -> (2254, 12)
        raw_scores = outputs["Identity_1"].reshape(NUM_ANCHORS)  # (1, 2254, 1) -> (2254,)
        boxes, scores, keypoints = decode_detections(raw_boxes, raw_scores, self.anchors, self.min_score)
        boxes, scores, keypoints = weighted_non_max_suppression(
            boxes, scores, keypoints, self.nms_iou, self.max_detections
        )
        if scores.shape[0] == 0:
            return PersonDetections.empty((width, height))
        # Letterbox removal (normalised), then to pixels.
        left, top, right, bottom = (float(value) for value in padding)
        offset = np.array([left, top], np.float32)
        span = np.array([1.0 - left - right, 1.0 - top - bottom], np.float32)
        pixels = np.array([width, height], np.float32)
        boxes = ((boxes.reshape(-1, 2, 2) - offset) / span * pixels).reshape(-1, 4)  # (N, 4) -> (N, 2, 2) -> (N, 4)
        keypoints = (keypoints - offset) / span * pixels  # (N, 4, 2)
        return PersonDetections(
            boxes=boxes.astype(np.float32),
            scores=scores.astype(np.float32),
            keypoints=keypoints.astype(np.float32),
            image_size=(width, height),
        )
