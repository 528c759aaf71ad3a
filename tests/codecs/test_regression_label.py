"""Tests of RegressionLabel and the DeepPose box normalisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posekit.codecs import RegressionLabel, denormalize_from_boxes, normalize_to_boxes

INPUT_SIZE = (192, 256)


def test_encode_decode_round_trip_and_hand_values() -> None:
    codec = RegressionLabel(INPUT_SIZE)
    keypoints = np.array([[[0.0, 0.0], [96.0, 128.0], [191.0, 255.0], [-1.0, 10.0], [10.0, 300.0], [np.nan, 5.0]]])
    target = codec.encode(keypoints, np.array([[1, 1, 1, 1, 1, 1]]))
    expected = [[0, 0], [0.5, 0.5], [191 / 192, 255 / 256]]
    np.testing.assert_allclose(target.keypoint_labels[0, :3], expected, rtol=1e-7)
    assert target.target_weights.tolist() == [[1, 1, 1, 0, 0, 0]]
    assert np.isfinite(target.keypoint_labels).all()
    decoded, scores = codec.decode(target.keypoint_labels)
    np.testing.assert_allclose(decoded[0, :5], keypoints[0, :5], atol=1e-4)
    assert scores.shape == (1, 6) and (scores == 1).all()
    torch_decoded, torch_scores = codec.decode_torch(torch.from_numpy(target.keypoint_labels))
    np.testing.assert_allclose(torch_decoded.numpy(), decoded, atol=1e-5)
    assert torch_scores.shape == (1, 6)


def test_invisible_keypoints_get_zero_weight() -> None:
    codec = RegressionLabel(INPUT_SIZE)
    target = codec.encode(np.full((2, 3, 2), 50.0), np.array([[True, False, True], [False, False, True]]))
    assert target.target_weights.tolist() == [[1, 0, 1], [0, 0, 1]]


def test_box_normalisation_round_trip() -> None:
    rng = np.random.default_rng(0)
    keypoints = rng.uniform(0, 500, (4, 17, 2))
    centers = rng.uniform(100, 400, (4, 2))
    sizes = rng.uniform(50, 300, (4, 2))
    normalized = normalize_to_boxes(keypoints, centers, sizes)
    np.testing.assert_allclose(denormalize_from_boxes(normalized, centers, sizes), keypoints, rtol=1e-5, atol=1e-3)
    corner = normalize_to_boxes(np.array([[[10.0, 20.0]]]), np.array([[60.0, 70.0]]), np.array([[100.0, 100.0]]))
    assert corner.tolist() == [[[-0.5, -0.5]]]  # the box's top-left corner
    with pytest.raises(ValueError, match=r"centers must have shape \(N, 2\) = \(4, 2\), got \(2,\)"):
        normalize_to_boxes(keypoints, centers[0], sizes)
    with pytest.raises(ValueError, match="sizes must be positive"):
        normalize_to_boxes(keypoints, centers, -sizes)


def test_shape_checks() -> None:
    codec = RegressionLabel(INPUT_SIZE)
    with pytest.raises(ValueError, match=r"keypoint_labels must have shape \(N, K, 2\), got \(17, 2\)"):
        codec.decode(np.zeros((17, 2)))
    with pytest.raises(ValueError, match=r"keypoint_labels must have shape \(B, K, 2\)"):
        codec.decode_torch(torch.zeros(1, 17, 3))
