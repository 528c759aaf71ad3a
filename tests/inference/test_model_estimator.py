"""ModelPoseEstimator: crops, decoding, flip test and the map back to image pixels, with fake models.

The fake models see the crop: a red dot, a green dot and a blue "handedness" marker. Like a real
pose model under mirroring, they call the red dot "left" while the marker is in the left half of
the crop and "right" otherwise, so a flip test that forgets to swap the channels, to mirror the
maps or to shift them gives a different answer than the plain prediction.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from posekit.codecs import IntegralRegression, MSRAHeatmap, RegressionLabel, UDPHeatmap
from posekit.inference.detections import PersonDetections, box_detections
from posekit.inference.model_estimator import (
    ModelPoseEstimator,
    build_model_estimator,
    detection_person_boxes,
    rescore_instances,
)
from posekit.inference.topdown import PersonPoseEstimator, TrackingPoseEstimator
from posekit.io.checkpoint import CHECKPOINT_FORMAT, save_checkpoint
from posekit.models.pose2d.base import Pose2DModel, Pose2DOutput, denormalize_images
from posekit.skeletons import get_skeleton

COCO = get_skeleton("coco")
LEFT = [index for index, name in enumerate(COCO.keypoint_names) if name.startswith("left_")]
RIGHT = [index for index, name in enumerate(COCO.keypoint_names) if name.startswith("right_")]
CENTRE = [index for index in range(COCO.num_keypoints) if index not in LEFT + RIGHT]
RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def _dot_locations(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Red and green dot pixels ``(B, 2)`` as (x, y) and whether the blue marker is in the left half ``(B,)``."""
    rgb = denormalize_images(images)
    red, green, blue = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    width = rgb.shape[-1]

    def argmax_xy(score: torch.Tensor) -> torch.Tensor:
        index = score.flatten(1).argmax(dim=1)  # (B, h, w) -> (B,)
        return torch.stack([index % width, index // width], dim=1).to(images.dtype)

    marker = (blue - red - green > 0.5).to(images.dtype)
    half = width // 2
    marker_left = marker[..., :half].sum(dim=(1, 2)) > marker[..., width - half :].sum(dim=(1, 2))
    return argmax_xy(red - green - blue), argmax_xy(green - red - blue), marker_left


def _assign(red: torch.Tensor, green: torch.Tensor, marker_left: torch.Tensor) -> torch.Tensor:
    """Per-keypoint (x, y) ``(B, K, 2)``: left = red when the marker is left, else green."""
    points = torch.zeros(red.shape[0], COCO.num_keypoints, 2, dtype=red.dtype)
    left_source = torch.where(marker_left[:, None], red, green)
    right_source = torch.where(marker_left[:, None], green, red)
    points[:, LEFT] = left_source[:, None]
    points[:, RIGHT] = right_source[:, None]
    points[:, CENTRE] = red[:, None]
    return points


class DotHeatmapModel(Pose2DModel):
    """Delta heatmaps at the dots, heatmap pixel ``round(x / stride)``."""

    def __init__(self, input_size: tuple[int, int], heatmap_size: tuple[int, int], stride: float) -> None:
        super().__init__(COCO.num_keypoints, input_size, "heatmap", heatmap_size, num_stages=1)
        self.stride = stride

    def forward_outputs(self, images: torch.Tensor) -> Pose2DOutput:
        red, green, marker_left = _dot_locations(images)
        cells = torch.round(_assign(red, green, marker_left) / self.stride).long()  # (B, K, 2)
        width, height = self.heatmap_size or (0, 0)
        maps = torch.zeros(images.shape[0], self.num_keypoints, height * width)
        maps.scatter_(2, (cells[..., 1] * width + cells[..., 0])[..., None], 1.0)
        return Pose2DOutput(stage_heatmaps=[maps.reshape(images.shape[0], self.num_keypoints, height, width)])


class DotCoordinateModel(Pose2DModel):
    """Normalised coordinates ``(x / w, y / h)`` of the dots."""

    def __init__(self, input_size: tuple[int, int]) -> None:
        super().__init__(COCO.num_keypoints, input_size, "coordinates", None, num_stages=1)

    def forward_outputs(self, images: torch.Tensor) -> Pose2DOutput:
        red, green, marker_left = _dot_locations(images)
        size = torch.tensor(self.input_size, dtype=images.dtype)
        return Pose2DOutput(stage_coordinates=[_assign(red, green, marker_left) / size])


class ConstantDeltaModel(Pose2DModel):
    """Every keypoint's heatmap is a delta at heatmap pixel ``cell`` whatever the input."""

    def __init__(self, cell: tuple[int, int]) -> None:
        super().__init__(COCO.num_keypoints, (96, 128), "heatmap", (24, 32), num_stages=1)
        self.cell = cell

    def forward_outputs(self, images: torch.Tensor) -> Pose2DOutput:
        maps = torch.zeros(images.shape[0], self.num_keypoints, 32, 24)
        maps[:, :, self.cell[1], self.cell[0]] = 1.0
        return Pose2DOutput(stage_heatmaps=[maps])


def _scene(crop_centre: tuple[float, float], centre: tuple[float, float]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A black image with the dots placed so that, at zoom 1, they land on crop pixels (40, 60), (64, 80), (10, 10)."""
    offset = np.array(centre) - np.array(crop_centre)  # image = crop + offset (integers here)
    image = np.zeros((240, 300, 3), np.uint8)
    where = {}
    for name, crop_point, colour in (("red", (40, 60), RED), ("green", (64, 80), GREEN), ("blue", (10, 10), BLUE)):
        x, y = (np.array(crop_point) + offset).astype(int)
        image[y, x] = colour
        where[name] = np.array([x, y], np.float64)
    return image, where


def _zoom_one_box(input_size: tuple[int, int], centre: tuple[float, float], udp: bool) -> np.ndarray:
    """The xyxy box whose 1.25-padded crop maps one image pixel to one crop pixel."""
    span = np.array(input_size, np.float64) - (1.0 if udp else 0.0)
    half = span / 1.25 / 2
    return np.array([[centre[0] - half[0], centre[1] - half[1], centre[0] + half[0], centre[1] + half[1]]])


CODECS: dict[str, tuple[MSRAHeatmap | UDPHeatmap, tuple[int, int], tuple[int, int], float]] = {
    "msra": (MSRAHeatmap((96, 128), (24, 32)), (96, 128), (24, 32), 4.0),
    "dark": (MSRAHeatmap((96, 128), (24, 32), unbiased=True), (96, 128), (24, 32), 4.0),
    "udp": (UDPHeatmap((97, 97), (25, 25)), (97, 97), (25, 25), 4.0),
}


@pytest.mark.parametrize("flip_test", [False, True])
@pytest.mark.parametrize("codec_name", sorted(CODECS))
def test_heatmap_peaks_map_back_to_the_dots(codec_name: str, flip_test: bool) -> None:
    codec, input_size, heatmap_size, stride = CODECS[codec_name]
    udp = codec_name == "udp"
    centre = (150.0, 120.0)
    crop_centre = ((input_size[0] - 1) / 2, (input_size[1] - 1) / 2) if udp else (input_size[0] / 2, input_size[1] / 2)
    image, where = _scene(crop_centre, centre)
    model = DotHeatmapModel(input_size, heatmap_size, stride)
    estimator = ModelPoseEstimator(model, codec, "coco", flip_test=flip_test, batch_size=1)
    boxes = np.repeat(_zoom_one_box(input_size, centre, udp), 2, axis=0)  # two people: two batches of one
    detections = box_detections(boxes, np.array([0.9, 0.5]), (300, 240))
    instances = estimator.estimate(image, detections)
    assert len(instances) == 2 and instances.skeleton == "coco"
    for row in range(2):
        np.testing.assert_allclose(
            instances.keypoints[row, LEFT], np.repeat(where["red"][None], len(LEFT), 0), atol=1e-3
        )
        np.testing.assert_allclose(
            instances.keypoints[row, RIGHT], np.repeat(where["green"][None], len(RIGHT), 0), atol=1e-3
        )
        np.testing.assert_allclose(
            instances.keypoints[row, CENTRE], np.repeat(where["red"][None], len(CENTRE), 0), atol=1e-3
        )
    expected_peak = 1.0 if codec_name != "dark" else float(instances.scores[0, 0])  # DARK keeps the raw maximum
    np.testing.assert_allclose(instances.scores, expected_peak, atol=1e-6)
    assert instances.instance_scores is not None
    np.testing.assert_allclose(instances.instance_scores, np.array([0.9, 0.5]) * expected_peak, rtol=1e-6)


def test_flip_test_without_the_heatmap_shift_is_biased() -> None:
    codec, input_size, heatmap_size, stride = CODECS["msra"]
    centre = (150.0, 120.0)
    image, where = _scene((48.0, 64.0), centre)
    boxes = _zoom_one_box(input_size, centre, udp=False)
    model = DotHeatmapModel(input_size, heatmap_size, stride)
    unshifted = ModelPoseEstimator(model, codec, "coco", flip_test=True, shift_heatmap=False)
    points = unshifted.estimate_boxes(image, boxes, np.ones(1)).keypoints[0]
    # the mirrored peak lands one cell left: of the two half peaks the left one wins the argmax and the
    # quarter offset moves it towards the other, -0.75 cell = -3 px (HRNet's shift removes this)
    np.testing.assert_allclose(points[LEFT, 0] - where["red"][0], -3.0, atol=1e-3)


@pytest.mark.parametrize("flip_test", [False, True])
def test_coordinate_model_maps_back_exactly(flip_test: bool) -> None:
    centre = (150.0, 120.0)
    image, where = _scene((48.0, 64.0), centre)
    model = DotCoordinateModel((96, 128))
    estimator = ModelPoseEstimator(model, RegressionLabel((96, 128)), "coco", flip_test=flip_test)
    instances = estimator.estimate_boxes(image, _zoom_one_box((96, 128), centre, udp=False), np.array([0.7]))
    np.testing.assert_allclose(instances.keypoints[0, LEFT], np.repeat(where["red"][None], len(LEFT), 0), atol=1e-3)
    np.testing.assert_allclose(instances.keypoints[0, RIGHT], np.repeat(where["green"][None], len(RIGHT), 0), atol=1e-3)
    np.testing.assert_allclose(instances.scores, 1.0)
    assert instances.instance_scores is not None
    np.testing.assert_allclose(instances.instance_scores, np.array([0.7]), rtol=1e-6)


def test_constant_delta_maps_through_a_zoomed_crop() -> None:
    """A delta at heatmap (5, 20) is crop pixel (20, 80); a box giving a 2x larger crop doubles the offset."""
    model = ConstantDeltaModel((5, 20))
    estimator = ModelPoseEstimator(model, MSRAHeatmap((96, 128), (24, 32)), "coco", flip_test=False)
    centre = np.array([150.0, 120.0])
    half = np.array([192.0, 256.0]) / 1.25 / 2  # crop region (192, 256) px = 2 image px per crop px
    box = np.concatenate([centre - half, centre + half])[None]
    instances = estimator.estimate_boxes(np.zeros((240, 300, 3), np.uint8), box, np.ones(1))
    expected = centre + (np.array([20.0, 80.0]) - np.array([48.0, 64.0])) * 2.0
    np.testing.assert_allclose(instances.keypoints[0], np.repeat(expected[None], 17, 0), atol=1e-4)
    assert instances.boxes is not None
    np.testing.assert_allclose(instances.boxes, box.astype(np.float32))


def test_no_detections_gives_no_instances() -> None:
    estimator = ModelPoseEstimator(ConstantDeltaModel((1, 1)), MSRAHeatmap((96, 128), (24, 32)), "coco")
    instances = estimator.estimate(np.zeros((50, 60, 3), np.uint8), PersonDetections.empty((60, 50)))
    assert len(instances) == 0 and instances.keypoints.shape == (0, 17, 2)


def test_blazepose_detections_use_the_body_circle_and_box_detections_their_box() -> None:
    points = np.full((2, 4, 2), np.nan, np.float32)
    points[0, 0], points[0, 1] = (100.0, 200.0), (100.0, 100.0)  # hip centre, point above the head
    detections = PersonDetections(
        boxes=np.array([[90, 90, 110, 110], [10, 20, 30, 60]], np.float32),  # a face box, a person box
        scores=np.array([0.9, 0.8], np.float32),
        keypoints=points,
        image_size=(400, 400),
    )
    boxes = detection_person_boxes(detections)  # the square around the body circle (diameter 200)
    np.testing.assert_allclose(boxes[0], [0.0, 100.0, 200.0, 300.0], atol=1e-4)
    np.testing.assert_allclose(boxes[1], [10.0, 20.0, 30.0, 60.0])
    upright = detection_person_boxes(detections, aspect_ratio=0.75)  # as tall as the circle, 3/4 as wide
    np.testing.assert_allclose(upright[0], [25.0, 100.0, 175.0, 300.0], atol=1e-4)
    np.testing.assert_allclose(upright[1], [10.0, 20.0, 30.0, 60.0])


def test_rescoring_follows_hrnet() -> None:
    scores = np.array([[0.9, 0.1, 0.5], [0.1, 0.05, 0.2]])
    np.testing.assert_allclose(rescore_instances(scores, np.array([0.5, 1.0])), [0.5 * 0.7, 0.0], rtol=1e-6)


def test_propagate_crops_around_the_confident_keypoints() -> None:
    estimator = ModelPoseEstimator(ConstantDeltaModel((1, 1)), MSRAHeatmap((96, 128), (24, 32)), "coco")
    assert isinstance(estimator, PersonPoseEstimator) and isinstance(estimator, TrackingPoseEstimator)
    seen: list[np.ndarray] = []
    original = estimator.estimate_boxes

    def record(image: np.ndarray, boxes: np.ndarray, box_scores: np.ndarray):  # type: ignore[no-untyped-def]
        seen.append(np.asarray(boxes))
        return original(image, boxes, box_scores)

    estimator.estimate_boxes = record  # type: ignore[method-assign]
    state = np.zeros((17, 3))
    state[:, :2] = np.random.default_rng(0).uniform(20, 200, size=(17, 2))
    state[:, 2] = 0.1
    state[[3, 9], 2] = 0.9  # only two confident keypoints
    instances, states = estimator.propagate(np.zeros((240, 300, 3), np.uint8), [state])
    low, high = state[[3, 9], :2].min(axis=0), state[[3, 9], :2].max(axis=0)
    np.testing.assert_allclose(seen[-1][0], np.concatenate([low, high]))
    assert len(instances) == 1 and len(states) == 1 and states[0].shape == (17, 3)


def test_a_real_hybrid_model_runs_end_to_end() -> None:
    torch.manual_seed(0)
    estimator = build_model_estimator("dscnn_res18_128x96", None, batch_size=2)
    assert isinstance(estimator.codec, IntegralRegression)
    image = np.random.default_rng(0).integers(0, 255, size=(200, 160, 3), dtype=np.uint8)
    boxes = np.array([[10, 20, 90, 180], [50, 40, 150, 190], [0, 0, 160, 200]], np.float64)
    instances = estimator.estimate_boxes(image, boxes, np.ones(3))
    assert instances.keypoints.shape == (3, 17, 2) and np.isfinite(instances.keypoints).all()
    assert (instances.scores >= 0).all() and (instances.scores <= 1 + 1e-6).all()


def test_build_reads_codec_skeleton_and_flip_from_a_posekit_checkpoint(tmp_path: Path) -> None:
    torch.manual_seed(0)
    source = build_model_estimator("simplebaseline_res18_128x96", None, skeleton="mpii").model
    config = {
        "model": {"name": "simplebaseline_res18_128x96", "kwargs": {}},
        "data": {"skeleton": "mpii", "codec": "auto", "sigma": 2.0, "unbiased": False},
        "augmentation": {"use_udp": True},
        "eval": {"flip_test": False, "shift_heatmap": True},
    }
    path = tmp_path / "best.pt"
    save_checkpoint(path, {"format": CHECKPOINT_FORMAT, "model": source.state_dict(), "config": config})
    estimator = build_model_estimator("simplebaseline_res18_128x96", str(path))
    assert estimator.skeleton == "mpii" and estimator.model.num_keypoints == 16
    assert isinstance(estimator.codec, UDPHeatmap) and estimator.use_udp and not estimator.shift_heatmap
    assert estimator.flip_test is False
    for name, tensor in source.state_dict().items():
        torch.testing.assert_close(estimator.model.state_dict()[name], tensor)
    with pytest.raises(ValueError, match="trained as 'simplebaseline_res18_128x96', not 'hrnet_w16_128x96'"):
        build_model_estimator("hrnet_w16_128x96", str(path))


def test_build_rejects_bad_weights(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="bad.pt"):
        build_model_estimator("simplebaseline_res18_128x96", str(bad))
    with pytest.raises(FileNotFoundError):
        build_model_estimator("simplebaseline_res18_128x96", str(tmp_path / "missing.pt"))


def test_codec_must_fit_the_model() -> None:
    model = ConstantDeltaModel((1, 1))
    with pytest.raises(ValueError, match="heatmap size"):
        ModelPoseEstimator(model, MSRAHeatmap((96, 128), (48, 64)), "coco")
    with pytest.raises(ValueError, match="RegressionLabel cannot decode"):
        ModelPoseEstimator(model, RegressionLabel((96, 128)), "coco")
    with pytest.raises(ValueError, match="17"):
        ModelPoseEstimator(model, MSRAHeatmap((96, 128), (24, 32)), "mpii")
