"""The SPIN/VIBE preprocessed mesh-training annotations (``.npz``) as typed records.

Legend: ``N`` annotated people (one per row; several rows may share an image).

SPIN (Kolotouros et al., "Learning to Reconstruct 3D Human Pose and Shape via Model-fitting in
the Loop", ICCV 2019; ``datasets/preprocess/*.py`` and ``datasets/base_dataset.py``), whose files
VIBE and later mesh regressors reuse, writes one ``.npz`` per dataset split (``h36m_train.npz``,
``mpi_inf_3dhp_train.npz``, ``coco_2014_train.npz``, ``mpii_train.npz``, ``lsp_dataset_test.npz``,
``3dpw_test.npz``, ...) with ``np.savez(imgname=, center=, scale=, ...)``:

* ``imgname (N,)`` image path relative to the dataset folder; ``center (N, 2)`` box centre in
  pixels; ``scale (N,)`` the box side over 200 pixels (SPIN: ``factor * max(w, h) / 200``) —
  all three always present;
* ``part (N, 24, 3)`` 2D keypoints ``(x, y, visible)`` in pixels on the 24 ground-truth joints
  (:data:`SPIN_JOINT_NAMES`; joints a dataset lacks are zero with visibility 0);
* ``S (N, 24, 4)`` 3D joints ``(x, y, z, confidence)`` in metres, root-centred (H3.6M, MPI-INF-3DHP);
* ``openpose (N, 25, 3)`` OpenPose BODY_25 detections matched to the person (:data:`OPENPOSE25_NAMES`);
* ``pose (N, 72)`` SMPL axis-angle radians and ``shape (N, 10)`` betas (fits or ground truth),
  ``has_smpl (N,)`` (when absent: 1 where ``pose`` exists, as SPIN's loader assumes);
* ``gender (N,)`` ``'m'``/``'f'`` (3DPW), ``maskname``/``partname (N,)`` (LSP/UP-3D silhouettes
  and part segmentations).

:func:`load_mesh_annotations` reads every key that is present into :class:`MeshAnnotations`
(arrays sharing ``N``; SMPL parameters split into ``global_orient``/``body_pose``/``betas``);
``annotations[i]`` is one :class:`MeshAnnotation`. A file missing ``imgname``, ``center`` or
``scale`` raises one sentence naming the file and the key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posekit.data.npz_files import read_npz, require_keys
from posekit.skeletons import get_skeleton

__all__ = [
    "MESH_ANNOTATION_KEYS",
    "OPENPOSE25_NAMES",
    "SPIN_JOINT_NAMES",
    "MeshAnnotation",
    "MeshAnnotations",
    "load_mesh_annotations",
]

MESH_ANNOTATION_KEYS: tuple[str, ...] = ("imgname", "center", "scale")
_WHAT = "a SPIN/VIBE annotation file"
# The 24 ground-truth joints of ``part`` and ``S`` (SPIN constants.JOINT_NAMES[25:], posekit names).
SPIN_JOINT_NAMES: tuple[str, ...] = (
    "right_ankle",
    "right_knee",
    "right_hip",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_wrist",
    "right_elbow",
    "right_shoulder",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "neck",  # LSP neck
    "head_top",  # LSP top of head
    "pelvis",  # MPII
    "thorax",  # MPII
    "spine",  # H3.6M
    "jaw",  # H3.6M
    "head",  # H3.6M
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
)
# OpenPose BODY_25 (the ``openpose`` array).
OPENPOSE25_NAMES: tuple[str, ...] = (
    "nose",
    "neck",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "mid_hip",
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
    "left_big_toe",
    "left_small_toe",
    "left_heel",
    "right_big_toe",
    "right_small_toe",
    "right_heel",
)
_COCO17_NAMES = get_skeleton("coco").keypoint_names
_SPIN_TO_COCO17 = np.array([SPIN_JOINT_NAMES.index(name) for name in _COCO17_NAMES])


@dataclass(frozen=True)
class MeshAnnotation:
    """One row of a :class:`MeshAnnotations` file (shapes as there, without ``N``; None when absent)."""

    image_name: str
    center: np.ndarray
    scale: float
    keypoints_2d: np.ndarray | None
    keypoint_visibility: np.ndarray | None
    joints_3d: np.ndarray | None
    joint_confidence: np.ndarray | None
    openpose: np.ndarray | None
    openpose_scores: np.ndarray | None
    global_orient: np.ndarray | None
    body_pose: np.ndarray | None
    betas: np.ndarray | None
    has_smpl: bool
    gender: str | None
    mask_name: str | None
    part_name: str | None


@dataclass(frozen=True, eq=False)
class MeshAnnotations:
    """A SPIN/VIBE annotation file (module docstring); every array has ``N`` rows.

    Attributes:
        path: the file.
        image_names: ``(N,)`` str image paths relative to the dataset folder.
        centers: ``(N, 2)`` float32 box centres, pixels.
        scales: ``(N,)`` float32 box side / 200 pixels.
        keypoints_2d: ``(N, 24, 2)`` float32 pixels, or None; ``keypoint_visibility``: ``(N, 24)``.
        joints_3d: ``(N, 24, 3)`` float32 metres (root-centred), or None; ``joint_confidence``: ``(N, 24)``.
        openpose: ``(N, 25, 2)`` float32 pixels, or None; ``openpose_scores``: ``(N, 25)``.
        global_orient: ``(N, 3)`` float32 axis-angle, or None; ``body_pose``: ``(N, 23, 3)``.
        betas: ``(N, 10)`` float32, or None.
        has_smpl: ``(N,)`` bool, rows whose SMPL parameters are to be used.
        genders: ``(N,)`` str (``"m"``/``"f"``), or None.
        mask_names, part_names: ``(N,)`` str, or None.
    """

    path: Path
    image_names: np.ndarray
    centers: np.ndarray
    scales: np.ndarray
    keypoints_2d: np.ndarray | None = None
    keypoint_visibility: np.ndarray | None = None
    joints_3d: np.ndarray | None = None
    joint_confidence: np.ndarray | None = None
    openpose: np.ndarray | None = None
    openpose_scores: np.ndarray | None = None
    global_orient: np.ndarray | None = None
    body_pose: np.ndarray | None = None
    betas: np.ndarray | None = None
    has_smpl: np.ndarray | None = None
    genders: np.ndarray | None = None
    mask_names: np.ndarray | None = None
    part_names: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.image_names.shape[0])

    def boxes(self) -> np.ndarray:
        """``(N, 4)`` float32 square ``xyxy`` boxes, ``center -/+ 100 * scale``."""
        half = 100.0 * self.scales[:, None]  # (N, 1)
        return np.concatenate([self.centers - half, self.centers + half], axis=1).astype(np.float32)

    def coco_keypoints(self) -> tuple[np.ndarray, np.ndarray]:
        """The 2D keypoints on COCO-17 by name: ``(N, 17, 2)`` pixels and ``(N, 17)`` visibility.

        Raises:
            ValueError: the file has no ``part``.
        """
        if self.keypoints_2d is None or self.keypoint_visibility is None:
            raise ValueError(f"{self.path}: has no 'part' 2D keypoints")
        return self.keypoints_2d[:, _SPIN_TO_COCO17], self.keypoint_visibility[:, _SPIN_TO_COCO17]

    def __getitem__(self, index: int) -> MeshAnnotation:
        if not -len(self) <= index < len(self):
            raise IndexError(f"row {index} out of range for {len(self)} annotations")

        def row(values: np.ndarray | None) -> np.ndarray | None:
            return None if values is None else values[index]

        def text(values: np.ndarray | None) -> str | None:
            return None if values is None else str(values[index])

        return MeshAnnotation(
            image_name=str(self.image_names[index]),
            center=self.centers[index],
            scale=float(self.scales[index]),
            keypoints_2d=row(self.keypoints_2d),
            keypoint_visibility=row(self.keypoint_visibility),
            joints_3d=row(self.joints_3d),
            joint_confidence=row(self.joint_confidence),
            openpose=row(self.openpose),
            openpose_scores=row(self.openpose_scores),
            global_orient=row(self.global_orient),
            body_pose=row(self.body_pose),
            betas=row(self.betas),
            has_smpl=bool(self.has_smpl[index]) if self.has_smpl is not None else False,
            gender=text(self.genders),
            mask_name=text(self.mask_names),
            part_name=text(self.part_names),
        )


def _strings(values: np.ndarray) -> np.ndarray:
    flat = np.asarray(values).reshape(-1)
    return np.array([item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item) for item in flat])


def load_mesh_annotations(path: str | os.PathLike[str]) -> MeshAnnotations:
    """Read a SPIN/VIBE annotation ``.npz``.

    Raises:
        FileNotFoundError: no file.
        ValueError: not an ``.npz``, a missing ``imgname``/``center``/``scale``, or an array whose
            shape does not match (the message names the file, the key and the shape expected).
    """
    file_path = Path(path)
    arrays = read_npz(file_path, _WHAT)
    require_keys(arrays, MESH_ANNOTATION_KEYS, file_path, _WHAT)
    image_names = _strings(arrays["imgname"])
    count = image_names.shape[0]

    def numeric(key: str, shape: tuple[int, ...]) -> np.ndarray | None:
        if key not in arrays:
            return None
        try:
            values = np.asarray(arrays[key], dtype=np.float32)
        except (TypeError, ValueError):
            raise ValueError(f"{file_path}: '{key}' is not numeric") from None
        if values.shape != (count, *shape):
            expected = ", ".join(str(size) for size in (count, *shape))
            raise ValueError(f"{file_path}: '{key}' must have shape ({expected}) for {count} rows, got {values.shape}")
        return values

    def strings(key: str) -> np.ndarray | None:
        if key not in arrays:
            return None
        values = _strings(arrays[key])
        if values.shape != (count,):
            raise ValueError(f"{file_path}: '{key}' must have {count} entries, got {values.shape[0]}")
        return values

    centers = numeric("center", (2,))
    scales = numeric("scale", ())
    assert centers is not None and scales is not None  # required keys
    part = numeric("part", (24, 3))
    joints = numeric("S", (24, 4))
    openpose = numeric("openpose", (25, 3))
    pose = numeric("pose", (72,))
    shape = numeric("shape", (10,))
    if (pose is None) != (shape is None):
        raise ValueError(f"{file_path}: has {'pose' if shape is None else 'shape'} without the other (SMPL needs both)")
    has_smpl_values = numeric("has_smpl", ())
    if has_smpl_values is not None:
        has_smpl = has_smpl_values > 0
    else:
        has_smpl = np.full(count, pose is not None)
    return MeshAnnotations(
        path=file_path,
        image_names=image_names,
        centers=centers,
        scales=scales,
        keypoints_2d=None if part is None else part[..., :2],
        keypoint_visibility=None if part is None else part[..., 2],
        joints_3d=None if joints is None else joints[..., :3],
        joint_confidence=None if joints is None else joints[..., 3],
        openpose=None if openpose is None else openpose[..., :2],
        openpose_scores=None if openpose is None else openpose[..., 2],
        global_orient=None if pose is None else pose[:, :3],
        body_pose=None if pose is None else pose[:, 3:].reshape(count, 23, 3),  # (N, 69) -> (N, 23, 3)
        betas=shape,
        has_smpl=has_smpl,
        genders=strings("gender"),
        mask_names=strings("maskname"),
        part_names=strings("partname"),
    )
