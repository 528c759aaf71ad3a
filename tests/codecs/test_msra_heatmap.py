"""Tests of MSRAHeatmap (SimpleBaseline/HRNet targets, quarter-offset and DARK decoding)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from posekit.codecs import MSRAHeatmap

INPUT_SIZE = (192, 256)
HEATMAP_SIZE = (48, 64)
STRIDE = 4.0


def random_keypoints(rng: np.random.Generator, num_instances: int, margin: float) -> np.ndarray:
    """(N, 17, 2) sub-pixel keypoints in input pixels, at least ``margin`` input px inside the borders."""
    xs = rng.uniform(margin, INPUT_SIZE[0] - 1 - margin, (num_instances, 17))
    ys = rng.uniform(margin, INPUT_SIZE[1] - 1 - margin, (num_instances, 17))
    return np.stack([xs, ys], axis=-1)


def test_encode_matches_hrnet_generate_target(reference_loops: SimpleNamespace) -> None:
    rng = np.random.default_rng(0)
    keypoints = rng.uniform(0, 260, (1, 17, 2))  # some beyond the right/bottom border
    visible = rng.uniform(size=(1, 17)) > 0.2
    codec = MSRAHeatmap(INPUT_SIZE, HEATMAP_SIZE, sigma=2.0)
    target = codec.encode(keypoints, visible)
    expected, expected_weights = reference_loops.hrnet_generate_target(
        keypoints[0] / STRIDE, visible[0], HEATMAP_SIZE, 2.0
    )
    assert target.heatmaps.shape == (17, 64, 48) and target.heatmaps.dtype == np.float32
    assert target.target_weights.shape == (1, 17) and target.target_weights.dtype == np.float32
    np.testing.assert_allclose(target.heatmaps, expected, atol=1e-6)
    np.testing.assert_array_equal(target.target_weights[0], expected_weights)


def test_round_trip_biased_is_rounding_of_heatmap_coordinate() -> None:
    rng = np.random.default_rng(1)
    keypoints = random_keypoints(rng, 50, margin=8.0)
    codec = MSRAHeatmap(INPUT_SIZE, HEATMAP_SIZE)
    target = codec.encode(keypoints, per_instance=True)
    decoded, scores = codec.decode(target.heatmaps)
    # the integer-centred Gaussian is symmetric: no quarter move; decode = stride * round(x / stride)
    np.testing.assert_allclose(decoded, np.floor(keypoints / STRIDE + 0.5) * STRIDE, atol=1e-5)
    assert np.abs(decoded - keypoints).max() <= 0.5 * STRIDE + 1e-5
    np.testing.assert_allclose(scores, 1.0)


def test_quarter_offset_on_subpixel_gaussians_is_within_quarter_pixel() -> None:
    rng = np.random.default_rng(2)
    keypoints = random_keypoints(rng, 50, margin=12.0)
    dark_targets = MSRAHeatmap(INPUT_SIZE, HEATMAP_SIZE, unbiased=True).encode(keypoints, per_instance=True)
    decoded, _ = MSRAHeatmap(INPUT_SIZE, HEATMAP_SIZE).decode(dark_targets.heatmaps)
    error_heatmap_px = np.abs(decoded - keypoints) / STRIDE
    assert error_heatmap_px.max() < 0.3  # measured 0.250 (argmax + 0.25 step: |frac - 0.25| <= 0.25)
    assert error_heatmap_px.mean() < 0.15  # measured 0.125 (uniform fractions)


def test_dark_round_trip_is_subpixel() -> None:
    rng = np.random.default_rng(3)
    keypoints = random_keypoints(rng, 50, margin=16.0)  # DARK refines only >= 2 px inside the map
    codec = MSRAHeatmap(INPUT_SIZE, HEATMAP_SIZE, unbiased=True)
    target = codec.encode(keypoints, per_instance=True)
    decoded, scores = codec.decode(target.heatmaps)
    error_heatmap_px = np.abs(decoded - keypoints) / STRIDE
    assert error_heatmap_px.max() < 0.05  # measured 0.031 heatmap px (0.125 input px) over 34k points
    assert error_heatmap_px.mean() < 0.002  # measured 0.0005 heatmap px
    assert (scores > 0.9).all()


def test_decode_matches_literal_hrnet_get_final_preds(reference_loops: SimpleNamespace) -> None:
    rng = np.random.default_rng(4)
    heatmaps = rng.uniform(0.01, 1.0, (3, 17, 64, 48)).astype(np.float32)
    heatmaps[0, 0, 1, 1] = 5.0  # maxima at the border stay unrefined
    heatmaps[0, 1, 30, 47] = 5.0
    heatmaps[1, 2, 10, 10] = 5.0
    heatmaps[1, 2, 10, 11] = heatmaps[1, 2, 10, 9] = 2.0  # equal neighbours: no move in x
    codec = MSRAHeatmap(INPUT_SIZE, HEATMAP_SIZE)
    keypoints, scores = codec.decode(heatmaps)
    expected, expected_scores = reference_loops.hrnet_final_preds(heatmaps)
    np.testing.assert_allclose(keypoints, expected * STRIDE, atol=1e-5)
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-6)
    assert keypoints[1, 2, 0] == 40.0


@pytest.mark.parametrize("unbiased", [False, True])
def test_torch_decode_equals_numpy(unbiased: bool) -> None:
    rng = np.random.default_rng(5)
    codec = MSRAHeatmap(INPUT_SIZE, HEATMAP_SIZE, unbiased=unbiased)
    target = codec.encode(random_keypoints(rng, 4, margin=0.0), per_instance=True)
    heatmaps = target.heatmaps + rng.uniform(0, 0.02, target.heatmaps.shape).astype(np.float32)
    keypoints, scores = codec.decode(heatmaps)
    torch_keypoints, torch_scores = codec.decode_torch(torch.from_numpy(heatmaps).double())
    assert torch_keypoints.shape == (4, 17, 2) and torch_scores.shape == (4, 17)
    np.testing.assert_allclose(torch_keypoints.numpy(), keypoints, atol=1e-4)
    np.testing.assert_allclose(torch_scores.numpy(), scores, rtol=1e-6)
    float_keypoints, _ = codec.decode_torch(torch.from_numpy(heatmaps))  # float32 path
    np.testing.assert_allclose(float_keypoints.numpy(), keypoints, atol=2e-3)


@pytest.mark.parametrize("unbiased", [False, True])
def test_all_zero_heatmaps_decode_to_score_zero(unbiased: bool) -> None:
    codec = MSRAHeatmap(INPUT_SIZE, HEATMAP_SIZE, unbiased=unbiased)
    keypoints, scores = codec.decode(np.zeros((17, 64, 48), dtype=np.float32))
    assert keypoints.shape == (1, 17, 2) and scores.shape == (1, 17)
    assert (scores == 0).all()
    assert np.isfinite(keypoints).all() and (keypoints == -STRIDE).all()
    torch_keypoints, torch_scores = codec.decode_torch(torch.zeros(2, 17, 64, 48))
    assert (torch_scores == 0).all() and torch.isfinite(torch_keypoints).all()


def test_invisible_and_outside_keypoints_have_zero_weight_and_empty_maps() -> None:
    codec = MSRAHeatmap(INPUT_SIZE, HEATMAP_SIZE)
    keypoints = np.array([[[50.0, 60.0], [50.0, 60.0], [-40.0, 60.0], [50.0, 300.0]]])
    target = codec.encode(keypoints, np.array([[1, 0, 1, 1]]))
    assert target.target_weights.tolist() == [[1.0, 0.0, 0.0, 0.0]]
    assert target.heatmaps[1:].max() == 0.0
    assert target.heatmaps[0].max() == 1.0


def test_multi_instance_merge_and_per_instance() -> None:
    codec = MSRAHeatmap(INPUT_SIZE, HEATMAP_SIZE)
    keypoints = np.array([[[40.0, 40.0]], [[120.0, 200.0]]])
    merged = codec.encode(keypoints)
    separate = codec.encode(keypoints, per_instance=True)
    assert merged.heatmaps.shape == (1, 64, 48) and separate.heatmaps.shape == (2, 1, 64, 48)
    np.testing.assert_array_equal(merged.heatmaps, separate.heatmaps.max(axis=0))
    decoded, _ = codec.decode(separate.heatmaps)
    np.testing.assert_allclose(decoded, keypoints, atol=1e-5)


def test_shape_checks() -> None:
    codec = MSRAHeatmap(INPUT_SIZE, HEATMAP_SIZE)
    with pytest.raises(ValueError, match=r"keypoints must have shape \(N, K, 2\), got \(17, 2\)"):
        codec.encode(np.zeros((17, 2)))
    with pytest.raises(ValueError, match=r"visible must have shape \(N, K\) = \(1, 17\), got \(17,\)"):
        codec.encode(np.zeros((1, 17, 2)), np.ones(17))
    with pytest.raises(ValueError, match=r"heatmaps must have spatial size \(H, W\) = \(64, 48\), got \(17, 48, 64\)"):
        codec.decode(np.zeros((17, 48, 64)))
    with pytest.raises(ValueError, match="heatmaps must have shape"):
        codec.decode_torch(torch.zeros(64, 48))
    with pytest.raises(ValueError, match="heatmap_size"):
        MSRAHeatmap(INPUT_SIZE, (48, 0))
    with pytest.raises(ValueError, match="blur_kernel_size"):
        MSRAHeatmap(INPUT_SIZE, HEATMAP_SIZE, blur_kernel_size=10)
