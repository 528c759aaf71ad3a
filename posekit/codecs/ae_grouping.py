"""Associative-embedding grouping: bottom-up joints -> people, exactly as HigherHRNet's ``HeatmapParser``.

Legend: ``K`` joints, ``H``/``W`` map height/width, ``L`` tag columns (one per flip/scale the
inference stacked), ``M`` people, ``D = 3 + L`` columns per joint.

Bottom-up models (Newell et al., "Associative Embedding", NeurIPS 2017; Cheng et al., "HigherHRNet",
CVPR 2020) predict, for every joint type, a heatmap and a tag map over the whole image; joints whose
tags are close belong to the same person. :func:`group_people` turns the (aggregated) maps of one
image into people with *exactly* the result of the official HigherHRNet ``lib/core/group.py``
``HeatmapParser.parse(det, tag, adjust, refine)`` (commit aa23881): same people, same joints, same
scores, same order, float32 bit-identical. The steps, in the official order:

1. **NMS + top-k**: a joint candidate is a pixel equal to the 5x5 max-pool of its map (stride 1,
   padding 2); the ``max_num_people`` (30) largest candidates per joint type are kept, in
   ``torch.topk`` order; only those with score ``> detection_threshold`` (0.1, compared in float64
   as the official ``joints[:, 2] > threshold`` does) take part in grouping.
2. **match_by_tag**: joint types in ``joint_order``; the first type seeds one person per joint; every
   later type is assigned to the people found so far (the first ``max_num_people`` of them) by
   :func:`~posekit.codecs.munkres.munkres_assignment` on ``round(tag distance) * 100 - score``
   (columns padded with ``1e10``); a pair is accepted when the tag distance is ``< tag_threshold``
   (1.0), else the joint starts a new person. People are keyed by their first tag value, as in the
   official dict: a new person whose key equals an existing one *is* that person (its joint is
   overwritten and its tag list restarted) — colliding tags merge.
3. **adjust**: every detected joint moves a quarter pixel towards its higher neighbour along each
   axis (towards the lower-index side on a tie), then by half a pixel: ``x = col +- 0.25 + 0.5``.
4. **person score**: the mean over joints of the scores (missing joints count as 0), taken *before*
   refine.
5. **refine**: every missing joint of a person is filled with the pixel maximising
   ``heatmap - round(distance to the person's mean tag)`` (quarter offset, ``+ 0.5``) when its
   score there is ``> 0``; the refilled joint keeps tag columns 0.

Pixel-centre convention: the official one, kept as is so results stay identical: a map pixel
``(col, row)`` is reported at ``(col + 0.5 +- 0.25, row + 0.5 +- 0.25)`` with ``adjust`` (plain
``(col, row)`` without; refilled joints always get the ``+ 0.5 +- 0.25``), in *map* pixels (the
aggregated maps are at input resolution); :mod:`posekit.inference.bottomup` maps them back to the
image as the official ``get_final_preds``.

Speed: the official code spends its time in torch's 5x5 max-pool over all ``K x H x W`` pixels and
in ``refine``, which converts the maps to numpy once per person and searches every joint type of
every person over the whole map (with flip, numpy's sum over the 2 tag columns alone takes ~15 ms
per search at 512 x 704). Here the max-pool is OpenCV's dilation (the same maxima, -inf padded),
top-k sorts only the maxima above the threshold, the maps are converted once, and refine searches
only the *missing* joints (the official computes the others and throws them away), summing one or
two tag columns as whole-map operations, and only where the maximum can be: in the 8 x 8 tiles whose
upper bound (best heatmap value minus the rounded lower bound of the tag distance) reaches a value
already found, or else the pixels whose heatmap does. Every shortcut is exact; where exactness needs the
official operation itself (tied top-k scores: ``torch.topk``'s order; ``detection_threshold < 0``;
three or more tag columns: numpy's summation order) that operation is used.
``benchmarks/bench_ae_grouping.py`` measures the speed-up and the identity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import torch

from posekit.codecs.munkres import munkres_assignment

__all__ = ["COCO_JOINT_ORDER", "GroupingConfig", "group_people", "synthetic_ae_maps"]

#: The official ``Params.joint_order`` (0-based): nose, eyes, ears, shoulders, then hips before
#: elbows and wrists, then knees and ankles. Its first 14 entries are a permutation of 0..13, which
#: is what the official code uses for CrowdPose's 14 joints.
COCO_JOINT_ORDER: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16)

_PAD_VALUE = 1e10  # the official column padding of the cost matrix
_TILE = 8  # the side of refine's search tiles in pixels


@dataclass(frozen=True)
class GroupingConfig:
    """The official ``Params`` + ``HeatmapParser`` settings (``cfg.TEST``, ``cfg.DATASET``, ``cfg.MODEL``).

    Attributes:
        num_joints: ``K`` (``DATASET.NUM_JOINTS``; 17 COCO, 14 CrowdPose).
        max_num_people: top-k per joint type and the most people matched (``DATASET.MAX_NUM_PEOPLE``).
        detection_threshold: a candidate joint needs a score ``>`` this (``TEST.DETECTION_THRESHOLD``).
        tag_threshold: a match needs a tag distance ``<`` this (``TEST.TAG_THRESHOLD``).
        use_detection_val: cost ``round(distance) * 100 - score`` instead of the plain distance.
        ignore_too_much: skip a joint type once ``max_num_people`` people exist.
        tag_per_joint: one tag map per joint type (else one shared map, ``MODEL.TAG_PER_JOINT``).
        nms_kernel: max-pool kernel (``TEST.NMS_KERNEL``); must equal ``2 * nms_padding + 1``.
        nms_padding: max-pool padding (``TEST.NMS_PADDING``).
        joint_order: the order joint types are matched in; ``None`` gives the official order for
            17 and 14 joints (:data:`COCO_JOINT_ORDER` and its first 14 entries) and ``range(K)``
            otherwise. Must be a permutation of ``range(K)``.
    """

    num_joints: int
    max_num_people: int = 30
    detection_threshold: float = 0.1
    tag_threshold: float = 1.0
    use_detection_val: bool = True
    ignore_too_much: bool = False
    tag_per_joint: bool = True
    nms_kernel: int = 5
    nms_padding: int = 2
    joint_order: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.num_joints < 1:
            raise ValueError(f"num_joints must be at least 1, got {self.num_joints}")
        if self.max_num_people < 1:
            raise ValueError(f"max_num_people must be at least 1, got {self.max_num_people}")
        if self.nms_padding < 0 or self.nms_kernel != 2 * self.nms_padding + 1:
            raise ValueError(
                f"nms_kernel must equal 2 * nms_padding + 1 (a same-size max-pool), got kernel {self.nms_kernel} "
                f"and padding {self.nms_padding}"
            )
        for name in ("detection_threshold", "tag_threshold"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be finite, got {getattr(self, name)}")
        if self.joint_order is not None and sorted(self.joint_order) != list(range(self.num_joints)):
            raise ValueError(
                f"joint_order must be a permutation of 0..{self.num_joints - 1}, got {tuple(self.joint_order)}"
            )

    @property
    def order(self) -> tuple[int, ...]:
        """The joint order used: :attr:`joint_order` or its default for :attr:`num_joints`."""
        if self.joint_order is not None:
            return tuple(self.joint_order)
        if self.num_joints in (14, 17):
            return COCO_JOINT_ORDER[: self.num_joints]
        return tuple(range(self.num_joints))


# ----------------------------------------------------------------------------------------------
# input checks
# ----------------------------------------------------------------------------------------------


def _as_numpy(array: Any) -> np.ndarray:
    """A float32 C-contiguous numpy copy-or-view of a numpy array or torch tensor."""
    if isinstance(array, torch.Tensor):
        array = array.detach().cpu().numpy()
    return np.ascontiguousarray(array, dtype=np.float32)


def _check_inputs(heatmaps: Any, tags: Any, config: GroupingConfig) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(K, H, W)`` heatmaps and ``(T, H, W, L)`` tags (``T`` = K, or 1 without tag_per_joint)."""
    det = _as_numpy(heatmaps)
    tag = _as_numpy(tags)
    num_joints = config.num_joints
    tag_maps = num_joints if config.tag_per_joint else 1
    if tag.ndim == 3:
        tag = tag[..., None]  # (T, H, W) -> (T, H, W, 1)
    if det.ndim != 3 or det.shape[0] != num_joints:
        raise ValueError(
            f"heatmaps must have shape (K={num_joints}, H, W), got {tuple(det.shape)} (with tags {tuple(tag.shape)})"
        )
    if tag.ndim != 4 or tag.shape[0] != tag_maps or tag.shape[1:3] != det.shape[1:] or tag.shape[3] < 1:
        raise ValueError(
            f"tags of shape {tuple(tag.shape)} do not fit heatmaps of shape {tuple(det.shape)}: expected "
            f"({tag_maps}, {det.shape[1]}, {det.shape[2]}, L) with L >= 1 tag columns "
            f"({'one tag map per joint' if config.tag_per_joint else 'one shared tag map'})"
        )
    if det.shape[1] * det.shape[2] < config.max_num_people:
        raise ValueError(
            f"heatmaps of shape {tuple(det.shape)} have fewer pixels than max_num_people={config.max_num_people}"
        )
    if not (np.isfinite(det.max()) and np.isfinite(det.min())):
        raise ValueError("heatmaps must be finite; they contain NaN or infinite values")
    if not (np.isfinite(tag.max()) and np.isfinite(tag.min())):
        raise ValueError("tags must be finite; they contain NaN or infinite values")
    return det, tag


# ----------------------------------------------------------------------------------------------
# 1. NMS + top-k
# ----------------------------------------------------------------------------------------------


def _strict_float32_bound(threshold: float) -> np.float32:
    """The smallest float32 ``v`` with ``float(v) > threshold``: ``x > threshold`` iff ``x >= v``."""
    bound = np.float32(threshold)
    if float(bound) <= threshold:
        bound = np.nextafter(bound, np.float32(np.inf))
    return np.float32(bound)


@dataclass
class _Peaks:
    """The candidates of one joint type that take part in grouping, in the official top-k order."""

    flat: np.ndarray  # (n,) int64 flat pixel index row * W + col
    scores: np.ndarray  # (n,) float32


def _top_k_peaks(det: np.ndarray, config: GroupingConfig) -> tuple[list[_Peaks], list[np.ndarray]]:
    """Per joint type: NMS maxima with score ``> detection_threshold``, the official top-k order.

    Returns the peaks and the max-pooled maps ``(H, W)`` (refine reads its tile maxima off them).
    """
    num_joints, height, width = det.shape
    k = config.max_num_people
    kernel = np.ones((config.nms_kernel, config.nms_kernel), dtype=np.uint8)
    threshold = config.detection_threshold
    bound = _strict_float32_bound(threshold)
    peaks, pooled_maps = [], []
    for joint in range(num_joints):
        heatmap = det[joint]
        # torch's MaxPool2d pads with -inf; so does OpenCV's dilation (default border for dilate).
        pooled = cv2.dilate(heatmap, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=-np.inf)
        pooled_maps.append(pooled)
        flat_map, flat_pooled = heatmap.reshape(-1), pooled.reshape(-1)  # (H, W) -> (H*W,)
        if threshold < 0:
            peaks.append(_torch_top_k(heatmap, pooled, k, threshold))
            continue
        above = np.flatnonzero(flat_map >= bound)
        candidates = above[flat_map[above] == flat_pooled[above]]
        scores = flat_map[candidates]
        order = np.argsort(-scores, kind="stable")[: k + 1]  # (<= k + 1,) descending
        ranked = scores[order]
        if ranked.size > 1 and np.any(ranked[1:] == ranked[:-1]):
            # Tied scores: their order (and, at the k-th place, the choice) is torch.topk's.
            peaks.append(_torch_top_k(heatmap, pooled, k, threshold))
            continue
        order = order[:k]
        peaks.append(_Peaks(candidates[order], scores[order]))
    return peaks, pooled_maps


def _torch_top_k(heatmap: np.ndarray, pooled: np.ndarray, k: int, threshold: float) -> _Peaks:
    """The official ``det * eq(pool(det), det)`` then ``topk(k)`` for one map; kept: score > threshold."""
    suppressed = heatmap * (heatmap == pooled).astype(np.float32)  # (H, W), 0 (or -0) off the maxima
    scores, flat = torch.from_numpy(suppressed.reshape(-1)).topk(k)
    scores_np, flat_np = scores.numpy(), flat.numpy().astype(np.int64)
    keep = scores_np.astype(np.float64) > threshold
    return _Peaks(flat_np[keep], scores_np[keep])


# ----------------------------------------------------------------------------------------------
# 2. match_by_tag
# ----------------------------------------------------------------------------------------------


def _match_by_tag(peaks: list[_Peaks], tag: np.ndarray, width: int, config: GroupingConfig) -> np.ndarray:
    """The official ``match_by_tag`` for one image: people ``(M, K, 3 + L)`` float32 in creation order."""
    num_joints = config.num_joints
    num_columns = tag.shape[3]
    tag_flat = tag.reshape(tag.shape[0], -1, num_columns)  # (T, H, W, L) -> (T, H*W, L)
    people: list[np.ndarray] = []  # each (K, 3 + L) float64, as the official joint_dict values
    tag_lists: list[list[np.ndarray]] = []  # each person's tags, (L,) float32 each
    mean_tags: list[np.ndarray | None] = []  # cached np.mean(tag list, axis=0), None when stale
    by_key: dict[float, int] = {}  # first tag value -> person index (the official dict keys)

    def person_for(key: float) -> int:
        index = by_key.get(key)
        if index is None:
            index = by_key[key] = len(people)
            people.append(np.zeros((num_joints, 3 + num_columns)))
            tag_lists.append([])
            mean_tags.append(None)
        return index

    def mean_tag(index: int) -> np.ndarray:
        cached = mean_tags[index]
        if cached is None:
            cached = mean_tags[index] = np.mean(tag_lists[index], axis=0)
        return cached

    for position, joint in enumerate(config.order):
        found = peaks[joint]
        if found.flat.size == 0:
            continue
        flat = found.flat
        tags = tag_flat[joint if config.tag_per_joint else 0, flat]  # (n, L) float32
        columns = flat % width
        rows = (flat.astype(np.float32) / np.float32(width)).astype(np.int64)  # torch's (ind / w).long()
        joints = np.concatenate(  # (n, 3 + L) float64, the official row layout
            (np.stack((columns, rows), axis=1), found.scores[:, None], tags), axis=1
        ).astype(np.float64)
        keys = tags[:, 0].tolist()

        if position == 0 or not people:
            for row in range(len(joints)):
                index = person_for(keys[row])
                people[index][joint] = joints[row]
                tag_lists[index][:] = [tags[row]]
                mean_tags[index] = None
            continue

        grouped = list(by_key.values())[: config.max_num_people]
        if config.ignore_too_much and len(grouped) == config.max_num_people:
            continue
        grouped_tags = np.array([mean_tag(index) for index in grouped])  # (G, L) float32
        difference = joints[:, None, 3:] - grouped_tags[None, :, :]  # (n, G, L) float64
        distance = np.linalg.norm(difference, ord=2, axis=2)  # (n, G)
        cost = distance
        if config.use_detection_val:
            cost = np.round(distance) * 100 - joints[:, 2:3]
        num_added, num_grouped = distance.shape
        if num_added > num_grouped:
            cost = np.concatenate((cost, np.zeros((num_added, num_added - num_grouped)) + _PAD_VALUE), axis=1)
        for row, column in munkres_assignment(cost):
            if column < num_grouped and distance[row, column] < config.tag_threshold:
                index = grouped[column]
                people[index][joint] = joints[row]
                tag_lists[index].append(tags[row])
            else:
                index = person_for(keys[row])
                people[index][joint] = joints[row]
                tag_lists[index][:] = [tags[row]]
            mean_tags[index] = None

    if not people:
        return np.zeros((0, num_joints, 3 + num_columns), dtype=np.float32)
    return np.array(people).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# 3. adjust
# ----------------------------------------------------------------------------------------------


def _adjust(people: np.ndarray, det: np.ndarray) -> None:
    """The official quarter-pixel ``adjust``, in place: ``x = col +- 0.25 + 0.5`` (``-`` on ties), same for y."""
    _, height, width = det.shape
    person, joint = np.nonzero(people[:, :, 2] > 0)  # (P,) each
    if person.size == 0:
        return
    columns = people[person, joint, 0].astype(np.int64)
    rows = people[person, joint, 1].astype(np.int64)
    right = det[joint, rows, np.minimum(columns + 1, width - 1)]
    left = det[joint, rows, np.maximum(columns - 1, 0)]
    down = det[joint, np.minimum(rows + 1, height - 1), columns]
    up = det[joint, np.maximum(rows - 1, 0), columns]
    x = people[person, joint, 0]
    y = people[person, joint, 1]
    x = np.where(right > left, x + np.float32(0.25), x - np.float32(0.25)) + np.float32(0.5)
    y = np.where(down > up, y + np.float32(0.25), y - np.float32(0.25)) + np.float32(0.5)
    people[person, joint, 0] = x
    people[person, joint, 1] = y


# ----------------------------------------------------------------------------------------------
# 5. refine
# ----------------------------------------------------------------------------------------------


def _tag_distance(tag: np.ndarray, mean_tag: np.ndarray) -> np.ndarray:
    """The official ``((tag - mean_tag) ** 2).sum(axis=2) ** 0.5``, ``(..., L) -> (...)``, bit-identical.

    numpy sums a short last axis one pixel at a time (slow: ~15 ms for 512 x 704 x 2); for one or
    two columns the sum is a single addition whatever the order, so it is done as whole-map
    operations on the per-column squares (the same float32 values); three or more columns keep the
    official expression (numpy's own summation order).
    """
    columns = tag.shape[-1]
    if columns > 2:
        return ((tag - mean_tag) ** 2).sum(axis=-1) ** 0.5
    squared = (tag[..., 0] - mean_tag[0]) ** 2  # (...) float32
    if columns == 2:
        squared = squared + (tag[..., 1] - mean_tag[1]) ** 2
    return squared**0.5


def _search_values(heatmap: np.ndarray, tag: np.ndarray, flat: np.ndarray, mean_tag: np.ndarray) -> np.ndarray:
    """``heatmap - round(distance)`` at the flat pixel indices ``flat``, the official float32 operations."""
    pixel_tags = tag.reshape(-1, tag.shape[2])[flat]  # (..., L)
    return heatmap.reshape(-1)[flat] - np.round(_tag_distance(pixel_tags, mean_tag))


def _tile_pixels(height: int, width: int) -> np.ndarray:
    """Flat pixel indices ``(tiles, 64)`` of the ``8 x 8`` tiles, row-major (border tiles repeat their last pixels)."""
    rows = np.minimum(np.arange(0, height, _TILE)[:, None] + np.arange(_TILE), height - 1)  # (R, 8)
    columns = np.minimum(np.arange(0, width, _TILE)[:, None] + np.arange(_TILE), width - 1)  # (C, 8)
    flat = rows[:, None, :, None] * width + columns[None, :, None, :]  # (R, C, 8, 8)
    return flat.reshape(rows.shape[0] * columns.shape[0], _TILE * _TILE)


class _SearchBounds:
    """Per ``8 x 8`` tile of one joint type's maps: the best heatmap value and each tag column's range.

    The tile maxima come free from the NMS max-pool (two 5x5 windows per axis, centred at offsets 2
    and 5, cover a tile's 8 rows/columns; at a partial border tile they may reach into the
    neighbour, which only loosens the bound); the tag ranges from one OpenCV erosion and dilation
    anchored at the tile's corner.
    """

    def __init__(self, pooled: np.ndarray, tag: np.ndarray, peaks: np.ndarray, tile_pixels: np.ndarray) -> None:
        height, width = pooled.shape
        rows, columns = np.arange(0, height, _TILE), np.arange(0, width, _TILE)
        tile_max = np.full((rows.size, columns.size), -np.inf, dtype=np.float32)  # (R, C)
        for row_offset in (2, 5):
            for column_offset in (2, 5):
                window_rows = np.minimum(rows + row_offset, height - 1)
                window_columns = np.minimum(columns + column_offset, width - 1)
                np.maximum(tile_max, pooled[np.ix_(window_rows, window_columns)], out=tile_max)
        self.tile_max = tile_max.reshape(-1)  # (tiles,)
        kernel = np.ones((_TILE, _TILE), dtype=np.uint8)
        tag_min = cv2.erode(tag, kernel, anchor=(0, 0))[::_TILE, ::_TILE].reshape(-1, tag.shape[2])  # (tiles, L)
        tag_max = cv2.dilate(tag, kernel, anchor=(0, 0))[::_TILE, ::_TILE].reshape(-1, tag.shape[2])
        self.tag_ranges = [
            (np.ascontiguousarray(tag_min[:, c]), np.ascontiguousarray(tag_max[:, c])) for c in range(tag.shape[2])
        ]
        self.peaks = peaks  # (P,) flat indices: extra first guesses
        self.tile_pixels = tile_pixels

    def upper_bounds(self, mean_tag: np.ndarray) -> np.ndarray:
        """``(tiles,)`` float32: no pixel of a tile has ``heatmap - round(distance)`` above its bound.

        The tile's best heatmap value minus the rounded lower bound of its distances: the distance
        from ``mean_tag`` to the tile's tag ranges, shrunk by a margin far above float32's rounding
        (of this bound and of the official distance), so ``round(distance) >= that`` always holds;
        both steps are monotone float32 operations, so the bound holds for the float32 values too.
        """
        squared = None
        for (low, high), centre in zip(self.tag_ranges, mean_tag, strict=True):
            gap = np.maximum(np.maximum(low - centre, centre - high), np.float32(0))  # (tiles,)
            squared = gap * gap if squared is None else squared + gap * gap
        assert squared is not None
        lower = np.sqrt(squared) * np.float32(1 - 1e-5) - np.float32(1e-3)
        rounded = np.clip(np.ceil(lower - np.float32(0.5)), 0, 2**24)  # round(distance) >= rounded
        return self.tile_max - rounded


def _refine_search(
    heatmap: np.ndarray, tag: np.ndarray, mean_tag: np.ndarray, bounds: _SearchBounds | None = None
) -> tuple[int, int]:
    """The official refine's ``unravel_index(argmax(heatmap - round(distance)))``: ``(row, col)``.

    With ``bounds``, the value ``v = heatmap - round(distance)`` is first computed on the most
    promising tile and at the joint's peaks; their best ``b`` is reached somewhere, so only pixels
    that can reach ``b`` need a look: those of the tiles whose upper bound is ``>= b`` or, when
    those are many, those with ``heatmap >= b`` (``round(distance) >= 0``). Ties resolve to the
    smallest flat index, as ``np.argmax``. When both sets are large the whole map is searched.

    Args:
        heatmap: ``(H, W)`` float32. tag: ``(H, W, L)`` float32, ``L <= 2`` with ``bounds``.
        mean_tag: ``(L,)`` float32.
        bounds: this joint type's :class:`_SearchBounds`, or ``None``.
    """
    width = heatmap.shape[1]
    if bounds is not None:
        upper = bounds.upper_bounds(mean_tag)
        probes = np.concatenate((bounds.tile_pixels[np.argmax(upper)], bounds.peaks))
        best = _search_values(heatmap, tag, probes, mean_tag).max()
        tiles = np.flatnonzero(upper >= best)
        if tiles.size * 4 <= upper.size:
            candidates = bounds.tile_pixels[tiles].reshape(-1)
            values = _search_values(heatmap, tag, candidates, mean_tag)
            index = int(candidates[values == values.max()].min())
            return index // width, index % width
        candidates = np.flatnonzero(heatmap.reshape(-1) >= best)  # ascending flat indices
        if candidates.size * 4 <= heatmap.size:
            index = int(candidates[np.argmax(_search_values(heatmap, tag, candidates, mean_tag))])
            return index // width, index % width
    index = int(np.argmax(heatmap - np.round(_tag_distance(tag, mean_tag))))
    return index // width, index % width


def _quarter(value: float, high: float, low: float) -> float:
    """The official refine's quarter step: ``+0.25`` towards a strictly higher neighbour, else ``-0.25``."""
    return value + 0.25 if high > low else value - 0.25


def _refine(
    people: np.ndarray,
    det: np.ndarray,
    tag: np.ndarray,
    peaks: list[_Peaks],
    pooled: list[np.ndarray],
    config: GroupingConfig,
) -> None:
    """The official ``refine`` for every person, in place: fills missing joints (score 0).

    ``peaks`` and ``pooled`` (the max-pooled maps) come from the NMS step and seed the bounded search.
    """
    num_joints, height, width = det.shape
    tags = tag if config.tag_per_joint else np.broadcast_to(tag, (num_joints, *tag.shape[1:]))
    use_bounds = tag.shape[3] <= 2 and height * width >= 64 * _TILE**2
    bounds: dict[int, _SearchBounds] = {}  # built on first use, per joint type
    tile_pixels = _tile_pixels(height, width) if use_bounds else np.zeros((0, _TILE * _TILE), dtype=np.int64)
    for keypoints in people:
        present = np.flatnonzero(keypoints[:, 2] > 0)
        missing = np.flatnonzero(keypoints[:, 2] == 0)
        if present.size == 0 or missing.size == 0:
            continue  # (no joint with a positive score only happens with detection_threshold < 0)
        columns = keypoints[present, 0].astype(np.int32)
        rows = keypoints[present, 1].astype(np.int32)
        mean_tag = np.mean(tags[present, rows, columns], axis=0)  # (L,) float32, as the official
        for joint in missing.tolist():
            heatmap = det[joint]
            if use_bounds and joint not in bounds:
                bounds[joint] = _SearchBounds(pooled[joint], tags[joint], peaks[joint].flat, tile_pixels)
            row, column = _refine_search(heatmap, tags[joint], mean_tag, bounds.get(joint))
            score = heatmap[row, column]
            if not score > 0:
                continue
            x = _quarter(column + 0.5, heatmap[row, min(column + 1, width - 1)], heatmap[row, max(column - 1, 0)])
            y = _quarter(row + 0.5, heatmap[min(row + 1, height - 1), column], heatmap[max(0, row - 1), column])
            keypoints[joint, 0] = x
            keypoints[joint, 1] = y
            keypoints[joint, 2] = score


# ----------------------------------------------------------------------------------------------
# public entry point
# ----------------------------------------------------------------------------------------------


def group_people(
    heatmaps: Any, tags: Any, config: GroupingConfig, *, adjust: bool = True, refine: bool = True
) -> tuple[np.ndarray, list[float]]:
    """Group one image's joints into people: the official ``HeatmapParser.parse`` (see the module docs).

    Args:
        heatmaps: ``(K, H, W)`` aggregated heatmaps (numpy array or torch tensor; float32 is what the
            official code computes in, other dtypes are converted to float32).
        tags: ``(K, H, W, L)`` tag maps with ``L`` columns stacked as the official
            ``aggregate_results`` builds them (``(1, H, W, L)`` when ``config.tag_per_joint`` is
            False; ``(K, H, W)`` is read as ``L = 1``).
        config: the grouping settings.
        adjust: apply the quarter-pixel offset (official ``TEST.ADJUST``).
        refine: fill missing joints (official ``TEST.REFINE``).

    Returns:
        ``people`` ``(M, K, 3 + L)`` float32 — per joint ``x, y`` in map pixels (convention in the
        module docs), score (0 for a joint nobody has), then the ``L`` tag values (0 for refilled
        joints) — and the ``M`` person scores (mean joint score before refine), in the official
        order (the order people were created in). An empty frame gives ``(0, K, 3 + L)`` and ``[]``
        (the official returns a ``(0,)`` array).

    Raises:
        ValueError: the maps have the wrong shapes (naming both shapes and what was expected), fewer
            pixels than ``max_num_people``, or non-finite values.
    """
    det, tag = _check_inputs(heatmaps, tags, config)
    peaks, pooled = _top_k_peaks(det, config)
    people = _match_by_tag(peaks, tag, det.shape[2], config)
    if adjust:
        _adjust(people, det)
    scores = [float(person[:, 2].mean()) for person in people]
    if refine:
        _refine(people, det, tag, peaks, pooled, config)
    return people, scores


# ----------------------------------------------------------------------------------------------
# synthetic inputs (tests, fixture makers, benchmarks)
# ----------------------------------------------------------------------------------------------


def synthetic_ae_maps(
    num_people: int,
    *,
    num_joints: int = 17,
    size: tuple[int, int] = (96, 64),
    sigma: float = 2.0,
    tag_columns: int = 1,
    tag_per_joint: bool = True,
    person_tags: np.ndarray | None = None,
    missing: float = 0.1,
    noise: float = 0.02,
    tag_noise: float = 0.05,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Heatmaps and tags with known people: one Gaussian peak per visible joint, per-person tags, noise.

    Args:
        num_people: how many people to draw.
        num_joints: ``K``.
        size: map size ``(W, H)``.
        sigma: Gaussian standard deviation in map pixels (peak height drawn in ``[0.3, 1]``).
        tag_columns: ``L``.
        tag_per_joint: ``K`` tag maps, or one shared map.
        person_tags: ``(num_people, L)`` tag values (default: ``1.7 * person index`` in every column,
            so neighbours are 2 apart after rounding); equal rows make colliding tags.
        missing: probability that a joint is not drawn.
        noise: amplitude of the uniform heatmap noise (many sub-threshold local maxima).
        tag_noise: standard deviation of the tag noise (background and inside peaks).
        seed: random seed.

    Returns:
        ``heatmaps (K, H, W)`` float32, ``tags (T, H, W, L)`` float32 (``T`` = K or 1) and the drawn
        joint positions ``(num_people, K, 3)`` (col, row, visible) in map pixels.
    """
    width, height = size
    rng = np.random.default_rng(seed)
    heatmaps = (rng.random((num_joints, height, width), dtype=np.float32) * np.float32(noise)).astype(np.float32)
    tag_maps = num_joints if tag_per_joint else 1
    tags = (rng.standard_normal((tag_maps, height, width, tag_columns), dtype=np.float32) * tag_noise).astype(
        np.float32
    )
    if person_tags is None:
        person_tags = np.repeat(np.arange(num_people, dtype=np.float32)[:, None] * 1.7, tag_columns, axis=1)
    person_tags = np.asarray(person_tags, dtype=np.float32).reshape(num_people, tag_columns)
    radius = max(1, int(3 * sigma))
    grid = np.arange(-radius, radius + 1)
    patch = np.exp(-(grid[None, :] ** 2 + grid[:, None] ** 2) / (2 * sigma**2)).astype(np.float32)
    joints = np.zeros((num_people, num_joints, 3), dtype=np.float32)
    spread = np.array([width, height]) / 8
    for person in range(num_people):
        centre = rng.uniform([0, 0], [width, height])
        for joint in range(num_joints):
            if rng.random() < missing:
                continue
            col, row = np.clip(np.round(centre + rng.normal(0, 1, 2) * spread), 0, [width - 1, height - 1]).astype(int)
            joints[person, joint] = (col, row, 1)
            top, bottom = max(0, row - radius), min(height, row + radius + 1)
            left, right = max(0, col - radius), min(width, col + radius + 1)
            piece = patch[top - row + radius : bottom - row + radius, left - col + radius : right - col + radius]
            amplitude = np.float32(rng.uniform(0.3, 1.0))
            region = heatmaps[joint, top:bottom, left:right]
            heatmaps[joint, top:bottom, left:right] = np.maximum(region, piece * amplitude)
            tag_index = joint if tag_per_joint else 0
            jitter = rng.standard_normal((bottom - top, right - left, tag_columns)).astype(np.float32) * tag_noise
            tags[tag_index, top:bottom, left:right] = person_tags[person] + jitter
    return heatmaps, tags, joints
