"""Cameras: H36M distortion vs a per-point reference, VideoPose3D conventions, identities, shape errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from posekit.geometry import (
    Camera,
    image_coordinates,
    normalize_screen_coordinates,
    project_pinhole,
    project_to_2d,
    project_to_2d_linear,
)

# Human3.6M camera 54138969 with subject S1's extrinsics, as listed in VideoPose3D common/h36m_dataset.py.
H36M_S1_CAMERA_0 = {
    "id": "54138969",
    "center": [512.54150390625, 515.4514770507812],
    "focal_length": [1145.0494384765625, 1143.7811279296875],
    "radial_distortion": [-0.20709891617298126, 0.24777518212795258, -0.0030751503072679043],
    "tangential_distortion": [-0.0009756988729350269, -0.00142447161488235],
    "res_w": 1000,
    "res_h": 1002,
    "orientation": [0.1407056450843811, -0.1500701755285263, -0.755240797996521, 0.6223280429840088],
    "translation": [1841.1070556640625, 4955.28466796875, 1563.4454345703125],
}


def reference_project(point: np.ndarray, intrinsics: np.ndarray, clip: bool = True) -> tuple[float, float]:
    """The H36M model for one point, term by term (VideoPose3D project_to_2d, unvectorised)."""
    fx, fy, cx, cy, k1, k2, k3, p1, p2 = (float(value) for value in intrinsics)
    x, y = point[0] / point[2], point[1] / point[2]
    if clip:
        x, y = min(max(x, -1.0), 1.0), min(max(y, -1.0), 1.0)
    r2 = x * x + y * y
    radial = 1.0 + k1 * r2 + k2 * r2**2 + k3 * r2**3
    tangential = p1 * x + p2 * y
    x_distorted = x * (radial + tangential) + p1 * r2
    y_distorted = y * (radial + tangential) + p2 * r2
    return fx * x_distorted + cx, fy * y_distorted + cy


def reference_world_to_camera(points: np.ndarray, orientation: np.ndarray, position_m: np.ndarray) -> np.ndarray:
    """VideoPose3D world_to_camera: qrot(qinverse(q), X - t), with qrot's cross-product formula."""
    inverse = np.concatenate([orientation[:1], -orientation[1:]])
    vector = np.broadcast_to(inverse[1:], points.shape)
    shifted = points - position_m
    first = np.cross(vector, shifted)
    second = np.cross(vector, first)
    return shifted + 2 * (inverse[0] * first + second)


def test_project_hand_value() -> None:
    # x = X/Z = 0.5, y = 0: r2 = 0.25; radial = 1 + 0.1 * 0.25 = 1.025; tangential = p1 x = 0.005;
    # x_d = 0.5 * (1.025 + 0.005) + 0.01 * 0.25 = 0.5175; y_d = 0 + 0.02 * 0.25 = 0.005.
    camera = Camera(focal=[1000.0, 1100.0], center=[500.0, 400.0], radial=[0.1, 0.0, 0.0], tangential=[0.01, 0.02])
    pixels = camera.project(np.array([1.0, 0.0, 2.0]))
    np.testing.assert_allclose(pixels, [1000.0 * 0.5175 + 500.0, 1100.0 * 0.005 + 400.0], rtol=1e-14)


def test_project_matches_per_point_reference_with_h36m_distortion() -> None:
    camera = Camera.from_h36m(H36M_S1_CAMERA_0)
    rng = np.random.default_rng(0)
    points = np.concatenate([rng.uniform(-1.5, 1.5, size=(2, 5, 2)), rng.uniform(2.0, 6.0, size=(2, 5, 1))], axis=-1)
    points[0, 0] = [5.0, 0.1, 2.0]  # far outside the view: exercises VideoPose3D's clip
    pixels = camera.project(points)
    assert pixels.shape == (2, 5, 2)
    expected = np.array([[reference_project(p, camera.intrinsics()) for p in row] for row in points])
    np.testing.assert_allclose(pixels, expected, rtol=1e-12)
    unclipped = camera.project(points, clip=False)
    np.testing.assert_allclose(unclipped[0, 0], reference_project(points[0, 0], camera.intrinsics(), clip=False))
    assert not np.allclose(unclipped[0, 0], pixels[0, 0])


def test_normalised_project_to_2d_agrees_with_pixel_projection() -> None:
    camera = Camera.from_h36m(H36M_S1_CAMERA_0)
    width, height = camera.image_size  # type: ignore[misc]
    intrinsics = camera.normalized_intrinsics()
    # As VideoPose3D h36m_dataset.py computes it:
    np.testing.assert_allclose(intrinsics[:2], np.array(H36M_S1_CAMERA_0["focal_length"]) / width * 2)
    np.testing.assert_allclose(
        intrinsics[2:4], np.array(H36M_S1_CAMERA_0["center"]) / width * 2 - np.array([1, height / width])
    )
    points = np.random.default_rng(1).uniform([-0.8, -0.8, 3.0], [0.8, 0.8, 5.0], size=(4, 17, 3))
    normalized = project_to_2d(points, intrinsics)
    np.testing.assert_allclose(
        normalized, normalize_screen_coordinates(camera.project(points), width, height), atol=1e-12
    )
    np.testing.assert_allclose(image_coordinates(normalized, width, height), camera.project(points), atol=1e-9)


def test_project_to_2d_aligns_intrinsics_left_like_videopose3d() -> None:
    rng = np.random.default_rng(2)
    points = np.concatenate([rng.uniform(-1, 1, size=(3, 6, 17, 2)), rng.uniform(2, 5, size=(3, 6, 17, 1))], axis=-1)
    intrinsics = np.concatenate(
        [rng.uniform(0.5, 2.5, size=(3, 2)), rng.uniform(-0.1, 0.1, size=(3, 2)), rng.uniform(-0.2, 0.2, size=(3, 5))],
        axis=-1,
    )  # (N=3, 9): one camera per sequence
    projected = project_to_2d(points, intrinsics)
    assert projected.shape == (3, 6, 17, 2)
    for camera_index in range(3):
        single = project_to_2d(points[camera_index], intrinsics[camera_index])
        np.testing.assert_allclose(projected[camera_index], single, atol=1e-12)
        expected = reference_project(points[camera_index, 2, 5], intrinsics[camera_index])
        np.testing.assert_allclose(projected[camera_index, 2, 5], expected, rtol=1e-12)
    linear = project_to_2d_linear(points, intrinsics)
    pinhole = project_pinhole(points, intrinsics[:, None, None, 0:2], intrinsics[:, None, None, 2:4])
    inside = np.all(np.abs(points[..., :2] / points[..., 2:]) <= 1, axis=-1)
    np.testing.assert_allclose(linear[inside], pinhole[inside], atol=1e-12)


def test_project_to_2d_torch_matches_numpy_and_is_differentiable() -> None:
    camera = Camera.from_h36m(H36M_S1_CAMERA_0)
    points = np.random.default_rng(3).uniform([-0.5, -0.5, 3.0], [0.5, 0.5, 5.0], size=(2, 17, 3))
    points_torch = torch.tensor(points, requires_grad=True)
    intrinsics_torch = torch.tensor(camera.normalized_intrinsics()[None].repeat(2, axis=0))
    projected = project_to_2d(points_torch, intrinsics_torch)
    assert isinstance(projected, torch.Tensor) and projected.dtype == torch.float64
    np.testing.assert_allclose(projected.detach().numpy(), project_to_2d(points, camera.normalized_intrinsics()))
    projected.sum().backward()
    assert points_torch.grad is not None and torch.isfinite(points_torch.grad).all()
    pixels = camera.project(torch.tensor(points, dtype=torch.float32))
    assert isinstance(pixels, torch.Tensor) and pixels.dtype == torch.float32
    np.testing.assert_allclose(pixels.numpy(), camera.project(points), rtol=1e-5)


def test_from_h36m_matches_videopose3d_world_to_camera() -> None:
    camera = Camera.from_h36m(H36M_S1_CAMERA_0)
    assert camera.image_size == (1000, 1002)
    points = np.random.default_rng(4).uniform(-1.0, 1.0, size=(10, 17, 3)) + np.array([0.0, 0.0, 0.9])
    orientation = np.array(H36M_S1_CAMERA_0["orientation"])
    position = np.array(H36M_S1_CAMERA_0["translation"]) / 1000
    # The stored quaternions are unit only to float32 precision; qrot assumes unit length, while
    # Camera normalises (R must be orthonormal): equal to 1e-12 after normalising, to 1e-6 m before.
    assert abs(np.linalg.norm(orientation) - 1) < 1e-7
    expected = reference_world_to_camera(points, orientation / np.linalg.norm(orientation), position)
    np.testing.assert_allclose(camera.world_to_camera(points), expected, atol=1e-12)
    raw = reference_world_to_camera(points, orientation, position)
    np.testing.assert_allclose(camera.world_to_camera(points), raw, atol=1e-6)
    # The subject stands about 5 m in front of the camera.
    assert 4.0 < camera.world_to_camera(np.zeros(3))[2] < 7.0
    np.testing.assert_allclose(camera.camera_to_world(camera.world_to_camera(points)), points, atol=1e-12)
    np.testing.assert_allclose(camera.project_world(points), camera.project(expected), atol=1e-9)


def test_world_camera_round_trip_torch() -> None:
    angle = 0.3
    rotation = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
    camera = Camera(focal=[500.0, 500.0], center=[320.0, 240.0], R=rotation, t=[0.1, -0.2, 4.0])
    points = torch.randn(5, 3, dtype=torch.float64)
    cam = camera.world_to_camera(points)
    torch.testing.assert_close(cam, points @ torch.tensor(rotation).T + torch.tensor([0.1, -0.2, 4.0]))
    torch.testing.assert_close(camera.camera_to_world(cam), points)


def test_normalize_screen_coordinates_hand_values_and_inverse() -> None:
    np.testing.assert_allclose(normalize_screen_coordinates(np.array([0.0, 0.0]), 1000, 1002), [-1.0, -1.002])
    np.testing.assert_allclose(normalize_screen_coordinates(np.array([1000.0, 1002.0]), 1000, 1002), [1.0, 1.002])
    np.testing.assert_allclose(normalize_screen_coordinates(np.array([500.0, 501.0]), 1000, 1002), [0.0, 0.0])
    points = np.random.default_rng(5).uniform(0, 1000, size=(3, 17, 2))
    np.testing.assert_allclose(image_coordinates(normalize_screen_coordinates(points, 1280, 720), 1280, 720), points)


def test_pinhole_explains_real_mpi_inf_3dhp_annotations(shared_data: Path) -> None:
    # Camera-space 3D joints and their 2D annotations: a pinhole fit must reproject them to ~1 px.
    for name in ("test_3dhp_train.npz", "test_3dhp_test.npz"):
        data = np.load(shared_data / "mpi_inf_3dhp" / name, allow_pickle=False)
        for joints_3d, joints_2d in zip(data["S"][..., :3], data["part"][..., :2], strict=True):
            ratios = joints_3d[:, :2] / joints_3d[:, 2:]
            fitted = []
            for axis in range(2):  # u = f * X/Z + c, least squares for (f, c)
                design = np.stack([ratios[:, axis], np.ones(len(ratios))], axis=1)
                fitted.append(np.linalg.lstsq(design, joints_2d[:, axis], rcond=None)[0])
            focal, center = np.array([fitted[0][0], fitted[1][0]]), np.array([fitted[0][1], fitted[1][1]])
            assert 1000 < focal[0] < 2000 and abs(focal[0] - focal[1]) < 0.05 * focal[0]
            reprojected = project_pinhole(joints_3d, focal, center)
            assert np.abs(reprojected - joints_2d).max() < 2.0, name


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: Camera(focal=[1.0, 2.0, 3.0], center=[0.0, 0.0]), r"Camera.focal must have shape \(2,\)"),
        (lambda: Camera(focal=[1.0, 1.0], center=[0.0, 0.0], R=np.diag([1.0, 1.0, -1.0])), "rotation matrix"),
        (lambda: Camera(focal=[1.0, 1.0], center=[0.0, 0.0]).normalized_intrinsics(), "image_size"),
        (lambda: Camera(focal=[1.0, 1.0], center=[0.0, 0.0]).project(np.ones((4, 2))), r"points must have shape"),
        (lambda: project_to_2d(np.ones((2, 17, 3)), np.ones((2, 8))), r"intrinsics must have shape \(\.\.\., 9\)"),
        (lambda: project_to_2d(np.ones((2, 17, 3)), np.ones((3, 9))), "must match the first dimensions"),
        (lambda: normalize_screen_coordinates(np.ones((5, 3)), 10, 10), r"points must have shape \(\.\.\., 2\)"),
        (lambda: Camera.from_h36m({"center": [0.0, 0.0]}), "missing"),
    ],
)
def test_bad_inputs_raise_value_error(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


def test_camera_is_frozen() -> None:
    camera = Camera(focal=[1.0, 1.0], center=[0.0, 0.0])
    with pytest.raises(AttributeError):
        camera.focal = np.ones(2)  # type: ignore[misc]
    with pytest.raises(ValueError):
        camera.focal[0] = 3.0  # read-only array
