"""3DPW sequence files: per-person SMPL parameters, 3D joints, cameras, 2D poses, the official split and protocol.

Legend: ``T`` image frames of a sequence (30 fps), ``V`` SMPL vertices (6890).

3DPW (von Marcard et al., "Recovering Accurate 3D Human Pose in The Wild Using IMUs and a Moving
Camera", ECCV 2018) stores one Python-2 pickle per sequence under
``sequenceFiles/{train,validation,test}/<sequence>.pkl`` (the official split), a dict of numpy
arrays, lists and strings. posekit reads it with :mod:`posekit.io.safe_pickle` (latin1 strings,
numpy arrays and plain containers only: a file naming any other global is refused, nothing is
executed). Its keys (the dataset's readme):

* ``poses``: per person ``(T, 72)`` SMPL axis-angle radians, world frame; ``trans`` ``(T, 3)`` m;
  ``betas`` ``(10,)`` (the tracked shape); ``genders`` ``'m'``/``'f'``;
* ``jointPositions``: per person ``(T, 72)``, the 24 SMPL joints in world metres;
* ``poses2d``: per person ``(T, 3, 18)`` OpenPose/COCO-18 detections ``(x, y, confidence)`` in
  image pixels (:data:`THREEDPW_KEYPOINT_NAMES`), not associated for every frame;
* ``cam_poses``: ``(T, 4, 4)`` world-to-camera extrinsics; ``cam_intrinsics``: ``(3, 3)`` K;
* ``campose_valid``: per person ``(T,)``, whether the camera pose could be aligned to the IMUs
  for that person; the evaluation uses only these frames (SPIN, VIBE);
* ``img_frame_ids``: ``(T,)`` the 60 Hz IMU frame of each image; ``sequence``: the name.

Protocol (VIBE ``lib/data_utils/threedpw_utils.py``, ``lib/core/evaluate.py``): the ground-truth
global orientation is rotated into the camera (:meth:`ThreeDPWPerson.global_orient_camera`), the
mesh is posed with SMPL, the 14 common joints are regressed from its vertices with
``J_regressor_h36m.npy`` and ``H36M_TO_J14`` (:func:`regress_common14`), and
:func:`posekit.metrics.mesh.evaluate_mesh_sequences` gives MPJPE, PA-MPJPE, PVE and the
acceleration error in millimetres. VIBE additionally keeps frames with more than 6 of 12 limb
keypoints above confidence 0.3 (:func:`vibe_keypoint_mask`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from posekit.geometry.array_api import ArrayT
from posekit.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from posekit.io.safe_pickle import restricted_loads
from posekit.skeletons import get_skeleton
from posekit.structures import PoseSequence

__all__ = [
    "COMMON14_NAMES",
    "H36M_TO_COMMON14",
    "THREEDPW_FPS",
    "THREEDPW_KEYPOINT_NAMES",
    "THREEDPW_REQUIRED_KEYS",
    "THREEDPW_SPLITS",
    "ThreeDPWFolder",
    "ThreeDPWPerson",
    "ThreeDPWSequence",
    "load_threedpw_sequence",
    "load_threedpw_split",
    "regress_common14",
    "threedpw_sequence_files",
    "vibe_keypoint_mask",
]

THREEDPW_FPS = 30.0
Split = Literal["train", "validation", "test"]
THREEDPW_SPLITS: tuple[str, ...] = ("train", "validation", "test")
THREEDPW_REQUIRED_KEYS: tuple[str, ...] = (
    "poses",
    "betas",
    "trans",
    "cam_poses",
    "cam_intrinsics",
    "poses2d",
    "jointPositions",
    "campose_valid",
)
# The 18 joints of ``poses2d`` (OpenPose's COCO-18 order).
THREEDPW_KEYPOINT_NAMES: tuple[str, ...] = (
    "nose",
    "neck",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_eye",
    "left_eye",
    "right_ear",
    "left_ear",
)
_COCO17_NAMES = get_skeleton("coco").keypoint_names
_TO_COCO17 = np.array([THREEDPW_KEYPOINT_NAMES.index(name) for name in _COCO17_NAMES])
# The 12 limb joints VIBE counts when it filters frames by 2D keypoints (its 3dpw -> common map).
_VIBE_LIMB_KEYPOINTS = np.array([10, 9, 8, 11, 12, 13, 4, 3, 2, 5, 6, 7])

# The 14 evaluation joints in VIBE's "common" (LSP) order, and their rows in the output of SPIN/VIBE's
# J_regressor_h36m.npy (VIBE lib/models/smpl.py H36M_TO_J14). The hips are joints 2 and 3.
COMMON14_NAMES: tuple[str, ...] = get_skeleton("lsp").keypoint_names  # LSP order, posekit's `lsp` skeleton
H36M_TO_COMMON14: tuple[int, ...] = (6, 5, 4, 1, 2, 3, 16, 15, 14, 11, 12, 13, 8, 10)


def regress_common14(vertices: ArrayT, j_regressor_h36m: Any) -> ArrayT:
    """The 14 evaluation joints of meshes: ``(J_regressor_h36m @ vertices)[H36M_TO_J14]`` as VIBE computes them.

    Args:
        vertices: ``(..., V, 3)`` mesh vertices (numpy or torch).
        j_regressor_h36m: ``(17, V)`` the Human3.6M regressor (SPIN/VIBE ``J_regressor_h36m.npy``).

    Returns:
        ``(..., 14, 3)`` joints in :data:`COMMON14_NAMES` order, same kind as ``vertices``.
    """
    from posekit.geometry import array_api as xp

    values = xp.as_float_array(vertices)
    regressor = xp.cast_to(xp.like(xp.as_float_array(j_regressor_h36m), values), values)
    if (
        regressor.ndim != 2
        or regressor.shape[0] != 17
        or values.ndim < 2
        or values.shape[-2:]
        != (
            regressor.shape[1],
            3,
        )
    ):
        raise ValueError(
            f"need vertices (..., V, 3) and a (17, V) regressor, got {xp.shape_text(values)} and "
            f"{xp.shape_text(regressor)}"
        )
    joints = regressor @ values  # (17, V) @ (..., V, 3) -> (..., 17, 3)
    return joints[..., list(H36M_TO_COMMON14), :]


def vibe_keypoint_mask(keypoint_scores: np.ndarray, threshold: float = 0.3, min_keypoints: int = 6) -> np.ndarray:
    """VIBE's frame filter: more than ``min_keypoints`` of the 12 limb keypoints above ``threshold``.

    Args:
        keypoint_scores: ``(T, 18)`` confidences of ``poses2d``.

    Returns:
        ``(T,)`` bool.
    """
    scores = np.asarray(keypoint_scores)
    if scores.ndim != 2 or scores.shape[1] != len(THREEDPW_KEYPOINT_NAMES):
        raise ValueError(f"keypoint_scores must have shape (T, 18), got {scores.shape}")
    return np.asarray((scores[:, _VIBE_LIMB_KEYPOINTS] > threshold).sum(axis=1) > min_keypoints)


@dataclass(frozen=True, eq=False, kw_only=True)
class ThreeDPWPerson:
    """One actor of a 3DPW sequence.

    Attributes:
        sequence: the sequence name; ``person``: the actor's index in it.
        gender: ``"male"``, ``"female"`` or ``"neutral"`` (when the file has no genders).
        global_orient: ``(T, 3)`` float32 axis-angle, world frame; ``body_pose``: ``(T, 23, 3)``.
        betas: ``(10,)`` float32; ``transl``: ``(T, 3)`` float32 metres, world frame.
        joints_world: ``(T, 24, 3)`` float32 SMPL joints, world metres (``jointPositions``).
        keypoints_2d: ``(T, 18, 2)`` float32 pixels; ``keypoint_scores``: ``(T, 18)`` float32.
        campose_valid: ``(T,)`` bool, frames whose camera pose is aligned for this actor.
        cam_poses: ``(T, 4, 4)`` float64 world-to-camera; ``intrinsics``: ``(3, 3)`` float64 K.
    """

    sequence: str
    person: int
    gender: str
    global_orient: np.ndarray
    body_pose: np.ndarray
    betas: np.ndarray
    transl: np.ndarray
    joints_world: np.ndarray
    keypoints_2d: np.ndarray
    keypoint_scores: np.ndarray
    campose_valid: np.ndarray
    cam_poses: np.ndarray
    intrinsics: np.ndarray

    def __len__(self) -> int:
        return int(self.global_orient.shape[0])

    def joints_camera(self) -> np.ndarray:
        """``(T, 24, 3)`` float32 SMPL joints in camera coordinates (metres): ``R X + t`` per frame."""
        rotation, translation = self.cam_poses[:, :3, :3], self.cam_poses[:, :3, 3]
        joints = np.einsum("tij,tkj->tki", rotation, self.joints_world.astype(np.float64))  # (T, 24, 3)
        return (joints + translation[:, None]).astype(np.float32)

    def global_orient_camera(self) -> np.ndarray:
        """``(T, 3)`` float32 root orientation in the camera frame, ``R_cam @ R_root`` (SPIN/VIBE alignment)."""
        root = axis_angle_to_matrix(self.global_orient.astype(np.float64))  # (T, 3, 3)
        return np.asarray(matrix_to_axis_angle(self.cam_poses[:, :3, :3] @ root), dtype=np.float32)

    def transl_camera(self, root_rest: np.ndarray) -> np.ndarray:
        """``(T, 3)`` float32 translation that places the body in camera coordinates.

        SMPL rotates about its root joint, so moving the body by ``(R, t)`` needs the root joint's
        rest position ``j0`` (the body model's ``J_regressor[0] @ (v_template + shapedirs @ betas)``):
        ``transl' = R (transl + j0) + t - j0``.

        Args:
            root_rest: ``(3,)`` root joint of the shaped body in the rest pose (metres).
        """
        rest = np.asarray(root_rest, dtype=np.float64).reshape(3)
        rotation, translation = self.cam_poses[:, :3, :3], self.cam_poses[:, :3, 3]
        moved = np.einsum("tij,tj->ti", rotation, self.transl.astype(np.float64) + rest) + translation - rest
        return moved.astype(np.float32)

    def evaluation_mask(self, vibe_keypoint_filter: bool = False) -> np.ndarray:
        """``(T,)`` bool frames that enter the evaluation: ``campose_valid`` (and VIBE's keypoint filter)."""
        mask = self.campose_valid.copy()
        if vibe_keypoint_filter:
            mask &= vibe_keypoint_mask(self.keypoint_scores)
        return mask

    def to_pose_sequence(self) -> PoseSequence:
        """The actor as a :class:`PoseSequence`: COCO-17 2D keypoints by name, camera-space SMPL joints.

        Frames are the image indices ``0..T-1`` (``image_%05d.jpg``) at 30 fps; the trajectory is
        the camera-space root joint.
        """
        joints = self.joints_camera()
        return PoseSequence(
            frames=np.arange(len(self)),
            keypoints=self.keypoints_2d[:, _TO_COCO17],
            scores=self.keypoint_scores[:, _TO_COCO17],
            skeleton="coco",
            track_id=self.person,
            timestamps=np.arange(len(self)) / THREEDPW_FPS,
            keypoints_3d=joints,
            skeleton_3d="smpl",
            trajectory=joints[:, 0],
        )


@dataclass(frozen=True, eq=False)
class ThreeDPWSequence:
    """One 3DPW sequence file.

    Attributes:
        name: the sequence name; ``path``: its file; ``split``: the official split folder it is in,
            or None.
        people: the actors.
        cam_poses: ``(T, 4, 4)`` world-to-camera; ``intrinsics``: ``(3, 3)``.
        frame_ids: ``(T,)`` int64 60 Hz IMU frame of each image (``img_frame_ids``).
    """

    name: str
    path: Path
    split: str | None
    people: tuple[ThreeDPWPerson, ...]
    cam_poses: np.ndarray
    intrinsics: np.ndarray
    frame_ids: np.ndarray

    def __len__(self) -> int:
        return int(self.cam_poses.shape[0])

    def image_names(self) -> list[str]:
        """The image of every frame relative to the 3DPW root (``imageFiles/<sequence>/image_00000.jpg``)."""
        return [f"imageFiles/{self.name}/image_{index:05d}.jpg" for index in range(len(self))]


def _array(value: Any, shape: tuple[int | None, ...], what: str, source: Path) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{source}: {what} is not a numeric array") from None
    wrong = array.ndim != len(shape) or any(
        size is not None and size != got for size, got in zip(shape, array.shape, strict=True)
    )
    if wrong:
        expected = "(" + ", ".join("?" if size is None else str(size) for size in shape) + ")"
        raise ValueError(f"{source}: {what} must have shape {expected}, got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{source}: {what} holds NaN or infinite values")
    return array


def _per_person(data: dict[str, Any], key: str, count: int, source: Path) -> list[Any]:
    value = data[key]
    items = list(value) if isinstance(value, list | tuple) or (isinstance(value, np.ndarray) and value.ndim) else []
    if len(items) != count:
        raise ValueError(f"{source}: '{key}' must hold one entry per person ({count}), got {len(items)}")
    return items


def _split_of(path: Path) -> str | None:
    return path.parent.name if path.parent.name in THREEDPW_SPLITS else None


def load_threedpw_sequence(path: str | os.PathLike[str]) -> ThreeDPWSequence:
    """Read one 3DPW ``sequenceFiles/<split>/<name>.pkl`` without unsafe unpickling.

    Raises:
        FileNotFoundError: no file.
        ValueError: a pickle naming anything but numpy arrays and containers (nothing is executed),
            not a dict, a missing key, or arrays of the wrong shape (the message names the file).
    """
    file_path = Path(path)
    if not file_path.is_file():
        raise FileNotFoundError(f"{file_path}: no such file (expected a 3DPW sequence .pkl)")
    data = restricted_loads(file_path.read_bytes(), source=str(file_path), encoding="latin1")
    if not isinstance(data, dict):
        raise ValueError(f"{file_path}: a 3DPW sequence file holds a dict, got {type(data).__name__}")
    missing = [key for key in THREEDPW_REQUIRED_KEYS if key not in data]
    if missing:
        raise ValueError(
            f"{file_path}: missing key{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}; a 3DPW "
            f"sequence file has {', '.join(THREEDPW_REQUIRED_KEYS)} (found: {', '.join(sorted(map(str, data)))})"
        )
    cam_poses = _array(data["cam_poses"], (None, 4, 4), "'cam_poses'", file_path)
    length = cam_poses.shape[0]
    intrinsics = _array(data["cam_intrinsics"], (3, 3), "'cam_intrinsics'", file_path)
    count = len(data["poses"]) if isinstance(data["poses"], list | tuple | np.ndarray) else 0
    if count == 0:
        raise ValueError(f"{file_path}: 'poses' must be a list with one (T, 72) array per person")
    name = str(data.get("sequence", file_path.stem))
    genders = data.get("genders", ["n"] * count)
    genders = list(genders) if len(genders) == count else ["n"] * count
    per_person_keys = [key for key in THREEDPW_REQUIRED_KEYS if key not in ("cam_poses", "cam_intrinsics")]
    columns = {key: _per_person(data, key, count, file_path) for key in per_person_keys}
    people = []
    for person in range(count):
        label = f"person {person}"
        poses = _array(columns["poses"][person], (length, 72), f"'poses' of {label}", file_path)
        poses2d = _array(columns["poses2d"][person], (length, 3, 18), f"'poses2d' of {label}", file_path)
        joints = _array(columns["jointPositions"][person], (length, 72), f"'jointPositions' of {label}", file_path)
        valid = np.asarray(columns["campose_valid"][person]).astype(bool).reshape(-1)
        if valid.shape != (length,):
            raise ValueError(f"{file_path}: 'campose_valid' of {label} must have shape ({length},), got {valid.shape}")
        betas = _array(columns["betas"][person], (None,), f"'betas' of {label}", file_path)[:10]
        gender = {"m": "male", "f": "female"}.get(str(genders[person]).strip().lower()[:1], "neutral")
        keypoints = poses2d.transpose(0, 2, 1)  # (T, 3, 18) -> (T, 18, 3)
        people.append(
            ThreeDPWPerson(
                sequence=name,
                person=person,
                gender=gender,
                global_orient=poses[:, :3].astype(np.float32),
                body_pose=poses[:, 3:].reshape(length, 23, 3).astype(np.float32),  # (T, 69) -> (T, 23, 3)
                betas=np.pad(betas, (0, 10 - betas.size)).astype(np.float32),
                transl=_array(columns["trans"][person], (length, 3), f"'trans' of {label}", file_path).astype(
                    np.float32
                ),
                joints_world=joints.reshape(length, 24, 3).astype(np.float32),  # (T, 72) -> (T, 24, 3)
                keypoints_2d=keypoints[..., :2].astype(np.float32),
                keypoint_scores=keypoints[..., 2].astype(np.float32),
                campose_valid=valid,
                cam_poses=cam_poses,
                intrinsics=intrinsics,
            )
        )
    frame_ids = np.asarray(data.get("img_frame_ids", np.arange(length)), dtype=np.int64).reshape(-1)
    if frame_ids.shape != (length,):
        raise ValueError(f"{file_path}: 'img_frame_ids' must have shape ({length},), got {frame_ids.shape}")
    return ThreeDPWSequence(
        name=name,
        path=file_path,
        split=_split_of(file_path),
        people=tuple(people),
        cam_poses=cam_poses,
        intrinsics=intrinsics,
        frame_ids=frame_ids,
    )


def threedpw_sequence_files(root: str | os.PathLike[str], split: Split) -> list[Path]:
    """The sequence files of an official split, sorted.

    Args:
        root: the 3DPW folder (holding ``sequenceFiles/``) or ``sequenceFiles`` itself.
        split: ``"train"``, ``"validation"`` or ``"test"``.

    Raises:
        ValueError: an unknown split. FileNotFoundError: no such split folder.
    """
    if split not in THREEDPW_SPLITS:
        raise ValueError(f"split must be one of {THREEDPW_SPLITS}, got {split!r}")
    base = Path(root)
    folder = base / "sequenceFiles" / split if (base / "sequenceFiles").is_dir() else base / split
    if not folder.is_dir():
        raise FileNotFoundError(f"{base}: no sequenceFiles/{split} folder (expected the 3DPW dataset root)")
    return sorted(folder.glob("*.pkl"))


@dataclass(frozen=True)
class ThreeDPWFolder:
    """The sequences of one split and the files that could not be read (``(file, reason)``)."""

    sequences: list[ThreeDPWSequence]
    skipped: list[tuple[Path, str]]

    def people(self) -> list[ThreeDPWPerson]:
        """Every actor of every sequence, in file order."""
        return [person for sequence in self.sequences for person in sequence.people]


def load_threedpw_split(
    root: str | os.PathLike[str], split: Split, files: Sequence[Path] | None = None
) -> ThreeDPWFolder:
    """Read every sequence of an official split; unreadable files are listed, the others still read."""
    sequences: list[ThreeDPWSequence] = []
    skipped: list[tuple[Path, str]] = []
    for path in threedpw_sequence_files(root, split) if files is None else files:
        try:
            sequences.append(load_threedpw_sequence(path))
        except (OSError, ValueError) as error:
            skipped.append((Path(path), str(error)))
    return ThreeDPWFolder(sequences=sequences, skipped=skipped)
