"""LBS: rest pose reproduces the template, rigid chains, gradients, and agreement with smplx where importable."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from posekit.bodymodels import SMPL, load_body_model
from posekit.bodymodels.lbs import kinematic_levels, rigid_transforms
from posekit.geometry.rotations import axis_angle_to_matrix


def test_rest_pose_is_the_shaped_template(model64: SMPL) -> None:
    output = model64()
    np.testing.assert_allclose(output.vertices[0].numpy(), model64.v_template.numpy(), atol=1e-12)
    betas = torch.randn(2, 10, dtype=torch.float64)
    shaped = model64(betas=betas)
    expected = model64.v_template + torch.einsum("bl,vkl->bvk", betas, model64.shapedirs)
    np.testing.assert_allclose(shaped.vertices.numpy(), expected.numpy(), atol=1e-12)
    np.testing.assert_allclose(
        shaped.joints.numpy(), torch.einsum("jv,bvk->bjk", model64.J_regressor, expected).numpy(), atol=1e-12
    )


def test_rigid_chain_matches_joint_by_joint_composition() -> None:
    parents = torch.tensor([-1, 0, 1, 1, 3])
    rotations = axis_angle_to_matrix(torch.randn(2, 5, 3, dtype=torch.float64))
    joints = torch.randn(2, 5, 3, dtype=torch.float64)
    world, relative = rigid_transforms(rotations, joints, parents)
    for batch in range(2):
        expected = []
        for joint in range(5):
            local = torch.eye(4, dtype=torch.float64)
            local[:3, :3] = rotations[batch, joint]
            parent = int(parents[joint])
            local[:3, 3] = joints[batch, joint] - (joints[batch, parent] if parent >= 0 else 0)
            expected.append(local if parent < 0 else expected[parent] @ local)
            torch.testing.assert_close(world[batch, joint], expected[joint])
            moved = relative[batch, joint, :3, :3] @ joints[batch, joint] + relative[batch, joint, :3, 3]
            torch.testing.assert_close(moved, world[batch, joint, :3, 3])
    with pytest.raises(ValueError, match=r"parents\[2\] = 3; expected a parent index in \[0, 1\]"):
        kinematic_levels([-1, 0, 3, 1])


def test_rotation_formats_agree_and_gradients_flow(model64: SMPL) -> None:
    axis_angle = 0.5 * torch.randn(4, 24, 3, dtype=torch.float64)
    matrices = axis_angle_to_matrix(axis_angle)
    six_d = matrices[..., :, :2].reshape(4, 24, 6)
    by_axis = model64(global_orient=axis_angle[:, 0], body_pose=axis_angle[:, 1:].reshape(4, 69))
    by_matrix = model64(global_orient=matrices[:, 0], body_pose=matrices[:, 1:], rotation="matrix")
    by_6d = model64(global_orient=six_d[:, 0], body_pose=six_d[:, 1:], rotation="6d")
    torch.testing.assert_close(by_axis.vertices, by_matrix.vertices)
    torch.testing.assert_close(by_axis.vertices, by_6d.vertices)
    pose = axis_angle[:, 1:].clone().requires_grad_(True)
    betas = torch.zeros(4, 10, dtype=torch.float64, requires_grad=True)
    model64(body_pose=pose, betas=betas).vertices.square().sum().backward()
    assert pose.grad is not None and betas.grad is not None
    assert torch.isfinite(pose.grad).all() and pose.grad.abs().sum() > 0 and betas.grad.abs().sum() > 0


def test_transl_moves_everything(model64: SMPL) -> None:
    transl = torch.tensor([[0.1, -0.2, 3.0]], dtype=torch.float64)
    moved, still = model64(transl=transl), model64()
    torch.testing.assert_close(moved.vertices - still.vertices, transl[:, None].expand(1, 120, 3))
    torch.testing.assert_close(moved.transforms[:, :, :3, 3], moved.joints)


def _smplx() -> object:
    if Path("/work/ref-smplx").is_dir() and "/work/ref-smplx" not in sys.path:
        sys.path.append("/work/ref-smplx")
    return pytest.importorskip("smplx", reason="the smplx reference package is not importable (optional)")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_matches_smplx(tmp_path: Path, model_arrays: dict[str, np.ndarray], dtype: torch.dtype) -> None:
    smplx = _smplx()
    from support.bodymodel_files import write_smplx_pkl

    path = write_smplx_pkl(tmp_path / "SMPL_NEUTRAL.pkl", model_arrays)
    names = ("nose reye leye rear lear rthumb rindex rmiddle rring rpinky lthumb lindex lmiddle lring lpinky "
             "LBigToe LSmallToe LHeel RBigToe RSmallToe RHeel").split()  # fmt: skip
    reference = smplx.SMPL(str(path), dtype=dtype, vertex_ids={name: index for index, name in enumerate(names)})  # type: ignore[attr-defined]
    model = load_body_model(path, dtype=dtype)
    generator = torch.Generator().manual_seed(3)
    axis_angle = 0.6 * torch.randn(8, 24, 3, generator=generator, dtype=dtype)
    betas = torch.randn(8, 10, generator=generator, dtype=dtype)
    transl = torch.randn(8, 3, generator=generator, dtype=dtype)
    matrices = axis_angle_to_matrix(axis_angle)
    expected = reference(
        global_orient=matrices[:, :1], body_pose=matrices[:, 1:], betas=betas, transl=transl, pose2rot=False
    )
    got = model(global_orient=matrices[:, 0], body_pose=matrices[:, 1:], betas=betas, transl=transl, rotation="matrix")
    tolerance = 1e-10 if dtype == torch.float64 else 1e-5
    assert float((got.vertices - expected.vertices).abs().max()) < tolerance
    assert float((got.joints - expected.joints[:, :24]).abs().max()) < tolerance
    # Axis-angle: smplx's batch_rodrigues takes the angle of (v + 1e-8), posekit's Rodrigues is exact;
    # the two differ by ~1e-8 rad, so the float64 bound here is 1e-7 m (measured ~6e-9 m).
    expected = reference(
        global_orient=axis_angle[:, 0], body_pose=axis_angle[:, 1:].reshape(8, 69), betas=betas, transl=transl
    )
    got = model(global_orient=axis_angle[:, 0], body_pose=axis_angle[:, 1:].reshape(8, 69), betas=betas, transl=transl)
    tolerance = 1e-7 if dtype == torch.float64 else 1e-5
    assert float((got.vertices - expected.vertices).abs().max()) < tolerance
    assert float((got.joints - expected.joints[:, :24]).abs().max()) < tolerance
