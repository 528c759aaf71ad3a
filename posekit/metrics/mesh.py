"""Mesh and 3DPW/VIBE evaluation: PVE, PA-PVE, MPJPE / PA-MPJPE on 14 joints, acceleration errors.

Legend: ``N`` frames (or samples), ``V`` mesh vertices (6890 for SMPL), ``...`` any leading
dimensions. Inputs are numpy arrays or torch tensors in metres (the posekit convention); the
functions return the input's units and kind (torch results keep their graph), and
:func:`evaluate_mesh_sequences` reports millimetres, as VIBE's evaluator does (``m2mm = 1000``).

The 3DPW protocol of VIBE (Kocabas et al., "VIBE: Video Inference for Human Body Pose and Shape
Estimation", CVPR 2020; ``lib/core/evaluate.py`` and ``lib/utils/eval_utils.py``):

* joints: the 14 "common" joints in LSP order (right ankle, knee, hip, left hip, knee, ankle,
  right wrist, elbow, shoulder, left shoulder, elbow, wrist, neck, head top), regressed from the
  mesh with the Human3.6M regressor and ``H36M_TO_J14`` (:func:`posekit.data.threedpw.regress_common14`);
* **MPJPE**: both skeletons moved so that the midpoint of the hips (indices 2 and 3) is at the
  origin, then the mean joint distance (:func:`pelvis_aligned_mpjpe`);
* **PA-MPJPE**: the pelvis-aligned prediction aligned to the target by the best similarity
  transform (Procrustes with scale, no reflection), then the mean distance (:func:`pa_mpjpe`);
* **PVE**: the mean vertex distance without any alignment (:func:`pve`, VIBE ``compute_error_verts``);
  **PA-PVE** aligns the vertices by similarity first (:func:`pa_pve`);
* **acceleration error**: ``|(p[t-1] - 2 p[t] + p[t+1]) - (g[t-1] - 2 g[t] + g[t+1])|`` averaged
  over joints and frames of the pelvis-aligned joints (:func:`acceleration_error`); with a
  per-frame visibility mask the second differences touching an invisible frame are left out
  (VIBE ``compute_error_accel(vis=...)``);
* **acceleration**: the mean norm of the predicted second difference (VIBE ``compute_accel``),
  a smoothness measure that needs no ground truth (:func:`acceleration`).

VIBE concatenates all test sequences before taking second differences, so the two frames at every
sequence boundary enter its acceleration numbers; :func:`evaluate_mesh_sequences` does that when
``sequence_ids`` is None (to reproduce published numbers) and keeps sequences apart when given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from posekit.geometry import array_api as xp
from posekit.geometry.array_api import ArrayT
from posekit.geometry.procrustes import procrustes_align
from posekit.metrics.mpjpe import Reduction, acceleration_error, mpjpe, pve

__all__ = [
    "COMMON14_PELVIS_INDICES",
    "MeshEvaluation",
    "acceleration",
    "acceleration_error",
    "align_by_pelvis",
    "evaluate_mesh_sequences",
    "pa_mpjpe",
    "pa_pve",
    "pelvis_aligned_mpjpe",
    "pve",
]

# Hip indices of the 14 common (LSP-order) joints whose midpoint VIBE calls the pelvis.
COMMON14_PELVIS_INDICES: tuple[int, int] = (2, 3)
_MILLIMETRES_PER_METRE = 1000.0


def _check_joints(name: str, joints: Any, min_ndim: int = 2) -> None:
    if joints.ndim < min_ndim or joints.shape[-1] != 3:
        leading = "N, " if min_ndim >= 3 else ""
        raise ValueError(f"{name} must have shape (..., {leading}K, 3), got {xp.shape_text(joints)}")


def align_by_pelvis(joints: ArrayT, pelvis_indices: tuple[int, int] = COMMON14_PELVIS_INDICES) -> ArrayT:
    """Move joints so that the midpoint of two joints (the hips) is at the origin (VIBE ``align_by_pelvis``).

    Args:
        joints: ``(..., K, 3)`` joints; for the 14 common joints the hips are ``(2, 3)``.
        pelvis_indices: the two joints whose midpoint is the pelvis.

    Returns:
        ``(..., K, 3)`` joints minus the pelvis, same kind as the input.
    """
    values = xp.as_float_array(joints)
    _check_joints("joints", values)
    first, second = pelvis_indices
    count = values.shape[-2]
    if not (-count <= first < count and -count <= second < count):
        raise ValueError(f"pelvis_indices {pelvis_indices} are out of range for {count} joints")
    pelvis = (values[..., first : first + 1, :] + values[..., second : second + 1, :]) / 2.0  # (..., 1, 3)
    return values - pelvis


def pelvis_aligned_mpjpe(
    predicted: ArrayT,
    target: ArrayT,
    pelvis_indices: tuple[int, int] = COMMON14_PELVIS_INDICES,
    reduction: Reduction = "mean",
) -> ArrayT:
    """MPJPE after moving both skeletons' pelvis (hip midpoint) to the origin: VIBE's 3DPW "MPJPE".

    Args:
        predicted: ``(..., K, 3)`` predicted joints (the 14 common joints for 3DPW).
        target: ``(..., K, 3)`` ground-truth joints.
        pelvis_indices: the two hip joints (``(2, 3)`` for the common 14).
        reduction: as :func:`posekit.metrics.mpjpe.mpjpe` (``"per_frame"`` gives VIBE's per-frame errors).

    Returns:
        The error in the input's units, reduced as asked.
    """
    return mpjpe(align_by_pelvis(predicted, pelvis_indices), align_by_pelvis(target, pelvis_indices), reduction)


def pa_mpjpe(predicted: ArrayT, target: ArrayT, reduction: Reduction = "mean") -> ArrayT:
    """Procrustes-aligned MPJPE: similarity alignment (scale, rotation, translation) of each frame, then MPJPE.

    The alignment is :func:`posekit.geometry.procrustes.procrustes_align` (Umeyama 1991, reflections
    excluded), the transform of VIBE's ``batch_compute_similarity_transform_torch``; a translation
    applied beforehand (VIBE's pelvis alignment) does not change the result.

    Args:
        predicted: ``(..., K, 3)`` predicted joints.
        target: ``(..., K, 3)`` ground-truth joints.
        reduction: as :func:`posekit.metrics.mpjpe.mpjpe`.
    """
    prediction, ground_truth = xp.as_float_array(predicted), xp.as_float_array(target)
    _check_joints("predicted", prediction)
    return mpjpe(procrustes_align(prediction, ground_truth), ground_truth, reduction)


def pa_pve(predicted_vertices: ArrayT, target_vertices: ArrayT, reduction: Reduction = "mean") -> ArrayT:
    """Per-vertex error after similarity alignment of each predicted mesh to its target (PA-PVE).

    Args:
        predicted_vertices: ``(..., V, 3)``.
        target_vertices: ``(..., V, 3)``.
        reduction: as :func:`posekit.metrics.mpjpe.mpjpe` (``V`` in place of ``K``).
    """
    prediction, ground_truth = xp.as_float_array(predicted_vertices), xp.as_float_array(target_vertices)
    _check_joints("predicted_vertices", prediction)
    return mpjpe(procrustes_align(prediction, ground_truth), ground_truth, reduction)


def acceleration(joints: ArrayT, reduction: Reduction = "mean") -> ArrayT:
    """Mean magnitude of the second difference ``p[t-1] - 2 p[t] + p[t+1]`` (VIBE ``compute_accel``).

    Args:
        joints: ``(..., N, K, 3)`` joint sequences (at least 3 frames).
        reduction: ``"none"`` gives ``(..., N-2, K)``; ``"per_frame"`` ``(..., N-2)`` (VIBE's output).

    Returns:
        Input units per frame^2, reduced as asked.
    """
    values = xp.as_float_array(joints)
    _check_joints("joints", values, min_ndim=3)
    if values.shape[-3] < 3:
        raise ValueError(f"acceleration needs at least 3 frames, got shape {xp.shape_text(values)}")
    second = xp.diff(xp.diff(values, axis=-3), axis=-3)  # (..., N-2, K, 3)
    return mpjpe(second, xp.zeros_like(second), reduction)


@dataclass(frozen=True)
class MeshEvaluation:
    """The 3DPW/VIBE numbers, in millimetres (accelerations in mm per frame^2).

    Attributes:
        mpjpe: pelvis-aligned MPJPE on the given joints.
        pa_mpjpe: Procrustes-aligned MPJPE.
        acceleration_error: of the pelvis-aligned joints (visible frames only when a mask was given).
        acceleration: of the predicted pelvis-aligned joints.
        pve: per-vertex error without alignment, or None without vertices.
        pa_pve: per-vertex error after similarity alignment, or None without vertices.
        num_frames: frames evaluated.
    """

    mpjpe: float
    pa_mpjpe: float
    acceleration_error: float
    acceleration: float
    pve: float | None
    pa_pve: float | None
    num_frames: int

    def as_dict(self) -> dict[str, float | int | None]:
        """The numbers keyed as VIBE prints them (``mpjpe``, ``pa-mpjpe``, ``pve``, ``accel``, ``accel_err``)."""
        return {
            "mpjpe": self.mpjpe,
            "pa-mpjpe": self.pa_mpjpe,
            "pve": self.pve,
            "pa-pve": self.pa_pve,
            "accel": self.acceleration,
            "accel_err": self.acceleration_error,
            "frames": self.num_frames,
        }


def _segments(sequence_ids: np.ndarray | None, count: int) -> list[np.ndarray]:
    if sequence_ids is None:
        return [np.arange(count)]
    ids = np.asarray(sequence_ids)
    if ids.shape != (count,):
        raise ValueError(f"sequence_ids must have shape ({count},), got {ids.shape}")
    # Runs of equal ids in frame order: each run is one sequence.
    starts = np.concatenate([[0], np.flatnonzero(ids[1:] != ids[:-1]) + 1, [count]])
    return [np.arange(start, end) for start, end in zip(starts[:-1], starts[1:], strict=True)]


def evaluate_mesh_sequences(
    predicted_joints: Any,
    target_joints: Any,
    *,
    predicted_vertices: Any | None = None,
    target_vertices: Any | None = None,
    visible: Any | None = None,
    sequence_ids: Any | None = None,
    pelvis_indices: tuple[int, int] = COMMON14_PELVIS_INDICES,
) -> MeshEvaluation:
    """VIBE's 3DPW evaluation of frames in sequence order, in millimetres.

    Args:
        predicted_joints: ``(N, K, 3)`` metres, the 14 common joints for 3DPW.
        target_joints: ``(N, K, 3)`` metres.
        predicted_vertices: ``(N, V, 3)`` metres, or None (no PVE).
        target_vertices: ``(N, V, 3)`` metres, or None.
        visible: ``(N,)`` per-frame visibility for the acceleration error, or None (all visible, as
            VIBE's evaluator calls it).
        sequence_ids: ``(N,)`` sequence of each frame (runs of one id are one sequence), or None to
            take second differences across the whole concatenation as VIBE does.
        pelvis_indices: the two hip joints.

    Returns:
        The numbers as a :class:`MeshEvaluation`; each is a mean over frames (and joints/vertices).
    """
    predicted = xp.to_numpy(predicted_joints).astype(np.float64)
    target = xp.to_numpy(target_joints).astype(np.float64)
    if predicted.ndim != 3 or predicted.shape != target.shape or predicted.shape[-1] != 3:
        raise ValueError(
            f"predicted_joints and target_joints must both have shape (N, K, 3), got {predicted.shape} and "
            f"{target.shape}"
        )
    count = predicted.shape[0]
    predicted = align_by_pelvis(predicted, pelvis_indices)
    target = align_by_pelvis(target, pelvis_indices)
    visibility = None if visible is None else xp.to_numpy(visible).astype(bool).reshape(-1)
    if visibility is not None and visibility.shape != (count,):
        raise ValueError(f"visible must have shape ({count},), got {visibility.shape}")
    acceleration_errors: list[np.ndarray] = []
    accelerations: list[np.ndarray] = []
    for frames in _segments(None if sequence_ids is None else xp.to_numpy(sequence_ids), count):
        if len(frames) < 3:
            continue
        mask = None if visibility is None else visibility[frames]
        per_frame = acceleration_error(predicted[frames], target[frames], visible=mask, reduction="per_frame")
        acceleration_errors.append(per_frame[np.isfinite(per_frame)])
        accelerations.append(acceleration(predicted[frames], reduction="per_frame"))
    vertex_error = vertex_error_aligned = None
    if (predicted_vertices is None) != (target_vertices is None):
        raise ValueError("give both predicted_vertices and target_vertices, or neither")
    if predicted_vertices is not None:
        vertices = xp.to_numpy(predicted_vertices).astype(np.float64)
        vertices_target = xp.to_numpy(target_vertices).astype(np.float64)
        if vertices.ndim != 3 or vertices.shape != vertices_target.shape or vertices.shape[0] != count:
            raise ValueError(
                f"predicted_vertices and target_vertices must both have shape ({count}, V, 3), got "
                f"{vertices.shape} and {vertices_target.shape}"
            )
        vertex_error = float(pve(vertices, vertices_target)) * _MILLIMETRES_PER_METRE
        vertex_error_aligned = float(pa_pve(vertices, vertices_target)) * _MILLIMETRES_PER_METRE

    def mean_of(parts: list[np.ndarray]) -> float:
        values = np.concatenate(parts) if parts else np.zeros(0)
        return float(values.mean()) * _MILLIMETRES_PER_METRE if values.size else float("nan")

    return MeshEvaluation(
        mpjpe=float(mpjpe(predicted, target)) * _MILLIMETRES_PER_METRE,
        pa_mpjpe=float(pa_mpjpe(predicted, target)) * _MILLIMETRES_PER_METRE,
        acceleration_error=mean_of(acceleration_errors),
        acceleration=mean_of(accelerations),
        pve=vertex_error,
        pa_pve=vertex_error_aligned,
        num_frames=count,
    )
