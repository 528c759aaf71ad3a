"""Whole-image bottom-up inference: the official HigherHRNet test pipeline, and BottomUpEstimator's contract.

The parity fixture (``tests/fixtures/official/bottomup_pipeline.npz``) was recorded from the official
code by ``benchmarks/make_bottomup_pipeline_fixture.py`` with a deterministic stand-in network
(:class:`support.bottomup.ProbeNetwork`); see that script for what is stored.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from support.bottomup import ProbeNetwork, probe_weights, smooth_image

from posekit.geometry import get_warp_matrix
from posekit.inference.bottomup import (
    OFFICIAL_JOINT_ORDER,
    BottomUpEstimator,
    check_scales,
    multi_scale_size,
    official_affine_transform,
    official_grouping_config,
)
from posekit.inference.estimator import PoseEstimator

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "official" / "bottomup_pipeline.npz"
CASES = [f"case{index}" for index in range(5)]


@pytest.fixture(scope="module")
def official() -> dict[str, np.ndarray]:
    with np.load(FIXTURE, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def probe(official: dict[str, np.ndarray], skeleton: str) -> ProbeNetwork:
    return ProbeNetwork(
        official[f"{skeleton}_low"],
        official[f"{skeleton}_high"],
        skeleton=skeleton,
        input_size=int(official["input_size"]),
        tag_per_joint=True,
    )


def case_estimator(official: dict[str, np.ndarray], case: str) -> tuple[BottomUpEstimator, np.ndarray]:
    skeleton = str(official[f"{case}_skeleton"])
    estimator = BottomUpEstimator(
        probe(official, skeleton),
        scales=tuple(official[f"{case}_scales"].tolist()),
        flip_test=bool(official[f"{case}_flip"]),
    )
    return estimator, official[f"{skeleton}_image"]


def test_fixture_records_the_official_setup(official: dict[str, np.ndarray]) -> None:
    assert str(official["munkres_version"]) == "1.1.4"
    assert sorted(str(case) for case in official["cases"]) == CASES


@pytest.mark.parametrize("case", CASES)
def test_aggregated_maps_match_the_official_pipeline(official: dict[str, np.ndarray], case: str) -> None:
    estimator, image = case_estimator(official, case)
    maps = estimator.aggregate(image)
    assert maps.base_size == tuple(official[f"{case}_base_size"].tolist())
    np.testing.assert_array_equal(maps.center, official[f"{case}_center"])
    np.testing.assert_array_equal(maps.scale, official[f"{case}_scale"])
    for name, values in (("heatmap", maps.heatmaps.numpy()), ("tag", maps.tags.numpy())):
        assert values.dtype == np.float32
        assert values.shape == tuple(official[f"{case}_{name}_shape"].tolist())
        sampled = values.reshape(-1)[official[f"{case}_{name}_index"]]
        np.testing.assert_allclose(sampled, official[f"{case}_{name}_values"], rtol=1e-6, atol=1e-6)
        sums = values.astype(np.float64).reshape(values.shape[0], -1).sum(axis=1)
        np.testing.assert_allclose(sums, official[f"{case}_{name}_sums"], rtol=1e-6, atol=1e-3)


@pytest.mark.parametrize("case", CASES)
def test_people_match_the_official_pipeline(official: dict[str, np.ndarray], case: str) -> None:
    estimator, image = case_estimator(official, case)
    keypoints, scores = estimator.predict_people(image)
    expected = official[f"{case}_people"]
    assert len(expected) > 5  # the case has people to group
    assert keypoints.shape == expected[:, :, :3].shape
    # Same people in the same order: joint positions to float32 rounding of the final transform.
    np.testing.assert_allclose(keypoints[:, :, :2], expected[:, :, :2], rtol=0, atol=1e-4)
    np.testing.assert_allclose(keypoints[:, :, 2], expected[:, :, 2], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(scores, official[f"{case}_scores"], rtol=1e-5, atol=1e-6)


def test_call_returns_people_best_first(official: dict[str, np.ndarray]) -> None:
    estimator, image = case_estimator(official, "case0")
    assert isinstance(estimator, PoseEstimator)
    keypoints, scores = estimator.predict_people(image)
    people = estimator(image)
    assert people.skeleton == "coco" and len(people) == len(scores)
    assert people.instance_scores is not None and people.boxes is not None
    assert np.all(np.diff(people.instance_scores) <= 0)
    order = np.argsort(-scores, kind="stable")
    np.testing.assert_array_equal(people.keypoints, keypoints[order, :, :2])
    np.testing.assert_array_equal(people.scores, keypoints[order, :, 2])
    valid = people.scores[0] > 0
    box = people.boxes[0]
    assert box[0] == people.keypoints[0, valid, 0].min() and box[3] == people.keypoints[0, valid, 1].max()
    timings = estimator.last_timings
    assert timings is not None and timings.network > 0 and timings.grouping > 0
    assert timings.total == pytest.approx(sum(value for key, value in timings.as_dict().items() if key != "total"))


def test_max_people_and_min_score(official: dict[str, np.ndarray]) -> None:
    estimator, image = case_estimator(official, "case0")
    every = estimator(image)
    assert every.instance_scores is not None
    threshold = float(np.median(every.instance_scores))
    estimator.min_score, estimator.max_people = threshold, 3
    kept = estimator(image)
    assert kept.instance_scores is not None
    assert len(kept) == 3 and np.all(kept.instance_scores >= threshold)
    np.testing.assert_array_equal(kept.keypoints, every.keypoints[:3])


def test_nobody_gives_an_empty_result(official: dict[str, np.ndarray]) -> None:
    estimator, _ = case_estimator(official, "case1")
    people = estimator(np.zeros((40, 60, 3), np.uint8))  # dark: every heatmap value is below 0.1
    assert len(people) == 0 and people.skeleton == "coco" and people.keypoints.shape == (0, 17, 2)
    keypoints, scores = estimator.predict_people(np.zeros((40, 60, 3), np.uint8))
    assert keypoints.shape == (0, 17, 3) and scores.shape == (0,)


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((20, 30), np.uint8), r"shape \(H, W, 3\).*got shape \(20, 30\)"),
        (np.zeros((20, 30, 4), np.uint8), r"shape \(H, W, 3\).*got shape \(20, 30, 4\)"),
        (np.zeros((20, 30, 3), np.float32), r"uint8 RGB.*got dtype float32"),
        (np.zeros((0, 30, 3), np.uint8), r"image is empty"),
    ],
)
def test_bad_images_are_refused_with_one_sentence(
    official: dict[str, np.ndarray], image: np.ndarray, message: str
) -> None:
    estimator, _ = case_estimator(official, "case1")
    with pytest.raises(ValueError, match=message):
        estimator(image)


def test_scales_are_checked() -> None:
    assert check_scales([2, 1, 0.5]) == (2.0, 1.0, 0.5)
    for scales, message in (([], "at least one"), ([1, -1], "positive"), ([0.5, 2], "must include 1")):
        with pytest.raises(ValueError, match=message):
            check_scales(scales)


def test_multi_scale_size_rounds_to_multiples_of_64() -> None:
    # Landscape 640x480 at 512: short side 512, long side 512 / 480 * 640 = 682.7 -> 704.
    size, center, scale = multi_scale_size((640, 480), 512, 1.0, 1.0)
    assert size == (704, 512) and center.tolist() == [320, 240]
    np.testing.assert_allclose(scale, [704 / 512 * 480 / 200, 480 / 200])
    # Multi-scale: the size at the smallest scale (0.5: 256 x 384 for 341.3) times s / 0.5.
    assert multi_scale_size((640, 480), 512, 0.5, 0.5)[0] == (384, 256)
    assert multi_scale_size((640, 480), 512, 1.0, 0.5)[0] == (768, 512)
    assert multi_scale_size((640, 480), 512, 2.0, 0.5)[0] == (1536, 1024)
    # Portrait, odd sizes: the centre rounds half up.
    size, center, _ = multi_scale_size((97, 150), 128, 1.0, 1.0)
    assert size == (128, 256) and center.tolist() == [49, 75]


def test_affine_transform_is_the_resize_similarity() -> None:
    center, scale = np.array([320, 240]), np.array([704 / 512 * 480 / 200, 480 / 200])
    matrix = official_affine_transform(center, scale, (704, 512))
    np.testing.assert_allclose(matrix, get_warp_matrix(center, scale * 200, 0.0, (704, 512)), atol=1e-4)
    inverse = official_affine_transform(center, scale, (704, 512), inverse=True)
    np.testing.assert_allclose(inverse[:, :2] @ matrix[:, :2], np.eye(2), atol=1e-6)
    np.testing.assert_allclose(matrix @ [320, 240, 1], [352, 256], atol=1e-3)


def test_grouping_follows_the_official_joint_order() -> None:
    coco = official_grouping_config(17, True)
    assert coco.joint_order == OFFICIAL_JOINT_ORDER and coco.nms_kernel == 5 and coco.detection_threshold == 0.1
    crowdpose = official_grouping_config(14, True).joint_order
    assert (
        crowdpose is not None
        and crowdpose[:9] == (0, 1, 2, 3, 4, 5, 6, 11, 12)
        and sorted(crowdpose) == list(range(14))
    )
    assert official_grouping_config(5, False).joint_order == (0, 1, 2, 3, 4)


def test_network_and_skeleton_must_agree() -> None:
    low, high = probe_weights(np.random.default_rng(0), 14, True)
    with pytest.raises(ValueError, match="14 joints but its skeleton 'coco' has 17"):
        BottomUpEstimator(ProbeNetwork(low, high, skeleton="coco", input_size=64, tag_per_joint=True))


def test_single_tag_map_networks_run() -> None:
    rng = np.random.default_rng(1)
    low, high = probe_weights(rng, 17, False)
    network = ProbeNetwork(low, high, skeleton="coco", input_size=64, tag_per_joint=False)
    estimator = BottomUpEstimator(network, scales=(1.0, 0.5))
    image = smooth_image(rng, 70, 50)
    maps = estimator.aggregate(image)
    assert maps.tags.shape == (1, 128, 256, 2)  # one tag map, original + mirrored, of scale 1 only
    people = estimator(image)
    assert people.keypoints.shape[1:] == (17, 2)


def test_the_network_runs_without_gradients(official: dict[str, np.ndarray]) -> None:
    estimator, image = case_estimator(official, "case1")
    maps = estimator.aggregate(image)
    assert not maps.heatmaps.requires_grad and maps.heatmaps.device == torch.device("cpu")


def test_build_estimator_dispatches_bottom_up_models(tmp_path: Path) -> None:
    from posekit.inference.estimator import build_estimator
    from posekit.io.checkpoint import save_checkpoint
    from posekit.models.registry import get_model

    weights = tmp_path / "w16.pt"
    torch.manual_seed(0)
    save_checkpoint(weights, {"model": get_model("higherhrnet_w16_256").state_dict()})
    estimator = build_estimator("higherhrnet_w16_256", weights, scales=(2, 1), flip=False, max_people=3, min_score=0.1)
    assert isinstance(estimator, BottomUpEstimator)
    assert estimator.scales == (2.0, 1.0) and not estimator.flip_test
    assert estimator.max_people == 3 and estimator.min_score == 0.1
    people = estimator(np.full((50, 70, 3), 90, np.uint8))  # the official initialisation finds nobody
    assert len(people) == 0 and people.skeleton == "coco"
    with pytest.raises(ValueError, match="apply to bottom-up models"):
        build_estimator(None, scales=(1, 2))
    with pytest.raises(ValueError, match="BlazePose has no flip test"):
        build_estimator(None, flip=False)


def test_tiny_and_too_elongated_images(official: dict[str, np.ndarray]) -> None:
    estimator, _ = case_estimator(official, "case1")
    assert estimator.aggregate(np.full((1, 1, 3), 200, np.uint8)).base_size == (128, 128)
    estimator(np.full((1, 1, 3), 200, np.uint8))
    with pytest.raises(ValueError, match=r"image of 1x3000 px is too elongated: .* 128x384000 px"):
        estimator(np.zeros((3000, 1, 3), np.uint8))
