"""Tests of posekit.codecs.gaussian: Gaussian targets (MSRA, UDP, DARK) and instance merging."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import pytest

from posekit.codecs.gaussian import generate_gaussian_heatmaps, merge_instance_heatmaps

HEATMAP_SIZE = (48, 64)  # (W, H)


@pytest.mark.parametrize("sigma", [2.0, 3.0, 1.5])
def test_msra_gaussian_matches_hrnet_loop(
    sigma: float, reference_loops: SimpleNamespace, random_heatmap_keypoints: Callable[..., np.ndarray]
) -> None:
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


def test_udp_and_dark_gaussians_match_loops(
    reference_loops: SimpleNamespace, random_heatmap_keypoints: Callable[..., np.ndarray]
) -> None:
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
    assert heatmaps.sum() == pytest.approx(np.sum(np.exp(-(np.arange(-6, 7) ** 2) / 8)) ** 2, rel=1e-6)
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
