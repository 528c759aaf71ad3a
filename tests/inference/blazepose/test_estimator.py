"""BlazePose end to end (detector, then BlazePoseEstimator), parity with MediaPipe 0.10.14, shipped model files."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from posekit.inference.blazepose.assets import (
    BLAZEPOSE_LANDMARK_FILE,
    BLAZEPOSE_SHA256,
    TfliteModel,
    blazepose_asset_path,
    verify_assets,
)
from posekit.inference.blazepose.detector import BlazePoseDetector
from posekit.inference.blazepose.estimator import BlazePoseEstimator, blazepose_instances
from posekit.inference.blazepose.landmarks import (
    LANDMARK_OUTPUTS,
    BlazePoseLandmarker,
    BlazePoseLandmarks,
    Rois,
    detections_to_rois,
    landmarks_to_rois,
)
from posekit.inference.image import to_rgb_uint8
from posekit.skeletons import get_skeleton
from posekit.structures import PoseInstances

# Written by `.venv/bin/python benchmarks/blazepose_parity.py --write-test-reference <this file>`:
# mediapipe 0.10.14's own ROI and landmarks for two shared-data images.
REFERENCE_JSON = Path(__file__).resolve().parent / "data" / "blazepose_mediapipe_reference.json"


class DetectAndEstimate:
    """The BlazePose detector, then the estimator on its detections; people with pose presence > 0.5 kept."""

    def __init__(self) -> None:
        self.detector = BlazePoseDetector(num_threads=1)
        self.landmarker = BlazePoseLandmarker(num_threads=1)
        self.people = BlazePoseEstimator(self.landmarker)

    def estimate(self, image: np.ndarray, rois: Rois | None = None) -> tuple[PoseInstances, BlazePoseLandmarks]:
        image = to_rgb_uint8(image)
        if rois is None:
            rois = self.people.rois_for(self.detector.detect(image))
        instances, landmarks = self.people.estimate_landmarks(image, rois)
        keep = np.flatnonzero(landmarks.pose_score > 0.5)
        return instances[keep], landmarks.select(keep)


@pytest.fixture(scope="module")
def estimator() -> DetectAndEstimate:
    return DetectAndEstimate()


def read_rgb(path: Path) -> np.ndarray:
    """Read an image file as (H, W, 3) uint8 RGB."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, f"cannot read {path}"
    return np.ascontiguousarray(image[:, :, ::-1])


def test_shipped_model_files_match_their_recorded_checksums() -> None:
    assert verify_assets() == BLAZEPOSE_SHA256


def test_tflite_model_copies_out_only_the_outputs_asked_for() -> None:
    model = TfliteModel(blazepose_asset_path(BLAZEPOSE_LANDMARK_FILE), num_threads=1)
    inputs = np.random.default_rng(0).random(model.input_shape, dtype=np.float32)
    everything = model(inputs)
    assert sorted(everything) == sorted(model.output_names) and len(everything) == 5
    subset = model(inputs, LANDMARK_OUTPUTS)
    assert list(subset) == list(LANDMARK_OUTPUTS)
    for name in LANDMARK_OUTPUTS:
        np.testing.assert_array_equal(subset[name], everything[name])
    with pytest.raises(KeyError):
        model(inputs, ["no_such_output"])


def test_estimator_returns_blazepose_instances(shared_data: Path, estimator: DetectAndEstimate) -> None:
    image = read_rgb(shared_data / "coco_val2014_images" / "COCO_val2014_000000000536.jpg")
    instances, landmarks = estimator.estimate(image)
    assert isinstance(instances, PoseInstances) and isinstance(landmarks, BlazePoseLandmarks)
    assert instances.skeleton == "blazepose" and instances.keypoints.shape[1:] == (33, 2)
    assert len(instances) == len(landmarks) >= 2  # several people, not only MediaPipe's first one
    assert np.all(landmarks.pose_score > 0.5)
    np.testing.assert_array_equal(instances.scores, landmarks.visibility)
    np.testing.assert_array_equal(instances.keypoints, landmarks.landmarks[:, :, :2])
    assert instances.boxes is not None and instances.instance_scores is not None
    # Boxes: the bounds of the 33 landmarks, clipped to the image (one person reaches past its edge).
    size = np.array([image.shape[1], image.shape[0]], np.float32)
    np.testing.assert_allclose(instances.boxes[:, :2], np.clip(instances.keypoints.min(axis=1), 0, size), atol=1e-4)
    np.testing.assert_allclose(instances.boxes[:, 2:], np.clip(instances.keypoints.max(axis=1), 0, size), atol=1e-4)
    names = get_skeleton("blazepose").keypoint_names
    left_hip, left_shoulder = names.index("left_hip"), names.index("left_shoulder")
    assert np.all(instances.keypoints[:, left_shoulder, 1] < instances.keypoints[:, left_hip, 1])
    # Tracking path: the same people again from the ROIs of their auxiliary points.
    again, _ = estimator.estimate(image, rois=landmarks_to_rois(landmarks.auxiliary, (image.shape[1], image.shape[0])))
    assert len(again) == len(instances)
    moved = np.linalg.norm(again.keypoints - instances.keypoints, axis=2)  # (N, 33)
    assert np.all(np.median(moved, axis=1) < 0.02 * landmarks.rois.size[:, 0])


def test_empty_frame_gives_empty_results(estimator: DetectAndEstimate) -> None:
    for image in (np.zeros((480, 640, 3), np.uint8), np.full((10, 10), 255, np.uint8), np.zeros((1, 1, 4), np.float32)):
        instances, landmarks = estimator.estimate(image)
        assert len(instances) == 0 and instances.keypoints.shape == (0, 33, 2) and instances.skeleton == "blazepose"
        assert len(landmarks) == 0
    assert len(blazepose_instances(landmarks, (640, 480))) == 0
    with pytest.raises(ValueError, match="min_pose_score"):
        BlazePoseEstimator(estimator.landmarker, min_pose_score=2.0)


def test_parity_with_mediapipe_reference(shared_data: Path, estimator: DetectAndEstimate) -> None:
    reference = json.loads(REFERENCE_JSON.read_text())
    assert len(reference["images"]) == 2
    for entry in reference["images"]:
        image = read_rgb(shared_data / entry["image"])
        assert (image.shape[1], image.shape[0]) == (entry["width"], entry["height"])
        expected = np.asarray(entry["landmarks"], np.float32)
        # Same crop: posekit's landmark path on mediapipe's ROI.
        roi = Rois(
            center=np.asarray([entry["roi"]["center"]], np.float32),
            size=np.asarray([entry["roi"]["size"]], np.float32),
            rotation=np.asarray([entry["roi"]["rotation"]], np.float32),
        )
        same_crop = estimator.landmarker.estimate(image, roi)
        difference = np.linalg.norm(same_crop.landmarks[0, :, :2] - expected[:, :2], axis=1)
        assert difference.mean() < 0.05 and difference.max() < 0.25, (entry["image"], difference)
        np.testing.assert_allclose(same_crop.landmarks[0, :, 2], expected[:, 2], atol=0.5)
        np.testing.assert_allclose(same_crop.visibility[0], entry["visibility"], atol=2e-3)
        np.testing.assert_allclose(same_crop.world_landmarks[0], entry["world_landmarks"], atol=2e-3)
        # Whole pipeline: posekit's first detection gives mediapipe's ROI and landmarks.
        detections = estimator.detector.detect(image)
        rois = detections_to_rois(detections, (entry["width"], entry["height"]))
        np.testing.assert_allclose(rois.center[0], entry["roi"]["center"], atol=0.01)
        np.testing.assert_allclose(rois.size[0], entry["roi"]["size"], atol=0.01)
        np.testing.assert_allclose(detections.scores[0], entry["detection"]["score"], atol=1e-4)
        instances, _ = estimator.estimate(image)
        difference = np.linalg.norm(instances.keypoints[0] - expected[:, :2], axis=1)
        assert difference.mean() < 0.1, (entry["image"], difference)


def test_keep_landmarks_adds_the_33_landmarks_and_world_landmarks(
    shared_data: Path, estimator: DetectAndEstimate
) -> None:
    from posekit.inference.blazepose.estimator import landmark_arrays

    image = read_rgb(shared_data / "coco_val2014_images" / "COCO_val2014_000000000536.jpg")
    rois = estimator.people.rois_for(estimator.detector.detect(image))
    plain, landmarks = estimator.people.estimate_landmarks(image, rois)
    assert plain.landmarks is None and plain.world_landmarks is None  # off by default: nothing extra kept
    keeping = BlazePoseEstimator(estimator.landmarker, keep_landmarks=True)
    kept, _ = keeping.estimate_landmarks(image, rois)
    assert kept.landmarks is not None and kept.world_landmarks is not None
    assert kept.landmarks.shape == (len(rois), 33, 5) and kept.world_landmarks.shape == (len(rois), 33, 3)
    np.testing.assert_array_equal(kept.keypoints, plain.keypoints)
    np.testing.assert_array_equal(kept.landmarks[..., :3], landmarks.landmarks)
    np.testing.assert_array_equal(kept.landmarks[..., 3], landmarks.visibility)
    np.testing.assert_array_equal(kept.landmarks[..., 4], landmarks.presence)
    np.testing.assert_array_equal(kept.world_landmarks, landmarks.world_landmarks)
    stacked, world = landmark_arrays(landmarks)
    np.testing.assert_array_equal(stacked, kept.landmarks)
    np.testing.assert_array_equal(world, kept.world_landmarks)
    # World landmarks are metres around the hips: a person is under about 2 m tall.
    present = landmarks.pose_score > 0.5
    extent = np.ptp(kept.world_landmarks[present, :, 1], axis=1)
    assert np.all((extent > 0.3) & (extent < 2.2)), extent


def test_landmarks_survive_tracking_unsmoothed(shared_data: Path, estimator: DetectAndEstimate) -> None:
    from posekit.inference.smoothing import PoseSmoother
    from posekit.inference.topdown import TopDownPipeline
    from posekit.inference.video import VideoPosePipeline

    image = read_rgb(shared_data / "coco_val2014_images" / "COCO_val2014_000000000241.jpg")
    pipeline = TopDownPipeline(estimator.detector, BlazePoseEstimator(estimator.landmarker, keep_landmarks=True))
    frames = [(index, index / 10, np.roll(image, 3 * index, axis=1)) for index in range(3)]
    for smoother in (None, PoseSmoother()):
        video = VideoPosePipeline(pipeline, smoother=smoother, redetect_every=2)
        for instances in video.run(frames):
            assert len(instances) >= 1 and instances.track_ids is not None
            assert instances.landmarks is not None and instances.world_landmarks is not None
            assert instances.landmarks.shape == (len(instances), 33, 5)
            finite = np.isfinite(instances.landmarks[..., :2]).all(axis=-1)
            raw = np.where(finite[..., None], instances.landmarks[..., :2], 0.0)
            if smoother is None:  # the same points; smoothed keypoints move away from the raw landmarks
                np.testing.assert_array_equal(raw, instances.keypoints)
        if smoother is not None:
            assert not np.array_equal(raw, instances.keypoints)
