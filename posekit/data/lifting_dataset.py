"""Motion-capture datasets for 2D-to-3D lifting in the official VideoPose3D file format.

Legend: ``T`` frames, ``J`` 3D joints, ``K`` input 2D keypoints (may differ from ``J``: COCO
detections lift to Human3.6M joints), ``C`` cameras of a subject.

VideoPose3D (Pavllo et al., CVPR 2019) prepares every dataset as two files:

* ``data_3d_<dataset>.npz`` with ``positions_3d``: ``{subject: {action: (T, J_raw, 3)}}`` world
  coordinates in metres;
* ``data_2d_<dataset>_<source>.npz`` with ``positions_2d``: ``{subject: {action: [(T, K, 2) per
  camera]}}`` in pixels, and ``metadata``: ``layout_name``, ``num_joints`` and
  ``keypoints_symmetry`` (``[left keypoint indices, right keypoint indices]``).

:class:`LiftingDataset` holds both (read with :func:`posekit.io.safe_pickle.load_npz_objects`,
never with ``allow_pickle``), plus the cameras, and reproduces ``run.py``'s data preparation:
world positions to each camera's frame (``X_cam = R X_world + t``), 2D sequences cut to the
motion-capture length where a video has extra frames, 2D normalised with
:func:`posekit.geometry.normalize_screen_coordinates` by the camera's resolution, and ``fetch``:
subject and action filters (an action is kept when its name starts with one of the filter
words), the ``subset`` fraction (one contiguous chunk per video whose start is drawn from a
SHA-256 of the video length, as ``common/utils.py::deterministic_random``) and ``downsample``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from posekit.geometry import Camera, normalize_screen_coordinates
from posekit.io.safe_pickle import load_npz_objects
from posekit.skeletons import Skeleton

__all__ = [
    "DatasetCamera",
    "LiftingDataset",
    "LiftingSequence",
    "deterministic_random",
    "keypoint_symmetry",
    "load_positions_2d",
    "load_positions_3d",
]


@dataclass(frozen=True, eq=False)
class DatasetCamera:
    """A dataset camera: extrinsics, resolution and (where the dataset has them) intrinsics.

    HumanEva, as VideoPose3D prepares it, has extrinsics but no intrinsics, so this is not a
    :class:`posekit.geometry.Camera` (which needs a focal length).

    Attributes:
        R: ``(3, 3)`` world-to-camera rotation.
        t: ``(3,)`` world-to-camera translation in metres (``X_cam = R @ X_world + t``).
        image_size: ``(w, h)`` in pixels.
        intrinsics: ``(9,)`` normalised ``[fx, fy, cx, cy, k1, k2, k3, p1, p2]`` or ``None``.
    """

    R: np.ndarray
    t: np.ndarray
    image_size: tuple[int, int]
    intrinsics: np.ndarray | None = None

    @classmethod
    def from_camera(cls, camera: Camera) -> DatasetCamera:
        """From a calibrated :class:`~posekit.geometry.Camera` with ``image_size``."""
        if camera.image_size is None:
            raise ValueError("DatasetCamera.from_camera needs a camera with image_size")
        return cls(
            R=camera.R,
            t=camera.t,
            image_size=camera.image_size,
            intrinsics=np.asarray(camera.normalized_intrinsics(), dtype=np.float32),
        )

    def world_to_camera(self, points: np.ndarray) -> np.ndarray:
        """``(..., 3)`` world points (metres) to camera space, float64."""
        return np.asarray(points, dtype=np.float64) @ np.asarray(self.R).T + np.asarray(self.t)


@dataclass(frozen=True, eq=False)
class LiftingSequence:
    """One video of one camera: normalised 2D keypoints and, when labelled, camera-space 3D joints.

    Attributes:
        subject: subject name (``"S9"``, ``"Validate/S1"``...).
        action: action name as stored (``"Walking 1"``).
        camera_index: index of the camera within the subject.
        keypoints_2d: ``(T, K, 2)`` float32 normalised screen coordinates.
        positions_3d: ``(T, J, 3)`` float32 camera-space joints in metres (absolute: joint 0 is
            the root's camera-space position, i.e. the trajectory), or ``None`` when unlabelled.
        intrinsics: ``(9,)`` float32 normalised ``[fx, fy, cx, cy, k1, k2, k3, p1, p2]`` (as
            VideoPose3D stores them), or ``None`` when the camera has no intrinsics.
        image_size: ``(w, h)`` of the camera in pixels.
    """

    subject: str
    action: str
    camera_index: int
    keypoints_2d: np.ndarray
    positions_3d: np.ndarray | None
    intrinsics: np.ndarray | None
    image_size: tuple[int, int]

    def __len__(self) -> int:
        return int(self.keypoints_2d.shape[0])


def deterministic_random(min_value: int, max_value: int, data: str) -> int:
    """An integer in ``[min_value, max_value)`` from the SHA-256 of ``data`` (VideoPose3D ``utils.py``)."""
    digest = hashlib.sha256(data.encode()).digest()
    raw_value = int.from_bytes(digest[:4], byteorder="little", signed=False)
    return int(raw_value / (2**32 - 1) * (max_value - min_value)) + min_value


def load_positions_3d(path: str) -> dict[str, dict[str, np.ndarray]]:
    """Read ``positions_3d`` from an official ``data_3d_*.npz`` (no unsafe unpickling).

    Returns:
        ``{subject: {action: (T, J_raw, 3) float32}}`` in metres, world frame.

    Raises:
        ValueError: the file has no ``positions_3d`` dict or an entry of the wrong shape.
    """
    contents = load_npz_objects(path)
    data = contents.get("positions_3d")
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: expected a 'positions_3d' dict (official data_3d_*.npz), got {sorted(contents)}")
    result: dict[str, dict[str, np.ndarray]] = {}
    for subject, actions in data.items():
        if not isinstance(actions, Mapping):
            raise ValueError(f"{path}: positions_3d[{subject!r}] must be a dict of actions")
        result[str(subject)] = {}
        for action, positions in actions.items():
            array = np.asarray(positions, dtype=np.float32)
            if array.ndim != 3 or array.shape[-1] != 3:
                raise ValueError(
                    f"{path}: positions_3d[{subject!r}][{action!r}] must have shape (T, J, 3), got {array.shape}"
                )
            result[str(subject)][str(action)] = array
    return result


def load_positions_2d(path: str) -> tuple[dict[str, dict[str, list[np.ndarray | None]]], dict[str, Any]]:
    """Read ``positions_2d`` and ``metadata`` from an official ``data_2d_*.npz``.

    Returns:
        ``({subject: {action: [(T, K, 2) float32 pixels or None per camera]}}, metadata)``; the
        metadata has ``layout_name``, ``num_joints`` and ``keypoints_symmetry``.

    Raises:
        ValueError: missing ``positions_2d``/``metadata`` or arrays of the wrong shape.
    """
    contents = load_npz_objects(path)
    data = contents.get("positions_2d")
    metadata = contents.get("metadata")
    if not isinstance(data, Mapping) or not isinstance(metadata, Mapping):
        raise ValueError(
            f"{path}: expected 'positions_2d' and 'metadata' dicts (official data_2d_*.npz), got {sorted(contents)}"
        )
    if "keypoints_symmetry" not in metadata:
        raise ValueError(f"{path}: metadata has no 'keypoints_symmetry' (got keys {sorted(metadata)})")
    result: dict[str, dict[str, list[np.ndarray | None]]] = {}
    for subject, actions in data.items():
        result[str(subject)] = {}
        for action, per_camera in actions.items():
            sequences: list[np.ndarray | None] = []
            for camera_index, keypoints in enumerate(per_camera):
                if keypoints is None:
                    sequences.append(None)
                    continue
                array = np.asarray(keypoints, dtype=np.float32)
                if array.ndim != 3 or array.shape[-1] < 2:
                    raise ValueError(
                        f"{path}: positions_2d[{subject!r}][{action!r}][{camera_index}] must have shape (T, K, 2), "
                        f"got {array.shape}"
                    )
                sequences.append(array[..., :2])
            result[str(subject)][str(action)] = sequences
    return result, dict(metadata)


def keypoint_symmetry(
    metadata: Mapping[str, Any], num_keypoints: int, source: str
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``(left, right)`` keypoint indices from a 2D file's ``metadata["keypoints_symmetry"]``."""
    symmetry = metadata["keypoints_symmetry"]
    if len(symmetry) != 2:
        raise ValueError(f"{source}: keypoints_symmetry must be [left indices, right indices], got {symmetry!r}")
    left = tuple(int(index) for index in symmetry[0])
    right = tuple(int(index) for index in symmetry[1])
    if len(left) != len(right) or any(not 0 <= index < num_keypoints for index in left + right):
        raise ValueError(
            f"{source}: keypoints_symmetry must pair up indices below {num_keypoints}, got {list(left)} / {list(right)}"
        )
    return left, right


@dataclass(eq=False)
class LiftingDataset:
    """A lifting dataset: world-frame 3D joints, per-camera 2D keypoints, cameras, skeleton.

    Build it with a dataset module's loader (:func:`posekit.data.h36m.load_h36m`,
    :func:`posekit.data.humaneva.load_humaneva`) or directly.

    Attributes:
        name: dataset name for messages.
        skeleton: the 3D joints' skeleton (``J`` joints; parents and flip pairs).
        cameras: ``{subject: (DatasetCamera, ...)}``, one per video camera.
        positions_world: ``{subject: {action: (T, J, 3)}}`` world metres (already reduced to
            ``J`` joints); subjects without 3D are absent.
        keypoints_2d: ``{subject: {action: [(T, K, 2) pixels, one per camera]}}``.
        keypoints_left, keypoints_right: 2D keypoint indices swapped by a horizontal flip.
        fps: frame rate of the videos.
    """

    name: str
    skeleton: Skeleton
    cameras: dict[str, tuple[DatasetCamera, ...]]
    positions_world: dict[str, dict[str, np.ndarray]]
    keypoints_2d: dict[str, dict[str, list[np.ndarray]]]
    keypoints_left: tuple[int, ...]
    keypoints_right: tuple[int, ...]
    fps: float

    def __post_init__(self) -> None:
        self._positions_camera: dict[tuple[str, str], list[np.ndarray]] = {}
        for subject, actions in self.positions_world.items():
            if subject not in self.cameras:
                raise ValueError(f"{self.name}: subject {subject!r} has 3D positions but no cameras")
            for action, positions in actions.items():
                if positions.ndim != 3 or positions.shape[1:] != (self.skeleton.num_keypoints, 3):
                    raise ValueError(
                        f"{self.name}: {subject}/{action} positions must have shape "
                        f"(T, {self.skeleton.num_keypoints}, 3), got {positions.shape}"
                    )
        # run.py: every 2D video of a labelled action must be at least as long as the mocap; cut it.
        for subject, subject_keypoints in self.keypoints_2d.items():
            for action, per_camera in subject_keypoints.items():
                if subject in self.positions_world and action in self.positions_world[subject]:
                    mocap_length = self.positions_world[subject][action].shape[0]
                    if len(per_camera) != len(self.cameras[subject]):
                        raise ValueError(
                            f"{self.name}: {subject}/{action} has 2D for {len(per_camera)} cameras, the subject has "
                            f"{len(self.cameras[subject])}"
                        )
                    for camera_index, keypoints in enumerate(per_camera):
                        if keypoints.shape[0] < mocap_length:
                            raise ValueError(
                                f"{self.name}: {subject}/{action} camera {camera_index} has {keypoints.shape[0]} 2D "
                                f"frames, fewer than the {mocap_length} motion-capture frames"
                            )
                        per_camera[camera_index] = keypoints[:mocap_length]

    # ------------------------------------------------------------------------------- views

    @property
    def joints_left(self) -> tuple[int, ...]:
        """3D joint indices on the left (swapped by a flip)."""
        return tuple(left for left, _ in self.skeleton.flip_pair_indices)

    @property
    def joints_right(self) -> tuple[int, ...]:
        """3D joint indices on the right."""
        return tuple(right for _, right in self.skeleton.flip_pair_indices)

    @property
    def num_keypoints(self) -> int:
        """Input 2D keypoints ``K`` per frame."""
        for actions in self.keypoints_2d.values():
            for per_camera in actions.values():
                for keypoints in per_camera:
                    return int(keypoints.shape[1])
        raise ValueError(f"{self.name}: the dataset has no 2D keypoints")

    def subjects(self) -> list[str]:
        """Subjects with 2D keypoints, in file order."""
        return list(self.keypoints_2d)

    def supports_semi_supervised(self) -> bool:
        """Whether every camera has intrinsics (needed to project predictions back to 2D)."""
        return all(camera.intrinsics is not None for cameras in self.cameras.values() for camera in cameras)

    def positions_camera(self, subject: str, action: str) -> list[np.ndarray]:
        """``[(T, J, 3) float32 camera-space joints per camera]`` (computed once, then cached)."""
        key = (subject, action)
        if key not in self._positions_camera:
            world = self.positions_world[subject][action]
            self._positions_camera[key] = [
                np.asarray(camera.world_to_camera(world), dtype=np.float32) for camera in self.cameras[subject]
            ]
        return self._positions_camera[key]

    def actions(self, subject: str) -> list[str]:
        """Action names of ``subject`` that have 2D keypoints."""
        if subject not in self.keypoints_2d:
            raise ValueError(f"{self.name}: no subject {subject!r}; subjects: {', '.join(self.keypoints_2d)}")
        return list(self.keypoints_2d[subject])

    def sequences(
        self,
        subjects: Iterable[str],
        actions: Sequence[str] | None = None,
        *,
        with_3d: bool = True,
        subset: float = 1.0,
        downsample: int = 1,
    ) -> list[LiftingSequence]:
        """The videos of ``subjects`` as :class:`LiftingSequence`, as ``run.py``'s ``fetch``.

        Args:
            subjects: subject names.
            actions: keep actions whose name starts with one of these (``None`` or empty: all).
            with_3d: attach camera-space 3D joints (labelled); ``False`` for unlabelled use.
            subset: fraction of each video to keep, as one contiguous chunk whose start comes
                from :func:`deterministic_random` of the video length (official ``--subset``).
            downsample: keep every ``downsample``-th frame (official ``--downsample``).

        Returns:
            One sequence per (subject, action, camera), cameras in order.

        Raises:
            ValueError: an unknown subject, bad ``subset``/``downsample``, or 3D requested for
                a subject without it.
        """
        if not 0 < subset <= 1:
            raise ValueError(f"subset must be in (0, 1], got {subset}")
        if downsample < 1:
            raise ValueError(f"downsample must be >= 1, got {downsample}")
        result: list[LiftingSequence] = []
        for subject in subjects:
            if subject not in self.keypoints_2d:
                raise ValueError(
                    f"{self.name}: subject {subject!r} is missing from the 2D keypoints; "
                    f"available: {', '.join(self.keypoints_2d)}"
                )
            for action, per_camera in self.keypoints_2d[subject].items():
                if actions and not any(action.startswith(prefix) for prefix in actions):
                    continue
                positions: list[np.ndarray] | None = None
                if with_3d:
                    if subject not in self.positions_world or action not in self.positions_world[subject]:
                        raise ValueError(f"{self.name}: {subject}/{action} has no 3D positions (labelled data needed)")
                    positions = self.positions_camera(subject, action)
                cameras = self.cameras[subject]
                for camera_index, keypoints in enumerate(per_camera):
                    camera = cameras[camera_index]
                    width, height = camera.image_size
                    normalised = np.asarray(normalize_screen_coordinates(keypoints, width, height), dtype=np.float32)
                    positions_3d = positions[camera_index] if positions is not None else None
                    normalised, positions_3d = _subsample(normalised, positions_3d, subset, downsample)
                    result.append(
                        LiftingSequence(
                            subject=subject,
                            action=action,
                            camera_index=camera_index,
                            keypoints_2d=normalised,
                            positions_3d=positions_3d,
                            intrinsics=camera.intrinsics,
                            image_size=(width, height),
                        )
                    )
        return result


def _subsample(
    keypoints: np.ndarray, positions: np.ndarray | None, subset: float, stride: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """``run.py``'s ``fetch``: a deterministic contiguous chunk (``subset < 1``) and/or a stride."""
    if subset < 1:
        length = len(keypoints)
        num_frames = int(round(length // stride * subset) * stride)
        start = deterministic_random(0, length - num_frames + 1, str(length))
        keypoints = keypoints[start : start + num_frames : stride]
        if positions is not None:
            positions = positions[start : start + num_frames : stride]
    elif stride > 1:
        keypoints = keypoints[::stride]
        if positions is not None:
            positions = positions[::stride]
    return keypoints, positions
