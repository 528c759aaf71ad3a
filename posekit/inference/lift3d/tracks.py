"""Video to 3D: lift every tracked person's 2D keypoints to Human3.6M-17 3D poses with a trajectory.

Legend: ``T`` frames, ``K`` keypoints of the input skeleton, ``J`` = 17 Human3.6M joints.

:func:`lift_tracks` takes the per-person 2D tracks of a video (:class:`~posekit.structures.PoseSequence`
in any registered skeleton: BlazePose-33 from ``posekit predict``, COCO-17, Human3.6M-17, ...) and a
VideoPose3D :class:`~posekit.models.lift3d.Lifter`, and returns one sequence per track with:

* ``keypoints`` ``(T, 17, 2)``: the Human3.6M-17 2D keypoints the lifter saw, in pixels. The input
  is converted **by joint name** (:func:`posekit.skeletons.convert_keypoints_and_scores`; BlazePose
  hips, knees, ankles, shoulders, elbows, wrists and nose are copied, pelvis/thorax/spine/head are
  derived as in MMPose), so nothing is routed through COCO first.
* ``scores`` ``(T, 17)``: the converted confidences, **0 exactly where a value was filled** (the
  flag of :func:`lift_keypoints`' ``interpolated``; the container's convention "0 = missing").
* ``frames``: every frame from the track's first to its last; frames where the tracker lost the
  person are filled like missing joints (``timestamps`` and ``boxes`` are interpolated linearly).
* ``keypoints_3d`` ``(T, 17, 3)``: metres, camera frame (x right, y down, z forward),
  **root-relative** (pelvis at the origin), ``skeleton_3d="h36m"``.
* ``trajectory`` ``(T, 3)``: the pelvis position in camera space, metres (see below).

Missing keypoints (NaN, score at or below ``min_score``, joints the conversion cannot derive,
frames without the person) are never silently zero: :func:`fill_missing_keypoints` interpolates
them linearly in time between the nearest valid frames of the same joint (edge values held at
the track ends; :func:`posekit.data.tracks2d.interpolate_missing`), and a joint that is missing in
*every* frame of a track is placed on its parent joint (the pelvis, when missing throughout, at the
mean of the other joints), flagged likewise.

Short tracks: the lifter sees ``receptive_field`` frames per output;
:func:`posekit.inference.lift3d.sequence.lift_sequence` pads both ends with copies of the first and last
frames (official evaluation padding), so any track, even a single frame or a single image, gets
one pose per frame. A track much shorter than the receptive field is then mostly padding and its
poses are those of a (less accurate) near-single-frame lifter.

Trajectory: with a lifter that has a trajectory model (semi-supervised VideoPose3D, the default
posekit lifter) the root position is that model's output. Without one, the documented fallback
:func:`estimate_root_trajectory` places the predicted root-relative pose in front of a pinhole
camera so that it reprojects onto the 2D keypoints: for each frame the root ``(X, Y, Z)`` solves the
linear least-squares system ``f (P_jx + X) = (u_jx - c_x)(P_jz + Z)`` (and the same in y) over the
joints, which fixes the depth from the 2D size of the person against the 3D size of the predicted
skeleton. The focal length is unknown for user videos: :data:`DEFAULT_FOCAL_LENGTH_FACTOR` times
the image width (1.15: the Human3.6M cameras, about 1146 px for 1000 px wide images, that the
official lifters learnt their depth cues from; about a 47 degree horizontal field of view, a
"normal" lens), and the principal point is the image centre. Depths scale with the focal length
given (``focal_length=``), so they are right up to that factor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from posekit.data.tracks2d import interpolate_missing
from posekit.geometry import check_image_size, normalize_screen_coordinates
from posekit.inference.lift3d.sequence import lift_sequence
from posekit.models.lift3d import FoldedTemporalModel, Lifter, TemporalModel
from posekit.skeletons import H36M, Skeleton, convert_keypoints_and_scores, get_skeleton
from posekit.structures import PoseInstances, PoseSequence

__all__ = [
    "DEFAULT_FOCAL_LENGTH_FACTOR",
    "LiftedKeypoints",
    "TrackCollector",
    "as_lifter",
    "check_lifter",
    "default_focal_length",
    "estimate_root_trajectory",
    "fill_missing_keypoints",
    "h36m_flip_indices",
    "lift_keypoints",
    "lift_tracks",
]

DEFAULT_FOCAL_LENGTH_FACTOR = 1.15
"""Assumed focal length in units of the image width when the camera is unknown (Human3.6M-like)."""

LIFT_SKELETON = H36M
NUM_JOINTS = H36M.num_keypoints


def default_focal_length(image_size: tuple[int, int]) -> float:
    """The assumed focal length in pixels: ``DEFAULT_FOCAL_LENGTH_FACTOR * w``."""
    return DEFAULT_FOCAL_LENGTH_FACTOR * float(image_size[0])


def h36m_flip_indices() -> tuple[list[int], list[int]]:
    """``(left, right)`` Human3.6M-17 joint indices swapped by a horizontal flip (paired by name)."""
    pairs = LIFT_SKELETON.flip_pair_indices
    return [left for left, _ in pairs], [right for _, right in pairs]


def as_lifter(model: Lifter | TemporalModel | FoldedTemporalModel) -> Lifter:
    """Wrap a bare pose model in a :class:`Lifter` (no trajectory model); lifters pass through."""
    if isinstance(model, Lifter):
        return model
    if isinstance(model, TemporalModel | FoldedTemporalModel):
        return Lifter(model).eval()
    raise ValueError(f"expected a Lifter, TemporalModel or FoldedTemporalModel, got {type(model).__name__}")


def check_lifter(lifter: Lifter) -> None:
    """Refuse lifters that do not map Human3.6M-17 2D keypoints to 17 3D joints.

    Raises:
        ValueError: naming the joint counts or features the checkpoint has.
    """
    if lifter.num_joints_in != NUM_JOINTS or lifter.num_joints != NUM_JOINTS or lifter.in_features != 2:
        raise ValueError(
            f"the lifter maps {lifter.num_joints_in} joints x {lifter.in_features} features to {lifter.num_joints} "
            f"joints, expected the Human3.6M-17 layout (17 x 2 -> 17): a checkpoint for another skeleton "
            "(e.g. HumanEva-15) cannot lift posekit's Human3.6M tracks"
        )


# ------------------------------------------------------------------------------------- filling
def fill_missing_keypoints(
    keypoints: np.ndarray, valid: np.ndarray, skeleton: str | Skeleton = "h36m"
) -> tuple[np.ndarray, np.ndarray]:
    """Fill missing keypoints of one track: interpolation in time, then the parent joint.

    Joints valid in at least one frame are interpolated linearly between their valid frames (the
    first and last valid values held at the ends); a joint valid in no frame takes its parent's
    position (skeleton ``parents``), the root the mean of the other joints.

    Args:
        keypoints: ``(T, K, D)`` values; invalid entries may hold anything (NaN included).
        valid: ``(T, K)`` booleans (also false wherever ``keypoints`` is not finite).
        skeleton: the format, for the parents of never-valid joints.

    Returns:
        ``(filled (T, K, D) float32, interpolated (T, K) bool)``.

    Raises:
        ValueError: wrong shapes, or no valid keypoint in the whole track.
    """
    values = np.asarray(keypoints, dtype=np.float32)
    mask = np.asarray(valid, dtype=bool)
    if values.ndim != 3 or mask.shape != values.shape[:2]:
        raise ValueError(f"keypoints must have shape (T, K, D) and valid (T, K), got {values.shape} and {mask.shape}")
    mask = mask & np.isfinite(values).all(axis=-1)
    ever = mask.any(axis=0)  # (K,)
    if not ever.any():
        raise ValueError("the track has no valid keypoint in any frame; it cannot be lifted")
    filled = np.zeros_like(values)
    interpolated = np.ones(mask.shape, dtype=bool)
    sub_filled, sub_interpolated = interpolate_missing(values[:, ever], mask[:, ever])
    filled[:, ever] = sub_filled
    interpolated[:, ever] = sub_interpolated
    if not ever.all():
        resolved = get_skeleton(skeleton)
        parents = resolved.parents
        if parents is None or len(parents) != values.shape[1]:
            raise ValueError(
                f"keypoints {np.flatnonzero(~ever).tolist()} are never valid and skeleton {resolved.name!r} has no "
                "parents to place them"
            )
        done = np.array(ever, dtype=bool)
        # Parents first: repeat until every joint is placed (parent indices need not be sorted).
        while not done.all():
            progressed = False
            for joint in np.flatnonzero(~done):
                parent = parents[joint]
                if parent < 0:
                    filled[:, joint] = filled[:, done].mean(axis=1)
                elif done[parent]:
                    filled[:, joint] = filled[:, parent]
                else:
                    continue
                done[joint] = True
                progressed = True
            if not progressed:  # a root missing while only its descendants are missing too
                for joint in np.flatnonzero(~done):
                    filled[:, joint] = filled[:, done].mean(axis=1)
                    done[joint] = True
    return filled, interpolated


# ----------------------------------------------------------------------------------- trajectory
def estimate_root_trajectory(
    keypoints_2d: np.ndarray,
    keypoints_3d: np.ndarray,
    focal_length: float | Sequence[float] | np.ndarray,
    principal_point: Sequence[float] | np.ndarray,
    weights: np.ndarray | None = None,
    min_depth: float = 0.1,
) -> np.ndarray:
    """Root positions that make root-relative 3D poses reproject onto 2D keypoints (pinhole camera).

    For each frame, solves ``min_t sum_j w_j |f (P_j + t)_xy / (P_j + t)_z + c - u_j|^2`` in its
    linearised form ``f_x (P_jx + X) - (u_jx - c_x)(P_jz + Z) = 0`` (and in y): three unknowns, two
    equations per joint, exact when the pose and the keypoints agree. When that gives a depth
    below ``min_depth`` (degenerate input), the weak-perspective estimate is used instead: depth
    = ``f * (3D spread) / (2D spread)``, ``X, Y`` from the 2D centroid.

    Args:
        keypoints_2d: ``(..., J, 2)`` pixels.
        keypoints_3d: ``(..., J, 3)`` root-relative metres, camera orientation.
        focal_length: ``f`` or ``(fx, fy)`` in pixels.
        principal_point: ``(cx, cy)`` pixels.
        weights: ``(..., J)`` non-negative joint weights (e.g. lower for interpolated joints).
        min_depth: smallest accepted depth, metres.

    Returns:
        ``(..., 3)`` float32 root positions, metres, camera space.
    """
    points_2d = np.asarray(keypoints_2d, dtype=np.float64)
    points_3d = np.asarray(keypoints_3d, dtype=np.float64)
    if points_2d.ndim < 2 or points_2d.shape[-1] != 2:
        raise ValueError(f"keypoints_2d must have shape (..., J, 2), got {points_2d.shape}")
    if points_3d.shape != points_2d.shape[:-1] + (3,):
        raise ValueError(f"keypoints_3d must have shape {points_2d.shape[:-1] + (3,)}, got {points_3d.shape}")
    focal = np.broadcast_to(np.asarray(focal_length, dtype=np.float64), (2,))
    center = np.asarray(principal_point, dtype=np.float64).reshape(2)
    joint_weights = (
        np.ones(points_2d.shape[:-1])
        if weights is None
        else np.broadcast_to(np.asarray(weights, np.float64), points_2d.shape[:-1])
    )
    offsets = points_2d - center  # (..., J, 2)
    zeros = np.zeros_like(offsets[..., 0])
    # Rows (..., J, 2, 3): x row (fx, 0, -du), y row (0, fy, -dv); right side (du Pz - fx Px).
    row_x = np.stack([np.full_like(zeros, focal[0]), zeros, -offsets[..., 0]], axis=-1)
    row_y = np.stack([zeros, np.full_like(zeros, focal[1]), -offsets[..., 1]], axis=-1)
    design = np.stack([row_x, row_y], axis=-2)
    target = offsets * points_3d[..., 2:3] - focal * points_3d[..., :2]  # (..., J, 2)
    sqrt_w = np.sqrt(np.maximum(joint_weights, 0.0))[..., None]  # (..., J, 1)
    design = design * sqrt_w[..., None]
    target = target * sqrt_w
    # Normal equations (..., 3, 3): A^T A t = A^T b, summed over joints and both rows.
    flat_design = design.reshape(*design.shape[:-3], -1, 3)  # (..., J, 2, 3) -> (..., 2J, 3)
    flat_target = target.reshape(*target.shape[:-2], -1)  # (..., J, 2) -> (..., 2J)
    normal = np.einsum("...ni,...nj->...ij", flat_design, flat_design)
    rhs = np.einsum("...ni,...n->...i", flat_design, flat_target)
    normal = normal + np.eye(3) * 1e-9 * np.maximum(np.trace(normal, axis1=-2, axis2=-1), 1.0)[..., None, None]
    solution = np.linalg.solve(normal, rhs[..., None])[..., 0]
    # Weak-perspective fallback for degenerate frames.
    total = np.maximum(joint_weights.sum(axis=-1, keepdims=True), 1e-12)  # (..., 1)
    mean_2d = (points_2d * joint_weights[..., None]).sum(axis=-2) / total  # (..., 2)
    mean_3d = (points_3d * joint_weights[..., None]).sum(axis=-2) / total  # (..., 3)
    spread_2d = np.sqrt((joint_weights * ((points_2d - mean_2d[..., None, :]) ** 2).sum(-1)).sum(-1) / total[..., 0])
    spread_3d = np.sqrt(
        (joint_weights * ((points_3d[..., :2] - mean_3d[..., None, :2]) ** 2).sum(-1)).sum(-1) / total[..., 0]
    )
    weak_depth = np.where(spread_2d > 1e-6, focal.mean() * spread_3d / np.maximum(spread_2d, 1e-6), 10.0)
    weak_depth = np.maximum(weak_depth, min_depth)
    weak_xy = (mean_2d - center) * weak_depth[..., None] / focal - mean_3d[..., :2]
    weak = np.concatenate([weak_xy, weak_depth[..., None] - mean_3d[..., 2:3]], axis=-1)
    good = np.isfinite(solution).all(axis=-1) & (solution[..., 2] >= min_depth)
    return np.where(good[..., None], solution, weak).astype(np.float32)


# ---------------------------------------------------------------------------------------- lifting
@dataclass(frozen=True, eq=False)
class LiftedKeypoints:
    """One track lifted to 3D.

    Attributes:
        keypoints_2d: ``(T, 17, 2)`` float32 Human3.6M-17 pixels fed to the lifter (filled).
        scores: ``(T, 17)`` float32 confidences, 0 where ``interpolated``.
        interpolated: ``(T, 17)`` bool, true where the 2D value was filled.
        keypoints_3d: ``(T, 17, 3)`` float32 metres, camera frame, root-relative.
        trajectory: ``(T, 3)`` float32 metres, root position in camera space.
        trajectory_source: ``"model"`` (the lifter's trajectory model) or ``"pinhole"`` (fallback).
    """

    keypoints_2d: np.ndarray
    scores: np.ndarray
    interpolated: np.ndarray
    keypoints_3d: np.ndarray
    trajectory: np.ndarray
    trajectory_source: Literal["model", "pinhole"]


def _prepare_h36m(
    keypoints: np.ndarray, scores: np.ndarray | None, skeleton: str | Skeleton, min_score: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Convert ``(T, K, 2|3)`` to Human3.6M-17 and fill: ``(keypoints, scores, interpolated)``."""
    source = get_skeleton(skeleton)
    values = np.asarray(keypoints, dtype=np.float64)
    if values.ndim != 3 or values.shape[1] != source.num_keypoints or values.shape[2] not in (2, 3):
        raise ValueError(
            f"keypoints must have shape (T, {source.num_keypoints}, 2) or (T, {source.num_keypoints}, 3) "
            f"(x, y[, score] for the {source.name!r} skeleton), got {values.shape}"
        )
    if values.shape[0] == 0:
        raise ValueError("keypoints has no frames")
    if scores is None:
        score_values = values[..., 2] if values.shape[2] == 3 else np.ones(values.shape[:2])
    else:
        score_values = np.asarray(scores, dtype=np.float64)
        if score_values.shape != values.shape[:2]:
            raise ValueError(f"scores must have shape {values.shape[:2]}, got {score_values.shape}")
    points = values[..., :2]
    present = np.isfinite(points).all(axis=-1) & np.isfinite(score_values) & (np.nan_to_num(score_values) > min_score)
    # Missing entries get score 0 so that the conversion marks every joint derived from them invalid.
    clean_scores = np.where(present, np.nan_to_num(score_values), 0.0)
    converted, converted_scores, converted_valid = convert_keypoints_and_scores(
        np.where(present[..., None], points, 0.0), clean_scores, source, LIFT_SKELETON
    )
    filled, interpolated = fill_missing_keypoints(converted, converted_valid, LIFT_SKELETON)
    final_scores = np.where(interpolated, 0.0, converted_scores).astype(np.float32)
    return filled.astype(np.float32), final_scores, interpolated


def lift_keypoints(
    keypoints: np.ndarray,
    lifter: Lifter | TemporalModel | FoldedTemporalModel,
    image_size: tuple[int, int],
    *,
    scores: np.ndarray | None = None,
    skeleton: str | Skeleton = "h36m",
    flip_test: bool = True,
    min_score: float = 0.0,
    focal_length: float | None = None,
    chunk_size: int = 8192,
) -> LiftedKeypoints:
    """Lift one person's 2D keypoints over consecutive frames to 3D (see the module docstring).

    Args:
        keypoints: ``(T, K, 2)`` pixels, or ``(T, K, 3)`` with scores in the last channel; NaN
            marks a missing keypoint (a whole NaN frame: the person was not found).
        lifter: a Human3.6M-17 VideoPose3D lifter.
        image_size: ``(w, h)`` of the video, pixels.
        scores: ``(T, K)`` confidences (default: the third channel, else all 1).
        skeleton: the format of ``keypoints`` (``blazepose``, ``coco``, ``h36m``, ...).
        flip_test: average with the horizontally mirrored input (official test-time augmentation).
        min_score: keypoints scoring at or below this count as missing.
        focal_length: pixels, for the pinhole trajectory fallback (default
            :func:`default_focal_length`).
        chunk_size: output frames per lifter pass (memory bound).

    Returns:
        :class:`LiftedKeypoints`.

    Raises:
        ValueError: wrong shapes, an unsuitable lifter, or no valid keypoint at all.
    """
    model = as_lifter(lifter)
    check_lifter(model)
    width, height = check_image_size(image_size)
    filled, filled_scores, interpolated = _prepare_h36m(keypoints, scores, skeleton, min_score)
    normalized = np.asarray(normalize_screen_coordinates(filled, width, height), dtype=np.float32)
    left, right = h36m_flip_indices()
    flip = {"flip_augment": flip_test, "keypoints_left": left, "keypoints_right": right}
    poses = lift_sequence(model, normalized, chunk_size=chunk_size, **flip)  # type: ignore[arg-type]
    root = LIFT_SKELETON.root_index or 0
    poses = poses - poses[:, root : root + 1]  # root-relative (the lifters predict ~0 at the root)
    source: Literal["model", "pinhole"]
    if model.trajectory is not None:
        trajectory = lift_sequence(model.trajectory, normalized, chunk_size=chunk_size, **flip)[:, 0]  # type: ignore[arg-type]
        source = "model"
    else:
        focal = default_focal_length((width, height)) if focal_length is None else float(focal_length)
        if not np.isfinite(focal) or focal <= 0:
            raise ValueError(f"focal_length must be a positive number of pixels, got {focal_length}")
        trajectory = estimate_root_trajectory(
            filled, poses, focal, (width / 2.0, height / 2.0), weights=np.where(interpolated, 0.1, 1.0)
        )
        source = "pinhole"
    return LiftedKeypoints(
        keypoints_2d=filled,
        scores=filled_scores,
        interpolated=interpolated,
        keypoints_3d=np.asarray(poses, dtype=np.float32),
        trajectory=np.asarray(trajectory, dtype=np.float32),
        trajectory_source=source,
    )


def _dense(sequence: PoseSequence) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """``(frames, keypoints with NaN rows for gaps, scores, timestamps, boxes)`` over every frame."""
    first, last = int(sequence.frames[0]), int(sequence.frames[-1])
    frames = np.arange(first, last + 1, dtype=np.int64)
    rows = sequence.frames - first
    keypoints = np.full((len(frames), *sequence.keypoints.shape[1:]), np.nan, np.float32)
    keypoints[rows] = sequence.keypoints
    scores = np.zeros((len(frames), sequence.num_keypoints), np.float32)
    scores[rows] = sequence.scores
    timestamps = None
    if sequence.timestamps is not None:
        timestamps = np.interp(frames, sequence.frames, sequence.timestamps)
    boxes = None
    if sequence.boxes is not None:
        boxes = np.stack([np.interp(frames, sequence.frames, sequence.boxes[:, index]) for index in range(4)], axis=1)
    return frames, keypoints, scores, timestamps, boxes


def lift_tracks(
    sequences: Sequence[PoseSequence],
    lifter: Lifter | TemporalModel | FoldedTemporalModel,
    image_size: tuple[int, int],
    flip_test: bool = True,
    *,
    min_score: float = 0.0,
    focal_length: float | None = None,
    chunk_size: int = 8192,
) -> list[PoseSequence]:
    """Lift every track of a video to Human3.6M-17 3D poses with a global trajectory.

    Args:
        sequences: one :class:`PoseSequence` per person (any registered 2D skeleton; missing
            keypoints have score 0; frames may skip where the person was lost).
        lifter: a Human3.6M-17 VideoPose3D lifter (with or without a trajectory model).
        image_size: ``(w, h)`` of the video in pixels (for normalisation and the camera).
        flip_test: horizontal-flip test-time augmentation.
        min_score: keypoints scoring at or below this count as missing.
        focal_length: pixels, for the pinhole trajectory fallback.
        chunk_size: output frames per lifter pass.

    Returns:
        One sequence per input, same order and ``track_id``: ``skeleton="h36m"`` 2D keypoints
        (filled; ``scores == 0`` flags filled values), every frame from first to last,
        ``keypoints_3d (T, 17, 3)`` root-relative metres in camera space (``skeleton_3d="h36m"``)
        and ``trajectory (T, 3)`` metres.

    Raises:
        ValueError: an input that is not a PoseSequence, a bad image size or lifter, or a track
            without any valid keypoint (named by its track id).
    """
    model = as_lifter(lifter)
    check_lifter(model)
    size = check_image_size(image_size)
    outputs = []
    for position, sequence in enumerate(sequences):
        if not isinstance(sequence, PoseSequence):
            raise ValueError(f"sequences[{position}] must be a PoseSequence, got {type(sequence).__name__}")
        if len(sequence) == 0:
            raise ValueError(f"track {sequence.track_id} has no frames")
        frames, keypoints, scores, timestamps, boxes = _dense(sequence)
        try:
            lifted = lift_keypoints(
                keypoints[..., :2],
                model,
                size,
                scores=scores,
                skeleton=sequence.skeleton,
                flip_test=flip_test,
                min_score=min_score,
                focal_length=focal_length,
                chunk_size=chunk_size,
            )
        except ValueError as error:
            raise ValueError(f"track {sequence.track_id}: {error}") from None
        outputs.append(
            PoseSequence(
                frames=frames,
                keypoints=lifted.keypoints_2d,
                scores=lifted.scores,
                skeleton=LIFT_SKELETON.name,
                track_id=sequence.track_id,
                timestamps=timestamps,
                boxes=boxes,
                keypoints_3d=lifted.keypoints_3d,
                skeleton_3d=LIFT_SKELETON.name,
                trajectory=lifted.trajectory,
            )
        )
    return outputs


class TrackCollector:
    """Gather the people of consecutive video frames into one :class:`PoseSequence` per track id.

    ``add`` is called once per frame with the frame's tracked instances (any skeleton, with
    ``track_ids``); :meth:`sequences` returns the tracks sorted by id, ready for :func:`lift_tracks`.
    """

    def __init__(self) -> None:
        self._rows: dict[int, list[tuple[int, float | None, PoseInstances]]] = {}

    def add(self, frame_index: int, instances: PoseInstances, timestamp: float | None = None) -> None:
        """Record one frame's instances (each row must carry a track id)."""
        if len(instances) == 0:
            return
        if instances.track_ids is None:
            raise ValueError("instances must carry track_ids to be collected per track")
        for row, track_id in enumerate(instances.track_ids.tolist()):
            self._rows.setdefault(int(track_id), []).append((int(frame_index), timestamp, instances[row : row + 1]))

    def __len__(self) -> int:
        return len(self._rows)

    def sequences(self) -> list[PoseSequence]:
        """One sequence per track id, in increasing id order (a frame seen twice keeps its first row)."""
        sequences = []
        for track_id in sorted(self._rows):
            seen: set[int] = set()
            items = []
            times: list[float] = []
            for frame, timestamp, instances in self._rows[track_id]:
                if frame in seen:
                    continue
                seen.add(frame)
                items.append((frame, instances))
                times.append(float("nan") if timestamp is None else float(timestamp))
            timestamps = None if any(np.isnan(times)) else np.asarray(times)
            sequences.append(PoseSequence.from_instances(items, track_id=track_id, timestamps=timestamps))
        return sequences
