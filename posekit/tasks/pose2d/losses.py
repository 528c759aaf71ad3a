"""Loss composition of the ``pose2d`` task: the loss modules a :class:`LossConfig` names and the terms of one batch.

Legend: ``B`` batch, ``K`` keypoints, ``S`` stages, heatmaps ``(W, H)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from posekit.losses.coordinate import KeypointL1Loss, KeypointMSELoss
from posekit.losses.heatmap import JointsMSELoss, JointsOHKMMSELoss, MultiStageLoss
from posekit.models.pose2d.base import Pose2DModel
from posekit.tasks.pose2d.config import LossConfig


class Pose2DLosses:
    """The loss modules a :class:`LossConfig` describes."""

    def __init__(self, config: LossConfig) -> None:
        heatmap: nn.Module
        if config.heatmap == "ohkm":
            heatmap = JointsOHKMMSELoss(config.use_target_weight, topk=config.ohkm_topk)
        else:
            heatmap = JointsMSELoss(config.use_target_weight)
        coordinate: nn.Module
        if config.coordinate == "mse":
            coordinate = KeypointMSELoss(config.use_target_weight)
        else:
            beta = config.smooth_beta if config.coordinate == "smooth_l1" else None
            coordinate = KeypointL1Loss(config.use_target_weight, smooth_beta=beta)
        self.config = config
        self.heatmap = heatmap
        self.coordinate = coordinate


def training_losses(
    outputs: Mapping[str, Sequence[torch.Tensor]],
    batch: Mapping[str, Any],
    model: Pose2DModel,
    losses: Pose2DLosses,
    stage: int | None = None,
) -> dict[str, torch.Tensor]:
    """The loss terms of one batch.

    Args:
        outputs: :class:`Pose2DTrainingView` outputs.
        batch: collated samples: ``target_weight (B, K)``, ``heatmaps (B, K, H, W)`` and/or
            ``keypoint_labels (B, K, 2)``.
        model: the 2D model (for its flags: background channel, input size, IEF step bound).
        losses: the loss modules.
        stage: DeepPose stage being trained (loss on that stage only).

    Returns:
        ``{"loss": total, "heatmap": ..., "coordinate": ...}`` (terms present when computed).
    """
    config = losses.config
    weight = batch["target_weight"]
    terms: dict[str, torch.Tensor] = {}
    total: torch.Tensor | None = None
    heatmap_stages = list(outputs.get("heatmaps", []))
    if heatmap_stages and (config.heatmap_weight > 0 or model.output_kind == "heatmap"):
        target = batch["heatmaps"]
        heatmap_weight = weight
        if model.background_channel:
            from posekit.models.pose2d.base import append_background_channel

            target = append_background_channel(target)
            heatmap_weight = torch.cat([weight, torch.ones_like(weight[:, :1])], dim=1)  # (B, K) -> (B, K + 1)
        term = MultiStageLoss(losses.heatmap, config.stage_weights)(heatmap_stages, target, heatmap_weight)
        terms["heatmap"] = term
        factor = config.heatmap_weight if model.output_kind != "heatmap" else 1.0
        total = factor * term
    coordinate_stages = list(outputs.get("coordinates", []))
    if stage is not None:
        coordinate_stages = coordinate_stages[-1:]
    if coordinate_stages:
        stage_weights = config.stage_weights if stage is None else None
        term = MultiStageLoss(losses.coordinate, stage_weights)(coordinate_stages, batch["keypoint_labels"], weight)
        terms["coordinate"] = term
        total = config.coordinate_weight * term if total is None else total + config.coordinate_weight * term
    if "corrections" in outputs:
        from posekit.models.pose2d.ief import IterativeErrorFeedback, ief_targets

        assert isinstance(model, IterativeErrorFeedback)
        labels = batch["keypoint_labels"]
        term = torch.zeros((), device=labels.device)
        for estimate, correction in zip(outputs["estimates"], outputs["corrections"], strict=True):
            target = ief_targets(estimate, labels, model.max_step, model.input_size)
            term = term + losses.coordinate(correction, target, weight)
        terms["correction"] = term
        total = config.coordinate_weight * term if total is None else total + config.coordinate_weight * term
    if total is None:
        raise ValueError(f"{type(model).__name__}: no loss term applies (check loss.heatmap_weight/coordinate_weight)")
    return {"loss": total, **terms}
