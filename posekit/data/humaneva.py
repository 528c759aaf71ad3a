"""HumanEva-I (15 joints) in the official VideoPose3D prepared format.

Legend: ``T`` frames, ``J`` joints (15), ``K`` input 2D keypoints.

Files (VideoPose3D ``data/prepare_data_humaneva.py``): ``data_3d_humaneva15.npz`` with
``positions_3d[subject][action]`` ``(T, 15, 3)`` world metres, and ``data_2d_humaneva15_<source>.npz``
with three cameras per video (``C1``, ``C2``, ``C3``, 640 x 480 pixels). Subjects are split
names such as ``Train/S1`` and ``Validate/S2`` (the official protocol trains on
``Train/S1, Train/S2, Train/S3`` and tests on ``Validate/S1..S3``; unlabelled videos are under
``Unlabeled/...``). Motion capture with dropped markers is cut into contiguous chunks
(``"Walking 1 chunk0"``), and evaluation merges them by the first word of the action name.

The 15-joint skeleton (:data:`HUMANEVA15`, registered as ``humaneva15``) is the one of the
HumanEva evaluation code ``@body_pose/error.m`` that VideoPose3D's ``ConvertHumanEva.m``
exports: pelvis (``torsoDistal``), thorax (mean of ``torsoProximal`` and ``headProximal``),
shoulders, elbows (mean of the arm segments' ends), wrists, hips, knees, ankles, and the top of
the head (``headDistal``, hence ``head_top``).

Cameras: VideoPose3D publishes the HumanEva extrinsics (below, from
``common/humaneva_dataset.py``; orientation quaternion ``(w, x, y, z)`` rotating camera axes
into world axes, translation = camera centre in millimetres) but no intrinsics, so
semi-supervised training (which projects predictions back to 2D) is not available for HumanEva,
as in the official code. ``S4`` (unlabelled only) has no extrinsics; its cameras carry the
identity pose, which only its 2D keypoints use.
"""

from __future__ import annotations

import os

import numpy as np

from posekit.data.lifting_dataset import (
    DatasetCamera,
    LiftingDataset,
    keypoint_symmetry,
    load_positions_2d,
    load_positions_3d,
)
from posekit.geometry import quaternion_inverse, quaternion_to_matrix
from posekit.skeletons import Skeleton, auto_flip_pairs, get_skeleton, links_from_parents, register_skeleton

__all__ = [
    "HUMANEVA15",
    "HUMANEVA_CAMERA_EXTRINSICS",
    "HUMANEVA_FPS",
    "HUMANEVA_IMAGE_SIZE",
    "HUMANEVA_SUBJECTS_TEST",
    "HUMANEVA_SUBJECTS_TRAIN",
    "humaneva_cameras",
    "load_humaneva",
]

HUMANEVA_FPS = 60.0
HUMANEVA_IMAGE_SIZE = (640, 480)
HUMANEVA_SUBJECTS_TRAIN: tuple[str, ...] = ("Train/S1", "Train/S2", "Train/S3")
HUMANEVA_SUBJECTS_TEST: tuple[str, ...] = ("Validate/S1", "Validate/S2", "Validate/S3")

_HUMANEVA15_NAMES = (
    "pelvis",
    "thorax",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_hip",
    "right_knee",
    "right_ankle",
    "head_top",
)
# VideoPose3D humaneva_skeleton parents (left joints 2-4, 8-10; right 5-7, 11-13).
_HUMANEVA15_PARENTS = (-1, 0, 1, 2, 3, 1, 5, 6, 0, 8, 9, 0, 11, 12, 1)
HUMANEVA15 = Skeleton(
    name="humaneva15",
    keypoint_names=_HUMANEVA15_NAMES,
    links=links_from_parents(_HUMANEVA15_NAMES, _HUMANEVA15_PARENTS),
    flip_pairs=auto_flip_pairs(_HUMANEVA15_NAMES),
    parents=_HUMANEVA15_PARENTS,
)
try:
    get_skeleton("humaneva15")
except ValueError:
    register_skeleton(HUMANEVA15, aliases=("humaneva",))

# Calibration (data): VideoPose3D common/humaneva_dataset.py, humaneva_cameras_extrinsic_params;
# per subject and camera C1, C2, C3: (orientation (w, x, y, z), camera centre in millimetres).
HUMANEVA_CAMERA_EXTRINSICS: dict[
    str, tuple[tuple[tuple[float, float, float, float], tuple[float, float, float]], ...]
] = {
    "S1": (
        ((0.424207, -0.4983646, -0.5802981, 0.4847012), (4062.227, 663.2477, 1528.397)),
        ((0.6503354, -0.7481602, -0.0919284, 0.0941766), (844.8131, -3805.2092, 1504.9929)),
        ((0.0664734, -0.0690535, 0.7416416, -0.6639132), (-797.67377, 3916.3174, 1433.6602)),
    ),
    "S2": (
        ((0.4214752, -0.4961493, -0.5838273, 0.4851187), (4112.9121, 626.4929, 1545.2988)),
        ((0.6501393, -0.7476588, -0.0954617, 0.0959808), (923.574, -3877.9243, 1504.5518)),
        ((0.0699353, -0.0712403, 0.7421637, -0.662742), (-781.4915, 3838.8853, 1444.9929)),
    ),
    "S3": (
        ((0.424207, -0.4983646, -0.5802981, 0.4847012), (4062.2271, 663.2477, 1528.397)),
        ((0.6503354, -0.7481602, -0.0919284, 0.0941766), (844.8131, -3805.2092, 1504.9929)),
        ((0.0664734, -0.0690535, 0.7416416, -0.6639132), (-797.6738, 3916.3174, 1433.6602)),
    ),
}


def humaneva_cameras(subject: str) -> tuple[DatasetCamera, ...]:
    """The three cameras of a HumanEva subject (``"Train/S1"`` or ``"S1"``): extrinsics, 640 x 480.

    ``R = quaternion_to_matrix(orientation)^T`` and ``t = -R @ centre / 1000`` (VideoPose3D's
    ``world_to_camera``). Subjects without published extrinsics (``S4``) get ``R = I, t = 0``.
    """
    base = subject.split("/")[-1]
    extrinsics = HUMANEVA_CAMERA_EXTRINSICS.get(base)
    if extrinsics is None:
        return tuple(DatasetCamera(R=np.eye(3), t=np.zeros(3), image_size=HUMANEVA_IMAGE_SIZE) for _ in range(3))
    cameras = []
    for orientation, centre in extrinsics:
        rotation = quaternion_to_matrix(quaternion_inverse(np.asarray(orientation, dtype=np.float64)))
        translation = -rotation @ (np.asarray(centre, dtype=np.float64) / 1000.0)
        cameras.append(DatasetCamera(R=rotation, t=translation, image_size=HUMANEVA_IMAGE_SIZE))
    return tuple(cameras)


def load_humaneva(path_3d: str | os.PathLike[str], path_2d: str | os.PathLike[str]) -> LiftingDataset:
    """Load HumanEva-I (15 joints) from the official prepared files.

    Args:
        path_3d: ``data_3d_humaneva15.npz``.
        path_2d: ``data_2d_humaneva15_<source>.npz`` (``gt``, ``detectron_pt_coco``...).

    Returns:
        A :class:`~posekit.data.lifting_dataset.LiftingDataset` (no intrinsics: supervised only).

    Raises:
        FileNotFoundError: a file is missing.
        ValueError: malformed files or joint counts other than 15.
    """
    source_3d, source_2d = os.fspath(path_3d), os.fspath(path_2d)
    raw_3d = load_positions_3d(source_3d)
    raw_2d, metadata = load_positions_2d(source_2d)
    for subject, actions in raw_3d.items():
        for action, positions in actions.items():
            if positions.shape[1] != HUMANEVA15.num_keypoints:
                raise ValueError(
                    f"{source_3d}: {subject}/{action} has {positions.shape[1]} joints, expected 15 (humaneva15)"
                )
    keypoints_2d: dict[str, dict[str, list[np.ndarray]]] = {}
    num_keypoints: int | None = None
    for subject, actions_2d in raw_2d.items():
        keypoints_2d[subject] = {}
        for action, per_camera in actions_2d.items():
            sequences = []
            for camera_index, keypoints in enumerate(per_camera):
                if keypoints is None:
                    raise ValueError(f"{source_2d}: {subject}/{action} has no keypoints for camera {camera_index}")
                num_keypoints = int(keypoints.shape[1]) if num_keypoints is None else num_keypoints
                sequences.append(keypoints)
            keypoints_2d[subject][action] = sequences
    if num_keypoints is None:
        raise ValueError(f"{source_2d}: no 2D keypoints")
    left, right = keypoint_symmetry(metadata, num_keypoints, source_2d)
    subjects = sorted(set(raw_3d) | set(keypoints_2d))
    return LiftingDataset(
        name=f"HumanEva-I ({os.path.basename(source_2d)})",
        skeleton=HUMANEVA15,
        cameras={subject: humaneva_cameras(subject) for subject in subjects},
        positions_world=raw_3d,
        keypoints_2d=keypoints_2d,
        keypoints_left=left,
        keypoints_right=right,
        fps=HUMANEVA_FPS,
    )
