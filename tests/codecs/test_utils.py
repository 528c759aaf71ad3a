"""Tests of posekit.codecs.utils: Gaussian targets, maxima, blur, refinements, flip."""

from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch

from posekit.codecs.utils import (
    blur_heatmaps,
    blur_heatmaps_torch,
    check_heatmaps,
    check_size,
    flip_heatmaps,
    flip_heatmaps_torch,
    generate_gaussian_heatmaps,
    get_heatmap_maximum,
    get_heatmap_maximum_torch,
    merge_instance_heatmaps,
    refine_keypoints_dark,
    refine_keypoints_dark_torch,
    refine_keypoints_dark_udp,
    refine_keypoints_dark_udp_torch,
    refine_keypoints_quarter_offset,
    refine_keypoints_quarter_offset_torch,
)

HEATMAP_SIZE = (48, 64)  # (W, H)


def random_heatmap_keypoints(rng: np.random.Generator, count: int, margin: float = -8.0) -> np.ndarray:
    """(1, count, 2) keypoints in heatmap pixels, some beyond the borders by up to -margin."""
    width, height = HEATMAP_SIZE
    xs = rng.uniform(margin, width - 1 - margin, count)
    ys = rng.uniform(margin, height - 1 - margin, count)
    return np.stack([xs, ys], axis=-1)[None]


@pytest.mark.parametrize("sigma", [2.0, 3.0, 1.5])
def test_msra_gaussian_matches_hrnet_loop(sigma: float, reference_loops: SimpleNamespace) -> None:
    rng = np.random.default_rng(1)
    # non-negative keypoints: the reference truncates int() toward zero, equal to floor there
    keypoints = random_heatmap_keypoints(rng, 40, margin=-10.0)
    keypoints = np.maximum(keypoints, 0.0)
    visible = (rng.uniform(size=(1, 40)) > 0.2).astype(np.float32)
    heatmaps, weights = generate_gaussian_heatmaps(HEATMAP_SIZE, keypoints, visible, sigma)
    expected, expected_weights = reference_loops.hrnet_generate_target(keypoints[0], visible[0], HEATMAP_SIZE, sigma)
    np.testing.assert_allclose(heatmaps[0], expected, atol=1e-6)
    np.testing.assert_array_equal(weights[0], expected_weights)
    assert (weights[0][visible[0] == 0] == 0).all()
    assert expected_weights.sum() < 40  # some keypoints really are out of range or invisible


def test_udp_and_dark_gaussians_match_loops(reference_loops: SimpleNamespace) -> None:
    rng = np.random.default_rng(2)
    keypoints = np.maximum(random_heatmap_keypoints(rng, 30, margin=-9.0), 0.0)
    visible = np.ones((1, 30), dtype=np.float32)
    udp, udp_weights = generate_gaussian_heatmaps(HEATMAP_SIZE, keypoints, visible, 2.0, subpixel_centre=True)
    expected, expected_weights = reference_loops.udp_generate_target(keypoints[0], visible[0], HEATMAP_SIZE, 2.0)
    np.testing.assert_allclose(udp[0], expected, atol=1e-6)
    np.testing.assert_array_equal(udp_weights[0], expected_weights)

    keypoints = random_heatmap_keypoints(rng, 12, margin=-9.0)  # negative coordinates too
    dark, dark_weights = generate_gaussian_heatmaps(
        HEATMAP_SIZE, keypoints, visible[:, :12], 2.0, subpixel_centre=True, truncate=False
    )
    expected, expected_weights = reference_loops.dark_generate_target(keypoints[0], visible[0, :12], HEATMAP_SIZE, 2.0)
    np.testing.assert_allclose(dark[0], expected, atol=1e-6)
    np.testing.assert_array_equal(dark_weights[0], expected_weights)


def test_gaussian_peak_is_one_at_integer_centre_and_hand_values() -> None:
    keypoints = np.array([[[10.0, 20.0]]])
    heatmaps, weights = generate_gaussian_heatmaps(HEATMAP_SIZE, keypoints, np.ones((1, 1)), 2.0)
    assert heatmaps[0, 0, 20, 10] == 1.0
    assert heatmaps.max() == 1.0
    assert heatmaps[0, 0, 20, 11] == pytest.approx(np.exp(-1 / 8), abs=1e-7)
    assert heatmaps[0, 0, 21, 11] == pytest.approx(np.exp(-2 / 8), abs=1e-7)
    assert heatmaps[0, 0, 20, 16] == pytest.approx(np.exp(-36 / 8), abs=1e-7)  # radius 6 still drawn
    assert heatmaps[0, 0, 20, 17] == 0.0  # beyond 3 sigma
    assert heatmaps[0, 0, 27, 10] == 0.0
    assert heatmaps.sum() == pytest.approx(np.sum(np.exp(-np.arange(-6, 7) ** 2 / 8)) ** 2, rel=1e-6)
    assert weights.tolist() == [[1.0]]
    # a keypoint at 10.4 rounds to the same integer centre
    shifted, _ = generate_gaussian_heatmaps(HEATMAP_SIZE, keypoints + 0.4, np.ones((1, 1)), 2.0)
    np.testing.assert_array_equal(shifted, heatmaps)


def test_out_of_range_invisible_and_nan_get_zero_weight() -> None:
    width, height = HEATMAP_SIZE
    keypoints = np.array(
        [
            [
                [-6.6, 10.0],  # rounds to -7: window reaches -1 at most -> outside
                [-6.4, 10.0],  # rounds to -6: window reaches pixel 0 -> kept
                [width + 5.4, 10.0],  # rounds to W+5: window starts at W-1 -> kept
                [width + 6.5, 10.0],  # rounds to W+7: window starts at W+1 -> outside
                [10.0, height + 100.0],
                [10.0, 10.0],  # invisible
                [np.nan, 10.0],
            ]
        ]
    )
    visible = np.array([[1, 1, 1, 1, 1, 0, 1]], dtype=np.float32)
    heatmaps, weights = generate_gaussian_heatmaps(HEATMAP_SIZE, keypoints, visible, 2.0)
    assert weights.tolist() == [[0, 1, 1, 0, 0, 0, 0]]
    drawn = heatmaps.reshape(7, -1).max(axis=1) > 0
    assert drawn.tolist() == [False, True, True, False, False, False, False]
    assert np.isfinite(heatmaps).all()
    assert heatmaps[0, 1, 10, 0] == pytest.approx(np.exp(-36 / 8), abs=1e-7)


def test_weights_keep_float_visibility_and_merge() -> None:
    keypoints = np.array([[[5.0, 5.0]], [[30.0, 40.0]]])
    visible = np.array([[0.7], [0.4]], dtype=np.float32)
    heatmaps, weights = generate_gaussian_heatmaps(HEATMAP_SIZE, keypoints, visible, 2.0)
    assert weights[:, 0].tolist() == pytest.approx([0.7, 0.0])
    merged = merge_instance_heatmaps(heatmaps)
    assert merged.shape == (1, 64, 48)
    np.testing.assert_array_equal(merged, np.maximum(heatmaps[0], heatmaps[1]))
    assert merge_instance_heatmaps(np.zeros((0, 3, 4, 5), np.float32)).shape == (3, 4, 5)


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
    torch_locations, torch_values = get_heatmap_maximum_torch(torch.from_numpy(heatmaps))
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
    torch_blurred = blur_heatmaps_torch(torch.from_numpy(heatmaps64), kernel_size)
    np.testing.assert_allclose(torch_blurred.numpy(), blur_heatmaps(heatmaps64, kernel_size), atol=1e-12)
    torch_reflect = blur_heatmaps_torch(torch.from_numpy(heatmaps64), kernel_size, border="reflect", keep_maximum=False)
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
    torch_refined = refine_keypoints_quarter_offset_torch(torch.from_numpy(locations), torch.from_numpy(heatmaps))
    np.testing.assert_array_equal(torch_refined.numpy(), refined)


def test_dark_refinement_matches_loop(reference_loops: SimpleNamespace) -> None:
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
    torch_refined = refine_keypoints_dark_torch(
        torch.from_numpy(locations).double(), torch.from_numpy(heatmaps).double(), 11
    )
    np.testing.assert_allclose(torch_refined.numpy(), refined, atol=1e-5)


def test_udp_refinement_matches_loop(reference_loops: SimpleNamespace) -> None:
    rng = np.random.default_rng(5)
    keypoints = random_heatmap_keypoints(rng, 17, margin=0.0)
    heatmaps, _ = generate_gaussian_heatmaps(HEATMAP_SIZE, keypoints, np.ones((1, 17)), 2.0, subpixel_centre=True)
    locations, _ = get_heatmap_maximum(heatmaps)
    refined = refine_keypoints_dark_udp(locations, heatmaps, 11)
    expected = reference_loops.udp_refine(locations[0], heatmaps[0], 11)
    np.testing.assert_allclose(refined[0], expected, atol=2e-4)
    torch_refined = refine_keypoints_dark_udp_torch(
        torch.from_numpy(locations).double(), torch.from_numpy(heatmaps).double(), 11
    )
    np.testing.assert_allclose(torch_refined.numpy(), refined, atol=1e-5)


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
        torch_flipped = flip_heatmaps_torch(torch.from_numpy(heatmaps), flip_indices, shift_heatmap=shift)
        np.testing.assert_array_equal(torch_flipped.numpy(), flip_heatmaps(heatmaps, flip_indices, shift))
    with pytest.raises(ValueError, match="permutation of range\\(3\\)"):
        flip_heatmaps(heatmaps, (0, 1, 1))
    with pytest.raises(ValueError, match="permutation"):
        flip_heatmaps_torch(torch.from_numpy(heatmaps), (0, 1))


def test_argument_checks_name_what_they_got() -> None:
    with pytest.raises(ValueError, match=r"keypoints must have shape \(N, K, 2\), got \(5, 17\)"):
        generate_gaussian_heatmaps(HEATMAP_SIZE, np.zeros((5, 17)), np.ones((5, 17)), 2.0)
    with pytest.raises(ValueError, match=r"visible must have shape"):
        generate_gaussian_heatmaps(HEATMAP_SIZE, np.zeros((1, 17, 2)), np.ones((1, 16)), 2.0)
    with pytest.raises(ValueError, match="sigma"):
        generate_gaussian_heatmaps(HEATMAP_SIZE, np.zeros((1, 17, 2)), np.ones((1, 17)), 0.0)
    with pytest.raises(ValueError, match="heatmap_size"):
        check_size("heatmap_size", (48,))
    with pytest.raises(ValueError, match="input_size"):
        check_size("input_size", (0, 10))
    with pytest.raises(ValueError, match=r"\(K, H, W\) or \(N, K, H, W\), got \(64, 48\)"):
        check_heatmaps(np.zeros((64, 48)))
    with pytest.raises(ValueError, match=r"spatial size"):
        check_heatmaps(np.zeros((17, 64, 49)), HEATMAP_SIZE)
    with pytest.raises(ValueError, match="odd"):
        blur_heatmaps(np.zeros((3, 8, 8)), 4)
