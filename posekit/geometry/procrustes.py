"""Procrustes (similarity) alignment of point sets, as used by P-MPJPE ("Protocol #2").

Finds the rotation ``R`` (proper, ``det R = +1``), scale ``s`` and translation ``t`` minimising
``sum_k w_k |target_k - (s R predicted_k + t)|^2`` in closed form (Umeyama, "Least-squares
estimation of transformation parameters between two point patterns", TPAMI 1991, Eq. 40-42):
with centred point sets ``P0``, ``T0`` and ``T0^T W P0 = U S V^T``, ``R = U D V^T`` where
``D = diag(1, 1, sign det(U V^T))``, ``s = trace(S D) / sum_k w_k |P0_k|^2`` and
``t = mean(target) - s R mean(predicted)``. With uniform weights this is the alignment of
VideoPose3D ``common/loss.py::p_mpjpe`` (which writes it as ``s * predicted @ R' + t`` with
``R' = R^T`` and handles reflections through the sign of the determinant the same way).

Legend: ``K`` points of dimension ``D`` (3 for poses; any ``D >= 2`` works); ``...`` any
leading dimensions, e.g. ``(N, K, 3)`` for N frames. numpy or torch (differentiable through the
SVD while singular values are distinct).
"""

from __future__ import annotations

from posekit.geometry import array_api as xp
from posekit.geometry.array_api import ArrayT

__all__ = ["procrustes_align", "procrustes_params"]


def _check_inputs(predicted: ArrayT, target: ArrayT, weights: ArrayT | None) -> tuple[ArrayT, ArrayT, ArrayT]:
    predicted = xp.as_float_array(predicted)
    target = xp.as_float_array(target)
    if predicted.ndim < 2 or tuple(predicted.shape) != tuple(target.shape) or predicted.shape[-1] < 2:
        raise ValueError(
            f"predicted and target must have the same shape (..., K, D) with D >= 2, "
            f"got {xp.shape_text(predicted)} and {xp.shape_text(target)}"
        )
    if weights is None:
        weights = xp.ones_like(predicted[..., 0])
    else:
        weights = xp.like(xp.as_float_array(weights), predicted)
        if tuple(weights.shape) != tuple(predicted.shape[:-1]):
            raise ValueError(
                f"weights must have shape {tuple(predicted.shape[:-1])} (predicted without its last axis), "
                f"got {xp.shape_text(weights)}"
            )
    target = xp.cast_to(target, predicted)
    return predicted, target, weights


def procrustes_params(
    predicted: ArrayT, target: ArrayT, scale: bool = True, weights: ArrayT | None = None
) -> tuple[ArrayT, ArrayT, ArrayT]:
    """Similarity transform that best maps ``predicted`` onto ``target``.

    Args:
        predicted: ``(..., K, D)`` points to move.
        target: ``(..., K, D)`` reference points.
        scale: Estimate the scale; when False ``s = 1`` (rigid alignment).
        weights: ``(..., K)`` non-negative per-point weights (e.g. visibility), or None for equal
            weights. Each instance needs a positive total weight.

    Returns:
        ``scale (...)``, ``rotation (..., D, D)`` acting on column vectors, ``translation (..., D)``
        such that ``aligned = scale * predicted @ rotation^T + translation``.
    """
    predicted, target, weights = _check_inputs(predicted, target, weights)
    weight_column = weights[..., None]  # (..., K, 1)
    total = xp.sum_(weight_column, axis=-2, keepdims=True)  # (..., 1, 1)
    mean_predicted = xp.sum_(weight_column * predicted, axis=-2, keepdims=True) / total  # (..., 1, D)
    mean_target = xp.sum_(weight_column * target, axis=-2, keepdims=True) / total
    centred_predicted = predicted - mean_predicted
    centred_target = target - mean_target
    covariance = xp.swap_last(centred_target) @ (weight_column * centred_predicted)  # (..., D, D)
    u, singular, vh = xp.svd(covariance)
    reflection = xp.sign(xp.det(u @ vh))  # (...)
    reflection = xp.where(reflection == 0, xp.ones_like(reflection), reflection)
    correction = xp.concatenate(
        [xp.ones_like(singular[..., :-1]), reflection[..., None]], axis=-1
    )  # (..., D): diag(1, ..., 1, sign)
    rotation = (u * correction[..., None, :]) @ vh  # U diag(correction) V^T
    if scale:
        spread = xp.sum_(weight_column * centred_predicted * centred_predicted, axis=(-2, -1))  # (...)
        scale_value = xp.sum_(singular * correction, axis=-1) / spread
    else:
        scale_value = xp.ones_like(reflection)
    rotated_mean = (rotation @ xp.swap_last(mean_predicted))[..., 0]  # (..., D, D) @ (..., D, 1) -> (..., D)
    translation = mean_target[..., 0, :] - scale_value[..., None] * rotated_mean
    return scale_value, rotation, translation


def procrustes_align(predicted: ArrayT, target: ArrayT, scale: bool = True, weights: ArrayT | None = None) -> ArrayT:
    """``predicted`` moved by the best similarity (or rigid, ``scale=False``) transform onto ``target``.

    P-MPJPE is ``mean |procrustes_align(pred, gt) - gt|`` (VideoPose3D ``p_mpjpe``).

    Args:
        predicted: ``(..., K, D)`` points to align.
        target: ``(..., K, D)`` reference points.
        scale: Estimate the scale (similarity) or keep it at 1 (rigid).
        weights: ``(..., K)`` non-negative per-point weights, or None.

    Returns:
        ``(..., K, D)`` aligned points.
    """
    predicted, target, weights = _check_inputs(predicted, target, weights)
    scale_value, rotation, translation = procrustes_params(predicted, target, scale=scale, weights=weights)
    return scale_value[..., None, None] * (predicted @ xp.swap_last(rotation)) + translation[..., None, :]
