"""3D rotations: axis-angle, quaternions, rotation matrices, the 6D representation and Euler angles.

All functions are pure, batched over any leading dimensions ``...``, and accept numpy arrays or
torch tensors (float32 or float64; the output has the input's kind and dtype, and torch outputs
are differentiable).

Conventions:

* Rotation matrices ``R (..., 3, 3)`` act on column vectors: ``x' = R @ x``.
* Axis-angle ``(..., 3)``: unit axis times angle in radians (right-hand rule).
* Quaternions ``(..., 4)`` are ordered ``(w, x, y, z)`` (scalar first, as VideoPose3D and SMPL
  code); they represent ``R`` and ``-q`` represents the same rotation. Functions returning a
  quaternion return the canonical one with ``w >= 0``.
* The 6D representation (Zhou et al., "On the Continuity of Rotation Representations in Neural
  Networks", CVPR 2019, Sec. 4.2) holds the FIRST TWO COLUMNS of ``R``, laid out as the rows of
  that ``(3, 2)`` block: ``[R00, R01, R10, R11, R20, R21]``. This is what SPIN/VIBE
  ``rot6d_to_rotmat`` read with ``x.view(-1, 3, 2)``, so their network outputs plug in unchanged.
* Euler angles follow scipy's convention strings: upper case (``"XYZ"``) is intrinsic, i.e.
  ``R = R_X(a0) @ R_Y(a1) @ R_Z(a2)``; lower case (``"xyz"``) is extrinsic, i.e.
  ``R = R_z(a2) @ R_y(a1) @ R_x(a0)``. Tait-Bryan (three different axes) and proper Euler
  (first axis == last axis) sequences are both supported.
"""

from __future__ import annotations

import math

from posekit.geometry import array_api as xp
from posekit.geometry.array_api import ArrayT

__all__ = [
    "axis_angle_to_matrix",
    "axis_angle_to_quaternion",
    "euler_to_matrix",
    "matrix_to_axis_angle",
    "matrix_to_euler",
    "matrix_to_quaternion",
    "matrix_to_rotation_6d",
    "quaternion_inverse",
    "quaternion_multiply",
    "quaternion_rotate",
    "quaternion_to_axis_angle",
    "quaternion_to_matrix",
    "rotation_6d_to_matrix",
]

# Below this squared angle (rad^2) the series expansions are used; their truncation error is
# below 1e-17 there, and the closed forms are exact enough above it in float64.
_SMALL_ANGLE_SQUARED = 1e-4


def _sinc_half(theta_squared: ArrayT) -> ArrayT:
    """``sin(theta / 2) / theta`` from ``theta**2``, smooth (finite gradient) at 0."""
    small = theta_squared < _SMALL_ANGLE_SQUARED
    safe_squared = xp.where(small, xp.ones_like(theta_squared), theta_squared)
    theta = xp.sqrt(safe_squared)
    exact = xp.sin(theta * 0.5) / theta
    # sin(t/2)/t = 1/2 - t^2/48 + t^4/3840 - ...
    series = 0.5 - theta_squared / 48.0 + theta_squared * theta_squared / 3840.0
    return xp.where(small, series, exact)


def _check_vectors(value: ArrayT, name: str, size: int) -> ArrayT:
    value = xp.as_float_array(value)
    xp.check_last_dims(value, name, (size,), f"(..., {size})")
    return value


def _check_matrices(matrix: ArrayT) -> ArrayT:
    matrix = xp.as_float_array(matrix)
    xp.check_last_dims(matrix, "rotation matrix", (3, 3), "(..., 3, 3)")
    return matrix


def quaternion_to_matrix(quaternion: ArrayT) -> ArrayT:
    """Rotation matrices from quaternions.

    Args:
        quaternion: ``(..., 4)`` quaternions ``(w, x, y, z)``; they need not be unit length (they
            are normalised, as SPIN/VIBE ``quat2mat`` does).

    Returns:
        ``(..., 3, 3)`` rotation matrices.
    """
    quaternion = _check_vectors(quaternion, "quaternion", 4)
    w, x, y, z = quaternion[..., 0], quaternion[..., 1], quaternion[..., 2], quaternion[..., 3]
    two_over_norm = 2.0 / xp.sum_(quaternion * quaternion, axis=-1)
    rows = [
        1.0 - two_over_norm * (y * y + z * z),
        two_over_norm * (x * y - w * z),
        two_over_norm * (x * z + w * y),
        two_over_norm * (x * y + w * z),
        1.0 - two_over_norm * (x * x + z * z),
        two_over_norm * (y * z - w * x),
        two_over_norm * (x * z - w * y),
        two_over_norm * (y * z + w * x),
        1.0 - two_over_norm * (x * x + y * y),
    ]
    flat = xp.stack(rows, axis=-1)
    return flat.reshape(tuple(flat.shape[:-1]) + (3, 3))  # (..., 9) -> (..., 3, 3)


def matrix_to_quaternion(matrix: ArrayT) -> ArrayT:
    """Quaternions from rotation matrices, numerically robust for every angle (0 and pi included).

    Uses the four-candidate construction (Shepperd 1978): each of ``w, x, y, z`` is recovered from
    the diagonal, and the one with the largest magnitude is used as the divisor.

    Args:
        matrix: ``(..., 3, 3)`` rotation matrices.

    Returns:
        ``(..., 4)`` unit quaternions ``(w, x, y, z)`` with ``w >= 0``.
    """
    matrix = _check_matrices(matrix)
    m00, m01, m02 = matrix[..., 0, 0], matrix[..., 0, 1], matrix[..., 0, 2]
    m10, m11, m12 = matrix[..., 1, 0], matrix[..., 1, 1], matrix[..., 1, 2]
    m20, m21, m22 = matrix[..., 2, 0], matrix[..., 2, 1], matrix[..., 2, 2]
    # (2w)^2, (2x)^2, (2y)^2, (2z)^2; clipped away from 0 so that sqrt has a finite gradient.
    squared = xp.stack(
        [1.0 + m00 + m11 + m22, 1.0 + m00 - m11 - m22, 1.0 - m00 + m11 - m22, 1.0 - m00 - m11 + m22], axis=-1
    )
    doubled = xp.sqrt(xp.clip(squared, minimum=1e-12))  # (..., 4): 2|w|, 2|x|, 2|y|, 2|z|
    # Candidate i holds 4 * q_i * q; dividing by 2 * (2 |q_i|) gives q (up to sign).
    candidates = xp.stack(
        [
            xp.stack([squared[..., 0], m21 - m12, m02 - m20, m10 - m01], axis=-1),
            xp.stack([m21 - m12, squared[..., 1], m10 + m01, m02 + m20], axis=-1),
            xp.stack([m02 - m20, m10 + m01, squared[..., 2], m12 + m21], axis=-1),
            xp.stack([m10 - m01, m20 + m02, m21 + m12, squared[..., 3]], axis=-1),
        ],
        axis=-2,
    )  # (..., 4 candidates, 4 components)
    candidates = candidates / (2.0 * xp.clip(doubled, minimum=0.1))[..., None]
    best = xp.argmax(doubled, axis=-1)  # (...,)
    one_hot = xp.eye(4, doubled)[best]  # (..., 4)
    quaternion = xp.sum_(candidates * one_hot[..., None], axis=-2)  # (..., 4)
    quaternion = quaternion / xp.norm(quaternion, keepdims=True)
    return xp.where(quaternion[..., :1] < 0, -quaternion, quaternion)


def axis_angle_to_quaternion(axis_angle: ArrayT) -> ArrayT:
    """Quaternions from axis-angle vectors (smooth at the zero rotation).

    Args:
        axis_angle: ``(..., 3)`` axis times angle, radians.

    Returns:
        ``(..., 4)`` unit quaternions ``(w, x, y, z)``; ``w >= 0`` for angles up to pi.
    """
    axis_angle = _check_vectors(axis_angle, "axis_angle", 3)
    theta_squared = xp.sum_(axis_angle * axis_angle, axis=-1, keepdims=True)
    small = theta_squared < _SMALL_ANGLE_SQUARED
    theta = xp.sqrt(xp.where(small, xp.ones_like(theta_squared), theta_squared))
    # cos(t/2) = 1 - t^2/8 + t^4/384 near 0 (avoids sqrt's infinite gradient at 0).
    cos_half = xp.where(small, 1.0 - theta_squared / 8.0 + theta_squared * theta_squared / 384.0, xp.cos(theta * 0.5))
    return xp.concatenate([cos_half, axis_angle * _sinc_half(theta_squared)], axis=-1)


def quaternion_to_axis_angle(quaternion: ArrayT) -> ArrayT:
    """Axis-angle vectors from quaternions (robust near 0 and pi).

    Args:
        quaternion: ``(..., 4)`` quaternions ``(w, x, y, z)``, need not be unit length.

    Returns:
        ``(..., 3)`` axis-angle vectors with angle in ``[0, pi]``.
    """
    quaternion = _check_vectors(quaternion, "quaternion", 4)
    quaternion = quaternion / xp.norm(quaternion, keepdims=True)
    quaternion = xp.where(quaternion[..., :1] < 0, -quaternion, quaternion)
    w = quaternion[..., :1]
    vector = quaternion[..., 1:]
    sin_half_squared = xp.sum_(vector * vector, axis=-1, keepdims=True)
    # atan2(s, w) / s has no cancellation, so the closed form is exact down to tiny s; the series
    # (angle / s = 2/w (1 - u^2/3 + ...), u = s/w) only removes the 0/0 (and its gradient) at s = 0.
    small = sin_half_squared < 1e-8
    sin_half = xp.sqrt(xp.where(small, xp.ones_like(sin_half_squared), sin_half_squared))
    w_safe = xp.where(small, w, xp.ones_like(w))  # w >= 0.99 wherever the series is used
    series = 2.0 / w_safe * (1.0 - sin_half_squared / (3.0 * w_safe * w_safe))
    exact = 2.0 * xp.atan2(sin_half, w) / sin_half
    return vector * xp.where(small, series, exact)


def axis_angle_to_matrix(axis_angle: ArrayT) -> ArrayT:
    """Rotation matrices from axis-angle vectors (Rodrigues' formula), smooth at 0.

    ``R = I + sin(t)/t K + (1 - cos t)/t^2 K^2`` with ``K`` the cross-product matrix of the vector
    ``v`` and ``t`` its norm, evaluated as ``cos(t) I + sin(t)/t K + (1 - cos t)/t^2 v v^T``. The
    coefficients use ``1 - cos t = 2 sin^2(t/2)`` and series expansions near 0, so values and
    gradients are exact and finite at the zero rotation.

    Args:
        axis_angle: ``(..., 3)`` axis times angle, radians.

    Returns:
        ``(..., 3, 3)`` rotation matrices.
    """
    axis_angle = _check_vectors(axis_angle, "axis_angle", 3)
    theta_squared = xp.sum_(axis_angle * axis_angle, axis=-1)  # (...)
    sinc_half = _sinc_half(theta_squared)  # sin(t/2)/t
    small = theta_squared < _SMALL_ANGLE_SQUARED
    cos_half = xp.where(
        small,
        1.0 - theta_squared / 8.0 + theta_squared * theta_squared / 384.0,
        xp.cos(xp.sqrt(xp.where(small, xp.ones_like(theta_squared), theta_squared)) * 0.5),
    )
    a = 2.0 * sinc_half * cos_half  # sin(t)/t = 2 sin(t/2) cos(t/2) / t
    b = 2.0 * sinc_half * sinc_half  # (1 - cos t)/t^2 = 2 sin^2(t/2) / t^2
    c = 1.0 - b * theta_squared  # cos t
    # K^2 = v v^T - t^2 I, so R = cos(t) I + a K + b v v^T, written entry by entry (no batched matmul).
    x, y, z = axis_angle[..., 0], axis_angle[..., 1], axis_angle[..., 2]
    bxy, bxz, byz = b * x * y, b * x * z, b * y * z
    entries = [
        c + b * x * x, bxy - a * z, bxz + a * y,
        bxy + a * z, c + b * y * y, byz - a * x,
        bxz - a * y, byz + a * x, c + b * z * z,
    ]  # fmt: skip
    flat = xp.stack(entries, axis=-1)
    return flat.reshape(tuple(flat.shape[:-1]) + (3, 3))  # (..., 9) -> (..., 3, 3)


def matrix_to_axis_angle(matrix: ArrayT) -> ArrayT:
    """Axis-angle vectors from rotation matrices, robust near 0 and near pi.

    Goes through :func:`matrix_to_quaternion` (stable for every angle) and
    :func:`quaternion_to_axis_angle` (``atan2``-based), avoiding ``acos((trace - 1) / 2)``.

    Args:
        matrix: ``(..., 3, 3)`` rotation matrices.

    Returns:
        ``(..., 3)`` axis-angle vectors, angle in ``[0, pi]``. At exactly pi the sign of the axis
        is arbitrary (both represent the same rotation).
    """
    return quaternion_to_axis_angle(matrix_to_quaternion(matrix))


def quaternion_multiply(first: ArrayT, second: ArrayT) -> ArrayT:
    """Hamilton product ``first * second`` (apply ``second`` first, then ``first``).

    Args:
        first: ``(..., 4)`` quaternions ``(w, x, y, z)``.
        second: ``(..., 4)`` quaternions, broadcasting against ``first``.

    Returns:
        ``(..., 4)`` products (not re-normalised, not sign-canonicalised).
    """
    first = _check_vectors(first, "first", 4)
    second = _check_vectors(second, "second", 4)
    w1, x1, y1, z1 = first[..., 0], first[..., 1], first[..., 2], first[..., 3]
    w2, x2, y2, z2 = second[..., 0], second[..., 1], second[..., 2], second[..., 3]
    return xp.stack(
        [
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ],
        axis=-1,
    )


def quaternion_inverse(quaternion: ArrayT) -> ArrayT:
    """Quaternion inverse ``conj(q) / |q|^2`` (the conjugate for unit quaternions, VideoPose3D ``qinverse``).

    Args:
        quaternion: ``(..., 4)`` quaternions ``(w, x, y, z)``.

    Returns:
        ``(..., 4)`` inverses.
    """
    quaternion = _check_vectors(quaternion, "quaternion", 4)
    conjugate = xp.concatenate([quaternion[..., :1], -quaternion[..., 1:]], axis=-1)
    return conjugate / xp.sum_(quaternion * quaternion, axis=-1, keepdims=True)


def quaternion_rotate(quaternion: ArrayT, vectors: ArrayT) -> ArrayT:
    """Rotate vectors by unit quaternions (VideoPose3D ``qrot``): ``v + 2 (w (u x v) + u x (u x v))``.

    Args:
        quaternion: ``(..., 4)`` unit quaternions ``(w, x, y, z)``.
        vectors: ``(..., 3)`` vectors; leading dimensions broadcast against ``quaternion``'s
            (VideoPose3D requires equal shapes; a single quaternion ``(4,)`` rotates any batch).

    Returns:
        ``(..., 3)`` rotated vectors, equal to ``quaternion_to_matrix(q) @ v``.
    """
    quaternion = _check_vectors(quaternion, "quaternion", 4)
    vectors = _check_vectors(vectors, "vectors", 3)
    axis_part = quaternion[..., 1:]
    first_cross = xp.cross(axis_part, vectors)
    second_cross = xp.cross(axis_part, first_cross)
    return vectors + 2.0 * (quaternion[..., :1] * first_cross + second_cross)


def rotation_6d_to_matrix(rotation_6d: ArrayT) -> ArrayT:
    """Rotation matrices from the continuous 6D representation (Zhou et al. CVPR 2019, Eq. 15-16).

    The 6 numbers are read as a ``(3, 2)`` block whose columns ``a1, a2`` become the first two
    columns of ``R`` after Gram-Schmidt: ``b1 = a1/|a1|``, ``b2 = normalise(a2 - (b1.a2) b1)``,
    ``b3 = b1 x b2``; ``R = [b1 b2 b3]`` (columns), exactly as VIBE ``rot6d_to_rotmat`` (with its
    ``eps = 1e-6`` in the normalisation).

    Args:
        rotation_6d: ``(..., 6)`` values ``[a1x, a2x, a1y, a2y, a1z, a2z]``.

    Returns:
        ``(..., 3, 3)`` rotation matrices.
    """
    rotation_6d = _check_vectors(rotation_6d, "rotation_6d", 6)
    block = rotation_6d.reshape(tuple(rotation_6d.shape[:-1]) + (3, 2))  # (..., 6) -> (..., 3, 2)
    first = block[..., 0]
    second = block[..., 1]
    basis_1 = first / xp.clip(xp.norm(first, keepdims=True), minimum=1e-6)
    projected = second - xp.sum_(basis_1 * second, axis=-1, keepdims=True) * basis_1
    basis_2 = projected / xp.clip(xp.norm(projected, keepdims=True), minimum=1e-6)
    basis_3 = xp.cross(basis_1, basis_2)
    return xp.stack([basis_1, basis_2, basis_3], axis=-1)  # columns


def matrix_to_rotation_6d(matrix: ArrayT) -> ArrayT:
    """The 6D representation of rotation matrices: their first two columns (see the module docstring).

    Args:
        matrix: ``(..., 3, 3)`` rotation matrices.

    Returns:
        ``(..., 6)`` values ``[R00, R01, R10, R11, R20, R21]``.
    """
    matrix = _check_matrices(matrix)
    block = matrix[..., :, :2]
    return block.reshape(tuple(block.shape[:-2]) + (6,))  # (..., 3, 2) -> (..., 6)


_AXIS_INDEX = {"x": 0, "y": 1, "z": 2}


def _parse_convention(convention: str) -> tuple[list[int], bool]:
    """Axis indices in application order for an intrinsic product, and whether it was extrinsic."""
    if not isinstance(convention, str) or len(convention) != 3:
        raise ValueError(f"convention must be three axis letters such as 'XYZ' or 'xyz', got {convention!r}")
    if not (convention.isupper() or convention.islower()) or any(
        letter not in _AXIS_INDEX for letter in convention.lower()
    ):
        raise ValueError(
            f"convention must be three letters from X, Y, Z, all upper case (intrinsic) or all lower case "
            f"(extrinsic), got {convention!r}"
        )
    axes = [_AXIS_INDEX[letter] for letter in convention.lower()]
    if axes[0] == axes[1] or axes[1] == axes[2]:
        raise ValueError(f"convention must not repeat an axis in consecutive positions, got {convention!r}")
    extrinsic = convention.islower()
    if extrinsic:
        # Extrinsic a-b-c with angles (t0, t1, t2) == intrinsic c-b-a with angles (t2, t1, t0).
        axes = axes[::-1]
    return axes, extrinsic


def _elementary_rotation(axis: int, angle: ArrayT) -> ArrayT:
    """``(..., 3, 3)`` rotation about coordinate axis ``axis`` by ``angle (...)`` radians."""
    cosine, sine = xp.cos(angle), xp.sin(angle)
    one, zero = xp.ones_like(angle), xp.zeros_like(angle)
    if axis == 0:
        entries = [one, zero, zero, zero, cosine, -sine, zero, sine, cosine]
    elif axis == 1:
        entries = [cosine, zero, sine, zero, one, zero, -sine, zero, cosine]
    else:
        entries = [cosine, -sine, zero, sine, cosine, zero, zero, zero, one]
    flat = xp.stack(entries, axis=-1)
    return flat.reshape(tuple(flat.shape[:-1]) + (3, 3))  # (..., 9) -> (..., 3, 3)


def euler_to_matrix(angles: ArrayT, convention: str = "XYZ", degrees: bool = False) -> ArrayT:
    """Rotation matrices from Euler angles (scipy's ``Rotation.from_euler`` semantics).

    Args:
        angles: ``(..., 3)`` angles, in the order the convention string names the axes.
        convention: Three letters from ``XYZ``; upper case = intrinsic (``"XYZ"`` gives
            ``R_X(a0) @ R_Y(a1) @ R_Z(a2)``), lower case = extrinsic (``"xyz"`` gives
            ``R_z(a2) @ R_y(a1) @ R_x(a0)``).
        degrees: Angles are in degrees instead of radians.

    Returns:
        ``(..., 3, 3)`` rotation matrices.
    """
    axes, extrinsic = _parse_convention(convention)
    angles = _check_vectors(angles, "angles", 3)
    if degrees:
        angles = angles * (math.pi / 180.0)
    order = [2, 1, 0] if extrinsic else [0, 1, 2]
    matrices = [_elementary_rotation(axis, angles[..., index]) for axis, index in zip(axes, order, strict=True)]
    return matrices[0] @ matrices[1] @ matrices[2]


def matrix_to_euler(matrix: ArrayT, convention: str = "XYZ", degrees: bool = False) -> ArrayT:
    """Euler angles from rotation matrices; inverse of :func:`euler_to_matrix`.

    Angle ranges: for Tait-Bryan sequences the middle angle is in ``[-pi/2, pi/2]`` and the others
    in ``(-pi, pi]``; for proper Euler sequences the middle angle is in ``[0, pi]``. At gimbal lock
    (middle angle at its limit) the last angle is set to 0 and the first carries the rotation, so
    ``euler_to_matrix(matrix_to_euler(R)) == R`` still holds.

    Args:
        matrix: ``(..., 3, 3)`` rotation matrices.
        convention: As in :func:`euler_to_matrix`.
        degrees: Return degrees instead of radians.

    Returns:
        ``(..., 3)`` angles in the order of the convention string.
    """
    axes, extrinsic = _parse_convention(convention)
    matrix = _check_matrices(matrix)
    i, j, last = axes
    k = 3 - i - j  # the axis not among the first two
    parity = 1.0 if (i, j, k) in ((0, 1, 2), (1, 2, 0), (2, 0, 1)) else -1.0
    if last != i:  # Tait-Bryan: R = R_i(a) R_j(b) R_k(c)
        sin_middle = parity * matrix[..., i, k]
        cos_middle = xp.sqrt(matrix[..., i, i] ** 2 + matrix[..., i, j] ** 2)
        middle = xp.atan2(sin_middle, cos_middle)
        first = xp.atan2(-parity * matrix[..., j, k], matrix[..., k, k])
        third = xp.atan2(-parity * matrix[..., i, j], matrix[..., i, i])
        locked = cos_middle < 1e-7
    else:  # proper Euler: R = R_i(a) R_j(b) R_i(c)
        sin_middle = xp.sqrt(matrix[..., i, j] ** 2 + matrix[..., i, k] ** 2)
        middle = xp.atan2(sin_middle, matrix[..., i, i])
        first = xp.atan2(matrix[..., j, i], -parity * matrix[..., k, i])
        third = xp.atan2(matrix[..., i, j], parity * matrix[..., i, k])
        locked = sin_middle < 1e-7
    # Gimbal lock: set the third angle to 0; then R e_j = R_i(a) e_j = cos(a) e_j + parity sin(a) e_k.
    locked_first = xp.atan2(parity * matrix[..., k, j], matrix[..., j, j])
    first = xp.where(locked, locked_first, first)
    third = xp.where(locked, xp.zeros_like(third), third)
    angles = xp.stack([third, middle, first] if extrinsic else [first, middle, third], axis=-1)
    if degrees:
        angles = angles * (180.0 / math.pi)
    return angles
