"""A synthetic people dataset in COCO keypoint format, rendered from real motion capture.

No COCO or MPII images are available offline, so this module renders them: poses come from the
15 DeepMimic clips in the ``pybullet`` wheel (:mod:`posekit.data.mocap`), bodies are textured
sphere-and-capsule figures (:mod:`posekit.data.synthetic_figure`) drawn through a z-buffer by the
software rasteriser in :mod:`posekit.data.synthetic_render` (numpy + OpenCV, no OpenGL), over
cluttered backgrounds, with occluders and camera effects.

Splits hold out whole clips: the validation images use only :data:`VAL_CLIPS`
(``dance_b``, ``jump``, ``punch``: 325 of the 1,620 frames), the training images only the other
12 clips, so validation poses are motions the model never saw.

Pose variation (each person): a random clip and frame; random mirroring (the pose reflected
through the body's sagittal plane, ``z -> -z``, with left/right names swapped); small rigid
rotations of the limbs about their joints (shoulder, elbow, hip, knee, neck; bone lengths kept);
a random body height (scale 0.9 to 1.1 of the 1.7 m humanoid).

Camera (each person; all people of an image share the intrinsics): a pinhole camera looking at
the person from a random azimuth (the global yaw), elevation (pitch, -15 to 45 degrees) and roll
(about the optical axis), with a random focal length (0.8 to 2.5 image heights), at the distance
that makes the figure fill a random 40-90 % (first person; 30-80 % for the others) of the image
height (or width, whichever is larger), then shifted sideways so it sits at a random place in the
image (sometimes truncated by the border).

Labels: keypoints are the exact projections of the 3D points (pixel centres at integer
coordinates). Visibility follows COCO: ``v = 2`` visible, ``v = 1`` inside the image but hidden
(behind another body part, another person or an occluder), ``v = 0`` outside the image (and then
``x = y = 0``). A keypoint is visible when, at its pixel, the id buffer shows one of the body parts
that carry it (the left elbow: the left upper arm or forearm of the same person) and the depth
buffer's surface is no more than that joint's body radius (plus 4 cm; face points 3.5 cm, ears
6 cm) in front of it. The box is
the tight ``xywh`` box of the person's whole projected silhouette (amodal, clipped to the image,
pixel edges at half-integers); the area is the number of pixels where the person is visible.

Each annotation also stores ``keypoints_3d`` (17 x 3 COCO joints in the camera space of that
person, metres, flattened), ``camera`` (``focal``, ``center``, ``R``, ``t``, ``image_size``; with
``X_cam = R @ X_world + t`` where the world is the augmented clip frame) and ``motion`` (clip,
frame, mirrored).
"""

from __future__ import annotations

import concurrent.futures
import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from posekit.data.mocap import MotionClip, load_deepmimic_clips
from posekit.data.synthetic_figure import (
    KEYPOINT_OWNERS,
    Appearance,
    build_figure,
    sample_appearance,
    visibility_tolerance,
)
from posekit.data.synthetic_render import (
    BodyPart,
    Material,
    apply_photometric_effects,
    composite_parts,
    draw_occluder,
    load_sample_pictures,
    make_background,
    random_material,
)
from posekit.geometry import Camera, axis_angle_to_matrix
from posekit.io.atomic import atomic_write_text
from posekit.io.images import write_image
from posekit.skeletons import get_skeleton

__all__ = [
    "COCO_KEYPOINT_NAMES",
    "VAL_CLIPS",
    "Appearance",
    "OccluderSpec",
    "PersonSpec",
    "PoseSampler",
    "SampledPose",
    "SynthesisConfig",
    "SyntheticPerson",
    "SyntheticScene",
    "augment_pose",
    "build_figure",
    "coco_categories",
    "generate_dataset",
    "keypoint_visibility",
    "look_at_camera",
    "mirror_pose",
    "place_person",
    "render_scene",
    "sample_appearance",
    "sample_scene",
    "scene_annotations",
    "split_clips",
]

COCO_KEYPOINT_NAMES: tuple[str, ...] = get_skeleton("coco").keypoint_names
VAL_CLIPS: tuple[str, ...] = ("dance_b", "jump", "punch")
_SPLIT_CODES = {"train": 0, "val": 1}


# ------------------------------------------------------------------------------------------ config
@dataclass(frozen=True)
class SynthesisConfig:
    """What the generator draws from (ranges are ``(low, high)``).

    Attributes:
        image_size: ``(w, h)`` in pixels.
        people_per_image: inclusive range of the number of people in an image (at least 1).
        first_person_fill: fraction of the image height (or width) the first person fills.
        other_person_fill: the same for the other people.
        focal_range: focal length in image heights (0.8 is a wide angle, 2.5 a short tele).
        elevation_degrees: camera elevation above the person's centre (pitch).
        roll_degrees: standard deviation of the camera roll (clipped at 3 standard deviations).
        limb_jitter_degrees: largest rigid rotation of a limb about its joint.
        height_scale: body height relative to the 1.7 m humanoid.
        mirror_probability: probability of mirroring a pose left/right.
        truncation_probability: probability that the first person may extend past the border.
        occluder_probability: probability of an image having 1-2 occluders in front of people.
        max_overlap: largest box IoU of a person with any earlier person of the image.
        use_sample_pictures: crop background clutter from scikit-image's sample pictures (if installed).
        jpeg_quality: quality of the written JPEG files.
    """

    image_size: tuple[int, int] = (256, 256)
    people_per_image: tuple[int, int] = (1, 3)
    first_person_fill: tuple[float, float] = (0.4, 0.9)
    other_person_fill: tuple[float, float] = (0.3, 0.8)
    focal_range: tuple[float, float] = (0.8, 2.5)
    elevation_degrees: tuple[float, float] = (-15.0, 45.0)
    roll_degrees: float = 8.0
    limb_jitter_degrees: float = 10.0
    height_scale: tuple[float, float] = (0.9, 1.1)
    mirror_probability: float = 0.5
    truncation_probability: float = 0.1
    occluder_probability: float = 0.4
    max_overlap: float = 0.3
    use_sample_pictures: bool = True
    jpeg_quality: int = 90

    def __post_init__(self) -> None:
        width, height = self.image_size
        if width < 16 or height < 16:
            raise ValueError(f"image_size must be (w, h) with both at least 16 pixels, got {self.image_size}")
        low, high = self.people_per_image
        if not 1 <= low <= high:
            raise ValueError(f"people_per_image must be (min, max) with 1 <= min <= max, got {self.people_per_image}")
        for name in ("first_person_fill", "other_person_fill", "focal_range", "height_scale"):
            low_value, high_value = getattr(self, name)
            if not 0.0 < low_value <= high_value:
                raise ValueError(f"{name} must be (low, high) with 0 < low <= high, got {getattr(self, name)}")
        low_elevation, high_elevation = self.elevation_degrees
        if not -80.0 <= low_elevation <= high_elevation <= 80.0:
            raise ValueError(f"elevation_degrees must lie within [-80, 80], got {self.elevation_degrees}")
        for name in ("mirror_probability", "truncation_probability", "occluder_probability", "max_overlap"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be in [1, 100], got {self.jpeg_quality}")


# ------------------------------------------------------------------------------------------- poses
def split_clips(clips: Sequence[MotionClip], split: str, val_clips: Sequence[str] = VAL_CLIPS) -> list[MotionClip]:
    """The clips of a split: ``val`` = the clips named in ``val_clips``, ``train`` = all others.

    Raises:
        ValueError: for an unknown split, or a held-out name that is not among the clips.
    """
    if split not in _SPLIT_CODES:
        raise ValueError(f"split must be 'train' or 'val', got {split!r}")
    names = {clip.name for clip in clips}
    missing = sorted(set(val_clips) - names)
    if missing:
        raise ValueError(f"held-out clips {missing} are not among the clips {sorted(names)}")
    held_out = set(val_clips)
    chosen = [clip for clip in clips if (clip.name in held_out) == (split == "val")]
    if not chosen:
        raise ValueError(f"the {split} split has no clips (held out: {sorted(held_out)})")
    return chosen


@dataclass(frozen=True, eq=False)
class SampledPose:
    """One augmented pose: named 3D points in its world frame (metres, y up, +x forward, left -z).

    Attributes:
        point_names: names of the points (``posekit.skeletons`` vocabulary).
        points: ``(P, 3)`` float64 metres, feet near ``y = 0``, the root above the origin.
        clip: source clip name.
        frame: source frame index.
        mirrored: whether the pose was mirrored left/right.
    """

    point_names: tuple[str, ...]
    points: np.ndarray
    clip: str
    frame: int
    mirrored: bool


def _swap_side(name: str) -> str:
    if name.startswith("left_"):
        return "right_" + name[5:]
    if name.startswith("right_"):
        return "left_" + name[6:]
    return name


def mirror_pose(point_names: Sequence[str], points: np.ndarray) -> np.ndarray:
    """Mirror poses left/right: reflect ``z`` and swap every ``left_*``/``right_*`` point.

    Args:
        point_names: names of the ``P`` points.
        points: ``(..., P, 3)`` metres, in a frame whose ``z`` axis points to the body's side.

    Returns:
        ``(..., P, 3)``: the mirrored pose under the same names (``mirror_pose`` twice is the identity).
    """
    points = np.asarray(points)
    if points.shape[-2:] != (len(point_names), 3):
        raise ValueError(f"points must have shape (..., {len(point_names)}, 3), got {points.shape}")
    index = {name: i for i, name in enumerate(point_names)}
    order = [index.get(_swap_side(name), i) for i, name in enumerate(point_names)]
    mirrored = points[..., order, :].copy()
    mirrored[..., 2] *= -1.0
    return mirrored


# Rigid limb rotations: (pivot, points that turn with it). Parents come before children.
_LIMB_CHAINS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("left_shoulder", ("left_elbow", "left_wrist")),
    ("right_shoulder", ("right_elbow", "right_wrist")),
    ("left_elbow", ("left_wrist",)),
    ("right_elbow", ("right_wrist",)),
    ("left_hip", ("left_knee", "left_ankle", "left_heel", "left_foot_index")),
    ("right_hip", ("right_knee", "right_ankle", "right_heel", "right_foot_index")),
    ("left_knee", ("left_ankle", "left_heel", "left_foot_index")),
    ("right_knee", ("right_ankle", "right_heel", "right_foot_index")),
    ("neck", ("head_center", "head_top", "nose", "left_eye", "right_eye", "left_ear", "right_ear")),
)


def augment_pose(
    point_names: Sequence[str],
    points: np.ndarray,
    rng: np.random.Generator,
    mirror: bool,
    limb_jitter_degrees: float,
    height_scale: float,
) -> np.ndarray:
    """Centre, mirror, jitter the limbs of and scale one pose.

    Args:
        point_names: names of the ``P`` points.
        points: ``(P, 3)`` metres in the clip's world frame.
        rng: draws the limb rotations.
        mirror: mirror the pose left/right (:func:`mirror_pose`).
        limb_jitter_degrees: largest rotation of each limb chain about its joint (uniform axis).
        height_scale: scale of the whole body about the ground point below the root.

    Returns:
        ``(P, 3)`` float64 metres, the root above the origin.
    """
    points = np.array(points, dtype=np.float64)
    if points.shape != (len(point_names), 3):
        raise ValueError(f"points must have shape ({len(point_names)}, 3), got {points.shape}")
    index = {name: i for i, name in enumerate(point_names)}
    root = points[index["root"]] if "root" in index else points.mean(axis=0)
    points -= np.array([root[0], 0.0, root[2]])
    if mirror:
        points = mirror_pose(point_names, points)
    if limb_jitter_degrees > 0:
        for pivot, moving in _LIMB_CHAINS:
            if pivot not in index:
                continue
            axis = rng.standard_normal(3)
            axis /= max(float(np.linalg.norm(axis)), 1e-9)
            angle = math.radians(rng.uniform(0.0, limb_jitter_degrees))
            rotation = axis_angle_to_matrix(axis * angle)  # (3, 3)
            origin = points[index[pivot]]
            rows = [index[name] for name in moving if name in index]
            points[rows] = (points[rows] - origin) @ rotation.T + origin
    return points * height_scale


class PoseSampler:
    """Draws augmented poses from a set of clips: a uniform clip, then a uniform frame.

    Args:
        clips: the clips of one split (all with the same point names).
    """

    def __init__(self, clips: Sequence[MotionClip]) -> None:
        if not clips:
            raise ValueError("PoseSampler needs at least one clip, got none")
        names = clips[0].point_names
        for clip in clips:
            if clip.point_names != names:
                raise ValueError(f"clip {clip.name!r} has point names {clip.point_names}, expected {names}")
            if clip.points.ndim != 3 or clip.points.shape[1:] != (len(names), 3) or len(clip) == 0:
                raise ValueError(
                    f"clip {clip.name!r} points must have shape (T, {len(names)}, 3), got {clip.points.shape}"
                )
        missing = [
            name
            for name in (*COCO_KEYPOINT_NAMES, "root", "neck", "chest", "head_center", "head_top")
            if name not in names
        ]
        if missing:
            raise ValueError(f"clips lack the points {missing} needed to draw and label people")
        self.clips = tuple(clips)
        self.point_names = names

    def sample(self, rng: np.random.Generator, config: SynthesisConfig) -> SampledPose:
        """One augmented pose (see :func:`augment_pose`) with the ranges of ``config``."""
        clip = self.clips[int(rng.integers(len(self.clips)))]
        frame = int(rng.integers(len(clip)))
        mirrored = bool(rng.uniform() < config.mirror_probability)
        points = augment_pose(
            self.point_names,
            clip.points[frame],
            rng,
            mirror=mirrored,
            limb_jitter_degrees=config.limb_jitter_degrees,
            height_scale=float(rng.uniform(*config.height_scale)),
        )
        return SampledPose(point_names=self.point_names, points=points, clip=clip.name, frame=frame, mirrored=mirrored)


# ------------------------------------------------------------------------------------------ camera
def look_at_camera(
    target: np.ndarray,
    distance: float,
    azimuth: float,
    elevation: float,
    roll: float,
    focal: float,
    image_size: tuple[int, int],
) -> Camera:
    """A pinhole camera looking at ``target`` (world frame, y up) from a distance.

    The camera sits at ``target + distance * (cos(el) cos(az), sin(el), cos(el) sin(az))`` and
    looks at the target (which projects to the image centre ``((w - 1) / 2, (h - 1) / 2)``),
    rotated by ``roll`` about its optical axis. Camera axes: x right, y down, z forward.

    Args:
        target: ``(3,)`` world point in metres.
        distance: metres.
        azimuth: radians about the world's up axis.
        elevation: radians above the target (``|elevation| < pi / 2``).
        roll: radians about the optical axis.
        focal: focal length in pixels (square pixels).
        image_size: ``(w, h)``.

    Returns:
        The :class:`posekit.geometry.Camera` (no distortion).
    """
    target = np.asarray(target, dtype=np.float64)
    if target.shape != (3,):
        raise ValueError(f"target must have shape (3,), got {target.shape}")
    if not distance > 0 or not abs(elevation) < math.pi / 2:
        raise ValueError(f"need distance > 0 and |elevation| < pi/2, got {distance} and {elevation}")
    direction = np.array(
        [math.cos(elevation) * math.cos(azimuth), math.sin(elevation), math.cos(elevation) * math.sin(azimuth)]
    )
    position = target + distance * direction
    forward = -direction
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    cos, sin = math.cos(roll), math.sin(roll)
    rolled = np.array([[cos, -sin, 0.0], [sin, cos, 0.0], [0.0, 0.0, 1.0]])
    rotation = rolled @ np.stack([right, down, forward])  # rows: camera axes in world coordinates
    width, height = image_size
    return Camera(
        focal=np.array([focal, focal]),
        center=np.array([(width - 1) / 2.0, (height - 1) / 2.0]),
        R=rotation,
        t=-rotation @ position,
        image_size=(width, height),
    )


def _shift_camera(camera: Camera, shift: np.ndarray) -> Camera:
    """The same camera with its translation moved by ``shift`` ``(3,)`` camera-space metres."""
    return Camera(
        focal=camera.focal, center=camera.center, R=camera.R, t=camera.t + shift, image_size=camera.image_size
    )


def _figure_box(camera: Camera, points: np.ndarray, margin: float = 0.1) -> np.ndarray:
    """Approximate silhouette box ``(x0, y0, x1, y1)`` in pixels: projected points padded by ``margin`` metres."""
    camera_points = camera.world_to_camera(points)
    pixels = camera.project(camera_points, clip=False)
    pad = camera.focal[0] * margin / camera_points[:, 2]
    return np.array(
        [np.min(pixels[:, 0] - pad), np.min(pixels[:, 1] - pad), np.max(pixels[:, 0] + pad), np.max(pixels[:, 1] + pad)]
    )


def _box_iou(first: np.ndarray, second: np.ndarray) -> float:
    width = min(first[2], second[2]) - max(first[0], second[0])
    height = min(first[3], second[3]) - max(first[1], second[1])
    if width <= 0 or height <= 0:
        return 0.0
    intersection = width * height
    union = (first[2] - first[0]) * (first[3] - first[1]) + (second[2] - second[0]) * (second[3] - second[1])
    return float(intersection / (union - intersection))


def place_person(
    points: np.ndarray,
    rng: np.random.Generator,
    config: SynthesisConfig,
    focal: float,
    fill: float,
    allow_truncation: bool,
) -> Camera:
    """A random camera that shows a pose at a given size and a random place in the image.

    Args:
        points: ``(P, 3)`` world points in metres (y up).
        rng: draws azimuth, elevation, roll and the place.
        config: the ranges.
        focal: focal length in pixels.
        fill: target fraction of the image height (or width, whichever the figure fills more).
        allow_truncation: let the figure's box extend up to 30 % past the image border.

    Returns:
        The person's :class:`Camera`.
    """
    width, height = config.image_size
    target = 0.5 * (points.min(axis=0) + points.max(axis=0))
    azimuth = rng.uniform(0.0, 2.0 * math.pi)
    elevation = math.radians(rng.uniform(*config.elevation_degrees))
    roll = math.radians(
        float(np.clip(rng.normal(0.0, config.roll_degrees), -3 * config.roll_degrees, 3 * config.roll_degrees))
    )
    extent = float(np.max(points.max(axis=0) - points.min(axis=0))) + 0.2
    distance = max(focal * extent / (fill * height), extent)
    for _ in range(3):  # the projected size is ~ 1 / distance; refine for perspective
        camera = look_at_camera(target, distance, azimuth, elevation, roll, focal, (width, height))
        box = _figure_box(camera, points)
        measured = max((box[3] - box[1]) / height, (box[2] - box[0]) / width)
        distance = max(distance * measured / fill, extent)
    camera = look_at_camera(target, distance, azimuth, elevation, roll, focal, (width, height))
    box = _figure_box(camera, points)
    slack = 0.3 * (box[2:] - box[:2]) if allow_truncation else np.zeros(2)
    low = -box[:2] + camera.center - slack  # centre positions keeping the box inside (plus slack)
    high = np.array([width - 1.0, height - 1.0]) - box[2:] + camera.center + slack
    place = np.where(low <= high, rng.uniform(np.minimum(low, high), np.maximum(low, high)), 0.5 * (low + high))
    shift = np.append((place - camera.center) * distance / focal, 0.0)
    return _shift_camera(camera, shift)


# -------------------------------------------------------------------------------------- visibility
def keypoint_visibility(
    keypoints: np.ndarray,
    depths: np.ndarray,
    owner_ids: Sequence[Sequence[int]],
    tolerances: np.ndarray,
    id_buffer: np.ndarray,
    depth_buffer: np.ndarray,
) -> np.ndarray:
    """COCO visibility flags of one person's keypoints from the rendered id and depth buffers.

    Args:
        keypoints: ``(K, 2)`` pixels (pixel centres at integer coordinates).
        depths: ``(K,)`` camera-space depth of each keypoint, metres.
        owner_ids: for each keypoint, the part ids that carry it.
        tolerances: ``(K,)`` metres the visible surface may lie in front of the keypoint.
        id_buffer: ``(H, W)`` part ids of the rendered image.
        depth_buffer: ``(H, W)`` front-surface depth, metres.

    Returns:
        ``(K,)`` int: 2 visible, 1 inside the image but hidden, 0 outside the image.
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.ndim != 2 or keypoints.shape[1] != 2:
        raise ValueError(f"keypoints must have shape (K, 2), got {keypoints.shape}")
    count = keypoints.shape[0]
    if np.shape(depths) != (count,) or np.shape(tolerances) != (count,) or len(owner_ids) != count:
        raise ValueError(
            f"depths, tolerances and owner_ids must have {count} entries, got "
            f"{np.shape(depths)}, {np.shape(tolerances)} and {len(owner_ids)}"
        )
    if id_buffer.shape != depth_buffer.shape or id_buffer.ndim != 2:
        raise ValueError(
            f"id_buffer and depth_buffer must be the same (H, W), got {id_buffer.shape} and {depth_buffer.shape}"
        )
    height, width = id_buffer.shape
    columns, rows = np.round(keypoints[:, 0]), np.round(keypoints[:, 1])
    inside = (columns >= 0) & (columns < width) & (rows >= 0) & (rows < height) & np.all(np.isfinite(keypoints), 1)
    visibility = np.where(inside, 1, 0).astype(np.int64)
    for k in np.nonzero(inside)[0]:
        row, column = int(rows[k]), int(columns[k])
        if int(id_buffer[row, column]) in owner_ids[int(k)] and depth_buffer[row, column] >= depths[k] - tolerances[k]:
            visibility[k] = 2
    return visibility


# ------------------------------------------------------------------------------------------- scene
@dataclass(frozen=True, eq=False)
class PersonSpec:
    """A person to draw: a pose, its camera (world -> camera, intrinsics), an appearance.

    Attributes:
        point_names: names of the ``P`` points.
        points: ``(P, 3)`` world metres.
        camera: the person's camera; every person of a scene must share focal and centre.
        appearance: materials and build.
        motion: provenance (``clip``, ``frame``, ``mirrored``), copied into the annotation.
    """

    point_names: tuple[str, ...]
    points: np.ndarray
    camera: Camera
    appearance: Appearance
    motion: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class OccluderSpec:
    """An object in front of everyone: a polygon ``(M, 2)`` in pixels with a material."""

    polygon: np.ndarray
    material: Material


@dataclass(frozen=True, eq=False)
class SyntheticPerson:
    """One rendered person's labels.

    Attributes:
        keypoints: ``(17, 2)`` float64 COCO keypoints in pixels (exact projections, also when ``v = 0``).
        visibility: ``(17,)`` int COCO flags (2 visible, 1 hidden, 0 outside the image).
        keypoints_3d: ``(17, 3)`` float64 camera-space metres.
        camera: the person's camera.
        bbox: ``(4,)`` ``xywh`` tight box of the whole silhouette in the image (pixel edges at half-integers).
        area: number of pixels where the person is visible.
        part_ids: ids of the person's parts in the id buffer.
        motion: provenance (``clip``, ``frame``, ``mirrored``).
    """

    keypoints: np.ndarray
    visibility: np.ndarray
    keypoints_3d: np.ndarray
    camera: Camera
    bbox: np.ndarray
    area: int
    part_ids: tuple[int, ...]
    motion: dict[str, Any]


@dataclass(frozen=True, eq=False)
class SyntheticScene:
    """A rendered image with its labels and debug buffers.

    Attributes:
        image: ``(H, W, 3)`` uint8 RGB, after camera effects.
        background: ``(H, W, 3)`` uint8 RGB background before people, occluders and effects.
        id_buffer: ``(H, W)`` int32: 0 background, -1 occluder, else the part id shown there.
        depth_buffer: ``(H, W)`` float32 metres (``inf`` background, 0 occluders).
        people: the people, in drawing-list order.
    """

    image: np.ndarray
    background: np.ndarray
    id_buffer: np.ndarray
    depth_buffer: np.ndarray
    people: tuple[SyntheticPerson, ...]


_PARTS_PER_PERSON = 32


def render_scene(
    people: Sequence[PersonSpec],
    image_size: tuple[int, int],
    rng: np.random.Generator,
    background: np.ndarray | None = None,
    occluders: Sequence[OccluderSpec] = (),
    light: np.ndarray | None = None,
    ambient: float = 0.5,
    effects: bool = True,
) -> SyntheticScene:
    """Draw people and occluders over a background and label every person.

    Args:
        people: the people; all cameras must share focal and centre (one physical camera).
        image_size: ``(w, h)``.
        rng: material grain and camera effects.
        background: ``(h, w, 3)`` RGB (uint8 or float in ``[0, 255]``); default mid grey.
        occluders: objects drawn in front of everyone.
        light: ``(3,)`` direction towards the light in camera space; default from the upper left.
        ambient: ambient light fraction.
        effects: apply :func:`~posekit.data.synthetic_render.apply_photometric_effects`.

    Returns:
        The :class:`SyntheticScene`.
    """
    width, height = image_size
    if background is None:
        background = np.full((height, width, 3), 128.0, dtype=np.float32)
    background = np.asarray(background, dtype=np.float32)
    if background.shape != (height, width, 3):
        raise ValueError(f"background must have shape ({height}, {width}, 3), got {background.shape}")
    if not people:
        raise ValueError("render_scene needs at least one person, got none")
    focal, center = people[0].camera.focal, people[0].camera.center
    for person in people:
        if not (np.allclose(person.camera.focal, focal) and np.allclose(person.camera.center, center)):
            raise ValueError("all people of a scene must share the camera intrinsics (focal and centre)")
        if abs(person.camera.focal[0] - person.camera.focal[1]) > 1e-6 * person.camera.focal[0]:
            raise ValueError(f"the renderer needs square pixels (fx == fy), got focal {person.camera.focal}")
    light_direction = np.asarray(light if light is not None else [-0.4, -0.6, -0.7], dtype=np.float64)
    light_direction = light_direction / np.linalg.norm(light_direction)
    image = background.copy()
    depth_buffer = np.full((height, width), np.inf, dtype=np.float32)
    id_buffer = np.zeros((height, width), dtype=np.int32)
    all_parts: list[BodyPart] = []
    figures: list[tuple[list[BodyPart], np.ndarray]] = []
    for number, person in enumerate(people):
        camera_points = person.camera.world_to_camera(np.asarray(person.points, dtype=np.float64))  # (P, 3)
        parts = build_figure(
            person.point_names, camera_points, person.appearance, first_part_id=number * _PARTS_PER_PERSON + 1
        )
        all_parts.extend(parts)
        figures.append((parts, camera_points))
    coverage: dict[int, tuple[int, int, int, int]] = {}
    center_tuple = (float(center[0]), float(center[1]))
    composite_parts(
        image,
        depth_buffer,
        id_buffer,
        all_parts,
        float(focal[0]),
        center_tuple,
        light_direction,
        ambient,
        rng,
        coverage=coverage,
    )
    metres_per_pixel = 0.005 * 256.0 / max(height, 1)
    for occluder in occluders:
        draw_occluder(image, depth_buffer, id_buffer, occluder.polygon, occluder.material, metres_per_pixel, rng)
    labelled: list[SyntheticPerson] = []
    for person, (parts, camera_points) in zip(people, figures, strict=True):
        index = {name: i for i, name in enumerate(person.point_names)}
        part_ids = {part.name: part.part_id for part in parts}
        keypoints_3d = camera_points[[index[name] for name in COCO_KEYPOINT_NAMES]]  # (17, 3)
        keypoints = person.camera.project(keypoints_3d, clip=False)
        owners = [
            [part_ids[name] for name in KEYPOINT_OWNERS[keypoint] if name in part_ids]
            for keypoint in COCO_KEYPOINT_NAMES
        ]
        tolerances = np.array([visibility_tolerance(name, person.appearance.girth) for name in COCO_KEYPOINT_NAMES])
        visibility = keypoint_visibility(keypoints, keypoints_3d[:, 2], owners, tolerances, id_buffer, depth_buffer)
        boxes = np.array([coverage[part.part_id] for part in parts if part.part_id in coverage], dtype=np.float64)
        if len(boxes):  # union of the parts' tight boxes, pixel edges at half-integers
            x0, y0 = boxes[:, 0].min(), boxes[:, 1].min()
            bbox = np.array([x0 - 0.5, y0 - 0.5, boxes[:, 2].max() - x0 + 1.0, boxes[:, 3].max() - y0 + 1.0])
        else:
            bbox = np.zeros(4)
        first_id = parts[0].part_id
        area = int(np.count_nonzero((id_buffer >= first_id) & (id_buffer < first_id + _PARTS_PER_PERSON)))
        labelled.append(
            SyntheticPerson(
                keypoints=keypoints,
                visibility=visibility,
                keypoints_3d=keypoints_3d,
                camera=person.camera,
                bbox=bbox,
                area=area,
                part_ids=tuple(part.part_id for part in parts),
                motion=dict(person.motion),
            )
        )
    clean = np.clip(np.round(image), 0, 255).astype(np.uint8)
    final = apply_photometric_effects(image, rng) if effects else clean
    return SyntheticScene(
        image=final,
        background=np.clip(np.round(background), 0, 255).astype(np.uint8),
        id_buffer=id_buffer,
        depth_buffer=depth_buffer,
        people=tuple(labelled),
    )


def _random_occluder(box: np.ndarray, rng: np.random.Generator, image_size: tuple[int, int]) -> OccluderSpec:
    """An occluder polygon overlapping a person's box ``(x0, y0, x1, y1)``."""
    width, height = image_size
    box_width, box_height = box[2] - box[0], box[3] - box[1]
    center = rng.uniform(box[:2], box[2:])
    kind = rng.choice(["rectangle", "ellipse", "blob", "pole"], p=[0.35, 0.25, 0.25, 0.15])
    size = rng.uniform(0.15, 0.45) * max(box_height, box_width)
    if kind == "pole":
        thickness = rng.uniform(0.04, 0.12) * max(box_width, 8.0)
        angle = rng.normal(0.0, 0.15)
        direction = np.array([math.sin(angle), math.cos(angle)]) * 2.0 * (width + height)
        normal = np.array([direction[1], -direction[0]]) / np.linalg.norm(direction) * thickness / 2.0
        polygon = np.stack(
            [
                center - direction + normal,
                center + direction + normal,
                center + direction - normal,
                center - direction - normal,
            ]
        )
    elif kind == "rectangle":
        half = rng.uniform(0.3, 1.0, size=2) * size / 2.0
        angle = rng.normal(0.0, 0.2)
        corners = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]) * half
        rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        polygon = center + corners @ rotation.T
    else:
        count = 24
        angles = np.linspace(0.0, 2.0 * math.pi, count, endpoint=False)
        axes = rng.uniform(0.3, 0.6, size=2) * size
        radius = np.ones(count)
        if kind == "blob":
            harmonics = rng.normal(0.0, 0.12, size=(3, 2))
            for order, (cosine, sine) in enumerate(harmonics, start=2):
                radius += cosine * np.cos(order * angles) + sine * np.sin(order * angles)
        polygon = center + np.stack([axes[0] * radius * np.cos(angles), axes[1] * radius * np.sin(angles)], -1)
    material = random_material(rng, period=(0.02, 0.2))
    return OccluderSpec(polygon=polygon, material=material)


def sample_scene(
    sampler: PoseSampler, config: SynthesisConfig, rng: np.random.Generator, pictures: Sequence[np.ndarray] = ()
) -> SyntheticScene:
    """A random scene: background, 1+ people (poses from ``sampler``), occluders, effects.

    Args:
        sampler: poses of one split.
        config: the ranges.
        rng: all randomness (same state, same scene).
        pictures: sample pictures for background clutter (``load_sample_pictures()``), may be empty.

    Returns:
        The :class:`SyntheticScene`.
    """
    width, height = config.image_size
    background = make_background(config.image_size, rng, pictures)
    focal = height * float(np.exp(rng.uniform(*np.log(config.focal_range))))
    count = int(rng.integers(config.people_per_image[0], config.people_per_image[1] + 1))
    people: list[PersonSpec] = []
    boxes: list[np.ndarray] = []
    for number in range(count):
        pose = sampler.sample(rng, config)
        appearance = sample_appearance(rng)
        ranges = config.first_person_fill if number == 0 else config.other_person_fill
        for _ in range(1 if number == 0 else 10):
            fill = float(rng.uniform(*ranges))
            truncate = number > 0 or bool(rng.uniform() < config.truncation_probability)
            camera = place_person(pose.points, rng, config, focal, fill, allow_truncation=truncate)
            box = _figure_box(camera, pose.points)
            if all(_box_iou(box, other) <= config.max_overlap for other in boxes):
                break
        else:
            continue  # no room for this person
        boxes.append(box)
        people.append(
            PersonSpec(
                point_names=pose.point_names,
                points=pose.points,
                camera=camera,
                appearance=appearance,
                motion={"clip": pose.clip, "frame": pose.frame, "mirrored": pose.mirrored},
            )
        )
    occluders: list[OccluderSpec] = []
    if rng.uniform() < config.occluder_probability:
        for _ in range(int(rng.integers(1, 3))):
            target = boxes[int(rng.integers(len(boxes)))]
            occluders.append(_random_occluder(target, rng, config.image_size))
    light = np.array([rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 0.3), rng.uniform(-1.5, -0.3)])
    return render_scene(
        people,
        config.image_size,
        rng,
        background=background,
        occluders=occluders,
        light=light,
        ambient=float(rng.uniform(0.35, 0.65)),
        effects=True,
    )


# -------------------------------------------------------------------------------------------- COCO
def coco_categories() -> list[dict[str, Any]]:
    """The COCO ``person`` category with keypoint names and the 1-based skeleton links."""
    skeleton = get_skeleton("coco")
    order = {name: i + 1 for i, name in enumerate(skeleton.keypoint_names)}
    return [
        {
            "id": 1,
            "name": "person",
            "supercategory": "person",
            "keypoints": list(skeleton.keypoint_names),
            "skeleton": [[order[first], order[second]] for first, second in skeleton.links],
        }
    ]


def _rounded(values: np.ndarray, digits: int) -> list[float]:
    return [round(float(value), digits) for value in np.asarray(values, dtype=np.float64).ravel()]


def scene_annotations(scene: SyntheticScene, image_id: int, first_annotation_id: int) -> list[dict[str, Any]]:
    """COCO keypoint annotations of a scene's people (people without pixels in the image are skipped).

    Each has the COCO fields (``id``, ``image_id``, ``category_id`` 1, ``keypoints`` flat
    ``x, y, v``, ``num_keypoints``, ``bbox`` ``xywh``, ``area``, ``iscrowd`` 0) plus
    ``keypoints_3d`` (flat, camera-space metres), ``camera`` and ``motion``.
    """
    annotations = []
    annotation_id = first_annotation_id
    for person in scene.people:
        if person.bbox[2] <= 0 or person.bbox[3] <= 0:
            continue
        flat: list[float] = []
        for (x, y), flag in zip(person.keypoints, person.visibility, strict=True):
            flat += [round(float(x), 2), round(float(y), 2), int(flag)] if flag > 0 else [0, 0, 0]
        camera = person.camera
        annotations.append(
            {
                "id": annotation_id,
                "image_id": image_id,
                "category_id": 1,
                "keypoints": flat,
                "num_keypoints": int(np.count_nonzero(person.visibility)),
                "bbox": _rounded(person.bbox, 2),
                "area": float(person.area),
                "iscrowd": 0,
                "keypoints_3d": _rounded(person.keypoints_3d, 5),
                "camera": {
                    "focal": _rounded(camera.focal, 4),
                    "center": _rounded(camera.center, 4),
                    "R": [_rounded(row, 8) for row in camera.R],
                    "t": _rounded(camera.t, 6),
                    "image_size": list(camera.image_size) if camera.image_size is not None else None,
                },
                "motion": dict(person.motion),
            }
        )
        annotation_id += 1
    return annotations


def _image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of one image: independent of the worker count and of the other images."""
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(_SPLIT_CODES[split], index)))


def _file_name(index: int) -> str:
    return f"{index + 1:012d}.jpg"


def _render_and_write(
    sampler: PoseSampler, config: SynthesisConfig, seed: int, split: str, index: int, image_folder: Path
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Render image ``index`` of a split, write its JPEG atomically, return (image record, annotations)."""
    pictures = load_sample_pictures() if config.use_sample_pictures else ()
    scene = sample_scene(sampler, config, _image_rng(seed, split, index), pictures)
    file_name = _file_name(index)
    write_image(image_folder / file_name, scene.image, quality=config.jpeg_quality)
    width, height = config.image_size
    record = {"id": index + 1, "file_name": file_name, "width": width, "height": height}
    return record, scene_annotations(scene, image_id=index + 1, first_annotation_id=1)


_WORKER_STATE: dict[str, Any] = {}


def _worker_init(samplers: dict[str, PoseSampler], config: SynthesisConfig, seed: int, output: str) -> None:
    _WORKER_STATE.update(samplers=samplers, config=config, seed=seed, output=output)


def _worker_render(split: str, index: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    state = _WORKER_STATE
    return _render_and_write(
        state["samplers"][split], state["config"], state["seed"], split, index, Path(state["output"]) / "images" / split
    )


def generate_dataset(
    output_dir: str | os.PathLike[str],
    num_train: int,
    num_val: int,
    seed: int = 0,
    config: SynthesisConfig | None = None,
    workers: int = 1,
    clips: Sequence[MotionClip] | None = None,
    val_clips: Sequence[str] = VAL_CLIPS,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Path]:
    """Render a COCO-format synthetic people dataset.

    Layout: ``output_dir/images/{train,val}/000000000001.jpg ...`` and
    ``output_dir/annotations/{train,val}.json``. Each split's JSON is deleted first and written
    last, atomically, after all its images: an interrupted run leaves no JSON that names missing
    images. The same seed (and config) gives byte-identical JSON and identical images, whatever
    ``workers`` is (each image has its own random stream).

    Args:
        output_dir: the dataset folder (created).
        num_train: number of training images (poses from all clips but ``val_clips``).
        num_val: number of validation images (poses from ``val_clips`` only).
        seed: the random seed.
        config: the ranges; defaults to :class:`SynthesisConfig()`.
        workers: processes rendering in parallel (1 = in this process).
        clips: motion clips; defaults to :func:`posekit.data.mocap.load_deepmimic_clips`.
        val_clips: names of the held-out clips.
        progress: called as ``progress(split, done, total)`` after each image.

    Returns:
        ``{"train": path, "val": path}`` of the annotation files written (splits with 0 images skipped).
    """
    if num_train < 0 or num_val < 0 or num_train + num_val == 0:
        raise ValueError(f"need num_train >= 0, num_val >= 0 and at least one image, got {num_train} and {num_val}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    config = config if config is not None else SynthesisConfig()
    clips = list(clips) if clips is not None else load_deepmimic_clips()
    samplers = {split: PoseSampler(split_clips(clips, split, val_clips)) for split in ("train", "val")}
    output = Path(output_dir)
    counts = {"train": num_train, "val": num_val}
    written: dict[str, Path] = {}
    info = {
        "description": "posekit synthetic people: DeepMimic motion capture rendered by posekit.data.synthetic",
        "seed": seed,
        "config": asdict(config),
        "train_clips": sorted(clip.name for clip in samplers["train"].clips),
        "val_clips": sorted(clip.name for clip in samplers["val"].clips),
        "sample_pictures": bool(config.use_sample_pictures and load_sample_pictures()),
    }
    executor = (
        concurrent.futures.ProcessPoolExecutor(
            max_workers=workers, initializer=_worker_init, initargs=(samplers, config, seed, str(output))
        )
        if workers > 1
        else None
    )
    try:
        for split in ("train", "val"):
            total = counts[split]
            if total == 0:
                continue
            annotation_path = output / "annotations" / f"{split}.json"
            annotation_path.unlink(missing_ok=True)
            image_folder = output / "images" / split
            image_folder.mkdir(parents=True, exist_ok=True)
            results: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
            if executor is None:
                for index in range(total):
                    results.append(_render_and_write(samplers[split], config, seed, split, index, image_folder))
                    if progress is not None:
                        progress(split, index + 1, total)
            else:
                chunk = max(1, min(16, total // (4 * workers)))
                mapped = executor.map(_worker_render, [split] * total, range(total), chunksize=chunk)
                for done, result in enumerate(mapped, start=1):
                    results.append(result)
                    if progress is not None:
                        progress(split, done, total)
            images: list[dict[str, Any]] = []
            annotations: list[dict[str, Any]] = []
            for record, image_annotations in results:
                images.append(record)
                for annotation in image_annotations:
                    annotations.append({**annotation, "id": len(annotations) + 1})
            document = {
                "info": {**info, "split": split},
                "licenses": [],
                "images": images,
                "annotations": annotations,
                "categories": coco_categories(),
            }
            atomic_write_text(annotation_path, json.dumps(document, separators=(",", ":")))
            written[split] = annotation_path
    finally:
        if executor is not None:
            executor.shutdown()
    return written
