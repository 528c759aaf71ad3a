"""The lift3d task's losses: the semi-supervised loss computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posekit.data.h36m import h36m_cameras
from posekit.geometry import project_to_2d
from posekit.models.lift3d import TemporalModel
from posekit.skeletons import H36M
from posekit.tasks.lift3d import LiftingTrainModule, semi_supervised_loss


def test_semi_supervised_loss_by_hand() -> None:
    torch.manual_seed(0)
    pose = TemporalModel(17, 2, 17, [3], dropout=0.0, channels=8).eval()
    trajectory = TemporalModel(17, 2, 1, [3], dropout=0.0, channels=8).eval()
    with torch.no_grad():
        trajectory.shrink.bias.copy_(torch.tensor([0.1, -0.2, 4.0]))  # roots in front of the camera
    module = LiftingTrainModule(pose, trajectory)
    labelled = {"keypoints_2d": torch.randn(2, 3, 17, 2) * 0.2, "positions_3d": torch.randn(2, 1, 17, 3) * 0.3}
    labelled["positions_3d"][:, :, 0] = torch.tensor([0.2, 0.1, 5.0])
    camera = torch.tensor(h36m_cameras("S9")[1].normalized_intrinsics(), dtype=torch.float32)
    unlabelled = {"keypoints_2d": torch.randn(3, 3, 17, 2) * 0.2, "intrinsics": camera.repeat(3, 1)}
    batch = {"labelled": labelled, "unlabelled": unlabelled}
    terms = semi_supervised_loss(module, batch, pad=1, causal_shift=0, parents=H36M.parents, warmup=False)

    inputs = torch.cat([labelled["keypoints_2d"], unlabelled["keypoints_2d"]])
    with torch.no_grad():
        predicted, root = pose(inputs).double(), trajectory(inputs).double()
    target = labelled["positions_3d"].double() - labelled["positions_3d"][:, :, :1].double()
    expected_3d = torch.linalg.norm(predicted[:2] - target, dim=-1).mean()
    true_root = labelled["positions_3d"][:, :, :1].double()
    expected_trajectory = (torch.linalg.norm(root[:2] - true_root, dim=-1) / true_root[..., 2]).mean()
    # Projection: posekit.geometry.project_to_2d, and the H36M distortion model written out here.
    reprojection = project_to_2d(predicted[2:] + root[2:], unlabelled["intrinsics"].double())
    points = (predicted[2:] + root[2:]).numpy()
    xy = np.clip(points[..., :2] / points[..., 2:], -1, 1)
    fx, fy, cx, cy, k1, k2, k3, p1, p2 = camera.double().numpy()
    r2 = (xy**2).sum(-1, keepdims=True)
    radial = 1 + k1 * r2 + k2 * r2**2 + k3 * r2**3
    tangential = p1 * xy[..., :1] + p2 * xy[..., 1:]
    by_hand = (xy * (radial + tangential) + np.array([p1, p2]) * r2) * np.array([fx, fy]) + np.array([cx, cy])
    np.testing.assert_allclose(reprojection.numpy(), by_hand, atol=1e-9)
    expected_projection = np.linalg.norm(by_hand - unlabelled["keypoints_2d"][:, 1:2].double().numpy(), axis=-1).mean()
    # Bone lengths: mean over the labelled / unlabelled predictions, absolute difference per bone.
    pose_numpy = predicted.numpy()
    bones = [
        np.linalg.norm(pose_numpy[:, :, j] - pose_numpy[:, :, p], axis=-1) for j, p in enumerate(H36M.parents) if p >= 0
    ]
    lengths = np.stack(bones, axis=-1).mean(axis=1)  # (B, 16)
    expected_bones = np.abs(lengths[:2].mean(0) - lengths[2:].mean(0)).mean()
    assert float(terms["mpjpe"]) == pytest.approx(float(expected_3d), rel=1e-5)
    assert float(terms["trajectory"]) == pytest.approx(float(expected_trajectory), rel=1e-5)
    assert float(terms["projection"]) == pytest.approx(float(expected_projection), rel=1e-5)
    assert float(terms["bone_length"]) == pytest.approx(float(expected_bones), rel=1e-4)
    total = expected_3d + expected_trajectory + expected_projection + expected_bones
    assert float(terms["loss"].detach()) == pytest.approx(float(total), rel=1e-5)
    terms["loss"].backward()
    assert pose.expand_conv.weight.grad is not None and trajectory.expand_conv.weight.grad is not None
    warm = semi_supervised_loss(module, batch, pad=1, causal_shift=0, parents=H36M.parents, warmup=True)
    assert float(warm["projection"]) == 0 and float(warm["loss"].detach()) == pytest.approx(
        float(expected_3d + expected_trajectory), rel=1e-4
    )
