"""AMASS motion files as body-model parameter sequences, resampled, and windows for a motion discriminator.

Legend: ``T`` frames, ``L`` window length, ``B`` shape coefficients (betas).

AMASS (Mahmood et al., "AMASS: Archive of Motion Capture as Surface Shapes", ICCV 2019) ships one
``.npz`` per take with ``poses (T, P)`` axis-angle radians, ``betas (16,)``, ``trans (T, 3)``
metres (world frame, z up), ``gender`` and ``mocap_framerate`` (``mocap_frame_rate`` in the
SMPL-X release). ``P`` depends on the body model the take was fitted with:

* ``156`` SMPL+H, 52 joints: SMPL's 24 are joints 0-21 plus the first joint of each hand's index
  finger, 22 and 37 (VIBE ``lib/data_utils/amass_utils.py``, ``joints_to_use``);
* ``165`` SMPL-X, 55 joints: 0-21 plus 25 and 40 (after jaw and eyes, the same finger joints);
* ``72`` SMPL, 24 joints, as is; ``66`` body only, 22 joints: the two hand joints are zero.

:func:`load_amass_motion` returns a :class:`MotionSequence` with SMPL's named parameters
(``global_orient (T, 3)``, ``body_pose (T, 23, 3)``, ``betas (B,)``, ``transl (T, 3)``), at a
target frame rate:

* ``method="subsample"`` (VIBE): every ``step``-th frame with ``step = int(source) // int(target)``,
  so the frame rate reached is ``source / step`` (VIBE's 120 fps takes at target 25 fps give every
  4th frame, 30 fps); :attr:`MotionSequence.fps` says what it is;
* ``method="slerp"``: frames at exactly ``k / target`` seconds, joint rotations interpolated by
  quaternion slerp (Shoemake, "Animating rotation with quaternion curves", SIGGRAPH 1985) and the
  translation linearly, for rates that do not divide the source rate (or are above it).

:class:`MotionWindows` cuts sequences into windows of ``L`` frames with a stride (VIBE
``lib/dataset/amass.py``: ``L = seqlen``, stride ``L``, sequences shorter than ``L`` left out); it
is a map-style dataset of numpy arrays that ``torch.utils.data.DataLoader`` batches as is.
:func:`load_amass_folder` walks an AMASS tree (skipping the per-subject ``shape.npz``), going on
past unreadable files and listing them with the reason.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np

from posekit.data.npz_files import read_npz, require_keys
from posekit.geometry.rotations import axis_angle_to_quaternion, quaternion_to_axis_angle

__all__ = [
    "AMASS_KEYS",
    "AmassFolder",
    "MotionSequence",
    "MotionWindows",
    "amass_files",
    "load_amass_folder",
    "load_amass_motion",
    "smpl_joints_from_amass_poses",
]

AMASS_KEYS: tuple[str, ...] = ("poses", "betas", "trans", "gender", "mocap_framerate")
_WHAT = "an AMASS motion file"
NUM_BODY_JOINTS = 23  # SMPL's joints after the root
ResampleMethod = Literal["subsample", "slerp"]

# Values per frame in ``poses`` -> the source joints giving SMPL's 24 (None: a zero joint).
_SMPL_JOINTS_BY_LAYOUT: dict[int, tuple[int | None, ...]] = {
    72: tuple(range(24)),  # SMPL
    156: (*range(22), 22, 37),  # SMPL+H: left/right index finger 1 stand for SMPL's hands
    165: (*range(22), 25, 40),  # SMPL-X: after jaw and eyes
    66: (*range(22), None, None),  # body only
}


def smpl_joints_from_amass_poses(poses: np.ndarray, source: str = "poses") -> np.ndarray:
    """SMPL's 24 joint rotations from an AMASS ``poses`` array of any supported layout.

    Args:
        poses: ``(T, P)`` axis-angle radians with ``P`` in 72, 156, 165 or 66 (module docstring).
        source: name for messages.

    Returns:
        ``(T, 24, 3)`` float64.

    Raises:
        ValueError: another shape.
    """
    values = np.asarray(poses)
    if values.ndim != 2 or values.shape[1] not in _SMPL_JOINTS_BY_LAYOUT:
        raise ValueError(
            f"{source}: 'poses' must have shape (T, 156) (SMPL+H), (T, 165) (SMPL-X), (T, 72) (SMPL) or (T, 66), "
            f"got {values.shape}"
        )
    joints = values.astype(np.float64).reshape(values.shape[0], -1, 3)  # (T, P) -> (T, P/3, 3)
    result = np.zeros((values.shape[0], 24, 3), dtype=np.float64)
    for target, index in enumerate(_SMPL_JOINTS_BY_LAYOUT[values.shape[1]]):
        if index is not None:
            result[:, target] = joints[:, index]
    return result


@dataclass(frozen=True, eq=False, kw_only=True)
class MotionSequence:
    """One motion as SMPL parameters over time.

    Attributes:
        name: where it came from (the file's path relative to the walked root, without ``.npz``).
        global_orient: ``(T, 3)`` float32 axis-angle radians of the root (pelvis).
        body_pose: ``(T, 23, 3)`` float32 axis-angle radians of SMPL joints 1-23.
        betas: ``(B,)`` float32 shape coefficients (one body per take).
        transl: ``(T, 3)`` float32 metres, root translation in the take's world frame.
        gender: ``"male"``, ``"female"`` or ``"neutral"`` (as the file says).
        fps: frames per second of these frames.
        source_fps: the take's capture rate.
        source_frames: ``(T,)`` float64 positions in the original frames (fractional after slerp).
    """

    name: str
    global_orient: np.ndarray
    body_pose: np.ndarray
    betas: np.ndarray
    transl: np.ndarray
    gender: str
    fps: float
    source_fps: float
    source_frames: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        length = int(np.asarray(self.global_orient).shape[0])
        checks = {
            "global_orient": (self.global_orient, (length, 3)),
            "body_pose": (self.body_pose, (length, NUM_BODY_JOINTS, 3)),
            "transl": (self.transl, (length, 3)),
        }
        for name, (value, shape) in checks.items():
            array = np.asarray(value, dtype=np.float32)
            if array.shape != shape:
                raise ValueError(f"MotionSequence {self.name!r}: {name} must have shape {shape}, got {array.shape}")
            if not np.isfinite(array).all():
                raise ValueError(f"MotionSequence {self.name!r}: {name} holds NaN or infinite values")
            object.__setattr__(self, name, array)
        betas = np.asarray(self.betas, dtype=np.float32)
        if betas.ndim != 1:
            raise ValueError(f"MotionSequence {self.name!r}: betas must have shape (B,), got {betas.shape}")
        object.__setattr__(self, "betas", betas)
        frames = np.asarray(self.source_frames, dtype=np.float64)
        if frames.size == 0:
            frames = np.arange(length, dtype=np.float64)
        if frames.shape != (length,):
            raise ValueError(f"MotionSequence {self.name!r}: source_frames must have shape ({length},)")
        object.__setattr__(self, "source_frames", frames)
        if not (self.fps > 0 and self.source_fps > 0):
            raise ValueError(f"MotionSequence {self.name!r}: frame rates must be positive, got {self.fps}")

    def __len__(self) -> int:
        return int(self.global_orient.shape[0])

    @property
    def duration(self) -> float:
        """Seconds from the first to the last frame."""
        return (len(self) - 1) / self.fps if len(self) else 0.0

    def full_pose(self) -> np.ndarray:
        """``(T, 24, 3)`` all joint rotations, root first (the layout of smplx's ``full_pose``)."""
        return np.concatenate([self.global_orient[:, None], self.body_pose], axis=1)

    def resample(self, target_fps: float, method: ResampleMethod = "subsample") -> MotionSequence:
        """This motion at another frame rate (see the module docstring for the two methods).

        Raises:
            ValueError: a non-positive rate, an unknown method, or ``"subsample"`` to a rate above
                this one (use ``"slerp"``).
        """
        if not target_fps > 0:
            raise ValueError(f"target_fps must be positive, got {target_fps}")
        if method == "subsample":
            step = int(self.fps) // int(target_fps) if int(target_fps) >= 1 else 0
            if step < 1:
                raise ValueError(
                    f"{self.name}: cannot subsample {self.fps:g} fps to {target_fps:g} fps (the target is faster); "
                    "use method='slerp'"
                )
            rows = np.arange(0, len(self), step)
            return replace(
                self,
                global_orient=self.global_orient[rows],
                body_pose=self.body_pose[rows],
                transl=self.transl[rows],
                fps=self.fps / step,
                source_frames=self.source_frames[rows],
            )
        if method != "slerp":
            raise ValueError(f"method must be 'subsample' or 'slerp', got {method!r}")
        if len(self) < 2:
            return replace(self, fps=float(target_fps))
        count = int(math.floor((len(self) - 1) * target_fps / self.fps + 1e-9)) + 1
        times = np.arange(count) * (self.fps / target_fps)  # (T',) in frames of this sequence
        lower = np.minimum(np.floor(times).astype(np.int64), len(self) - 1)
        upper = np.minimum(lower + 1, len(self) - 1)
        weight = times - lower  # (T',)
        rotations = self.full_pose().astype(np.float64)  # (T, 24, 3)
        blended = _slerp(
            axis_angle_to_quaternion(rotations[lower]), axis_angle_to_quaternion(rotations[upper]), weight
        )  # (T', 24, 4)
        axis_angle = quaternion_to_axis_angle(blended)  # (T', 24, 3)
        transl = self.transl[lower] * (1 - weight[:, None]) + self.transl[upper] * weight[:, None]
        frames = self.source_frames[lower] * (1 - weight) + self.source_frames[upper] * weight
        return replace(
            self,
            global_orient=axis_angle[:, 0],
            body_pose=axis_angle[:, 1:],
            transl=transl,
            fps=float(target_fps),
            source_frames=frames,
        )


def _slerp(first: np.ndarray, second: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Spherical interpolation of unit quaternions ``(T, J, 4)`` with weights ``(T,)`` (shortest arc)."""
    dot = np.sum(first * second, axis=-1, keepdims=True)  # (T, J, 1)
    second = np.where(dot < 0, -second, second)  # q and -q are one rotation: take the short way
    dot = np.clip(np.abs(dot), 0.0, 1.0)
    angle = np.arccos(dot)
    sin_angle = np.sin(angle)
    t = weight[:, None, None]  # (T, 1, 1)
    close = sin_angle < 1e-6
    safe = np.where(close, 1.0, sin_angle)
    slerped = (np.sin((1 - t) * angle) * first + np.sin(t * angle) * second) / safe
    linear = (1 - t) * first + t * second
    blended = np.where(close, linear, slerped)
    return blended / np.linalg.norm(blended, axis=-1, keepdims=True)


def _text(value: np.ndarray) -> str:
    item = np.asarray(value).reshape(-1)[0] if np.asarray(value).size else ""
    if isinstance(item, bytes):
        item = item.decode("utf-8", "replace")
    return str(item).strip()


def load_amass_motion(
    path: str | os.PathLike[str],
    *,
    target_fps: float | None = 30.0,
    method: ResampleMethod = "subsample",
    num_betas: int = 10,
    name: str | None = None,
) -> MotionSequence:
    """Read one AMASS ``.npz`` take as SMPL parameters at ``target_fps``.

    Args:
        path: the take (``poses``, ``betas``, ``trans``, ``gender``, ``mocap_framerate``).
        target_fps: frame rate wanted, or None to keep the capture rate.
        method: ``"subsample"`` (VIBE) or ``"slerp"`` (module docstring).
        num_betas: shape coefficients kept (VIBE keeps 10 of AMASS's 16; fewer in the file are
            padded with zeros).
        name: the sequence name (default: the file name without ``.npz``).

    Raises:
        FileNotFoundError: no file.
        ValueError: not an ``.npz``, a missing key (the message names the file and the key), arrays
            of the wrong shape, or NaN values.
    """
    file_path = Path(path)
    arrays = read_npz(file_path, _WHAT)
    if "mocap_framerate" not in arrays and "mocap_frame_rate" in arrays:  # the SMPL-X release's spelling
        arrays["mocap_framerate"] = arrays["mocap_frame_rate"]
    require_keys(arrays, AMASS_KEYS, file_path, "an AMASS motion file")
    rotations = smpl_joints_from_amass_poses(arrays["poses"], source=str(file_path))  # (T, 24, 3)
    length = rotations.shape[0]
    transl = np.asarray(arrays["trans"], dtype=np.float64)
    if transl.shape != (length, 3):
        raise ValueError(f"{file_path}: 'trans' must have shape ({length}, 3) like 'poses', got {transl.shape}")
    betas = np.asarray(arrays["betas"], dtype=np.float64).reshape(-1)
    kept = np.zeros(num_betas, dtype=np.float64)
    kept[: min(num_betas, betas.size)] = betas[:num_betas]
    try:
        source_fps = float(np.asarray(arrays["mocap_framerate"]).reshape(-1)[0])
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"{file_path}: 'mocap_framerate' must be a number") from None
    if not (math.isfinite(source_fps) and source_fps > 0):
        raise ValueError(f"{file_path}: 'mocap_framerate' must be a positive number, got {source_fps}")
    for key, values in (("poses", rotations), ("trans", transl), ("betas", kept)):
        if not np.isfinite(values).all():
            raise ValueError(f"{file_path}: '{key}' holds NaN or infinite values")
    motion = MotionSequence(
        name=name if name is not None else file_path.stem,
        global_orient=rotations[:, 0],
        body_pose=rotations[:, 1:],
        betas=kept,
        transl=transl,
        gender=_text(arrays["gender"]).lower() or "neutral",
        fps=source_fps,
        source_fps=source_fps,
    )
    return motion if target_fps is None else motion.resample(target_fps, method)


def amass_files(root: str | os.PathLike[str]) -> list[Path]:
    """Every take under ``root`` (``*.npz`` at any depth, sorted), without the per-subject ``shape.npz``.

    Raises:
        FileNotFoundError: ``root`` is not a folder.
    """
    folder = Path(root)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder (expected an AMASS tree of .npz takes)")
    return sorted(path for path in folder.rglob("*.npz") if not path.name.endswith("shape.npz"))


@dataclass(frozen=True)
class AmassFolder:
    """The takes read from a folder and the files left out.

    Attributes:
        sequences: the motions, in file order.
        skipped: ``(file, reason)`` for each file not read or too short.
    """

    sequences: list[MotionSequence]
    skipped: list[tuple[Path, str]]


def load_amass_folder(
    root: str | os.PathLike[str],
    *,
    target_fps: float | None = 30.0,
    method: ResampleMethod = "subsample",
    num_betas: int = 10,
    min_frames: int = 60,
) -> AmassFolder:
    """Read every take under ``root``; bad files are listed in ``skipped`` and the others still read.

    Args:
        root: an AMASS tree (``<dataset>/<subject>/<take>.npz``) or any folder of takes.
        target_fps, method, num_betas: as :func:`load_amass_motion`.
        min_frames: takes with fewer frames after resampling are skipped (VIBE: 60).

    Returns:
        An :class:`AmassFolder`; names are the paths relative to ``root`` without ``.npz``.
    """
    sequences: list[MotionSequence] = []
    skipped: list[tuple[Path, str]] = []
    folder = Path(root)
    for path in amass_files(folder):
        name = path.relative_to(folder).with_suffix("").as_posix()
        try:
            motion = load_amass_motion(path, target_fps=target_fps, method=method, num_betas=num_betas, name=name)
        except (OSError, ValueError) as error:
            skipped.append((path, str(error)))
            continue
        if len(motion) < min_frames:
            skipped.append((path, f"{len(motion)} frames after resampling, fewer than min_frames={min_frames}"))
            continue
        sequences.append(motion)
    return AmassFolder(sequences=sequences, skipped=skipped)


class MotionWindows:
    """Windows of ``L`` consecutive frames of body-model parameters (VIBE's AMASS dataset).

    Args:
        sequences: the motions (at one frame rate, e.g. from :func:`load_amass_folder`).
        window: frames per window ``L`` (VIBE ``seqlen``, 16 in its configs).
        stride: frames between window starts (default ``L``: no overlap, as VIBE).

    ``dataset[i]`` is a dict of float32 arrays: ``global_orient (L, 3)``, ``body_pose (L, 23, 3)``,
    ``betas (L, B)`` (the take's shape repeated), ``transl (L, 3)``; ``windows[i]`` is the
    ``(sequence index, first frame)`` it came from.
    """

    def __init__(self, sequences: Sequence[MotionSequence], *, window: int = 16, stride: int | None = None) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        step = window if stride is None else stride
        if step < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        beta_counts = {motion.betas.shape[0] for motion in sequences}
        if len(beta_counts) > 1:
            raise ValueError(f"the motions have different numbers of betas: {sorted(beta_counts)}")
        self.sequences = list(sequences)
        self.window = window
        self.stride = step
        self.windows: list[tuple[int, int]] = [
            (index, start)
            for index, motion in enumerate(self.sequences)
            for start in range(0, len(motion) - window + 1, step)
        ]

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"window {index} out of range for {len(self)} windows")
        sequence_index, start = self.windows[index]
        motion = self.sequences[sequence_index]
        rows = slice(start, start + self.window)
        return {
            "global_orient": motion.global_orient[rows],
            "body_pose": motion.body_pose[rows],
            "betas": np.repeat(motion.betas[None], self.window, axis=0),  # (B,) -> (L, B)
            "transl": motion.transl[rows],
        }
