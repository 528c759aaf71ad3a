"""Percentage of Correct Keypoints (PCK, PCKh), its area under the curve, and end-point error.

Legend: ``N`` instances, ``K`` keypoints, ``D`` coordinate dimensions (2 for images). Keypoints
are in pixels; ``visible (N, K)`` marks the ground-truth keypoints that count (invisible or
missing ones are left out of every number).

* :func:`pck` is MMPose's ``keypoint_pck_accuracy``: the distance is normalised per axis by
  ``normalizer``, a keypoint is correct when that normalised distance is *below* the threshold,
  instances whose normaliser has a zero are left out, and a keypoint type with no valid
  instance gets accuracy ``-1`` and is left out of the mean.
* :func:`pckh` is the MPII protocol (Andriluka et al., "2D Human Pose Estimation: New Benchmark
  and State of the Art Analysis", CVPR 2014) as in the official evaluation and HRNet's
  ``MPIIDataset.evaluate``: distances over ``0.6 * ||head box diagonal||``, correct when
  ``<= threshold``, pelvis and thorax left out of the mean.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "MPII_SUMMARY_NAMES",
    "PCKResult",
    "PCKhResult",
    "auc",
    "epe",
    "format_pckh_table",
    "pck",
    "pck_box",
    "pck_torso",
    "pckh",
]

# The MPII head-size factor ("SC_BIAS" in the official evaluation code).
MPII_HEAD_FACTOR = 0.6
MPII_SUMMARY_NAMES: tuple[str, ...] = ("Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "Mean", "Mean@0.1")
# Summary rows -> joint names of the ``mpii`` skeleton averaged in that row.
_MPII_ROWS: dict[str, tuple[str, ...]] = {
    "Head": ("head_top",),
    "Shoulder": ("left_shoulder", "right_shoulder"),
    "Elbow": ("left_elbow", "right_elbow"),
    "Wrist": ("left_wrist", "right_wrist"),
    "Hip": ("left_hip", "right_hip"),
    "Knee": ("left_knee", "right_knee"),
    "Ankle": ("left_ankle", "right_ankle"),
}
# Joints the official MPII mean leaves out.
_MPII_EXCLUDED_FROM_MEAN = ("pelvis", "thorax")


class PCKResult(NamedTuple):
    """PCK accuracy (unpacks as ``per_joint, mean, valid_count`` like MMPose's tuple).

    Attributes:
        per_joint: ``(K,)`` fraction of correct keypoints per keypoint type in ``[0, 1]``; ``-1``
            for types with no valid (visible, normalisable) instance.
        mean: mean of ``per_joint`` over the valid types (0 when there is none).
        valid_count: number of valid keypoint types.
    """

    per_joint: np.ndarray
    mean: float
    valid_count: int


@dataclass(frozen=True)
class PCKhResult:
    """PCKh on MPII-style data.

    Attributes:
        per_joint: ``(K,)`` PCKh in percent per keypoint type (NaN where no joint is visible).
        mean: PCKh in percent over every visible keypoint (without pelvis and thorax on MPII-16).
        count: ``(K,)`` number of visible ground-truth keypoints per type.
        summary: the MPII table (Head, Shoulder, Elbow, Wrist, Hip, Knee, Ankle, Mean, Mean@0.1),
            in percent, when the keypoints are MPII-16; empty otherwise.
    """

    per_joint: np.ndarray
    mean: float
    count: np.ndarray
    summary: dict[str, float] = field(default_factory=dict)


def _check_pair(predicted: ArrayLike, target: ArrayLike, visible: ArrayLike) -> tuple[np.ndarray, ...]:
    prediction = np.asarray(predicted, dtype=np.float64)
    ground_truth = np.asarray(target, dtype=np.float64)
    if ground_truth.ndim != 3:
        raise ValueError(f"target must have shape (N, K, D), got {ground_truth.shape}")
    if prediction.shape != ground_truth.shape:
        raise ValueError(f"predicted must have the shape of target {ground_truth.shape}, got {prediction.shape}")
    mask = np.asarray(visible)
    if mask.shape != ground_truth.shape[:2]:
        raise ValueError(f"visible must have shape {ground_truth.shape[:2]}, got {mask.shape}")
    return prediction, ground_truth, mask > 0


def _normalized_distances(
    prediction: np.ndarray, ground_truth: np.ndarray, mask: np.ndarray, normalizer: np.ndarray
) -> np.ndarray:
    """Per-axis normalised distances ``(N, K)``; ``-1`` where a keypoint does not count."""
    num_instances, _, dims = ground_truth.shape
    norm = np.asarray(normalizer, dtype=np.float64)
    if norm.shape == (num_instances,):
        norm = np.repeat(norm[:, None], dims, axis=1)  # (N,) -> (N, D)
    if norm.shape != (num_instances, dims):
        raise ValueError(
            f"normalizer must have shape ({num_instances},) or ({num_instances}, {dims}), got {norm.shape}"
        )
    valid = mask & ~np.any(norm == 0, axis=1)[:, None]  # instances with a zero normaliser do not count
    norm = np.where(norm <= 0, 1e6, norm)
    distances = np.full(mask.shape, -1.0)
    scaled = (prediction - ground_truth) / norm[:, None, :]  # (N, K, D)
    distances[valid] = np.linalg.norm(scaled[valid], axis=-1)
    return distances


def pck(
    predicted: ArrayLike,
    target: ArrayLike,
    visible: ArrayLike,
    threshold: float,
    normalizer: ArrayLike,
) -> PCKResult:
    """PCK with per-axis normalisation (MMPose ``keypoint_pck_accuracy``).

    Args:
        predicted: ``(N, K, D)`` predicted keypoints.
        target: ``(N, K, D)`` ground-truth keypoints.
        visible: ``(N, K)`` ground-truth visibility; invisible keypoints are left out.
        threshold: a keypoint is correct when its normalised distance is ``< threshold``.
        normalizer: ``(N, D)`` per-axis or ``(N,)`` isotropic normalisation (e.g. box size, heatmap
            size). Instances with a zero entry are left out.

    Returns:
        :class:`PCKResult` ``(per_joint (K,), mean, valid_count)``.
    """
    prediction, ground_truth, mask = _check_pair(predicted, target, visible)
    distances = _normalized_distances(prediction, ground_truth, mask, np.asarray(normalizer)).T  # (K, N)
    per_joint = np.full(distances.shape[0], -1.0)
    for joint, row in enumerate(distances):
        counted = row[row != -1]
        if counted.size:
            per_joint[joint] = float(np.count_nonzero(counted < threshold)) / counted.size
    valid = per_joint[per_joint >= 0]
    return PCKResult(per_joint, float(valid.mean()) if valid.size else 0.0, int(valid.size))


def _as_boxes(boxes: ArrayLike, num_instances: int, name: str) -> np.ndarray:
    values = np.asarray(boxes, dtype=np.float64)
    if values.shape != (num_instances, 4):
        raise ValueError(f"{name} must have shape ({num_instances}, 4) as (x1, y1, x2, y2), got {values.shape}")
    return values


def pck_box(
    predicted: ArrayLike,
    target: ArrayLike,
    visible: ArrayLike,
    boxes: ArrayLike,
    threshold: float = 0.05,
) -> PCKResult:
    """PCK normalised by the box size ``max(w, h)`` (MMPose ``PCKAccuracy(norm_item="bbox")``).

    Args:
        predicted: ``(N, K, 2)`` predicted keypoints in pixels.
        target: ``(N, K, 2)`` ground-truth keypoints in pixels.
        visible: ``(N, K)`` ground-truth visibility.
        boxes: ``(N, 4)`` person boxes ``(x1, y1, x2, y2)`` in pixels.
        threshold: fraction of the box size.

    Returns:
        :class:`PCKResult`.
    """
    box_values = _as_boxes(boxes, np.shape(target)[0], "boxes")
    size = np.max(box_values[:, 2:] - box_values[:, :2], axis=1)  # (N,)
    return pck(predicted, target, visible, threshold, size)


def pck_torso(
    predicted: ArrayLike,
    target: ArrayLike,
    visible: ArrayLike,
    threshold: float = 0.2,
    torso_indices: tuple[int, int] = (5, 12),
) -> PCKResult:
    """PCK normalised by the ground-truth torso size (MMPose ``PCKAccuracy(norm_item="torso")``).

    The torso size is the distance between two ground-truth keypoints, by default COCO-17's
    left shoulder (5) and right hip (12); instances where either is invisible are left out.

    Args:
        predicted: ``(N, K, 2)`` predicted keypoints in pixels.
        target: ``(N, K, 2)`` ground-truth keypoints in pixels.
        visible: ``(N, K)`` ground-truth visibility.
        threshold: fraction of the torso size.
        torso_indices: the two keypoint indices whose distance is the torso size.

    Returns:
        :class:`PCKResult`.
    """
    _, ground_truth, mask = _check_pair(predicted, target, visible)
    first, second = torso_indices
    num_keypoints = ground_truth.shape[1]
    if not (0 <= first < num_keypoints and 0 <= second < num_keypoints):
        raise ValueError(f"torso_indices must be keypoint indices in [0, {num_keypoints}), got {torso_indices}")
    size = np.linalg.norm(ground_truth[:, first] - ground_truth[:, second], axis=-1)  # (N,)
    size = np.where(mask[:, first] & mask[:, second], size, 0.0)
    return pck(predicted, target, visible, threshold, size)


def auc(
    predicted: ArrayLike,
    target: ArrayLike,
    visible: ArrayLike,
    normalizer: float | ArrayLike = 30.0,
    num_thresholds: int = 20,
) -> float:
    """Area under the PCK curve (MMPose ``keypoint_auc``).

    The mean PCK at the normalised thresholds ``0, 1/T, ..., (T-1)/T`` (``T = num_thresholds``),
    i.e. a left Riemann sum of the curve on ``[0, 1)`` in units of ``normalizer``. MMPose's hand
    benchmarks use a normaliser of 30 pixels.

    Args:
        predicted: ``(N, K, D)`` predicted keypoints.
        target: ``(N, K, D)`` ground-truth keypoints.
        visible: ``(N, K)`` ground-truth visibility.
        normalizer: a scalar (pixels), ``(N,)`` or ``(N, D)``.
        num_thresholds: number of thresholds ``T``.

    Returns:
        AUC in ``[0, 1]``.
    """
    if num_thresholds < 1:
        raise ValueError(f"num_thresholds must be >= 1, got {num_thresholds}")
    num_instances = np.shape(target)[0]
    norm = np.asarray(normalizer, dtype=np.float64)
    if norm.ndim == 0:
        norm = np.full(num_instances, float(norm))
    return float(
        np.mean([pck(predicted, target, visible, step / num_thresholds, norm).mean for step in range(num_thresholds)])
    )


def epe(predicted: ArrayLike, target: ArrayLike, visible: ArrayLike) -> float:
    """End-point error: mean Euclidean distance over visible keypoints (MMPose ``keypoint_epe``).

    Args:
        predicted: ``(N, K, D)`` predicted keypoints.
        target: ``(N, K, D)`` ground-truth keypoints.
        visible: ``(N, K)`` ground-truth visibility.

    Returns:
        The mean distance in the keypoints' units (0 when nothing is visible).
    """
    prediction, ground_truth, mask = _check_pair(predicted, target, visible)
    distances = np.linalg.norm(prediction - ground_truth, axis=-1)[mask]
    return float(distances.sum() / max(1, distances.size))


def _head_sizes(
    head_boxes: ArrayLike | None, head_sizes: ArrayLike | None, num_instances: int, factor: float
) -> np.ndarray:
    if (head_boxes is None) == (head_sizes is None):
        raise ValueError("pass exactly one of head_boxes (N, 4) and head_sizes (N,)")
    if head_boxes is not None:
        boxes = _as_boxes(head_boxes, num_instances, "head_boxes")
        return factor * np.linalg.norm(boxes[:, 2:] - boxes[:, :2], axis=1)
    sizes = np.asarray(head_sizes, dtype=np.float64)
    if sizes.shape != (num_instances,):
        raise ValueError(f"head_sizes must have shape ({num_instances},), got {sizes.shape}")
    return sizes


def pckh(
    predicted: ArrayLike,
    target: ArrayLike,
    visible: ArrayLike,
    head_boxes: ArrayLike | None = None,
    head_sizes: ArrayLike | None = None,
    threshold: float = 0.5,
    factor: float = MPII_HEAD_FACTOR,
    keypoint_names: Sequence[str] | None = None,
) -> PCKhResult:
    """PCKh: keypoints within ``threshold`` head sizes of the ground truth (MPII protocol).

    As the official MPII evaluation and HRNet's ``MPIIDataset.evaluate``: the head size is
    ``factor * ||(x2 - x1, y2 - y1)||`` of the annotated head box (``factor = 0.6``), a keypoint is
    correct when ``distance / head size <= threshold``, per-joint PCKh is over the visible
    keypoints of that type, and the mean is weighted by the visible counts and leaves out pelvis
    and thorax. ``Mean@0.1`` is the same mean at threshold 0.1 (as MMPose; HRNet's code reads
    its curve at index 11, i.e. threshold 0.11).

    Args:
        predicted: ``(N, K, 2)`` predicted keypoints in pixels (same origin as ``target``).
        target: ``(N, K, 2)`` ground-truth keypoints in pixels.
        visible: ``(N, K)`` ground-truth visibility (MPII: not ``jnt_missing``).
        head_boxes: ``(N, 4)`` head boxes ``(x1, y1, x2, y2)``; or give ``head_sizes``.
        head_sizes: ``(N,)`` head sizes already multiplied by the factor.
        threshold: fraction of the head size.
        factor: head box diagonal -> head size factor (MPII's ``SC_BIAS``).
        keypoint_names: joint names; defaults to the ``mpii`` skeleton when ``K == 16``. The summary
            table is filled when these are the MPII-16 joints.

    Returns:
        :class:`PCKhResult` in percent.
    """
    prediction, ground_truth, mask = _check_pair(predicted, target, visible)
    num_instances, num_keypoints, _ = ground_truth.shape
    sizes = _head_sizes(head_boxes, head_sizes, num_instances, factor)
    if np.any(sizes[mask.any(axis=1)] <= 0):
        raise ValueError("head sizes must be positive for every instance with a visible keypoint")
    safe_sizes = np.where(sizes > 0, sizes, 1.0)
    scaled_error = np.linalg.norm(prediction - ground_truth, axis=-1) / safe_sizes[:, None]  # (N, K)
    count = mask.sum(axis=0)  # (K,)

    def per_joint_at(level: float) -> np.ndarray:
        correct = ((scaled_error <= level) & mask).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return 100.0 * correct / count  # NaN where a joint type is never visible

    names = list(keypoint_names) if keypoint_names is not None else None
    if names is None and num_keypoints == 16:
        from posekit.skeletons import get_skeleton

        names = list(get_skeleton("mpii").keypoint_names)
    if names is not None and len(names) != num_keypoints:
        raise ValueError(f"keypoint_names must have K={num_keypoints} names, got {len(names)}")
    in_mean = np.ones(num_keypoints, dtype=bool)
    if names is not None:
        in_mean = np.array([name not in _MPII_EXCLUDED_FROM_MEAN for name in names])

    def weighted_mean(values: np.ndarray) -> float:
        weights = np.where(in_mean, count, 0)
        total = weights.sum()
        return float(np.nansum(values * weights) / total) if total > 0 else float("nan")

    per_joint = per_joint_at(threshold)
    result_mean = weighted_mean(per_joint)
    summary: dict[str, float] = {}
    if names is not None and all(joint in names for row in _MPII_ROWS.values() for joint in row):
        index = {name: position for position, name in enumerate(names)}
        for row, joints in _MPII_ROWS.items():
            summary[row] = float(np.mean([per_joint[index[joint]] for joint in joints]))
        summary["Mean"] = result_mean
        summary["Mean@0.1"] = weighted_mean(per_joint_at(0.1))
    return PCKhResult(per_joint=per_joint, mean=result_mean, count=count, summary=summary)


def format_pckh_table(summary: Mapping[str, float], precision: int = 2) -> str:
    """Format an MPII PCKh summary (:attr:`PCKhResult.summary`) as a two-line table."""
    names = [name for name in MPII_SUMMARY_NAMES if name in summary]
    width = max(8, precision + 5)
    header = " ".join(name.rjust(width) for name in names)
    values = " ".join(f"{summary[name]:.{precision}f}".rjust(width) for name in names)
    return f"{header}\n{values}"
