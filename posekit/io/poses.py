"""``.npz`` files of :class:`~posekit.structures.PoseInstances` and :class:`~posekit.structures.PoseSequence`,
and ``poses3d.npz``, the lifted tracks of ``posekit predict --lift`` (:func:`save_poses3d_npz`).

A file holds only plain arrays (read back with ``allow_pickle=False``: no pickle is ever loaded), the
skeleton name beside them and a ``posekit_type`` tag saying which container it is. Files are written
atomically (:func:`posekit.io.atomic.atomic_path`): a reader never sees half a file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from posekit.io.atomic import atomic_path
from posekit.skeletons import H36M
from posekit.structures import PoseInstances, PoseSequence

__all__ = ["load_pose_instances", "load_pose_sequence", "load_poses3d_npz", "save_poses3d_npz", "save_poses_npz"]


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


# ------------------------------------------------------------------------------------------ lifted tracks
def _track_key(file_index: int, track_id: int, single_file: bool) -> str:
    return str(track_id) if single_file else f"{file_index}_{track_id}"


def save_poses3d_npz(
    path: str | os.PathLike[str],
    tracks: Sequence[tuple[str, PoseSequence]],
    *,
    extra: Mapping[str, np.ndarray] | None = None,
) -> Path:
    """Write lifted tracks to one ``.npz`` (atomically); the layout ``posekit predict --lift`` uses.

    Arrays (all numeric or unicode, no pickles):

    * ``skeleton`` ``"h36m"``; ``units`` ``"metres"``; ``coordinates`` ``"camera"``;
    * ``file_names`` ``(S,)`` the inputs, ``track_ids`` ``(N,)`` int64, ``track_files`` ``(N,)``
      int64 index into ``file_names``, ``track_keys`` ``(N,)`` the key of each track's arrays:
      the track id when every track comes from one file, else ``"<file index>_<track id>"``;
    * per track ``key``: ``track_<key>_frames`` ``(T,)`` int64, ``track_<key>_keypoints_3d``
      ``(T, 17, 3)`` float32 root-relative metres, ``track_<key>_trajectory`` ``(T, 3)``,
      ``track_<key>_keypoints_2d`` ``(T, 17, 2)`` pixels (Human3.6M-17, filled) and
      ``track_<key>_interpolated`` ``(T, 17)`` bool (2D values that were filled).

    Args:
        path: target ``.npz``.
        tracks: ``(file name, lifted PoseSequence)`` pairs.
        extra: more arrays to store as they are.
    """
    file_names: list[str] = []
    for file_name, _ in tracks:
        if file_name not in file_names:
            file_names.append(file_name)
    single = len(file_names) <= 1
    arrays: dict[str, np.ndarray] = {
        "skeleton": np.array(H36M.name),
        "units": np.array("metres"),
        "coordinates": np.array("camera"),
        "file_names": np.array(file_names, dtype=np.str_) if file_names else np.zeros(0, np.str_),
    }
    track_ids, track_files, keys = [], [], []
    for file_name, sequence in tracks:
        if sequence.keypoints_3d is None or sequence.trajectory is None:
            raise ValueError(f"track {sequence.track_id} of {file_name} has no keypoints_3d/trajectory; lift it first")
        file_index = file_names.index(file_name)
        key = _track_key(file_index, sequence.track_id, single)
        if key in keys:
            raise ValueError(f"track {sequence.track_id} of {file_name} appears twice")
        track_ids.append(sequence.track_id)
        track_files.append(file_index)
        keys.append(key)
        arrays[f"track_{key}_frames"] = sequence.frames
        arrays[f"track_{key}_keypoints_3d"] = sequence.keypoints_3d
        arrays[f"track_{key}_trajectory"] = sequence.trajectory
        arrays[f"track_{key}_keypoints_2d"] = sequence.keypoints[..., :2]
        arrays[f"track_{key}_interpolated"] = sequence.scores <= 0
    arrays["track_ids"] = np.asarray(track_ids, dtype=np.int64)
    arrays["track_files"] = np.asarray(track_files, dtype=np.int64)
    arrays["track_keys"] = np.array(keys, dtype=np.str_) if keys else np.zeros(0, np.str_)
    for name, value in (extra or {}).items():
        if name in arrays:
            raise ValueError(f"extra array name {name!r} clashes with the layout")
        arrays[name] = np.asarray(value)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)  # type: ignore[arg-type]
    return Path(path)


def load_poses3d_npz(path: str | os.PathLike[str]) -> list[tuple[str, PoseSequence]]:
    """Read a file written by :func:`save_poses3d_npz` (``allow_pickle=False``).

    Returns:
        ``(file name, PoseSequence)`` pairs in the stored order, ``skeleton="h36m"``; 2D scores
        are 0 where the 2D values were filled and 1 elsewhere.
    """
    with np.load(path, allow_pickle=False) as data:
        try:
            file_names = [str(name) for name in data["file_names"]]
            results = []
            for track_id, file_index, key in zip(
                data["track_ids"], data["track_files"], data["track_keys"], strict=True
            ):
                interpolated = data[f"track_{key}_interpolated"]
                results.append(
                    (
                        file_names[int(file_index)],
                        PoseSequence(
                            frames=data[f"track_{key}_frames"],
                            keypoints=data[f"track_{key}_keypoints_2d"],
                            scores=np.where(interpolated, 0.0, 1.0).astype(np.float32),
                            skeleton=str(data["skeleton"]),
                            track_id=int(track_id),
                            keypoints_3d=data[f"track_{key}_keypoints_3d"],
                            skeleton_3d=str(data["skeleton"]),
                            trajectory=data[f"track_{key}_trajectory"],
                        ),
                    )
                )
        except KeyError as error:
            raise ValueError(f"{os.fspath(path)} is not a posekit poses3d file: no array {error.args[0]!r}") from None
    return results
