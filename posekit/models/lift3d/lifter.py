"""A VideoPose3D lifter: the pose model and its optional trajectory model, ready for inference.

Legend: ``B`` batch, ``T`` frames, ``J`` joints, ``rf`` receptive field. Inputs are normalised
2D keypoints (image width mapped to [-1, 1], Pavllo et al., CVPR 2019, Section 5); outputs are
root-relative 3D joints in metres (trajectory model: the root position in camera space).
Checkpoints load into a :class:`Lifter` with :func:`posekit.models.lift3d.loading.load_lifter`.
"""

from __future__ import annotations

import torch
from torch import nn

from posekit.models.lift3d.folded import FoldedTemporalModel, fold_batchnorm
from posekit.models.lift3d.videopose3d import TemporalModel

__all__ = ["Lifter"]


class Lifter(nn.Module):
    """A VideoPose3D pose model and its optional trajectory model, ready for inference.

    Args:
        pose_model: maps ``(B, T, J_in, 2)`` to root-relative joints ``(B, T - rf + 1, J, 3)``.
        trajectory: optional model with one output joint: the root position in camera space,
            ``(B, T - rf + 1, 1, 3)``; same receptive field as ``pose_model``.

    Attributes:
        receptive_field: frames one output sees (``rf``).
        num_joints: output joints ``J``; ``num_joints_in`` input joints.
        causal: whether outputs align with the last frame of their window.
    """

    def __init__(
        self,
        pose_model: TemporalModel | FoldedTemporalModel,
        trajectory: TemporalModel | FoldedTemporalModel | None = None,
    ) -> None:
        super().__init__()
        if trajectory is not None:
            if trajectory.receptive_field() != pose_model.receptive_field():
                raise ValueError(
                    f"the trajectory model's receptive field ({trajectory.receptive_field()}) differs from the "
                    f"pose model's ({pose_model.receptive_field()})"
                )
            if trajectory.num_joints_out != 1 or trajectory.num_joints_in != pose_model.num_joints_in:
                raise ValueError(
                    f"the trajectory model must map {pose_model.num_joints_in} joints to 1, "
                    f"got {trajectory.num_joints_in} -> {trajectory.num_joints_out}"
                )
        self.pose_model = pose_model
        self.trajectory = trajectory
        self.receptive_field = pose_model.receptive_field()
        self.num_joints = pose_model.num_joints_out
        self.num_joints_in = pose_model.num_joints_in
        self.in_features = pose_model.in_features
        self.causal = pose_model.causal

    def forward(self, keypoints_2d: torch.Tensor) -> torch.Tensor:
        """Root-relative 3D poses ``(B, T - rf + 1, J, 3)`` in metres from ``(B, T, J_in, 2)``."""
        return self.pose_model(keypoints_2d)

    def forward_trajectory(self, keypoints_2d: torch.Tensor) -> torch.Tensor:
        """Root positions ``(B, T - rf + 1, 1, 3)`` in camera space (metres) from ``(B, T, J_in, 2)``."""
        if self.trajectory is None:
            raise ValueError("this lifter has no trajectory model (the checkpoint held no 'model_traj')")
        return self.trajectory(keypoints_2d)

    def folded(self, *, compute_dtype: torch.dtype = torch.float32) -> Lifter:
        """A copy with BatchNorm folded (see :func:`fold_batchnorm`), for fast inference."""

        def fold(model: TemporalModel | FoldedTemporalModel) -> FoldedTemporalModel:
            if isinstance(model, FoldedTemporalModel):
                raise ValueError("this lifter is already folded")
            return fold_batchnorm(model, compute_dtype=compute_dtype)

        return Lifter(fold(self.pose_model), fold(self.trajectory) if self.trajectory is not None else None)
