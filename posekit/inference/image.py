"""Bring any reasonable image array to the library's edge format: ``(H, W, 3)`` uint8 RGB."""

from __future__ import annotations

import numpy as np

__all__ = ["to_rgb_uint8"]


def _to_uint8(image: np.ndarray) -> np.ndarray:
    """Rescale an integer, boolean or float array to uint8 (no channel handling)."""
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.bool_:
        return image.astype(np.uint8) * 255
    if image.dtype == np.uint16:
        # 16-bit images use the full 0..65535 range: keep the top 8 bits, rounded.
        return ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        values = image.astype(np.float32)
        if not np.all(np.isfinite(values)):
            raise ValueError("image contains NaN or infinite values; expected finite intensities in [0, 1]")
        # Float images follow the [0, 1] convention (skimage, matplotlib); out-of-range values are clipped.
        return np.clip(np.rint(values * 255.0), 0, 255).astype(np.uint8)
    if np.issubdtype(image.dtype, np.signedinteger):
        # Signed integers: values are taken as 8-bit intensities and clipped to 0..255.
        return np.clip(image, 0, 255).astype(np.uint8)
    raise ValueError(f"image dtype must be uint8, uint16, bool, a signed integer or float, got {image.dtype}")


def to_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """Convert an image array to ``(H, W, 3)`` uint8 RGB.

    Accepted inputs:

    * shape ``(H, W)`` or ``(H, W, 1)``: grayscale, replicated to three channels;
    * shape ``(H, W, 3)``: RGB, kept as is;
    * shape ``(H, W, 4)``: RGBA, the alpha channel is dropped (no compositing);
    * dtype uint8 (kept), uint16 (divided by 257), bool (0/255), float in [0, 1] (scaled by 255
      and clipped), signed integers (clipped to 0..255).

    Args:
        image: the image array. Channel order is taken to be RGB (use ``image[..., ::-1]`` first
            for OpenCV's BGR).

    Returns:
        A C-contiguous ``(H, W, 3)`` uint8 array (the input itself when it already is one).

    Raises:
        ValueError: on any other shape or dtype, on an empty image, or on NaN/infinite float values.
    """
    if not isinstance(image, np.ndarray):
        raise ValueError(f"image must be a numpy array, got {type(image).__name__}")
    if image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8 and image.flags.c_contiguous and image.size:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        height, width = image.shape
        if height == 0 or width == 0:
            raise ValueError(f"image must not be empty, got shape {image.shape}")
        gray = _to_uint8(image)
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"image must have shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got {tuple(image.shape)}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"image must not be empty, got shape {tuple(image.shape)}")
    rgb = _to_uint8(image[:, :, :3])
    return np.ascontiguousarray(rgb)
