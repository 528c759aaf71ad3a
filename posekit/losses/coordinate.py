"""Coordinate losses for regression (DeepPose, IEF) and integral / hybrid models.

Legend: ``B`` batch, ``K`` keypoints, ``D = 2`` coordinates (normalised ``(x / w, y / h)`` in
posekit's models, but any unit works).

Both losses follow MMPose's ``L1Loss`` / ``SmoothL1Loss`` with ``use_target_weight``: predictions
and targets are multiplied by the per-keypoint weight and the element-wise loss is averaged over
all ``B K D`` elements (so zero-weight keypoints contribute zeros to the mean).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from posekit.losses._inputs import check_weighted_inputs

__all__ = ["KeypointL1Loss", "KeypointMSELoss", "check_coordinate_inputs"]


def check_coordinate_inputs(
    prediction: torch.Tensor, target: torch.Tensor, target_weight: torch.Tensor | None
) -> torch.Tensor | None:
    """Check ``(B, K, D)`` predictions/targets and ``(B, K)``/``(B, K, 1)`` weights.

    Returns:
        the weights as ``(B, K, 1)`` or ``None``.
    """
    return check_weighted_inputs(prediction, target, target_weight, "(B, K, D)")


def _weighted(
    prediction: torch.Tensor, target: torch.Tensor, target_weight: torch.Tensor | None, use_target_weight: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    weight = check_coordinate_inputs(prediction, target, target_weight)
    expected = target.to(prediction.dtype)
    if not use_target_weight:
        return prediction, expected
    if weight is None:
        raise ValueError("target_weight is required when use_target_weight=True")
    weight = weight.to(prediction.dtype)
    return prediction * weight, expected * weight


class KeypointL1Loss(nn.Module):
    """Weighted L1 or smooth-L1 coordinate loss: ``mean |w pred - w gt|`` over ``B K D``.

    Args:
        use_target_weight: weight predictions and targets per keypoint.
        smooth_beta: ``None`` for plain L1 (integral regression, Sun et al. 2018, Sec. 3.3); a
            positive value for smooth L1 with that transition point (``F.smooth_l1_loss``'s beta).
    """

    def __init__(self, use_target_weight: bool = True, smooth_beta: float | None = None) -> None:
        super().__init__()
        if smooth_beta is not None and not smooth_beta > 0:
            raise ValueError(f"smooth_beta must be > 0 or None, got {smooth_beta}")
        self.use_target_weight = bool(use_target_weight)
        self.smooth_beta = smooth_beta

    def forward(
        self, prediction: torch.Tensor, target: torch.Tensor, target_weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Scalar loss; ``prediction``, ``target`` ``(B, K, D)``, ``target_weight`` ``(B, K)`` or ``(B, K, 1)``."""
        predicted, expected = _weighted(prediction, target, target_weight, self.use_target_weight)
        if self.smooth_beta is None:
            return F.l1_loss(predicted, expected)
        return F.smooth_l1_loss(predicted, expected, beta=self.smooth_beta)


class KeypointMSELoss(nn.Module):
    """Weighted squared coordinate error ``mean (w pred - w gt)^2`` over ``B K D``.

    DeepPose's L2 regression objective (Toshev & Szegedy 2014, Eq. 2) and IEF's correction loss
    (Carreira et al. 2016, Eq. 3), both on normalised coordinates.

    Args:
        use_target_weight: weight predictions and targets per keypoint.
    """

    def __init__(self, use_target_weight: bool = True) -> None:
        super().__init__()
        self.use_target_weight = bool(use_target_weight)

    def forward(
        self, prediction: torch.Tensor, target: torch.Tensor, target_weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Scalar loss; ``prediction``, ``target`` ``(B, K, D)``, ``target_weight`` ``(B, K)`` or ``(B, K, 1)``."""
        predicted, expected = _weighted(prediction, target, target_weight, self.use_target_weight)
        return F.mse_loss(predicted, expected)
