"""3D pose errors: MPJPE and its aligned variants, velocity and acceleration errors, PVE, H3.6M tables.

Legend: ``K`` joints (or vertices), ``D`` coordinate dimensions (3), ``T`` frames; ``...`` any
leading dimensions (frames, batch, sequences). Inputs are numpy arrays or torch tensors of shape
``(..., K, D)``; the result has the same kind (a 0-d array/tensor for scalar reductions), and
torch results keep their autograd graph. Errors are in the units of the input (metres by the
posekit convention; multiply by 1000 for the millimetres that papers report).

``reduction`` (every error function):

* ``"mean"``: one number, the mean over everything;
* ``"none"``: the per-joint errors ``(..., K)`` (``(..., T-1, K)`` / ``(..., T-2, K)`` for the
  temporal errors);
* ``"per_joint"``: ``(K,)``, the mean over all leading dimensions;
* ``"per_frame"``: ``(...)``, the mean over joints (what :func:`action_table` takes);
* ``"per_sequence"``: ``(S,)``, the mean over everything but the first dimension.

The definitions follow VideoPose3D (Pavllo et al., "3D human pose estimation in video with
temporal convolutions and semi-supervised training", CVPR 2019; ``common/loss.py``) for MPJPE
(Protocol #1), P-MPJPE (Protocol #2, similarity-Procrustes aligned), N-MPJPE (scale aligned) and
MPJVE, and VIBE (Kocabas et al., CVPR 2020) for the acceleration error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import numpy as np

from posekit.geometry import array_api as xp
from posekit.geometry.array_api import ArrayT
from posekit.skeletons.h36m_actions import H36M_ACTIONS

__all__ = [
    "H36M_ACTION_ABBREVIATIONS",
    "acceleration_error",
    "action_table",
    "format_action_table",
    "mpjpe",
    "mpjve",
    "n_mpjpe",
    "normalize_action_name",
    "p_mpjpe",
    "pve",
    "weighted_mpjpe",
]

Reduction = Literal["mean", "none", "per_joint", "per_frame", "per_sequence"]
_REDUCTIONS = ("mean", "none", "per_joint", "per_frame", "per_sequence")

# --------------------------------------------------------------------------------------------------
# numpy / torch dispatch: posekit.geometry.array_api (torch is imported only by callers that pass tensors)
# --------------------------------------------------------------------------------------------------


def _prepare(predicted: Any, target: Any, name: str = "predicted", min_ndim: int = 2) -> tuple[Any, Any]:
    if xp.is_tensor(predicted) != xp.is_tensor(target):
        raise ValueError(
            f"{name} and target must both be numpy arrays or both torch tensors, got "
            f"{type(predicted).__name__} and {type(target).__name__}"
        )
    prediction, ground_truth = xp.as_float_array(predicted), xp.as_float_array(target)
    if tuple(prediction.shape) != tuple(ground_truth.shape):
        raise ValueError(
            f"{name} and target must have the same shape, got {tuple(prediction.shape)} and {tuple(ground_truth.shape)}"
        )
    if ground_truth.ndim < min_ndim:
        leading = "T, " if min_ndim >= 3 else ""
        raise ValueError(f"{name} must have shape (..., {leading}K, D), got {tuple(ground_truth.shape)}")
    return prediction, ground_truth


# --------------------------------------------------------------------------------------------------
# reductions
# --------------------------------------------------------------------------------------------------


def _reduce(errors: Any, reduction: str, frame_mask: Any | None = None) -> Any:
    """Reduce per-joint errors ``(..., K)``; ``frame_mask (...)`` leaves out invalid frames."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    if reduction == "per_sequence" and errors.ndim < 2:
        raise ValueError(
            f"reduction='per_sequence' needs a leading sequence dimension, got errors {tuple(errors.shape)}"
        )
    if frame_mask is None:
        if reduction == "mean":
            return xp.mean(errors)
        if reduction == "none":
            return errors
        if reduction == "per_joint":
            return xp.mean(errors, axis=tuple(range(errors.ndim - 1))) if errors.ndim > 1 else errors
        if reduction == "per_frame":
            return xp.mean(errors, axis=-1)
        return xp.mean(errors, axis=tuple(range(1, errors.ndim)))
    weights = xp.mask_like(frame_mask, errors)[..., None] * xp.ones_like(errors)  # (...) -> (..., K)
    nan = xp.scalar_like(float("nan"), errors)
    if reduction == "none":
        return xp.where(weights > 0, errors, nan)
    if reduction == "per_frame":
        return xp.where(weights[..., 0] > 0, xp.mean(errors, axis=-1), nan)
    if reduction == "mean":
        axes: tuple[int, ...] = tuple(range(errors.ndim))
    elif reduction == "per_joint":
        axes = tuple(range(errors.ndim - 1))
    else:
        axes = tuple(range(1, errors.ndim))
    total = xp.sum_(errors * weights, axis=axes)
    count = xp.sum_(weights, axis=axes)
    return xp.where(count > 0, total / xp.where(count > 0, count, xp.ones_like(count)), nan)


# --------------------------------------------------------------------------------------------------
# position errors
# --------------------------------------------------------------------------------------------------


def mpjpe(predicted: ArrayT, target: ArrayT, reduction: Reduction = "mean") -> ArrayT:
    """Mean per-joint position error (MPJPE, "Protocol #1"): the mean Euclidean distance.

    Args:
        predicted: ``(..., K, D)`` predicted joints.
        target: ``(..., K, D)`` ground-truth joints.
        reduction: see the module docstring.

    Returns:
        The error in the input's units, reduced as asked; same kind as the input.
    """
    prediction, ground_truth = _prepare(predicted, target)
    return _reduce(xp.norm(prediction - ground_truth), reduction)


def weighted_mpjpe(predicted: ArrayT, target: ArrayT, weights: Any, reduction: Reduction = "mean") -> ArrayT:
    """MPJPE with per-joint weights, ``mean(w * ||p - t||)`` (VideoPose3D ``weighted_mpjpe``).

    The weights multiply the distances and are not renormalised (as in VideoPose3D), so uniform
    weights of 1 give :func:`mpjpe`.

    Args:
        predicted: ``(..., K, D)`` predicted joints.
        target: ``(..., K, D)`` ground-truth joints.
        weights: array broadcastable to ``(..., K)`` (e.g. ``(K,)`` joint weights or ``(..., 1)``
            per-sample weights), same kind as the joints or a numpy array/list.
        reduction: see the module docstring.

    Returns:
        The weighted error, reduced as asked.
    """
    prediction, ground_truth = _prepare(predicted, target)
    distances = xp.norm(prediction - ground_truth)  # (..., K)
    weight_values = xp.like(weights, distances)
    try:
        weighted = distances * weight_values
    except (ValueError, RuntimeError) as error:
        raise ValueError(
            f"weights of shape {tuple(weight_values.shape)} do not broadcast to the errors {tuple(distances.shape)}"
        ) from error
    if tuple(weighted.shape) != tuple(distances.shape):
        raise ValueError(
            f"weights of shape {tuple(weight_values.shape)} must broadcast to the errors {tuple(distances.shape)}"
        )
    return _reduce(weighted, reduction)


def _similarity_align(prediction: Any, ground_truth: Any) -> Any:
    """Align each prediction ``(..., K, D)`` to its target by scale, rotation and translation.

    The orthogonal Procrustes solution of VideoPose3D's ``p_mpjpe`` (Umeyama, "Least-squares
    estimation of transformation parameters between two point patterns", TPAMI 1991): centre and
    scale-normalise both point sets, ``H = X0^T Y0``, ``R = V U^T`` from the SVD of ``H`` with the
    last singular direction flipped when ``det(R) < 0`` (no reflections), scale
    ``trace(S) * |X| / |Y|``. Degenerate sets (all points equal) get scale 0 / no rotation.
    """
    target_mean = xp.mean(ground_truth, axis=-2, keepdims=True)  # (..., 1, D)
    prediction_mean = xp.mean(prediction, axis=-2, keepdims=True)
    target_centred = ground_truth - target_mean
    prediction_centred = prediction - prediction_mean
    target_norm = xp.sum_(target_centred**2, axis=(-2, -1), keepdims=True) ** 0.5  # (..., 1, 1)
    prediction_norm = xp.sum_(prediction_centred**2, axis=(-2, -1), keepdims=True) ** 0.5
    one = xp.ones_like(target_norm)
    target_norm_safe = xp.where(target_norm > 0, target_norm, one)
    prediction_norm_safe = xp.where(prediction_norm > 0, prediction_norm, one)
    target_unit = target_centred / target_norm_safe
    prediction_unit = prediction_centred / prediction_norm_safe
    covariance = target_unit.swapaxes(-1, -2) @ prediction_unit  # (..., D, K) @ (..., K, D) -> (..., D, D)
    left, singular, right_t = xp.svd(covariance)
    determinant = xp.det(xp.swap_last(right_t) @ xp.swap_last(left))
    one = xp.ones_like(determinant)
    sign = xp.where(determinant < 0, -one, one)
    flip = xp.concatenate([xp.ones_like(singular[..., :-1]), sign[..., None]], axis=-1)  # (..., D): 1, ..., 1, sign
    right = right_t.swapaxes(-1, -2) * flip[..., None, :]  # V with its last column times sign(det)
    rotation = right @ left.swapaxes(-1, -2)  # (..., D, D)
    trace = xp.sum_(singular * flip, axis=-1)[..., None, None]  # (..., 1, 1)
    scale = trace * target_norm / prediction_norm_safe
    scale = xp.where(prediction_norm > 0, scale, 0 * scale)
    translation = target_mean - scale * (prediction_mean @ rotation)
    return scale * (prediction @ rotation) + translation


def p_mpjpe(predicted: ArrayT, target: ArrayT, reduction: Reduction = "mean") -> ArrayT:
    """MPJPE after similarity Procrustes alignment (P-MPJPE / PA-MPJPE, "Protocol #2").

    Each pose (the last two dimensions) is aligned to its target by the scale, rotation and
    translation that minimise the squared error, exactly as VideoPose3D's ``p_mpjpe``; the result
    is invariant to any similarity transform of the prediction.

    Args:
        predicted: ``(..., K, D)`` predicted joints.
        target: ``(..., K, D)`` ground-truth joints.
        reduction: see the module docstring.

    Returns:
        The aligned error, reduced as asked.
    """
    prediction, ground_truth = _prepare(predicted, target)
    aligned = _similarity_align(prediction, ground_truth)
    return _reduce(xp.norm(aligned - ground_truth), reduction)


def n_mpjpe(predicted: ArrayT, target: ArrayT, reduction: Reduction = "mean") -> ArrayT:
    """MPJPE after the least-squares scaling of each pose (N-MPJPE, VideoPose3D ``n_mpjpe``).

    The scale is ``mean_k <t_k, p_k> / mean_k |p_k|^2`` per pose (Rhodin et al., "Unsupervised
    geometry-aware representation learning for 3D human pose estimation", ECCV 2018); no
    translation or rotation is applied, so the joints are usually root-relative.

    Args:
        predicted: ``(..., K, D)`` predicted joints.
        target: ``(..., K, D)`` ground-truth joints.
        reduction: see the module docstring.

    Returns:
        The scale-aligned error, reduced as asked.
    """
    prediction, ground_truth = _prepare(predicted, target)
    predicted_energy = xp.mean(xp.sum_(prediction**2, axis=-1, keepdims=True), axis=-2, keepdims=True)  # (..., 1, 1)
    correlation = xp.mean(xp.sum_(ground_truth * prediction, axis=-1, keepdims=True), axis=-2, keepdims=True)
    safe_energy = xp.where(predicted_energy > 0, predicted_energy, xp.ones_like(predicted_energy))
    scale = xp.where(predicted_energy > 0, correlation / safe_energy, 0 * correlation)
    return _reduce(xp.norm(scale * prediction - ground_truth), reduction)


def mpjve(predicted: ArrayT, target: ArrayT, reduction: Reduction = "mean") -> ArrayT:
    """Mean per-joint velocity error (MPJVE, VideoPose3D ``mean_velocity_error``).

    The MPJPE of the first differences over time: ``mean ||(p_{t+1} - p_t) - (t_{t+1} - t_t)||``.

    Args:
        predicted: ``(..., T, K, D)`` predicted joint sequences (time is the third-last dimension).
        target: ``(..., T, K, D)`` ground-truth joint sequences.
        reduction: see the module docstring; ``"none"`` gives ``(..., T-1, K)``.

    Returns:
        The velocity error in input units per frame, reduced as asked.
    """
    prediction, ground_truth = _prepare(predicted, target, min_ndim=3)
    velocity_error = xp.diff(prediction, axis=-3) - xp.diff(ground_truth, axis=-3)  # (..., T-1, K, D)
    return _reduce(xp.norm(velocity_error), reduction)


def acceleration_error(
    predicted: ArrayT, target: ArrayT, visible: Any | None = None, reduction: Reduction = "mean"
) -> ArrayT:
    """Acceleration error (VIBE ``compute_error_accel``).

    ``||(p_{t-1} - 2 p_t + p_{t+1}) - (g_{t-1} - 2 g_t + g_{t+1})||`` per joint for the ``T - 2``
    inner frames. With ``visible``, an inner frame counts only when it and both neighbours are
    visible; left-out frames are NaN in the ``"none"`` and ``"per_frame"`` outputs and are skipped
    by the means. ``reduction="per_frame"`` with NaNs removed is VIBE's output.

    Args:
        predicted: ``(..., T, K, D)`` predicted joint sequences.
        target: ``(..., T, K, D)`` ground-truth joint sequences.
        visible: optional ``(..., T)`` per-frame visibility (or ``(T,)``, shared by the leading dims).
        reduction: see the module docstring; ``"none"`` gives ``(..., T-2, K)``.

    Returns:
        The acceleration error in input units per frame^2, reduced as asked.
    """
    prediction, ground_truth = _prepare(predicted, target, min_ndim=3)
    if ground_truth.shape[-3] < 3:
        raise ValueError(f"acceleration_error needs at least 3 frames, got shape {tuple(ground_truth.shape)}")
    error = xp.diff(xp.diff(prediction, axis=-3), axis=-3) - xp.diff(xp.diff(ground_truth, axis=-3), axis=-3)
    errors = xp.norm(error)  # (..., T-2, K)
    frame_mask = None
    if visible is not None:
        mask = xp.mask_like(visible, errors)
        frames_shape = tuple(ground_truth.shape[:-2])
        if mask.ndim == 0 or mask.shape[-1] != frames_shape[-1] or mask.ndim > len(frames_shape):
            raise ValueError(
                f"visible must have shape {frames_shape} (or its last dimensions), got {tuple(mask.shape)}"
            )
        try:
            mask = xp.broadcast_to(mask, frames_shape)
        except (ValueError, RuntimeError) as error:
            raise ValueError(f"visible of shape {tuple(mask.shape)} does not broadcast to {frames_shape}") from error
        frame_mask = mask[..., :-2] & mask[..., 1:-1] & mask[..., 2:]  # (..., T-2)
    return _reduce(errors, reduction, frame_mask)


def pve(
    predicted_vertices: ArrayT,
    target_vertices: ArrayT,
    alignment: Literal["none", "translation", "procrustes"] = "none",
    reduction: Reduction = "mean",
) -> ArrayT:
    """Per-vertex error (PVE): MPJPE over mesh vertices, e.g. SMPL's 6890 (VIBE ``compute_error_verts``).

    Args:
        predicted_vertices: ``(..., V, 3)`` predicted vertices.
        target_vertices: ``(..., V, 3)`` ground-truth vertices.
        alignment: ``"none"``; ``"translation"`` (both meshes centred on their vertex mean);
            ``"procrustes"`` (similarity alignment as :func:`p_mpjpe`).
        reduction: see the module docstring (``V`` takes the place of ``K``).

    Returns:
        The per-vertex error, reduced as asked.
    """
    prediction, ground_truth = _prepare(predicted_vertices, target_vertices, name="predicted_vertices")
    if alignment == "translation":
        prediction = prediction - xp.mean(prediction, axis=-2, keepdims=True)
        ground_truth = ground_truth - xp.mean(ground_truth, axis=-2, keepdims=True)
    elif alignment == "procrustes":
        prediction = _similarity_align(prediction, ground_truth)
    elif alignment != "none":
        raise ValueError(f"alignment must be 'none', 'translation' or 'procrustes', got {alignment!r}")
    return _reduce(xp.norm(prediction - ground_truth), reduction)


# --------------------------------------------------------------------------------------------------
# Human3.6M per-action tables
# --------------------------------------------------------------------------------------------------

# Column headers of the per-action tables in the literature (VideoPose3D, Table 1).
H36M_ACTION_ABBREVIATIONS: dict[str, str] = {
    "Directions": "Dir.",
    "Discussion": "Disc.",
    "Eating": "Eat",
    "Greeting": "Greet",
    "Phoning": "Phone",
    "Photo": "Photo",
    "Posing": "Pose",
    "Purchases": "Purch.",
    "Sitting": "Sit",
    "SittingDown": "SitD.",
    "Smoking": "Smoke",
    "Waiting": "Wait",
    "WalkDog": "WalkD.",
    "Walking": "Walk",
    "WalkTogether": "WalkT.",
    "Average": "Avg",
}
# Lower-cased spellings -> canonical action. S1 and some releases say TakingPhoto / WalkingDog.
_ACTION_ALIASES: dict[str, str] = {action.lower(): action for action in H36M_ACTIONS} | {
    "takingphoto": "Photo",
    "walkingdog": "WalkDog",
    "walkingtogether": "WalkTogether",
}


def normalize_action_name(name: str) -> str:
    """Map a Human3.6M sequence name to one of the 15 actions.

    Drops the variant and camera suffixes (``"Walking 1"``, ``"Walking_1"``, ``"Walking 1.54138969"``
    -> ``"Walking"``) and merges the spellings ``TakingPhoto``/``Photo`` and
    ``WalkingDog``/``WalkDog``, as VideoPose3D's evaluation does by cutting names at the space.

    Raises:
        ValueError: for names that are not a Human3.6M action.
    """
    base = re.split(r"[ _.]", name.strip(), maxsplit=1)[0]
    base = re.sub(r"\d+$", "", base)
    action = _ACTION_ALIASES.get(base.lower())
    if action is None:
        raise ValueError(f"{name!r} is not a Human3.6M action; expected one of {', '.join(H36M_ACTIONS)}")
    return action


def _to_numpy(values: Any) -> np.ndarray:
    return xp.to_numpy(values).astype(np.float64, copy=False).reshape(-1)


def action_table(errors: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> dict[str, float]:
    """Per-action Human3.6M errors and their average.

    Variants of an action (``"Walking 1"``, ``"Walking"``, ...) are merged by
    :func:`normalize_action_name`; each action's error is the mean over all its frames, and
    ``"Average"`` is the mean of the action errors (every action weighs the same, as in the
    tables of VideoPose3D and the papers that compare with it).

    Args:
        errors: ``{sequence_name: per-frame errors}`` or an iterable of ``(sequence_name, value)``
            pairs, where values are scalars or arrays of per-frame errors (e.g. from
            ``mpjpe(..., reduction="per_frame")``).

    Returns:
        ``{action: error}`` for the actions present, in the standard order, then ``"Average"``.
    """
    items = errors.items() if isinstance(errors, Mapping) else errors
    merged: dict[str, list[np.ndarray]] = {}
    for name, values in items:
        merged.setdefault(normalize_action_name(str(name)), []).append(_to_numpy(values))
    table: dict[str, float] = {}
    for action in H36M_ACTIONS:
        if action in merged:
            frames = np.concatenate(merged[action])
            if frames.size == 0:
                continue
            table[action] = float(frames.mean())
    if not table:
        raise ValueError("action_table got no errors")
    table["Average"] = float(np.mean(list(table.values())))
    return table


def format_action_table(table: Mapping[str, float], scale: float = 1.0, unit: str = "", precision: int = 1) -> str:
    """Format :func:`action_table` output as the usual one-row table (all 15 columns, ``-`` if absent).

    Args:
        table: ``{action: error}`` with ``"Average"``.
        scale: multiply values by this (``1000`` for metres -> millimetres).
        unit: label for the row (e.g. ``"mm"``).
        precision: decimals.

    Returns:
        Two lines: abbreviated action names and values, right-aligned.
    """
    columns = [*H36M_ACTIONS, "Average"]
    headers = [H36M_ACTION_ABBREVIATIONS[column] for column in columns]
    cells = [f"{table[column] * scale:.{precision}f}" if column in table else "-" for column in columns]
    widths = [max(len(header), len(cell)) for header, cell in zip(headers, cells, strict=True)]
    label_width = max(len(unit), 1)
    header_line = " " * label_width + " " + " ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True))
    value_line = unit.ljust(label_width) + " " + " ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True))
    return f"{header_line}\n{value_line}"
