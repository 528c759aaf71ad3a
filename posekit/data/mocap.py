"""Real motion capture available offline: the DeepMimic clips shipped in the ``pybullet`` wheel.

The ``pybullet`` wheel carries 15 humanoid motion-capture clips from DeepMimic (Peng et al.,
SIGGRAPH 2018), 1,620 frames in all, under ``pybullet_data/data/motions/humanoid3d_*.txt``,
and the humanoid they drive, ``pybullet_data/humanoid/humanoid.urdf``. The URDF is modelled
at four times human size; scaled by 0.25 it is a 1.7 m person (hip height 0.85 m, which is the
root height the clips store).

A clip file is JSON ``{"Loop": ..., "Frames": [[...44 numbers...], ...]}``; each frame is::

    duration (s), root position (3, world metres, y up), root rotation (w, x, y, z),
    chest (wxyz), neck (wxyz), right hip (wxyz), right knee (angle), right ankle (wxyz),
    right shoulder (wxyz), right elbow (angle), left hip (wxyz), left knee (angle),
    left ankle (wxyz), left shoulder (wxyz), left elbow (angle)

Spherical joints rotate by their quaternion in the parent's frame, revolute joints (knees,
elbows) by their angle about the joint axis in the URDF (z). Forward kinematics here turns a
clip into named 3D points in metres in the clip's world frame (y up, +x forward of the body):
the URDF's joints plus body "sites" placed on its collision shapes (head sphere, foot boxes).

Sites that are not joints of the URDF, and how they are placed (all in the parent link's
frame, URDF units before scaling):

* ``head_center`` = neck link sphere centre (0, 0.70, 0); ``head_top`` = centre + (0, r, 0)
  with the sphere radius r = 0.41.
* ``nose`` = centre + (0.9 r, 0, 0); eyes = centre + (0.8 r, 0.25 r, ±0.35 r);
  ears = centre + (0, 0.05 r, ±0.95 r) (left is +z: the left hip sits at z = -0.34 in the
  URDF, so the body's left is -z; signs below follow that).
* ``*_heel`` and ``*_foot_index`` (toe tip) = ends of the foot box (centre (0.18, -0.09, 0),
  size 0.708 × 0.22 × 0.36): (0.18 ∓ 0.354, -0.2, 0).

Mapping to Human3.6M-17 (``to_skeleton(points, "h36m")``), documented per joint:

* pelvis = ``root`` joint; hips, knees, ankles = the URDF's hip, knee, ankle joints;
* spine = ``chest`` joint (0.24 m above the pelvis, as Human3.6M's spine joint);
* thorax = mean of the two shoulder joints;
* neck_nose = ``nose`` site's height, midway between the neck joint and the nose site
  (Human3.6M's "neck/nose" lies between the chin and the nose);
* head = midway between ``head_center`` and ``head_top`` (Human3.6M's head joint is on the
  forehead, below the crown);
* shoulders, elbows, wrists = the URDF's shoulder, elbow and wrist joints.

Every other skeleton goes through ``posekit.skeletons.convert_keypoints`` by joint name from the
full set of named points.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posekit.geometry import quaternion_to_matrix
from posekit.io.json import load_json

URDF_SCALE = 0.25

# Frame layout of a DeepMimic humanoid3d clip: (joint, number of values), after the duration.
_FRAME_LAYOUT: tuple[tuple[str, int], ...] = (
    ("root_position", 3),
    ("root", 4),
    ("chest", 4),
    ("neck", 4),
    ("right_hip", 4),
    ("right_knee", 1),
    ("right_ankle", 4),
    ("right_shoulder", 4),
    ("right_elbow", 1),
    ("left_hip", 4),
    ("left_knee", 1),
    ("left_ankle", 4),
    ("left_shoulder", 4),
    ("left_elbow", 1),
)
FRAME_SIZE = 1 + sum(size for _, size in _FRAME_LAYOUT)  # 44

_HEAD_RADIUS = 0.41
_HEAD_CENTER = (0.0, 0.70, 0.0)
_FOOT_CENTER_X, _FOOT_HALF_LENGTH, _FOOT_SOLE_Y = 0.18, 0.354, -0.2

# Sites: name -> (link whose frame they are in, offset in URDF units before scaling).
# The body's left is -z in this humanoid (left hip at z = -0.339548).
_r = _HEAD_RADIUS
_cx, _cy, _cz = _HEAD_CENTER
_SITES: dict[str, tuple[str, tuple[float, float, float]]] = {
    "head_center": ("neck", (_cx, _cy, _cz)),
    "head_top": ("neck", (_cx, _cy + _r, _cz)),
    "nose": ("neck", (_cx + 0.9 * _r, _cy, _cz)),
    "left_eye": ("neck", (_cx + 0.8 * _r, _cy + 0.25 * _r, _cz - 0.35 * _r)),
    "right_eye": ("neck", (_cx + 0.8 * _r, _cy + 0.25 * _r, _cz + 0.35 * _r)),
    "left_ear": ("neck", (_cx, _cy + 0.05 * _r, _cz - 0.95 * _r)),
    "right_ear": ("neck", (_cx, _cy + 0.05 * _r, _cz + 0.95 * _r)),
    "left_heel": ("left_ankle", (_FOOT_CENTER_X - _FOOT_HALF_LENGTH, _FOOT_SOLE_Y, 0.0)),
    "right_heel": ("right_ankle", (_FOOT_CENTER_X - _FOOT_HALF_LENGTH, _FOOT_SOLE_Y, 0.0)),
    "left_foot_index": ("left_ankle", (_FOOT_CENTER_X + _FOOT_HALF_LENGTH, _FOOT_SOLE_Y, 0.0)),
    "right_foot_index": ("right_ankle", (_FOOT_CENTER_X + _FOOT_HALF_LENGTH, _FOOT_SOLE_Y, 0.0)),
}


@dataclass(frozen=True)
class HumanoidJoint:
    """One joint of the URDF: its parent, offset from the parent (metres) and type."""

    name: str
    parent: str | None
    offset: tuple[float, float, float]
    kind: str  # "fixed", "spherical" or "revolute"
    axis: tuple[float, float, float] = (0.0, 0.0, 1.0)


@dataclass(frozen=True)
class HumanoidModel:
    """The DeepMimic humanoid's kinematic tree, scaled to metres, parents before children."""

    joints: tuple[HumanoidJoint, ...]
    scale: float

    def joint(self, name: str) -> HumanoidJoint:
        for joint in self.joints:
            if joint.name == name:
                return joint
        raise ValueError(f"humanoid has no joint {name!r}; it has {[j.name for j in self.joints]}")


@dataclass(frozen=True)
class MotionClip:
    """A motion-capture clip as named 3D points.

    Attributes:
        name: clip name (``walk``, ``backflip``, ...).
        fps: frames per second (from the clip's frame durations).
        point_names: names of the points, the canonical joint vocabulary of ``posekit.skeletons``.
        points: (T, P, 3) float32, metres, the clip's world frame (y up).
        loop: the clip's loop mode (``wrap`` or ``none``).
    """

    name: str
    fps: float
    point_names: tuple[str, ...]
    points: np.ndarray
    loop: str

    def __len__(self) -> int:
        return int(self.points.shape[0])


def pybullet_data_dir() -> Path:
    """The ``pybullet_data`` folder of the installed ``pybullet`` wheel."""
    try:
        import pybullet_data
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise OSError(
            "the DeepMimic motion clips come with the pybullet wheel, which is not installed; "
            "install it with `pip install posekit[synth]`"
        ) from error
    return Path(pybullet_data.getDataPath())


def deepmimic_clip_paths(directory: str | Path | None = None) -> list[Path]:
    """Paths of the humanoid clips (``humanoid3d_*.txt``), sorted by name."""
    folder = Path(directory) if directory is not None else pybullet_data_dir() / "data" / "motions"
    paths = sorted(folder.glob("humanoid3d_*.txt"))
    if not paths:
        raise OSError(f"{folder}: no DeepMimic humanoid clips (humanoid3d_*.txt) found")
    return paths


def _floats(text: str | None, where: str) -> tuple[float, float, float]:
    values = tuple(float(v) for v in (text or "").split())
    if len(values) != 3:
        raise ValueError(f"{where}: expected three numbers, got {text!r}")
    return values[0], values[1], values[2]


def load_humanoid(path: str | Path | None = None, scale: float = URDF_SCALE) -> HumanoidModel:
    """Read the humanoid URDF's joints (offsets scaled by ``scale`` into metres).

    Args:
        path: the URDF; defaults to ``pybullet_data/humanoid/humanoid.urdf``.
        scale: URDF units to metres (0.25 for the DeepMimic humanoid).
    """
    urdf = Path(path) if path is not None else pybullet_data_dir() / "humanoid" / "humanoid.urdf"
    # pybullet's copy ends with a NUL byte after </robot>; XML parsers reject it.
    root = ElementTree.fromstring(urdf.read_bytes().replace(b"\x00", b""))
    child_of: dict[str, HumanoidJoint] = {}
    for element in root.iter("joint"):
        name = element.get("name", "")
        parent = element.find("parent")
        origin = element.find("origin")
        axis = element.find("axis")
        offset = _floats(origin.get("xyz") if origin is not None else "0 0 0", f"{urdf}: joint {name}")
        child_of[name] = HumanoidJoint(
            name=name,
            parent=parent.get("link") if parent is not None else None,
            offset=(offset[0] * scale, offset[1] * scale, offset[2] * scale),
            kind=element.get("type", "fixed"),
            axis=_floats(axis.get("xyz"), f"{urdf}: joint {name}") if axis is not None else (0.0, 0.0, 1.0),
        )
    # Links carry the name of the joint that creates them; order parents before children.
    ordered: list[HumanoidJoint] = []
    placed = {"base"}
    pending = dict(child_of)
    while pending:
        ready = [joint for joint in pending.values() if joint.parent in placed]
        if not ready:
            raise ValueError(f"{urdf}: joints {sorted(pending)} do not connect to the base link")
        for joint in ready:
            ordered.append(joint)
            placed.add(joint.name)
            del pending[joint.name]
    return HumanoidModel(joints=tuple(ordered), scale=scale)


def _axis_angle_matrix(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotation matrices (T, 3, 3) about a fixed unit ``axis`` (3,) by ``angle`` (T,) radians."""
    x, y, z = axis / np.linalg.norm(axis)
    cos, sin = np.cos(angle), np.sin(angle)
    one = 1.0 - cos
    rows = [
        [cos + x * x * one, x * y * one - z * sin, x * z * one + y * sin],
        [y * x * one + z * sin, cos + y * y * one, y * z * one - x * sin],
        [z * x * one - y * sin, z * y * one + x * sin, cos + z * z * one],
    ]
    return np.stack([np.stack(row, axis=-1) for row in rows], axis=-2)  # (T, 3, 3)


def forward_kinematics(frames: np.ndarray, model: HumanoidModel) -> tuple[tuple[str, ...], np.ndarray]:
    """Named 3D points of the humanoid for each frame of a clip.

    Args:
        frames: (T, 44) raw clip frames (duration first).
        model: the humanoid from ``load_humanoid``.

    Returns:
        names: point names (joints in URDF order, then the sites).
        points: (T, P, 3) float64 metres, clip world frame.
    """
    frames = np.asarray(frames, dtype=np.float64)
    if frames.ndim != 2 or frames.shape[1] != FRAME_SIZE:
        raise ValueError(f"DeepMimic frames must have shape (T, {FRAME_SIZE}), got {frames.shape}")
    values: dict[str, np.ndarray] = {}
    start = 1
    for name, size in _FRAME_LAYOUT:
        values[name] = frames[:, start : start + size]
        start += size
    num_frames = frames.shape[0]
    rotation: dict[str, np.ndarray] = {"base": np.broadcast_to(np.eye(3), (num_frames, 3, 3))}
    position: dict[str, np.ndarray] = {"base": values["root_position"]}
    for joint in model.joints:
        assert joint.parent is not None
        parent_rotation, parent_position = rotation[joint.parent], position[joint.parent]
        offset = np.asarray(joint.offset)
        position[joint.name] = parent_position + parent_rotation @ offset  # (T, 3, 3) @ (3,) -> (T, 3)
        if joint.name in values and joint.kind == "revolute":
            local = _axis_angle_matrix(np.asarray(joint.axis), values[joint.name][:, 0])
        elif joint.name in values:
            local = quaternion_to_matrix(values[joint.name])  # (T, 4) wxyz -> (T, 3, 3)
        else:
            local = np.broadcast_to(np.eye(3), (num_frames, 3, 3))
        rotation[joint.name] = parent_rotation @ local
    names = [joint.name for joint in model.joints]
    points = [position[name] for name in names]
    for site, (link, site_offset_urdf) in _SITES.items():
        site_offset = np.asarray(site_offset_urdf) * model.scale
        points.append(position[link] + rotation[link] @ site_offset)
        names.append(site)
    return tuple(names), np.stack(points, axis=1)  # (T, P, 3)


def load_deepmimic_clip(path: str | Path, model: HumanoidModel | None = None) -> MotionClip:
    """Load one DeepMimic clip and run forward kinematics.

    Raises:
        ValueError: the file is not a DeepMimic humanoid clip (names the file and the field).
    """
    path = Path(path)
    try:
        data = load_json(path, "DeepMimic clip")
    except ValueError as error:  # not text or not JSON: say what the file was expected to be
        cause = error.__cause__
        detail = cause.msg if isinstance(cause, json.JSONDecodeError) else str(error)
        raise ValueError(f"{path}: not a DeepMimic clip (invalid JSON: {detail})") from error
    if not isinstance(data, dict) or not isinstance(data.get("Frames"), list) or not data["Frames"]:
        raise ValueError(f"{path}: not a DeepMimic clip (expected a non-empty 'Frames' list)")
    frames = np.asarray(data["Frames"], dtype=np.float64)
    if frames.ndim != 2 or frames.shape[1] != FRAME_SIZE:
        raise ValueError(f"{path}: 'Frames' must be rows of {FRAME_SIZE} numbers, got shape {frames.shape}")
    names, points = forward_kinematics(frames, model if model is not None else load_humanoid())
    duration = float(np.median(frames[:, 0]))
    name = path.stem.removeprefix("humanoid3d_")
    fps = 1.0 / duration if duration > 0 else 30.0
    return MotionClip(
        name=name, fps=fps, point_names=names, points=points.astype(np.float32), loop=str(data.get("Loop", "none"))
    )


def load_deepmimic_clips(directory: str | Path | None = None) -> list[MotionClip]:
    """All 15 DeepMimic humanoid clips (1,620 frames) as ``MotionClip``s, sorted by name."""
    model = load_humanoid()
    return [load_deepmimic_clip(path, model) for path in deepmimic_clip_paths(directory)]


# Human3.6M-17 from the named points (see the module docstring for each choice).
def to_h36m(names: tuple[str, ...], points: np.ndarray) -> np.ndarray:
    """Human3.6M-17 joints (VideoPose3D order) from a clip's named points.

    Args:
        names: the clip's point names.
        points: (..., P, 3) metres.

    Returns:
        (..., 17, 3) in the clip's frame and units.
    """
    points = np.asarray(points)
    if points.shape[-2:] != (len(names), 3):
        raise ValueError(f"points must have shape (..., {len(names)}, 3), got {points.shape}")
    index = {name: i for i, name in enumerate(names)}

    def at(name: str) -> np.ndarray:
        return points[..., index[name], :]

    nose, neck = at("nose"), at("neck")
    joints = [
        at("root"),
        at("right_hip"),
        at("right_knee"),
        at("right_ankle"),
        at("left_hip"),
        at("left_knee"),
        at("left_ankle"),
        at("chest"),
        0.5 * (at("left_shoulder") + at("right_shoulder")),
        0.5 * (neck + nose),
        0.5 * (at("head_center") + at("head_top")),
        at("left_shoulder"),
        at("left_elbow"),
        at("left_wrist"),
        at("right_shoulder"),
        at("right_elbow"),
        at("right_wrist"),
    ]
    return np.stack(joints, axis=-2)


__all__ = [
    "FRAME_SIZE",
    "URDF_SCALE",
    "HumanoidJoint",
    "HumanoidModel",
    "MotionClip",
    "deepmimic_clip_paths",
    "forward_kinematics",
    "load_deepmimic_clip",
    "load_deepmimic_clips",
    "load_humanoid",
    "pybullet_data_dir",
    "to_h36m",
]
