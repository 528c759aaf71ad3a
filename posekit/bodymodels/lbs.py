"""Linear blend skinning with shape and pose blend shapes (Loper et al., "SMPL", SIGGRAPH Asia 2015, Sec. 3).

The model of the paper (Eq. 2-4, 6): the rest mesh ``T(beta, theta) = T_bar + B_S(beta) + B_P(theta)``
with shape blend shapes ``B_S = sum_l beta_l S_l`` and pose blend shapes ``B_P = sum_n (R_n(theta) -
R_n(theta*)) P_n`` over the 9 (J - 1) entries of the non-root joint rotations minus the identity;
joints regressed from the *shaped* mesh ``J(beta) = J_reg (T_bar + B_S)``; every vertex moved by the
weighted sum of the joints' rigid transforms relative to the rest pose.

The order of operations is smplx's ``lbs.py`` (shape blend, joint regression, pose feature, pose
blend, rigid chain, skinning), so results agree with smplx to float rounding (the benchmark and
``tests/bodymodels/test_lbs.py`` measure it). The steps are organised for speed, not changed in
what they compute: everything runs vertex-major (``(V*3, B)``), so the shape and pose blends are one
GEMM each with the addition fused in (``addmm``), the kinematic chain is composed one tree level at a
time (all joints of a depth in one batched product) instead of joint by joint, and skinning blends the
``3 x 4`` transforms of the whole batch in one GEMM and applies them with three multiply-adds over
contiguous rows instead of ``B * V`` homogeneous ``4 x 4`` products.

Legend: ``B`` batch, ``V`` vertices, ``J`` joints (root first, parents before children), ``S`` shape
coefficients, ``P = 9 (J - 1)`` pose-blend coefficients. Lengths in metres, rotations as matrices
(``posekit.geometry.rotations`` converts axis-angle and 6D before this point). Pure functions; every
tensor must share one dtype and device; differentiable.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = [
    "LBSResult",
    "blend_shapes",
    "kinematic_levels",
    "linear_blend_skinning",
    "rigid_transforms",
    "vertices_to_joints",
]


@dataclass
class LBSResult:
    """What :func:`linear_blend_skinning` computes.

    Attributes:
        vertices: ``(B, V, 3)`` posed vertices.
        joints: ``(B, J, 3)`` posed joint locations.
        transforms: ``(B, J, 4, 4)`` each joint's posed world transform (rotation composed along the
            chain, translation = the posed joint location).
        shaped_vertices: ``(B, V, 3)`` the rest-pose mesh with shape blend shapes (``v_shaped``).
        rest_joints: ``(B, J, 3)`` joints regressed from ``shaped_vertices``.
    """

    vertices: Tensor
    joints: Tensor
    transforms: Tensor
    shaped_vertices: Tensor
    rest_joints: Tensor


def blend_shapes(betas: Tensor, shape_directions: Tensor) -> Tensor:
    """Per-vertex displacement of the shape blend shapes, ``B_S(beta)`` (SMPL Eq. 8).

    Args:
        betas: ``(B, S)`` shape coefficients.
        shape_directions: ``(V, 3, S)`` shape blend shapes (smplx's ``shapedirs``), or the same
            flattened and transposed as ``(S, V*3)``.

    Returns:
        ``(B, V, 3)`` displacements.
    """
    if shape_directions.dim() == 3:
        return torch.einsum("bl,mkl->bmk", betas, shape_directions)  # (B, S) x (V, 3, S) -> (B, V, 3)
    return torch.matmul(betas, shape_directions).view(betas.shape[0], -1, 3)  # (B, S) @ (S, V*3) -> (B, V, 3)


def vertices_to_joints(regressor: Tensor, vertices: Tensor) -> Tensor:
    """Joints as fixed linear combinations of vertices (SMPL Eq. 10).

    Args:
        regressor: ``(K, V)`` joint regressor (rows usually sum to 1).
        vertices: ``(B, V, 3)``.

    Returns:
        ``(B, K, 3)`` joints.
    """
    return torch.einsum("bik,ji->bjk", vertices, regressor)  # (B, V, 3) x (K, V) -> (B, K, 3)


def kinematic_levels(parents: Tensor | list[int] | tuple[int, ...]) -> list[tuple[Tensor, Tensor]]:
    """Group the non-root joints by depth in the tree, for level-by-level composition.

    Args:
        parents: ``(J,)`` parent index of each joint, ``-1`` for the root (joint 0); parents come
            before their children.

    Returns:
        One ``(joint indices, their parents)`` pair of int64 tensors per depth 1, 2, ...

    Raises:
        ValueError: joint 0 is not the only root, or a parent does not come before its child.
    """
    parent_list = [int(parent) for parent in (parents.tolist() if isinstance(parents, Tensor) else parents)]
    if not parent_list or parent_list[0] != -1:
        raise ValueError(f"parents must start with -1 for the root joint 0, got {parent_list[:3]}...")
    depth = [0] * len(parent_list)
    for joint, parent in enumerate(parent_list[1:], start=1):
        if not 0 <= parent < joint:
            raise ValueError(f"parents[{joint}] = {parent}; expected a parent index in [0, {joint - 1}]")
        depth[joint] = depth[parent] + 1
    levels: list[tuple[Tensor, Tensor]] = []
    for level in range(1, max(depth) + 1):
        joints = [joint for joint in range(len(parent_list)) if depth[joint] == level]
        levels.append((torch.tensor(joints), torch.tensor([parent_list[joint] for joint in joints])))
    return levels


def rigid_transforms(
    rotations: Tensor,
    joints: Tensor,
    parents: Tensor,
    levels: list[tuple[Tensor, Tensor]] | None = None,
) -> tuple[Tensor, Tensor]:
    """Compose local joint rotations along the kinematic tree (smplx ``batch_rigid_transform``).

    Each joint's local transform rotates about the joint by ``rotations[:, j]`` and translates by its
    rest offset from the parent; world transforms are the products from the root down.

    Args:
        rotations: ``(B, J, 3, 3)`` local rotation of each joint (the root's is the global orientation).
        joints: ``(B, J, 3)`` rest joint locations.
        parents: ``(J,)`` int64 parent indices (``-1`` for the root).
        levels: :func:`kinematic_levels` of ``parents`` (computed when not given; models cache it).

    Returns:
        ``(world (B, J, 4, 4), relative (B, J, 4, 4))``: the posed world transform of every joint
        (its translation is the posed joint location), and the same with the rest location removed
        (``world @ [I, -j_rest; 0, 1]``), which moves rest-pose vertices to posed ones.
    """
    batch, num_joints = joints.shape[:2]
    if levels is None:
        levels = kinematic_levels(parents)
    offsets = joints.clone()  # (B, J, 3)
    offsets[:, 1:] -= joints[:, parents[1:]]
    # Local transforms [R_j | t_j; 0 0 0 1], (B, J, 4, 4).
    local = torch.zeros(batch, num_joints, 4, 4, dtype=joints.dtype, device=joints.device)
    local[:, :, :3, :3] = rotations
    local[:, :, :3, 3] = offsets
    local[:, :, 3, 3] = 1.0
    world = local.clone()
    for children, child_parents in levels:
        children = children.to(joints.device)
        world[:, children] = torch.matmul(world[:, child_parents.to(joints.device)], local[:, children])
    # relative = world - [0 | world_R @ j_rest]: (B, J, 3, 3) @ (B, J, 3, 1) -> (B, J, 3)
    rest_moved = torch.matmul(world[:, :, :3, :3], joints.unsqueeze(-1)).squeeze(-1)
    relative = world.clone()
    relative[:, :, :3, 3] = world[:, :, :3, 3] - rest_moved
    return world, relative


def linear_blend_skinning(
    betas: Tensor,
    rotations: Tensor,
    template: Tensor,
    shape_directions: Tensor,
    pose_directions: Tensor | None,
    joint_regressor: Tensor,
    parents: Tensor,
    skinning_weights: Tensor,
    levels: list[tuple[Tensor, Tensor]] | None = None,
) -> LBSResult:
    """Pose and shape a body mesh (smplx ``lbs`` with rotation matrices; SMPL Eq. 2-7).

    Args:
        betas: ``(B, S)`` shape coefficients.
        rotations: ``(B, J, 3, 3)`` local joint rotations (root = global orientation).
        template: ``(V, 3)`` mean template ``T_bar``.
        shape_directions: ``(V, 3, S)`` shape blend shapes (smplx's ``shapedirs``).
        pose_directions: ``(P, V*3)`` pose blend shapes, ``P = 9 (J - 1)`` (smplx's ``posedirs``
            layout, transposed from the file's ``(V, 3, P)``), or None for a model without pose blend
            shapes (the same result as all-zero directions, without the ``(V*3, P) @ (P, B)`` product).
        joint_regressor: ``(J, V)`` dense regressor of the kinematic joints.
        parents: ``(J,)`` int64 parent indices (``-1`` for the root).
        skinning_weights: ``(V, J)`` blend weights (rows sum to 1).
        levels: :func:`kinematic_levels` of ``parents`` (cached by the model).

    Returns:
        :class:`LBSResult` (no translation applied).
    """
    batch = max(betas.shape[0], rotations.shape[0])
    if betas.shape[0] != batch:
        betas = betas.expand(batch, -1)
    num_vertices = template.shape[0]
    num_joints = joint_regressor.shape[0]
    # Vertex-major ("vm") layout (V*3, B): every GEMM below then writes rows the next step reads
    # contiguously, and the final per-vertex products run over B-long contiguous rows.
    shape_basis = shape_directions.reshape(num_vertices * 3, -1)  # (V, 3, S) -> (V*3, S), a view
    # T_bar + B_S in one GEMM: (V*3, 1) + (V*3, S) @ (S, B) -> (V*3, B)
    shaped_vm = torch.addmm(template.reshape(-1, 1), shape_basis, betas.t())
    # J(beta): (J, V) @ (V, 3*B) -> (J, 3, B) -> (B, J, 3)
    rest_joints = torch.matmul(joint_regressor, shaped_vm.view(num_vertices, 3 * batch))
    rest_joints = rest_joints.view(num_joints, 3, batch).permute(2, 0, 1)
    if pose_directions is None:
        posed_vm = shaped_vm  # no pose blend shapes: B_P = 0
    else:
        identity = torch.eye(3, dtype=rotations.dtype, device=rotations.device)
        pose_feature = (rotations[:, 1:] - identity).reshape(batch, -1)  # (B, J-1, 3, 3) -> (B, P)
        # v_shaped + B_P in one GEMM: (V*3, B) + (V*3, P) @ (P, B) -> (V*3, B)
        posed_vm = torch.addmm(shaped_vm, pose_directions.t(), pose_feature.t())
    world, relative = rigid_transforms(rotations, rest_joints, parents, levels)
    # Blend the top 3x4 blocks of the relative transforms, the whole batch in one GEMM:
    # (B, J, 3, 4) -> (J, 3, 4, B) -> (J, 12*B); (V, J) @ (J, 12*B) -> (V, 3, 4, B).
    blocks = relative[:, :, :3, :].permute(1, 2, 3, 0).reshape(num_joints, 12 * batch)
    blended = torch.matmul(skinning_weights, blocks).view(num_vertices, 3, 4, batch)
    points = posed_vm.view(num_vertices, 3, batch)  # (V, 3, B)
    # x'_i = sum_k A_ik x_k + A_i3, three multiply-adds over (V, 3, B).
    moved = blended[:, :, 3] + blended[:, :, 0] * points[:, None, 0]
    moved = torch.addcmul(moved, blended[:, :, 1], points[:, None, 1])
    moved = torch.addcmul(moved, blended[:, :, 2], points[:, None, 2])
    vertices = moved.permute(2, 0, 1).contiguous()  # (V, 3, B) -> (B, V, 3)
    shaped = shaped_vm.view(num_vertices, 3, batch).permute(2, 0, 1)  # (B, V, 3), a view
    return LBSResult(
        vertices=vertices,
        joints=world[:, :, :3, 3],
        transforms=world,
        shaped_vertices=shaped,
        rest_joints=rest_joints,
    )
