"""posekit.metrics.mesh against hand-computed values and small reimplementations of VIBE's formulas."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posekit.metrics.mesh import (
    acceleration,
    acceleration_error,
    align_by_pelvis,
    evaluate_mesh_sequences,
    pa_mpjpe,
    pa_pve,
    pelvis_aligned_mpjpe,
    pve,
)


def _rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    axis = axis / np.linalg.norm(axis)
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross


# ----------------------------------------------------------------------------------- reference formulas
def reference_similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """One frame's similarity fit written from the formula (points as 3 x K columns, as VIBE writes it)."""
    s1, s2 = source.T, target.T
    mu1, mu2 = s1.mean(1, keepdims=True), s2.mean(1, keepdims=True)
    x1, x2 = s1 - mu1, s2 - mu2
    k = x1 @ x2.T
    u, _, vt = np.linalg.svd(k)
    z = np.eye(3)
    z[2, 2] = np.sign(np.linalg.det(u @ vt))
    r = vt.T @ z @ u.T
    scale = np.trace(r @ k) / np.sum(x1**2)
    t = mu2 - scale * r @ mu1
    return (scale * r @ s1 + t).T


def reference_evaluation(predicted: np.ndarray, target: np.ndarray, visible: np.ndarray | None) -> dict[str, float]:
    """VIBE's evaluate(): pelvis = mean of joints 2 and 3, then MPJPE, PA-MPJPE, accel, accel error (mm)."""
    predicted = predicted - (predicted[:, [2]] + predicted[:, [3]]) / 2
    target = target - (target[:, [2]] + target[:, [3]]) / 2
    errors = [np.sqrt(((p - g) ** 2).sum(-1)).mean() for p, g in zip(predicted, target, strict=True)]
    errors_pa = [
        np.sqrt(((reference_similarity(p, g) - g) ** 2).sum(-1)).mean() for p, g in zip(predicted, target, strict=True)
    ]
    accel_pred = predicted[:-2] - 2 * predicted[1:-1] + predicted[2:]
    accel_gt = target[:-2] - 2 * target[1:-1] + target[2:]
    normed = np.linalg.norm(accel_pred - accel_gt, axis=2)
    keep = np.ones(len(normed), dtype=bool)
    if visible is not None:
        invisible = ~visible
        keep = ~(invisible[:-2] | invisible[1:-1] | invisible[2:])
    return {
        "mpjpe": float(np.mean(errors)) * 1000,
        "pa-mpjpe": float(np.mean(errors_pa)) * 1000,
        "accel": float(np.linalg.norm(accel_pred, axis=2).mean(1).mean()) * 1000,
        "accel_err": float(normed[keep].mean(1).mean()) * 1000,
    }


# ----------------------------------------------------------------------------------- hand-computed
def test_pelvis_alignment_and_mpjpe_by_hand() -> None:
    target = np.zeros((1, 14, 3))
    target[0, 2] = [1.0, 0.0, 0.0]
    target[0, 3] = [-1.0, 0.0, 0.0]
    predicted = target + np.array([5.0, -2.0, 7.0])  # a pure offset: zero after pelvis alignment
    assert float(pelvis_aligned_mpjpe(predicted, target)) == pytest.approx(0.0, abs=1e-12)
    predicted[0, 0] += [0.3, 0.4, 0.0]  # one joint 0.5 off out of 14
    assert float(pelvis_aligned_mpjpe(predicted, target)) == pytest.approx(0.5 / 14)
    aligned = align_by_pelvis(predicted)
    np.testing.assert_allclose((aligned[0, 2] + aligned[0, 3]) / 2, 0.0, atol=1e-12)


def test_pa_mpjpe_removes_similarity_exactly() -> None:
    rng = np.random.default_rng(0)
    target = rng.normal(size=(4, 14, 3))
    rotation = _rotation(np.array([0.2, 1.0, -0.4]), 0.9)
    predicted = 1.7 * target @ rotation.T + np.array([0.1, -3.0, 2.0])
    assert float(pa_mpjpe(predicted, target)) == pytest.approx(0.0, abs=1e-9)
    assert float(pelvis_aligned_mpjpe(predicted, target)) > 0.1  # the rotation and scale stay


def test_pve_and_pa_pve_by_hand() -> None:
    target = np.zeros((2, 4, 3))
    target[:, :, 0] = np.arange(4.0)
    predicted = target.copy()
    predicted[0, 1, 2] = 2.0  # one vertex 2 off in frame 0 -> mean 2 / 8
    assert float(pve(predicted, target)) == pytest.approx(2.0 / 8)
    assert pve(predicted, target, reduction="per_frame").tolist() == pytest.approx([0.5, 0.0])
    moved = 3.0 * target + 1.0  # a similarity: PA-PVE is zero, PVE is not
    assert float(pa_pve(moved, target)) == pytest.approx(0.0, abs=1e-9)
    assert float(pve(moved, target)) > 1.0


def test_acceleration_by_hand() -> None:
    # x = t^2 along x: second difference 2 everywhere.
    times = np.arange(5.0)
    joints = np.zeros((5, 1, 3))
    joints[:, 0, 0] = times**2
    assert acceleration(joints, reduction="per_frame").tolist() == pytest.approx([2.0, 2.0, 2.0])
    still = np.zeros_like(joints)
    assert float(acceleration_error(joints, still)) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="at least 3 frames"):
        acceleration(joints[:2])


# ----------------------------------------------------------------------------------- against VIBE's formulas
@pytest.mark.parametrize("with_visibility", [False, True])
def test_evaluation_matches_vibe_definitions(with_visibility: bool) -> None:
    rng = np.random.default_rng(1)
    count = 12
    target = rng.normal(scale=0.3, size=(count, 14, 3))
    predicted = target + rng.normal(scale=0.05, size=target.shape) + rng.normal(size=(count, 1, 3))
    visible = rng.random(count) > 0.25 if with_visibility else None
    expected = reference_evaluation(predicted, target, visible)
    result = evaluate_mesh_sequences(predicted, target, visible=visible).as_dict()
    for key, value in expected.items():
        assert result[key] == pytest.approx(value, rel=1e-9), key
    assert result["frames"] == count


def test_evaluation_vertices_and_sequences() -> None:
    rng = np.random.default_rng(2)
    target = rng.normal(size=(6, 14, 3))
    vertices = rng.normal(size=(6, 30, 3))
    result = evaluate_mesh_sequences(
        target, target, predicted_vertices=vertices + 0.01, target_vertices=vertices, sequence_ids=[0, 0, 0, 1, 1, 1]
    )
    assert result.mpjpe == pytest.approx(0.0, abs=1e-9)
    assert result.pve == pytest.approx(np.sqrt(3) * 10.0)  # 0.01 m on each axis -> sqrt(3) cm
    assert result.pa_pve == pytest.approx(0.0, abs=1e-6)
    # Kept apart, two sequences of 3 frames give 2 second differences; concatenated, 4.
    jumpy = np.repeat(target[:1], 6, axis=0)  # a still pose ...
    jumpy[3:, 0] += 1.0  # ... whose first joint jumps at the boundary only
    apart = evaluate_mesh_sequences(jumpy, jumpy, sequence_ids=[0, 0, 0, 1, 1, 1])
    assert apart.acceleration == pytest.approx(
        reference_evaluation(jumpy[:3], jumpy[:3], None)["accel"] / 2
        + reference_evaluation(jumpy[3:], jumpy[3:], None)["accel"] / 2
    )
    concatenated = evaluate_mesh_sequences(jumpy, jumpy)  # VIBE: the boundary jump enters
    assert concatenated.acceleration == pytest.approx(reference_evaluation(jumpy, jumpy, None)["accel"])
    assert apart.acceleration == pytest.approx(0.0, abs=1e-9)
    # second differences (0, a, -a, 0) with |a| = sqrt(3) on 1 of 14 joints, over 4 frames, in mm
    assert concatenated.acceleration == pytest.approx(2 * np.sqrt(3) / 14 / 4 * 1000)
    with pytest.raises(ValueError, match="sequence_ids must have shape"):
        evaluate_mesh_sequences(target, target, sequence_ids=[0, 1])
    with pytest.raises(ValueError, match="both predicted_vertices and target_vertices"):
        evaluate_mesh_sequences(target, target, predicted_vertices=vertices)


def test_torch_inputs_keep_the_graph() -> None:
    rng = np.random.default_rng(3)
    target = torch.tensor(rng.normal(size=(3, 14, 3)))
    predicted = (target + 0.1).requires_grad_(True)
    value = pelvis_aligned_mpjpe(predicted, target) + pa_mpjpe(predicted * 1.1, target)
    value.backward()
    assert predicted.grad is not None
    assert float(pelvis_aligned_mpjpe(predicted.detach(), target)) == pytest.approx(0.0, abs=1e-9)


def test_bad_shapes_are_named() -> None:
    with pytest.raises(ValueError, match=r"joints must have shape \(\.\.\., K, 3\)"):
        align_by_pelvis(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="out of range"):
        align_by_pelvis(np.zeros((1, 2, 3)), pelvis_indices=(2, 3))
    with pytest.raises(ValueError, match=r"\(N, K, 3\)"):
        evaluate_mesh_sequences(np.zeros((4, 14, 3)), np.zeros((4, 13, 3)))
