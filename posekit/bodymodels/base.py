"""The interface every posekit body model has: named parameters in, a typed mesh out.

Parameters (``B`` batch, ``J`` joints of the model including the root, ``S`` its shape coefficients):

* ``global_orient``: the root rotation; ``body_pose``: the ``J - 1`` other joints' rotations relative
  to their parents, in kinematic-tree order. With ``rotation="axis_angle"`` they are ``(B, 3)`` and
  ``(B, (J-1)*3)`` or ``(B, J-1, 3)`` (radians); ``"matrix"``: ``(B, 3, 3)`` (or ``(B, 1, 3, 3)``) and
  ``(B, J-1, 3, 3)``; ``"6d"``: ``(B, 6)`` and ``(B, (J-1)*6)`` or ``(B, J-1, 6)`` (the layout of
  :func:`posekit.geometry.rotations.rotation_6d_to_matrix`, as SPIN/VIBE predict it).
* ``betas``: ``(B, S')`` shape coefficients, ``S' <= S`` (missing trailing coefficients are zero);
  a batch of 1 broadcasts.
* ``transl``: ``(B, 3)`` translation in metres, added to vertices and joints.

Axis-angle conversion (``rodrigues``): ``"smplx"`` (the default) follows smplx's ``batch_rodrigues``
convention, which takes the rotation angle as ``|v + 1e-8|`` (the norm of the vector with ``1e-8``
added to each component) and the axis as ``v / |v + 1e-8|``, so that the zero vector needs no special
case; posekit then gives smplx's vertices to float rounding (< 1e-10 m in float64) for the same
axis-angle parameters. ``"exact"`` uses :func:`posekit.geometry.rotations.axis_angle_to_matrix`
(exact Rodrigues); the two differ by about 1e-8 rad per joint (measured 6.8e-9 m on SMPL-size
meshes in float64, below float32 resolution).

Omitted parameters are zero (identity rotations, mean shape, no translation). All given tensors share
the model's dtype and device and one batch size; a wrong shape, dtype, device or a NaN/inf value
raises one ``ValueError`` sentence naming the parameter and what was expected.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from posekit.geometry.rotations import axis_angle_to_matrix, rotation_6d_to_matrix

__all__ = [
    "RODRIGUES_CONVENTIONS",
    "ROTATION_FORMATS",
    "BodyModel",
    "BodyModelOutput",
    "RodriguesConvention",
    "RotationFormat",
    "prepare_parameters",
    "smplx_axis_angle_to_matrix",
]

RotationFormat = Literal["axis_angle", "matrix", "6d"]
ROTATION_FORMATS: tuple[str, ...] = ("axis_angle", "matrix", "6d")
RodriguesConvention = Literal["smplx", "exact"]
RODRIGUES_CONVENTIONS: tuple[str, ...] = ("smplx", "exact")
_ROTATION_SIZE = {"axis_angle": 3, "6d": 6}


@dataclass
class BodyModelOutput:
    """A posed, shaped body mesh for a batch.

    Attributes:
        vertices: ``(B, V, 3)`` vertices, metres, translation applied.
        joints: ``(B, J, 3)`` the model's kinematic joints (SMPL: the 24 of ``posekit``'s ``smpl``
            skeleton), translation applied.
        faces: ``(F, 3)`` int64 vertex indices of the triangles (shared by the batch).
        transforms: ``(B, J, 4, 4)`` each joint's posed world transform: rotation composed along the
            chain, translation = the joint's posed location (translation applied).
        rotations: ``(B, J, 3, 3)`` the local joint rotations that were applied.
        betas: ``(B, S)`` the shape coefficients used (zero-padded to the model's ``S``).
    """

    vertices: Tensor
    joints: Tensor
    faces: Tensor
    transforms: Tensor
    rotations: Tensor
    betas: Tensor


class BodyModel(nn.Module, abc.ABC):
    """Base class of body models: ``model(global_orient=..., body_pose=..., betas=..., transl=...)``.

    Subclasses set ``num_joints``, ``num_vertices``, ``num_betas``, ``joint_names``, ``parents`` and the
    ``faces`` buffer, and implement :meth:`forward` (``prepare_parameters`` does the checking).
    """

    num_joints: int
    num_vertices: int
    num_betas: int
    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    faces: Tensor

    @abc.abstractmethod
    def forward(
        self,
        *,
        global_orient: Tensor | None = None,
        body_pose: Tensor | None = None,
        betas: Tensor | None = None,
        transl: Tensor | None = None,
        rotation: RotationFormat = "axis_angle",
    ) -> BodyModelOutput:
        """Pose and shape the mesh; see the module docstring for the parameters."""
        raise NotImplementedError


def _check_tensor(value: object, name: str, dtype: torch.dtype, device: torch.device) -> Tensor:
    if not isinstance(value, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of dtype {dtype}, got {type(value).__name__}")
    if value.dtype != dtype:
        raise ValueError(f"{name} has dtype {value.dtype}; expected the model's {dtype} (convert it, or call model.to)")
    if value.device != device:
        raise ValueError(f"{name} is on {value.device}; expected the model's device {device}")
    return value


def _check_finite(value: Tensor, name: str) -> None:
    if not bool(torch.isfinite(value).all()):
        raise ValueError(f"{name} holds NaN or infinite values; expected finite numbers")


def smplx_axis_angle_to_matrix(axis_angle: Tensor, epsilon: float = 1e-8) -> Tensor:
    """Rotation matrices from axis-angle vectors in smplx's ``batch_rodrigues`` convention.

    Rodrigues' formula ``R = I + sin(a) K + (1 - cos(a)) K^2`` with ``K`` the cross-product matrix
    of the unit axis ``u``, where the angle is taken as ``a = |v + epsilon|`` (``epsilon`` added to
    every component before the norm) and ``u = v / a``. This biases the angle by about ``epsilon``
    radians (so ``R`` is not exactly orthonormal at the 1e-8 level) but needs no branch at ``v = 0``
    and matches smplx to float rounding.

    Args:
        axis_angle: ``(..., 3)`` axis times angle, radians.
        epsilon: the per-component offset smplx adds (``1e-8``).

    Returns:
        ``(..., 3, 3)`` rotation matrices of the input's dtype and device.
    """
    angle = torch.linalg.vector_norm(axis_angle + epsilon, dim=-1, keepdim=True)  # (..., 1)
    axis = axis_angle / angle  # (..., 3)
    cos, sin = torch.cos(angle)[..., None], torch.sin(angle)[..., None]  # (..., 1, 1)
    x, y, z = axis.unbind(dim=-1)
    zero = torch.zeros_like(x)
    cross = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], dim=-1).reshape(*axis.shape[:-1], 3, 3)
    identity = torch.eye(3, dtype=axis_angle.dtype, device=axis_angle.device)
    return identity + sin * cross + (1.0 - cos) * torch.matmul(cross, cross)


def _rotations(value: Tensor, name: str, count: int, rotation: str, rodrigues: str = "smplx") -> Tensor:
    """``(B, count, 3, 3)`` matrices from one of the accepted layouts of ``rotation``."""
    shape = tuple(value.shape)
    if rotation == "matrix":
        if count == 1 and len(shape) == 3 and shape[1:] == (3, 3):
            return value.unsqueeze(1)
        if len(shape) == 4 and shape[1:] == (count, 3, 3):
            return value
        expected = "(B, 3, 3) or (B, 1, 3, 3)" if count == 1 else f"(B, {count}, 3, 3)"
    else:
        size = _ROTATION_SIZE[rotation]
        if len(shape) == 2 and shape[1] == count * size:
            value = value.reshape(shape[0], count, size)  # (B, count*size) -> (B, count, size)
        elif not (len(shape) == 3 and shape[1:] == (count, size)):
            expected = f"(B, {count * size})" if count == 1 else f"(B, {count * size}) or (B, {count}, {size})"
            raise ValueError(f"{name} has shape {shape}; expected {expected} for rotation={rotation!r}")
        if rotation == "6d":
            return rotation_6d_to_matrix(value)
        return smplx_axis_angle_to_matrix(value) if rodrigues == "smplx" else axis_angle_to_matrix(value)
    raise ValueError(f"{name} has shape {shape}; expected {expected} for rotation={rotation!r}")


def prepare_parameters(
    *,
    num_joints: int,
    num_betas: int,
    dtype: torch.dtype,
    device: torch.device,
    global_orient: Tensor | None,
    body_pose: Tensor | None,
    betas: Tensor | None,
    transl: Tensor | None,
    rotation: str,
    rodrigues: str = "smplx",
) -> tuple[Tensor, Tensor, Tensor | None]:
    """Check the named parameters and bring them to ``(rotations, betas, transl)``.

    ``rodrigues`` (``"smplx"`` or ``"exact"``) chooses the axis-angle conversion (module docstring).

    Returns:
        ``rotations (B, J, 3, 3)`` (root first), ``betas (B or 1, num_betas)``, ``transl (B, 3)`` or None.

    Raises:
        ValueError: unknown ``rotation``, or a parameter of the wrong type, dtype, device, shape or
            batch size, or holding NaN/inf (the message names it and the expected shape).
    """
    if rotation not in ROTATION_FORMATS:
        raise ValueError(f"rotation={rotation!r}; expected one of {', '.join(ROTATION_FORMATS)}")
    if rodrigues not in RODRIGUES_CONVENTIONS:
        raise ValueError(f"rodrigues={rodrigues!r}; expected one of {', '.join(RODRIGUES_CONVENTIONS)}")
    given = {"global_orient": global_orient, "body_pose": body_pose, "betas": betas, "transl": transl}
    batch_sizes: dict[str, int] = {}
    for name, value in given.items():
        if value is None:
            continue
        value = _check_tensor(value, name, dtype, device)
        if value.dim() < 2:
            raise ValueError(f"{name} has shape {tuple(value.shape)}; expected a leading batch dimension (B, ...)")
        _check_finite(value, name)
        batch_sizes[name] = int(value.shape[0])
    pose_batches = {size for name, size in batch_sizes.items() if name != "betas"}
    if len(pose_batches) > 1:
        raise ValueError(f"the parameters have different batch sizes {batch_sizes}; expected one batch size B")
    batch = pose_batches.pop() if pose_batches else batch_sizes.get("betas", 1)
    if "betas" in batch_sizes and batch_sizes["betas"] not in (1, batch):
        raise ValueError(f"betas has batch size {batch_sizes['betas']}; expected {batch} (or 1 to share one shape)")

    if global_orient is None:
        root = torch.eye(3, dtype=dtype, device=device).expand(batch, 1, 3, 3)
    else:
        root = _rotations(global_orient, "global_orient", 1, rotation, rodrigues)
    if body_pose is None:
        rest = torch.eye(3, dtype=dtype, device=device).expand(batch, num_joints - 1, 3, 3)
    else:
        rest = _rotations(body_pose, "body_pose", num_joints - 1, rotation, rodrigues)
    rotations = torch.cat([root, rest], dim=1)  # (B, J, 3, 3)

    if betas is None:
        betas = torch.zeros(1, num_betas, dtype=dtype, device=device)
    else:
        if betas.dim() != 2 or betas.shape[1] > num_betas:
            raise ValueError(f"betas has shape {tuple(betas.shape)}; expected (B, S) with S <= {num_betas}")
        if betas.shape[1] < num_betas:
            betas = torch.nn.functional.pad(betas, (0, num_betas - betas.shape[1]))
    if transl is not None and (transl.dim() != 2 or transl.shape[1] != 3):
        raise ValueError(f"transl has shape {tuple(transl.shape)}; expected (B, 3)")
    return rotations, betas, transl
