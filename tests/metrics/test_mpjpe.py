"""MPJPE family: hand values, numpy == torch, Procrustes invariance, VIBE-style masks, H3.6M tables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from scipy.linalg import orthogonal_procrustes
from scipy.spatial.transform import Rotation

from posekit.metrics import (
    acceleration_error,
    action_table,
    format_action_table,
    mpjpe,
    mpjve,
    n_mpjpe,
    normalize_action_name,
    p_mpjpe,
    pve,
    weighted_mpjpe,
)
from posekit.skeletons import H36M_ACTIONS


def random_poses(seed: int, shape: tuple[int, ...] = (6, 17, 3)) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    target = rng.normal(scale=0.3, size=shape)
    return target + rng.normal(scale=0.03, size=shape), target


def test_mpjpe_by_hand_and_reductions() -> None:
    target = np.zeros((2, 3, 4, 3))  # (S, T, K, D)
    predicted = target.copy()
    predicted[..., 0] = 3.0
    predicted[..., 1] = 4.0  # every joint 5 away
    predicted[1, :, 0] = 0.0  # ... except joint 0 of the second sequence
    assert isinstance(mpjpe(predicted, target), np.ndarray)
    assert float(mpjpe(predicted, target)) == pytest.approx(5 * 21 / 24)
    assert mpjpe(predicted, target, "none").shape == (2, 3, 4)
    np.testing.assert_allclose(mpjpe(predicted, target, "per_joint"), [2.5, 5, 5, 5])
    np.testing.assert_allclose(mpjpe(predicted, target, "per_frame"), [[5, 5, 5], [3.75, 3.75, 3.75]])
    np.testing.assert_allclose(mpjpe(predicted, target, "per_sequence"), [5, 3.75])
    with pytest.raises(ValueError, match="reduction must be one of"):
        mpjpe(predicted, target, "sum")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="per_sequence"):
        mpjpe(predicted[0, 0], target[0, 0], "per_sequence")
    with pytest.raises(ValueError, match=r"same shape, got \(2, 3, 4, 3\) and \(2, 3, 4, 2\)"):
        mpjpe(predicted, target[..., :2])
    with pytest.raises(ValueError, match="numpy arrays or both torch tensors"):
        mpjpe(torch.zeros(4, 3), np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"must have shape \(\.\.\., K, D\), got \(3,\)"):
        mpjpe(np.zeros(3), np.zeros(3))


def test_weighted_mpjpe() -> None:
    predicted, target = random_poses(1)
    assert float(weighted_mpjpe(predicted, target, np.ones(17))) == pytest.approx(float(mpjpe(predicted, target)))
    distances = mpjpe(predicted, target, "none")
    weights = np.where(np.arange(17) < 5, 2.0, 0.0)
    assert float(weighted_mpjpe(predicted, target, weights)) == pytest.approx(float(np.mean(distances * weights)))
    per_sample = np.arange(6.0)[:, None]  # (N, 1) weights, as VideoPose3D's per-sample w
    expected = np.mean(distances * per_sample)
    assert float(weighted_mpjpe(predicted, target, per_sample)) == pytest.approx(float(expected))
    with pytest.raises(ValueError, match="weights"):
        weighted_mpjpe(predicted, target, np.ones(5))


def random_similarity(seed: int) -> tuple[float, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return float(rng.uniform(0.3, 3.0)), Rotation.random(random_state=seed).as_matrix(), rng.normal(size=3)


def test_p_mpjpe_is_invariant_to_similarity_transforms() -> None:
    predicted, target = random_poses(2)
    base = p_mpjpe(predicted, target, "per_frame")
    for seed in range(3):
        scale, rotation, translation = random_similarity(seed)
        moved = scale * predicted @ rotation.T + translation
        np.testing.assert_allclose(p_mpjpe(moved, target, "per_frame"), base, atol=1e-12)
        exact = scale * target @ rotation.T + translation
        assert float(p_mpjpe(exact, target)) == pytest.approx(0.0, abs=1e-12)
    assert float(p_mpjpe(predicted, target)) < float(mpjpe(predicted, target))


def reference_alignment(predicted: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Independent similarity alignment of one pose via scipy's orthogonal Procrustes (reflections allowed)."""
    target_centred = target - target.mean(0)
    predicted_centred = predicted - predicted.mean(0)
    rotation, singular_sum = orthogonal_procrustes(predicted_centred, target_centred)
    scale = singular_sum / np.sum(predicted_centred**2)
    return scale * predicted_centred @ rotation + target.mean(0)


def test_p_mpjpe_matches_scipy_procrustes() -> None:
    predicted, target = random_poses(3)
    scale, rotation, translation = random_similarity(7)
    predicted = scale * predicted @ rotation.T + translation  # far from aligned to start with
    expected = [np.linalg.norm(reference_alignment(p, t) - t, axis=-1) for p, t in zip(predicted, target, strict=True)]
    np.testing.assert_allclose(p_mpjpe(predicted, target, "none"), np.stack(expected), atol=1e-10)


def test_p_mpjpe_allows_no_reflection() -> None:
    _, target = random_poses(4, (1, 17, 3))
    mirrored = target * np.array([-1.0, 1.0, 1.0])
    reflected = reference_alignment(mirrored[0], target[0])  # scipy's solution uses a reflection
    assert np.abs(reflected - target[0]).max() < 1e-10
    assert float(p_mpjpe(mirrored, target)) > 0.05  # a proper rotation cannot undo the mirror


def test_n_mpjpe() -> None:
    predicted, target = random_poses(5)
    assert float(n_mpjpe(0.5 * target, target)) == pytest.approx(0.0, abs=1e-12)
    assert float(n_mpjpe(3.0 * predicted, target)) == pytest.approx(float(n_mpjpe(predicted, target)))
    # The scale minimises the squared error of each pose, so that cannot exceed the unscaled one.
    scaled_squares = (n_mpjpe(predicted, target, "none") ** 2).sum(-1)
    assert np.all(scaled_squares <= (mpjpe(predicted, target, "none") ** 2).sum(-1) + 1e-15)
    # Scale by hand for a single pose: <t, p> / |p|^2.
    pose_p, pose_t = predicted[0], target[0]
    scale = np.sum(pose_t * pose_p) / np.sum(pose_p**2)
    expected = np.mean(np.linalg.norm(scale * pose_p - pose_t, axis=-1))
    assert float(n_mpjpe(pose_p, pose_t)) == pytest.approx(expected)


def test_mpjve_by_hand() -> None:
    _, target = random_poses(6, (10, 5, 3))
    assert float(mpjve(target + 0.7, target)) == pytest.approx(0.0, abs=1e-12)  # constant offsets do not move
    drift = target + np.arange(10)[:, None, None] * np.array([0.03, 0.0, 0.04])  # 0.05 per frame
    assert float(mpjve(drift, target)) == pytest.approx(0.05)
    assert mpjve(drift, target, "none").shape == (9, 5)
    with pytest.raises(ValueError, match=r"\(\.\.\., T, K, D\)"):
        mpjve(target[0], target[0])


def test_acceleration_error_by_hand_and_visibility() -> None:
    _, target = random_poses(7, (8, 4, 3))
    frames = np.arange(8)[:, None, None]
    assert float(acceleration_error(target + frames * 0.3, target)) == pytest.approx(0.0, abs=1e-12)  # linear drift
    accelerated = target + 0.5 * np.array([0.0, 0.02, 0.0]) * frames**2  # second difference = 0.02
    assert float(acceleration_error(accelerated, target)) == pytest.approx(0.02)
    rng = np.random.default_rng(0)
    noisy = target + rng.normal(scale=0.01, size=target.shape)
    per_frame = acceleration_error(noisy, target, reduction="per_frame")
    assert per_frame.shape == (6,)
    visible = np.ones(8, dtype=bool)
    visible[3] = False  # VIBE: the inner frames 2, 3, 4 (indices 1, 2, 3 of the T-2) touch frame 3
    masked = acceleration_error(noisy, target, visible, reduction="per_frame")
    assert np.isnan(masked).tolist() == [False, True, True, True, False, False]
    np.testing.assert_allclose(masked[~np.isnan(masked)], per_frame[[0, 4, 5]])
    assert float(acceleration_error(noisy, target, visible)) == pytest.approx(float(per_frame[[0, 4, 5]].mean()))
    np.testing.assert_allclose(
        acceleration_error(noisy, target, visible, reduction="per_joint"),
        acceleration_error(noisy, target, reduction="none")[[0, 4, 5]].mean(0),
    )
    with pytest.raises(ValueError, match=r"visible must have shape \(8,\)"):
        acceleration_error(noisy, target, visible[:5])
    with pytest.raises(ValueError, match="at least 3 frames"):
        acceleration_error(noisy[:2], target[:2])


def test_pve_alignments() -> None:
    predicted, target = random_poses(8, (3, 50, 3))
    assert float(pve(predicted, target)) == pytest.approx(float(mpjpe(predicted, target)))
    assert float(pve(target + np.array([1.0, 2.0, 3.0]), target, alignment="translation")) == pytest.approx(
        0.0, abs=1e-12
    )
    assert float(pve(predicted, target, alignment="procrustes")) == pytest.approx(float(p_mpjpe(predicted, target)))
    with pytest.raises(ValueError, match="alignment"):
        pve(predicted, target, alignment="affine")  # type: ignore[arg-type]


ERRORS: list[tuple[str, Callable[..., Any], dict[str, Any]]] = [
    ("mpjpe", mpjpe, {}),
    ("p_mpjpe", p_mpjpe, {}),
    ("n_mpjpe", n_mpjpe, {}),
    ("mpjve", mpjve, {}),
    ("accel", acceleration_error, {}),
    ("accel_masked", acceleration_error, {"visible": np.array([1, 1, 1, 0, 1, 1, 1, 1, 1, 1])}),
    ("pve", pve, {"alignment": "procrustes"}),
    ("weighted", weighted_mpjpe, {"weights": np.linspace(0, 1, 17)}),
]


@pytest.mark.parametrize("reduction", ["mean", "none", "per_joint", "per_frame", "per_sequence"])
@pytest.mark.parametrize(("name", "function", "extra"), ERRORS, ids=[e[0] for e in ERRORS])
def test_numpy_equals_torch(name: str, function: Callable[..., Any], extra: dict[str, Any], reduction: str) -> None:
    predicted, target = random_poses(9, (2, 10, 17, 3))
    expected = function(predicted, target, reduction=reduction, **extra)
    result = function(torch.from_numpy(predicted), torch.from_numpy(target), reduction=reduction, **extra)
    assert isinstance(expected, np.ndarray) and isinstance(result, torch.Tensor)
    np.testing.assert_allclose(result.numpy(), expected, atol=1e-12, equal_nan=True)


def test_torch_gradients_flow_and_float32_stays() -> None:
    predicted, target = random_poses(10)
    prediction = torch.tensor(predicted, dtype=torch.float32, requires_grad=True)
    target_tensor = torch.tensor(target, dtype=torch.float32)
    loss = p_mpjpe(prediction, target_tensor) + mpjve(prediction, target_tensor)
    assert loss.dtype == torch.float32 and loss.ndim == 0
    loss.backward()
    assert prediction.grad is not None and torch.isfinite(prediction.grad).all()
    assert mpjpe(np.zeros((2, 3), np.float32), np.ones((2, 3), np.float32)).dtype == np.float32
    assert mpjpe(np.zeros((2, 3), int), np.ones((2, 3), int)).dtype == np.float64


def test_action_names() -> None:
    assert normalize_action_name("Walking 1") == "Walking"
    assert normalize_action_name("Walking_2.54138969") == "Walking"
    assert normalize_action_name("WalkingDog 1") == "WalkDog"
    assert normalize_action_name("WalkDog") == "WalkDog"
    assert normalize_action_name("TakingPhoto") == "Photo"
    assert normalize_action_name("SittingDown 2") == "SittingDown"
    assert normalize_action_name("Sitting 1") == "Sitting"
    assert normalize_action_name("WalkTogether 1") == "WalkTogether"
    with pytest.raises(ValueError, match="'Juggling 1' is not a Human3.6M action"):
        normalize_action_name("Juggling 1")


def test_action_table_merges_and_averages() -> None:
    errors = {
        "Walking 1": np.array([1.0, 1.0]),
        "Walking": torch.tensor([4.0]),
        "WalkingDog 1": [2.0],
        "WalkDog": np.array([4.0, 4.0, 4.0]),
        "Directions": 10.0,
    }
    table = action_table(errors)
    assert list(table) == ["Directions", "WalkDog", "Walking", "Average"]  # the standard order
    assert table["Walking"] == pytest.approx(2.0)  # frames pooled within an action
    assert table["WalkDog"] == pytest.approx(3.5)
    assert table["Average"] == pytest.approx((10.0 + 3.5 + 2.0) / 3)  # actions weigh the same
    assert action_table(list(errors.items())) == table
    pairs = [("Eating 1", 0.1), ("Eating 2", 0.3), ("Eating", 0.2)]
    assert action_table(pairs)["Eating"] == pytest.approx(0.2)
    with pytest.raises(ValueError, match="no errors"):
        action_table({})


def test_format_action_table() -> None:
    table = action_table({action: 0.001 * (index + 40) for index, action in enumerate(H36M_ACTIONS)})
    text = format_action_table(table, scale=1000.0, unit="mm")
    header, values = text.splitlines()
    assert header.split() == [
        "Dir.", "Disc.", "Eat", "Greet", "Phone", "Photo", "Pose", "Purch.",
        "Sit", "SitD.", "Smoke", "Wait", "WalkD.", "Walk", "WalkT.", "Avg",
    ]  # fmt: skip
    assert values.split()[0] == "mm" and values.split()[1] == "40.0" and values.split()[-1] == "47.0"
    partial = format_action_table(action_table({"Walking": 0.05}), scale=1000.0)
    assert partial.splitlines()[1].split().count("-") == 14


def test_p_mpjpe_agrees_with_geometry_procrustes_align() -> None:
    from posekit.geometry import procrustes_align

    predicted, target = random_poses(11)
    scale, rotation, translation = random_similarity(3)
    predicted = scale * predicted @ rotation.T + translation
    expected = np.linalg.norm(procrustes_align(predicted, target) - target, axis=-1)
    np.testing.assert_allclose(p_mpjpe(predicted, target, "none"), expected, atol=1e-12)


def test_p_mpjpe_degenerate_prediction_is_finite() -> None:
    _, target = random_poses(12, (1, 17, 3))
    collapsed = np.ones_like(target)  # every joint at one point: best similarity maps it to the centroid
    expected = np.linalg.norm(target - target.mean(axis=1, keepdims=True), axis=-1).mean()
    assert float(p_mpjpe(collapsed, target)) == pytest.approx(expected)
