"""Typed results of the codecs' ``encode``: what a training step feeds its loss.

Legend: ``N`` instances, ``K`` keypoints, ``C`` heatmap channels, ``H``/``W`` heatmap height/width.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class HeatmapTarget:
    """Heatmap training target.

    Attributes:
        heatmaps: ``(C, H, W)`` float32 (instances merged by pixel-wise maximum) or ``(N, C, H, W)``
            (one set per instance); ``C = K`` for Gaussian heatmaps, ``3 K`` for UDP "combined".
        target_weights: ``(N, K)`` float32; 0 for keypoints that are not visible or whose target
            falls outside the heatmap.
    """

    heatmaps: np.ndarray
    target_weights: np.ndarray


@dataclass(frozen=True)
class RegressionTarget:
    """Coordinate regression target.

    Attributes:
        keypoint_labels: ``(N, K, 2)`` float32 coordinates normalised by the input size (``x / w``, ``y / h``).
        target_weights: ``(N, K)`` float32; 0 for keypoints that are not visible or lie outside the input.
    """

    keypoint_labels: np.ndarray
    target_weights: np.ndarray


@dataclass(frozen=True)
class IntegralTarget:
    """Integral (soft-argmax) regression target: coordinate labels plus optional heatmap supervision.

    Attributes:
        keypoint_labels: ``(N, K, 2)`` float32 normalised coordinates (``x / w``, ``y / h``).
        heatmaps: ``(K, H, W)`` or ``(N, K, H, W)`` float32 MSRA Gaussian heatmaps (for auxiliary heatmap
            losses, e.g. DSNT-style regularisers).
        target_weights: ``(N, K)`` float32; 0 where either the coordinate or the heatmap target is invalid.
    """

    keypoint_labels: np.ndarray
    heatmaps: np.ndarray
    target_weights: np.ndarray
