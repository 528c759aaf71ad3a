"""Gaussian heatmap targets: MSRA (SimpleBaseline/HRNet), UDP and DARK flavours, and instance merging.

Legend: ``N`` instances, ``K`` keypoints, ``H``/``W`` heatmap height/width. Sizes are ``(w, h)``.

Pixel-centre convention: pixel centres sit at integer coordinates and the centre of the top-left
pixel is ``(0, 0)``; a heatmap pixel ``(x, y)`` is column ``x``, row ``y`` of a ``(..., H, W)`` array.
Everything here works in *heatmap* pixels; the codecs convert to and from *input* pixels.

Vectorised over instances and keypoints; the results match the per-keypoint loops of the
reference implementations (MMPose 1.x ``mmpose/codecs/utils/gaussian_heatmap.py``, HRNet
``lib/dataset/JointsDataset.py``) except where a docstring says otherwise.
"""

from __future__ import annotations

import numpy as np

from posekit.codecs.checks import check_keypoints, check_size, check_visible

__all__ = ["generate_gaussian_heatmaps", "merge_instance_heatmaps"]


def generate_gaussian_heatmaps(
    heatmap_size: tuple[int, int],
    keypoints: np.ndarray,
    visible: np.ndarray,
    sigma: float,
    *,
    subpixel_centre: bool = False,
    truncate: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one unnormalised Gaussian (peak 1) per keypoint, radius ``3 * sigma``.

    Three flavours, chosen by the two flags:

    * ``subpixel_centre=False, truncate=True`` — SimpleBaseline/HRNet ``generate_target`` and MMPose
      ``generate_gaussian_heatmaps``: the mean is the rounded keypoint ``mu = floor(x + 0.5)``, the
      Gaussian is drawn on the window ``[floor(mu - r), floor(mu + r + 1))`` per axis, ``r = 3 sigma``.
    * ``subpixel_centre=True, truncate=True`` — UDP (Huang et al. 2020, MMPose
      ``generate_udp_gaussian_heatmaps``): same window, but the mean is the exact keypoint.
    * ``subpixel_centre=True, truncate=False`` — DARK (Zhang et al. 2020, Sec. 3.2, MMPose
      ``generate_unbiased_gaussian_heatmaps``): the exact mean on the whole map.

    A keypoint gets a Gaussian and keeps its weight when ``visible >= 0.5`` and its window overlaps
    the map; otherwise its map stays zero and its weight is 0. For the truncated flavours the
    overlap test is exact ("no pixel of the window lies in the map"); the references truncate
    ``int()`` toward zero and test ``right < 0``, which differs only for keypoints left of/above
    the map by more than the radius (they kept weight 1 with an empty map). For the untruncated
    DARK flavour the test is MMPose's: ``x - r >= W`` or ``x + r + 1 < 0`` (per axis) drops it.

    Args:
        heatmap_size: ``(W, H)``.
        keypoints: ``(N, K, 2)`` in heatmap pixels; non-finite values count as not visible.
        visible: ``(N, K)`` visibility or weight; values ``>= 0.5`` are drawn.
        sigma: Gaussian standard deviation in heatmap pixels.
        subpixel_centre: centre the Gaussian on the exact keypoint instead of the rounded one.
        truncate: draw only inside the ``3 sigma`` window (else over the whole map).

    Returns:
        heatmaps ``(N, K, H, W)`` float32 and target weights ``(N, K)`` float32 (the visible value
        where drawn, else 0).
    """
    width, height = check_size("heatmap_size", heatmap_size)
    points = check_keypoints(keypoints)
    weights_in = check_visible(visible, points.shape[:2])
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    finite = np.isfinite(points).all(axis=-1)  # (N, K)
    points = np.where(finite[..., None], points, 0.0)
    size = np.array([width, height], dtype=np.float64)
    radius = 3.0 * sigma

    if truncate:
        rounded = np.floor(points + 0.5)  # (N, K, 2), integer-valued
        lower = np.floor(rounded - radius)  # first pixel of the window (inclusive)
        upper = np.floor(rounded + radius + 1)  # end of the window (exclusive)
        inside = ((lower < size) & (upper > 0)).all(axis=-1)  # (N, K)
        mean = points if subpixel_centre else rounded
    else:
        mean = points
        inside = ((points - radius < size) & (points + radius + 1 >= 0)).all(axis=-1)

    drawn = finite & (weights_in >= 0.5) & inside  # (N, K)
    grid_x = np.arange(width, dtype=np.float64)  # (W,)
    grid_y = np.arange(height, dtype=np.float64)  # (H,)
    scale = 1.0 / (2.0 * sigma * sigma)
    # The 2D Gaussian is separable: exp(-(dx^2 + dy^2) s) = exp(-dx^2 s) exp(-dy^2 s).
    gauss_x = np.exp(-((grid_x - mean[..., 0:1]) ** 2) * scale)  # (N, K, W)
    gauss_y = np.exp(-((grid_y - mean[..., 1:2]) ** 2) * scale)  # (N, K, H)
    if truncate:
        gauss_x = np.where((grid_x >= lower[..., 0:1]) & (grid_x < upper[..., 0:1]), gauss_x, 0.0)
        gauss_y = np.where((grid_y >= lower[..., 1:2]) & (grid_y < upper[..., 1:2]), gauss_y, 0.0)
    gauss_x = gauss_x.astype(np.float32)
    gauss_y = np.where(drawn[..., None], gauss_y, 0.0).astype(np.float32)
    heatmaps = gauss_y[..., :, None] * gauss_x[..., None, :]  # (N, K, H, 1) * (N, K, 1, W) -> (N, K, H, W)
    target_weights = np.where(drawn, weights_in, 0.0).astype(np.float32)
    return heatmaps, target_weights


def merge_instance_heatmaps(heatmaps: np.ndarray) -> np.ndarray:
    """Merge per-instance maps ``(N, C, H, W)`` into ``(C, H, W)`` by pixel-wise maximum (zeros if ``N = 0``)."""
    if heatmaps.ndim != 4:
        raise ValueError(f"heatmaps must have shape (N, C, H, W), got {tuple(heatmaps.shape)}")
    if heatmaps.shape[0] == 0:
        return np.zeros(heatmaps.shape[1:], dtype=heatmaps.dtype)
    return heatmaps.max(axis=0)
