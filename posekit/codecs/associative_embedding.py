"""Associative-embedding codec (HigherHRNet): multi-resolution Gaussian heatmaps plus tag-loss joint indices.

Legend: ``N`` people, ``K`` keypoints, ``R`` side of one square output (heatmap) resolution, ``M`` the
maximum number of people (30), ``L`` stacked tag values per joint (flips x scales at test time).

HigherHRNet (Cheng et al., CVPR 2020, Sec. 3.3) supervises every output resolution with its own
Gaussian heatmaps and the lowest resolution with associative-embedding tags (Newell et al., NIPS
2017, Sec. 3). :meth:`AssociativeEmbedding.encode_joints` builds, per resolution, what the official
code's ``HeatmapGenerator`` and ``JointsGenerator`` (``lib/dataset/target_generators``) build:

* heatmaps ``(K, R, R)`` float32: for each labelled joint (``v > 0``) whose truncated position
  ``(int(x), int(y))`` lies inside the map, a Gaussian window of side ``6 sigma + 3`` (peak 1 at
  offset ``3 sigma + 1``, so centred on that pixel, ``3 sigma + 1`` pixels to the left and top and
  ``3 sigma + 1`` (+ the window's own rounding) to the right and bottom) is placed with its corner
  at ``round(x - 3 sigma - 1)``, clipped to the map and merged by pixel-wise maximum. ``sigma`` per
  resolution; a negative sigma means the official default ``R / 64``.
* joints ``(M, K, 2)`` int32: for person ``i`` (in annotation order), its labelled in-map joints packed
  at the front of row ``i`` as ``(flat index, 1)``, the flat index into the flattened tag maps
  ``k R^2 + y R + x`` (one tag map per joint, ``tag_per_joint``) or ``y R + x`` (one shared map);
  the rest of the row is ``(0, 0)``. People beyond ``M`` are dropped (the official code would fail
  with an index error there).

Pixel-centre convention: joints arrive in the coordinates of one output resolution as the official
affine maps them (``posekit.data.bottomup``); the target peak of a joint at ``x`` is the pixel
``int(x)`` (truncation towards zero, so ``x`` in ``(-1, 0)`` still lands on pixel 0, as in the
official code), i.e. output pixel ``i`` covers ``[i, i + 1)`` of those coordinates. Inference
(:mod:`posekit.codecs.ae_grouping`) reads pixel ``i`` back as coordinate ``i`` (plus the quarter
offset), the half-pixel bias the official weights were trained and evaluated with; both are kept
as they are so that official checkpoints and training give the official numbers.

:meth:`AssociativeEmbedding.decode` groups network outputs into people with
:func:`posekit.codecs.ae_grouping.group_people` (the official ``HeatmapParser``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

if TYPE_CHECKING:
    from posekit.codecs.ae_grouping import GroupingConfig

__all__ = ["AssociativeEmbedding", "BottomUpTarget", "gaussian_window"]

# The official DATASET.MAX_NUM_PEOPLE.
MAX_NUM_PEOPLE = 30


@dataclass(frozen=True)
class BottomUpTarget:
    """Training targets of one image, one entry per output resolution (highest stride first).

    Attributes:
        heatmaps: per resolution ``(K, R, R)`` float32 Gaussian heatmaps.
        joints: per resolution ``(M, K, 2)`` int32 ``(flat tag index, visible)`` rows, one per person.
    """

    heatmaps: tuple[np.ndarray, ...]
    joints: tuple[np.ndarray, ...]


def gaussian_window(sigma: float) -> np.ndarray:
    """The official unnormalised Gaussian window: side ``len(arange(0, 6 sigma + 3))``, peak 1 at ``3 sigma + 1``.

    Returns:
        ``(S, S)`` float64 with ``S = ceil(6 sigma + 3)``.
    """
    size = 6 * sigma + 3
    x = np.arange(0, size, 1, dtype=np.float64)  # (S,)
    y = x[:, None]  # (S, 1)
    centre = 3 * sigma + 1
    return np.exp(-((x - centre) ** 2 + (y - centre) ** 2) / (2 * sigma**2))  # (S, S)


class AssociativeEmbedding:
    """Bottom-up codec: Gaussian heatmaps per output resolution and tag-loss joint indices (see the module docstring).

    Args:
        input_size: side of the square network input in pixels (512 for HigherHRNet-W32).
        output_sizes: sides of the square outputs, one per supervised resolution (``(128, 256)``).
        num_keypoints: ``K``.
        sigma: Gaussian sigma in pixels of each resolution (one value for all, or one per
            resolution; negative: the official default ``R / 64``). Official: 2 for both.
        max_num_people: ``M`` rows of the joints target.
        tag_per_joint: one tag map per joint (official ``MODEL.TAG_PER_JOINT``) or one shared map.
        grouping: how :meth:`decode` groups people (default: the official test settings for ``K``).
    """

    name: ClassVar[str] = "associative_embedding"

    def __init__(
        self,
        input_size: int,
        output_sizes: Sequence[int],
        num_keypoints: int,
        sigma: float | Sequence[float] = 2.0,
        max_num_people: int = MAX_NUM_PEOPLE,
        tag_per_joint: bool = True,
        grouping: GroupingConfig | None = None,
    ) -> None:
        if int(input_size) < 1:
            raise ValueError(f"input_size must be a positive number of pixels, got {input_size}")
        sizes = tuple(int(size) for size in output_sizes)
        if not sizes or min(sizes) < 1:
            raise ValueError(f"output_sizes must be one or more positive sizes, got {tuple(output_sizes)}")
        if num_keypoints < 1:
            raise ValueError(f"num_keypoints must be >= 1, got {num_keypoints}")
        if max_num_people < 1:
            raise ValueError(f"max_num_people must be >= 1, got {max_num_people}")
        sigmas = (float(sigma),) * len(sizes) if isinstance(sigma, (int, float)) else tuple(map(float, sigma))
        if len(sigmas) != len(sizes):
            raise ValueError(f"sigma must be one value or one per output size ({len(sizes)}), got {sigma}")
        sigmas = tuple(value if value >= 0 else size / 64 for value, size in zip(sigmas, sizes, strict=True))
        if min(sigmas) <= 0:
            raise ValueError(f"sigma must be positive (or negative for the R / 64 default), got {sigma}")
        self._input_size = int(input_size)
        self.output_sizes = sizes
        self.num_keypoints = int(num_keypoints)
        self.sigmas = sigmas
        self.max_num_people = int(max_num_people)
        self.tag_per_joint = bool(tag_per_joint)
        self.grouping = grouping
        self._windows = tuple(gaussian_window(value) for value in sigmas)

    def __repr__(self) -> str:
        return (
            f"AssociativeEmbedding(input_size={self._input_size}, output_sizes={self.output_sizes}, "
            f"num_keypoints={self.num_keypoints}, sigma={self.sigmas}, max_num_people={self.max_num_people}, "
            f"tag_per_joint={self.tag_per_joint})"
        )

    @property
    def input_size(self) -> tuple[int, int]:
        """Network input ``(w, h)``."""
        return (self._input_size, self._input_size)

    @property
    def heatmap_size(self) -> tuple[int, int]:
        """The first (lowest) output resolution ``(W, H)``: the one that carries the tags."""
        return (self.output_sizes[0], self.output_sizes[0])

    # ------------------------------------------------------------------------------------ encode
    def _check_joints(self, joints: np.ndarray, name: str) -> np.ndarray:
        array = np.asarray(joints, dtype=np.float64)
        if array.ndim != 3 or array.shape[1] != self.num_keypoints or array.shape[2] < 3:
            raise ValueError(
                f"{name} must have shape (N, {self.num_keypoints}, 3) (x, y, visibility per person and joint), "
                f"got {array.shape}"
            )
        return array

    def encode_heatmaps(self, joints: np.ndarray, resolution: int = 0) -> np.ndarray:
        """Gaussian heatmaps ``(K, R, R)`` float32 of ``joints (N, K, 3)`` given in pixels of output ``resolution``."""
        points = self._check_joints(joints, "joints")
        size = self.output_sizes[resolution]
        sigma = self.sigmas[resolution]
        window = self._windows[resolution]
        heatmaps = np.zeros((self.num_keypoints, size, size), dtype=np.float32)
        for person in points:
            for joint, (x_value, y_value, visibility) in enumerate(person[:, :3]):
                if not visibility > 0:
                    continue
                x, y = int(x_value), int(y_value)  # truncation, as the official generator
                if x < 0 or y < 0 or x >= size or y >= size:
                    continue
                left, top = int(np.round(x - 3 * sigma - 1)), int(np.round(y - 3 * sigma - 1))
                right, bottom = int(np.round(x + 3 * sigma + 2)), int(np.round(y + 3 * sigma + 2))
                # window columns [w0, w1) and rows [h0, h1) land on map columns [m0, m1), rows [n0, n1)
                w0, w1 = max(0, -left), min(right, size) - left
                h0, h1 = max(0, -top), min(bottom, size) - top
                m0, m1 = max(0, left), min(right, size)
                n0, n1 = max(0, top), min(bottom, size)
                region = heatmaps[joint, n0:n1, m0:m1]
                heatmaps[joint, n0:n1, m0:m1] = np.maximum(region, window[h0:h1, w0:w1])
        return heatmaps

    def encode_tag_joints(self, joints: np.ndarray, resolution: int = 0) -> np.ndarray:
        """Tag-loss joints ``(M, K, 2)`` int32 ``(flat index, visible)`` of ``joints (N, K, 3)`` at ``resolution``."""
        points = self._check_joints(joints, "joints")
        size = self.output_sizes[resolution]
        rows = np.zeros((self.max_num_people, self.num_keypoints, 2), dtype=np.int64)
        for person_index, person in enumerate(points[: self.max_num_people]):
            count = 0
            for joint, (x_value, y_value, visibility) in enumerate(person[:, :3]):
                x, y = int(x_value), int(y_value)
                if visibility > 0 and 0 <= x < size and 0 <= y < size:
                    flat = y * size + x
                    if self.tag_per_joint:
                        flat += joint * size * size
                    rows[person_index, count] = (flat, 1)
                    count += 1
        return rows.astype(np.int32)

    def encode_joints(self, joints_per_resolution: Sequence[np.ndarray]) -> BottomUpTarget:
        """Targets of one image from its joints already mapped into each output resolution.

        Args:
            joints_per_resolution: one ``(N, K, 3)`` array per output size, ``x, y`` in that
                output's pixels and the COCO visibility flag (``> 0``: labelled).

        Returns:
            :class:`BottomUpTarget` (heatmaps and tag-loss joints per resolution).
        """
        if len(joints_per_resolution) != len(self.output_sizes):
            raise ValueError(
                f"joints_per_resolution must hold one array per output size {self.output_sizes}, "
                f"got {len(joints_per_resolution)}"
            )
        heatmaps = tuple(self.encode_heatmaps(joints, index) for index, joints in enumerate(joints_per_resolution))
        tags = tuple(self.encode_tag_joints(joints, index) for index, joints in enumerate(joints_per_resolution))
        return BottomUpTarget(heatmaps=heatmaps, joints=tags)

    def encode(self, keypoints: np.ndarray, visible: np.ndarray | None = None, /) -> BottomUpTarget:
        """Targets of ``keypoints (N, K, 2)`` in input pixels with ``visible (N, K)`` (``None``: all).

        Each output's joints are the input ones times ``R / input_size`` (what the official
        per-resolution affine gives, up to float rounding at pixel borders; the training data path
        maps each resolution with its own matrix as the official code does, then calls
        :meth:`encode_joints`).
        """
        points = np.asarray(keypoints, dtype=np.float64)
        if points.ndim != 3 or points.shape[1:] != (self.num_keypoints, 2):
            raise ValueError(f"keypoints must have shape (N, {self.num_keypoints}, 2), got {points.shape}")
        flags = np.ones(points.shape[:2]) if visible is None else np.asarray(visible, dtype=np.float64)
        if flags.shape != points.shape[:2]:
            raise ValueError(f"visible must have shape {points.shape[:2]} (N, K), got {flags.shape}")
        per_resolution = [
            np.concatenate([points * (size / self._input_size), flags[..., None]], axis=-1)  # (N, K, 3)
            for size in self.output_sizes
        ]
        return self.encode_joints(per_resolution)

    # ------------------------------------------------------------------------------------ decode
    def decode(
        self, heatmaps: np.ndarray, tags: np.ndarray, /, *, adjust: bool = True, refine: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Group one image's aggregated maps into people (official ``HeatmapParser.parse``).

        Args:
            heatmaps: ``(K, H, W)`` float32 aggregated heatmaps.
            tags: ``(K, H, W, L)`` float32 stacked tags.
            adjust: the quarter-pixel adjustment.
            refine: fill missing joints from the person's mean tag.

        Returns:
            people ``(P, K, 3 + L)`` float32 (x, y, score, tags in heatmap pixels) and scores ``(P,)``.
        """
        from posekit.codecs.ae_grouping import GroupingConfig, group_people

        config = self.grouping
        if config is None:
            config = GroupingConfig(
                num_joints=self.num_keypoints, max_num_people=self.max_num_people, tag_per_joint=self.tag_per_joint
            )
        people, scores = group_people(heatmaps, tags, config, adjust=adjust, refine=refine)
        return np.asarray(people, dtype=np.float32), np.asarray(scores, dtype=np.float32)
