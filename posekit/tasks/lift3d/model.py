"""The ``lift3d`` task's models: the pose and trajectory models trained together, and the lifter they make."""

from __future__ import annotations

import torch
from torch import nn

from posekit.models.lift3d import Lifter, TemporalModel, TemporalModelOptimized1f
from posekit.tasks.lift3d.config import Lift3DConfig, Lift3DModelConfig

__all__ = ["LiftingTrainModule", "build_train_module", "lifter_from_train_module"]


class LiftingTrainModule(nn.Module):
    """The models trained together: the pose model and (optionally) the trajectory model.

    Args:
        pose: maps ``(B, T, K, 2)`` to root-relative joints ``(B, T_out, J, 3)``.
        trajectory: maps ``(B, T, K, 2)`` to the root's camera position ``(B, T_out, 1, 3)``.
    """

    pose: TemporalModel | TemporalModelOptimized1f
    trajectory: TemporalModel | TemporalModelOptimized1f | None

    def __init__(
        self,
        pose: TemporalModel | TemporalModelOptimized1f,
        trajectory: TemporalModel | TemporalModelOptimized1f | None = None,
    ) -> None:
        super().__init__()
        self.pose = pose
        self.trajectory = trajectory

    def forward(self, keypoints_2d: torch.Tensor) -> torch.Tensor:
        """Root-relative 3D poses of the pose model."""
        return self.pose(keypoints_2d)  # type: ignore[no-any-return]


def _build_temporal(
    config: Lift3DModelConfig, num_keypoints: int, num_joints: int, *, training: bool, channels: int | None = None
) -> TemporalModel | TemporalModelOptimized1f:
    width = channels if channels is not None else config.channels
    if training and config.optimized_training and not config.dense:
        return TemporalModelOptimized1f(
            num_keypoints, 2, num_joints, list(config.filter_widths), config.causal, config.dropout, width
        )
    return TemporalModel(
        num_keypoints, 2, num_joints, list(config.filter_widths), config.causal, config.dropout, width, config.dense
    )


def build_train_module(config: Lift3DConfig, num_keypoints: int, num_joints: int) -> LiftingTrainModule:
    """The pose (and trajectory) training models of ``config``."""
    pose = _build_temporal(config.model, num_keypoints, num_joints, training=True)
    trajectory = None
    if config.model.trajectory or config.semi_supervised.enabled:
        trajectory = _build_temporal(
            config.model, num_keypoints, 1, training=True, channels=config.model.trajectory_channels
        )
    return LiftingTrainModule(pose, trajectory)


def lifter_from_train_module(module: LiftingTrainModule, config: Lift3DModelConfig) -> Lifter:
    """Dilated evaluation models carrying the training models' weights."""
    pose = _build_temporal(config, module.pose.num_joints_in, module.pose.num_joints_out, training=False)
    pose.load_state_dict(module.pose.state_dict())
    trajectory = None
    if module.trajectory is not None:
        trajectory = _build_temporal(
            config, module.trajectory.num_joints_in, 1, training=False, channels=module.trajectory.channels
        )
        trajectory.load_state_dict(module.trajectory.state_dict())
    return Lifter(pose.eval(), trajectory.eval() if trajectory is not None else None).eval()  # type: ignore[arg-type]
