"""SMPL (Loper et al., SIGGRAPH Asia 2015) and every model in its layout, on one LBS code path.

:class:`SMPL` holds the arrays of a model file (smplx's SMPL layout; see :mod:`posekit.bodymodels.loading`)
as buffers and poses them with :func:`posekit.bodymodels.lbs.linear_blend_skinning`. The same class
serves the official SMPL files and posekit's open body model (which adds UVs, part labels and joint
names), so a VIBE-style prediction (``global_orient``, ``body_pose``, ``betas``) applies to both.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from posekit.bodymodels.base import (
    RODRIGUES_CONVENTIONS,
    BodyModel,
    BodyModelOutput,
    RodriguesConvention,
    RotationFormat,
    prepare_parameters,
)
from posekit.bodymodels.lbs import kinematic_levels, linear_blend_skinning
from posekit.skeletons.definitions import SMPL as SMPL_SKELETON

__all__ = ["SMPL"]


class SMPL(BodyModel):
    """A body model in SMPL's layout: template, shape and pose blend shapes, regressor, skinning weights.

    Args:
        v_template: ``(V, 3)`` mean template, metres.
        shapedirs: ``(V, 3, S_file)`` shape blend shapes.
        posedirs: ``(V, 3, 9*(J-1))`` pose blend shapes (the file layout; stored as ``(P, V*3)``).
        J_regressor: ``(J, V)`` dense joint regressor.
        weights: ``(V, J)`` skinning weights.
        parents: ``(J,)`` parent of each joint, ``-1`` for the root.
        faces: ``(F, 3)`` triangle vertex indices.
        num_betas: shape coefficients to use (``<= S_file``; default all of the file's).
        joint_names: names of the ``J`` joints (default posekit's ``smpl`` skeleton names when ``J == 24``).
        dtype: float32 or float64.
        extras: other arrays of the file kept as numpy (``vt``, ``ft``, ``part_labels``, metadata).
        name: what the model is (for messages and ``repr``).
        rodrigues: axis-angle conversion, ``"smplx"`` (default: smplx's ``batch_rodrigues`` convention,
            angle ``|v + 1e-8|``, so outputs equal smplx's to float rounding) or ``"exact"`` (exact
            Rodrigues; differs by ~1e-8 rad). See :mod:`posekit.bodymodels.base`. The attribute
            ``rodrigues`` may be changed later.

    When every pose blend shape is zero (posekit's open model has none), the pose-blend product is
    skipped: the output is the same (adding zeros), the forward pass cheaper. ``has_pose_blend_shapes``
    says which case holds; it is recomputed when a state dict is loaded.
    """

    v_template: Tensor  # (V, 3)
    shapedirs: Tensor  # (V, 3, S)
    posedirs: Tensor  # (P, V*3)
    J_regressor: Tensor  # (J, V)
    lbs_weights: Tensor  # (V, J)
    parents_tensor: Tensor  # (J,) int64

    def __init__(
        self,
        *,
        v_template: np.ndarray,
        shapedirs: np.ndarray,
        posedirs: np.ndarray,
        J_regressor: np.ndarray,  # noqa: N803 - the file's key
        weights: np.ndarray,
        parents: tuple[int, ...] | list[int] | np.ndarray,
        faces: np.ndarray,
        num_betas: int | None = None,
        joint_names: tuple[str, ...] | None = None,
        dtype: torch.dtype = torch.float32,
        extras: dict[str, Any] | None = None,
        name: str = "SMPL",
        rodrigues: RodriguesConvention = "smplx",
    ) -> None:
        super().__init__()
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype={dtype}; expected torch.float32 or torch.float64")
        if rodrigues not in RODRIGUES_CONVENTIONS:
            raise ValueError(f"rodrigues={rodrigues!r}; expected one of {', '.join(RODRIGUES_CONVENTIONS)}")
        self.rodrigues: RodriguesConvention = rodrigues
        num_vertices = int(v_template.shape[0])
        num_joints = int(J_regressor.shape[0])
        file_betas = int(shapedirs.shape[-1])
        if num_betas is None:
            num_betas = file_betas
        if not 1 <= num_betas <= file_betas:
            raise ValueError(f"num_betas={num_betas}; expected 1..{file_betas} (the model has {file_betas})")
        self.name = name
        self.num_vertices = num_vertices
        self.num_joints = num_joints
        self.num_betas = num_betas
        self.parents = tuple(int(parent) for parent in parents)
        if joint_names is None:
            joint_names = (
                SMPL_SKELETON.keypoint_names
                if num_joints == SMPL_SKELETON.num_keypoints
                else tuple(f"joint_{index}" for index in range(num_joints))
            )
        self.joint_names = tuple(joint_names)
        self.extras: dict[str, Any] = dict(extras or {})
        self._levels = kinematic_levels(self.parents)

        def buffer(array: np.ndarray) -> Tensor:
            return torch.as_tensor(np.ascontiguousarray(array, dtype=np.float64)).to(dtype)

        shapedirs = np.asarray(shapedirs)[:, :, :num_betas]
        self.register_buffer("v_template", buffer(v_template))  # (V, 3)
        self.register_buffer("shapedirs", buffer(shapedirs))  # (V, 3, S)
        num_pose_basis = int(posedirs.shape[-1])
        # (V, 3, P) -> (P, V*3), smplx's posedirs layout.
        self.register_buffer("posedirs", buffer(np.reshape(posedirs, (-1, num_pose_basis)).T))
        self.register_buffer("J_regressor", buffer(J_regressor))  # (J, V)
        self.register_buffer("lbs_weights", buffer(weights))  # (V, J)
        self.register_buffer("parents_tensor", torch.tensor(self.parents, dtype=torch.int64))
        self.register_buffer("faces", torch.as_tensor(np.asarray(faces, dtype=np.int64)))  # (F, 3)
        self.has_pose_blend_shapes = bool(torch.count_nonzero(self.posedirs))

    def _load_from_state_dict(self, *args: Any, **kwargs: Any) -> None:
        super()._load_from_state_dict(*args, **kwargs)
        self.has_pose_blend_shapes = bool(torch.count_nonzero(self.posedirs))

    @property
    def dtype(self) -> torch.dtype:
        """dtype of the model's buffers; parameters must use it."""
        return self.v_template.dtype

    @property
    def device(self) -> torch.device:
        """Device of the model's buffers; parameters must be on it."""
        return self.v_template.device

    def extra_repr(self) -> str:
        return (
            f"name={self.name!r}, vertices={self.num_vertices}, joints={self.num_joints}, betas={self.num_betas}, "
            f"dtype={self.dtype}, rodrigues={self.rodrigues!r}"
        )

    def forward(
        self,
        *,
        global_orient: Tensor | None = None,
        body_pose: Tensor | None = None,
        betas: Tensor | None = None,
        transl: Tensor | None = None,
        rotation: RotationFormat = "axis_angle",
    ) -> BodyModelOutput:
        """Pose and shape the mesh (parameters: :mod:`posekit.bodymodels.base`).

        Returns:
            :class:`~posekit.bodymodels.base.BodyModelOutput` with ``vertices (B, V, 3)``, ``joints
            (B, J, 3)``, ``faces (F, 3)``, ``transforms (B, J, 4, 4)``.
        """
        rotations, betas, transl = prepare_parameters(
            num_joints=self.num_joints,
            num_betas=self.num_betas,
            dtype=self.dtype,
            device=self.device,
            global_orient=global_orient,
            body_pose=body_pose,
            betas=betas,
            transl=transl,
            rotation=rotation,
            rodrigues=self.rodrigues,
        )
        result = linear_blend_skinning(
            betas,
            rotations,
            self.v_template,
            self.shapedirs,
            self.posedirs if self.has_pose_blend_shapes else None,
            self.J_regressor,
            self.parents_tensor,
            self.lbs_weights,
            self._levels,
        )
        vertices, joints, transforms = result.vertices, result.joints, result.transforms
        if transl is not None:
            offset = transl.unsqueeze(1)  # (B, 3) -> (B, 1, 3)
            vertices = vertices + offset
            joints = joints + offset
            transforms = transforms.clone()
            transforms[:, :, :3, 3] = joints
        batch = rotations.shape[0]
        return BodyModelOutput(
            vertices=vertices,
            joints=joints,
            faces=self.faces,
            transforms=transforms,
            rotations=rotations,
            betas=betas.expand(batch, -1),
        )
