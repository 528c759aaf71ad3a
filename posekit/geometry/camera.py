"""Cameras: world <-> camera transforms and projection with the Human3.6M distortion model.

Conventions (the package's): 3D points in metres; ``X_cam = R @ X_world + t``; camera axes x
right, y down, z forward; 2D points in image pixels with the centre of the top-left pixel at
``(0, 0)``. Functions marked "numpy or torch" return the kind they were given and are
differentiable with torch.

Distortion (Human3.6M, as VideoPose3D ``common/camera.py::project_to_2d``): with
``(x, y) = clip(X/Z, Y/Z, -1, 1)`` and ``r2 = x^2 + y^2``::

    radial = 1 + k1 r2 + k2 r2^2 + k3 r2^3
    tangential = p1 x + p2 y
    x_d = x (radial + tangential) + p1 r2
    y_d = y (radial + tangential) + p2 r2
    u = fx x_d + cx,  v = fy y_d + cy

(note the H36M model differs from OpenCV's, whose tangential terms are ``2 p1 x y + p2 (r2 + 2x^2)``.)
The clip to ``[-1, 1]`` (45 degrees off axis) is VideoPose3D's guard against the polynomial
blowing up for points far outside the view; pass ``clip=False`` to project without it.

VideoPose3D works in *normalised* screen coordinates (:func:`normalize_screen_coordinates`:
``[0, w]`` maps to ``[-1, 1]``, aspect ratio kept) with intrinsics normalised the same way
(``f / w * 2`` and ``c / w * 2 - [1, h / w]``); :func:`project_to_2d` and
:func:`project_to_2d_linear` take such 9-vectors and match VideoPose3D's functions, while
:meth:`Camera.project` works in pixels. Both agree:
``normalize_screen_coordinates(camera.project(X), w, h) == project_to_2d(X, camera.normalized_intrinsics())``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from posekit.geometry import array_api as xp
from posekit.geometry.array_api import ArrayT
from posekit.geometry.rotations import quaternion_inverse, quaternion_to_matrix

__all__ = [
    "Camera",
    "image_coordinates",
    "normalize_screen_coordinates",
    "project_pinhole",
    "project_to_2d",
    "project_to_2d_linear",
]


def _distort(normalized: ArrayT, radial: ArrayT, tangential: ArrayT) -> ArrayT:
    """H36M distortion of ``(..., 2)`` normalised image coordinates; coefficients broadcast."""
    radius_squared = xp.sum_(normalized * normalized, axis=-1, keepdims=True)  # (..., 1)
    powers = xp.concatenate([radius_squared, radius_squared**2, radius_squared**3], axis=-1)  # (..., 3)
    radial_factor = 1.0 + xp.sum_(radial * powers, axis=-1, keepdims=True)
    tangential_factor = xp.sum_(tangential * normalized, axis=-1, keepdims=True)
    return normalized * (radial_factor + tangential_factor) + tangential * radius_squared


def _perspective_divide(points: ArrayT, clip: bool) -> ArrayT:
    divided = points[..., :2] / points[..., 2:]
    return xp.clip(divided, -1.0, 1.0) if clip else divided


def _check_points_3d(points: ArrayT, name: str = "points") -> ArrayT:
    points = xp.as_float_array(points)
    xp.check_last_dims(points, name, (3,), "(..., 3)")
    return points


def _align_intrinsics(points: ArrayT, intrinsics: ArrayT) -> ArrayT:
    """Insert axes after the intrinsics' leading dims so they align LEFT with the points' (VideoPose3D)."""
    intrinsics = xp.as_float_array(intrinsics)
    xp.check_last_dims(intrinsics, "intrinsics", (9,), "(..., 9) as [fx, fy, cx, cy, k1, k2, k3, p1, p2]")
    if intrinsics.ndim > points.ndim:
        raise ValueError(
            f"intrinsics {xp.shape_text(intrinsics)} has more leading dimensions than points {xp.shape_text(points)}"
        )
    leading = tuple(intrinsics.shape[:-1])
    if tuple(points.shape[: len(leading)]) != leading and leading:
        try:
            xp.broadcast_shapes(tuple(points.shape[: len(leading)]), leading)
        except ValueError as error:
            raise ValueError(
                f"intrinsics leading shape {leading} must match the first dimensions of points {xp.shape_text(points)}"
            ) from error
    aligned_shape = leading + (1,) * (points.ndim - 1 - len(leading)) + (9,)
    return xp.like(intrinsics, points).reshape(aligned_shape)  # (N, 9) -> (N, 1, ..., 1, 9)


def project_to_2d(points: ArrayT, intrinsics: ArrayT, clip: bool = True) -> ArrayT:
    """Project camera-space points with the H36M distortion model (VideoPose3D ``project_to_2d``).

    Args:
        points: ``(..., J, 3)`` points in camera space (any unit; only ratios matter).
        intrinsics: ``(..., 9)`` ``[fx, fy, cx, cy, k1, k2, k3, p1, p2]``; its leading dimensions
            align with the FIRST dimensions of ``points`` (``(N, 9)`` with ``(N, T, J, 3)``, as in
            VideoPose3D), and a single ``(9,)`` applies to all. With normalised intrinsics (as
            VideoPose3D stores them) the result is in normalised screen coordinates; with pixel
            intrinsics it is in pixels.
        clip: Clip ``X/Z, Y/Z`` to ``[-1, 1]`` as VideoPose3D does.

    Returns:
        ``(..., J, 2)`` projected points. numpy or torch.
    """
    points = _check_points_3d(points)
    aligned = _align_intrinsics(points, intrinsics)
    focal, center = aligned[..., 0:2], aligned[..., 2:4]
    radial, tangential = aligned[..., 4:7], aligned[..., 7:9]
    normalized = _perspective_divide(points, clip)
    return focal * _distort(normalized, radial, tangential) + center


def project_to_2d_linear(points: ArrayT, intrinsics: ArrayT, clip: bool = True) -> ArrayT:
    """Pinhole projection with the focal and centre of a 9-vector (VideoPose3D ``project_to_2d_linear``).

    Args:
        points: ``(..., J, 3)`` camera-space points.
        intrinsics: ``(..., 9)`` as in :func:`project_to_2d` (distortion entries ignored).
        clip: Clip ``X/Z, Y/Z`` to ``[-1, 1]`` as VideoPose3D does.

    Returns:
        ``(..., J, 2)`` projected points. numpy or torch.
    """
    points = _check_points_3d(points)
    aligned = _align_intrinsics(points, intrinsics)
    return aligned[..., 0:2] * _perspective_divide(points, clip) + aligned[..., 2:4]


def project_pinhole(points: ArrayT, focal: ArrayT, center: ArrayT) -> ArrayT:
    """Undistorted pinhole projection ``u = f * X / Z + c`` (no clipping).

    Args:
        points: ``(..., 3)`` camera-space points.
        focal: ``(..., 2)`` ``(fx, fy)`` in pixels, broadcasting (numpy rules) with
            ``points[..., :2]``; a ``(2,)`` applies to all.
        center: ``(..., 2)`` ``(cx, cy)`` in pixels, broadcasting likewise.

    Returns:
        ``(..., 2)`` pixels. numpy or torch.
    """
    points = _check_points_3d(points)
    focal = xp.like(xp.as_float_array(focal), points)
    center = xp.like(xp.as_float_array(center), points)
    xp.check_last_dims(focal, "focal", (2,), "(..., 2)")
    xp.check_last_dims(center, "center", (2,), "(..., 2)")
    return focal * (points[..., :2] / points[..., 2:]) + center


def normalize_screen_coordinates(points: ArrayT, width: float, height: float) -> ArrayT:
    """Pixels to VideoPose3D normalised screen coordinates: ``X / w * 2 - [1, h / w]``.

    ``[0, w]`` maps to ``[-1, 1]``; y is scaled by the same factor (aspect ratio kept).

    Args:
        points: ``(..., 2)`` pixel coordinates.
        width: Image width ``w`` in pixels.
        height: Image height ``h`` in pixels.

    Returns:
        ``(..., 2)`` normalised coordinates. numpy or torch.
    """
    points = xp.as_float_array(points)
    xp.check_last_dims(points, "points", (2,), "(..., 2)")
    return points / width * 2.0 - xp.like([1.0, height / width], points)


def image_coordinates(points: ArrayT, width: float, height: float) -> ArrayT:
    """Inverse of :func:`normalize_screen_coordinates`: ``(X + [1, h / w]) * w / 2``.

    Args:
        points: ``(..., 2)`` normalised coordinates.
        width: Image width ``w`` in pixels.
        height: Image height ``h`` in pixels.

    Returns:
        ``(..., 2)`` pixel coordinates. numpy or torch.
    """
    points = xp.as_float_array(points)
    xp.check_last_dims(points, "points", (2,), "(..., 2)")
    return (points + xp.like([1.0, height / width], points)) * (width / 2.0)


def _frozen_vector(values: Any, size: int, name: str) -> np.ndarray:
    array = np.array(values, dtype=np.float64)  # copy
    if array.shape != (size,):
        raise ValueError(f"Camera.{name} must have shape ({size},), got {xp.shape_text(array)}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"Camera.{name} must be finite, got {array.tolist()}")
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class Camera:
    """A calibrated camera: intrinsics in pixels, H36M distortion, extrinsics in metres.

    ``X_cam = R @ X_world + t``. Arrays are stored as read-only float64 numpy arrays (so cameras
    compare by identity, ``eq=False``: compare fields with ``np.allclose`` instead); methods
    accept numpy or torch points and return the same kind (torch: differentiable, in the points'
    dtype and device).

    Attributes:
        focal: ``(2,)`` ``(fx, fy)`` in pixels.
        center: ``(2,)`` principal point ``(cx, cy)`` in pixels.
        radial: ``(3,)`` ``(k1, k2, k3)``.
        tangential: ``(2,)`` ``(p1, p2)`` (H36M model, see the module docstring).
        R: ``(3, 3)`` world-to-camera rotation.
        t: ``(3,)`` world-to-camera translation in metres (the world origin in camera coordinates).
        image_size: ``(w, h)`` in pixels, or None when unknown.
    """

    focal: np.ndarray
    center: np.ndarray
    radial: np.ndarray = field(default_factory=lambda: np.zeros(3))
    tangential: np.ndarray = field(default_factory=lambda: np.zeros(2))
    R: np.ndarray = field(default_factory=lambda: np.eye(3))
    t: np.ndarray = field(default_factory=lambda: np.zeros(3))
    image_size: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "focal", _frozen_vector(self.focal, 2, "focal"))
        object.__setattr__(self, "center", _frozen_vector(self.center, 2, "center"))
        object.__setattr__(self, "radial", _frozen_vector(self.radial, 3, "radial"))
        object.__setattr__(self, "tangential", _frozen_vector(self.tangential, 2, "tangential"))
        object.__setattr__(self, "t", _frozen_vector(self.t, 3, "t"))
        rotation = np.array(self.R, dtype=np.float64)
        if rotation.shape != (3, 3):
            raise ValueError(f"Camera.R must have shape (3, 3), got {xp.shape_text(rotation)}")
        if not np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-5) or np.linalg.det(rotation) < 0:
            raise ValueError("Camera.R must be a rotation matrix (orthonormal, determinant +1)")
        rotation.flags.writeable = False
        object.__setattr__(self, "R", rotation)
        if self.image_size is not None:
            size = tuple(int(value) for value in self.image_size)
            if len(size) != 2 or min(size) <= 0:
                raise ValueError(f"Camera.image_size must be (w, h) with positive entries, got {self.image_size!r}")
            object.__setattr__(self, "image_size", size)
        if np.any(self.focal <= 0):
            raise ValueError(f"Camera.focal must be positive, got {self.focal.tolist()}")

    @classmethod
    def from_h36m(cls, params: Mapping[str, Any], translation_scale: float = 1e-3) -> Camera:
        """Build a camera from Human3.6M parameters as VideoPose3D lists them (``h36m_dataset.py``).

        Expected keys (raw values, before VideoPose3D's normalisation): ``focal_length`` (2,) and
        ``center`` (2,) in pixels; ``radial_distortion`` (3,); ``tangential_distortion`` (2,);
        ``orientation`` (4,) quaternion ``(w, x, y, z)`` rotating CAMERA axes into WORLD axes;
        ``translation`` (3,) the camera position in the world, in millimetres; optional ``res_w``
        and ``res_h``. Missing extrinsics give ``R = I``, ``t = 0``.

        VideoPose3D maps ``X_cam = qrot(qinverse(orientation), X_world - translation / 1000)``; here
        that is ``R = quaternion_to_matrix(orientation).T`` and ``t = -R @ translation / 1000``.

        Args:
            params: The parameter mapping.
            translation_scale: Factor from the translation's unit to metres (1e-3 for mm).

        Returns:
            The camera.
        """
        required = ("focal_length", "center")
        missing = [key for key in required if key not in params]
        if missing:
            raise ValueError(f"H36M camera parameters need keys {required}, missing {missing}")
        rotation = np.eye(3)
        translation = np.zeros(3)
        if "orientation" in params:
            orientation = np.asarray(params["orientation"], dtype=np.float64)
            if orientation.shape != (4,):
                raise ValueError(f"orientation must be a (w, x, y, z) quaternion, got {xp.shape_text(orientation)}")
            rotation = quaternion_to_matrix(quaternion_inverse(orientation))
        if "translation" in params:
            position = np.asarray(params["translation"], dtype=np.float64) * translation_scale
            if position.shape != (3,):
                raise ValueError(f"translation must have shape (3,), got {xp.shape_text(position)}")
            translation = -rotation @ position
        image_size = None
        if "res_w" in params and "res_h" in params:
            image_size = (int(params["res_w"]), int(params["res_h"]))
        return cls(
            focal=np.asarray(params["focal_length"]),
            center=np.asarray(params["center"]),
            radial=np.asarray(params.get("radial_distortion", np.zeros(3))),
            tangential=np.asarray(params.get("tangential_distortion", np.zeros(2))),
            R=rotation,
            t=translation,
            image_size=image_size,
        )

    def intrinsics(self) -> np.ndarray:
        """``(9,)`` ``[fx, fy, cx, cy, k1, k2, k3, p1, p2]`` in pixels."""
        return np.concatenate([self.focal, self.center, self.radial, self.tangential])

    def normalized_intrinsics(self) -> np.ndarray:
        """``(9,)`` intrinsics normalised as VideoPose3D stores them (``f / w * 2``, ``c / w * 2 - [1, h / w]``).

        Raises:
            ValueError: When ``image_size`` is unknown.
        """
        if self.image_size is None:
            raise ValueError("normalized_intrinsics needs Camera.image_size (w, h), which is None")
        width, height = self.image_size
        focal = self.focal / width * 2.0
        center = normalize_screen_coordinates(self.center, width, height)
        return np.concatenate([focal, center, self.radial, self.tangential])

    def world_to_camera(self, points: ArrayT) -> ArrayT:
        """``X_cam = R @ X_world + t`` for ``(..., 3)`` world points (metres). numpy or torch."""
        points = _check_points_3d(points)
        rotation = xp.like(self.R, points)
        return points @ xp.swap_last(rotation) + xp.like(self.t, points)

    def camera_to_world(self, points: ArrayT) -> ArrayT:
        """``X_world = R^T @ (X_cam - t)`` for ``(..., 3)`` camera points (metres). numpy or torch."""
        points = _check_points_3d(points)
        rotation = xp.like(self.R, points)
        return (points - xp.like(self.t, points)) @ rotation

    def project(self, points: ArrayT, clip: bool = True) -> ArrayT:
        """Project ``(..., 3)`` camera-space points to ``(..., 2)`` pixels with distortion. numpy or torch.

        Args:
            points: ``(..., 3)`` points in camera space (metres).
            clip: Clip ``X/Z, Y/Z`` to ``[-1, 1]`` as VideoPose3D does.

        Returns:
            ``(..., 2)`` pixel coordinates.
        """
        points = _check_points_3d(points)
        normalized = _perspective_divide(points, clip)
        distorted = _distort(normalized, xp.like(self.radial, points), xp.like(self.tangential, points))
        return xp.like(self.focal, points) * distorted + xp.like(self.center, points)

    def project_world(self, points: ArrayT, clip: bool = True) -> ArrayT:
        """:meth:`project` of :meth:`world_to_camera`: ``(..., 3)`` world points to ``(..., 2)`` pixels."""
        return self.project(self.world_to_camera(points), clip=clip)
