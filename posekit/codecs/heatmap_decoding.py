"""Heatmap decoding: maxima, quarter-offset refinement, Gaussian modulation (blur), DARK and UDP refinement.

Legend: ``N`` instances, ``K`` keypoints, ``H``/``W`` heatmap height/width, ``B`` batch.

Pixel-centre convention: pixel centres sit at integer coordinates and the centre of the top-left
pixel is ``(0, 0)``; a heatmap pixel ``(x, y)`` is column ``x``, row ``y`` of a ``(..., H, W)`` array.
Every function here works in *heatmap* pixels; the codecs convert to and from *input* pixels.

Every public function takes numpy arrays or torch tensors and returns the same kind. The two
paths differ where the references do (numpy: OpenCV's blur and float32 results as MMPose; torch:
convolutions in the maps' dtype, differentiable), so each function dispatches to one of two
private implementations. The numpy paths are vectorised over instances and keypoints (no Python
loop per keypoint); their results match the per-keypoint loops of the reference implementations
(MMPose 1.x ``mmpose/codecs/utils``, HRNet ``lib/core/inference.py``) except where a docstring
says otherwise.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from posekit.geometry import array_api as xp
from posekit.geometry.array_api import ArrayT

__all__ = [
    "blur_heatmaps",
    "gather_heatmap_values",
    "gaussian_kernel_1d",
    "get_heatmap_maximum",
    "refine_keypoints_dark",
    "refine_keypoints_dark_udp",
    "refine_keypoints_quarter_offset",
]


# ----------------------------------------------------------------------------------------------
# maxima
# ----------------------------------------------------------------------------------------------


def _get_heatmap_maximum_numpy(heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """numpy path of :func:`get_heatmap_maximum`."""
    array = np.asarray(heatmaps)
    if array.ndim < 2:
        raise ValueError(f"heatmaps must have shape (..., H, W), got {tuple(array.shape)}")
    height, width = array.shape[-2:]
    flat = array.reshape(*array.shape[:-2], height * width)  # (..., H, W) -> (..., H*W)
    index = np.argmax(flat, axis=-1)  # (...)
    values = np.take_along_axis(flat, index[..., None], axis=-1)[..., 0].astype(np.float32)
    locations = np.stack([index % width, index // width], axis=-1).astype(np.float32)  # (..., 2)
    locations[values <= 0] = -1.0
    return locations, values


def _get_heatmap_maximum_torch(heatmaps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """torch path of :func:`get_heatmap_maximum`."""
    if heatmaps.dim() < 2:
        raise ValueError(f"heatmaps must have shape (..., H, W), got {tuple(heatmaps.shape)}")
    height, width = heatmaps.shape[-2:]
    flat = heatmaps.reshape(*heatmaps.shape[:-2], height * width)  # (..., H, W) -> (..., H*W)
    values, index = flat.max(dim=-1)
    locations = torch.stack([index % width, torch.div(index, width, rounding_mode="floor")], dim=-1)
    locations = locations.to(heatmaps.dtype if heatmaps.is_floating_point() else torch.float32)
    locations = torch.where((values <= 0)[..., None], torch.full_like(locations, -1.0), locations)
    return locations, values


def get_heatmap_maximum(heatmaps: ArrayT) -> tuple[ArrayT, ArrayT]:
    """Location and value of the maximum of every map (first one in row-major order on ties).

    Takes numpy arrays or torch tensors (same kind out). torch: locations in the maps' floating dtype (float32 for
    integer maps) and values in the maps' dtype.

    Args:
        heatmaps: ``(..., H, W)``, e.g. ``(K, H, W)`` or ``(N, K, H, W)``.

    Returns:
        locations ``(..., 2)`` float32 as ``(x, y)`` heatmap pixels, ``-1`` where the maximum is
        ``<= 0`` (as MMPose ``get_heatmap_maximum``); values ``(...)`` float32.
    """
    if isinstance(heatmaps, torch.Tensor):
        return _get_heatmap_maximum_torch(heatmaps)
    return _get_heatmap_maximum_numpy(heatmaps)


def _gather_heatmap_values_numpy(maps: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """numpy path of :func:`gather_heatmap_values`."""
    width = maps.shape[-1]
    flat = maps.reshape(*maps.shape[:-2], -1)  # (..., H, W) -> (..., H*W)
    return np.take_along_axis(flat, (ys * width + xs)[..., None], axis=-1)[..., 0]


def _gather_heatmap_values_torch(maps: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
    """torch path of :func:`gather_heatmap_values`."""
    width = maps.shape[-1]
    flat = maps.reshape(*maps.shape[:-2], -1)  # (..., H, W) -> (..., H*W)
    return torch.gather(flat, -1, (ys * width + xs)[..., None])[..., 0]


def gather_heatmap_values(maps: ArrayT, ys: Any, xs: Any) -> ArrayT:
    """Read one value per map: maps ``(..., H, W)``, integer in-range ``ys``/``xs`` ``(...)`` -> ``(...)``.

    Takes numpy arrays or torch tensors (same kind out); ``ys``/``xs`` are integer arrays of the kind of ``maps``.
    """
    if isinstance(maps, torch.Tensor):
        return _gather_heatmap_values_torch(maps, ys, xs)
    return _gather_heatmap_values_numpy(maps, ys, xs)


# ----------------------------------------------------------------------------------------------
# refinement: quarter offset (SimpleBaseline / HRNet)
# ----------------------------------------------------------------------------------------------


def _refine_keypoints_quarter_offset_numpy(locations: np.ndarray, heatmaps: np.ndarray) -> np.ndarray:
    """numpy path of :func:`refine_keypoints_quarter_offset`."""
    maps = np.asarray(heatmaps)
    height, width = maps.shape[-2:]
    px = np.floor(locations[..., 0] + 0.5).astype(np.int64)
    py = np.floor(locations[..., 1] + 0.5).astype(np.int64)
    valid = (px > 1) & (px < width - 1) & (py > 1) & (py < height - 1)
    if width < 3 or height < 3:  # no location can satisfy the bounds above
        return np.asarray(locations, dtype=np.float32).copy()
    xs = np.clip(px, 1, width - 2)
    ys = np.clip(py, 1, height - 2)
    diff_x = _gather_heatmap_values_numpy(maps, ys, xs + 1).astype(np.float64) - _gather_heatmap_values_numpy(
        maps, ys, xs - 1
    )
    diff_y = _gather_heatmap_values_numpy(maps, ys + 1, xs).astype(np.float64) - _gather_heatmap_values_numpy(
        maps, ys - 1, xs
    )
    offset = np.stack([np.sign(diff_x), np.sign(diff_y)], axis=-1) * 0.25  # (..., K, 2)
    return (locations + np.where(valid[..., None], offset, 0.0)).astype(np.float32)


def _refine_keypoints_quarter_offset_torch(locations: torch.Tensor, heatmaps: torch.Tensor) -> torch.Tensor:
    """torch path of :func:`refine_keypoints_quarter_offset`."""
    height, width = heatmaps.shape[-2:]
    px = torch.floor(locations[..., 0] + 0.5).long()
    py = torch.floor(locations[..., 1] + 0.5).long()
    valid = (px > 1) & (px < width - 1) & (py > 1) & (py < height - 1)
    if width < 3 or height < 3:  # no location can satisfy the bounds above
        return locations.clone()
    xs = px.clamp(1, width - 2)
    ys = py.clamp(1, height - 2)
    diff_x = _gather_heatmap_values_torch(heatmaps, ys, xs + 1) - _gather_heatmap_values_torch(heatmaps, ys, xs - 1)
    diff_y = _gather_heatmap_values_torch(heatmaps, ys + 1, xs) - _gather_heatmap_values_torch(heatmaps, ys - 1, xs)
    offset = torch.stack([torch.sign(diff_x), torch.sign(diff_y)], dim=-1).to(locations.dtype) * 0.25
    return locations + torch.where(valid[..., None], offset, torch.zeros_like(offset))


def refine_keypoints_quarter_offset(locations: ArrayT, heatmaps: ArrayT) -> ArrayT:
    """Move each integer maximum a quarter pixel towards its higher neighbour, per axis.

    Takes numpy arrays or torch tensors (same kind out). torch: the result keeps the dtype of ``locations``.

    This is HRNet ``get_final_preds`` post-processing: a location ``(px, py)`` is refined only
    when ``1 < px < W - 1`` and ``1 < py < H - 1``; then ``x += 0.25 sign(h[py, px+1] - h[py, px-1])``
    and ``y += 0.25 sign(h[py+1, px] - h[py-1, px])``. (MMPose ``refine_keypoints`` tests the two
    axes separately; we follow HRNet, whose numbers the SimpleBaseline/HRNet papers report.)

    Args:
        locations: ``(..., K, 2)`` integer-valued maxima in heatmap pixels (``-1`` = none).
        heatmaps: ``(..., K, H, W)`` the maps the maxima came from.

    Returns:
        refined locations ``(..., K, 2)`` float32 (a new array).
    """
    if isinstance(heatmaps, torch.Tensor):
        return _refine_keypoints_quarter_offset_torch(locations, heatmaps)
    return _refine_keypoints_quarter_offset_numpy(locations, heatmaps)


# ----------------------------------------------------------------------------------------------
# Gaussian modulation (blur)
# ----------------------------------------------------------------------------------------------


def gaussian_kernel_1d(kernel_size: int) -> np.ndarray:
    """OpenCV's Gaussian kernel for ``GaussianBlur(ksize, sigma=0)``: ``(kernel_size,)`` float64, sum 1.

    ``sigma = 0.3 ((kernel_size - 1) / 2 - 1) + 0.8`` (11 -> 2.0, 17 -> 3.2), as DARK's modulation.
    """
    if kernel_size < 1 or kernel_size % 2 != 1:
        raise ValueError(f"blur_kernel_size must be a positive odd integer, got {kernel_size}")
    return cv2.getGaussianKernel(kernel_size, 0, ktype=cv2.CV_64F)[:, 0]


def _blur_heatmaps_numpy(
    heatmaps: np.ndarray, kernel_size: int, *, border: str = "constant", keep_maximum: bool = True
) -> np.ndarray:
    """numpy path of :func:`blur_heatmaps`."""
    if border not in ("constant", "reflect"):
        raise ValueError(f"border must be 'constant' or 'reflect', got {border!r}")
    maps = np.asarray(heatmaps)
    if maps.ndim < 2:
        raise ValueError(f"heatmaps must have shape (..., H, W), got {tuple(maps.shape)}")
    dtype = np.float64 if maps.dtype == np.float64 else np.float32
    maps = maps.astype(dtype, copy=False)
    kernel = gaussian_kernel_1d(kernel_size)  # float64; OpenCV converts it to the image depth
    height, width = maps.shape[-2:]
    flat = maps.reshape(-1, height, width)  # (..., H, W) -> (M, H, W)
    count = flat.shape[0]
    if border == "constant" and count > 0:
        # One OpenCV call for all maps: stack them vertically with `radius` zero rows after each, so
        # no map's blur reaches another; the zero rows and the constant border are the zero padding.
        radius = kernel_size // 2
        tiled = np.zeros((count, height + radius, width), dtype=dtype)
        tiled[:, :height] = flat
        # (M, H + r, W) -> (M * (H + r), W), one tall image
        tall = cv2.sepFilter2D(
            tiled.reshape(count * (height + radius), width), -1, kernel, kernel, borderType=cv2.BORDER_CONSTANT
        )
        blurred = tall.reshape(count, height + radius, width)[:, :height]  # (M * (H + r), W) -> (M, H, W)
    else:
        blurred = np.empty_like(flat)
        for index, heatmap in enumerate(flat):
            blurred[index] = cv2.sepFilter2D(heatmap, -1, kernel, kernel, borderType=cv2.BORDER_REFLECT_101)
    blurred = blurred.reshape(maps.shape)  # (M, H, W) -> (..., H, W)
    if keep_maximum:
        blurred = blurred * _maximum_ratio(maps, blurred)[..., None, None].astype(dtype)
    return blurred


def _maximum_ratio(maps: np.ndarray, blurred: np.ndarray) -> np.ndarray:
    """Per-map ``max(maps) / max(blurred)`` as float64 ``(...)``; 1 where the blurred maximum is 0."""
    original_max = maps.max(axis=(-2, -1)).astype(np.float64)
    blurred_max = blurred.max(axis=(-2, -1)).astype(np.float64)
    return np.divide(original_max, blurred_max, out=np.ones_like(blurred_max), where=blurred_max != 0)


def _blur_heatmaps_torch(
    heatmaps: torch.Tensor, kernel_size: int, *, border: str = "constant", keep_maximum: bool = True
) -> torch.Tensor:
    """torch path of :func:`blur_heatmaps`."""
    if border not in ("constant", "reflect"):
        raise ValueError(f"border must be 'constant' or 'reflect', got {border!r}")
    kernel = torch.as_tensor(gaussian_kernel_1d(kernel_size), dtype=heatmaps.dtype, device=heatmaps.device)
    radius = kernel_size // 2
    shape = heatmaps.shape
    height, width = shape[-2:]
    maps = heatmaps.reshape(-1, 1, height, width)  # (..., H, W) -> (M, 1, H, W)
    mode = "constant" if border == "constant" else "reflect"
    padded = F.pad(maps, (radius, radius, radius, radius), mode=mode)
    blurred = F.conv2d(padded, kernel.view(1, 1, 1, -1))
    blurred = F.conv2d(blurred, kernel.view(1, 1, -1, 1)).reshape(shape)  # (M, 1, H, W) -> (..., H, W)
    if keep_maximum:
        original_max = heatmaps.amax(dim=(-2, -1), keepdim=True)
        blurred_max = blurred.amax(dim=(-2, -1), keepdim=True)
        safe = torch.where(blurred_max != 0, blurred_max, torch.ones_like(blurred_max))
        blurred = blurred * torch.where(blurred_max != 0, original_max / safe, torch.ones_like(blurred_max))
    return blurred


def blur_heatmaps(heatmaps: ArrayT, kernel_size: int, *, border: str = "constant", keep_maximum: bool = True) -> ArrayT:
    """Gaussian modulation of heatmaps (DARK, Zhang et al. 2020, Sec. 3.3 "distribution modulation").

    Takes numpy arrays or torch tensors (same kind out). torch: zero ("constant") or reflection padding and two 1D
    convolutions in the maps' dtype (same shape and dtype out).

    With ``border="constant", keep_maximum=True`` this equals MMPose ``gaussian_blur``: zero padding
    (the reference pads each map with zeros and blurs with OpenCV), then each map is rescaled so
    that its maximum equals the original maximum. ``border="reflect"`` is OpenCV's default border
    (``BORDER_REFLECT_101``). Maps whose blurred maximum is 0 are left unscaled (the reference
    divides by zero there).

    Args:
        heatmaps: ``(..., H, W)``.
        kernel_size: odd kernel size; the OpenCV sigma rule applies (see :func:`gaussian_kernel_1d`).
        border: ``"constant"`` (zeros) or ``"reflect"``.
        keep_maximum: rescale each blurred map to the original maximum.

    Returns:
        blurred maps ``(..., H, W)``, float64 for float64 input, else float32 (as OpenCV in the reference).
    """
    if isinstance(heatmaps, torch.Tensor):
        return _blur_heatmaps_torch(heatmaps, kernel_size, border=border, keep_maximum=keep_maximum)
    return _blur_heatmaps_numpy(heatmaps, kernel_size, border=border, keep_maximum=keep_maximum)


# ----------------------------------------------------------------------------------------------
# refinement: DARK and UDP (Taylor expansion of the log heatmap)
# ----------------------------------------------------------------------------------------------


def _newton_offset(
    grad_x: ArrayT, grad_y: ArrayT, hess_xx: ArrayT, hess_yy: ArrayT, hess_xy: ArrayT, valid: ArrayT
) -> ArrayT:
    """One Newton step on the log-heatmap (DARK, Zhang et al., CVPR 2020, Eq. 5): ``-H^-1 g``; numpy or torch.

    ``H^-1 = [[yy, -xy], [-xy, xx]] / det``; the offset is 0 where ``valid`` is False or ``H`` is singular.

    Returns:
        ``(..., 2)`` offsets ``(dx, dy)`` in heatmap pixels, in the dtype of the derivatives.
    """
    det = hess_xx * hess_yy - hess_xy**2
    ok = valid & (det != 0)
    safe_det = xp.where(ok, det, xp.ones_like(det))
    offset_x = -(hess_yy * grad_x - hess_xy * grad_y) / safe_det
    offset_y = -(hess_xx * grad_y - hess_xy * grad_x) / safe_det
    offset = xp.stack([offset_x, offset_y], axis=-1)
    return xp.where(ok[..., None], offset, xp.zeros_like(offset))


def _refine_keypoints_dark_numpy(locations: np.ndarray, heatmaps: np.ndarray, blur_kernel_size: int) -> np.ndarray:
    """numpy path of :func:`refine_keypoints_dark`."""
    maps = np.asarray(heatmaps)
    height, width = maps.shape[-2:]
    # modulate, but rescale and take the log only at the 13 samples each keypoint needs
    blurred = _blur_heatmaps_numpy(maps, blur_kernel_size, keep_maximum=False)
    ratio = _maximum_ratio(maps, blurred)  # (..., K)
    px = np.trunc(locations[..., 0]).astype(np.int64)
    py = np.trunc(locations[..., 1]).astype(np.int64)
    valid = (px > 1) & (px < width - 2) & (py > 1) & (py < height - 2)
    if width < 5 or height < 5:  # no location can satisfy the bounds above
        return np.asarray(locations, dtype=np.float32).copy()
    xs = np.clip(px, 2, width - 3)
    ys = np.clip(py, 2, height - 3)

    def at(dy: int, dx: int) -> np.ndarray:
        return np.log(np.maximum(_gather_heatmap_values_numpy(blurred, ys + dy, xs + dx) * ratio, 1e-10))

    centre = at(0, 0)
    grad_x = 0.5 * (at(0, 1) - at(0, -1))
    grad_y = 0.5 * (at(1, 0) - at(-1, 0))
    hess_xx = 0.25 * (at(0, 2) - 2 * centre + at(0, -2))
    hess_yy = 0.25 * (at(2, 0) - 2 * centre + at(-2, 0))
    hess_xy = 0.25 * (at(1, 1) - at(-1, 1) - at(1, -1) + at(-1, -1))
    offset = _newton_offset(grad_x, grad_y, hess_xx, hess_yy, hess_xy, valid)
    return (locations + offset).astype(np.float32)


def _refine_keypoints_dark_torch(
    locations: torch.Tensor, heatmaps: torch.Tensor, blur_kernel_size: int
) -> torch.Tensor:
    """torch path of :func:`refine_keypoints_dark`."""
    height, width = heatmaps.shape[-2:]
    if width < 5 or height < 5:
        return locations.clone()
    log_maps = torch.log(torch.clamp(_blur_heatmaps_torch(heatmaps, blur_kernel_size), min=1e-10))
    px = torch.trunc(locations[..., 0]).long()
    py = torch.trunc(locations[..., 1]).long()
    valid = (px > 1) & (px < width - 2) & (py > 1) & (py < height - 2)
    xs = px.clamp(2, width - 3)
    ys = py.clamp(2, height - 3)

    def at(dy: int, dx: int) -> torch.Tensor:
        return _gather_heatmap_values_torch(log_maps, ys + dy, xs + dx)

    centre = at(0, 0)
    grad_x = 0.5 * (at(0, 1) - at(0, -1))
    grad_y = 0.5 * (at(1, 0) - at(-1, 0))
    hess_xx = 0.25 * (at(0, 2) - 2 * centre + at(0, -2))
    hess_yy = 0.25 * (at(2, 0) - 2 * centre + at(-2, 0))
    hess_xy = 0.25 * (at(1, 1) - at(-1, 1) - at(1, -1) + at(-1, -1))
    offset = _newton_offset(grad_x, grad_y, hess_xx, hess_yy, hess_xy, valid)
    return locations + offset.to(locations.dtype)


def refine_keypoints_dark(locations: ArrayT, heatmaps: ArrayT, blur_kernel_size: int) -> ArrayT:
    """DARK sub-pixel refinement (Zhang et al. 2020, "Distribution-Aware Coordinate Representation").

    Takes numpy arrays or torch tensors (same kind out). torch: computed in the maps' dtype on the whole blurred log
    maps.

    Modulate the maps (:func:`blur_heatmaps`), take ``log(max(., 1e-10))``, and move each maximum
    by one Newton step ``-H^-1 g`` of the log map's second-order Taylor expansion (Eq. 5-6), with
    central first derivatives and step-2 second derivatives as MMPose ``refine_keypoints_dark``.
    Only maxima with ``1 < x < W - 2`` and ``1 < y < H - 2`` and a non-singular Hessian move.

    Args:
        locations: ``(..., K, 2)`` integer-valued maxima in heatmap pixels (``-1`` = none).
        heatmaps: ``(..., K, H, W)``.
        blur_kernel_size: modulation kernel size (11 for sigma 2, 17 for sigma 3).

    Returns:
        refined locations ``(..., K, 2)`` float32.
    """
    if isinstance(heatmaps, torch.Tensor):
        return _refine_keypoints_dark_torch(locations, heatmaps, blur_kernel_size)
    return _refine_keypoints_dark_numpy(locations, heatmaps, blur_kernel_size)


_FLOAT32_EPS = float(np.finfo(np.float32).eps)


def _refine_keypoints_dark_udp_numpy(locations: np.ndarray, heatmaps: np.ndarray, blur_kernel_size: int) -> np.ndarray:
    """numpy path of :func:`refine_keypoints_dark_udp`."""
    maps = np.asarray(heatmaps)
    height, width = maps.shape[-2:]
    # modulate, but rescale, clip and take the log only at the 9 samples each keypoint needs
    blurred = _blur_heatmaps_numpy(maps, blur_kernel_size, keep_maximum=False)
    ratio = _maximum_ratio(maps, blurred)  # (..., K)
    px = np.trunc(locations[..., 0]).astype(np.int64)
    py = np.trunc(locations[..., 1]).astype(np.int64)
    valid = (px >= 0) & (px < width) & (py >= 0) & (py < height)
    xs = np.clip(px, 0, width - 1)
    ys = np.clip(py, 0, height - 1)

    def at(dy: int, dx: int) -> np.ndarray:
        # clamping the sample position = the reference's one-pixel edge padding
        sample_y = np.clip(ys + dy, 0, height - 1)
        sample_x = np.clip(xs + dx, 0, width - 1)
        return np.log(np.clip(_gather_heatmap_values_numpy(blurred, sample_y, sample_x) * ratio, 1e-3, 50.0))

    centre = at(0, 0)
    right, left, down, up = at(0, 1), at(0, -1), at(1, 0), at(-1, 0)
    grad_x = 0.5 * (right - left)
    grad_y = 0.5 * (down - up)
    hess_xx = right - 2 * centre + left + _FLOAT32_EPS
    hess_yy = down - 2 * centre + up + _FLOAT32_EPS
    hess_xy = 0.5 * (at(1, 1) - right - down + 2 * centre - left - up + at(-1, -1))
    offset = _newton_offset(grad_x, grad_y, hess_xx, hess_yy, hess_xy, valid)
    return (locations + offset).astype(np.float32)


def _refine_keypoints_dark_udp_torch(
    locations: torch.Tensor, heatmaps: torch.Tensor, blur_kernel_size: int
) -> torch.Tensor:
    """torch path of :func:`refine_keypoints_dark_udp`."""
    log_maps = torch.log(torch.clamp(_blur_heatmaps_torch(heatmaps, blur_kernel_size), 1e-3, 50.0))
    shape = log_maps.shape
    height, width = shape[-2:]
    padded = F.pad(log_maps.reshape(-1, 1, height, width), (1, 1, 1, 1), mode="replicate")
    padded = padded.reshape(*shape[:-2], height + 2, width + 2)  # (M, 1, H+2, W+2) -> (..., H+2, W+2)
    px = torch.trunc(locations[..., 0]).long()
    py = torch.trunc(locations[..., 1]).long()
    valid = (px >= 0) & (px < width) & (py >= 0) & (py < height)
    xs = px.clamp(0, width - 1) + 1
    ys = py.clamp(0, height - 1) + 1

    def at(dy: int, dx: int) -> torch.Tensor:
        return _gather_heatmap_values_torch(padded, ys + dy, xs + dx)

    centre = at(0, 0)
    right, left, down, up = at(0, 1), at(0, -1), at(1, 0), at(-1, 0)
    grad_x = 0.5 * (right - left)
    grad_y = 0.5 * (down - up)
    hess_xx = right - 2 * centre + left + _FLOAT32_EPS
    hess_yy = down - 2 * centre + up + _FLOAT32_EPS
    hess_xy = 0.5 * (at(1, 1) - right - down + 2 * centre - left - up + at(-1, -1))
    offset = _newton_offset(grad_x, grad_y, hess_xx, hess_yy, hess_xy, valid)
    return locations + offset.to(locations.dtype)


def refine_keypoints_dark_udp(locations: ArrayT, heatmaps: ArrayT, blur_kernel_size: int) -> ArrayT:
    """UDP's DARK variant (Huang et al. 2020; MMPose ``refine_keypoints_dark_udp``).

    Takes numpy arrays or torch tensors (same kind out). torch: the one-pixel edge padding is done with
    ``F.pad(mode="replicate")``.

    Modulate, clip to ``[1e-3, 50]``, take the log, pad one pixel by edge replication, then one
    Newton step with central first derivatives, step-1 second derivatives and the symmetric
    7-point cross derivative; ``eps I`` (float32 eps) is added to the Hessian. Maxima that are
    ``-1`` (non-positive maps) are left alone (the reference reads a neighbouring map there).

    Args:
        locations: ``(..., K, 2)`` integer-valued maxima in heatmap pixels.
        heatmaps: ``(..., K, H, W)``.
        blur_kernel_size: modulation kernel size.

    Returns:
        refined locations ``(..., K, 2)`` float32.
    """
    if isinstance(heatmaps, torch.Tensor):
        return _refine_keypoints_dark_udp_torch(locations, heatmaps, blur_kernel_size)
    return _refine_keypoints_dark_udp_numpy(locations, heatmaps, blur_kernel_size)
