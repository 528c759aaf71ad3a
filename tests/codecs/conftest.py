"""Codec test fixtures: literal per-keypoint loop re-implementations used as references.

Each follows the published description step by step (Python loops, scalar maths), written for
these tests; the vectorised library code must agree with them. Tests get them through the
``reference_loops`` fixture (the suite runs with ``--import-mode=importlib``, so test modules
cannot import siblings).

Legend: ``N`` instances, ``K`` keypoints, heatmap size ``(W, H)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import SimpleNamespace

import cv2
import numpy as np
import pytest


def hrnet_generate_target(
    keypoints_heatmap: np.ndarray, visible: np.ndarray, heatmap_size: tuple[int, int], sigma: float
) -> tuple[np.ndarray, np.ndarray]:
    """SimpleBaseline/HRNet target for one instance, keypoints ``(K, 2)`` already in heatmap pixels."""
    width, height = heatmap_size
    num_keypoints = keypoints_heatmap.shape[0]
    target = np.zeros((num_keypoints, height, width), dtype=np.float32)
    weights = np.zeros(num_keypoints, dtype=np.float32)
    radius = sigma * 3
    for k in range(num_keypoints):
        if visible[k] < 0.5:
            continue
        mu_x = int(keypoints_heatmap[k, 0] + 0.5)
        mu_y = int(keypoints_heatmap[k, 1] + 0.5)
        left, top = int(mu_x - radius), int(mu_y - radius)
        right, bottom = int(mu_x + radius + 1), int(mu_y + radius + 1)
        if left >= width or top >= height or right < 0 or bottom < 0:
            continue
        weights[k] = visible[k]
        for y in range(max(0, top), min(height, bottom)):
            for x in range(max(0, left), min(width, right)):
                value = math.exp(-((x - mu_x) ** 2 + (y - mu_y) ** 2) / (2 * sigma**2))
                target[k, y, x] = max(target[k, y, x], value)
    return target, weights


def udp_generate_target(
    keypoints_heatmap: np.ndarray, visible: np.ndarray, heatmap_size: tuple[int, int], sigma: float
) -> tuple[np.ndarray, np.ndarray]:
    """UDP Gaussian target: window around the rounded keypoint, Gaussian at the exact keypoint."""
    width, height = heatmap_size
    num_keypoints = keypoints_heatmap.shape[0]
    target = np.zeros((num_keypoints, height, width), dtype=np.float32)
    weights = np.zeros(num_keypoints, dtype=np.float32)
    radius = sigma * 3
    for k in range(num_keypoints):
        if visible[k] < 0.5:
            continue
        mu_x = int(keypoints_heatmap[k, 0] + 0.5)
        mu_y = int(keypoints_heatmap[k, 1] + 0.5)
        left, top = int(mu_x - radius), int(mu_y - radius)
        right, bottom = int(mu_x + radius + 1), int(mu_y + radius + 1)
        if left >= width or top >= height or right < 0 or bottom < 0:
            continue
        weights[k] = visible[k]
        kx, ky = keypoints_heatmap[k]
        for y in range(max(0, top), min(height, bottom)):
            for x in range(max(0, left), min(width, right)):
                target[k, y, x] = math.exp(-((x - kx) ** 2 + (y - ky) ** 2) / (2 * sigma**2))
    return target, weights


def dark_generate_target(
    keypoints_heatmap: np.ndarray, visible: np.ndarray, heatmap_size: tuple[int, int], sigma: float
) -> tuple[np.ndarray, np.ndarray]:
    """DARK unbiased target: Gaussian at the exact keypoint over the whole map."""
    width, height = heatmap_size
    num_keypoints = keypoints_heatmap.shape[0]
    target = np.zeros((num_keypoints, height, width), dtype=np.float32)
    weights = np.zeros(num_keypoints, dtype=np.float32)
    radius = sigma * 3
    for k in range(num_keypoints):
        kx, ky = keypoints_heatmap[k]
        if visible[k] < 0.5:
            continue
        if kx - radius >= width or ky - radius >= height or kx + radius + 1 < 0 or ky + radius + 1 < 0:
            continue
        weights[k] = visible[k]
        for y in range(height):
            for x in range(width):
                target[k, y, x] = math.exp(-((x - kx) ** 2 + (y - ky) ** 2) / (2 * sigma**2))
    return target, weights


def hrnet_final_preds(batch_heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Argmax per map, then a quarter-pixel step towards the higher neighbour (HRNet ``get_final_preds``).

    ``batch_heatmaps (N, K, H, W)`` -> coordinates ``(N, K, 2)`` in heatmap pixels, maxima ``(N, K)``.
    Only maps with a positive maximum are used by the tests (HRNet zeroes the others, MMPose uses -1).
    """
    num_instances, num_keypoints, height, width = batch_heatmaps.shape
    coords = np.zeros((num_instances, num_keypoints, 2), dtype=np.float64)
    maxima = np.zeros((num_instances, num_keypoints), dtype=np.float64)
    for n in range(num_instances):
        for k in range(num_keypoints):
            heatmap = batch_heatmaps[n, k]
            best = -math.inf
            best_x = best_y = 0
            for y in range(height):
                for x in range(width):
                    if heatmap[y, x] > best:
                        best, best_x, best_y = heatmap[y, x], x, y
            maxima[n, k] = best
            px, py = best_x, best_y
            coords[n, k] = (px, py)
            if 1 < px < width - 1 and 1 < py < height - 1:
                diff_x = heatmap[py, px + 1] - heatmap[py, px - 1]
                diff_y = heatmap[py + 1, px] - heatmap[py - 1, px]
                coords[n, k, 0] += 0.25 * (diff_x > 0) - 0.25 * (diff_x < 0)
                coords[n, k, 1] += 0.25 * (diff_y > 0) - 0.25 * (diff_y < 0)
    return coords, maxima


def dark_modulate(heatmap: np.ndarray, kernel_size: int) -> np.ndarray:
    """DARK modulation of one ``(H, W)`` map: zero-pad, OpenCV blur, crop, restore the maximum."""
    border = (kernel_size - 1) // 2
    height, width = heatmap.shape
    padded = np.zeros((height + 2 * border, width + 2 * border), dtype=np.float32)
    padded[border:-border, border:-border] = heatmap
    blurred = cv2.GaussianBlur(padded, (kernel_size, kernel_size), 0)[border:-border, border:-border]
    return blurred * (heatmap.max() / blurred.max())


def dark_refine(locations: np.ndarray, heatmaps: np.ndarray, kernel_size: int) -> np.ndarray:
    """DARK Taylor refinement, one keypoint at a time; locations ``(K, 2)``, heatmaps ``(K, H, W)``."""
    refined = locations.astype(np.float64).copy()
    num_keypoints, height, width = heatmaps.shape
    for k in range(num_keypoints):
        log_map = np.log(np.maximum(dark_modulate(heatmaps[k], kernel_size), 1e-10))
        x, y = int(locations[k, 0]), int(locations[k, 1])
        if not (1 < x < width - 2 and 1 < y < height - 2):
            continue
        dx = 0.5 * (log_map[y, x + 1] - log_map[y, x - 1])
        dy = 0.5 * (log_map[y + 1, x] - log_map[y - 1, x])
        dxx = 0.25 * (log_map[y, x + 2] - 2 * log_map[y, x] + log_map[y, x - 2])
        dyy = 0.25 * (log_map[y + 2, x] - 2 * log_map[y, x] + log_map[y - 2, x])
        dxy = 0.25 * (log_map[y + 1, x + 1] - log_map[y - 1, x + 1] - log_map[y + 1, x - 1] + log_map[y - 1, x - 1])
        hessian = np.array([[dxx, dxy], [dxy, dyy]])
        if np.linalg.det(hessian) != 0:
            refined[k] -= np.linalg.inv(hessian) @ np.array([dx, dy])
    return refined


def udp_refine(locations: np.ndarray, heatmaps: np.ndarray, kernel_size: int) -> np.ndarray:
    """UDP's DARK variant, one keypoint at a time; locations ``(K, 2)``, heatmaps ``(K, H, W)``."""
    refined = locations.astype(np.float64).copy()
    num_keypoints = heatmaps.shape[0]
    eps = float(np.finfo(np.float32).eps)
    for k in range(num_keypoints):
        log_map = np.log(np.clip(dark_modulate(heatmaps[k], kernel_size), 1e-3, 50.0))
        padded = np.pad(log_map, 1, mode="edge")
        x, y = int(locations[k, 0]) + 1, int(locations[k, 1]) + 1
        centre = padded[y, x]
        dx = 0.5 * (padded[y, x + 1] - padded[y, x - 1])
        dy = 0.5 * (padded[y + 1, x] - padded[y - 1, x])
        dxx = padded[y, x + 1] - 2 * centre + padded[y, x - 1]
        dyy = padded[y + 1, x] - 2 * centre + padded[y - 1, x]
        dxy = 0.5 * (
            padded[y + 1, x + 1]
            - padded[y, x + 1]
            - padded[y + 1, x]
            + 2 * centre
            - padded[y, x - 1]
            - padded[y - 1, x]
            + padded[y - 1, x - 1]
        )
        hessian = np.array([[dxx, dxy], [dxy, dyy]]) + eps * np.eye(2)
        refined[k] -= np.linalg.inv(hessian) @ np.array([dx, dy])
    return refined


@pytest.fixture(scope="session")
def reference_loops() -> SimpleNamespace:
    """The loop references above, as attributes."""
    return SimpleNamespace(
        hrnet_generate_target=hrnet_generate_target,
        udp_generate_target=udp_generate_target,
        dark_generate_target=dark_generate_target,
        hrnet_final_preds=hrnet_final_preds,
        dark_modulate=dark_modulate,
        dark_refine=dark_refine,
        udp_refine=udp_refine,
    )


HEATMAP_SIZE = (48, 64)  # (W, H) of the random keypoints below


def _random_heatmap_keypoints(rng: np.random.Generator, count: int, margin: float = -8.0) -> np.ndarray:
    """(1, count, 2) keypoints in heatmap pixels, some beyond the borders by up to -margin."""
    width, height = HEATMAP_SIZE
    xs = rng.uniform(margin, width - 1 - margin, count)
    ys = rng.uniform(margin, height - 1 - margin, count)
    return np.stack([xs, ys], axis=-1)[None]


@pytest.fixture(scope="session")
def random_heatmap_keypoints() -> Callable[..., np.ndarray]:
    """``random_heatmap_keypoints(rng, count, margin=-8.0)``: ``(1, count, 2)`` keypoints on a ``(48, 64)`` map."""
    return _random_heatmap_keypoints
