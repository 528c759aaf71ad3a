"""COCO keypoint evaluation (OKS, AP/AR through pycocotools) and OKS-based non-maximum suppression.

Legend: ``N`` predicted instances, ``M`` ground-truth instances, ``K`` keypoints. Keypoints are
``(x, y)`` in image pixels, optionally with a third column (visibility flag for ground truth,
confidence for predictions).

Object Keypoint Similarity (COCO keypoint task, https://cocodataset.org/#keypoints-eval)::

    OKS = sum_i exp(-d_i^2 / (2 * s * k_i^2)) * [v_i > 0] / sum_i [v_i > 0],   k_i = 2 * sigma_i

with ``d_i`` the distance between predicted and ground-truth keypoint ``i``, ``s`` the object
area (segment area in COCO) and ``v_i`` the ground-truth visibility flag.

:func:`coco_keypoint_eval` runs the official ``pycocotools`` ``COCOeval`` with the skeleton's OKS
sigmas, so its numbers are the official ones for COCO and for any COCO-format dataset whose
skeleton has sigmas (CrowdPose, OCHuman, ...). CrowdPose's own benchmark reports AP, AP50, AP75,
AR, AR50, AR75 and AP on easy/medium/hard images (``crowdpose-api`` / ``xtcocotools``); pass
``iou_type="keypoints_crowd"`` to add ``APeasy``, ``APmedium`` and ``APhard``, and ``use_area=False``
to use ``0.53 * box area`` as the object scale the way that toolkit does for annotations without an
``area``, and ``drop_zero_confidence=True`` to drop predictions whose keypoint confidences are all
zero as it does (``pycocotools`` keeps them). With the three, the numbers are CrowdPose's.

Predictions are tied to ground-truth images by :func:`match_prediction_images`: by ``image_id``,
or by ``file_name`` when the predictions carry one (``posekit predict`` writes the input's path)
that names a ground-truth image. File names win when both are there and they disagree, because
``posekit predict`` numbers images in file order unless ``--images-json`` gives it the ground
truth's ids; predictions that match neither way are refused rather than scored against the
wrong images.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from posekit.io.coco import match_file_name
from posekit.io.json import load_json

__all__ = [
    "COCO_METRIC_NAMES",
    "CROWDPOSE_METRIC_NAMES",
    "coco_keypoint_eval",
    "match_prediction_images",
    "oks",
    "oks_nms",
    "pairwise_oks",
    "resolve_sigmas",
    "soft_oks_nms",
]

# Names of ``COCOeval.stats`` for iouType="keypoints", in pycocotools' order.
COCO_METRIC_NAMES: tuple[str, ...] = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")
# Extra numbers of the CrowdPose benchmark: AP over images split by crowd index, with the split
# points of crowdpose-api / xtcocotools ``get_type_result(first=0.2, second=0.8)``.
CROWDPOSE_METRIC_NAMES: tuple[str, ...] = ("APeasy", "APmedium", "APhard")
_CROWD_INDEX_SPLITS = (0.2, 0.8)
# Object scale used by crowdpose-api / xtcocotools when ground truth has no segment area.
_BOX_AREA_FACTOR = 0.53


def resolve_sigmas(sigmas: Sequence[float] | ArrayLike | None, skeleton: str = "coco") -> np.ndarray:
    """Return per-keypoint OKS sigmas ``(K,)`` float64: ``sigmas`` if given, else the skeleton's.

    Raises:
        ValueError: when the skeleton has no sigmas or the sigmas are not positive finite numbers.
    """
    if sigmas is None:
        from posekit.skeletons import get_skeleton

        definition = get_skeleton(skeleton)
        if definition.sigmas is None:
            count = definition.num_keypoints
            raise ValueError(
                f"skeleton {definition.name!r} has no OKS sigmas; give its {count} per-keypoint sigmas "
                f"(posekit evaluate coco --sigmas S1,...,S{count}, comma-separated in the skeleton's keypoint "
                "order; sigmas= in Python)"
            )
        sigmas = definition.sigmas
    values = np.asarray(sigmas, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"sigmas must be a non-empty 1-D sequence, got shape {values.shape}")
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError(f"sigmas must be positive finite numbers, got {values.tolist()}")
    return values


# --------------------------------------------------------------------------------------------------
# OKS
# --------------------------------------------------------------------------------------------------


def _as_keypoints(value: ArrayLike, name: str, dims: tuple[int, ...] = (2, 3)) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != 3 or array.shape[-1] not in dims:
        expected = " or ".join(f"(N, K, {d})" for d in dims)
        raise ValueError(f"{name} must have shape {expected}, got {array.shape}")
    return array


def oks(
    keypoints: ArrayLike,
    target_keypoints: ArrayLike,
    target_areas: ArrayLike,
    sigmas: Sequence[float] | ArrayLike | None = None,
    target_visible: ArrayLike | None = None,
    target_boxes_xywh: ArrayLike | None = None,
    skeleton: str = "coco",
) -> np.ndarray:
    """Object keypoint similarity between every prediction and every ground-truth instance.

    Exactly the formula of ``pycocotools`` ``COCOeval.computeOks``: the mean of
    ``exp(-d^2 / (2 * area * (2 * sigma)^2))`` over the target's visible keypoints (``v > 0``). For a
    target with no visible keypoint, COCO measures each predicted keypoint's distance to the
    target's box enlarged to three times its size (``target_boxes_xywh``); without boxes such pairs
    get OKS 0 (``COCOeval`` ignores those targets anyway).

    Args:
        keypoints: predictions ``(N, K, 2)`` or ``(N, K, 3)`` in pixels; a third column is ignored.
        target_keypoints: ground truth ``(M, K, 2)`` or ``(M, K, 3)``; the third column is the
            visibility flag (``v > 0`` counts) unless ``target_visible`` is given.
        target_areas: object scale ``(M,)`` in pixels^2 (the COCO ``area`` of each target).
        sigmas: per-keypoint sigmas ``(K,)``; defaults to the sigmas of ``skeleton``.
        target_visible: ``(M, K)`` visibility of the targets; overrides the third column. Required
            neither way: 2-column targets without it count as fully visible.
        target_boxes_xywh: ``(M, 4)`` COCO boxes ``(x, y, w, h)`` used for targets with no visible
            keypoint.
        skeleton: skeleton whose sigmas are used when ``sigmas`` is None.

    Returns:
        ``(N, M)`` float64 OKS values in ``[0, 1]``.
    """
    predicted = _as_keypoints(keypoints, "keypoints")
    target = _as_keypoints(target_keypoints, "target_keypoints")
    if predicted.shape[1] != target.shape[1]:
        raise ValueError(
            f"keypoints and target_keypoints must have the same K, got {predicted.shape} and {target.shape}"
        )
    num_keypoints = target.shape[1]
    sigma_values = resolve_sigmas(sigmas, skeleton)
    if sigma_values.shape[0] != num_keypoints:
        raise ValueError(f"sigmas must have K={num_keypoints} entries, got {sigma_values.shape[0]}")
    areas = np.asarray(target_areas, dtype=np.float64).reshape(-1)
    if areas.shape[0] != target.shape[0]:
        raise ValueError(f"target_areas must have shape ({target.shape[0]},), got {np.shape(target_areas)}")
    visible: np.ndarray
    if target_visible is not None:
        given = np.asarray(target_visible)
        if given.shape != target.shape[:2]:
            raise ValueError(f"target_visible must have shape {target.shape[:2]}, got {given.shape}")
        visible = np.asarray(given > 0)
    elif target.shape[-1] == 3:
        visible = np.asarray(target[..., 2] > 0)
    else:
        visible = np.ones(target.shape[:2], dtype=bool)

    variances = (sigma_values * 2) ** 2  # (K,)
    # (N, 1, K) - (1, M, K) -> (N, M, K)
    delta_x = predicted[:, None, :, 0] - target[None, :, :, 0]
    delta_y = predicted[:, None, :, 1] - target[None, :, :, 1]
    has_visible = np.asarray(visible.any(axis=1))  # (M,)
    if target_boxes_xywh is not None and not has_visible.all():
        boxes = np.asarray(target_boxes_xywh, dtype=np.float64)
        if boxes.shape != (target.shape[0], 4):
            raise ValueError(f"target_boxes_xywh must have shape ({target.shape[0]}, 4), got {boxes.shape}")
        # Distance to the box enlarged by its size on every side: [x - w, x + 2w] x [y - h, y + 2h].
        x0 = (boxes[:, 0] - boxes[:, 2])[None, :, None]
        x1 = (boxes[:, 0] + boxes[:, 2] * 2)[None, :, None]
        y0 = (boxes[:, 1] - boxes[:, 3])[None, :, None]
        y1 = (boxes[:, 1] + boxes[:, 3] * 2)[None, :, None]
        px = predicted[:, None, :, 0]
        py = predicted[:, None, :, 1]
        outside_x = np.maximum(0.0, x0 - px) + np.maximum(0.0, px - x1)
        outside_y = np.maximum(0.0, y0 - py) + np.maximum(0.0, py - y1)
        no_visible = ~has_visible[None, :, None]
        delta_x = np.where(no_visible, outside_x, delta_x)
        delta_y = np.where(no_visible, outside_y, delta_y)
        counted = np.where(has_visible[:, None], visible, True)  # (M, K): all K for box-only targets
    else:
        counted = visible
    exponent = (delta_x**2 + delta_y**2) / variances / (areas[None, :, None] + np.spacing(1)) / 2
    similarity = np.exp(-exponent) * counted[None]  # (N, M, K)
    count = counted.sum(axis=1)  # (M,)
    return np.where(count > 0, similarity.sum(axis=2) / np.maximum(count, 1), 0.0)


def pairwise_oks(
    keypoints: ArrayLike,
    areas: ArrayLike,
    sigmas: Sequence[float] | ArrayLike | None = None,
    visibility_threshold: float | None = None,
    skeleton: str = "coco",
) -> np.ndarray:
    """OKS between every pair of predicted instances, as used for OKS-NMS (HRNet / MMPose ``oks_iou``).

    The object scale of a pair is the mean of the two areas. With ``visibility_threshold``, only
    keypoints whose confidence exceeds it in *both* instances count (none counted gives OKS 0).

    Args:
        keypoints: ``(N, K, 2)`` or ``(N, K, 3)``; the third column is the keypoint confidence.
        areas: ``(N,)`` areas in pixels^2 (usually box ``w * h``).
        sigmas: ``(K,)``; defaults to the sigmas of ``skeleton``.
        visibility_threshold: confidence threshold, needs 3 columns.
        skeleton: skeleton whose sigmas are used when ``sigmas`` is None.

    Returns:
        ``(N, N)`` symmetric float64 OKS matrix.
    """
    points = _as_keypoints(keypoints, "keypoints")
    num_keypoints = points.shape[1]
    sigma_values = resolve_sigmas(sigmas, skeleton)
    if sigma_values.shape[0] != num_keypoints:
        raise ValueError(f"sigmas must have K={num_keypoints} entries, got {sigma_values.shape[0]}")
    area_values = np.asarray(areas, dtype=np.float64).reshape(-1)
    if area_values.shape[0] != points.shape[0]:
        raise ValueError(f"areas must have shape ({points.shape[0]},), got {np.shape(areas)}")
    variances = (sigma_values * 2) ** 2
    delta_x = points[:, None, :, 0] - points[None, :, :, 0]  # (N, N, K)
    delta_y = points[:, None, :, 1] - points[None, :, :, 1]
    mean_area = (area_values[:, None] + area_values[None, :]) / 2  # (N, N)
    exponent = (delta_x**2 + delta_y**2) / variances / (mean_area[..., None] + np.spacing(1)) / 2
    if visibility_threshold is None:
        return np.exp(-exponent).mean(axis=2)
    if points.shape[-1] != 3:
        raise ValueError(f"visibility_threshold needs keypoints of shape (N, K, 3), got {points.shape}")
    confident = points[..., 2] > visibility_threshold  # (N, K)
    counted = confident[:, None, :] & confident[None, :, :]  # (N, N, K)
    count = counted.sum(axis=2)
    return np.where(count > 0, (np.exp(-exponent) * counted).sum(axis=2) / np.maximum(count, 1), 0.0)


def _nms_inputs(keypoints: ArrayLike, scores: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    points = _as_keypoints(keypoints, "keypoints")
    score_values = np.asarray(scores, dtype=np.float64).reshape(-1)
    if score_values.shape[0] != points.shape[0]:
        raise ValueError(f"scores must have shape ({points.shape[0]},), got {np.shape(scores)}")
    return points, score_values


def oks_nms(
    keypoints: ArrayLike,
    scores: ArrayLike,
    areas: ArrayLike,
    threshold: float = 0.9,
    sigmas: Sequence[float] | ArrayLike | None = None,
    visibility_threshold: float | None = None,
    skeleton: str = "coco",
) -> np.ndarray:
    """Greedy OKS non-maximum suppression (as ``oks_nms`` in HRNet / SimpleBaseline and MMPose).

    Instances are visited by decreasing score (ties in the order of ``np.argsort(scores)[::-1]``);
    each kept instance removes the remaining ones whose OKS with it exceeds ``threshold``.

    Args:
        keypoints: ``(N, K, 2)`` or ``(N, K, 3)`` poses of one image.
        scores: ``(N,)`` instance scores.
        areas: ``(N,)`` instance areas in pixels^2.
        threshold: OKS above which the lower-scored instance is suppressed (kept when ``<=``).
        sigmas: ``(K,)``; defaults to the sigmas of ``skeleton``.
        visibility_threshold: count only keypoints more confident than this in both instances.
        skeleton: skeleton whose sigmas are used when ``sigmas`` is None.

    Returns:
        int64 indices of the kept instances, highest score first.
    """
    points, score_values = _nms_inputs(keypoints, scores)
    if points.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    overlaps = pairwise_oks(points, areas, sigmas, visibility_threshold, skeleton)
    order = np.argsort(score_values)[::-1]
    keep: list[int] = []
    while order.size > 0:
        current = int(order[0])
        keep.append(current)
        remaining = order[1:]
        order = remaining[overlaps[current, remaining] <= threshold]
    return np.asarray(keep, dtype=np.int64)


def soft_oks_nms(
    keypoints: ArrayLike,
    scores: ArrayLike,
    areas: ArrayLike,
    threshold: float = 0.9,
    max_detections: int = 20,
    sigmas: Sequence[float] | ArrayLike | None = None,
    visibility_threshold: float | None = None,
    method: Literal["gaussian", "linear"] = "gaussian",
    skeleton: str = "coco",
) -> np.ndarray:
    """Soft OKS-NMS (as MMPose ``soft_oks_nms``; Bodla et al., "Soft-NMS", ICCV 2017, with OKS).

    Repeatedly keeps the best-scored instance and decays the scores of the others by their OKS
    ``o`` with it: ``score * exp(-o^2 / threshold)`` (gaussian) or ``score * (1 - o)`` where
    ``o >= threshold`` (linear); the rest are re-sorted by decayed score.

    Args:
        keypoints: ``(N, K, 2)`` or ``(N, K, 3)`` poses of one image.
        scores: ``(N,)`` instance scores.
        areas: ``(N,)`` instance areas in pixels^2.
        threshold: gaussian width / linear overlap threshold.
        max_detections: keep at most this many instances.
        sigmas: ``(K,)``; defaults to the sigmas of ``skeleton``.
        visibility_threshold: count only keypoints more confident than this in both instances.
        method: ``"gaussian"`` or ``"linear"`` rescoring.
        skeleton: skeleton whose sigmas are used when ``sigmas`` is None.

    Returns:
        int64 indices of the kept instances in the order they were kept.
    """
    if method not in ("gaussian", "linear"):
        raise ValueError(f"method must be 'gaussian' or 'linear', got {method!r}")
    points, score_values = _nms_inputs(keypoints, scores)
    if points.shape[0] == 0 or max_detections <= 0:
        return np.zeros(0, dtype=np.int64)
    overlaps = pairwise_oks(points, areas, sigmas, visibility_threshold, skeleton)
    order = np.argsort(score_values)[::-1]
    current_scores = score_values[order]
    keep: list[int] = []
    while order.size > 0 and len(keep) < max_detections:
        current = int(order[0])
        keep.append(current)
        overlap = overlaps[current, order[1:]]
        order, current_scores = order[1:], current_scores[1:]
        if method == "gaussian":
            current_scores = current_scores * np.exp(-(overlap**2) / threshold)
        else:
            current_scores = np.where(overlap >= threshold, current_scores * (1 - overlap), current_scores)
        resort = np.argsort(current_scores)[::-1]
        order, current_scores = order[resort], current_scores[resort]
    return np.asarray(keep, dtype=np.int64)


# --------------------------------------------------------------------------------------------------
# COCO AP / AR through pycocotools
# --------------------------------------------------------------------------------------------------


def _short_list(values: Sequence[Any], limit: int = 10) -> str:
    shown = ", ".join(repr(value) for value in list(values)[:limit])
    return shown + (f", ... ({len(values)} in all)" if len(values) > limit else "")


def _prepare_ground_truth(
    ground_truth: str | os.PathLike[str] | Mapping[str, Any], num_keypoints: int, use_area: bool
) -> dict[str, Any]:
    data = load_json(ground_truth, "ground-truth") if isinstance(ground_truth, (str, os.PathLike)) else ground_truth
    if not isinstance(data, Mapping):
        raise ValueError(f"ground truth must be a COCO-format JSON object, got {type(data).__name__}")
    missing = [key for key in ("images", "annotations", "categories") if key not in data]
    if missing:
        raise ValueError(f"ground truth is not COCO format: it has no {', '.join(repr(m) for m in missing)}")
    dataset = dict(data)
    dataset["annotations"] = [dict(annotation) for annotation in data["annotations"]]  # we may fill fields
    for index, annotation in enumerate(dataset["annotations"]):
        name = f"ground-truth annotation {annotation.get('id', f'#{index}')}"
        for key in ("id", "image_id", "category_id", "keypoints", "bbox"):
            if key not in annotation:
                raise ValueError(f"{name} has no {key!r}")
        values = np.asarray(annotation["keypoints"], dtype=np.float64)
        if values.ndim != 1 or values.size != 3 * num_keypoints:
            raise ValueError(
                f"{name} has {values.size} keypoint values, expected {3 * num_keypoints} (K={num_keypoints} x 3)"
            )
        annotation.setdefault("iscrowd", 0)
        annotation.setdefault("num_keypoints", int(np.count_nonzero(values[2::3] > 0)))
        if not use_area:
            annotation["area"] = float(annotation["bbox"][2]) * float(annotation["bbox"][3]) * _BOX_AREA_FACTOR
        elif "area" not in annotation:
            raise ValueError(
                f"{name} has no 'area'; pass use_area=False to use {_BOX_AREA_FACTOR} x box area as the "
                "object scale (as CrowdPose's evaluation does)"
            )
    return dataset


def match_prediction_images(
    predictions: Sequence[Mapping[str, Any]], images: Sequence[Mapping[str, Any]]
) -> tuple[list[Any], str | None]:
    """The ground-truth image id of every prediction, by ``image_id`` or by ``file_name``.

    A prediction's ``file_name`` (a path) names a ground-truth image when a trailing part of it is
    that image's ``file_name`` (``/data/val2017/000000000139.jpg`` matches ``000000000139.jpg``
    and ``val2017/000000000139.jpg``), or when its base name is the base name of exactly one
    ground-truth image. The rule:

    * every prediction has a ``file_name`` naming a ground-truth image: those images are used
      (their ids replace the predictions' ``image_id`` where the two disagree, with a note);
    * else every ``image_id`` is a ground-truth id: the ids are used, unless a ``file_name``
      names another ground-truth image than the prediction's ``image_id`` (a contradiction,
      refused);
    * else (ids and names both match only partly, or not at all): refused.

    Args:
        predictions: COCO results, each with ``image_id`` and optionally ``file_name``.
        images: the ground truth's ``images`` (``id``, optionally ``file_name``).

    Returns:
        ``(image ids, one per prediction; a note saying that file names were used, or None)``.

    Raises:
        ValueError: one sentence saying how many predictions matched by id and by file name,
            with examples of those that did not.
    """
    image_ids = {image["id"] for image in images}
    by_path: dict[str, Any] = {}
    base_counts: Counter[str] = Counter()
    by_base: dict[str, Any] = {}
    for image in images:
        name = image.get("file_name")
        if isinstance(name, str) and name:
            path = PurePosixPath(name.replace("\\", "/"))
            by_path[path.as_posix()] = image["id"]
            base_counts[path.name] += 1
            by_base[path.name] = image["id"]

    def named_image(value: Any) -> Any:
        if not isinstance(value, str) or not value:
            return None
        path = PurePosixPath(value.replace("\\", "/"))
        found = match_file_name(path.as_posix(), by_path)
        if found is None and base_counts[path.name] == 1:
            found = by_base[path.name]
        return found

    given = [prediction["image_id"] for prediction in predictions]
    names = [prediction.get("file_name") for prediction in predictions]
    named = [named_image(name) for name in names]
    count = len(predictions)
    id_hits = sum(image_id in image_ids for image_id in given)
    name_hits = sum(found is not None for found in named)
    if count and name_hits == count:
        differ = sum(found != image_id for found, image_id in zip(named, given, strict=True))
        if differ == 0:
            return given, None
        note = (
            f"matched {count} predictions to the ground truth by file name ({differ} had an image_id that is "
            f"{'not the id of their file' if id_hits else 'not a ground-truth id'}; posekit predict numbers "
            "images in file order unless --images-json gives it the ground truth's ids)"
        )
        return named, note
    if id_hits == count:
        conflicts = [
            (name, image_id)
            for name, found, image_id in zip(names, named, given, strict=True)
            if found is not None and found != image_id
        ]
        if conflicts:
            name, image_id = conflicts[0]
            raise ValueError(
                f"predictions' image ids and file names disagree: {len(conflicts)} of {count} predictions "
                f"name a ground-truth file of another id (e.g. image_id {image_id!r} with file_name {name!r}) and "
                f"only {name_hits} of {count} file names are in the ground truth, so neither can be trusted; "
                "predict again with --images-json GT.json to write the ground truth's image ids"
            )
        return given, None
    unknown_ids = _short_list(sorted({image_id for image_id in given if image_id not in image_ids}, key=str), 5)
    if not any(isinstance(name, str) and name for name in names):
        names_part = "and they carry no file_name to match instead"
    elif not by_path:
        names_part = "and the ground truth's images have no file_name to match theirs"
    else:
        missing = sorted({str(name) for name, found in zip(names, named, strict=True) if found is None})
        names_part = (
            f"and only {name_hits} of {count} have a file_name in the ground truth "
            f"(not in it: {_short_list(missing, 3)})"
        )
    raise ValueError(
        f"predictions refer to image ids not in the ground truth: {unknown_ids} ({count - id_hits} of {count} "
        f"predictions), {names_part}; are these predictions for this ground truth?"
    )


def _prepare_predictions(
    predictions: str | os.PathLike[str] | Sequence[Mapping[str, Any]],
    dataset: Mapping[str, Any],
    num_keypoints: int,
    default_score: float | None,
    report: Callable[[str], None] | None,
) -> list[dict[str, Any]]:
    data = load_json(predictions, "predictions") if isinstance(predictions, (str, os.PathLike)) else predictions
    if isinstance(data, Mapping) or not isinstance(data, Sequence):
        raise ValueError(f"predictions must be a list of COCO results, got {type(data).__name__}")
    category_ids = {category["id"] for category in dataset["categories"]}
    results: list[dict[str, Any]] = []
    unknown_categories: list[Any] = []
    for index, item in enumerate(data):
        if not isinstance(item, Mapping):
            raise ValueError(f"prediction {index} must be an object, got {type(item).__name__}")
        result = dict(item)  # pycocotools' loadRes adds keys to each result; the caller's dicts stay as they were
        for key in ("image_id", "keypoints"):
            if key not in result:
                raise ValueError(f"prediction {index} has no {key!r}")
        try:
            values = np.asarray(result["keypoints"], dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ValueError(f"prediction {index} has non-numeric keypoints") from error
        if values.ndim != 1 or values.size != 3 * num_keypoints:
            raise ValueError(
                f"prediction {index} has {values.size} keypoint values, expected {3 * num_keypoints} "
                f"(K={num_keypoints} x (x, y, score))"
            )
        if not np.all(np.isfinite(values)):
            raise ValueError(f"prediction {index} has NaN or infinite keypoints")
        if "score" not in result:
            if default_score is None:
                raise ValueError(f"prediction {index} has no 'score' (COCO results need an instance score)")
            result["score"] = float(default_score)
        if "category_id" not in result:
            if len(category_ids) != 1:
                raise ValueError(f"prediction {index} has no 'category_id' and the ground truth has several")
            result["category_id"] = next(iter(category_ids))
        if result["category_id"] not in category_ids:
            unknown_categories.append(result["category_id"])
        results.append(result)
    matched, note = match_prediction_images(results, dataset["images"])
    if note is not None:
        for result, image_id in zip(results, matched, strict=True):
            result["image_id"] = image_id
        if report is not None:
            report(note)
    if unknown_categories:
        names = _short_list(sorted(set(unknown_categories), key=str))
        raise ValueError(f"predictions refer to category ids not in the ground truth: {names}")
    if results and any(("bbox" in result) != ("bbox" in results[0]) for result in results):
        raise ValueError("either every prediction or none must have a 'bbox' (pycocotools decides on the first)")
    return results


@contextlib.contextmanager
def _quiet(verbose: bool) -> Iterator[None]:
    if verbose:
        yield
    else:
        with contextlib.redirect_stdout(io.StringIO()):
            yield


def _run_cocoeval(coco_gt: Any, coco_dt: Any, sigmas: np.ndarray, image_ids: Sequence[Any] | None = None) -> Any:
    from pycocotools.cocoeval import COCOeval

    evaluator = COCOeval(coco_gt, coco_dt, "keypoints")
    evaluator.params.kpt_oks_sigmas = sigmas
    if image_ids is not None:
        evaluator.params.imgIds = list(image_ids)
    evaluator.evaluate()
    evaluator.accumulate()
    return evaluator


def coco_keypoint_eval(
    gt: str | os.PathLike[str] | Mapping[str, Any],
    predictions: str | os.PathLike[str] | Sequence[Mapping[str, Any]],
    sigmas: Sequence[float] | ArrayLike | None = None,
    skeleton: str = "coco",
    use_area: bool = True,
    iou_type: Literal["keypoints", "keypoints_crowd"] = "keypoints",
    verbose: bool = False,
    default_score: float | None = None,
    drop_zero_confidence: bool = False,
    report: Callable[[str], None] | None = None,
) -> dict[str, float]:
    """COCO keypoint AP/AR of ``predictions`` against ``gt``, computed by pycocotools' ``COCOeval``.

    Args:
        gt: COCO-format ground truth: a JSON path or the loaded dict (``images``, ``annotations``
            with ``keypoints`` of length ``3K`` and ``bbox``, ``categories``).
        predictions: COCO results: a JSON path or a list of dicts with ``image_id``,
            ``category_id`` (filled in when the ground truth has one category), ``keypoints``
            (``3K`` values ``x, y, score``), ``score`` and optionally ``file_name``, matched to
            the ground-truth images as :func:`match_prediction_images` says. An empty list
            gives AP/AR 0.
        sigmas: per-keypoint OKS sigmas ``(K,)``; defaults to the sigmas of ``skeleton``.
        skeleton: skeleton name (``"coco"``, ``"crowdpose"``, ...) giving ``K`` and the sigmas.
        use_area: use each annotation's ``area`` as object scale (COCO). ``False`` uses
            ``0.53 * w * h`` of its box, as crowdpose-api/xtcocotools do (CrowdPose, AIC).
        iou_type: ``"keypoints"`` for the ten COCO numbers; ``"keypoints_crowd"`` adds ``APeasy``,
            ``APmedium``, ``APhard`` over images split by ``crowdIndex`` (< 0.2, 0.2-0.8, >= 0.8).
        verbose: let pycocotools print its progress and summary table to stdout.
        default_score: score given to predictions without one; ``None`` makes that an error.
        drop_zero_confidence: drop predictions whose keypoint confidences are all zero before
            evaluating, as xtcocotools (CrowdPose's evaluation) does; pycocotools keeps them.
        report: called with one sentence when the predictions were matched to the ground truth
            by file name instead of by ``image_id`` (the CLI prints it on stderr).

    Returns:
        ``{"AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"}`` (plus the
        CrowdPose keys) as floats in ``[0, 1]``; ``-1`` where pycocotools reports no ground truth
        for that setting (e.g. ``APm`` when no medium-sized person is annotated).

    Raises:
        ValueError: malformed input, keypoint lengths that do not match the skeleton, predictions
            that match no ground-truth image by id nor by file name, category ids that the
            ground truth does not have.
        OSError: a path that cannot be read.
    """
    if iou_type not in ("keypoints", "keypoints_crowd"):
        raise ValueError(f"iou_type must be 'keypoints' or 'keypoints_crowd', got {iou_type!r}")
    sigma_values = resolve_sigmas(sigmas, skeleton)
    num_keypoints = sigma_values.shape[0]
    dataset = _prepare_ground_truth(gt, num_keypoints, use_area)
    results = _prepare_predictions(predictions, dataset, num_keypoints, default_score, report)
    if drop_zero_confidence:
        results = [result for result in results if np.any(np.asarray(result["keypoints"], dtype=np.float64)[2::3] > 0)]
    if iou_type == "keypoints_crowd":
        missing = [image.get("id") for image in dataset["images"] if "crowdIndex" not in image]
        if missing:
            names = _short_list(missing)
            raise ValueError(f"iou_type='keypoints_crowd' needs 'crowdIndex' on every image; missing on {names}")

    from pycocotools.coco import COCO

    with _quiet(verbose):
        coco_gt = COCO()
        coco_gt.dataset = dataset
        coco_gt.createIndex()
        if results:
            coco_dt = coco_gt.loadRes(results)
        else:  # loadRes cannot take an empty list; an empty result set evaluates to AP = AR = 0
            coco_dt = COCO()
            coco_dt.dataset = {"images": list(dataset["images"]), "categories": copy.deepcopy(dataset["categories"])}
            coco_dt.dataset["annotations"] = []
            coco_dt.createIndex()
        evaluator = _run_cocoeval(coco_gt, coco_dt, sigma_values)
        evaluator.summarize()
        metrics = {name: float(value) for name, value in zip(COCO_METRIC_NAMES, evaluator.stats, strict=True)}
        if iou_type == "keypoints_crowd":
            low, high = _CROWD_INDEX_SPLITS
            groups: dict[str, list[Any]] = {"APeasy": [], "APmedium": [], "APhard": []}
            for image in dataset["images"]:
                crowd_index = float(image["crowdIndex"])
                key = "APeasy" if crowd_index < low else "APmedium" if crowd_index < high else "APhard"
                groups[key].append(image["id"])
            for key, image_ids in groups.items():
                if not image_ids:
                    metrics[key] = -1.0
                    continue
                subset = _run_cocoeval(coco_gt, coco_dt, sigma_values, image_ids)
                precision = subset.eval["precision"][:, :, :, 0, :]  # (T, R, K, A, M) -> all areas
                valid = precision[precision > -1]
                metrics[key] = float(valid.mean()) if valid.size else -1.0
                if verbose:
                    label = f"IoU=0.50:0.95 | type={key[2:]:>6s} | maxDets= 20"
                    print(f" Average Precision  (AP) @[ {label} ] = {metrics[key]:0.3f}")
    return metrics
