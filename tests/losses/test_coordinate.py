"""Coordinate losses: hand values."""

from __future__ import annotations

import pytest
import torch

from posekit.losses.coordinate import KeypointL1Loss, KeypointMSELoss


def test_l1_hand_value() -> None:
    prediction = torch.tensor([[[0.5, 0.25], [1.0, 1.0]]])  # (1, 2, 2)
    target = torch.tensor([[[0.0, 0.0], [0.0, 0.0]]])
    weight = torch.tensor([[1.0, 0.0]])
    # |0.5| + |0.25| + 0 + 0 over 4 elements
    assert KeypointL1Loss()(prediction, target, weight).item() == pytest.approx(0.1875)
    assert KeypointL1Loss(use_target_weight=False)(prediction, target).item() == pytest.approx(0.6875)


def test_smooth_l1_hand_value() -> None:
    prediction = torch.tensor([[[0.5, 0.05]]])
    target = torch.zeros(1, 1, 2)
    weight = torch.ones(1, 1)
    # beta 0.1: |0.5| >= beta -> 0.5 - 0.05 = 0.45; |0.05| < beta -> 0.5 * 0.05^2 / 0.1 = 0.0125; mean = 0.23125
    loss = KeypointL1Loss(smooth_beta=0.1)(prediction, target, weight)
    assert loss.item() == pytest.approx(0.23125)


def test_mse_hand_value_and_weight_shapes() -> None:
    prediction = torch.tensor([[[1.0, 2.0], [3.0, 0.0]]])
    target = torch.zeros(1, 2, 2)
    weight = torch.tensor([[[1.0], [0.5]]])  # (B, K, 1)
    # (1 + 4 + (1.5)^2 + 0) / 4
    assert KeypointMSELoss()(prediction, target, weight).item() == pytest.approx(1.8125)
    with pytest.raises(ValueError, match=r"target must have the prediction's shape \(1, 2, 2\), got \(1, 2\)"):
        KeypointMSELoss()(prediction, torch.zeros(1, 2), weight)
    with pytest.raises(ValueError, match="target_weight is required"):
        KeypointMSELoss()(prediction, target)
