"""Converting keypoints between formats by joint name, and horizontal flips.

Legend: ``K`` keypoints, ``D`` coordinate dimensions (2 or 3), any number of leading dimensions.

A target joint present by name in the source is copied. Otherwise it is *derived*: each derivable
joint has an ordered list of recipes (affine combinations of other joints, weights summing to 1),
tried in order per element, so a later recipe fills in where the sources of an earlier one are
missing. Recipe sources may themselves be derived (``spine`` = mean(``pelvis``, ``thorax``), with
``pelvis`` = mean of the hips when the source has no pelvis). A joint is valid when all the
joints its recipe reads are valid (finite, and ``score > 0`` when scores are given).

Derivations (MMPose's ``convert_keypoint_definition`` conventions for COCO/CrowdPose -> H36M and
MPI-INF-3DHP, which VideoPose3D-style lifters trained on those 2D detections expect):

=================  ==========================================================================
target             recipes, in order of preference
=================  ==========================================================================
pelvis             ``spine_base`` (NTU); mean(``left_hip``, ``right_hip``)
spine_base         ``pelvis``; mean(``left_hip``, ``right_hip``)
thorax             ``spine_shoulder`` (NTU); mean(``left_shoulder``, ``right_shoulder``)
spine_shoulder     ``thorax``; mean(``left_shoulder``, ``right_shoulder``)
neck               ``thorax`` (MMPose: bottom end of the neck = mid-shoulders)
spine, spine_mid   the other one; mean(``pelvis``, ``thorax``)
neck_nose          ``nose`` (MMPose COCO->H36M); ``upper_neck`` (MPII); 3/4 ``neck`` + 1/4
                   ``head_top`` (MMPose AIC/CrowdPose: top end of the neck)
head               mean(``left_eye``, ``right_eye``) (MMPose COCO->H36M); 5/12 ``neck`` +
                   7/12 ``head_top`` (MMPose: head centre 7/12 of the way neck -> head top)
head_top           4/3 ``head`` - 1/3 ``neck`` (MMPose COCO->MPI-INF-3DHP extrapolation)
upper_neck         ``neck_nose`` when the source has it; 3/4 ``neck`` + 1/4 ``head_top``
left_hand          mean(``left_index``, ``left_pinky``) (BlazePose)
left_hand_tip      ``left_index`` (BlazePose)
left_foot          ``left_foot_index`` (BlazePose)
=================  ==========================================================================

(``right_*`` likewise.) Other joints (SMPL ``spine1..3``/collars, BlazePose face and heel points,
COCO eyes/ears/nose from body-only formats) cannot be derived and come back invalid. Invalid
outputs are filled with 0, never NaN.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from posekit.skeletons.skeleton import Skeleton, get_skeleton

__all__ = ["DERIVATIONS", "convert_keypoints", "convert_keypoints_and_scores", "conversion_plan", "flip_keypoints"]

ArrayT = TypeVar("ArrayT")


@dataclass(frozen=True)
class Recipe:
    """One way to derive a joint: ``sum(weight * joint)`` over ``terms``.

    Attributes:
        terms: ``((joint_name, weight), ...)``; weights sum to 1 (an affine combination).
        direct_only: the terms must exist by name in the source (no recursive derivation).
    """

    terms: tuple[tuple[str, float], ...]
    direct_only: bool = False


def _mean(*names: str) -> Recipe:
    return Recipe(tuple((name, 1.0 / len(names)) for name in names))


def _alias(name: str) -> Recipe:
    return Recipe(((name, 1.0),), direct_only=True)


_CENTRE_DERIVATIONS: dict[str, tuple[Recipe, ...]] = {
    "pelvis": (_alias("spine_base"), _mean("left_hip", "right_hip")),
    "spine_base": (_alias("pelvis"), _mean("left_hip", "right_hip")),
    "thorax": (_alias("spine_shoulder"), _mean("left_shoulder", "right_shoulder")),
    "spine_shoulder": (_alias("thorax"), _mean("left_shoulder", "right_shoulder")),
    "neck": (Recipe((("thorax", 1.0),)),),
    "spine": (_alias("spine_mid"), _mean("pelvis", "thorax")),
    "spine_mid": (_alias("spine"), _mean("pelvis", "thorax")),
    "neck_nose": (_alias("nose"), _alias("upper_neck"), Recipe((("neck", 0.75), ("head_top", 0.25)))),
    "head": (_mean("left_eye", "right_eye"), Recipe((("neck", 5.0 / 12.0), ("head_top", 7.0 / 12.0)))),
    "head_top": (Recipe((("head", 4.0 / 3.0), ("neck", -1.0 / 3.0))),),
    "upper_neck": (_alias("neck_nose"), Recipe((("neck", 0.75), ("head_top", 0.25)))),
}
_SIDED_DERIVATIONS: dict[str, tuple[Recipe, ...]] = {
    f"{side}_{target}": tuple(
        Recipe(tuple((f"{side}_{name}", weight) for name, weight in recipe.terms), recipe.direct_only)
        for recipe in recipes
    )
    for side in ("left", "right")
    for target, recipes in {
        "hand": (_mean("index", "pinky"),),
        "hand_tip": (_alias("index"),),
        "foot": (_alias("foot_index"),),
    }.items()
}
DERIVATIONS: dict[str, tuple[Recipe, ...]] = {**_CENTRE_DERIVATIONS, **_SIDED_DERIVATIONS}
"""Recipes per derivable target joint name, in order of preference (see the module docstring)."""


# ------------------------------------------------------------------------------------------ plan
def _expand(name: str, source: Skeleton, visiting: frozenset[str]) -> list[dict[int, float]]:
    """All ways to write joint ``name`` as weights over source joint indices, best first."""
    if name in source.keypoint_names:
        return [{source.index(name): 1.0}]
    if name in visiting:
        return []
    options: list[dict[int, float]] = []
    for recipe in DERIVATIONS.get(name, ()):
        if recipe.direct_only:
            if all(term in source.keypoint_names for term, _ in recipe.terms):
                options.append({source.index(term): weight for term, weight in recipe.terms})
            continue
        per_term = [_expand(term, source, visiting | {name}) for term, _ in recipe.terms]
        for choice in itertools.product(*per_term):  # lexicographic: earlier recipes of each term first
            combined: dict[int, float] = {}
            for (_, weight), option in zip(recipe.terms, choice, strict=True):
                for index, inner_weight in option.items():
                    combined[index] = combined.get(index, 0.0) + weight * inner_weight
            combined = {index: weight for index, weight in combined.items() if abs(weight) > 1e-12}
            if combined not in options:
                options.append(combined)
    return options


@functools.lru_cache(maxsize=256)
def conversion_plan(src: Skeleton, dst: Skeleton) -> tuple[tuple[tuple[tuple[int, ...], tuple[float, ...]], ...], ...]:
    """How every ``dst`` joint is computed from ``src`` joints.

    Args:
        src: source skeleton.
        dst: destination skeleton.

    Returns:
        For each destination joint, the candidate recipes best first, each as
        ``(source_indices, weights)``; an empty tuple means the joint cannot be derived.
    """
    plan = []
    for name in dst.keypoint_names:
        options = _expand(name, src, frozenset())
        plan.append(tuple((tuple(option), tuple(option.values())) for option in options))
    return tuple(plan)


# ---------------------------------------------------------------------------- array helpers
def _is_torch(value: Any) -> bool:
    return type(value).__module__.split(".")[0] == "torch"


def _check_keypoints(keypoints: Any, skeleton: Skeleton, what: str = "keypoints") -> None:
    shape = tuple(keypoints.shape)
    if len(shape) < 2 or shape[-2] != skeleton.num_keypoints or shape[-1] not in (2, 3):
        raise ValueError(
            f"{what} must have shape (..., {skeleton.num_keypoints}, 2) or (..., {skeleton.num_keypoints}, 3) "
            f"for skeleton {skeleton.name!r}, got {shape}"
        )


def _convert(keypoints: Any, src: Skeleton, dst: Skeleton, scores: Any | None) -> tuple[Any, Any, Any | None]:
    """Shared implementation: ``(keypoints (..., K_dst, D), valid (..., K_dst), scores (..., K_dst) or None)``."""
    _check_keypoints(keypoints, src)
    if scores is not None and tuple(scores.shape) != tuple(keypoints.shape[:-1]):
        raise ValueError(
            f"scores must have shape {tuple(keypoints.shape[:-1])} (keypoints without the last axis), "
            f"got {tuple(scores.shape)}"
        )
    plan = conversion_plan(src, dst)
    if _is_torch(keypoints):
        return _convert_torch(keypoints, plan, scores)
    return _convert_numpy(keypoints, plan, scores)


_Plan = tuple[tuple[tuple[tuple[int, ...], tuple[float, ...]], ...], ...]


def _convert_torch(keypoints: Any, plan: _Plan, scores: Any | None) -> tuple[Any, Any, Any | None]:
    import torch

    points = keypoints if torch.is_floating_point(keypoints) else keypoints.float()
    source_valid = torch.isfinite(points).all(dim=-1)
    score_values: Any = None
    if scores is not None:
        score_values = torch.as_tensor(scores, device=points.device).to(points.dtype)
        source_valid = source_valid & (score_values > 0) & torch.isfinite(score_values)
    clean = torch.where(source_valid[..., None], points, torch.zeros((), dtype=points.dtype, device=points.device))
    out_points, out_valid, out_scores = [], [], []
    for options in plan:
        value = torch.zeros_like(clean[..., 0, :])
        valid = torch.zeros_like(source_valid[..., 0])
        score = torch.zeros_like(clean[..., 0, 0])
        for indices, weights in reversed(options):  # the best recipe is applied last and wins
            index = list(indices)
            weight = torch.tensor(weights, dtype=points.dtype, device=points.device)
            candidate = (clean[..., index, :] * weight[:, None]).sum(dim=-2)  # (..., n, D) -> (..., D)
            candidate_valid = source_valid[..., index].all(dim=-1)
            value = torch.where(candidate_valid[..., None], candidate, value)
            if score_values is not None:
                score = torch.where(candidate_valid, score_values[..., index].amin(dim=-1), score)
            valid = valid | candidate_valid
        out_points.append(value)
        out_valid.append(valid)
        out_scores.append(score)
    result = torch.stack(out_points, dim=-2)  # K_dst x (..., D) -> (..., K_dst, D)
    result_valid = torch.stack(out_valid, dim=-1)  # K_dst x (...) -> (..., K_dst)
    result_scores = torch.stack(out_scores, dim=-1) if score_values is not None else None
    return result, result_valid, result_scores


def _convert_numpy(keypoints: Any, plan: _Plan, scores: Any | None) -> tuple[Any, Any, Any | None]:
    points: np.ndarray = np.asarray(keypoints)
    if not np.issubdtype(points.dtype, np.floating):
        points = points.astype(np.float32)
    leading, (num_in, dims), num_out = points.shape[:-2], points.shape[-2:], len(plan)
    # Joint-major layout so every per-joint operation reads contiguous memory.
    joint_major = np.ascontiguousarray(np.moveaxis(points.reshape(-1, num_in, dims), 1, 0))  # (M, K, D) -> (K, M, D)
    source_valid = np.isfinite(joint_major).all(axis=-1)  # (K, M)
    score_values: np.ndarray | None = None
    if scores is not None:
        score_values = np.ascontiguousarray(np.asarray(scores, dtype=points.dtype).reshape(-1, num_in).T)  # (K, M)
        with np.errstate(invalid="ignore"):
            source_valid &= np.isfinite(score_values) & (score_values > 0)
    clean = np.where(source_valid[..., None], joint_major, np.zeros((), dtype=points.dtype))
    count = clean.shape[1]
    result = np.zeros((num_out, count, dims), dtype=points.dtype)
    result_valid = np.zeros((num_out, count), dtype=bool)
    result_scores = np.zeros((num_out, count), dtype=points.dtype)
    for k, options in enumerate(plan):
        for indices, weights in reversed(options):  # the best recipe is applied last and wins
            candidate_valid = source_valid[indices[0]].copy()
            candidate = clean[indices[0]] * weights[0]  # (M, D)
            for source_index, weight in zip(indices[1:], weights[1:], strict=True):
                candidate += clean[source_index] * weight
                candidate_valid &= source_valid[source_index]
            if len(options) == 1:
                result[k] = candidate
                result_valid[k] = candidate_valid
            else:
                np.copyto(result[k], candidate, where=candidate_valid[:, None])
                result_valid[k] |= candidate_valid
            if score_values is not None:
                candidate_score = np.min(score_values[list(indices)], axis=0)
                np.copyto(result_scores[k], candidate_score, where=candidate_valid)
    result[~result_valid] = 0  # a partly valid recipe leaves a partial sum behind
    result_scores[~result_valid] = 0
    # (K_dst, M, D) -> (..., K_dst, D)
    out = np.moveaxis(result, 0, 1).reshape(*leading, num_out, dims)
    out_valid = result_valid.T.reshape(*leading, num_out)
    out_scores = result_scores.T.reshape(*leading, num_out) if score_values is not None else None
    return out, out_valid, out_scores


def convert_keypoints(
    keypoints: ArrayT, src: str | Skeleton, dst: str | Skeleton, scores: Any | None = None
) -> tuple[ArrayT, ArrayT]:
    """Convert keypoints from one format to another by joint name (see the module docstring).

    Args:
        keypoints: ``(..., K_src, D)`` numpy array or torch tensor, ``D`` in {2, 3}.
        src: source skeleton (name or :class:`Skeleton`).
        dst: destination skeleton.
        scores: optional ``(..., K_src)`` confidences; a joint with ``score <= 0`` counts as missing.

    Returns:
        ``(keypoints (..., K_dst, D), valid (..., K_dst) bool)`` of the input's array type.
        Invalid joints are 0 (never NaN). Torch inputs stay differentiable.

    Raises:
        ValueError: when the shapes do not match ``src``.
    """
    out, valid, _ = _convert(keypoints, get_skeleton(src), get_skeleton(dst), scores)
    return out, valid


def convert_keypoints_and_scores(
    keypoints: ArrayT, scores: ArrayT, src: str | Skeleton, dst: str | Skeleton
) -> tuple[ArrayT, ArrayT, ArrayT]:
    """Like :func:`convert_keypoints`, also carrying scores across.

    A copied joint keeps its score; a derived joint gets the minimum score of the joints its recipe
    reads; invalid joints get score 0.

    Args:
        keypoints: ``(..., K_src, D)`` numpy array or torch tensor.
        scores: ``(..., K_src)`` confidences of the same array type.
        src: source skeleton.
        dst: destination skeleton.

    Returns:
        ``(keypoints (..., K_dst, D), scores (..., K_dst), valid (..., K_dst) bool)``.
    """
    out, valid, out_scores = _convert(keypoints, get_skeleton(src), get_skeleton(dst), scores)
    assert out_scores is not None
    return out, out_scores, valid


def flip_keypoints(keypoints: ArrayT, skeleton: str | Skeleton, image_width: float) -> ArrayT:
    """Mirror keypoints horizontally inside an image and swap left/right joints.

    Uses the pixel-centre convention: the centre of pixel column ``0`` is ``x = 0``, so the mirror
    of ``x`` is ``image_width - 1 - x``. Other coordinates (``y``, and ``z`` for 3D) are unchanged.

    Args:
        keypoints: ``(..., K, D)`` numpy array or torch tensor, ``D`` in {2, 3}, in pixels.
        skeleton: the keypoint format (name or :class:`Skeleton`).
        image_width: width ``W`` of the image in pixels.

    Returns:
        Flipped keypoints, same shape and type; ``flipped[..., k, :]`` is the mirrored
        ``keypoints[..., flip_indices[k], :]``.
    """
    skel = get_skeleton(skeleton)
    _check_keypoints(keypoints, skel)
    order = list(skel.flip_indices)
    if _is_torch(keypoints):
        tensor: Any = keypoints
        flipped_torch = tensor[..., order, :].clone()
        flipped_torch[..., 0] = (image_width - 1) - flipped_torch[..., 0]
        return flipped_torch  # type: ignore[no-any-return]
    flipped = np.array(np.asarray(keypoints)[..., order, :], copy=True)
    flipped[..., 0] = (image_width - 1) - flipped[..., 0]
    return flipped  # type: ignore[return-value]
