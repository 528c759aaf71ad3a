"""Heatmap losses: hand values and parity with HRNet's per-joint loop."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from posekit.losses.heatmap import JointsMSELoss, JointsOHKMMSELoss, MultiStageLoss


def hrnet_joints_mse(output: torch.Tensor, target: torch.Tensor, target_weight: torch.Tensor) -> torch.Tensor:
    """HRNet lib/core/loss.py JointsMSELoss.forward (use_target_weight=True), written as a loop."""
    criterion = nn.MSELoss(reduction="mean")
    batch_size, num_joints = output.shape[:2]
    heatmaps_pred = output.reshape(batch_size, num_joints, -1).split(1, 1)
    heatmaps_gt = target.reshape(batch_size, num_joints, -1).split(1, 1)
    loss = torch.zeros(())
    for index in range(num_joints):
        pred = heatmaps_pred[index].squeeze()
        gt = heatmaps_gt[index].squeeze()
        weight = target_weight[:, index]
        loss = loss + 0.5 * criterion(pred.mul(weight), gt.mul(weight))
    return loss / num_joints


def test_joints_mse_hand_value() -> None:
    prediction = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])  # (1, 2, 1, 2)
    target = torch.zeros_like(prediction)
    weight = torch.tensor([[1.0, 0.0]])
    # 0.5 * mean of (1^2, 2^2, 0, 0) over the 4 elements
    assert JointsMSELoss()(prediction, target, weight).item() == pytest.approx(0.625)
    # without weights every element counts: 0.5 * (1 + 4 + 9 + 16) / 4
    assert JointsMSELoss(use_target_weight=False)(prediction, target).item() == pytest.approx(3.75)


def test_joints_mse_matches_hrnet_loop() -> None:
    generator = torch.Generator().manual_seed(0)
    output = torch.randn(3, 5, 8, 6, generator=generator)
    target = torch.rand(3, 5, 8, 6, generator=generator)
    weight = (torch.rand(3, 5, 1, generator=generator) > 0.3).float()
    expected = hrnet_joints_mse(output, target, weight)
    assert torch.allclose(JointsMSELoss()(output, target, weight), expected, atol=1e-7)
    assert torch.allclose(JointsMSELoss()(output, target, weight[..., 0]), expected, atol=1e-7)


def test_ohkm_hand_value() -> None:
    # per-joint losses 0.5 * mean over 2 pixels: joint 0 -> 0.5 * (1 + 1) / 2 = 0.5, joint 1 -> 0.5 * (4 + 4) / 2 = 2,
    # joint 2 -> 0.5 * (9 + 9) / 2 = 4.5; topk = 2 keeps 2 and 4.5 -> (2 + 4.5) / 2 = 3.25
    prediction = torch.tensor([[[[1.0, 1.0]], [[2.0, 2.0]], [[3.0, 3.0]]]])
    target = torch.zeros_like(prediction)
    weight = torch.ones(1, 3)
    assert JointsOHKMMSELoss(topk=2)(prediction, target, weight).item() == pytest.approx(3.25)
    # a zero weight removes the hardest joint: kept 0.5 and 2 -> 1.25
    weight = torch.tensor([[1.0, 1.0, 0.0]])
    assert JointsOHKMMSELoss(topk=2)(prediction, target, weight).item() == pytest.approx(1.25)
    with pytest.raises(ValueError, match="topk=4 exceeds"):
        JointsOHKMMSELoss(topk=4)(prediction, target, weight)


def test_multi_stage_loss_sums_stages() -> None:
    target = torch.zeros(1, 1, 1, 2)
    weight = torch.ones(1, 1)
    stages = [torch.ones(1, 1, 1, 2), 2 * torch.ones(1, 1, 1, 2)]  # 0.5 and 2.0
    assert MultiStageLoss(JointsMSELoss())(stages, target, weight).item() == pytest.approx(2.5)
    assert MultiStageLoss(JointsMSELoss(), [2.0, 0.5])(stages, target, weight).item() == pytest.approx(2.0)
    with pytest.raises(ValueError, match="2 stages but 3 stage_weights"):
        MultiStageLoss(JointsMSELoss(), [1.0, 1.0, 1.0])(stages, target, weight)


def test_shape_errors_name_the_shapes() -> None:
    with pytest.raises(ValueError, match=r"prediction must have shape \(B, K, H, W\), got \(2, 3\)"):
        JointsMSELoss()(torch.zeros(2, 3), torch.zeros(2, 3), torch.ones(2, 3))
    with pytest.raises(ValueError, match=r"target_weight must have shape \(B, K\) = \(1, 2\)"):
        JointsMSELoss()(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 4), torch.ones(2))
