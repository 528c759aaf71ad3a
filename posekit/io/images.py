"""Reading and writing images at the edges of the library: ``(H, W, 3)`` uint8 RGB in memory.

:func:`read_image` decodes any file OpenCV reads (JPEG, PNG, BMP, TIFF, WebP, ...) and always
returns 8-bit RGB: grayscale is repeated over three channels, an alpha channel is dropped, and
16-bit images are scaled to 8 bits (by OpenCV's ``IMREAD_COLOR``, which divides by 256). EXIF
orientation is applied. Files that cannot be decoded raise ``ValueError`` with one sentence naming
the file and why, never a bare OpenCV error.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from posekit.io.atomic import atomic_path

__all__ = ["IMAGE_SUFFIXES", "is_image_path", "read_image", "write_image"]

# Suffixes treated as images when scanning folders (lower case).
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".jp2", ".pgm", ".ppm"})

# OpenCV refuses images above 2**30 pixels by default; say so in words instead of a C++ trace.
_MAX_PIXELS = 1 << 30


def is_image_path(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` has an image suffix (by name only; the content is not read)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as ``(H, W, 3)`` uint8 RGB.

    Args:
        path: image file.

    Returns:
        ``(H, W, 3)`` uint8 RGB array (C-contiguous).

    Raises:
        OSError: when the file does not exist or cannot be opened.
        ValueError: when the file is empty or is not a decodable image.
    """
    file = Path(path)
    if not file.is_file():
        raise OSError(f"image not found: {file}")
    data = np.fromfile(file, dtype=np.uint8)  # works for non-ASCII paths, unlike cv2.imread on Windows
    if data.size == 0:
        raise ValueError(f"cannot read image {file}: the file is empty (0 bytes)")
    try:
        bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    except cv2.error as error:  # e.g. images over OpenCV's pixel limit
        message = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        raise ValueError(f"cannot decode image {file}: {message}") from None
    if bgr is None:
        raise ValueError(f"cannot decode image {file}: not an image format OpenCV can read, or the file is corrupt")
    if bgr.ndim != 3 or bgr.shape[2] != 3 or bgr.shape[0] * bgr.shape[1] > _MAX_PIXELS:
        raise ValueError(f"cannot decode image {file}: unexpected decoded shape {bgr.shape}")
    return np.ascontiguousarray(bgr[:, :, ::-1])  # BGR -> RGB


def write_image(path: str | os.PathLike[str], image: np.ndarray, quality: int = 92) -> Path:
    """Write an ``(H, W, 3)`` uint8 RGB image atomically; the format follows the suffix.

    Args:
        path: target file (``.jpg``, ``.png``, ...).
        image: ``(H, W, 3)`` uint8 RGB.
        quality: JPEG quality (1-100), ignored for other formats.

    Returns:
        The written path.
    """
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        shape = getattr(image, "shape", None)
        dtype = getattr(image, "dtype", type(image).__name__)
        raise ValueError(f"image must be a (H, W, 3) uint8 RGB array, got shape {shape} and dtype {dtype}")
    target = Path(path)
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if target.suffix.lower() in (".jpg", ".jpeg") else []
    with atomic_path(target) as tmp:
        if not cv2.imwrite(str(tmp), np.ascontiguousarray(image[:, :, ::-1]), params):
            raise OSError(f"cannot write image {target}: OpenCV has no writer for suffix {target.suffix!r}")
    return target
