"""Losses for 2D-to-3D lifting (VideoPose3D, Pavllo et al., CVPR 2019, Section 4).

Legend: ``B`` batch, ``T`` frames, ``J`` joints. 3D positions in metres.

* :func:`mpjpe`: mean per-joint position error, the supervised pose loss (Equation 1's
  reconstruction target is the same distance on 2D projections).
* :func:`weighted_mpjpe` with :func:`trajectory_depth_weights`: the trajectory model's loss,
  each frame weighted by ``1 / z`` of its ground-truth root depth (Section 4: "we weight each
  sample by the inverse of the ground-truth depth"), as ``run.py`` does with
  ``w = 1 / inputs_traj[:, :, :, 2]``.
* :func:`bone_lengths` and :func:`bone_length_loss`: the semi-supervised bone-length term, the
  absolute difference between the mean bone lengths predicted for the labelled and for the
  unlabelled part of the batch (``run.py``'s ``--bone-length-term``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["bone_length_loss", "bone_lengths", "mpjpe", "trajectory_depth_weights", "weighted_mpjpe"]


def _check_positions(name: str, positions: torch.Tensor) -> None:
    if positions.ndim < 2 or positions.shape[-1] not in (2, 3):
        raise ValueError(f"{name} must have shape (..., J, 2) or (..., J, 3), got {tuple(positions.shape)}")


def mpjpe(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean per-joint position error: mean Euclidean distance over every leading index and joint.

    Args:
        predicted: ``(..., J, D)`` positions, ``D`` 3 (metres) or 2 (for reprojections).
        target: same shape.

    Returns:
        Scalar tensor (metres for 3D).
    """
    _check_positions("predicted", predicted)
    if predicted.shape != target.shape:
        raise ValueError(
            f"predicted and target must have the same shape, got {tuple(predicted.shape)} and {tuple(target.shape)}"
        )
    return torch.mean(torch.linalg.vector_norm(predicted - target, dim=-1))


def weighted_mpjpe(predicted: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Mean of per-joint distances multiplied by ``weights``: ``mean(w * ||predicted - target||)``.

    Args:
        predicted: ``(B, ..., J, 3)``.
        target: same shape.
        weights: broadcastable to ``(B, ..., J)`` with the same batch size ``B``, e.g.
            ``(B, T, 1)`` from :func:`trajectory_depth_weights`.

    Returns:
        Scalar tensor.
    """
    _check_positions("predicted", predicted)
    if predicted.shape != target.shape:
        raise ValueError(
            f"predicted and target must have the same shape, got {tuple(predicted.shape)} and {tuple(target.shape)}"
        )
    distances = torch.linalg.vector_norm(predicted - target, dim=-1)
    if weights.ndim == 0 or weights.shape[0] != predicted.shape[0]:
        raise ValueError(f"weights must have batch size {predicted.shape[0]}, got shape {tuple(weights.shape)}")
    try:
        torch.broadcast_shapes(weights.shape, distances.shape)
    except RuntimeError as error:
        raise ValueError(
            f"weights of shape {tuple(weights.shape)} do not broadcast to the distances' shape {tuple(distances.shape)}"
        ) from error
    return torch.mean(weights * distances)


def trajectory_depth_weights(target_trajectory: torch.Tensor) -> torch.Tensor:
    """Weights ``1 / z`` of the trajectory loss from ground-truth root positions.

    Args:
        target_trajectory: ``(B, T, 1, 3)`` root positions in camera space (metres), ``z > 0``.

    Returns:
        ``(B, T, 1)`` inverse depths.

    Raises:
        ValueError: wrong shape, or a root at or behind the camera (``z <= 0``).
    """
    if target_trajectory.ndim < 2 or target_trajectory.shape[-1] != 3:
        raise ValueError(f"target_trajectory must have shape (B, T, 1, 3), got {tuple(target_trajectory.shape)}")
    depth = target_trajectory[..., 2]
    if bool((depth <= 0).any()):
        raise ValueError("target_trajectory has root depths z <= 0; camera-space roots must lie in front of the camera")
    return 1 / depth


def bone_lengths(poses: torch.Tensor, parents: Sequence[int]) -> torch.Tensor:
    """Length of every bone (joint to parent), averaged over time.

    Args:
        poses: ``(B, T, J, 3)`` joint positions.
        parents: ``J`` parent indices, ``-1`` for roots (Human3.6M: joint 0).

    Returns:
        ``(B, number of non-root joints)`` mean bone lengths, in joint order.
    """
    if poses.ndim != 4 or poses.shape[-1] != 3:
        raise ValueError(f"poses must have shape (B, T, J, 3), got {tuple(poses.shape)}")
    if len(parents) != poses.shape[2]:
        raise ValueError(f"parents must name one parent per joint ({poses.shape[2]}), got {len(parents)}")
    children = [joint for joint, parent in enumerate(parents) if parent >= 0]
    parent_of = [int(parents[joint]) for joint in children]
    # (B, T, J-1, 3) -> (B, T, J-1) -> (B, J-1)
    offsets = poses[:, :, children] - poses[:, :, parent_of]
    return torch.mean(torch.linalg.vector_norm(offsets, dim=3), dim=1)


def bone_length_loss(
    labelled_predictions: torch.Tensor,
    unlabelled_predictions: torch.Tensor,
    parents: Sequence[int],
) -> torch.Tensor:
    """Semi-supervised bone-length term: mean over bones of ``|mean_lab - mean_unlab|``.

    Both inputs are the *model's predictions* (labelled and unlabelled parts of one batch), as
    in ``run.py``: the bone lengths predicted for unlabelled videos are pulled towards those
    predicted for labelled ones, averaged over batch and time.

    Args:
        labelled_predictions: ``(B_l, T, J, 3)``.
        unlabelled_predictions: ``(B_u, T, J, 3)``.
        parents: ``J`` parent indices, ``-1`` for roots.

    Returns:
        Scalar tensor (metres).
    """
    labelled = bone_lengths(labelled_predictions, parents)
    unlabelled = bone_lengths(unlabelled_predictions, parents)
    return torch.mean(torch.abs(torch.mean(labelled, dim=0) - torch.mean(unlabelled, dim=0)))
