"""Retarget DeepMimic motion capture (named 3D points) onto a 24-joint SMPL-order body model.

The clips of :mod:`posekit.data.mocap` are joint *positions* (the quaternions are consumed by
forward kinematics), so the retargeting solves **bone directions**: for every body-model joint a
global rotation is chosen that turns the model's rest-pose bones (at the person's own betas) onto
the directions of the corresponding mocap bones, and the local rotations are
``L_j = G_parent(j)^T G_j`` (axis-angle in ``body_pose``, ``G_pelvis`` in ``global_orient``).

Per joint (rest model frame: y up, +z forward, left +x; mocap frame: y up, +x forward, left -z;
the frame change is absorbed in ``global_orient``):

* pelvis: Kabsch fit of the three rest vectors pelvis->left hip, pelvis->right hip, pelvis->neck
  onto root->left_hip, root->right_hip, root->neck (unit vectors);
* spine1, spine2, spine3: the chest frame (Kabsch of spine3->neck, spine3->left/right shoulder onto
  the mocap's neck-chest, shoulder-chest vectors) relative to the pelvis, split into three equal
  rotations (same axis, a third of the angle each);
* neck: the neck->head bone onto neck->head_center, its twist from the face direction (rest +z onto
  head_center->nose); head, collars, wrists, hands, feet: identity (the mocap has no information);
* hips and shoulders: the limb's upper bone exactly onto the mocap's, the twist from the bend plane
  (the lower bone's component perpendicular to the upper, with a small share of the parent's
  transported rest hint: forward for arms, backward for legs, so straight limbs stay defined);
* knees, elbows, ankles: the smallest rotation (swing) turning the transported rest bone onto the
  mocap bone (knee->ankle, elbow->wrist, ankle->foot_index).

Bone *directions* of every solved bone match the mocap's to rounding (:func:`retarget_errors`
measures the angle); joint *positions* differ by the bone-length difference between the 1.7 m
DeepMimic humanoid and the body model at the person's betas (measured in ``benchmarks/bench_synthetic.py
--mesh``). The pelvis joint is placed at the mocap root.

Legend: ``T`` frames, ``P`` named points, ``J = 24`` joints. Metres.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from posekit.geometry import axis_angle_to_matrix, matrix_to_axis_angle
from posekit.skeletons.definitions import SMPL

__all__ = ["RetargetResult", "retarget_errors", "retarget_points"]

SMPL_NAMES: tuple[str, ...] = SMPL.keypoint_names
_J = {name: index for index, name in enumerate(SMPL_NAMES)}
# SMPL joint -> mocap point at the same place (used for the joint-position error).
CORRESPONDENCES: dict[str, str] = {
    "pelvis": "root",
    "left_hip": "left_hip",
    "right_hip": "right_hip",
    "left_knee": "left_knee",
    "right_knee": "right_knee",
    "left_ankle": "left_ankle",
    "right_ankle": "right_ankle",
    "neck": "neck",
    "head": "head_center",
    "left_shoulder": "left_shoulder",
    "right_shoulder": "right_shoulder",
    "left_elbow": "left_elbow",
    "right_elbow": "right_elbow",
    "left_wrist": "left_wrist",
    "right_wrist": "right_wrist",
}
# Bones whose direction the solve matches: (SMPL from, SMPL to, mocap from, mocap to).
SOLVED_BONES: tuple[tuple[str, str, str, str], ...] = tuple(
    (f"{side}_{a}", f"{side}_{b}", f"{side}_{c}", f"{side}_{d}")
    for side in ("left", "right")
    for a, b, c, d in (
        ("hip", "knee", "hip", "knee"),
        ("knee", "ankle", "knee", "ankle"),
        ("shoulder", "elbow", "shoulder", "elbow"),
        ("elbow", "wrist", "elbow", "wrist"),
        ("ankle", "foot", "ankle", "foot_index"),
    )
) + (("neck", "head", "neck", "head_center"),)


@dataclass(frozen=True, eq=False)
class RetargetResult:
    """Body-model parameters in the mocap's world frame.

    Attributes:
        global_orient: ``(T, 3)`` axis-angle of the pelvis.
        body_pose: ``(T, 23, 3)`` axis-angle local rotations of joints 1..23 (SMPL order).
        transl: ``(T, 3)`` metres, so that the posed pelvis joint sits at the mocap root.
        rotations: ``(T, 24, 3, 3)`` the global joint rotations that were solved.
    """

    global_orient: np.ndarray
    body_pose: np.ndarray
    transl: np.ndarray
    rotations: np.ndarray


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


def _kabsch(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``(T, 3, 3)`` rotations best turning unit vectors ``source (K, 3)`` onto ``target (T, K, 3)``."""
    covariance = np.einsum("ki,tkj->tij", _unit(source), _unit(target))  # (T, 3, 3) = sum_k a_k b_k^T
    left, _, right_t = np.linalg.svd(covariance)
    sign = np.sign(np.linalg.det(right_t.transpose(0, 2, 1) @ left.transpose(0, 2, 1)))
    fix = np.tile(np.eye(3), (len(target), 1, 1))
    fix[:, 2, 2] = sign
    return right_t.transpose(0, 2, 1) @ fix @ left.transpose(0, 2, 1)  # V diag(1, 1, d) U^T


def _frame(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """``(..., 3, 3)`` orthonormal frames with columns (primary, secondary made orthogonal, their cross)."""
    first = _unit(primary)
    second = _unit(secondary - np.sum(secondary * first, -1, keepdims=True) * first)
    return np.stack([first, second, np.cross(first, second)], axis=-1)


def _swing(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``(T, 3, 3)`` smallest rotations turning unit vectors ``source (T, 3)`` onto ``target (T, 3)``."""
    source, target = _unit(source), _unit(target)
    axis = np.cross(source, target)
    sine = np.linalg.norm(axis, axis=-1)
    cosine = np.sum(source * target, -1)
    angle = np.arctan2(sine, cosine)
    fallback = np.cross(source, np.where(np.abs(source[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]]))
    axis = np.where(sine[:, None] > 1e-9, axis, fallback)
    return axis_angle_to_matrix(_unit(axis) * angle[:, None])


def _perpendicular(vectors: np.ndarray, axis: np.ndarray) -> np.ndarray:
    axis = _unit(axis)
    return vectors - np.sum(vectors * axis, -1, keepdims=True) * axis


def retarget_points(
    point_names: Sequence[str], points: np.ndarray, rest_joints: np.ndarray, parents: Sequence[int]
) -> RetargetResult:
    """Body-model parameters that pose a 24-joint SMPL-order model like the mocap points.

    Args:
        point_names: the ``P`` mocap point names (:mod:`posekit.data.mocap` vocabulary).
        points: ``(T, P, 3)`` metres in the mocap world frame (y up).
        rest_joints: ``(24, 3)`` the model's rest-pose joints at the person's betas (model frame, y up, +z forward).
        parents: the model's 24 parent indices (``-1`` for the pelvis).

    Returns:
        The :class:`RetargetResult` (rotations about the model's joints; pass with the same betas).

    Raises:
        ValueError: for points of the wrong shape, missing names or a model that is not 24-joint SMPL order.
    """
    points = np.asarray(points, dtype=np.float64)
    rest = np.asarray(rest_joints, dtype=np.float64)
    if points.ndim != 3 or points.shape[1:] != (len(point_names), 3):
        raise ValueError(f"points must have shape (T, {len(point_names)}, 3), got {points.shape}")
    if rest.shape != (24, 3) or len(parents) != 24:
        raise ValueError(f"rest_joints must be (24, 3) with 24 parents (SMPL order), got {rest.shape}, {len(parents)}")
    index = {name: i for i, name in enumerate(point_names)}
    needed = sorted(set(CORRESPONDENCES.values()) | {"chest", "nose", "left_foot_index", "right_foot_index"})
    missing = [name for name in needed if name not in index]
    if missing:
        raise ValueError(f"mocap points lack {missing}, needed to retarget onto the body model")

    def at(name: str) -> np.ndarray:
        return points[:, index[name]]  # (T, 3)

    def bone(first: str, second: str) -> np.ndarray:
        return rest[_J[second]] - rest[_J[first]]  # (3,)

    count = points.shape[0]
    eye = np.broadcast_to(np.eye(3), (count, 3, 3))
    global_rotations = np.tile(np.eye(3), (count, 24, 1, 1))
    root = at("root")
    pelvis = _kabsch(
        np.stack([bone("pelvis", "left_hip"), bone("pelvis", "right_hip"), bone("pelvis", "neck")]),
        np.stack([at("left_hip") - root, at("right_hip") - root, at("neck") - root], axis=1),
    )
    chest = _kabsch(
        np.stack([bone("spine3", "neck"), bone("spine3", "left_shoulder"), bone("spine3", "right_shoulder")]),
        np.stack([at("neck") - at("chest"), at("left_shoulder") - at("chest"), at("right_shoulder") - at("chest")], 1),
    )
    torso = matrix_to_axis_angle(pelvis.transpose(0, 2, 1) @ chest)  # (T, 3) pelvis -> chest
    third = axis_angle_to_matrix(torso / 3.0)
    global_rotations[:, _J["pelvis"]] = pelvis
    current = pelvis
    for name in ("spine1", "spine2", "spine3"):
        current = current @ third
        global_rotations[:, _J[name]] = current
    for name in ("neck", "left_collar", "right_collar"):
        global_rotations[:, _J[name]] = current  # collars: identity locally
    rest_neck = _frame(bone("neck", "head")[None], np.array([[0.0, 0.0, 1.0]]))[0]
    target_neck = _frame(at("head_center") - at("neck"), at("nose") - at("head_center"))
    global_rotations[:, _J["neck"]] = target_neck @ rest_neck.T
    global_rotations[:, _J["head"]] = global_rotations[:, _J["neck"]]
    limbs = (  # (upper joint, middle, end, foot/hand, mocap upper, middle, end, rest hint)
        ("left_hip", "left_knee", "left_ankle", -1.0),
        ("right_hip", "right_knee", "right_ankle", -1.0),
        ("left_shoulder", "left_elbow", "left_wrist", 1.0),
        ("right_shoulder", "right_elbow", "right_wrist", 1.0),
    )
    for upper, middle, end, hint_sign in limbs:
        parent = global_rotations[:, parents[_J[upper]]]  # (T, 3, 3)
        hint = np.array([0.0, 0.0, hint_sign])
        rest_upper, rest_lower = bone(upper, middle), bone(middle, end)
        rest_second = _perpendicular(rest_lower, rest_upper) + 0.1 * np.linalg.norm(rest_lower) * _unit(
            _perpendicular(hint, rest_upper)
        )
        target_upper, target_lower = at(middle) - at(upper), at(end) - at(middle)
        transported = parent @ hint  # (T, 3)
        target_second = _perpendicular(target_lower, target_upper) + 0.1 * np.linalg.norm(
            target_lower, axis=-1, keepdims=True
        ) * _unit(_perpendicular(transported, target_upper))
        upper_rotation = _frame(target_upper, target_second) @ _frame(rest_upper[None], rest_second[None])[0].T
        global_rotations[:, _J[upper]] = upper_rotation
        lower_rest = upper_rotation @ rest_lower  # (T, 3)
        global_rotations[:, _J[middle]] = _swing(lower_rest, target_lower) @ upper_rotation
        global_rotations[:, _J[end]] = global_rotations[:, _J[middle]]
    for side in ("left", "right"):
        ankle = global_rotations[:, _J[f"{side}_ankle"]]
        foot_rest = ankle @ bone(f"{side}_ankle", f"{side}_foot")
        target = at(f"{side}_foot_index") - at(f"{side}_ankle")
        global_rotations[:, _J[f"{side}_ankle"]] = _swing(foot_rest, target) @ ankle
        global_rotations[:, _J[f"{side}_foot"]] = global_rotations[:, _J[f"{side}_ankle"]]
        global_rotations[:, _J[f"{side}_hand"]] = global_rotations[:, _J[f"{side}_wrist"]]
    local = np.empty_like(global_rotations)
    local[:, 0] = global_rotations[:, 0]
    for joint in range(1, 24):
        local[:, joint] = global_rotations[:, parents[joint]].transpose(0, 2, 1) @ global_rotations[:, joint]
    del eye
    axis_angles = matrix_to_axis_angle(local)  # (T, 24, 3)
    return RetargetResult(
        global_orient=axis_angles[:, 0],
        body_pose=axis_angles[:, 1:],
        transl=root - rest[0],
        rotations=global_rotations,
    )


def retarget_errors(
    point_names: Sequence[str], points: np.ndarray, posed_joints: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """How closely posed body-model joints follow the mocap.

    Args:
        point_names: the ``P`` mocap point names.
        points: ``(T, P, 3)`` mocap points (the retargeting's input).
        posed_joints: ``(T, 24, 3)`` the body model's joints posed by the retargeted parameters.

    Returns:
        ``(T, 15)`` joint-position errors in metres over :data:`CORRESPONDENCES` (bone lengths differ,
        so this includes the shape difference) and ``(T, 11)`` angles in degrees between each bone of
        :data:`SOLVED_BONES` and its mocap bone (the solve itself).
    """
    index = {name: i for i, name in enumerate(point_names)}
    points = np.asarray(points, dtype=np.float64)
    joints = np.asarray(posed_joints, dtype=np.float64)
    position = np.linalg.norm(
        joints[:, [_J[name] for name in CORRESPONDENCES]]
        - points[:, [index[name] for name in CORRESPONDENCES.values()]],
        axis=-1,
    )
    angles = []
    for first, second, mocap_first, mocap_second in SOLVED_BONES:
        model_bone = _unit(joints[:, _J[second]] - joints[:, _J[first]])
        mocap_bone = _unit(points[:, index[mocap_second]] - points[:, index[mocap_first]])
        angles.append(np.degrees(np.arccos(np.clip(np.sum(model_bone * mocap_bone, -1), -1.0, 1.0))))
    return position, np.stack(angles, axis=1)
