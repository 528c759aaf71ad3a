"""``.npz`` files of :class:`~posekit.structures.PoseInstances` and :class:`~posekit.structures.PoseSequence`.

A file holds only plain arrays (read back with ``allow_pickle=False``: no pickle is ever loaded), the
skeleton name beside them and a ``posekit_type`` tag saying which container it is. Files are written
atomically (:func:`posekit.io.atomic.atomic_path`): a reader never sees half a file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from posekit.io.atomic import atomic_path
from posekit.structures import PoseInstances, PoseSequence

__all__ = ["load_pose_instances", "load_pose_sequence", "save_poses_npz"]


def _read_npz(path: str | os.PathLike[str], kind: str) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        data = {key: archive[key] for key in archive.files}
    stored_kind = str(data.pop("posekit_type", ""))
    if stored_kind != kind:
        raise ValueError(f"{os.fspath(path)} does not hold a posekit {kind} (found {stored_kind or 'no type tag'})")
    return data


def _write_npz(path: str | os.PathLike[str], kind: str, arrays: Mapping[str, np.ndarray | None]) -> Path:
    payload = {key: value for key, value in arrays.items() if value is not None}
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        # Writing through a handle keeps np.savez from appending ".npz" to the temporary name.
        np.savez(handle, posekit_type=np.array(kind), **payload)  # type: ignore[arg-type]
    return Path(path)


def save_poses_npz(poses: PoseInstances | PoseSequence, path: str | os.PathLike[str]) -> Path:
    """Write ``poses`` to ``path`` (``.npz``) atomically, with the skeleton name(s). Returns the path.

    Args:
        poses: the people of one image, or one tracked person over time.
        path: the file to write; missing parent folders are created.
    """
    if isinstance(poses, PoseInstances):
        return _write_npz(
            path,
            "PoseInstances",
            {
                "keypoints": poses.keypoints,
                "scores": poses.scores,
                "skeleton": np.array(poses.skeleton),
                "boxes": poses.boxes,
                "instance_scores": poses.instance_scores,
                "track_ids": poses.track_ids,
            },
        )
    if isinstance(poses, PoseSequence):
        return _write_npz(
            path,
            "PoseSequence",
            {
                "frames": poses.frames,
                "keypoints": poses.keypoints,
                "scores": poses.scores,
                "skeleton": np.array(poses.skeleton),
                "track_id": np.array(poses.track_id, dtype=np.int64),
                "timestamps": poses.timestamps,
                "boxes": poses.boxes,
                "keypoints_3d": poses.keypoints_3d,
                "skeleton_3d": None if poses.skeleton_3d is None else np.array(poses.skeleton_3d),
                "trajectory": poses.trajectory,
            },
        )
    raise TypeError(f"poses must be PoseInstances or PoseSequence, got {type(poses).__name__}")


def load_pose_instances(path: str | os.PathLike[str]) -> PoseInstances:
    """Read a :class:`PoseInstances` written by :func:`save_poses_npz`.

    Raises:
        ValueError: the file holds another container, or lacks an array.
    """
    data = _read_npz(path, "PoseInstances")
    try:
        return PoseInstances(
            keypoints=data["keypoints"],
            scores=data["scores"],
            skeleton=str(data["skeleton"]),
            boxes=data.get("boxes"),
            instance_scores=data.get("instance_scores"),
            track_ids=data.get("track_ids"),
        )
    except KeyError as error:
        raise ValueError(f"{os.fspath(path)} lacks the array {error.args[0]!r}") from None


def load_pose_sequence(path: str | os.PathLike[str]) -> PoseSequence:
    """Read a :class:`PoseSequence` written by :func:`save_poses_npz`.

    Raises:
        ValueError: the file holds another container, or lacks an array.
    """
    data = _read_npz(path, "PoseSequence")
    try:
        return PoseSequence(
            frames=data["frames"],
            keypoints=data["keypoints"],
            scores=data["scores"],
            skeleton=str(data["skeleton"]),
            track_id=int(data["track_id"]),
            timestamps=data.get("timestamps"),
            boxes=data.get("boxes"),
            keypoints_3d=data.get("keypoints_3d"),
            skeleton_3d=str(data["skeleton_3d"]) if "skeleton_3d" in data else None,
            trajectory=data.get("trajectory"),
        )
    except KeyError as error:
        raise ValueError(f"{os.fspath(path)} lacks the array {error.args[0]!r}") from None
