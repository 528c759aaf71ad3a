"""Top-down transforms: flips, crop/warp consistency, half body, encoding, colour, collate."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posekit.codecs import MSRAHeatmap, RegressionLabel
from posekit.data.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    TopDownTransform,
    adjust_colour,
    collate,
    flip_pose,
    half_body_region,
    normalize_image,
)
from posekit.skeletons import get_skeleton

COCO = get_skeleton("coco")


def _denormalize(image: torch.Tensor) -> np.ndarray:
    """(3, h, w) normalised -> (h, w, 3) float in [0, 255]."""
    return (image.numpy().transpose(1, 2, 0) * IMAGENET_STD + IMAGENET_MEAN) * 255.0


def test_flip_twice_is_identity_and_swaps_pairs() -> None:
    rng = np.random.default_rng(0)
    keypoints = rng.uniform(0, 100, size=(3, 17, 2))
    visible = (rng.uniform(size=(3, 17)) > 0.3).astype(np.float32)
    flipped, flipped_visible = flip_pose(keypoints, visible, 120, COCO.flip_indices)
    again, again_visible = flip_pose(flipped, flipped_visible, 120, COCO.flip_indices)
    np.testing.assert_allclose(again, keypoints)
    np.testing.assert_array_equal(again_visible, visible)
    left, right = COCO.index("left_wrist"), COCO.index("right_wrist")
    np.testing.assert_allclose(flipped[:, left, 0], 119 - keypoints[:, right, 0])  # x -> w - 1 - x
    np.testing.assert_allclose(flipped[:, left, 1], keypoints[:, right, 1])
    np.testing.assert_array_equal(flipped_visible[:, left], visible[:, right])
    with pytest.raises(ValueError, match="flip_indices must be a permutation"):
        flip_pose(keypoints, visible, 120, (0, 0, 1))


@pytest.mark.parametrize("use_udp", [False, True])
def test_drawn_dot_lands_at_transformed_keypoint(use_udp: bool) -> None:
    """Augmented crops (scale, rotation, flip) move a drawn dot exactly where the keypoint goes."""
    joint = COCO.index("left_wrist")
    transform = TopDownTransform(
        (48, 64),
        None,
        train=True,
        flip_indices=COCO.flip_indices,
        flip_prob=0.5,
        scale_factor=0.3,
        rotation_factor=30.0,
        rotation_prob=1.0,
        half_body_prob=0.0,
        use_udp=use_udp,
    )
    flipped_seen = set()
    for seed in range(8):
        image = np.zeros((120, 100, 3), dtype=np.uint8)
        keypoints = np.full((17, 2), 50.0)
        keypoints[joint] = (37.0, 71.0)
        image[70:73, 36:39] = 255  # a 3x3 dot centred on pixel (37, 71)
        sample = transform(
            image,
            center=np.array([50.0, 60.0]),
            scale=np.array([75.0, 100.0]),
            keypoints=keypoints,
            visible=np.ones(17),
            rng=np.random.default_rng(seed),
        )
        crop = _denormalize(sample["image"]).sum(axis=-1)
        ys, xs = np.nonzero(crop > 0.5 * crop.max())
        weights = crop[ys, xs]
        dot = np.array([np.average(xs, weights=weights), np.average(ys, weights=weights)])
        index = COCO.flip_indices[joint] if sample["flipped"] else joint
        assert np.linalg.norm(sample["keypoints"][index].numpy() - dot) < 0.35
        flipped_seen.add(bool(sample["flipped"]))
        assert sample["rotation"] != 0.0
    assert flipped_seen == {False, True}


def test_half_body_selects_upper_or_lower() -> None:
    keypoints = np.stack([np.arange(17, dtype=np.float64) * 3, np.arange(17, dtype=np.float64) * 10], axis=-1)
    visible = np.ones(17)
    upper = np.array(COCO.upper_body_indices)
    lower = np.array(COCO.lower_body_indices)
    center, scale = half_body_region(keypoints, visible, COCO.upper_body_indices, 0.75, choose_upper=True)
    np.testing.assert_allclose(center, keypoints[upper].mean(axis=0))
    height = keypoints[upper, 1].max() - keypoints[upper, 1].min()
    np.testing.assert_allclose(scale, [height * 0.75 * 1.5, height * 1.5])
    center, _ = half_body_region(keypoints, visible, COCO.upper_body_indices, 0.75, choose_upper=False)
    np.testing.assert_allclose(center, keypoints[lower].mean(axis=0))
    # too few labelled lower-body keypoints: falls back to the upper body
    visible[lower[1:]] = 0
    center, _ = half_body_region(keypoints, visible, COCO.upper_body_indices, 0.75, choose_upper=False)
    np.testing.assert_allclose(center, keypoints[upper].mean(axis=0))
    assert half_body_region(keypoints, np.eye(17)[0], COCO.upper_body_indices, 0.75, True) is None
    # through the transform (no other augmentation): the crop centre is one of the two halves
    transform = TopDownTransform(
        (48, 64), None, train=True, flip_prob=0.0, scale_factor=0.0, rotation_prob=0.0,
        half_body_prob=1.0, upper_body_indices=COCO.upper_body_indices,
    )  # fmt: skip
    centres = set()
    for seed in range(12):
        sample = transform(
            np.zeros((200, 80, 3), np.uint8), np.array([40.0, 100.0]), np.array([120.0, 160.0]),
            keypoints, np.ones(17), np.random.default_rng(seed),
        )  # fmt: skip
        centres.add(tuple(np.round(sample["center"], 6)))
    assert centres == {
        tuple(np.round(keypoints[upper].mean(axis=0), 6)),
        tuple(np.round(keypoints[lower].mean(axis=0), 6)),
    }


def test_heatmap_and_regression_targets() -> None:
    keypoints = np.array([[20.0, 24.0], [100.0, 100.0]])  # the second one is outside the crop
    image = np.zeros((64, 48, 3), np.uint8)
    center, scale = np.array([24.0, 32.0]), np.array([48.0, 64.0])  # identity crop (HRNet maps centre to (w/2, h/2))
    codec = MSRAHeatmap((48, 64), (12, 16), sigma=1.0)
    sample = TopDownTransform((48, 64), codec)(image, center, scale, keypoints, np.ones(2))
    heatmaps = sample["heatmaps"].numpy()
    assert heatmaps.shape == (2, 16, 12)
    assert np.unravel_index(heatmaps[0].argmax(), heatmaps[0].shape) == (6, 5)  # (24 / 4, 20 / 4)
    np.testing.assert_allclose(sample["target_weight"].numpy(), [1.0, 0.0])
    np.testing.assert_allclose(sample["keypoints"][0].numpy(), [20.0, 24.0], atol=1e-5)
    regression = TopDownTransform((48, 64), RegressionLabel((48, 64)), joint_weights=[2.0, 1.0])
    sample = regression(image, center, scale, keypoints, np.ones(2))
    np.testing.assert_allclose(sample["keypoint_labels"][0].numpy(), [20 / 48, 24 / 64], atol=1e-6)
    np.testing.assert_allclose(sample["target_weight"].numpy(), [2.0, 0.0])


def test_colour_and_normalisation() -> None:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, size=(8, 6, 3), dtype=np.uint8)
    assert adjust_colour(image) is image
    grey = adjust_colour(image, saturation=0.0).astype(int)
    assert np.abs(grey[..., 0] - grey[..., 1]).max() <= 1 and np.abs(grey[..., 1] - grey[..., 2]).max() <= 1
    np.testing.assert_array_equal(adjust_colour(image, brightness=0.0), np.zeros_like(image))
    flat = adjust_colour(image, contrast=0.0)
    assert flat.max() - flat.min() <= 1
    tensor = normalize_image(image)
    assert tensor.shape == (3, 8, 6) and tensor.dtype == torch.float32
    np.testing.assert_allclose(_denormalize(tensor), image, atol=1e-3)


def test_collate_stacks_every_kind() -> None:
    samples = [
        {"image": torch.zeros(3, 4, 4), "center": np.array([1.0, 2.0]), "flipped": False, "index": 3, "score": 0.5},
        {"image": torch.ones(3, 4, 4), "center": np.array([3.0, 4.0]), "flipped": True, "index": 4, "score": 1.5},
    ]
    batch = collate(samples)
    assert batch["image"].shape == (2, 3, 4, 4)
    assert batch["center"].dtype == torch.float64 and batch["center"].shape == (2, 2)
    assert batch["flipped"].tolist() == [False, True] and batch["index"].tolist() == [3, 4]
    assert batch["score"].tolist() == [0.5, 1.5]
    with pytest.raises(ValueError, match="empty"):
        collate([])
