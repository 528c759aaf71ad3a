"""Tests of posekit.codecs.flip: heatmap and coordinate flips (numpy and torch)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posekit.codecs.flip import flip_coordinates, flip_heatmaps
from posekit.skeletons import get_skeleton

COCO = get_skeleton("coco")


def test_flip_heatmaps_permutation_mirror_and_shift() -> None:
    heatmaps = np.arange(2 * 3 * 2 * 4, dtype=np.float32).reshape(2, 3, 2, 4)
    flip_indices = (0, 2, 1)
    flipped = flip_heatmaps(heatmaps, flip_indices, shift_heatmap=False)
    np.testing.assert_array_equal(flipped[:, 1], heatmaps[:, 2, :, ::-1])
    np.testing.assert_array_equal(flipped[:, 0], heatmaps[:, 0, :, ::-1])
    np.testing.assert_array_equal(flip_heatmaps(flipped, flip_indices, shift_heatmap=False), heatmaps)  # involution
    shifted = flip_heatmaps(heatmaps, flip_indices, shift_heatmap=True)
    row = heatmaps[0, 0, 0, ::-1]  # [3, 2, 1, 0]
    assert shifted[0, 0, 0].tolist() == [row[0], row[0], row[1], row[2]]
    for shift in (False, True):
        torch_flipped = flip_heatmaps(torch.from_numpy(heatmaps), flip_indices, shift_heatmap=shift)
        np.testing.assert_array_equal(torch_flipped.numpy(), flip_heatmaps(heatmaps, flip_indices, shift))
    with pytest.raises(ValueError, match="permutation of range\\(3\\)"):
        flip_heatmaps(heatmaps, (0, 1, 1))
    with pytest.raises(ValueError, match="permutation"):
        flip_heatmaps(torch.from_numpy(heatmaps), (0, 1))


def test_flip_coordinates_is_an_involution_and_swaps_pairs() -> None:
    coordinates = torch.rand(3, 17, 2)
    twice = flip_coordinates(flip_coordinates(coordinates, COCO.flip_indices, 96), COCO.flip_indices, 96)
    torch.testing.assert_close(twice, coordinates)
    once = flip_coordinates(coordinates, COCO.flip_indices, 96)
    left_wrist, right_wrist = COCO.index("left_wrist"), COCO.index("right_wrist")
    assert once[0, left_wrist, 0].item() == pytest.approx(95 / 96 - coordinates[0, right_wrist, 0].item(), abs=1e-6)
