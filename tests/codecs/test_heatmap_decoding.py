"""Tests of posekit.codecs.heatmap_decoding: maxima, blur, quarter offset, DARK and UDP refinement (numpy and torch)."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch

from posekit.codecs.gaussian import generate_gaussian_heatmaps
from posekit.codecs.heatmap_decoding import (
    blur_heatmaps,
    get_heatmap_maximum,
    refine_keypoints_dark,
    refine_keypoints_dark_udp,
    refine_keypoints_quarter_offset,
)

HEATMAP_SIZE = (48, 64)  # (W, H)


def test_get_heatmap_maximum_values_ties_and_nonpositive() -> None:
    heatmaps = np.zeros((2, 3, 4, 5), dtype=np.float32)
    heatmaps[0, 0, 2, 3] = 0.9
    heatmaps[0, 1, 1, 1] = heatmaps[0, 1, 3, 4] = 0.5  # tie: first in row-major order
    heatmaps[0, 2] = -1.0
    heatmaps[1, 0, 3, 0] = 2.0
    locations, values = get_heatmap_maximum(heatmaps)
    assert locations.shape == (2, 3, 2) and values.shape == (2, 3)
    assert locations[0].tolist() == [[3, 2], [1, 1], [-1, -1]]
    assert locations[1].tolist() == [[0, 3], [-1, -1], [-1, -1]]  # all-zero maps -> -1
    np.testing.assert_allclose(values, [[0.9, 0.5, -1.0], [2.0, 0.0, 0.0]], rtol=1e-6)
    single_locations, single_values = get_heatmap_maximum(heatmaps[0])
    np.testing.assert_array_equal(single_locations, locations[0])
    torch_locations, torch_values = get_heatmap_maximum(torch.from_numpy(heatmaps))
    np.testing.assert_array_equal(torch_locations.numpy(), locations)
    np.testing.assert_array_equal(torch_values.numpy(), values)


@pytest.mark.parametrize("kernel_size", [3, 11, 17])
def test_blur_matches_opencv(kernel_size: int, reference_loops: SimpleNamespace) -> None:
    rng = np.random.default_rng(3)
    heatmaps = rng.uniform(0, 1, size=(3, 20, 16)).astype(np.float32)
    blurred = blur_heatmaps(heatmaps, kernel_size)
    for k in range(3):
        expected = reference_loops.dark_modulate(heatmaps[k], kernel_size)
        np.testing.assert_allclose(blurred[k], expected, rtol=1e-5, atol=1e-6)
        reflect = cv2.GaussianBlur(heatmaps[k], (kernel_size, kernel_size), 0)
        ours = blur_heatmaps(heatmaps[k], kernel_size, border="reflect", keep_maximum=False)
        np.testing.assert_allclose(ours, reflect, rtol=1e-5, atol=1e-6)
    heatmaps64 = heatmaps.astype(np.float64)
    assert blur_heatmaps(heatmaps64, kernel_size).dtype == np.float64 and blurred.dtype == np.float32
    torch_blurred = blur_heatmaps(torch.from_numpy(heatmaps64), kernel_size)
    np.testing.assert_allclose(torch_blurred.numpy(), blur_heatmaps(heatmaps64, kernel_size), atol=1e-12)
    torch_reflect = blur_heatmaps(torch.from_numpy(heatmaps64), kernel_size, border="reflect", keep_maximum=False)
    expected_reflect = blur_heatmaps(heatmaps64, kernel_size, border="reflect", keep_maximum=False)
    np.testing.assert_allclose(torch_reflect.numpy(), expected_reflect, atol=1e-12)
    zeros = blur_heatmaps(np.zeros((1, 8, 8)), kernel_size)
    assert np.isfinite(zeros).all() and (zeros == 0).all()


def test_quarter_offset_moves_towards_higher_neighbour() -> None:
    heatmaps = np.zeros((1, 4, 8, 8), dtype=np.float32)
    heatmaps[0, 0, 4, 4], heatmaps[0, 0, 4, 5], heatmaps[0, 0, 3, 4] = 1.0, 0.5, 0.2  # right and up
    heatmaps[0, 1, 4, 4], heatmaps[0, 1, 4, 3], heatmaps[0, 1, 5, 4] = 1.0, 0.5, 0.2  # left and down
    heatmaps[0, 2, 4, 1], heatmaps[0, 2, 4, 2] = 1.0, 0.5  # x = 1 is not refined (needs 1 < x)
    heatmaps[0, 3, 4, 4] = 1.0  # symmetric: no move
    locations, _ = get_heatmap_maximum(heatmaps)
    refined = refine_keypoints_quarter_offset(locations, heatmaps)
    assert refined[0].tolist() == [[4.25, 3.75], [3.75, 4.25], [1.0, 4.0], [4.0, 4.0]]
    torch_refined = refine_keypoints_quarter_offset(torch.from_numpy(locations), torch.from_numpy(heatmaps))
    np.testing.assert_array_equal(torch_refined.numpy(), refined)


def test_dark_refinement_matches_loop(
    reference_loops: SimpleNamespace, random_heatmap_keypoints: Callable[..., np.ndarray]
) -> None:
    rng = np.random.default_rng(4)
    keypoints = random_heatmap_keypoints(rng, 17, margin=1.0)
    heatmaps, _ = generate_gaussian_heatmaps(
        HEATMAP_SIZE, keypoints, np.ones((1, 17)), 2.0, subpixel_centre=True, truncate=False
    )
    heatmaps += rng.uniform(0, 0.05, heatmaps.shape).astype(np.float32)  # not exactly Gaussian
    locations, _ = get_heatmap_maximum(heatmaps)
    refined = refine_keypoints_dark(locations, heatmaps, 11)
    expected = reference_loops.dark_refine(locations[0], heatmaps[0], 11)
    np.testing.assert_allclose(refined[0], expected, atol=2e-4)
    assert np.abs(refined - locations).max() > 0.1  # the refinement really moves points
    torch_refined = refine_keypoints_dark(torch.from_numpy(locations).double(), torch.from_numpy(heatmaps).double(), 11)
    np.testing.assert_allclose(torch_refined.numpy(), refined, atol=1e-5)


def test_udp_refinement_matches_loop(
    reference_loops: SimpleNamespace, random_heatmap_keypoints: Callable[..., np.ndarray]
) -> None:
    rng = np.random.default_rng(5)
    keypoints = random_heatmap_keypoints(rng, 17, margin=0.0)
    heatmaps, _ = generate_gaussian_heatmaps(HEATMAP_SIZE, keypoints, np.ones((1, 17)), 2.0, subpixel_centre=True)
    locations, _ = get_heatmap_maximum(heatmaps)
    refined = refine_keypoints_dark_udp(locations, heatmaps, 11)
    expected = reference_loops.udp_refine(locations[0], heatmaps[0], 11)
    np.testing.assert_allclose(refined[0], expected, atol=2e-4)
    torch_refined = refine_keypoints_dark_udp(
        torch.from_numpy(locations).double(), torch.from_numpy(heatmaps).double(), 11
    )
    np.testing.assert_allclose(torch_refined.numpy(), refined, atol=1e-5)
