"""Shared pieces of the keypoint codecs: argument checks, Gaussian targets, argmax, blur, refinement, flip.

Legend: ``N`` instances, ``K`` keypoints, ``D`` coordinate dimensions (2 here), ``H``/``W`` heatmap
height/width, ``B`` batch. Sizes are ``(w, h)``.

Pixel-centre convention: pixel centres sit at integer coordinates and the centre of the top-left
pixel is ``(0, 0)``; a heatmap pixel ``(x, y)`` is column ``x``, row ``y`` of a ``(..., H, W)`` array.
Every function here works in *heatmap* pixels; the codecs convert to and from *input* pixels.

All numpy functions are vectorised over instances and keypoints (no Python loop per keypoint);
their results match the per-keypoint loops of the reference implementations (MMPose 1.x
``mmpose/codecs/utils``, HRNet ``lib/core/inference.py``) except where a docstring says otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "blur_heatmaps",
    "blur_heatmaps_torch",
    "check_heatmaps",
    "check_keypoints",
    "check_size",
    "check_visible",
    "flip_heatmaps",
    "flip_heatmaps_torch",
    "gather_heatmap_values",
    "gather_heatmap_values_torch",
    "gaussian_kernel_1d",
    "generate_gaussian_heatmaps",
    "get_heatmap_maximum",
    "get_heatmap_maximum_torch",
    "merge_instance_heatmaps",
    "refine_keypoints_dark",
    "refine_keypoints_dark_torch",
    "refine_keypoints_dark_udp",
    "refine_keypoints_dark_udp_torch",
    "refine_keypoints_quarter_offset",
    "refine_keypoints_quarter_offset_torch",
]


# ----------------------------------------------------------------------------------------------
# argument checks
# ----------------------------------------------------------------------------------------------


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


# ----------------------------------------------------------------------------------------------
# Gaussian targets
# ----------------------------------------------------------------------------------------------


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


# ----------------------------------------------------------------------------------------------
# maxima
# ----------------------------------------------------------------------------------------------


def get_heatmap_maximum(heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Location and value of the maximum of every map (first one in row-major order on ties).

    Args:
        heatmaps: ``(..., H, W)``, e.g. ``(K, H, W)`` or ``(N, K, H, W)``.

    Returns:
        locations ``(..., 2)`` float32 as ``(x, y)`` heatmap pixels, ``-1`` where the maximum is
        ``<= 0`` (as MMPose ``get_heatmap_maximum``); values ``(...)`` float32.
    """
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


def get_heatmap_maximum_torch(heatmaps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Torch twin of :func:`get_heatmap_maximum`: ``(..., H, W)`` -> locations ``(..., 2)``, values ``(...)``."""
    if heatmaps.dim() < 2:
        raise ValueError(f"heatmaps must have shape (..., H, W), got {tuple(heatmaps.shape)}")
    height, width = heatmaps.shape[-2:]
    flat = heatmaps.reshape(*heatmaps.shape[:-2], height * width)  # (..., H, W) -> (..., H*W)
    values, index = flat.max(dim=-1)
    locations = torch.stack([index % width, torch.div(index, width, rounding_mode="floor")], dim=-1)
    locations = locations.to(heatmaps.dtype if heatmaps.is_floating_point() else torch.float32)
    locations = torch.where((values <= 0)[..., None], torch.full_like(locations, -1.0), locations)
    return locations, values


def gather_heatmap_values(maps: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Read one value per map: maps ``(..., H, W)``, integer in-range ``ys``/``xs`` ``(...)`` -> ``(...)``."""
    width = maps.shape[-1]
    flat = maps.reshape(*maps.shape[:-2], -1)  # (..., H, W) -> (..., H*W)
    return np.take_along_axis(flat, (ys * width + xs)[..., None], axis=-1)[..., 0]


def gather_heatmap_values_torch(maps: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
    """Torch twin of :func:`gather_heatmap_values`."""
    width = maps.shape[-1]
    flat = maps.reshape(*maps.shape[:-2], -1)  # (..., H, W) -> (..., H*W)
    return torch.gather(flat, -1, (ys * width + xs)[..., None])[..., 0]


# ----------------------------------------------------------------------------------------------
# refinement: quarter offset (SimpleBaseline / HRNet)
# ----------------------------------------------------------------------------------------------


def refine_keypoints_quarter_offset(locations: np.ndarray, heatmaps: np.ndarray) -> np.ndarray:
    """Move each integer maximum a quarter pixel towards its higher neighbour, per axis.

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
    maps = np.asarray(heatmaps)
    height, width = maps.shape[-2:]
    px = np.floor(locations[..., 0] + 0.5).astype(np.int64)
    py = np.floor(locations[..., 1] + 0.5).astype(np.int64)
    valid = (px > 1) & (px < width - 1) & (py > 1) & (py < height - 1)
    if width < 3 or height < 3:  # no location can satisfy the bounds above
        return np.asarray(locations, dtype=np.float32).copy()
    xs = np.clip(px, 1, width - 2)
    ys = np.clip(py, 1, height - 2)
    diff_x = gather_heatmap_values(maps, ys, xs + 1).astype(np.float64) - gather_heatmap_values(maps, ys, xs - 1)
    diff_y = gather_heatmap_values(maps, ys + 1, xs).astype(np.float64) - gather_heatmap_values(maps, ys - 1, xs)
    offset = np.stack([np.sign(diff_x), np.sign(diff_y)], axis=-1) * 0.25  # (..., K, 2)
    return (locations + np.where(valid[..., None], offset, 0.0)).astype(np.float32)


def refine_keypoints_quarter_offset_torch(locations: torch.Tensor, heatmaps: torch.Tensor) -> torch.Tensor:
    """Torch twin of :func:`refine_keypoints_quarter_offset` (same shapes)."""
    height, width = heatmaps.shape[-2:]
    px = torch.floor(locations[..., 0] + 0.5).long()
    py = torch.floor(locations[..., 1] + 0.5).long()
    valid = (px > 1) & (px < width - 1) & (py > 1) & (py < height - 1)
    if width < 3 or height < 3:  # no location can satisfy the bounds above
        return locations.clone()
    xs = px.clamp(1, width - 2)
    ys = py.clamp(1, height - 2)
    diff_x = gather_heatmap_values_torch(heatmaps, ys, xs + 1) - gather_heatmap_values_torch(heatmaps, ys, xs - 1)
    diff_y = gather_heatmap_values_torch(heatmaps, ys + 1, xs) - gather_heatmap_values_torch(heatmaps, ys - 1, xs)
    offset = torch.stack([torch.sign(diff_x), torch.sign(diff_y)], dim=-1).to(locations.dtype) * 0.25
    return locations + torch.where(valid[..., None], offset, torch.zeros_like(offset))


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


def blur_heatmaps(
    heatmaps: np.ndarray, kernel_size: int, *, border: str = "constant", keep_maximum: bool = True
) -> np.ndarray:
    """Gaussian modulation of heatmaps (DARK, Zhang et al. 2020, Sec. 3.3 "distribution modulation").

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


def blur_heatmaps_torch(
    heatmaps: torch.Tensor, kernel_size: int, *, border: str = "constant", keep_maximum: bool = True
) -> torch.Tensor:
    """Torch twin of :func:`blur_heatmaps` (``(..., H, W)`` -> same shape and dtype)."""
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


# ----------------------------------------------------------------------------------------------
# refinement: DARK and UDP (Taylor expansion of the log heatmap)
# ----------------------------------------------------------------------------------------------


def refine_keypoints_dark(locations: np.ndarray, heatmaps: np.ndarray, blur_kernel_size: int) -> np.ndarray:
    """DARK sub-pixel refinement (Zhang et al. 2020, "Distribution-Aware Coordinate Representation").

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
    maps = np.asarray(heatmaps)
    height, width = maps.shape[-2:]
    # modulate, but rescale and take the log only at the 13 samples each keypoint needs
    blurred = blur_heatmaps(maps, blur_kernel_size, keep_maximum=False)
    ratio = _maximum_ratio(maps, blurred)  # (..., K)
    px = np.trunc(locations[..., 0]).astype(np.int64)
    py = np.trunc(locations[..., 1]).astype(np.int64)
    valid = (px > 1) & (px < width - 2) & (py > 1) & (py < height - 2)
    if width < 5 or height < 5:  # no location can satisfy the bounds above
        return np.asarray(locations, dtype=np.float32).copy()
    xs = np.clip(px, 2, width - 3)
    ys = np.clip(py, 2, height - 3)

    def at(dy: int, dx: int) -> np.ndarray:
        return np.log(np.maximum(gather_heatmap_values(blurred, ys + dy, xs + dx) * ratio, 1e-10))

    centre = at(0, 0)
    grad_x = 0.5 * (at(0, 1) - at(0, -1))
    grad_y = 0.5 * (at(1, 0) - at(-1, 0))
    hess_xx = 0.25 * (at(0, 2) - 2 * centre + at(0, -2))
    hess_yy = 0.25 * (at(2, 0) - 2 * centre + at(-2, 0))
    hess_xy = 0.25 * (at(1, 1) - at(-1, 1) - at(1, -1) + at(-1, -1))
    det = hess_xx * hess_yy - hess_xy**2
    ok = valid & (det != 0)
    safe_det = np.where(ok, det, 1.0)
    # offset = -H^-1 g with H^-1 = [[yy, -xy], [-xy, xx]] / det
    offset_x = -(hess_yy * grad_x - hess_xy * grad_y) / safe_det
    offset_y = -(hess_xx * grad_y - hess_xy * grad_x) / safe_det
    offset = np.where(ok[..., None], np.stack([offset_x, offset_y], axis=-1), 0.0)
    return (locations + offset).astype(np.float32)


def refine_keypoints_dark_torch(locations: torch.Tensor, heatmaps: torch.Tensor, blur_kernel_size: int) -> torch.Tensor:
    """Torch twin of :func:`refine_keypoints_dark` (same shapes; computed in the maps' dtype)."""
    height, width = heatmaps.shape[-2:]
    if width < 5 or height < 5:
        return locations.clone()
    log_maps = torch.log(torch.clamp(blur_heatmaps_torch(heatmaps, blur_kernel_size), min=1e-10))
    px = torch.trunc(locations[..., 0]).long()
    py = torch.trunc(locations[..., 1]).long()
    valid = (px > 1) & (px < width - 2) & (py > 1) & (py < height - 2)
    xs = px.clamp(2, width - 3)
    ys = py.clamp(2, height - 3)

    def at(dy: int, dx: int) -> torch.Tensor:
        return gather_heatmap_values_torch(log_maps, ys + dy, xs + dx)

    centre = at(0, 0)
    grad_x = 0.5 * (at(0, 1) - at(0, -1))
    grad_y = 0.5 * (at(1, 0) - at(-1, 0))
    hess_xx = 0.25 * (at(0, 2) - 2 * centre + at(0, -2))
    hess_yy = 0.25 * (at(2, 0) - 2 * centre + at(-2, 0))
    hess_xy = 0.25 * (at(1, 1) - at(-1, 1) - at(1, -1) + at(-1, -1))
    det = hess_xx * hess_yy - hess_xy**2
    ok = valid & (det != 0)
    safe_det = torch.where(ok, det, torch.ones_like(det))
    offset_x = -(hess_yy * grad_x - hess_xy * grad_y) / safe_det
    offset_y = -(hess_xx * grad_y - hess_xy * grad_x) / safe_det
    offset = torch.stack([offset_x, offset_y], dim=-1)
    return locations + torch.where(ok[..., None], offset, torch.zeros_like(offset)).to(locations.dtype)


_FLOAT32_EPS = float(np.finfo(np.float32).eps)


def refine_keypoints_dark_udp(locations: np.ndarray, heatmaps: np.ndarray, blur_kernel_size: int) -> np.ndarray:
    """UDP's DARK variant (Huang et al. 2020; MMPose ``refine_keypoints_dark_udp``).

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
    maps = np.asarray(heatmaps)
    height, width = maps.shape[-2:]
    # modulate, but rescale, clip and take the log only at the 9 samples each keypoint needs
    blurred = blur_heatmaps(maps, blur_kernel_size, keep_maximum=False)
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
        return np.log(np.clip(gather_heatmap_values(blurred, sample_y, sample_x) * ratio, 1e-3, 50.0))

    centre = at(0, 0)
    right, left, down, up = at(0, 1), at(0, -1), at(1, 0), at(-1, 0)
    grad_x = 0.5 * (right - left)
    grad_y = 0.5 * (down - up)
    hess_xx = right - 2 * centre + left + _FLOAT32_EPS
    hess_yy = down - 2 * centre + up + _FLOAT32_EPS
    hess_xy = 0.5 * (at(1, 1) - right - down + 2 * centre - left - up + at(-1, -1))
    det = hess_xx * hess_yy - hess_xy**2
    ok = valid & (det != 0)
    safe_det = np.where(ok, det, 1.0)
    offset_x = -(hess_yy * grad_x - hess_xy * grad_y) / safe_det
    offset_y = -(hess_xx * grad_y - hess_xy * grad_x) / safe_det
    offset = np.where(ok[..., None], np.stack([offset_x, offset_y], axis=-1), 0.0)
    return (locations + offset).astype(np.float32)


def refine_keypoints_dark_udp_torch(
    locations: torch.Tensor, heatmaps: torch.Tensor, blur_kernel_size: int
) -> torch.Tensor:
    """Torch twin of :func:`refine_keypoints_dark_udp` (same shapes)."""
    log_maps = torch.log(torch.clamp(blur_heatmaps_torch(heatmaps, blur_kernel_size), 1e-3, 50.0))
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
        return gather_heatmap_values_torch(padded, ys + dy, xs + dx)

    centre = at(0, 0)
    right, left, down, up = at(0, 1), at(0, -1), at(1, 0), at(-1, 0)
    grad_x = 0.5 * (right - left)
    grad_y = 0.5 * (down - up)
    hess_xx = right - 2 * centre + left + _FLOAT32_EPS
    hess_yy = down - 2 * centre + up + _FLOAT32_EPS
    hess_xy = 0.5 * (at(1, 1) - right - down + 2 * centre - left - up + at(-1, -1))
    det = hess_xx * hess_yy - hess_xy**2
    ok = valid & (det != 0)
    safe_det = torch.where(ok, det, torch.ones_like(det))
    offset_x = -(hess_yy * grad_x - hess_xy * grad_y) / safe_det
    offset_y = -(hess_xx * grad_y - hess_xy * grad_x) / safe_det
    offset = torch.stack([offset_x, offset_y], dim=-1)
    return locations + torch.where(ok[..., None], offset, torch.zeros_like(offset)).to(locations.dtype)


# ----------------------------------------------------------------------------------------------
# test-time flip
# ----------------------------------------------------------------------------------------------


def _check_flip_indices(flip_indices: Sequence[int], num_keypoints: int) -> list[int]:
    indices = [int(i) for i in flip_indices]
    if sorted(indices) != list(range(num_keypoints)):
        raise ValueError(
            f"flip_indices must be a permutation of range({num_keypoints}) (one entry per heatmap channel), "
            f"got {tuple(flip_indices)}"
        )
    return indices


def flip_heatmaps(heatmaps: np.ndarray, flip_indices: Sequence[int], shift_heatmap: bool = True) -> np.ndarray:
    """Map heatmaps predicted on a horizontally flipped image back to the original image (HRNet flip test).

    Mirror the width axis, reorder channels so that channel ``k`` takes flipped channel
    ``flip_indices[k]`` (left/right swap), and, when ``shift_heatmap``, move every row one pixel to
    the right keeping column 0 (HRNet ``TEST.SHIFT_HEATMAP``: compensates the half-pixel bias of the
    ``input / heatmap`` stride; leave it off for UDP codecs, whose flip is exact).

    Args:
        heatmaps: ``(..., K, H, W)`` Gaussian heatmaps.
        flip_indices: permutation of ``range(K)``, e.g. ``Skeleton.flip_indices``.
        shift_heatmap: apply the one-pixel shift.

    Returns:
        flipped heatmaps ``(..., K, H, W)`` (a new array).
    """
    array = np.asarray(heatmaps)
    if array.ndim < 3:
        raise ValueError(f"heatmaps must have shape (..., K, H, W), got {tuple(array.shape)}")
    indices = _check_flip_indices(flip_indices, array.shape[-3])
    flipped = array[..., indices, :, ::-1].copy()
    if shift_heatmap:
        flipped[..., 1:] = flipped[..., :-1].copy()
    return flipped


def flip_heatmaps_torch(
    heatmaps: torch.Tensor, flip_indices: Sequence[int], shift_heatmap: bool = True
) -> torch.Tensor:
    """Torch twin of :func:`flip_heatmaps` (``(..., K, H, W)``; differentiable)."""
    if heatmaps.dim() < 3:
        raise ValueError(f"heatmaps must have shape (..., K, H, W), got {tuple(heatmaps.shape)}")
    indices = _check_flip_indices(flip_indices, heatmaps.shape[-3])
    index = torch.as_tensor(indices, dtype=torch.long, device=heatmaps.device)
    flipped = heatmaps.index_select(-3, index).flip(-1)
    if shift_heatmap:
        flipped = torch.cat([flipped[..., :1], flipped[..., :-1]], dim=-1)
    return flipped
