"""BVH (Biovision hierarchy) export of Human3.6M-17 3D poses, a BVH reader and forward kinematics.

Legend: ``T`` frames, ``J`` = 17 Human3.6M joints, ``M`` BVH nodes (joints and end sites).

:func:`poses_to_bvh` turns joint positions ``(T, 17, 3)`` into a :class:`BvhMotion`; :func:`write_bvh`
writes it (atomically) for animation tools (Blender, MotionBuilder, Maya); :func:`read_bvh` parses
any BVH file and :func:`forward_kinematics` turns it back into positions.

Conventions of the files written:

* Axes: BVH's usual Y up, the character facing +Z. Posekit's camera frame (x right, y down, z
  forward) maps to BVH by a half turn about x: ``(x, y, z) -> (x, -y, -z)``; a person facing the
  camera then faces +Z with their left side towards +X.
* Ground plane (``ground=True``, the default): the figure stands on the floor ``Y = 0``, see
  :func:`poses_to_bvh`. The floor's orientation is estimated over the track (the camera may be
  tilted, so camera "up" is not world up) and rotated to +Y; every frame is then moved vertically
  so that its lower ankle is on the floor, except in flight phases (jumps: high above the noise,
  short, ballistic, see :func:`_flight_heights`), which keep their height. This removes the
  camera-frame height drift and jitter of the estimated trajectory (the pelvis height becomes the
  pose's own height of the pelvis above the lower foot); the horizontal path is kept as
  estimated. Human3.6M-17 has no toes, so the ankle joints (the leg end sites) touch ``Y = 0``; a
  skinned character whose ankles sit above its soles needs that height added. ``ground=False``
  writes camera-frame positions rotated to BVH axes as they are.
* Units: centimetres (``unit_scale=100`` per metre), the unit most BVH tools assume.
* Hierarchy: the Human3.6M parents. ``pelvis`` is the ROOT (``Xposition Yposition Zposition
  Zrotation Xrotation Yrotation``); every joint with children is a JOINT (``Zrotation Xrotation
  Yrotation``); the five leaves (ankles, wrists, head) are End Sites of their parents.
* Rest pose (all rotations zero): a T-pose facing +Z. A bone from a one-child joint has its
  canonical direction (legs down, spine and neck up, arms sideways) times its **mean length**
  over the input; the bones from a branching joint (pelvis: hips and spine; thorax: neck and
  shoulders) keep their **mean arrangement** in that joint's own frame (left = right child to
  left child, up = towards the middle child), so the pelvis and chest shapes are the input's.
* Rotations: ZXY Euler angles in degrees (``R = R_z @ R_x @ R_y``, intrinsic; the channel order).
  They are solved from positions. A joint with several children (pelvis: hips and spine; thorax:
  neck and shoulders) gets the rotation that best aligns its rest child offsets with the observed
  child bones (weighted Kabsch/Wahba, so it carries the twist). A joint with one child gets the
  *swing*: the smallest rotation, in its parent's frame, that turns the rest bone onto the
  observed one, i.e. **zero twist about the bone relative to the parent** (positions alone do not
  fix a limb's twist; this is the consistent choice).

Limitations: bone lengths are fixed to their means, so positions whose bone lengths vary (any
lifter's output varies a little) come back with the mean lengths: the round trip
positions -> BVH -> :func:`forward_kinematics` is exact (to float rounding and the file's 4
decimals) for constant bone lengths and rigid branching joints, and otherwise differs by the
variation of the lengths and of the pelvis/chest shapes.
Twists of the limbs (forearm pronation, thigh rotation) are not recoverable and are zero; the
head is one bone (neck_nose -> head). Euler angles jump by 360 degrees where a rotation crosses
±180 degrees (tools interpolate frames independently; resample with care).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from posekit.geometry.rotations import euler_to_matrix, matrix_to_euler
from posekit.io.atomic import atomic_write_text
from posekit.skeletons import H36M

__all__ = [
    "BvhMotion",
    "CAMERA_TO_BVH",
    "forward_kinematics",
    "poses_to_bvh",
    "read_bvh",
    "rest_directions",
    "write_bvh",
]

CAMERA_TO_BVH = np.diag([1.0, -1.0, -1.0])
"""Rotation from posekit's camera axes (y down, z forward) to BVH axes (Y up, facing +Z)."""

# Canonical rest (T-pose) direction of the bone ending at each Human3.6M joint, BVH axes.
_REST_DIRECTIONS = {
    "right_hip": (-1.0, 0.0, 0.0),
    "right_knee": (0.0, -1.0, 0.0),
    "right_ankle": (0.0, -1.0, 0.0),
    "left_hip": (1.0, 0.0, 0.0),
    "left_knee": (0.0, -1.0, 0.0),
    "left_ankle": (0.0, -1.0, 0.0),
    "spine": (0.0, 1.0, 0.0),
    "thorax": (0.0, 1.0, 0.0),
    "neck_nose": (0.0, 1.0, 0.0),
    "head": (0.0, 1.0, 0.0),
    "left_shoulder": (1.0, 0.0, 0.0),
    "left_elbow": (1.0, 0.0, 0.0),
    "left_wrist": (1.0, 0.0, 0.0),
    "right_shoulder": (-1.0, 0.0, 0.0),
    "right_elbow": (-1.0, 0.0, 0.0),
    "right_wrist": (-1.0, 0.0, 0.0),
}


def rest_directions() -> np.ndarray:
    """``(17, 3)`` unit rest directions of the bone ending at each Human3.6M joint (pelvis: 0)."""
    directions = np.zeros((H36M.num_keypoints, 3))
    for name, direction in _REST_DIRECTIONS.items():
        directions[H36M.index(name)] = direction
    return directions


@dataclass
class BvhMotion:
    """A BVH file's content.

    Attributes:
        names: ``M`` node names; end sites are named ``"<parent>_end"``.
        parents: ``(M,)`` parent index of each node, -1 for the root; parents come first.
        offsets: ``(M, 3)`` rest offsets from the parent, file units.
        channels: per node, its channel names in file order (end sites: none).
        motion: ``(T, C)`` channel values per frame, in node then channel order.
        frame_time: seconds per frame.
    """

    names: list[str]
    parents: list[int]
    offsets: np.ndarray
    channels: list[list[str]]
    motion: np.ndarray
    frame_time: float
    end_site: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        count = len(self.names)
        self.offsets = np.asarray(self.offsets, dtype=np.float64).reshape(count, 3)
        if len(self.parents) != count or len(self.channels) != count:
            raise ValueError(f"names, parents and channels must have one entry per node ({count})")
        for index, parent in enumerate(self.parents):
            if parent >= index:
                raise ValueError(f"node {self.names[index]!r} comes before its parent (index {parent})")
        if not self.end_site:
            self.end_site = [
                name.endswith("_end") and not channels for name, channels in zip(self.names, self.channels, strict=True)
            ]
        width = sum(len(channels) for channels in self.channels)
        self.motion = np.asarray(self.motion, dtype=np.float64).reshape(-1, width)
        if not (np.isfinite(self.frame_time) and self.frame_time > 0):
            raise ValueError(f"frame_time must be a positive number of seconds, got {self.frame_time}")

    @property
    def num_frames(self) -> int:
        """Number of frames ``T``."""
        return int(self.motion.shape[0])

    def to_text(self, precision: int = 4) -> str:
        """The BVH file text."""
        children: list[list[int]] = [[] for _ in self.names]
        for index, parent in enumerate(self.parents):
            if parent >= 0:
                children[parent].append(index)
        lines = ["HIERARCHY"]

        def emit(index: int, depth: int) -> None:
            indent = "\t" * depth
            offset = " ".join(f"{value:.{precision}f}" for value in self.offsets[index])
            if self.end_site[index]:
                lines.extend([f"{indent}End Site", f"{indent}{{", f"{indent}\tOFFSET {offset}", f"{indent}}}"])
                return
            keyword = "ROOT" if self.parents[index] < 0 else "JOINT"
            lines.extend([f"{indent}{keyword} {self.names[index]}", f"{indent}{{", f"{indent}\tOFFSET {offset}"])
            lines.append(f"{indent}\tCHANNELS {len(self.channels[index])} {' '.join(self.channels[index])}")
            for child in children[index]:
                emit(child, depth + 1)
            lines.append(f"{indent}}}")

        for root in (index for index, parent in enumerate(self.parents) if parent < 0):
            emit(root, 0)
        lines += ["MOTION", f"Frames: {self.num_frames}", f"Frame Time: {self.frame_time:.8f}"]
        lines += [" ".join(f"{value:.{precision}f}" for value in row) for row in self.motion]
        return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ rotation solving
def _normalize(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


def _swing(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Smallest rotations ``(..., 3, 3)`` turning unit ``source (..., 3)`` onto unit ``target``.

    Rodrigues' formula about ``source x target``; opposite vectors turn by 180 degrees about an
    axis perpendicular to ``source``.
    """
    cross = np.cross(source, target)
    cosine = np.clip((source * target).sum(-1), -1.0, 1.0)
    sine = np.linalg.norm(cross, axis=-1)
    # Any axis perpendicular to source, for the antiparallel case.
    helper = np.where(np.abs(source[..., :1]) < 0.9, np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
    perpendicular = _normalize(np.cross(source, helper))
    axis = np.where((sine > 1e-9)[..., None], cross / np.maximum(sine, 1e-12)[..., None], perpendicular)
    angle = np.arctan2(sine, cosine)
    skew = np.zeros(axis.shape + (3,))
    skew[..., 0, 1], skew[..., 0, 2] = -axis[..., 2], axis[..., 1]
    skew[..., 1, 0], skew[..., 1, 2] = axis[..., 2], -axis[..., 0]
    skew[..., 2, 0], skew[..., 2, 1] = -axis[..., 1], axis[..., 0]
    identity = np.broadcast_to(np.eye(3), skew.shape)
    sin_angle = np.sin(angle)[..., None, None]
    return identity + sin_angle * skew + (1.0 - np.cos(angle))[..., None, None] * (skew @ skew)


def _branch_frames(positions: np.ndarray, joint: int, kids: Sequence[int]) -> np.ndarray:
    """Orthonormal frames ``(T, 3, 3)`` (columns: left, up, forward) of a branching joint.

    ``left`` points from the right-side child to the left-side child (by name), ``up`` towards the
    mean of the unsided children, made orthogonal to ``left``; ``forward = left x up``. In the
    canonical rest pose these are BVH's +X, +Y and +Z.
    """
    names = [H36M.keypoint_names[kid] for kid in kids]
    left = [kid for kid, name in zip(kids, names, strict=True) if name.startswith("left_")]
    right = [kid for kid, name in zip(kids, names, strict=True) if name.startswith("right_")]
    middle = [kid for kid, name in zip(kids, names, strict=True) if not name.startswith(("left_", "right_"))]
    if len(left) != 1 or len(right) != 1 or not middle:
        raise ValueError(f"joint {H36M.keypoint_names[joint]!r} has no left/right/middle children to define a frame")
    x_axis = _normalize(positions[:, left[0]] - positions[:, right[0]])
    up = positions[:, middle].mean(axis=1) - positions[:, joint]
    y_axis = _normalize(up - (up * x_axis).sum(-1, keepdims=True) * x_axis)
    z_axis = np.cross(x_axis, y_axis)
    return np.stack([x_axis, y_axis, z_axis], axis=-1)


def _kabsch(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rotations ``(T, 3, 3)`` minimising ``sum_i |R a_i - b_i|^2`` for ``source (N, 3)``, ``target (T, N, 3)``."""
    covariance = np.einsum("ni,tnj->tij", source, target)  # (T, 3, 3): sum_i a_i b_i^T
    left, _, right_t = np.linalg.svd(covariance)
    # R = V diag(1, 1, det(V U^T)) U^T with covariance = U S V^T.
    right = np.swapaxes(right_t, -1, -2)
    determinant = np.sign(np.linalg.det(right @ np.swapaxes(left, -1, -2)))
    correction = np.broadcast_to(np.eye(3), covariance.shape).copy()
    correction[:, 2, 2] = determinant
    return right @ correction @ np.swapaxes(left, -1, -2)


# ------------------------------------------------------------------------------- ground plane
_RIGHT_ANKLE, _LEFT_ANKLE = H36M.index("right_ankle"), H36M.index("left_ankle")
_PELVIS, _THORAX = H36M.index("pelvis"), H36M.index("thorax")
# Foot contacts spread over less than this (standard deviation, metres) along a direction do not
# fix the floor's tilt about it: monocular depth noise, along the viewing ray, would tilt it.
_MIN_FLOOR_SPREAD = 0.3
# The floor's up is searched within this angle (degrees) of the camera's up (BVH +Y): a steeper
# estimate comes from a person who is bending or lying, or from a bad track, not from the camera.
_MAX_FLOOR_TILT = 30.0
# A flight phase (a jump) rises above max(this height, 4 x the noise of the lowest foot's height)
# in metres, for at least the first time and at most the second (seconds): a human jump lasts
# well under a second, while the height drift of a monocular trajectory lasts longer.
_MIN_FLIGHT_HEIGHT = 0.10
_FLIGHT_TIME = (0.12, 1.0)
# A flight is ballistic: its height curves down at g (m/s^2).
_GRAVITY = 9.81


def _rotation_onto(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The smallest rotation ``(3, 3)`` turning unit vector ``source (3,)`` onto unit ``target (3,)``."""
    return np.asarray(_swing(source[None], target[None])[0])


def _robust_std(values: np.ndarray) -> float:
    """Standard deviation from the median absolute deviation (robust to outliers)."""
    if values.size == 0:
        return 0.0
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def _tilt_degrees(vector: np.ndarray) -> float:
    """Angle (degrees) between unit ``vector (3,)`` and BVH +Y."""
    return float(np.degrees(np.arccos(np.clip(vector[1], -1.0, 1.0))))


def _floor_up(positions: np.ndarray) -> np.ndarray:
    """Unit normal ``(3,)`` of the floor, BVH axes, from the foot contacts and the body axis over the track.

    The reference is the mean body axis (pelvis -> thorax), or the camera's up (+Y) when that axis
    leans more than ``_MAX_FLOOR_TILT`` (the person bends or lies). The contacts are each frame's
    lower ankle along the reference; a plane is fitted to them by least squares with outliers
    (flight phases, bad frames) trimmed at 3 robust standard deviations. A direction in which the
    contacts spread by at least ``_MIN_FLOOR_SPREAD`` lies in the floor: with two such directions
    up is the plane's normal, with one (a walk along a line) up is the reference made orthogonal
    to it, with none (standing, walking on the spot) up is the reference. An up leaning more than
    ``_MAX_FLOOR_TILT`` from +Y falls back to the reference.
    """
    spine = _normalize(positions[:, _THORAX] - positions[:, _PELVIS])  # (T, 3)
    reference = _normalize(spine.mean(axis=0))
    if _tilt_degrees(reference) > _MAX_FLOOR_TILT:
        reference = np.array([0.0, 1.0, 0.0])
    ankles = positions[:, [_RIGHT_ANKLE, _LEFT_ANKLE]]  # (T, 2, 3)
    lower = np.argmin(ankles @ reference, axis=1)  # (T,)
    contacts = ankles[np.arange(len(ankles)), lower]  # (T, 3)
    keep = np.ones(len(contacts), dtype=bool)
    axes = np.eye(3)
    spreads = np.zeros(3)
    for _ in range(3):
        if keep.sum() < 3:
            return reference
        centre = contacts[keep].mean(axis=0)
        _, singular, vt = np.linalg.svd(contacts[keep] - centre, full_matrices=False)
        axes, spreads = vt, singular / np.sqrt(keep.sum())
        normal = axes[2] if axes[2] @ reference >= 0 else -axes[2]
        residual = (contacts - centre) @ normal
        keep = np.abs(residual - np.median(residual[keep])) <= max(3.0 * _robust_std(residual[keep]), 0.02)
    if spreads[1] >= _MIN_FLOOR_SPREAD:
        up = axes[2] if axes[2] @ reference >= 0 else -axes[2]
    elif spreads[0] >= _MIN_FLOOR_SPREAD:
        along = axes[0]
        up = _normalize(reference - (reference @ along) * along)
    else:
        up = reference
    return up if _tilt_degrees(up) <= _MAX_FLOOR_TILT else reference


def _running_median(values: np.ndarray, width: int) -> np.ndarray:
    """Median over a centred window of ``width`` (odd) samples, edges padded with the end values."""
    if width <= 1 or values.size < 2:
        return values.copy()
    half = width // 2
    padded = np.pad(values, half, mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, width), axis=-1)


def _is_ballistic(heights: np.ndarray, fps: float) -> bool:
    """Whether heights ``(N,)`` (metres, one per frame) curve like free fall: ``h'' = -g`` within a factor 2.

    A least-squares parabola ``h = a t^2 + b t + c`` through the samples has ``h'' = 2a``; a jump's
    is about ``-g`` (9.81 m/s^2), a slow rise and fall of the estimated trajectory's height much
    flatter.
    """
    if heights.size < 4:
        return False
    time = np.arange(heights.size) / fps
    curvature = 2.0 * float(np.polyfit(time, heights, 2)[0])
    return 0.5 * _GRAVITY <= -curvature <= 2.0 * _GRAVITY


def _flight_heights(foot_heights: np.ndarray, fps: float) -> np.ndarray:
    """Height ``(T,)`` of the lowest foot above the floor in flight phases, 0 on the ground.

    ``foot_heights`` is the lowest ankle's height per frame (metres), noisy. The floor is its
    running 10th percentile over 2 s windows (robust to slow drift). The noise is the robust
    standard deviation of the heights about their 1 s running median. A flight is a run where the
    0.1 s running median of the height above the floor exceeds ``max(_MIN_FLIGHT_HEIGHT,
    4 x noise)`` for at least ``_FLIGHT_TIME[0]``, widened to the frames around it still above
    half that. A widened run is kept only if it is ballistic, as a jump is: not longer than
    ``_FLIGHT_TIME[1]``, with take-off and landing inside the track, and curving like free fall
    (:func:`_is_ballistic`: a 30 cm jump is in the air about 0.5 s). The lifter's height drift rises
    and falls much more slowly than free fall and stays on the ground (0), like everything else.
    """
    count = foot_heights.size
    window = min(count, max(1, int(round(2.0 * fps))))
    if window >= count:
        floor = np.full(count, np.percentile(foot_heights, 10.0))
    else:
        half = window // 2
        padded = np.pad(foot_heights, (half, window - 1 - half), mode="edge")
        floor = np.percentile(np.lib.stride_tricks.sliding_window_view(padded, window), 10.0, axis=-1)
    above = _running_median(foot_heights - floor, max(1, int(round(0.1 * fps))) | 1)
    noise = _robust_std(foot_heights - _running_median(foot_heights, max(1, int(round(fps))) | 1))
    threshold = max(_MIN_FLIGHT_HEIGHT, 4.0 * noise)
    flying = np.zeros(count, dtype=bool)
    min_frames = max(2, int(np.ceil(_FLIGHT_TIME[0] * fps)))
    max_frames = int(np.floor(_FLIGHT_TIME[1] * fps))
    high = above > threshold
    start = 0
    while start < count:
        if not high[start]:
            start += 1
            continue
        stop = start
        while stop < count and high[stop]:
            stop += 1
        if stop - start >= min_frames:
            first, last = start, stop
            while first > 0 and above[first - 1] > threshold / 2:
                first -= 1
            while last < count and above[last] > threshold / 2:
                last += 1
            landed = first > 0 and last < count  # take-off and landing inside the track
            if landed and last - first <= max_frames and _is_ballistic(above[first:last], fps):
                flying[first:last] = True
        start = stop
    return np.where(flying, np.maximum(above, 0.0), 0.0)


def _level(positions: np.ndarray) -> np.ndarray:
    """``(T, J, 3)`` BVH-axis positions turned by the smallest rotation taking the floor's up (:func:`_floor_up`) to +Y.

    The heading is kept (a rotation about the axis perpendicular to both).
    """
    rotation = _rotation_onto(_floor_up(positions), np.array([0.0, 1.0, 0.0]))
    return positions @ rotation.T


def _put_on_floor(motion: BvhMotion, fps: float, unit_scale: float) -> BvhMotion:
    """Move the root of a levelled motion vertically so that each frame's lower ankle is at ``Y = 0``.

    The ankles are the knees' end sites, found by forward kinematics of the motion itself, so the
    file's feet touch the floor exactly (with the mean bone lengths it is written with). In flight
    phases (:func:`_flight_heights`) the lower ankle keeps its height above the floor. The root
    height is then the pose's own height of the pelvis above the lower foot (plus the flight
    height), free of the trajectory's camera-frame jitter and drift.
    """
    positions = forward_kinematics(motion)  # (T, M, 3) file units
    feet = [motion.names.index(f"{name}_end") for name in ("right_knee", "left_knee")]
    heights = positions[:, feet, 1].min(axis=1)  # (T,)
    target = _flight_heights(heights / unit_scale, fps) * unit_scale
    column = motion.channels[0].index("Yposition")  # the root's channels come first
    values = motion.motion.copy()
    values[:, column] += target - heights
    return BvhMotion(
        names=motion.names,
        parents=motion.parents,
        offsets=motion.offsets,
        channels=motion.channels,
        motion=values,
        frame_time=motion.frame_time,
        end_site=motion.end_site,
    )


def poses_to_bvh(
    keypoints_3d: np.ndarray,
    fps: float,
    *,
    trajectory: np.ndarray | None = None,
    unit_scale: float = 100.0,
    ground: bool = True,
) -> BvhMotion:
    """Solve a BVH motion from Human3.6M-17 joint positions (see the module docstring).

    Args:
        keypoints_3d: ``(T, 17, 3)`` metres, posekit camera frame (absolute, or root-relative
            with ``trajectory``).
        fps: frames per second.
        trajectory: ``(T, 3)`` root positions added to the joints (metres, camera frame).
        unit_scale: file units per metre (100: centimetres).
        ground: stand the figure on the floor ``Y = 0`` (see the module docstring: the floor
            estimated over the track is turned to +Y, then :func:`_put_on_floor`); ``False``
            keeps the camera-frame positions (turned to BVH axes).

    Returns:
        A :class:`BvhMotion` with 12 JOINTs (the pelvis ROOT included) and 5 end sites.

    Raises:
        ValueError: wrong shapes, non-finite values, a bad ``fps`` or ``unit_scale``.
    """
    positions = np.asarray(keypoints_3d, dtype=np.float64)
    num_joints = H36M.num_keypoints
    if positions.ndim != 3 or positions.shape[1:] != (num_joints, 3) or positions.shape[0] < 1:
        raise ValueError(f"keypoints_3d must have shape (T, {num_joints}, 3) (Human3.6M-17), got {positions.shape}")
    if trajectory is not None:
        root_positions = np.asarray(trajectory, dtype=np.float64)
        if root_positions.shape != (positions.shape[0], 3):
            raise ValueError(f"trajectory must have shape ({positions.shape[0]}, 3), got {root_positions.shape}")
        positions = positions + root_positions[:, None]
    if not np.isfinite(positions).all():
        raise ValueError("keypoints_3d holds NaN or infinite values; fill missing joints before exporting to BVH")
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps}")
    if not (np.isfinite(unit_scale) and unit_scale > 0):
        raise ValueError(f"unit_scale must be positive, got {unit_scale}")
    positions = positions @ CAMERA_TO_BVH.T  # (T, J, 3) in BVH axes, metres
    if ground:
        positions = _level(positions)  # the floor's normal turned to +Y
    positions = positions * unit_scale
    parents = list(H36M.parents or ())
    children: list[list[int]] = [[] for _ in range(num_joints)]
    for joint, parent in enumerate(parents):
        if parent >= 0:
            children[parent].append(joint)
    # Mean bone lengths and rest offsets.
    bones = np.array([positions[:, joint] - positions[:, max(parent, 0)] for joint, parent in enumerate(parents)])
    lengths = np.linalg.norm(bones, axis=-1).mean(axis=1)  # (J,)
    rest = rest_directions() * lengths[:, None]  # (J, 3), zero for the root
    for joint in range(num_joints):
        if len(children[joint]) > 1:
            # Children of a branching joint keep their mean arrangement in the joint's own frame.
            frames = _branch_frames(positions, joint, children[joint])  # (T, 3, 3), columns = axes
            local = np.einsum("tji,tcj->tci", frames, positions[:, children[joint]] - positions[:, joint : joint + 1])
            rest[children[joint]] = local.mean(axis=0)
    num_frames = positions.shape[0]
    global_rotations = np.zeros((num_frames, num_joints, 3, 3))
    local_rotations = np.zeros((num_frames, num_joints, 3, 3))
    for joint in range(num_joints):  # Human3.6M parents precede their children
        parent = parents[joint]
        parent_global = np.broadcast_to(np.eye(3), (num_frames, 3, 3)) if parent < 0 else global_rotations[:, parent]
        kids = children[joint]
        if not kids:
            local = np.broadcast_to(np.eye(3), (num_frames, 3, 3))
            global_rotations[:, joint] = parent_global @ local
        elif len(kids) == 1:
            observed = _normalize(positions[:, kids[0]] - positions[:, joint])  # (T, 3) world
            in_parent = np.einsum("tji,tj->ti", parent_global, observed)  # parent_global^T @ observed
            rest_direction = np.broadcast_to(_normalize(rest[kids[0]]), (num_frames, 3))
            local = _swing(rest_direction, in_parent)
            global_rotations[:, joint] = parent_global @ local
        else:
            observed = positions[:, kids] - positions[:, joint : joint + 1]  # (T, C, 3)
            global_rotations[:, joint] = _kabsch(rest[kids], observed)
            local = np.swapaxes(parent_global, -1, -2) @ global_rotations[:, joint]
        local_rotations[:, joint] = local
    # Nodes: the joints with children (BVH JOINTs) in index order, then one end site per leaf.
    joint_nodes = [joint for joint in range(num_joints) if children[joint]]
    names: list[str] = []
    node_parents: list[int] = []
    offsets: list[np.ndarray] = []
    channels: list[list[str]] = []
    end_site: list[bool] = []
    node_of: dict[int, int] = {}
    rotation_channels = ["Zrotation", "Xrotation", "Yrotation"]
    for joint in joint_nodes:
        node_of[joint] = len(names)
        names.append(H36M.keypoint_names[joint])
        node_parents.append(-1 if parents[joint] < 0 else node_of[parents[joint]])
        offsets.append(np.zeros(3) if parents[joint] < 0 else rest[joint])
        channels.append((["Xposition", "Yposition", "Zposition"] if parents[joint] < 0 else []) + rotation_channels)
        end_site.append(False)
    leaves = [joint for joint in range(num_joints) if not children[joint]]
    for leaf in leaves:
        if len(children[parents[leaf]]) != 1:
            raise ValueError(f"leaf {H36M.keypoint_names[leaf]!r} has siblings; it cannot be an end site")
    # Order nodes depth-first so that the file's channel order equals the node order.
    order = _depth_first(node_parents, [node_of[parents[leaf]] for leaf in leaves])
    final_names: list[str] = []
    final_parents: list[int] = []
    final_offsets: list[np.ndarray] = []
    final_channels: list[list[str]] = []
    final_end: list[bool] = []
    new_index: dict[tuple[str, int], int] = {}
    columns = []
    for kind, index in order:
        if kind == "joint":
            joint = joint_nodes[index]
            new_index[("joint", index)] = len(final_names)
            final_names.append(names[index])
            final_parents.append(-1 if node_parents[index] < 0 else new_index[("joint", node_parents[index])])
            final_offsets.append(offsets[index])
            final_channels.append(channels[index])
            final_end.append(False)
            euler = np.asarray(matrix_to_euler(local_rotations[:, joint], "ZXY", degrees=True))  # (T, 3)
            if parents[joint] < 0:
                columns.append(positions[:, joint])
            columns.append(euler)
        else:
            leaf = leaves[index]
            parent_node = node_of[parents[leaf]]
            final_names.append(f"{names[parent_node]}_end")
            final_parents.append(new_index[("joint", parent_node)])
            final_offsets.append(rest[leaf])
            final_channels.append([])
            final_end.append(True)
    motion = BvhMotion(
        names=final_names,
        parents=final_parents,
        offsets=np.asarray(final_offsets),
        channels=final_channels,
        motion=np.concatenate(columns, axis=1),
        frame_time=1.0 / float(fps),
        end_site=final_end,
    )
    return _put_on_floor(motion, float(fps), unit_scale) if ground else motion


def _depth_first(joint_parents: Sequence[int], end_site_parents: Sequence[int]) -> list[tuple[str, int]]:
    """Depth-first order of ``("joint", i)`` and ``("end", k)`` nodes, children in index order."""
    joint_children: list[list[int]] = [[] for _ in joint_parents]
    for index, parent in enumerate(joint_parents):
        if parent >= 0:
            joint_children[parent].append(index)
    ends: list[list[int]] = [[] for _ in joint_parents]
    for index, parent in enumerate(end_site_parents):
        ends[parent].append(index)
    order: list[tuple[str, int]] = []

    def visit(index: int) -> None:
        order.append(("joint", index))
        for child in joint_children[index]:
            visit(child)
        for end in ends[index]:
            order.append(("end", end))

    for root in (index for index, parent in enumerate(joint_parents) if parent < 0):
        visit(root)
    return order


def write_bvh(
    path: str | os.PathLike[str],
    keypoints_3d: np.ndarray,
    fps: float,
    *,
    trajectory: np.ndarray | None = None,
    unit_scale: float = 100.0,
    ground: bool = True,
) -> Path:
    """Solve (:func:`poses_to_bvh`, on the floor unless ``ground=False``) and write a BVH file atomically.

    Returns the path.
    """
    motion = poses_to_bvh(keypoints_3d, fps, trajectory=trajectory, unit_scale=unit_scale, ground=ground)
    return atomic_write_text(path, motion.to_text())


# ------------------------------------------------------------------------------------- reading
_TOKEN = re.compile(r"\S+")


def read_bvh(path: str | os.PathLike[str]) -> BvhMotion:
    """Parse a BVH file (any hierarchy, any channel order).

    Raises:
        FileNotFoundError: no file.
        ValueError: a malformed file (message names the line).
    """
    file_path = Path(path)
    if not file_path.is_file():
        raise FileNotFoundError(f"no BVH file at {os.fspath(path)!r}")
    lines = file_path.read_text(encoding="utf-8", errors="replace").splitlines()
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[list[str]] = []
    end_site: list[bool] = []
    stack: list[int] = []
    pending: int | None = None
    line_number = 0

    def fail(message: str) -> ValueError:
        return ValueError(f"{file_path}: line {line_number}: {message}")

    motion_start = None
    for line_number, line in enumerate(lines, start=1):  # noqa: B007 (used by fail)
        tokens = _TOKEN.findall(line)
        if not tokens:
            continue
        keyword = tokens[0].upper()
        if keyword == "HIERARCHY":
            continue
        if keyword in ("ROOT", "JOINT"):
            if len(tokens) < 2:
                raise fail(f"{tokens[0]} without a name")
            names.append(" ".join(tokens[1:]))
            parents.append(stack[-1] if stack else -1)
            offsets.append([0.0, 0.0, 0.0])
            channels.append([])
            end_site.append(False)
            pending = len(names) - 1
        elif keyword == "END":
            if not stack:
                raise fail("End Site outside a joint")
            names.append(f"{names[stack[-1]]}_end")
            parents.append(stack[-1])
            offsets.append([0.0, 0.0, 0.0])
            channels.append([])
            end_site.append(True)
            pending = len(names) - 1
        elif keyword == "{":
            if pending is None:
                raise fail("'{' without a joint")
            stack.append(pending)
            pending = None
        elif keyword == "}":
            if not stack:
                raise fail("unbalanced '}'")
            stack.pop()
        elif keyword == "OFFSET":
            if not stack or len(tokens) != 4:
                raise fail("OFFSET needs three numbers inside a joint")
            try:
                offsets[stack[-1]] = [float(value) for value in tokens[1:]]
            except ValueError:
                raise fail(f"bad OFFSET {' '.join(tokens[1:])}") from None
        elif keyword == "CHANNELS":
            if not stack or len(tokens) < 2 or not tokens[1].isdigit() or len(tokens) != 2 + int(tokens[1]):
                raise fail("CHANNELS needs a count and that many channel names")
            for name in tokens[2:]:
                if name.lower() not in {f"{axis}{kind}" for axis in "xyz" for kind in ("position", "rotation")}:
                    raise fail(f"unknown channel {name!r}")
            channels[stack[-1]] = tokens[2:]
        elif keyword == "MOTION":
            motion_start = line_number
            break
        else:
            raise fail(f"unexpected {tokens[0]!r} in the hierarchy")
    if motion_start is None or not names:
        raise ValueError(f"{file_path}: no HIERARCHY/MOTION sections")
    if stack:
        raise ValueError(f"{file_path}: unbalanced braces in the hierarchy")
    rest = [line for line in lines[motion_start:] if line.strip()]
    if len(rest) < 2 or not rest[0].strip().lower().startswith("frames:") or "frame time:" not in rest[1].lower():
        raise ValueError(f"{file_path}: MOTION must be followed by 'Frames:' and 'Frame Time:' lines")
    try:
        num_frames = int(rest[0].split(":", 1)[1])
        frame_time = float(rest[1].split(":", 1)[1])
        data = [[float(value) for value in line.split()] for line in rest[2:]]
    except ValueError as error:
        raise ValueError(f"{file_path}: bad MOTION data ({error})") from None
    width = sum(len(item) for item in channels)
    if len(data) != num_frames or any(len(row) != width for row in data):
        raise ValueError(
            f"{file_path}: expected {num_frames} frames of {width} values, got {len(data)} rows "
            f"of lengths {sorted({len(row) for row in data})[:4]}"
        )
    return BvhMotion(
        names=names,
        parents=parents,
        offsets=np.asarray(offsets),
        channels=channels,
        motion=np.asarray(data, dtype=np.float64).reshape(num_frames, width),
        frame_time=frame_time,
        end_site=end_site,
    )


def forward_kinematics(motion: BvhMotion) -> np.ndarray:
    """World positions ``(T, M, 3)`` of every node (file units and axes) from a :class:`BvhMotion`.

    ``p_j = p_parent + G_parent @ (offset_j + translation channels)``, ``G_j = G_parent @ R_j``,
    ``R_j`` the product of the node's rotation channels in file order (intrinsic).
    """
    num_frames = motion.num_frames
    count = len(motion.names)
    positions = np.zeros((num_frames, count, 3))
    rotations = np.zeros((num_frames, count, 3, 3))
    column = 0
    for node in range(count):
        translation = np.broadcast_to(motion.offsets[node], (num_frames, 3)).copy()
        local = np.broadcast_to(np.eye(3), (num_frames, 3, 3)).copy()
        for name in motion.channels[node]:
            values = motion.motion[:, column]
            column += 1
            axis = "xyz".index(name[0].lower())
            if name.lower().endswith("position"):
                translation[:, axis] += values
            else:
                angles = np.zeros((num_frames, 3))
                angles[:, axis] = values
                local = local @ np.asarray(euler_to_matrix(angles, "XYZ", degrees=True))
        parent = motion.parents[node]
        if parent < 0:
            positions[:, node] = translation
            rotations[:, node] = local
        else:
            positions[:, node] = positions[:, parent] + np.einsum("tij,tj->ti", rotations[:, parent], translation)
            rotations[:, node] = rotations[:, parent] @ local
    return positions


def bvh_to_h36m(motion: BvhMotion, *, unit_scale: float = 100.0) -> np.ndarray:
    """Human3.6M-17 positions ``(T, 17, 3)`` in metres, posekit camera axes, from a posekit BVH.

    The BVH axes are turned back to posekit's (y down, z forward); a file written with
    ``ground=True`` gives the grounded positions (floor at y = 0, y down), not the camera frame.

    Joints are found by name; a leaf (ankles, wrists, head) is its parent's end site.

    Raises:
        ValueError: a joint missing from the file.
    """
    positions = forward_kinematics(motion) / unit_scale  # (T, M, 3)
    index = {name: node for node, name in enumerate(motion.names)}
    parents = H36M.parents or ()
    columns = []
    for joint, name in enumerate(H36M.keypoint_names):
        node = index.get(name)
        if node is None and parents[joint] >= 0:
            node = index.get(f"{H36M.keypoint_names[parents[joint]]}_end")
        if node is None:
            raise ValueError(f"the BVH motion has no joint {name!r} (nor an end site standing for it)")
        columns.append(positions[:, node])
    return np.stack(columns, axis=1) @ CAMERA_TO_BVH  # CAMERA_TO_BVH is its own inverse
