"""BlazePose ROIs and landmark model: geometry and heatmap refinement by hand, real images end to end."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from posekit.inference.blazepose.detector import BlazePoseDetector
from posekit.inference.blazepose.landmarks import (
    BlazePoseLandmarker,
    BlazePoseLandmarks,
    Rois,
    alignment_points_to_rois,
    detections_to_rois,
    landmarks_to_rois,
    refine_landmarks_from_heatmap,
)
from posekit.inference.detections import PersonDetections


@pytest.fixture(scope="module")
def detector() -> BlazePoseDetector:
    return BlazePoseDetector(num_threads=1)


@pytest.fixture(scope="module")
def landmarker() -> BlazePoseLandmarker:
    return BlazePoseLandmarker(num_threads=1)


def read_rgb(path: Path) -> np.ndarray:
    """Read an image file as (H, W, 3) uint8 RGB."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, f"cannot read {path}"
    return np.ascontiguousarray(image[:, :, ::-1])


def test_rois_from_alignment_points_by_hand() -> None:
    centers = np.array([[100, 200], [100, 200], [100, 200], [50, 50]], np.float32)
    # Scale point above (upright person), to the right, below (upside down), up-left at 45 degrees.
    scale_points = np.array([[100, 100], [200, 200], [100, 300], [40, 40]], np.float32)
    rois = alignment_points_to_rois(centers, scale_points)
    np.testing.assert_allclose(rois.center, centers)
    np.testing.assert_allclose(rois.size[:, 0], [250, 250, 250, 2 * math.sqrt(200) * 1.25], rtol=1e-6)
    np.testing.assert_allclose(rois.size[:, 0], rois.size[:, 1])
    # rotation = 90 deg - atan2(-dy, dx), wrapped to [-pi, pi).
    np.testing.assert_allclose(rois.rotation, [0.0, math.pi / 2, -math.pi, -math.pi / 4], atol=1e-6)


def test_detections_and_auxiliary_landmarks_use_points_zero_and_one() -> None:
    keypoints = np.array([[[10, 20], [10, 0], [99, 99], [99, 99]]], np.float32)
    detections = PersonDetections(
        boxes=np.zeros((1, 4), np.float32), scores=np.ones(1, np.float32), keypoints=keypoints, image_size=(64, 48)
    )
    rois = detections_to_rois(detections, (64, 48))
    np.testing.assert_allclose(rois.size[0], [50, 50])
    auxiliary = np.concatenate([keypoints, np.zeros((1, 2, 2), np.float32)], axis=1)  # (1, 6, 2)
    tracked = landmarks_to_rois(np.concatenate([auxiliary, np.zeros((1, 6, 1), np.float32)], axis=2))
    np.testing.assert_allclose(tracked.center, rois.center)
    np.testing.assert_allclose(tracked.rotation, rois.rotation)
    with pytest.raises(ValueError, match="auxiliary_landmarks"):
        landmarks_to_rois(np.zeros((1, 1, 2), np.float32))
    with pytest.raises(ValueError, match="image_size"):
        detections_to_rois(detections, (0, 48))


def test_roi_corners_follow_the_rotation() -> None:
    rois = Rois(np.array([[10, 20]], np.float32), np.array([[4, 2]], np.float32), np.array([math.pi / 2], np.float32))
    # Crop top-left (-2, -1) turned by +90 deg (clockwise on screen, y down) -> (1, -2).
    np.testing.assert_allclose(rois.corners()[0, 0], [11, 18], atol=1e-5)
    np.testing.assert_allclose(rois.corners()[0, 2], [9, 22], atol=1e-5)
    with pytest.raises(ValueError, match="center and size"):
        Rois(np.zeros((2, 2), np.float32), np.zeros((1, 2), np.float32), np.zeros(2, np.float32))


def test_heatmap_refinement_by_hand() -> None:
    heatmap = np.full((64, 64, 4), -20.0, np.float32)
    heatmap[20, 30, 0] = 20.0  # one confident cell
    heatmap[40, 10, 1], heatmap[40, 14, 1] = 20.0, 20.0  # two equal cells 4 columns apart
    heatmap[5, 5, 3] = 20.0  # confident but 20 cells away from landmark 3
    landmarks = np.array([[31.5 / 64, 21.2 / 64], [12.5 / 64, 40.5 / 64], [0.5, 0.5], [0.9, 0.9]], np.float32)
    refined = refine_landmarks_from_heatmap(landmarks, heatmap)
    np.testing.assert_allclose(refined[0], [30 / 64, 20 / 64], atol=1e-6)
    np.testing.assert_allclose(refined[1], [12 / 64, 40 / 64], atol=1e-6)
    np.testing.assert_allclose(refined[2:], landmarks[2:])  # window peak below 0.5: unchanged
    # Outside the heatmap (and non-finite): unchanged.
    outside = np.array([[-0.2, 0.5], [0.5, 1.01], [np.nan, 0.5], [0.5, 0.5]], np.float32)
    np.testing.assert_array_equal(refine_landmarks_from_heatmap(outside, heatmap)[:3], outside[:3, :2])
    # A 3x3 window (columns 11..13) misses both peaks of landmark 1: not refined; centred on one peak: snaps to it.
    narrow = refine_landmarks_from_heatmap(landmarks, heatmap, kernel_size=3)
    np.testing.assert_allclose(narrow[1], landmarks[1])
    on_peak = refine_landmarks_from_heatmap(np.array([[0, 0], [10.9 / 64, 40.1 / 64], [0, 0], [0, 0]]), heatmap, 3)
    np.testing.assert_allclose(on_peak[1], [10 / 64, 40 / 64], atol=1e-6)
    # Very negative logits (exp(-x) overflows float32 in the textbook sigmoid) give no warning.
    deep = np.full((64, 64, 4), -500.0, np.float32)
    deep[20, 30, 0] = 20.0
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        refined_deep = refine_landmarks_from_heatmap(landmarks, deep)
    np.testing.assert_allclose(refined_deep[0], [30 / 64, 20 / 64], atol=1e-6)
    np.testing.assert_allclose(refined_deep[1:], landmarks[1:])


def test_landmarks_on_a_real_person_are_plausible(
    shared_data: Path, detector: BlazePoseDetector, landmarker: BlazePoseLandmarker
) -> None:
    image = read_rgb(shared_data / "mpii" / "004645041.jpg")
    detections = detector.detect(image)
    rois = detections_to_rois(detections, (image.shape[1], image.shape[0]))
    result = landmarker.estimate(image, rois)
    assert isinstance(result, BlazePoseLandmarks) and len(result) == len(detections) >= 1
    assert result.pose_score[0] > 0.5
    points = result.landmarks[0]
    assert np.all(np.isfinite(points))
    # Visible landmarks lie inside the ROI square (rotated back to the crop frame).
    offset = points[:, :2] - rois.center[0]
    angle = float(rois.rotation[0])
    crop_x = math.cos(angle) * offset[:, 0] + math.sin(angle) * offset[:, 1]
    crop_y = -math.sin(angle) * offset[:, 0] + math.cos(angle) * offset[:, 1]
    visible = result.visibility[0] > 0.5
    assert visible.sum() >= 10
    assert np.all(np.abs(crop_x[visible]) <= rois.size[0, 0] / 2)
    assert np.all(np.abs(crop_y[visible]) <= rois.size[0, 1] / 2)
    # Anatomy: nose above the shoulders above the hips (y grows downwards); hips straddle the hip centre.
    nose, shoulders, hips = points[0, 1], points[[11, 12], 1].mean(), points[[23, 24], 1].mean()
    assert nose < shoulders < hips
    hip_centre = points[[23, 24], :2].mean(axis=0)
    assert np.linalg.norm(hip_centre - detections.keypoints[0, 0]) < 0.1 * rois.size[0, 0]
    # World landmarks: metres, origin between the hips, a person of plausible size.
    world = result.world_landmarks[0]
    assert np.linalg.norm(world[[23, 24]].mean(axis=0)) < 0.05
    assert 0.2 < np.linalg.norm(world[11] - world[12]) < 0.6  # shoulder width
    assert np.all((result.presence >= 0) & (result.presence <= 1))
    # Tracking: the ROI from the auxiliary points is close to the detection ROI, and re-running on it agrees.
    tracked_rois = landmarks_to_rois(result.auxiliary[:1], (image.shape[1], image.shape[0]))
    assert np.linalg.norm(tracked_rois.center[0] - rois.center[0]) < 0.1 * rois.size[0, 0]
    assert abs(tracked_rois.size[0, 0] / rois.size[0, 0] - 1.0) < 0.2
    again = landmarker.estimate(image, tracked_rois)
    assert np.median(np.linalg.norm(again.landmarks[0, :, :2] - points[:, :2], axis=1)) < 0.02 * rois.size[0, 0]


def test_degenerate_rois_and_images_do_not_crash(landmarker: BlazePoseLandmarker) -> None:
    rois = Rois(
        center=np.array([[5, 5], [0, 0], [4000, 3000], [np.nan, 1]], np.float32),
        size=np.array([[10, 10], [0, 0], [9000, 9000], [5, 5]], np.float32),
        rotation=np.array([0.3, 0.0, -3.0, 0.0], np.float32),
    )
    for image in (np.zeros((10, 10, 3), np.uint8), np.zeros((1, 1), np.uint16), np.zeros((6000, 8000, 3), np.uint8)):
        result = landmarker.estimate(image, rois)
        assert result.landmarks.shape == (4, 33, 3) and result.auxiliary.shape == (4, 6, 3)
        assert np.all(np.isfinite(result.landmarks[[0, 2]]))
        assert np.all(np.isnan(result.landmarks[[1, 3]])) and np.all(result.pose_score[[1, 3]] == 0)
        assert np.all(result.pose_score < 0.5)  # nobody in a black image
    empty = landmarker.estimate(np.zeros((8, 8, 3), np.uint8), Rois.empty())
    assert len(empty) == 0 and empty.world_landmarks.shape == (0, 33, 3)
