"""Tests of IntegralRegression (soft-argmax, Sun et al. 2018)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posekit.codecs import IntegralRegression

INPUT_SIZE = (192, 256)
HEATMAP_SIZE = (48, 64)


def log_gaussian_logits(centres_heatmap: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """Logits whose softmax is a discrete Gaussian at ``centres_heatmap (B, K, 2)`` -> ``(B, K, H, W)``."""
    width, height = HEATMAP_SIZE
    xs = np.arange(width)
    ys = np.arange(height)[:, None]
    dx2 = (xs - centres_heatmap[..., 0, None, None]) ** 2
    dy2 = (ys - centres_heatmap[..., 1, None, None]) ** 2
    return -(dx2 + dy2) / (2 * sigma**2)


def test_soft_argmax_recovers_gaussian_centres() -> None:
    rng = np.random.default_rng(0)
    centres = np.stack([rng.uniform(8, 40, (3, 17)), rng.uniform(8, 56, (3, 17))], axis=-1)
    logits = torch.from_numpy(log_gaussian_logits(centres))
    codec = IntegralRegression(INPUT_SIZE, HEATMAP_SIZE)
    keypoints, scores = codec.decode_torch(logits)
    np.testing.assert_allclose(keypoints.numpy(), centres * 4.0, atol=1e-6)  # stride 4
    normalized, _ = codec.decode_torch(logits, normalized=True)
    np.testing.assert_allclose(normalized.numpy(), centres / np.array(HEATMAP_SIZE), atol=1e-8)
    # mass of a sigma-1.5 Gaussian inside the best 5x5 window: 0.82 centred on a pixel, ~0.78 between pixels
    assert (scores > 0.75).all() and (scores <= 1.0 + 1e-9).all()


def test_gradient_flows_to_heatmaps() -> None:
    rng = np.random.default_rng(1)
    codec = IntegralRegression((24, 20), (6, 5), beta=2.0)
    logits = torch.tensor(rng.normal(size=(2, 3, 5, 6)), requires_grad=True)
    keypoints, _ = codec.decode_torch(logits)
    keypoints[0, 0, 0].backward()
    assert logits.grad is not None
    # analytic: d E[x] / d logit_(y, x) = beta * p(y, x) * (x - E[x]), in input pixels (stride 4)
    probs = torch.softmax(2.0 * logits[0, 0].detach().flatten(), 0).reshape(5, 6)
    columns = torch.arange(6, dtype=torch.float64)
    expected = 2.0 * probs * (columns - (probs.sum(0) * columns).sum()) * 4.0
    torch.testing.assert_close(logits.grad[0, 0], expected)
    assert (logits.grad[1] == 0).all()


def test_numpy_and_torch_decode_agree() -> None:
    rng = np.random.default_rng(2)
    heatmaps = rng.normal(size=(3, 17, 64, 48)) * 3
    codec = IntegralRegression(INPUT_SIZE, HEATMAP_SIZE, beta=1.5)
    keypoints, scores = codec.decode(heatmaps)
    torch_keypoints, torch_scores = codec.decode_torch(torch.from_numpy(heatmaps))
    np.testing.assert_allclose(keypoints, torch_keypoints.numpy(), atol=1e-4)
    np.testing.assert_allclose(scores, torch_scores.numpy(), atol=1e-6)
    single, _ = codec.decode(heatmaps[0])
    np.testing.assert_allclose(single, keypoints[:1], atol=1e-5)
    normalized, _ = codec.decode(heatmaps, normalized=True)
    np.testing.assert_allclose(normalized * np.array(INPUT_SIZE), keypoints, atol=1e-3)


def test_marginals_equal_2d_for_separable_logits() -> None:
    rng = np.random.default_rng(3)
    logits_x = torch.tensor(rng.normal(size=(2, 5, 48)))
    logits_y = torch.tensor(rng.normal(size=(2, 5, 64)))
    codec = IntegralRegression(INPUT_SIZE, HEATMAP_SIZE)
    separable = logits_y[..., :, None] + logits_x[..., None, :]  # softmax of a sum = product of softmaxes
    expected, _ = codec.decode_torch(separable)
    keypoints, scores = codec.decode_marginals_torch(logits_x, logits_y)
    np.testing.assert_allclose(keypoints.numpy(), expected.numpy(), atol=1e-9)
    assert scores.shape == (2, 5) and ((scores > 0) & (scores <= 1)).all()
    with pytest.raises(ValueError, match="logits_y must have shape"):
        codec.decode_marginals_torch(logits_x, logits_y[..., :10])


def test_uniform_map_decodes_to_centre_with_low_score() -> None:
    codec = IntegralRegression(INPUT_SIZE, HEATMAP_SIZE)
    keypoints, scores = codec.decode(np.zeros((17, 64, 48)))
    np.testing.assert_allclose(keypoints, np.broadcast_to([23.5 * 4, 31.5 * 4], (1, 17, 2)), atol=1e-6)
    np.testing.assert_allclose(scores, 25 / (64 * 48), rtol=1e-6)


def test_encode_labels_weights_and_heatmaps() -> None:
    codec = IntegralRegression(INPUT_SIZE, HEATMAP_SIZE)
    keypoints = np.array([[[96.0, 128.0], [0.0, 255.0], [191.5, 10.0], [50.0, 50.0]]])
    target = codec.encode(keypoints, np.array([[1, 1, 1, 0]]))
    np.testing.assert_allclose(target.keypoint_labels, keypoints / np.array(INPUT_SIZE), rtol=1e-7)
    assert target.keypoint_labels.dtype == np.float32
    assert target.target_weights.tolist() == [[1.0, 1.0, 0.0, 0.0]]  # 191.5 > w - 1: outside
    assert target.heatmaps.shape == (4, 64, 48) and target.heatmaps[0, 32, 24] == 1.0
