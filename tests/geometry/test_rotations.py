"""Rotations: round trips across every pair (numpy and torch, float32/64), parity with scipy, edge angles."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from posekit.geometry import (
    axis_angle_to_matrix,
    axis_angle_to_quaternion,
    euler_to_matrix,
    matrix_to_axis_angle,
    matrix_to_euler,
    matrix_to_quaternion,
    matrix_to_rotation_6d,
    quaternion_inverse,
    quaternion_multiply,
    quaternion_rotate,
    quaternion_to_axis_angle,
    quaternion_to_matrix,
    rotation_6d_to_matrix,
)

CONVENTIONS = ["XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX", "xyz", "zyx", "yxz", "XYX", "ZXZ", "YZY", "zyz", "xzx"]


def random_matrices(count: int, seed: int = 0) -> np.ndarray:
    return Rotation.random(count, random_state=seed).as_matrix()


def to_kind(array: np.ndarray, kind: str, dtype: str) -> np.ndarray | torch.Tensor:
    if kind == "torch":
        return torch.tensor(array, dtype=getattr(torch, dtype))
    return array.astype(dtype)


def to_numpy(value: np.ndarray | torch.Tensor) -> np.ndarray:
    return value.detach().numpy() if isinstance(value, torch.Tensor) else value


@pytest.mark.parametrize("kind", ["numpy", "torch"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trips_between_all_representations(kind: str, dtype: str) -> None:
    matrices_np = random_matrices(200).reshape(4, 50, 3, 3)  # extra leading dims
    matrices = to_kind(matrices_np, kind, dtype)
    atol = 2e-5 if dtype == "float32" else 1e-10
    representations = {
        "axis_angle": (matrix_to_axis_angle, axis_angle_to_matrix),
        "quaternion": (matrix_to_quaternion, quaternion_to_matrix),
        "rotation_6d": (matrix_to_rotation_6d, rotation_6d_to_matrix),
    }
    for name, (forward, backward) in representations.items():
        encoded = forward(matrices)  # type: ignore[operator]
        assert type(encoded) is type(matrices), name
        assert encoded.dtype == matrices.dtype, name
        np.testing.assert_allclose(to_numpy(backward(encoded)), matrices_np, atol=atol, err_msg=name)  # type: ignore[operator]
    for convention in CONVENTIONS:
        angles = matrix_to_euler(matrices, convention)
        assert angles.dtype == matrices.dtype
        np.testing.assert_allclose(to_numpy(euler_to_matrix(angles, convention)), matrices_np, atol=atol * 5)
    axis_angle = matrix_to_axis_angle(matrices)
    quaternion = axis_angle_to_quaternion(axis_angle)
    np.testing.assert_allclose(to_numpy(quaternion_to_axis_angle(quaternion)), to_numpy(axis_angle), atol=atol * 5)
    np.testing.assert_allclose(to_numpy(quaternion), to_numpy(matrix_to_quaternion(matrices)), atol=atol * 5)


def test_parity_with_scipy() -> None:
    rotation = Rotation.random(300, random_state=1)
    matrices = rotation.as_matrix()
    np.testing.assert_allclose(axis_angle_to_matrix(rotation.as_rotvec()), matrices, atol=1e-12)
    np.testing.assert_allclose(matrix_to_axis_angle(matrices), rotation.as_rotvec(), atol=1e-12)
    scipy_quaternion = rotation.as_quat(scalar_first=True)
    scipy_quaternion *= np.sign(scipy_quaternion[:, :1])
    np.testing.assert_allclose(matrix_to_quaternion(matrices), scipy_quaternion, atol=1e-12)
    np.testing.assert_allclose(quaternion_to_matrix(scipy_quaternion), matrices, atol=1e-12)
    angles = np.random.default_rng(2).uniform(-np.pi, np.pi, size=(300, 3))
    for convention in CONVENTIONS:
        np.testing.assert_allclose(
            euler_to_matrix(angles, convention), Rotation.from_euler(convention, angles).as_matrix(), atol=1e-12
        )
        np.testing.assert_allclose(
            matrix_to_euler(matrices, convention), rotation.as_euler(convention), atol=1e-9, err_msg=convention
        )
    degrees = np.array([10.0, -20.0, 30.0])
    np.testing.assert_allclose(
        euler_to_matrix(degrees, "ZYX", degrees=True), Rotation.from_euler("ZYX", degrees, degrees=True).as_matrix()
    )
    np.testing.assert_allclose(matrix_to_euler(euler_to_matrix(degrees, "ZYX", degrees=True), "ZYX", True), degrees)


def test_elementary_hand_values() -> None:
    quarter_turn_z = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(axis_angle_to_matrix(np.array([0.0, 0.0, np.pi / 2])), quarter_turn_z, atol=1e-15)
    np.testing.assert_allclose(
        euler_to_matrix(np.array([0.0, 0.0, 90.0]), "XYZ", degrees=True), quarter_turn_z, atol=1e-15
    )
    half = np.sqrt(0.5)
    np.testing.assert_allclose(matrix_to_quaternion(quarter_turn_z), [half, 0.0, 0.0, half], atol=1e-15)
    np.testing.assert_allclose(
        quaternion_rotate(np.array([half, 0, 0, half]), np.array([1.0, 0, 0])), [0, 1.0, 0], atol=1e-15
    )


@pytest.mark.parametrize("angle", [0.0, 1e-12, 1e-7, 1e-3, np.pi - 1e-3, np.pi - 1e-7, np.pi])
def test_matrix_to_axis_angle_near_zero_and_pi(angle: float) -> None:
    axes = np.random.default_rng(3).normal(size=(20, 3))
    axes /= np.linalg.norm(axes, axis=-1, keepdims=True)
    axis_angle = axes * angle
    matrices = Rotation.from_rotvec(axis_angle).as_matrix()
    np.testing.assert_allclose(axis_angle_to_matrix(axis_angle), matrices, atol=1e-15)
    recovered = matrix_to_axis_angle(matrices)
    if angle == np.pi:  # +axis and -axis are the same rotation
        signs = np.sign(np.sum(recovered * axis_angle, axis=-1, keepdims=True))
        recovered = recovered * signs
    np.testing.assert_allclose(recovered, axis_angle, atol=1e-12)
    np.testing.assert_allclose(axis_angle_to_matrix(recovered), matrices, atol=1e-14)


def test_axis_angle_gradients_finite_and_exact_at_zero() -> None:
    axis_angle = torch.zeros(3, 3, dtype=torch.float64, requires_grad=True)
    matrices = axis_angle_to_matrix(axis_angle)
    # dR/dw at 0 is the cross-product generator: d R[1, 0] / d w_z = 1, d R[0, 1] / d w_z = -1.
    (matrices[:, 1, 0] - matrices[:, 0, 1]).sum().backward()
    assert axis_angle.grad is not None
    torch.testing.assert_close(axis_angle.grad, torch.tensor([[0.0, 0.0, 2.0]] * 3, dtype=torch.float64))
    for function in (axis_angle_to_quaternion, lambda value: quaternion_to_axis_angle(axis_angle_to_quaternion(value))):
        value = torch.zeros(2, 3, requires_grad=True)
        function(value).sum().backward()
        assert value.grad is not None and torch.isfinite(value.grad).all()
    identity = torch.eye(3, dtype=torch.float64).repeat(2, 1, 1).requires_grad_(True)
    matrix_to_axis_angle(identity).sum().backward()
    assert identity.grad is not None and torch.isfinite(identity.grad).all()
    assert torch.autograd.gradcheck(
        axis_angle_to_matrix, (torch.tensor([[1e-9, -2e-9, 0.5e-9]], dtype=torch.float64, requires_grad=True),)
    )
    assert torch.autograd.gradcheck(
        axis_angle_to_matrix, (torch.tensor([[0.3, -1.2, 2.0]], dtype=torch.float64, requires_grad=True),)
    )


def test_rotation_6d_uses_first_two_columns_like_spin_vibe() -> None:
    matrix = random_matrices(1, seed=4)[0]
    np.testing.assert_array_equal(matrix_to_rotation_6d(matrix), matrix[:, :2].reshape(6))
    # Gram-Schmidt on arbitrary 6D input: columns a1 = x[0::2], a2 = x[1::2] (x.view(-1, 3, 2)).
    values = np.random.default_rng(5).normal(size=(10, 6))
    matrices = rotation_6d_to_matrix(values)
    np.testing.assert_allclose(
        matrices @ np.swapaxes(matrices, -1, -2), np.broadcast_to(np.eye(3), (10, 3, 3)), atol=1e-12
    )
    np.testing.assert_allclose(np.linalg.det(matrices), 1.0)
    first_columns = values[:, 0::2] / np.linalg.norm(values[:, 0::2], axis=-1, keepdims=True)
    np.testing.assert_allclose(matrices[:, :, 0], first_columns, atol=1e-12)
    # The second column lies in the plane of a1 and a2.
    normal = np.cross(values[:, 0::2], values[:, 1::2])
    np.testing.assert_allclose(np.sum(normal * matrices[:, :, 1], axis=-1), 0.0, atol=1e-12)
    assert np.all(np.sum(values[:, 1::2] * matrices[:, :, 1], axis=-1) > 0)


def test_quaternion_algebra_matches_matrices() -> None:
    rotation_a, rotation_b = Rotation.random(50, random_state=6), Rotation.random(50, random_state=7)
    quaternion_a = rotation_a.as_quat(scalar_first=True)
    quaternion_b = rotation_b.as_quat(scalar_first=True)
    product = quaternion_multiply(quaternion_a, quaternion_b)
    np.testing.assert_allclose(
        quaternion_to_matrix(product), rotation_a.as_matrix() @ rotation_b.as_matrix(), atol=1e-12
    )
    identity = quaternion_multiply(quaternion_a, quaternion_inverse(quaternion_a))
    np.testing.assert_allclose(identity, np.tile([1.0, 0, 0, 0], (50, 1)), atol=1e-12)
    np.testing.assert_allclose(quaternion_inverse(2.0 * quaternion_a), quaternion_inverse(quaternion_a) / 2.0)
    vectors = np.random.default_rng(8).normal(size=(50, 3))
    np.testing.assert_allclose(quaternion_rotate(quaternion_a, vectors), rotation_a.apply(vectors), atol=1e-12)
    # One quaternion broadcasts over a batch of vectors (VideoPose3D needs np.tile for this).
    many = np.random.default_rng(9).normal(size=(4, 17, 3))
    np.testing.assert_allclose(quaternion_rotate(quaternion_a[0], many), many @ rotation_a[0].as_matrix().T, atol=1e-12)
    torch_rotated = quaternion_rotate(torch.tensor(quaternion_a), torch.tensor(vectors))
    np.testing.assert_allclose(torch_rotated.numpy(), rotation_a.apply(vectors), atol=1e-12)


def test_gimbal_lock_round_trips() -> None:
    for convention, middle in [
        ("XYZ", np.pi / 2),
        ("XYZ", -np.pi / 2),
        ("zyx", np.pi / 2),
        ("ZXZ", 0.0),
        ("ZXZ", np.pi),
        ("yzy", 0.0),
    ]:
        angles = np.array([0.7, middle, -0.4])
        matrix = euler_to_matrix(angles, convention)
        recovered = matrix_to_euler(matrix, convention)
        np.testing.assert_allclose(euler_to_matrix(recovered, convention), matrix, atol=1e-12, err_msg=convention)
        assert recovered[2 if convention.isupper() else 0] == 0.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: axis_angle_to_matrix(np.zeros((4, 4))), r"axis_angle must have shape \(\.\.\., 3\), got \(4, 4\)"),
        (lambda: matrix_to_quaternion(np.zeros((4, 3))), r"rotation matrix must have shape \(\.\.\., 3, 3\)"),
        (lambda: quaternion_to_matrix(np.zeros(3)), "quaternion must have shape"),
        (lambda: rotation_6d_to_matrix(np.zeros((2, 9))), "rotation_6d must have shape"),
        (lambda: euler_to_matrix(np.zeros(3), "XYW"), "convention must be"),
        (lambda: euler_to_matrix(np.zeros(3), "XyZ"), "convention must be"),
        (lambda: euler_to_matrix(np.zeros(3), "XXY"), "must not repeat"),
        (lambda: matrix_to_euler(np.eye(3), "XY"), "convention must be"),
    ],
)
def test_bad_inputs_raise_value_error(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]
