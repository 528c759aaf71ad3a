"""Bottom-up data: the official augmentation (stored fixture), masks, records and dataset samples."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from posekit.codecs.associative_embedding import AssociativeEmbedding
from posekit.data.bottomup import (
    AffineParameters,
    BottomUpDataset,
    BottomUpTransform,
    image_mask,
    load_bottomup_coco,
)
from posekit.data.transforms import collate
from posekit.skeletons import get_skeleton

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures/official/higherhrnet_training.pt"


def test_affine_and_flip_match_the_official_transforms() -> None:
    official = torch.load(FIXTURE, weights_only=True)["transforms"]
    transform = BottomUpTransform(128, (32, 64), official["flip_index"])
    image, mask, joints = official["image"].numpy(), official["mask"].numpy(), official["joints"].numpy()
    flips = set()
    for case in official["cases"]:
        parameters = AffineParameters(case["aug_scale"], case["aug_rotation"], tuple(case["translate"]), case["flip"])
        flips.add(case["flip"])
        warped, masks, moved = transform.apply(image, mask, joints, parameters)
        np.testing.assert_array_equal(warped, case["image"].numpy())
        for ours, theirs in zip(masks, case["masks"], strict=True):
            np.testing.assert_array_equal(ours, theirs.numpy())
        for ours, theirs in zip(moved, case["joints"], strict=True):
            np.testing.assert_array_equal(ours, theirs.numpy())
    assert flips == {True, False}


def test_sampled_parameters_stay_in_the_official_ranges() -> None:
    transform = BottomUpTransform(512, (128, 256), list(range(17)))
    rng = np.random.default_rng(0)
    draws = [transform.sample(rng, 480, 640) for _ in range(200)]
    scales = np.array([draw.aug_scale for draw in draws])
    rotations = np.array([draw.rotation for draw in draws])
    shifts = np.array([draw.translate for draw in draws])
    assert 0.75 <= scales.min() and scales.max() < 1.5 and np.abs(rotations).max() <= 30
    assert np.all(np.abs(shifts) <= 40 * 480 / 200 * scales[:, None])
    assert 0.3 < np.mean([draw.flip for draw in draws]) < 0.7


def _uncompressed_rle(mask: np.ndarray) -> list[int]:
    """COCO's uncompressed RLE: run lengths of the column-major mask, starting with a run of zeros."""
    flat = mask.flatten(order="F")
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    runs = np.diff(bounds).tolist()
    return runs if flat[0] == 0 else [0, *runs]


def _dataset_file(tmp_path: Path) -> Path:
    image = np.full((60, 80, 3), 128, dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "a.jpg"), image)
    cv2.imwrite(str(tmp_path / "b.jpg"), image)
    keypoints = [10, 10, 2, 20, 20, 1] + [0] * 45
    crowd = np.zeros((60, 80), dtype=np.uint8)
    crowd[40:50, 60:70] = 1
    data = {
        "images": [
            {"id": 1, "file_name": "a.jpg", "width": 80, "height": 60},
            {"id": 2, "file_name": "b.jpg", "width": 80, "height": 60},
        ],
        "annotations": [
            {"image_id": 1, "keypoints": keypoints, "num_keypoints": 2, "iscrowd": 0, "bbox": [5, 5, 20, 20]},
            {"image_id": 1, "keypoints": [0] * 51, "num_keypoints": 0, "iscrowd": 0, "bbox": [40, 10, 10, 20],
             "segmentation": [[40, 10, 50, 10, 50, 30, 40, 30]]},
            {"image_id": 1, "keypoints": [0] * 51, "iscrowd": 1, "bbox": [60, 40, 10, 10],
             "segmentation": {"counts": _uncompressed_rle(crowd), "size": [60, 80]}},
            {"image_id": 1, "keypoints": [0] * 51, "category_id": 2, "bbox": [0, 0, 80, 60]},
        ],
    }  # fmt: skip
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(data))
    return path


def test_records_masks_and_samples(tmp_path: Path) -> None:
    skeleton = get_skeleton("coco")
    path = _dataset_file(tmp_path)
    records = load_bottomup_coco(path, tmp_path, skeleton)
    assert [entry.image_id for entry in records.images] == [1, 2]
    first = records.images[0]
    assert first.joints.shape == (2, 17, 3) and len(first.masked) == 2  # the crowd is masked, not a person
    mask = image_mask(first)
    assert mask.shape == (60, 80) and mask.dtype == bool
    assert not mask[20, 45] and mask[20, 20] and not mask[45, 60]  # the keypoint-less person and the crowd
    assert mask.sum() == 60 * 80 - 10 * 20 - 100  # pycocotools fills the 10 x 20 polygon with 200 pixels
    assert len(load_bottomup_coco(path, tmp_path, skeleton, remove_images_without_annotations=True)) == 1
    assert image_mask(load_bottomup_coco(path, tmp_path, skeleton, mask="none").images[0]).all()

    codec = AssociativeEmbedding(32, (8, 16), 17)
    transform = BottomUpTransform(32, (8, 16), skeleton.flip_indices, codec=codec)
    dataset = BottomUpDataset(records, transform)
    torch.manual_seed(0)
    batch = collate([dataset[0], dataset[1]])
    assert batch["image"].shape == (2, 3, 32, 32)
    assert batch["heatmaps_0"].shape == (2, 17, 8, 8) and batch["heatmaps_1"].shape == (2, 17, 16, 16)
    assert batch["masks_1"].shape == (2, 16, 16) and batch["joints_0"].shape == (2, 30, 17, 2)
    assert batch["heatmaps_0"][1].max() == 0 and batch["heatmaps_0"][0].max() == 1.0
    # without augmentation the short side (60 px) fills the 32-pixel input: joint (10, 10) -> output 8 pixels
    transform.train = False
    sample = dataset[0]
    scale = 8 / 60
    x, y = int((10 - 40) * scale + 4), int((10 - 30) * scale + 4)
    assert sample["heatmaps_0"][0, y, x] == 1.0
    assert int(sample["joints_0"][0, 0, 0]) == y * 8 + x and int(sample["joints_0"][0, 0, 1]) == 1


def test_bad_input_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="posekit synth"):
        load_bottomup_coco(tmp_path / "annotations" / "train.json", tmp_path)
    path = _dataset_file(tmp_path)
    with pytest.raises(ValueError, match="needs 42"):
        load_bottomup_coco(path, tmp_path, "crowdpose")
    transform = BottomUpTransform(32, (8,), [0])
    with pytest.raises(ValueError, match=r"image must be \(H, W, 3\) uint8"):
        transform.apply(np.zeros((4, 4), np.uint8), np.ones((4, 4), bool), np.zeros((0, 1, 3)), AffineParameters())
    (tmp_path / "b.jpg").unlink()
    with pytest.raises(FileNotFoundError, match="b.jpg"):
        BottomUpDataset(load_bottomup_coco(path, tmp_path), BottomUpTransform(32, (8,), list(range(17))))
