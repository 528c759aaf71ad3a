"""Affine crops for top-down pose estimation: warp matrices (standard and UDP), points, images.

Pixel-centre convention: the centre of the top-left pixel is ``(0, 0)``, so pixel ``(i, j)``
covers ``[i - 0.5, i + 0.5] x [j - 0.5, j + 0.5]``; cv2.warpAffine uses the same convention.

A crop is given by ``center (..., 2)`` and ``scale (..., 2)`` = ``(w, h)`` of the region in
PIXELS (see :mod:`posekit.geometry.boxes` for the conversion from boxes and from HRNet's
200-pixel units), a ``rotation`` in degrees and the ``output_size (w, h)`` of the crop.

Rotation sign: positive ``rotation`` turns the image content COUNTER-CLOCKWISE on screen inside
the crop (with y pointing down), i.e. a point to the right of the centre lands above the crop
centre for ``rotation = 90``. This is the convention of HRNet ``get_affine_transform`` and MMPose
``get_warp_matrix``. MMPose ``get_udp_warp_matrix`` (and the original UDP code) turn the other
way for the same ``rot``; :func:`get_udp_warp_matrix` here uses the same sign as
:func:`get_warp_matrix` so that ``rotation`` means one thing whichever warp is chosen:
``get_udp_warp_matrix(c, s, r, size) == mmpose.get_udp_warp_matrix(c, s, -r, size)``.
"""

from __future__ import annotations

import cv2
import numpy as np

from posekit.geometry import array_api as xp
from posekit.geometry.array_api import ArrayT

__all__ = [
    "affine_transform_points",
    "get_udp_warp_matrix",
    "get_warp_matrix",
    "invert_affine",
    "keypoints_crop_to_image",
    "keypoints_image_to_crop",
    "warp_image",
]

_SizeLike = tuple[float, float] | list[float] | np.ndarray


def _as_numpy_pairs(values: object, name: str) -> np.ndarray:
    """``(..., 2)`` float64 numpy array (torch tensors are detached and copied to the CPU)."""
    if xp.is_tensor(values):
        values = values.detach().cpu().numpy()  # type: ignore[attr-defined]
    array = np.asarray(values, dtype=np.float64)
    xp.check_last_dims(array, name, (2,), "(..., 2)")
    return array


def _output_size(output_size: _SizeLike) -> np.ndarray:
    size = np.asarray(output_size, dtype=np.float64)
    if size.shape != (2,) or not np.all(size > 0):
        raise ValueError(f"output_size must be (w, h) with positive entries, got {output_size!r}")
    return size


def _rotation_radians(rotation: float | np.ndarray) -> np.ndarray:
    if xp.is_tensor(rotation):
        rotation = rotation.detach().cpu().numpy()  # type: ignore[union-attr]
    return np.deg2rad(np.asarray(rotation, dtype=np.float64))


def _assemble(linear: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """``(..., 2, 2)`` and ``(..., 2)`` -> ``(..., 2, 3)``."""
    return np.concatenate([linear, translation[..., None]], axis=-1)


def get_warp_matrix(
    center: np.ndarray | _SizeLike,
    scale: np.ndarray | _SizeLike,
    rotation: float | np.ndarray,
    output_size: _SizeLike,
    shift: tuple[float, float] = (0.0, 0.0),
    inverse: bool = False,
) -> np.ndarray:
    """Affine matrix mapping the crop region of an image onto an ``output_size`` crop.

    Equal to MMPose ``get_warp_matrix`` and HRNet ``get_affine_transform`` (with HRNet's scale
    multiplied by 200). Those build the matrix with ``cv2.getAffineTransform`` from three point
    pairs: the region centre (moved by ``shift * scale``) to the crop centre ``(W/2, H/2)``; the
    point ``scale_w / 2`` above the centre, rotated by ``rotation``, to the point ``W/2`` above the
    crop centre; and a third point perpendicular to both. Those pairs define a similarity, which is
    written here in closed form (float64, no float32 round trip):
    ``x_crop = (W / scale_w) R(-rotation) (x - center - shift * scale) + (W/2, H/2)``.

    Only the width of ``scale`` sets the zoom (as in those codebases): fix the aspect ratio of
    ``scale`` to ``W / H`` first (:func:`posekit.geometry.fix_aspect_ratio`).

    Args:
        center: ``(..., 2)`` region centres ``(x, y)`` in image pixels.
        scale: ``(..., 2)`` region sizes ``(w, h)`` in pixels.
        rotation: Degrees, a float or an array broadcasting with the leading dimensions.
        output_size: ``(W, H)`` of the crop.
        shift: Translation of the region centre as a fraction of ``scale``.
        inverse: Return the crop-to-image matrix instead.

    Returns:
        ``(..., 2, 3)`` float64 matrices, image -> crop (crop -> image when ``inverse``).
    """
    center_array = _as_numpy_pairs(center, "center")
    scale_array = _as_numpy_pairs(scale, "scale")
    size = _output_size(output_size)
    shift_array = np.asarray(shift, dtype=np.float64)
    if shift_array.shape != (2,):
        raise ValueError(f"shift must be (sx, sy), got {shift!r}")
    angle = _rotation_radians(rotation)
    leading = xp.broadcast_shapes(center_array.shape[:-1], scale_array.shape[:-1], angle.shape)
    cosine = np.broadcast_to(np.cos(angle), leading)
    sine = np.broadcast_to(np.sin(angle), leading)
    zoom = np.broadcast_to(size[0] / scale_array[..., 0], leading)
    source_center = np.broadcast_to(center_array + scale_array * shift_array, leading + (2,))
    crop_center = np.broadcast_to(size * 0.5, leading + (2,))
    if not inverse:
        # (..., 2, 2): zoom * [[cos, sin], [-sin, cos]]
        linear = zoom[..., None, None] * np.stack([np.stack([cosine, sine], -1), np.stack([-sine, cosine], -1)], -2)
        translation = crop_center - np.einsum("...ij,...j->...i", linear, source_center)
    else:
        linear = np.stack([np.stack([cosine, -sine], -1), np.stack([sine, cosine], -1)], -2) / zoom[..., None, None]
        translation = source_center - np.einsum("...ij,...j->...i", linear, crop_center)
    return _assemble(linear, translation)


def get_udp_warp_matrix(
    center: np.ndarray | _SizeLike,
    scale: np.ndarray | _SizeLike,
    rotation: float | np.ndarray,
    output_size: _SizeLike,
) -> np.ndarray:
    """Unbiased (UDP) affine matrix from the image to an ``output_size`` crop.

    Unbiased Data Processing (Huang et al., "The Devil is in the Details: Delving into Unbiased
    Data Processing for Human Pose Estimation", CVPR 2020, Sec. 3.2) measures image size in
    pixel-centre intervals: the region ``center -/+ scale / 2`` maps onto ``[0, W - 1] x [0, H - 1]``,
    i.e. onto the centres of the first and last output pixels, so that flipping and resizing are
    exact. ``x_crop = diag((W-1)/scale_w, (H-1)/scale_h) R(-rotation) (x - center) + ((W-1)/2, (H-1)/2)``.
    The rotation sign follows :func:`get_warp_matrix` (see the module docstring: MMPose's function
    with ``rot = -rotation``).

    Args:
        center: ``(..., 2)`` region centres in image pixels.
        scale: ``(..., 2)`` region sizes ``(w, h)`` in pixels (both are used: no aspect-ratio
            assumption).
        rotation: Degrees, a float or an array broadcasting with the leading dimensions.
        output_size: ``(W, H)`` of the crop (each > 1).

    Returns:
        ``(..., 2, 3)`` float64 image -> crop matrices; :func:`invert_affine` gives crop -> image,
        mapping output pixel centres ``(i, j)`` to ``center - scale/2 + (i, j) * scale / (size - 1)``
        (before rotation) exactly.
    """
    center_array = _as_numpy_pairs(center, "center")
    scale_array = _as_numpy_pairs(scale, "scale")
    size = _output_size(output_size)
    if not np.all(size > 1):
        raise ValueError(f"output_size must be at least 2 pixels in each direction for UDP, got {output_size!r}")
    angle = _rotation_radians(rotation)
    leading = xp.broadcast_shapes(center_array.shape[:-1], scale_array.shape[:-1], angle.shape)
    cosine = np.broadcast_to(np.cos(angle), leading)
    sine = np.broadcast_to(np.sin(angle), leading)
    zoom = np.broadcast_to((size - 1.0) / scale_array, leading + (2,))  # (..., 2): per-axis zoom
    rotation_matrix = np.stack([np.stack([cosine, sine], -1), np.stack([-sine, cosine], -1)], -2)  # (..., 2, 2)
    linear = zoom[..., :, None] * rotation_matrix  # diag(zoom) @ R(-rotation)
    crop_center = (size - 1.0) * 0.5
    translation = crop_center - np.einsum("...ij,...j->...i", linear, np.broadcast_to(center_array, leading + (2,)))
    return _assemble(linear, translation)


def invert_affine(matrix: ArrayT) -> ArrayT:
    """Inverse of 2D affine maps. numpy or torch.

    Args:
        matrix: ``(..., 2, 3)`` matrices ``[A | b]`` (``x' = A x + b``) with invertible ``A``.

    Returns:
        ``(..., 2, 3)`` matrices ``[A^-1 | -A^-1 b]``.
    """
    matrix = xp.as_float_array(matrix)
    xp.check_last_dims(matrix, "matrix", (2, 3), "(..., 2, 3)")
    a, b, c, d = matrix[..., 0, 0], matrix[..., 0, 1], matrix[..., 1, 0], matrix[..., 1, 1]
    determinant = a * d - b * c
    inverse_linear = xp.stack([xp.stack([d, -b], axis=-1), xp.stack([-c, a], axis=-1)], axis=-2)
    inverse_linear = inverse_linear / determinant[..., None, None]
    translation = -(inverse_linear @ matrix[..., :, 2:])  # (..., 2, 1)
    return xp.concatenate([inverse_linear, translation], axis=-1)


def affine_transform_points(points: ArrayT, matrix: ArrayT) -> ArrayT:
    """Apply affine matrices to 2D points: ``x' = A x + b``. numpy or torch (differentiable).

    Args:
        points: ``(..., P, 2)`` points, or a single point ``(2,)``.
        matrix: ``(..., 2, 3)`` matrices; their leading dimensions broadcast against the points'
            leading dimensions (those before ``P``): one matrix per instance transforms all of its
            keypoints. Pass ``(2, 3)`` to transform everything with one matrix.

    Returns:
        Transformed points with the shape of ``points`` (the broadcast shape when the matrix has
        more leading dimensions); dtype of ``points`` (float64 for integer input).
    """
    points = xp.as_float_array(points)
    if points.ndim < 1 or points.shape[-1] != 2:
        raise ValueError(f"points must have shape (..., P, 2) or (2,), got {xp.shape_text(points)}")
    matrix = xp.as_float_array(matrix)
    xp.check_last_dims(matrix, "matrix", (2, 3), "(..., 2, 3)")
    matrix = xp.like(matrix, points)
    single = points.ndim == 1
    if single:
        points = points[None, :]  # (2,) -> (1, 2)
    linear = matrix[..., :, :2]
    translation = matrix[..., :, 2]
    transformed = points @ xp.swap_last(linear) + translation[..., None, :]  # (..., P, 2)
    return transformed[..., 0, :] if single else transformed


def warp_image(
    image: np.ndarray,
    matrix: np.ndarray,
    output_size: _SizeLike,
    flags: int = cv2.INTER_LINEAR,
    border_value: float = 0.0,
) -> np.ndarray:
    """Warp an image with ``cv2.warpAffine`` (constant border).

    Args:
        image: ``(H, W)`` or ``(H, W, C)`` image (any C; more than 4 channels are warped in
            groups of 4).
        matrix: ``(2, 3)`` image -> output matrix (e.g. from :func:`get_warp_matrix`).
        output_size: ``(W_out, H_out)`` in pixels (rounded to int).
        flags: cv2 interpolation flag (``cv2.INTER_LINEAR`` by default).
        border_value: Value of pixels that fall outside the input.

    Returns:
        ``(H_out, W_out)`` or ``(H_out, W_out, C)`` image with the input dtype.
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3) or image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"image must have shape (H, W) or (H, W, C) with H, W > 0, got {xp.shape_text(image)}")
    matrix_array = np.asarray(matrix, dtype=np.float64)
    if matrix_array.shape != (2, 3):
        raise ValueError(f"matrix must have shape (2, 3), got {xp.shape_text(matrix_array)}")
    size = _output_size(output_size)
    dsize = (int(round(size[0])), int(round(size[1])))
    if image.ndim == 3 and image.shape[2] > 4:
        groups = [
            warp_image(image[:, :, start : start + 4], matrix_array, output_size, flags, border_value)
            for start in range(0, image.shape[2], 4)
        ]
        return np.concatenate([group if group.ndim == 3 else group[:, :, None] for group in groups], axis=2)
    warped = cv2.warpAffine(
        image, matrix_array, dsize, flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=border_value
    )
    if image.ndim == 3 and warped.ndim == 2:  # cv2 drops a trailing channel axis of size 1
        warped = warped[:, :, None]
    return warped


def _crop_matrices(
    center: np.ndarray | _SizeLike,
    scale: np.ndarray | _SizeLike,
    output_size: _SizeLike,
    rotation: float | np.ndarray,
    udp: bool,
    inverse: bool,
) -> np.ndarray:
    if udp:
        forward = get_udp_warp_matrix(center, scale, rotation, output_size)
        return invert_affine(forward) if inverse else forward
    return get_warp_matrix(center, scale, rotation, output_size, inverse=inverse)


def _check_keypoints(keypoints: ArrayT) -> ArrayT:
    keypoints = xp.as_float_array(keypoints)
    if keypoints.ndim < 2 or keypoints.shape[-1] != 2:
        raise ValueError(f"keypoints must have shape (..., K, 2), got {xp.shape_text(keypoints)}")
    return keypoints


def keypoints_image_to_crop(
    keypoints: ArrayT,
    center: np.ndarray | _SizeLike,
    scale: np.ndarray | _SizeLike,
    output_size: _SizeLike,
    rotation: float | np.ndarray = 0.0,
    udp: bool = False,
) -> ArrayT:
    """Image-pixel keypoints to crop-pixel keypoints, batched over boxes. numpy or torch keypoints.

    Args:
        keypoints: ``(..., K, 2)`` in image pixels, e.g. ``(N, K, 2)`` for N instances.
        center: ``(..., 2)`` region centres (e.g. ``(N, 2)``, or ``(2,)`` for one region).
        scale: ``(..., 2)`` region sizes ``(w, h)`` in pixels.
        output_size: ``(W, H)`` of the crop.
        rotation: Degrees, float or ``(...)`` array.
        udp: Use :func:`get_udp_warp_matrix` instead of :func:`get_warp_matrix`.

    Returns:
        ``(..., K, 2)`` keypoints in crop pixels.
    """
    keypoints = _check_keypoints(keypoints)
    matrices = _crop_matrices(center, scale, output_size, rotation, udp, inverse=False)
    return affine_transform_points(keypoints, xp.like(matrices, keypoints))


def keypoints_crop_to_image(
    keypoints: ArrayT,
    center: np.ndarray | _SizeLike,
    scale: np.ndarray | _SizeLike,
    output_size: _SizeLike,
    rotation: float | np.ndarray = 0.0,
    udp: bool = False,
) -> ArrayT:
    """Crop-pixel keypoints back to image pixels; the exact inverse of :func:`keypoints_image_to_crop`.

    Args:
        keypoints: ``(..., K, 2)`` in crop pixels.
        center: ``(..., 2)`` region centres.
        scale: ``(..., 2)`` region sizes ``(w, h)`` in pixels.
        output_size: ``(W, H)`` of the crop.
        rotation: Degrees, float or ``(...)`` array.
        udp: The crop was made with the UDP matrix.

    Returns:
        ``(..., K, 2)`` keypoints in image pixels.
    """
    keypoints = _check_keypoints(keypoints)
    matrices = _crop_matrices(center, scale, output_size, rotation, udp, inverse=True)
    return affine_transform_points(keypoints, xp.like(matrices, keypoints))
