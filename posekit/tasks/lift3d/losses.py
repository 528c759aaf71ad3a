"""The ``lift3d`` task's losses: supervised and semi-supervised VideoPose3D training terms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import torch
from torch import nn

from posekit.engine import unwrap_model
from posekit.geometry import project_to_2d, project_to_2d_linear
from posekit.losses.lifting import bone_length_loss, mpjpe, trajectory_depth_weights, weighted_mpjpe
from posekit.tasks.lift3d.model import LiftingTrainModule

__all__ = ["semi_supervised_loss", "supervised_loss"]


def _root_relative(positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, T, J, 3)`` camera-space joints -> (root-relative joints with root 0, root ``(B, T, 1, 3)``)."""
    trajectory = positions[:, :, :1]
    return positions - trajectory, trajectory


def supervised_loss(model: nn.Module, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Supervised VideoPose3D loss: MPJPE of root-relative joints (+ the trajectory loss).

    Args:
        model: a :class:`LiftingTrainModule` (possibly wrapped in DDP).
        batch: ``keypoints_2d (B, T, K, 2)``, ``positions_3d (B, L, J, 3)`` camera space.

    Returns:
        ``loss``, ``mpjpe`` (metres) and ``trajectory`` when there is a trajectory model.
    """
    module = unwrap_model(model)
    assert isinstance(module, LiftingTrainModule)
    target, trajectory_target = _root_relative(batch["positions_3d"])
    prediction = model(batch["keypoints_2d"])
    loss_3d = mpjpe(prediction, target)
    terms = {"loss": loss_3d, "mpjpe": loss_3d.detach()}
    if module.trajectory is not None:
        predicted_trajectory = module.trajectory(batch["keypoints_2d"])
        loss_trajectory = weighted_mpjpe(
            predicted_trajectory, trajectory_target, trajectory_depth_weights(trajectory_target)
        )
        terms["loss"] = loss_3d + loss_trajectory
        terms["trajectory"] = loss_trajectory.detach()
    return terms


def semi_supervised_loss(
    model: nn.Module,
    batch: Mapping[str, Mapping[str, torch.Tensor]],
    *,
    pad: int,
    causal_shift: int,
    parents: Sequence[int],
    warmup: bool,
    projection: Literal["nonlinear", "linear"] = "nonlinear",
    projection_term: bool = True,
    bone_length_term: bool = True,
    bone_length_weight: float = 1.0,
) -> dict[str, torch.Tensor]:
    """The semi-supervised loss of ``run.py`` for one labelled + unlabelled batch.

    Args:
        model: a :class:`LiftingTrainModule` with a trajectory model.
        batch: ``{"labelled": {keypoints_2d, positions_3d}, "unlabelled": {keypoints_2d, intrinsics}}``.
        pad: ``(receptive_field - 1) // 2``.
        causal_shift: ``pad`` for causal models, else 0.
        parents: parent of every 3D joint (bone-length term).
        warmup: supervised terms only (the first ``warmup_epochs``).
        projection: ``nonlinear`` (:func:`posekit.geometry.project_to_2d`) or ``linear``.
        projection_term: add the 2D reprojection MPJPE.
        bone_length_term: add the bone-length term.
        bone_length_weight: weight of the bone-length term.

    Returns:
        ``loss`` and every term: ``mpjpe``, ``trajectory``, ``projection``, ``bone_length``.
    """
    module = unwrap_model(model)
    assert isinstance(module, LiftingTrainModule) and module.trajectory is not None
    labelled, unlabelled = batch["labelled"], batch["unlabelled"]
    target, trajectory_target = _root_relative(labelled["positions_3d"])
    split = target.shape[0]
    inputs = labelled["keypoints_2d"]
    if not warmup:
        # (B_l, T, K, 2) + (B_u, T, K, 2) -> (B_l + B_u, T, K, 2): one pass through BatchNorm
        inputs = torch.cat([inputs, unlabelled["keypoints_2d"]], dim=0)
    predicted = model(inputs)
    loss_3d = mpjpe(predicted[:split], target)
    predicted_trajectory = module.trajectory(inputs)
    loss_trajectory = weighted_mpjpe(
        predicted_trajectory[:split], trajectory_target, trajectory_depth_weights(trajectory_target)
    )
    total = loss_3d + loss_trajectory
    zero = loss_3d.new_zeros(())
    terms = {"mpjpe": loss_3d.detach(), "trajectory": loss_trajectory.detach(), "projection": zero, "bone_length": zero}
    if not warmup:
        semi_2d = unlabelled["keypoints_2d"]
        frames = predicted.shape[1]
        # The 2D frames that the predictions are for: the window without its padding.
        target_2d = semi_2d[:, pad + causal_shift : pad + causal_shift + frames, :, :2]
        project = project_to_2d if projection == "nonlinear" else project_to_2d_linear
        reprojection = project(predicted[split:] + predicted_trajectory[split:], unlabelled["intrinsics"])
        loss_projection = mpjpe(reprojection, target_2d)
        terms["projection"] = loss_projection.detach()
        if projection_term:
            total = total + loss_projection
        if bone_length_term:
            penalty = bone_length_loss(predicted[:split], predicted[split:], parents)
            terms["bone_length"] = penalty.detach()
            total = total + bone_length_weight * penalty
    terms["loss"] = total
    return terms
