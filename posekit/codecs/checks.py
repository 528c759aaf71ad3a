"""Argument checks shared by the codecs: sizes ``(w, h)``, keypoints ``(N, K, 2)``, visibility ``(N, K)``, heatmaps.

Legend: ``N`` instances, ``K`` keypoints, ``H``/``W`` heatmap height/width. Each check raises
``ValueError`` naming the argument, what it received and what was expected.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["check_heatmaps", "check_keypoints", "check_size", "check_visible"]


def check_size(name: str, size: Sequence[int], minimum: int = 1) -> tuple[int, int]:
    """Check a ``(w, h)`` size and return it as a tuple of two ints.

    Raises:
        ValueError: when ``size`` is not two integers ``>= minimum``.
    """
    try:
        values = tuple(size)
    except TypeError:
        raise ValueError(f"{name} must be a (w, h) pair of integers, got {size!r}") from None
    if len(values) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        raise ValueError(f"{name} must be a (w, h) pair of integers, got {size!r}")
    width, height = int(values[0]), int(values[1])
    if width < minimum or height < minimum:
        raise ValueError(f"{name} must be at least ({minimum}, {minimum}), got ({width}, {height})")
    return width, height


def check_keypoints(keypoints: np.ndarray, name: str = "keypoints") -> np.ndarray:
    """Check ``keypoints (N, K, 2)`` and return them as float64.

    Raises:
        ValueError: when the shape is not ``(N, K, 2)``.
    """
    array = np.asarray(keypoints, dtype=np.float64)
    if array.ndim != 3 or array.shape[-1] != 2:
        raise ValueError(f"{name} must have shape (N, K, 2), got {tuple(array.shape)}")
    return array


def check_visible(visible: np.ndarray | None, shape: tuple[int, int], name: str = "visible") -> np.ndarray:
    """Check ``visible (N, K)`` (bool or float weights) and return float32; ``None`` means all visible.

    Raises:
        ValueError: when the shape is not ``shape``.
    """
    if visible is None:
        return np.ones(shape, dtype=np.float32)
    array = np.asarray(visible, dtype=np.float32)
    if array.shape != tuple(shape):
        raise ValueError(f"{name} must have shape (N, K) = {tuple(shape)}, got {tuple(array.shape)}")
    return array


def check_heatmaps(
    heatmaps: np.ndarray | torch.Tensor,
    heatmap_size: tuple[int, int] | None = None,
    name: str = "heatmaps",
    channels_per_keypoint: int = 1,
) -> tuple[int, int, int, int]:
    """Check heatmaps of shape ``(K, H, W)`` or ``(N, K, H, W)`` and return ``(N, K, H, W)``.

    Args:
        heatmaps: numpy array or torch tensor.
        heatmap_size: expected ``(W, H)``, or ``None`` to accept any.
        name: argument name for the error message.
        channels_per_keypoint: the channel count must be a multiple of this (3 for UDP "combined").

    Raises:
        ValueError: on any other shape.
    """
    shape = tuple(heatmaps.shape)
    if len(shape) not in (3, 4):
        raise ValueError(f"{name} must have shape (K, H, W) or (N, K, H, W), got {shape}")
    num_instances = 1 if len(shape) == 3 else shape[0]
    channels, height, width = shape[-3:]
    if heatmap_size is not None and (width, height) != tuple(heatmap_size):
        expected_w, expected_h = heatmap_size
        raise ValueError(f"{name} must have spatial size (H, W) = ({expected_h}, {expected_w}), got {shape}")
    if channels_per_keypoint > 1 and channels % channels_per_keypoint != 0:
        raise ValueError(f"{name} must have a multiple of {channels_per_keypoint} channels, got {shape}")
    return num_instances, channels, height, width
