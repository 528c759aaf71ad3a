"""Tests of UDPHeatmap (unbiased stride, Gaussian + UDP-DARK decoding, combined class/offset maps)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from posekit.codecs import UDPHeatmap, flip_heatmaps

INPUT_SIZE = (192, 256)
HEATMAP_SIZE = (48, 64)
STRIDE = np.array([191 / 47, 255 / 63])  # (w - 1) / (W - 1), (h - 1) / (H - 1)


def random_keypoints(rng: np.random.Generator, num_instances: int, margin: float) -> np.ndarray:
    """(N, 17, 2) sub-pixel keypoints in input pixels, at least ``margin`` input px inside the borders."""
    xs = rng.uniform(margin, INPUT_SIZE[0] - 1 - margin, (num_instances, 17))
    ys = rng.uniform(margin, INPUT_SIZE[1] - 1 - margin, (num_instances, 17))
    return np.stack([xs, ys], axis=-1)


def test_unbiased_stride_maps_corner_pixels_to_corner_pixels() -> None:
    codec = UDPHeatmap(INPUT_SIZE, HEATMAP_SIZE)
    np.testing.assert_allclose(codec.stride, STRIDE)
    keypoints = np.array([[[0.0, 0.0], [191.0, 255.0]]])
    target = codec.encode(keypoints)
    assert target.heatmaps[0, 0, 0] == 1.0
    assert target.heatmaps[1, 63, 47] == pytest.approx(1.0, abs=1e-6)


def test_encode_matches_udp_loop(reference_loops: SimpleNamespace) -> None:
    rng = np.random.default_rng(0)
    keypoints = rng.uniform(0, 250, (1, 17, 2))
    visible = rng.uniform(size=(1, 17)) > 0.2
    target = UDPHeatmap(INPUT_SIZE, HEATMAP_SIZE).encode(keypoints, visible)
    expected, expected_weights = reference_loops.udp_generate_target(
        keypoints[0] / STRIDE, visible[0], HEATMAP_SIZE, 2.0
    )
    np.testing.assert_allclose(target.heatmaps, expected, atol=1e-6)
    np.testing.assert_array_equal(target.target_weights[0], expected_weights)


def test_gaussian_round_trip_is_subpixel() -> None:
    rng = np.random.default_rng(1)
    codec = UDPHeatmap(INPUT_SIZE, HEATMAP_SIZE)
    interior = random_keypoints(rng, 50, margin=16.0)  # >= 4 heatmap px from the borders
    decoded, scores = codec.decode(codec.encode(interior, per_instance=True).heatmaps)
    error = np.abs(decoded - interior)
    assert error.max() < 0.05  # measured 0.035 input px (0.009 heatmap px) over 34k points
    assert error.mean() < 0.005  # measured 0.0007 input px
    assert (scores > 0.88).all()  # peak of a Gaussian sampled off-centre: exp(-(0.5^2 + 0.5^2) / 8) = 0.94
    anywhere = random_keypoints(rng, 50, margin=0.0)
    decoded, _ = codec.decode(codec.encode(anywhere, per_instance=True).heatmaps)
    # UDP-DARK is weaker at the border (edge-replicated log map): measured 1.01 heatmap px
    assert (np.abs(decoded - anywhere) / STRIDE).max() < 1.1


def test_combined_round_trip_is_exact() -> None:
    rng = np.random.default_rng(2)
    codec = UDPHeatmap(INPUT_SIZE, HEATMAP_SIZE, heatmap_type="combined")
    keypoints = random_keypoints(rng, 30, margin=0.0)
    target = codec.encode(keypoints, per_instance=True)
    assert target.heatmaps.shape == (30, 51, 64, 48)
    class_maps = target.heatmaps[:, 0::3]
    assert set(np.unique(class_maps)) == {0.0, 1.0}
    decoded, scores = codec.decode(target.heatmaps)
    assert np.abs(decoded - keypoints).max() < 1e-3  # measured 1.6e-5 input px, border keypoints included
    assert (scores > 0).all()


def test_combined_offsets_hand_values() -> None:
    codec = UDPHeatmap((48, 64), (48, 64), heatmap_type="combined", radius_factor=0.0546875)
    radius = 0.0546875 * 64  # 3.5
    target = codec.encode(np.array([[[10.0, 20.0]]]))
    class_map, x_offset, y_offset = target.heatmaps
    assert class_map[20, 10] == 1 and class_map[20, 13] == 1 and class_map[20, 14] == 0
    assert class_map[23, 11] == 1 and class_map[23, 12] == 0  # 1 + 9 <= 12.25 < 4 + 9
    assert x_offset[20, 13] == pytest.approx(-3 / radius)
    assert y_offset[17, 10] == pytest.approx(3 / radius)
    assert x_offset[20, 14] == 0.0


def test_flip_is_exact_without_shift() -> None:
    rng = np.random.default_rng(3)
    codec = UDPHeatmap(INPUT_SIZE, HEATMAP_SIZE)
    keypoints = random_keypoints(rng, 1, margin=0.0)[:, :4]
    flip_indices = (1, 0, 3, 2)
    mirrored = keypoints[:, list(flip_indices)].copy()
    mirrored[..., 0] = INPUT_SIZE[0] - 1 - mirrored[..., 0]
    original = codec.encode(keypoints).heatmaps
    from_mirrored = flip_heatmaps(codec.encode(mirrored).heatmaps, flip_indices, shift_heatmap=False)
    np.testing.assert_allclose(from_mirrored, original, atol=1e-6)


def test_torch_decode_equals_numpy() -> None:
    rng = np.random.default_rng(4)
    codec = UDPHeatmap(INPUT_SIZE, HEATMAP_SIZE)
    heatmaps = codec.encode(random_keypoints(rng, 4, margin=0.0), per_instance=True).heatmaps
    heatmaps = heatmaps + rng.uniform(0, 0.02, heatmaps.shape).astype(np.float32)
    keypoints, scores = codec.decode(heatmaps)
    torch_keypoints, torch_scores = codec.decode_torch(torch.from_numpy(heatmaps).double())
    np.testing.assert_allclose(torch_keypoints.numpy(), keypoints, atol=1e-4)
    np.testing.assert_allclose(torch_scores.numpy(), scores, rtol=1e-6)
    with pytest.raises(ValueError, match="gaussian"):
        UDPHeatmap(INPUT_SIZE, HEATMAP_SIZE, heatmap_type="combined").decode_torch(torch.from_numpy(heatmaps))


@pytest.mark.parametrize("heatmap_type", ["gaussian", "combined"])
def test_zero_maps_and_out_of_range(heatmap_type: str) -> None:
    codec = UDPHeatmap(INPUT_SIZE, HEATMAP_SIZE, heatmap_type=heatmap_type)
    channels = 17 * codec.channels_per_keypoint
    keypoints, scores = codec.decode(np.zeros((channels, 64, 48), dtype=np.float32))
    assert keypoints.shape == (1, 17, 2) and (scores == 0).all() and np.isfinite(keypoints).all()
    target = codec.encode(np.array([[[50.0, 50.0], [-60.0, 50.0], [50.0, 50.0]]]), np.array([[1, 1, 0]]))
    assert target.target_weights.tolist() == [[1.0, 0.0, 0.0]]
    assert target.heatmaps[codec.channels_per_keypoint :].max() == 0.0


def test_argument_checks() -> None:
    with pytest.raises(ValueError, match="heatmap_type"):
        UDPHeatmap(INPUT_SIZE, HEATMAP_SIZE, heatmap_type="offset")
    with pytest.raises(ValueError, match="heatmap_size must be at least"):
        UDPHeatmap(INPUT_SIZE, (1, 64))
    codec = UDPHeatmap(INPUT_SIZE, HEATMAP_SIZE, heatmap_type="combined")
    with pytest.raises(ValueError, match="multiple of 3 channels"):
        codec.decode(np.zeros((17, 64, 48)))
