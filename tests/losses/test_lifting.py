"""Lifting losses: hand-computed values and parity with the official formulas."""

from __future__ import annotations

import pytest
import torch

from posekit.losses.lifting import bone_length_loss, bone_lengths, mpjpe, trajectory_depth_weights, weighted_mpjpe


def test_mpjpe_hand_computed() -> None:
    predicted = torch.zeros(1, 1, 2, 3)
    target = torch.tensor([[[[3.0, 4.0, 0.0], [0.0, 0.0, 2.0]]]])
    # distances 5 and 2 -> mean 3.5
    assert mpjpe(predicted, target).item() == pytest.approx(3.5)
    assert mpjpe(target, target).item() == 0.0


def test_mpjpe_shape_errors() -> None:
    with pytest.raises(ValueError, match="same shape"):
        mpjpe(torch.zeros(1, 2, 17, 3), torch.zeros(1, 2, 16, 3))
    with pytest.raises(ValueError, match=r"\(\.\.\., J, 2\) or \(\.\.\., J, 3\)"):
        mpjpe(torch.zeros(4), torch.zeros(4))


def test_weighted_mpjpe_with_inverse_depth_weights() -> None:
    # Two frames, root at depth 2 m and 4 m; errors of 1 m and 2 m along x.
    target = torch.tensor([[[[0.0, 0.0, 2.0]], [[0.0, 0.0, 4.0]]]])  # (B=1, T=2, 1, 3)
    predicted = target + torch.tensor([[[[1.0, 0.0, 0.0]], [[2.0, 0.0, 0.0]]]])
    weights = trajectory_depth_weights(target)
    assert weights.shape == (1, 2, 1)
    torch.testing.assert_close(weights, torch.tensor([[[0.5], [0.25]]]))
    # mean(1 * 0.5, 2 * 0.25) = 0.5
    assert weighted_mpjpe(predicted, target, weights).item() == pytest.approx(0.5)


def test_weighted_mpjpe_equals_official_formula() -> None:
    torch.manual_seed(0)
    predicted = torch.randn(4, 5, 1, 3)
    target = torch.randn(4, 5, 1, 3)
    target[..., 2] = target[..., 2].abs() + 2
    weights = 1 / target[:, :, :, 2]  # run.py: w = 1 / inputs_traj[:, :, :, 2]
    official = torch.mean(weights * torch.norm(predicted - target, dim=len(target.shape) - 1))
    torch.testing.assert_close(weighted_mpjpe(predicted, target, trajectory_depth_weights(target)), official)


def test_weighted_mpjpe_errors() -> None:
    with pytest.raises(ValueError, match="batch size 2"):
        weighted_mpjpe(torch.zeros(2, 3, 1, 3), torch.zeros(2, 3, 1, 3), torch.ones(3, 3, 1))
    with pytest.raises(ValueError, match="broadcast"):
        weighted_mpjpe(torch.zeros(2, 3, 1, 3), torch.zeros(2, 3, 1, 3), torch.ones(2, 4, 1))
    with pytest.raises(ValueError, match="z <= 0"):
        trajectory_depth_weights(torch.zeros(1, 2, 1, 3))


def test_bone_lengths_hand_computed() -> None:
    # Three joints in a chain 0 <- 1 <- 2; bones of length 1 and 2 in frame 0, 3 and 4 in frame 1.
    poses = torch.tensor(
        [[[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 2.0, 0.0]], [[0.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 3.0, 4.0]]]]
    )
    lengths = bone_lengths(poses, [-1, 0, 1])
    torch.testing.assert_close(lengths, torch.tensor([[2.0, 3.0]]))


def test_bone_length_loss_equals_official_formula() -> None:
    torch.manual_seed(0)
    parents = [-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15]  # Human3.6M 17 joints
    predicted = torch.randn(6, 9, 17, 3)
    split = 4
    # run.py, --bone-length-term:
    dists = predicted[:, :, 1:] - predicted[:, :, parents[1:]]
    lengths = torch.mean(torch.norm(dists, dim=3), dim=1)
    official = torch.mean(torch.abs(torch.mean(lengths[:split], dim=0) - torch.mean(lengths[split:], dim=0)))
    torch.testing.assert_close(bone_length_loss(predicted[:split], predicted[split:], parents), official)
    assert bone_length_loss(predicted, predicted, parents).item() == 0.0


def test_bone_length_errors() -> None:
    with pytest.raises(ValueError, match=r"\(B, T, J, 3\)"):
        bone_lengths(torch.zeros(2, 17, 3), [-1] * 17)
    with pytest.raises(ValueError, match="one parent per joint"):
        bone_lengths(torch.zeros(1, 2, 17, 3), [-1, 0])
