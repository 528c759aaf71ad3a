"""BlazePose landmark model (Google's ``pose_landmark_full.tflite``) and its ROIs, without mediapipe.

Reproduces MediaPipe 0.10.14's ``PoseDetectionToRoi``, ``PoseLandmarksToRoi`` and
``PoseLandmarkByRoiCpu`` graphs (options read from the graphs compiled into that wheel):

* ROI from alignment points (``AlignmentPointsRectsCalculator`` + ``RectTransformationCalculator``):
  centre = point 0, side = 2 * |point 1 - point 0|, rotation = 90 deg - angle(point 0 -> point 1) with
  y flipped, then squared on the long side and scaled by 1.25;
* crop (``ImageToTensorCalculator``): the rotated ROI, padded to square, resampled to 256 x 256
  (OpenCV's classic fixed-point bilinear warp, replicated border), values in [0, 1];
* decoding (``TensorsToLandmarksCalculator``, 39 landmarks / 256, sigmoid visibility and presence),
  heatmap refinement (``RefineLandmarksFromHeatmapCalculator``, 9 x 9 window, min confidence 0.5),
  letterbox removal and projection back to the image (``LandmarkProjectionCalculator``; z scaled as
  x), world landmarks rotated by the ROI rotation (``WorldLandmarkProjectionCalculator``).

The model outputs 39 landmarks: the 33 BlazePose keypoints (MediaPipe order) and 6 auxiliary points;
the first two auxiliary points (indices 33, 34) are the alignment points for the next frame's ROI.

Reference: V. Bazarevsky et al., "BlazePose: On-device Real-time Body Pose tracking", CVPR-W 2020
(arXiv:2006.10204), sections 2-3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from posekit.geometry import check_image_size
from posekit.inference.blazepose.assets import BLAZEPOSE_LANDMARK_FILE, TfliteModel, blazepose_asset_path
from posekit.inference.blazepose.detector import crop_rotated_rect, pad_roi_to_aspect, sigmoid
from posekit.inference.detections import PersonDetections
from posekit.inference.image import to_rgb_uint8

__all__ = [
    "BlazePoseLandmarker",
    "BlazePoseLandmarks",
    "Rois",
    "alignment_points_to_rois",
    "detections_to_rois",
    "landmarks_to_rois",
    "refine_landmarks_from_heatmap",
]

LANDMARK_INPUT_SIZE = 256
NUM_LANDMARKS = 33
NUM_MODEL_LANDMARKS = 39
NUM_AUXILIARY = NUM_MODEL_LANDMARKS - NUM_LANDMARKS
# Landmarks (1, 195), pose flag (1, 1), heatmap (1, 64, 64, 39), world landmarks (1, 117); the fifth
# output, the (1, 256, 256, 1) segmentation mask, is not used and not copied out.
LANDMARK_OUTPUTS = ("Identity", "Identity_1", "Identity_3", "Identity_4")
ROI_SCALE = 1.25  # RectTransformationCalculator scale_x/scale_y in PoseDetectionToRoi and PoseLandmarksToRoi
ROTATION_TARGET_ANGLE = math.pi / 2.0  # rotation_vector_target_angle_degrees: 90
# MediaPipe 0.10.14's graph sets kernel_size 7, yet its output is reproduced (to 0.002 heatmap cells) only
# with the calculator's proto default, 9; kernel 7 is off by up to 2.7 cells (measured with
# benchmarks/blazepose_parity.py). We follow what the reference computes.
HEATMAP_KERNEL_SIZE = 9
HEATMAP_MIN_CONFIDENCE = 0.5


@dataclass(frozen=True)
class Rois:
    """``N`` rotated regions of interest in image pixels.

    Attributes:
        center: ``(N, 2)`` float32 ROI centres ``(x, y)`` in pixels.
        size: ``(N, 2)`` float32 ROI ``(w, h)`` in pixels (square for BlazePose ROIs).
        rotation: ``(N,)`` float32 radians in [-pi, pi); positive turns the ROI clockwise on screen
            (MediaPipe's convention; 0 = upright person).
    """

    center: np.ndarray
    size: np.ndarray
    rotation: np.ndarray

    def __post_init__(self) -> None:
        if self.rotation.ndim != 1:
            raise ValueError(f"rotation must have shape (N,), got {self.rotation.shape}")
        count = self.rotation.shape[0]
        if self.center.shape != (count, 2) or self.size.shape != (count, 2):
            raise ValueError(
                f"center and size must have shape ({count}, 2), got {self.center.shape} and {self.size.shape}"
            )

    def __len__(self) -> int:
        return int(self.rotation.shape[0])

    @classmethod
    def empty(cls) -> Rois:
        """No ROIs."""
        return cls(np.zeros((0, 2), np.float32), np.zeros((0, 2), np.float32), np.zeros((0,), np.float32))

    def corners(self) -> np.ndarray:
        """``(N, 4, 2)`` ROI corners in pixels: top-left, top-right, bottom-right, bottom-left of the crop."""
        half = self.size[:, None, :] / 2.0 * np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float32)  # (N, 4, 2)
        cosine, sine = np.cos(self.rotation)[:, None], np.sin(self.rotation)[:, None]  # (N, 1)
        x = half[..., 0] * cosine - half[..., 1] * sine
        y = half[..., 0] * sine + half[..., 1] * cosine
        return np.stack([x, y], axis=-1) + self.center[:, None, :]

    def select(self, indices: np.ndarray) -> Rois:
        """The ROIs at ``indices`` (integer array or boolean mask)."""
        return Rois(self.center[indices], self.size[indices], self.rotation[indices])


def _normalize_radians(angle: np.ndarray) -> np.ndarray:
    """Wrap angles to [-pi, pi) as MediaPipe's ``NormalizeRadians``."""
    return angle - 2.0 * np.pi * np.floor((angle + np.pi) / (2.0 * np.pi))


def alignment_points_to_rois(center_points: np.ndarray, scale_points: np.ndarray, scale: float = ROI_SCALE) -> Rois:
    """ROIs from two alignment points per person (MediaPipe ``AlignmentPointsRectsCalculator`` + transform).

    The square side is ``2 * |scale_point - center_point| * scale``; the rotation makes the vector from
    the centre to the scale point point up in the crop (target angle 90 deg, y axis flipped).
    ``square_long`` on a square rect in pixels leaves it square, so the image size does not enter.

    Args:
        center_points: ``(N, 2)`` pixels.
        scale_points: ``(N, 2)`` pixels.
        scale: size multiplier (1.25 in MediaPipe's pose graphs).

    Returns:
        ``Rois`` with square sizes.
    """
    if center_points.ndim != 2 or center_points.shape[1] != 2 or scale_points.shape != center_points.shape:
        raise ValueError(
            "center_points and scale_points must both have shape (N, 2), "
            f"got {center_points.shape} and {scale_points.shape}"
        )
    center = center_points.astype(np.float32)
    delta = scale_points.astype(np.float32) - center  # (N, 2)
    side = 2.0 * np.sqrt((delta**2).sum(axis=1)) * np.float32(scale)  # (N,)
    rotation = _normalize_radians(ROTATION_TARGET_ANGLE - np.arctan2(-delta[:, 1], delta[:, 0]))
    return Rois(
        center=center,
        size=np.stack([side, side], axis=1).astype(np.float32),
        rotation=rotation.astype(np.float32),
    )


def detections_to_rois(detections: PersonDetections, image_size: tuple[int, int] | None = None) -> Rois:
    """Body ROIs from BlazePose detections (MediaPipe ``PoseDetectionToRoi``): alignment points 0 and 1.

    Args:
        detections: detector output (keypoints in pixels).
        image_size: ``(w, h)``; optional and only checked: in pixels the MediaPipe computation does not
            depend on it (the ROI is square in pixels).

    Returns:
        ``Rois`` (N), in the detections' order.
    """
    if image_size is not None:
        check_image_size(image_size)
    return alignment_points_to_rois(detections.keypoints[:, 0], detections.keypoints[:, 1])


def landmarks_to_rois(auxiliary_landmarks: np.ndarray, image_size: tuple[int, int] | None = None) -> Rois:
    """Tracking ROIs from the landmark model's auxiliary points (MediaPipe ``PoseLandmarksToRoi``).

    Args:
        auxiliary_landmarks: ``(N, A, 2+)`` pixels, ``A >= 2``: ``BlazePoseLandmarks.auxiliary`` (landmarks
            33..38 of the model); points 0 (body centre) and 1 (size/rotation point) are used.
        image_size: ``(w, h)``; optional and only checked (see ``detections_to_rois``).

    Returns:
        ``Rois`` (N) for the next frame.
    """
    if auxiliary_landmarks.ndim != 3 or auxiliary_landmarks.shape[1] < 2 or auxiliary_landmarks.shape[2] < 2:
        raise ValueError(
            f"auxiliary_landmarks must have shape (N, A, 2) or (N, A, 3) with A >= 2, got {auxiliary_landmarks.shape}"
        )
    if image_size is not None:
        check_image_size(image_size)
    return alignment_points_to_rois(auxiliary_landmarks[:, 0, :2], auxiliary_landmarks[:, 1, :2])


def refine_landmarks_from_heatmap(
    landmarks: np.ndarray,
    heatmap_logits: np.ndarray,
    kernel_size: int = HEATMAP_KERNEL_SIZE,
    min_confidence: float = HEATMAP_MIN_CONFIDENCE,
) -> np.ndarray:
    """Refine normalised crop landmarks with the heatmap (MediaPipe ``RefineLandmarksFromHeatmapCalculator``).

    For landmark k at crop position (x, y) in [0, 1]: the cell ``(int(y*h), int(x*w))`` (truncated toward
    zero) and its ``kernel_size`` window (clipped at the heatmap border) give
    ``x' = sum(col * sigmoid(logit)) / sum(sigmoid) / w`` (same for y); applied when the window's largest
    sigmoid is >= ``min_confidence``. Landmarks whose cell lies outside the heatmap are left unchanged.

    Args:
        landmarks: ``(K, 2+)`` normalised crop coordinates; only x, y are used.
        heatmap_logits: ``(h, w, K)`` raw heatmap.
        kernel_size: odd window size.
        min_confidence: minimum window peak (after sigmoid) to refine.

    Returns:
        ``(K, 2)`` float32 refined (x, y).
    """
    if heatmap_logits.ndim != 3 or landmarks.ndim != 2 or landmarks.shape[0] != heatmap_logits.shape[2]:
        raise ValueError(
            f"expected landmarks (K, 2+) and heatmap (h, w, K), got {landmarks.shape} and {heatmap_logits.shape}"
        )
    height, width, num_points = heatmap_logits.shape
    points = landmarks[:, :2].astype(np.float32)
    finite = np.all(np.isfinite(points), axis=1)
    scaled = np.where(finite[:, None], points, 0.0) * np.array([width, height], np.float32)
    scaled = np.clip(scaled, -1e6, 1e6)
    center_col = np.trunc(scaled[:, 0]).astype(np.int64)  # C++ float -> int conversion
    center_row = np.trunc(scaled[:, 1]).astype(np.int64)
    inside = finite & (center_col >= 0) & (center_col < width) & (center_row >= 0) & (center_row < height)
    offsets = np.arange(kernel_size) - (kernel_size - 1) // 2  # (S,)
    rows = center_row[:, None] + offsets  # (K, S)
    cols = center_col[:, None] + offsets  # (K, S)
    valid = ((rows >= 0) & (rows < height))[:, :, None] & ((cols >= 0) & (cols < width))[:, None, :]  # (K, S, S)
    channel = np.arange(num_points)[:, None, None]
    window = heatmap_logits[np.clip(rows, 0, height - 1)[:, :, None], np.clip(cols, 0, width - 1)[:, None, :], channel]
    confidence = np.where(valid, sigmoid(window), np.float32(0.0))  # (K, S, S)
    total = confidence.sum(axis=(1, 2))  # (K,)
    peak = confidence.max(axis=(1, 2))  # (K,)
    weighted_col = (confidence * cols[:, None, :]).sum(axis=(1, 2))
    weighted_row = (confidence * rows[:, :, None]).sum(axis=(1, 2))
    refine = inside & (peak >= min_confidence) & (total > 0)
    safe_total = np.where(total > 0, total, 1.0)
    refined = np.stack([weighted_col / width / safe_total, weighted_row / height / safe_total], axis=1)
    return np.where(refine[:, None], refined, points).astype(np.float32)


@dataclass(frozen=True)
class BlazePoseLandmarks:
    """Landmark-model output for ``N`` ROIs (one person each), in the 33-point BlazePose order.

    Attributes:
        landmarks: ``(N, 33, 3)`` float32: x, y in image pixels and z (depth relative to the hips, same
            pixel scale as x: MediaPipe's normalised z times the image width; smaller = nearer).
        visibility: ``(N, 33)`` float32 in [0, 1], sigmoid of the model's visibility logits.
        presence: ``(N, 33)`` float32 in [0, 1], sigmoid of the presence logits.
        world_landmarks: ``(N, 33, 3)`` float32 metres, origin between the hips, x/y rotated by the ROI
            rotation as MediaPipe (y down, like the image).
        pose_score: ``(N,)`` float32 pose-presence score in [0, 1] (the model's ``Identity_1``, used as is:
            MediaPipe keeps a pose when it is > 0.5).
        auxiliary: ``(N, 6, 3)`` float32 auxiliary points (model landmarks 33..38), same units as
            ``landmarks``; points 0 and 1 give the next frame's ROI (``landmarks_to_rois``).
        rois: the ROIs the landmarks were computed from.
    """

    landmarks: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    world_landmarks: np.ndarray
    pose_score: np.ndarray
    auxiliary: np.ndarray
    rois: Rois

    def __post_init__(self) -> None:
        count = len(self.rois)
        expected = {
            "landmarks": (count, NUM_LANDMARKS, 3),
            "visibility": (count, NUM_LANDMARKS),
            "presence": (count, NUM_LANDMARKS),
            "world_landmarks": (count, NUM_LANDMARKS, 3),
            "pose_score": (count,),
            "auxiliary": (count, NUM_AUXILIARY, 3),
        }
        for name, shape in expected.items():
            value = getattr(self, name)
            if value.shape != shape:
                raise ValueError(f"{name} must have shape {shape}, got {value.shape}")

    def __len__(self) -> int:
        return len(self.rois)

    def select(self, indices: np.ndarray) -> BlazePoseLandmarks:
        """The people at ``indices`` (integer array or boolean mask)."""
        return BlazePoseLandmarks(
            landmarks=self.landmarks[indices],
            visibility=self.visibility[indices],
            presence=self.presence[indices],
            world_landmarks=self.world_landmarks[indices],
            pose_score=self.pose_score[indices],
            auxiliary=self.auxiliary[indices],
            rois=self.rois.select(indices),
        )


class BlazePoseLandmarker:
    """BlazePose landmark model (``pose_landmark_full.tflite``), one invocation per ROI.

    Args:
        model_path: a BlazePose landmark ``.tflite`` (full; lite/heavy share the interface); ``None`` uses
            the copy shipped with posekit.
        num_threads: CPU threads for the TFLite interpreter (``None``: runtime default).
    """

    def __init__(self, model_path: str | Path | None = None, num_threads: int | None = None) -> None:
        path = Path(model_path) if model_path is not None else blazepose_asset_path(BLAZEPOSE_LANDMARK_FILE)
        self.model = TfliteModel(path, num_threads=num_threads)
        expected_input = (1, LANDMARK_INPUT_SIZE, LANDMARK_INPUT_SIZE, 3)
        if self.model.input_shape != expected_input:
            raise ValueError(f"{path} is not a BlazePose landmark model: input shape {self.model.input_shape}")
        self._input = np.zeros(expected_input, np.float32)

    def _run_one(
        self, image: np.ndarray, center: np.ndarray, size: np.ndarray, rotation: float
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """One ROI: (39, 5) [x, y, z px, visibility, presence], (39, 3) world landmarks (m), pose flag."""
        padded_size, padding = pad_roi_to_aspect(size.astype(np.float64), (LANDMARK_INPUT_SIZE, LANDMARK_INPUT_SIZE))
        crop = crop_rotated_rect(
            image,
            (float(center[0]), float(center[1])),
            (float(padded_size[0]), float(padded_size[1])),
            rotation,
            (LANDMARK_INPUT_SIZE, LANDMARK_INPUT_SIZE),
            cv2.BORDER_REPLICATE,
        )
        np.multiply(crop, np.float32(1.0 / 255.0), out=self._input[0], casting="unsafe")  # [0, 255] -> [0, 1]
        outputs = self.model(self._input, LANDMARK_OUTPUTS)
        raw = outputs["Identity"].reshape(NUM_MODEL_LANDMARKS, 5)  # (1, 195) -> (39, 5)
        world = outputs["Identity_4"].reshape(NUM_MODEL_LANDMARKS, 3)  # (1, 117) -> (39, 3)
        heatmap = outputs["Identity_3"][0]  # (1, 64, 64, 39) -> (64, 64, 39)
        pose_flag = float(outputs["Identity_1"].reshape(-1)[0])

        normalized = raw[:, :3] / np.float32(LANDMARK_INPUT_SIZE)  # (39, 3) crop-normalised x, y, z
        normalized[:, :2] = refine_landmarks_from_heatmap(normalized, heatmap)
        left, top, right, bottom = (float(value) for value in padding)
        x = (normalized[:, 0] - left) / (1.0 - left - right) - 0.5  # letterbox removal, centred
        y = (normalized[:, 1] - top) / (1.0 - top - bottom) - 0.5
        cosine, sine = math.cos(rotation), math.sin(rotation)
        image_x = (cosine * x - sine * y) * size[0] + center[0]
        image_y = (sine * x + cosine * y) * size[1] + center[1]
        image_z = normalized[:, 2] * size[0]  # MediaPipe: normalised z * rect width (in image-width units)
        points = np.stack([image_x, image_y, image_z, sigmoid(raw[:, 3]), sigmoid(raw[:, 4])], axis=1)
        world_rotated = np.stack(
            [cosine * world[:, 0] - sine * world[:, 1], sine * world[:, 0] + cosine * world[:, 1], world[:, 2]], axis=1
        )
        return points.astype(np.float32), world_rotated.astype(np.float32), pose_flag

    def estimate(self, image: np.ndarray, rois: Rois) -> BlazePoseLandmarks:
        """Run the landmark model on every ROI.

        Args:
            image: ``(H, W, 3)`` uint8 RGB (other layouts/dtypes go through ``to_rgb_uint8``).
            rois: ``N`` ROIs in pixels of ``image`` (e.g. ``detections_to_rois``); ROIs with a
                non-finite or non-positive size get zero scores and NaN coordinates.

        Returns:
            ``BlazePoseLandmarks`` for all ``N`` ROIs (filter on ``pose_score`` yourself, or use
            ``BlazePoseEstimator``).
        """
        image = to_rgb_uint8(image)
        count = len(rois)
        points = np.full((count, NUM_MODEL_LANDMARKS, 5), np.nan, np.float32)
        world = np.full((count, NUM_MODEL_LANDMARKS, 3), np.nan, np.float32)
        flags = np.zeros((count,), np.float32)
        for index in range(count):
            center, size, rotation = rois.center[index], rois.size[index], float(rois.rotation[index])
            usable = np.all(np.isfinite(center)) and np.all(np.isfinite(size)) and math.isfinite(rotation)
            if not usable or size[0] <= 0 or size[1] <= 0:
                points[index, :, 3:] = 0.0
                continue
            points[index], world[index], flags[index] = self._run_one(image, center, size, rotation)
        return BlazePoseLandmarks(
            landmarks=points[:, :NUM_LANDMARKS, :3],
            visibility=points[:, :NUM_LANDMARKS, 3],
            presence=points[:, :NUM_LANDMARKS, 4],
            world_landmarks=world[:, :NUM_LANDMARKS],
            pose_score=flags,
            auxiliary=points[:, NUM_LANDMARKS:, :3],
            rois=rois,
        )
