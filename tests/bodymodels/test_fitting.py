"""fit_to_keypoints recovers a known body from its projected joints (2D) or its joints (3D)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posekit.bodymodels import SMPL
from posekit.bodymodels.fitting import FittingConfig, GaussianMixturePrior, fit_to_keypoints
from posekit.skeletons.definitions import SMPL as SMPL_SKELETON

SMPL_NAMES = SMPL_SKELETON.keypoint_names

INTRINSICS = np.array([[500.0, 0.0, 128.0], [0.0, 500.0, 128.0], [0.0, 0.0, 1.0]])


def _truth(model: SMPL, frames: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(5)
    dtype = model.dtype
    global_orient = torch.tensor([[np.pi, 0.0, 0.0]], dtype=dtype).repeat(frames, 1) + 0.2 * torch.randn(
        frames, 3, generator=generator, dtype=dtype
    )
    body_pose = 0.3 * torch.randn(frames, 69, generator=generator, dtype=dtype)
    transl = torch.tensor([[0.1, -0.1, 3.0]], dtype=dtype).repeat(frames, 1)
    output = model(global_orient=global_orient, body_pose=body_pose, transl=transl)
    joints = output.joints
    projected = 500.0 * joints[..., :2] / joints[..., 2:] + 128.0
    return projected, joints


def test_fit_2d_error_falls_and_ignores_missing_joints(model64: SMPL) -> None:
    projected, _ = _truth(model64)
    scores = torch.ones(3, 24, 1, dtype=torch.float64)
    scores[0, 5] = 0.0  # missing by score
    target = torch.cat([projected, scores], dim=-1)
    target[1, 7, :2] = float("nan")  # missing by NaN
    target[0, 5, :2] = 1e4  # a wild value with score 0 must not matter
    config = FittingConfig(steps=250, camera_steps=50, pose_prior_weight=0.01, shape_prior_weight=0.01, bend_weight=0.0)
    result = fit_to_keypoints(model64, target, INTRINSICS, config=config)
    assert result.body_pose.shape == (3, 69) and result.keypoints_3d.shape == (3, 24, 3)
    assert torch.all(result.reprojection_error < 0.1 * result.initial_reprojection_error)
    assert torch.all(result.reprojection_error < 3.0), result.reprojection_error
    assert result.loss_history[-1] < result.loss_history[0]


def test_fit_3d_recovers_joints_with_smoothness_and_lbfgs(model64: SMPL) -> None:
    _, joints = _truth(model64)
    config = FittingConfig(
        steps=60, camera_steps=10, optimizer="lbfgs", pose_prior_weight=1e-3, shape_prior_weight=1e-3
    )
    config.bend_weight, config.smoothness_weight, config.shared_betas = 0.0, 1e-4, True
    result = fit_to_keypoints(model64, joints_3d=joints, config=config)
    assert torch.all(result.joints_3d_error < 0.02), result.joints_3d_error  # metres (measured ~9 mm)
    assert torch.isnan(result.reprojection_error).all()


def test_gmm_prior_and_bad_input(model64: SMPL) -> None:
    prior = GaussianMixturePrior(np.zeros((2, 69)), np.stack([np.eye(69), 4 * np.eye(69)]), np.array([0.5, 0.5]))
    pose = torch.zeros(1, 69, dtype=torch.float64)
    assert float(prior(pose)) == pytest.approx(-np.log(0.5))  # best component: unit covariance at its mean
    with pytest.raises(ValueError, match="needs keypoints_2d .* or joints_3d"):
        fit_to_keypoints(model64)
    with pytest.raises(ValueError, match="keypoints_2d needs a camera"):
        fit_to_keypoints(model64, np.zeros((1, 24, 2)))
    with pytest.raises(ValueError, match=r"keypoints_2d has shape \(1, 17, 2\); expected \(N, 24, 2\)"):
        fit_to_keypoints(model64, np.zeros((1, 17, 2)), INTRINSICS)


def test_fit_targets_by_skeleton_name(model64: SMPL) -> None:
    """COCO-17 2D (posekit predict) and Human3.6M-17 3D (--lift) targets are mapped to SMPL joints by name."""
    from posekit.skeletons import convert_keypoints
    from posekit.structures import PoseSequence

    projected, joints = _truth(model64)
    coco, coco_valid = convert_keypoints(projected, "smpl", "coco")  # nose, eyes, ears: not SMPL joints
    assert int(coco_valid[0].sum()) == 12
    scores = coco_valid.to(torch.float64)
    config = FittingConfig(steps=250, camera_steps=50, pose_prior_weight=0.01, shape_prior_weight=0.01, bend_weight=0.0)
    target = torch.cat([coco, scores[..., None]], dim=-1)
    by_name = fit_to_keypoints(model64, target, INTRINSICS, skeleton_2d="coco", config=config)
    assert by_name.keypoints_3d.shape == (3, 24, 3)
    assert torch.all(by_name.reprojection_error < 1.0), by_name.reprojection_error  # px, 12 joints (from ~10)
    # The same through a PoseSequence (what posekit predict returns), with the skeleton taken from it.
    sequence = PoseSequence(frames=np.arange(3), keypoints=coco.numpy(), scores=scores.numpy(), skeleton="coco")
    from_sequence = fit_to_keypoints(model64, sequence, INTRINSICS, config=config)
    torch.testing.assert_close(from_sequence.reprojection_error, by_name.reprojection_error, atol=1e-3, rtol=1e-3)

    h36m, _ = convert_keypoints(joints, "smpl", "h36m")
    lifted = PoseSequence(
        frames=np.arange(3),
        keypoints=coco.numpy(),
        scores=scores.numpy(),
        skeleton="coco",
        keypoints_3d=h36m.numpy(),
        skeleton_3d="h36m",
    )
    config3d = FittingConfig(steps=60, camera_steps=10, optimizer="lbfgs", pose_prior_weight=1e-3, bend_weight=0.0)
    result = fit_to_keypoints(model64, joints_3d=lifted, config=config3d)
    named = [SMPL_NAMES.index(name) for name in ("pelvis", "left_knee", "right_wrist", "head")]
    error = (result.keypoints_3d[:, named] - joints[:, named]).norm(dim=-1)
    assert float(error.mean()) < 0.01, error  # metres, on joints h36m names (measured 3.9 mm)
    with pytest.raises(ValueError, match=r"keypoints_2d has shape \(3, 24, 3\); expected \(N, 17, 2\) .* 'coco'"):
        fit_to_keypoints(model64, target[:, :, :3].new_zeros(3, 24, 3), INTRINSICS, skeleton_2d="coco")
    with pytest.raises(ValueError, match="joints_3d is a PoseSequence without keypoints_3d"):
        fit_to_keypoints(model64, joints_3d=sequence)
    with pytest.raises(ValueError, match="unknown skeleton 'kinectx'"):
        fit_to_keypoints(model64, target, INTRINSICS, skeleton_2d="kinectx")
