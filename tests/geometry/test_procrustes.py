"""Procrustes: exact recovery of similarity transforms, VideoPose3D p_mpjpe parity, hand values."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from posekit.geometry import procrustes_align, procrustes_params


def videopose3d_p_mpjpe(predicted: np.ndarray, target: np.ndarray) -> float:
    """VideoPose3D common/loss.py p_mpjpe, re-derived step by step (normalise, SVD, fix reflection)."""
    mean_target = target.mean(axis=1, keepdims=True)
    mean_predicted = predicted.mean(axis=1, keepdims=True)
    target_centred = target - mean_target
    predicted_centred = predicted - mean_predicted
    norm_target = np.sqrt((target_centred**2).sum(axis=(1, 2), keepdims=True))
    norm_predicted = np.sqrt((predicted_centred**2).sum(axis=(1, 2), keepdims=True))
    target_centred = target_centred / norm_target
    predicted_centred = predicted_centred / norm_predicted
    u, singular, vt = np.linalg.svd(np.swapaxes(target_centred, 1, 2) @ predicted_centred)
    v = np.swapaxes(vt, 1, 2)
    sign = np.sign(np.linalg.det(v @ np.swapaxes(u, 1, 2)))[:, None]
    v[:, :, -1] *= sign
    singular[:, -1] *= sign[:, 0]
    rotation = v @ np.swapaxes(u, 1, 2)  # right-multiplying convention
    scale = singular.sum(axis=1)[:, None, None] * norm_target / norm_predicted
    translation = mean_target - scale * (mean_predicted @ rotation)
    aligned = scale * (predicted @ rotation) + translation
    return float(np.mean(np.linalg.norm(aligned - target, axis=-1)))


def random_similarity(batch: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (
        rng.uniform(0.5, 2.0, size=batch),
        Rotation.random(batch, random_state=seed).as_matrix(),
        rng.normal(size=(batch, 3)),
    )


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_recovers_random_similarity_exactly(kind: str) -> None:
    scale, rotation, translation = random_similarity(8, seed=0)
    predicted = np.random.default_rng(1).normal(size=(8, 17, 3))
    target = scale[:, None, None] * predicted @ np.swapaxes(rotation, 1, 2) + translation[:, None, :]
    inputs = (torch.tensor(predicted), torch.tensor(target)) if kind == "torch" else (predicted, target)
    found_scale, found_rotation, found_translation = procrustes_params(*inputs)
    aligned = procrustes_align(*inputs)
    as_numpy = [
        value.numpy() if isinstance(value, torch.Tensor) else value
        for value in (found_scale, found_rotation, found_translation, aligned)
    ]
    np.testing.assert_allclose(as_numpy[0], scale, rtol=1e-10)
    np.testing.assert_allclose(as_numpy[1], rotation, atol=1e-10)
    np.testing.assert_allclose(as_numpy[2], translation, atol=1e-10)
    np.testing.assert_allclose(as_numpy[3], target, atol=1e-10)


def test_rigid_alignment_keeps_scale_one() -> None:
    _, rotation, translation = random_similarity(3, seed=2)
    predicted = np.random.default_rng(3).normal(size=(3, 10, 3))
    target = 1.7 * predicted @ np.swapaxes(rotation, 1, 2) + translation[:, None, :]
    scale, found_rotation, _ = procrustes_params(predicted, target, scale=False)
    np.testing.assert_array_equal(scale, np.ones(3))
    np.testing.assert_allclose(found_rotation, rotation, atol=1e-10)  # rotation unaffected by the scale


def test_p_mpjpe_hand_value() -> None:
    # Cross of half-length 1 against a cross stretched to 2 along y: by symmetry R = I, t = 0, and
    # s = sum(t.p) / sum(|p|^2) = (1 + 1 + 2 + 2) / 4 = 1.5, so every point is off by 0.5.
    predicted = np.array([[1.0, 0, 0], [-1.0, 0, 0], [0, 1.0, 0], [0, -1.0, 0]])
    target = np.array([[1.0, 0, 0], [-1.0, 0, 0], [0, 2.0, 0], [0, -2.0, 0]])
    scale, rotation, translation = procrustes_params(predicted, target)
    np.testing.assert_allclose(scale, 1.5)
    np.testing.assert_allclose(rotation, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(translation, np.zeros(3), atol=1e-12)
    error = np.linalg.norm(procrustes_align(predicted, target) - target, axis=-1)
    np.testing.assert_allclose(error, [0.5, 0.5, 0.5, 0.5])
    # Without scale: x points exact, y points off by 1 -> mean 0.5 as well, but per-point different.
    rigid_error = np.linalg.norm(procrustes_align(predicted, target, scale=False) - target, axis=-1)
    np.testing.assert_allclose(rigid_error, [0.0, 0.0, 1.0, 1.0], atol=1e-12)


def test_matches_videopose3d_p_mpjpe_on_noisy_poses() -> None:
    rng = np.random.default_rng(4)
    target = rng.normal(size=(32, 17, 3))
    scale, rotation, translation = random_similarity(32, seed=5)
    predicted = scale[:, None, None] * target @ np.swapaxes(rotation, 1, 2) + translation[:, None, :]
    predicted += rng.normal(scale=0.1, size=predicted.shape)
    ours = float(np.mean(np.linalg.norm(procrustes_align(predicted, target) - target, axis=-1)))
    np.testing.assert_allclose(ours, videopose3d_p_mpjpe(predicted, target), rtol=1e-12)
    assert 0.01 < ours < 0.2


def test_reflection_is_not_used() -> None:
    predicted = np.random.default_rng(6).normal(size=(17, 3))
    mirrored = predicted * np.array([-1.0, 1.0, 1.0])
    _, rotation, _ = procrustes_params(predicted, mirrored)
    np.testing.assert_allclose(np.linalg.det(rotation), 1.0)
    aligned = procrustes_align(predicted, mirrored)
    assert np.mean(np.linalg.norm(aligned - mirrored, axis=-1)) > 0.05  # a proper rotation cannot mirror
    np.testing.assert_allclose(
        np.mean(np.linalg.norm(aligned - mirrored, axis=-1)), videopose3d_p_mpjpe(predicted[None], mirrored[None])
    )


def test_zero_weight_ignores_an_outlier() -> None:
    scale, rotation, translation = random_similarity(1, seed=7)
    predicted = np.random.default_rng(8).normal(size=(1, 12, 3))
    target = scale[:, None, None] * predicted @ np.swapaxes(rotation, 1, 2) + translation[:, None, :]
    target[0, 3] += 50.0  # outlier
    weights = np.ones((1, 12))
    weights[0, 3] = 0.0
    found_scale, found_rotation, found_translation = procrustes_params(predicted, target, weights=weights)
    np.testing.assert_allclose(found_scale, scale, rtol=1e-10)
    np.testing.assert_allclose(found_rotation, rotation, atol=1e-10)
    np.testing.assert_allclose(found_translation, translation, atol=1e-9)
    unweighted_scale, _, _ = procrustes_params(predicted, target)
    assert abs(unweighted_scale[0] - scale[0]) > 1e-3


def test_torch_gradient_flows() -> None:
    predicted = torch.randn(2, 17, 3, dtype=torch.float64, requires_grad=True)
    target = torch.randn(2, 17, 3, dtype=torch.float64)
    error = (procrustes_align(predicted, target) - target).norm(dim=-1).mean()
    error.backward()
    assert predicted.grad is not None and torch.isfinite(predicted.grad).all()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: procrustes_align(np.zeros((2, 17, 3)), np.zeros((2, 16, 3))), "same shape"),
        (lambda: procrustes_align(np.zeros(3), np.zeros(3)), "same shape"),
        (lambda: procrustes_params(np.zeros((17, 3)), np.zeros((17, 3)), weights=np.ones(16)), "weights must have"),
    ],
)
def test_bad_shapes_raise_value_error(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]
