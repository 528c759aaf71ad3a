"""Heatmap losses of the top-down 2D families (SimpleBaseline, HRNet, Stacked Hourglass, CPM).

Legend: ``B`` batch, ``K`` heatmap channels (keypoints; ``K + 1`` with CPM's background map),
``H``/``W`` heatmap height/width, ``S`` stages.

* :class:`JointsMSELoss` is HRNet's ``JointsMSELoss`` (``lib/core/loss.py``) exactly: per joint
  ``0.5 * MSE(pred * w, gt * w)`` with ``MSE`` averaged over batch and pixels, then averaged over
  joints, i.e. ``0.5 * mean((w * (pred - gt))^2)`` over all ``B K H W`` elements.
* :class:`JointsOHKMMSELoss` is HRNet's online hard keypoint mining (``JointsOHKMMSELoss``,
  ``topk=8``): the same per-joint losses averaged over pixels, then, per sample, the mean of the
  ``topk`` largest (Chen et al. 2018, "Cascaded Pyramid Network", Sec. 3.3).
* :class:`MultiStageLoss` sums a loss over every stage's prediction (intermediate supervision:
  Newell et al. 2016, Sec. 3.4; Wei et al. 2016, Sec. 3.3).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from posekit.losses._inputs import check_weighted_inputs

__all__ = ["JointsMSELoss", "JointsOHKMMSELoss", "MultiStageLoss", "check_heatmap_inputs"]


def check_heatmap_inputs(
    prediction: torch.Tensor, target: torch.Tensor, target_weight: torch.Tensor | None
) -> torch.Tensor | None:
    """Check ``(B, K, H, W)`` predictions/targets and ``(B, K)``/``(B, K, 1)`` weights.

    Returns:
        the weights as ``(B, K, 1)`` (ready to broadcast over the flattened pixels), or ``None``.

    Raises:
        ValueError: naming the shapes received and the ones expected.
    """
    return check_weighted_inputs(prediction, target, target_weight, "(B, K, H, W)")


class JointsMSELoss(nn.Module):
    """Weighted heatmap MSE (HRNet ``JointsMSELoss``).

    ``loss = 0.5 * mean_{b,k,p} (w_bk * pred_bkp - w_bk * gt_bkp)^2``.

    Args:
        use_target_weight: multiply predictions and targets by the per-joint weights (HRNet
            ``LOSS.USE_TARGET_WEIGHT``, true in every published config).
    """

    def __init__(self, use_target_weight: bool = True) -> None:
        super().__init__()
        self.use_target_weight = bool(use_target_weight)

    def forward(
        self, prediction: torch.Tensor, target: torch.Tensor, target_weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Scalar loss.

        Args:
            prediction: ``(B, K, H, W)`` raw heatmaps.
            target: ``(B, K, H, W)`` target heatmaps.
            target_weight: ``(B, K)`` or ``(B, K, 1)`` weights (required when ``use_target_weight``).
        """
        weight = check_heatmap_inputs(prediction, target, target_weight)
        batch, channels = prediction.shape[:2]
        predicted = prediction.reshape(batch, channels, -1)  # (B, K, H, W) -> (B, K, H*W)
        expected = target.reshape(batch, channels, -1).to(predicted.dtype)
        if self.use_target_weight:
            if weight is None:
                raise ValueError("target_weight is required when use_target_weight=True")
            weight = weight.to(predicted.dtype)
            predicted, expected = predicted * weight, expected * weight
        return 0.5 * torch.mean((predicted - expected) ** 2)


class JointsOHKMMSELoss(nn.Module):
    """Heatmap MSE with online hard keypoint mining (HRNet ``JointsOHKMMSELoss``).

    Per sample and joint ``l_bk = 0.5 * mean_p (w_bk (pred - gt))^2``; the loss is
    ``mean_b (sum of the topk largest l_bk over k) / topk``.

    Args:
        use_target_weight: weight predictions and targets per joint.
        topk: number of hardest joints kept per sample (8 in HRNet/CPN).
    """

    def __init__(self, use_target_weight: bool = True, topk: int = 8) -> None:
        super().__init__()
        if topk < 1:
            raise ValueError(f"topk must be >= 1, got {topk}")
        self.use_target_weight = bool(use_target_weight)
        self.topk = int(topk)

    def forward(
        self, prediction: torch.Tensor, target: torch.Tensor, target_weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Scalar loss; ``prediction``, ``target`` ``(B, K, H, W)``, ``target_weight`` ``(B, K)`` or ``(B, K, 1)``."""
        weight = check_heatmap_inputs(prediction, target, target_weight)
        batch, channels = prediction.shape[:2]
        if self.topk > channels:
            raise ValueError(f"topk={self.topk} exceeds the number of heatmap channels {channels}")
        predicted = prediction.reshape(batch, channels, -1)  # (B, K, H, W) -> (B, K, H*W)
        expected = target.reshape(batch, channels, -1).to(predicted.dtype)
        if self.use_target_weight:
            if weight is None:
                raise ValueError("target_weight is required when use_target_weight=True")
            weight = weight.to(predicted.dtype)
            predicted, expected = predicted * weight, expected * weight
        per_joint = 0.5 * ((predicted - expected) ** 2).mean(dim=-1)  # (B, K)
        hardest, _ = torch.topk(per_joint, k=self.topk, dim=1, sorted=False)  # (B, topk)
        return (hardest.sum(dim=1) / self.topk).mean()


class MultiStageLoss(nn.Module):
    """Intermediate supervision: ``sum_s stage_weights[s] * loss(prediction_s, *targets)``.

    Every stage is compared with the same targets (as Stacked Hourglass and CPM do).

    Args:
        loss: the per-stage loss module (e.g. :class:`JointsMSELoss`).
        stage_weights: one weight per stage; ``None`` weighs every stage 1.
    """

    def __init__(self, loss: nn.Module, stage_weights: Sequence[float] | None = None) -> None:
        super().__init__()
        self.loss = loss
        self.stage_weights = None if stage_weights is None else tuple(float(weight) for weight in stage_weights)

    def forward(self, predictions: Sequence[torch.Tensor], *targets: torch.Tensor | None) -> torch.Tensor:
        """Scalar sum over stages.

        Args:
            predictions: ``S`` stage outputs, each of the shape the wrapped loss takes.
            *targets: the wrapped loss's remaining arguments (targets, weights).
        """
        if len(predictions) == 0:
            raise ValueError("predictions must hold at least one stage, got an empty sequence")
        if self.stage_weights is not None and len(self.stage_weights) != len(predictions):
            raise ValueError(f"got {len(predictions)} stages but {len(self.stage_weights)} stage_weights")
        weights = self.stage_weights or (1.0,) * len(predictions)
        total = weights[0] * self.loss(predictions[0], *targets)
        for weight, prediction in zip(weights[1:], predictions[1:], strict=True):
            total = total + weight * self.loss(prediction, *targets)
        return total
