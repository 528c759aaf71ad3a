"""Test-time flip: map predictions on a horizontally mirrored crop back to the original crop.

Legend: ``B`` batch, ``K`` keypoints, ``H``/``W`` heatmap height/width, crop width ``w``.
Pixel centres sit at integer coordinates (top-left pixel centre ``(0, 0)``), so mirroring maps
pixel ``x`` to ``w - 1 - x``. Every function takes numpy arrays or torch tensors (same kind out;
torch stays differentiable).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from posekit.geometry.array_api import ArrayT

__all__ = ["flip_coordinates", "flip_heatmaps"]


def _check_flip_indices(flip_indices: Sequence[int], num_keypoints: int) -> list[int]:
    indices = [int(i) for i in flip_indices]
    if sorted(indices) != list(range(num_keypoints)):
        raise ValueError(
            f"flip_indices must be a permutation of range({num_keypoints}) (one entry per heatmap channel), "
            f"got {tuple(flip_indices)}"
        )
    return indices


def flip_heatmaps(heatmaps: ArrayT, flip_indices: Sequence[int], shift_heatmap: bool = True) -> ArrayT:
    """Map heatmaps predicted on a horizontally flipped image back to the original image (HRNet flip test).

    Mirror the width axis, reorder channels so that channel ``k`` takes flipped channel
    ``flip_indices[k]`` (left/right swap), and, when ``shift_heatmap``, move every row one pixel to
    the right keeping column 0 (HRNet ``TEST.SHIFT_HEATMAP``: compensates the half-pixel bias of the
    ``input / heatmap`` stride; leave it off for UDP codecs, whose flip is exact).

    Args:
        heatmaps: ``(..., K, H, W)`` Gaussian heatmaps, numpy or torch (differentiable).
        flip_indices: permutation of ``range(K)``, e.g. ``Skeleton.flip_indices``.
        shift_heatmap: apply the one-pixel shift.

    Returns:
        flipped heatmaps ``(..., K, H, W)`` of the input's kind (a new array).
    """
    if isinstance(heatmaps, torch.Tensor):
        if heatmaps.dim() < 3:
            raise ValueError(f"heatmaps must have shape (..., K, H, W), got {tuple(heatmaps.shape)}")
        index = torch.as_tensor(
            _check_flip_indices(flip_indices, heatmaps.shape[-3]), dtype=torch.long, device=heatmaps.device
        )
        flipped_tensor = heatmaps.index_select(-3, index).flip(-1)
        if shift_heatmap:
            flipped_tensor = torch.cat([flipped_tensor[..., :1], flipped_tensor[..., :-1]], dim=-1)
        return flipped_tensor
    array = np.asarray(heatmaps)
    if array.ndim < 3:
        raise ValueError(f"heatmaps must have shape (..., K, H, W), got {tuple(array.shape)}")
    indices = _check_flip_indices(flip_indices, array.shape[-3])
    flipped = array[..., indices, :, ::-1].copy()
    if shift_heatmap:
        flipped[..., 1:] = flipped[..., :-1].copy()
    return flipped


def flip_coordinates(coordinates: ArrayT, flip_indices: Sequence[int], input_width: int) -> ArrayT:
    """Normalised coordinates predicted on a mirrored crop, mapped to the original crop.

    Mirrored input pixel ``x_f = w - 1 - x`` (pixel centres at integers), so
    ``x / w = (w - 1) / w - x_f / w``; left and right joints swap (``flip_indices``).

    Args:
        coordinates: ``(B, K, 2)`` normalised ``(x / w, y / h)`` on the mirrored crop, numpy or torch.
        flip_indices: permutation of ``range(K)`` (``Skeleton.flip_indices``).
        input_width: ``w`` in pixels.

    Returns:
        ``(B, K, 2)`` normalised coordinates on the original crop, of the input's kind (a new array).
    """
    if coordinates.ndim != 3 or coordinates.shape[-1] != 2:
        raise ValueError(f"coordinates must have shape (B, K, 2), got {tuple(coordinates.shape)}")
    if sorted(flip_indices) != list(range(coordinates.shape[1])):
        raise ValueError(
            f"flip_indices must be a permutation of range({coordinates.shape[1]}), got {list(flip_indices)}"
        )
    if isinstance(coordinates, torch.Tensor):
        index = torch.as_tensor(list(flip_indices), dtype=torch.long, device=coordinates.device)
        flipped_tensor = coordinates.index_select(1, index).clone()
        flipped_tensor[..., 0] = (input_width - 1) / input_width - flipped_tensor[..., 0]
        return flipped_tensor
    flipped = coordinates[:, list(flip_indices)].copy()
    flipped[..., 0] = (input_width - 1) / input_width - flipped[..., 0]
    return flipped
