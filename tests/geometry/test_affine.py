"""Affine crops: parity with the three-point construction (HRNet/MMPose), UDP exactness, round trips."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from posekit.geometry import (
    affine_transform_points,
    get_udp_warp_matrix,
    get_warp_matrix,
    invert_affine,
    keypoints_crop_to_image,
    keypoints_image_to_crop,
    scale_to_pixels,
    warp_image,
)


def three_point_pairs(
    center: np.ndarray, scale: np.ndarray, rotation: float, output_size: tuple[int, int], shift: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The three point pairs of HRNet ``get_affine_transform`` / MMPose ``get_warp_matrix``, in float64."""

    def rotate(point: np.ndarray, angle: float) -> np.ndarray:
        return np.array(
            [point[0] * np.cos(angle) - point[1] * np.sin(angle), point[0] * np.sin(angle) + point[1] * np.cos(angle)]
        )

    def third_point(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        direction = a - b
        return b + np.array([-direction[1], direction[0]])

    angle = np.deg2rad(rotation)
    source_direction = rotate(np.array([0.0, scale[0] * -0.5]), angle)
    target_direction = np.array([0.0, output_size[0] * -0.5])
    source = np.zeros((3, 2))
    source[0] = center + scale * shift
    source[1] = center + source_direction + scale * shift
    source[2] = third_point(source[0], source[1])
    target = np.zeros((3, 2))
    target[0] = [output_size[0] * 0.5, output_size[1] * 0.5]
    target[1] = target[0] + target_direction
    target[2] = third_point(target[0], target[1])
    return source, target


def three_point_reference(
    center: np.ndarray,
    scale: np.ndarray,
    rotation: float,
    output_size: tuple[int, int],
    shift: np.ndarray,
    inverse: bool,
) -> np.ndarray:
    """The affine map of the three point pairs, solved in float64: ``[x y 1] M^T = x'``."""
    source, target = three_point_pairs(center, scale, rotation, output_size, shift)
    if inverse:
        source, target = target, source
    design = np.concatenate([source, np.ones((3, 1))], axis=1)
    return np.linalg.solve(design, target).T


def mmpose_udp_reference(center: np.ndarray, scale: np.ndarray, rot: float, output_size: tuple[int, int]) -> np.ndarray:
    """MMPose ``get_udp_warp_matrix`` formula (float64), with MMPose's own sign of ``rot``."""
    angle = np.deg2rad(rot)
    input_size = center * 2
    scale_x = (output_size[0] - 1) / scale[0]
    scale_y = (output_size[1] - 1) / scale[1]
    cos, sin = np.cos(angle), np.sin(angle)
    return np.array(
        [
            [
                cos * scale_x,
                -sin * scale_x,
                scale_x * (-0.5 * input_size[0] * cos + 0.5 * input_size[1] * sin + 0.5 * scale[0]),
            ],
            [
                sin * scale_y,
                cos * scale_y,
                scale_y * (-0.5 * input_size[0] * sin - 0.5 * input_size[1] * cos + 0.5 * scale[1]),
            ],
        ]
    )


@pytest.mark.parametrize("inverse", [False, True])
def test_get_warp_matrix_matches_three_point_construction(inverse: bool) -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        center = rng.uniform(0, 500, size=2)
        scale = rng.uniform(50, 400, size=2)
        rotation = float(rng.uniform(-180, 180))
        shift = rng.uniform(-0.2, 0.2, size=2)
        output_size = (192, 256)
        matrix = get_warp_matrix(center, scale, rotation, output_size, shift=tuple(shift), inverse=inverse)
        assert matrix.shape == (2, 3) and matrix.dtype == np.float64
        expected = three_point_reference(center, scale, rotation, output_size, shift, inverse)
        np.testing.assert_allclose(matrix, expected, rtol=1e-10, atol=1e-9)


def test_get_warp_matrix_matches_cv2_float32_path() -> None:
    # What MMPose/HRNet actually run: cv2.getAffineTransform on float32 points (so ~1e-4 relative).
    center, scale, output_size = np.array([320.5, 240.25]), np.array([150.0, 200.0]), (192, 256)
    for rotation, inverse in [(30.0, False), (-75.0, False), (30.0, True)]:
        source, target = three_point_pairs(center, scale, rotation, output_size, np.zeros(2))
        if inverse:
            source, target = target, source
        via_cv2 = cv2.getAffineTransform(np.float32(source), np.float32(target))
        ours = get_warp_matrix(center, scale, rotation, output_size, inverse=inverse)
        np.testing.assert_allclose(ours, via_cv2, rtol=1e-4, atol=1e-3)


def test_rotation_sign_is_counter_clockwise_for_both_warps() -> None:
    center, scale, output_size = np.array([100.0, 100.0]), np.array([64.0, 64.0]), (65, 65)
    right_of_center = np.array([[110.0, 100.0]])
    standard = keypoints_image_to_crop(right_of_center, center, scale, output_size, rotation=90.0)
    np.testing.assert_allclose(standard, [[32.5, 32.5 - 10.0 * 65 / 64]], atol=1e-9)  # lands ABOVE the centre
    udp = keypoints_image_to_crop(right_of_center, center, scale, output_size, rotation=90.0, udp=True)
    np.testing.assert_allclose(udp, [[32.0, 32.0 - 10.0]], atol=1e-9)
    # Same sign convention: MMPose's UDP matrix with the opposite angle.
    np.testing.assert_allclose(
        get_udp_warp_matrix(center, scale, 37.0, output_size),
        mmpose_udp_reference(center, scale, -37.0, output_size),
        atol=1e-12,
    )


def test_udp_matches_mmpose_without_rotation_and_maps_pixel_centres_exactly() -> None:
    rng = np.random.default_rng(1)
    for _ in range(10):
        center = rng.uniform(0, 500, size=2)
        scale = rng.uniform(50, 400, size=2)
        output_size = (48, 64)
        matrix = get_udp_warp_matrix(center, scale, 0.0, output_size)
        np.testing.assert_allclose(matrix, mmpose_udp_reference(center, scale, 0.0, output_size), atol=1e-10)
        inverse = invert_affine(matrix)
        # Output pixel centres (0, 0) and (W-1, H-1) map to the region's corners; the grid is uniform.
        columns, rows = np.meshgrid(np.arange(output_size[0]), np.arange(output_size[1]))
        grid = np.stack([columns, rows], axis=-1).reshape(-1, 2).astype(np.float64)  # (H*W, 2)
        image_points = affine_transform_points(grid, inverse)
        step = scale / (np.array(output_size) - 1)
        np.testing.assert_allclose(image_points, center - scale / 2 + grid * step, rtol=0, atol=1e-9)
        np.testing.assert_allclose(image_points[0], center - scale / 2, atol=1e-10)
        np.testing.assert_allclose(image_points[-1], center + scale / 2, atol=1e-10)


def test_standard_warp_is_half_pixel_biased_where_udp_is_not() -> None:
    # Standard warp: the region corner maps to output coordinate 0 (the output pixel's EDGE is at -0.5).
    center, scale, output_size = np.array([50.0, 50.0]), np.array([40.0, 40.0]), (40, 40)
    corner = np.array([[30.0, 30.0]])
    np.testing.assert_allclose(keypoints_image_to_crop(corner, center, scale, output_size), [[0.0, 0.0]])
    np.testing.assert_allclose(keypoints_image_to_crop(corner, center, scale, output_size, udp=True), [[0.0, 0.0]])
    np.testing.assert_allclose(keypoints_image_to_crop(center[None], center, scale, output_size), [[20.0, 20.0]])
    np.testing.assert_allclose(
        keypoints_image_to_crop(center[None], center, scale, output_size, udp=True), [[19.5, 19.5]]
    )


@pytest.mark.parametrize("udp", [False, True])
def test_batched_matrices_match_loop_and_invert(udp: bool) -> None:
    rng = np.random.default_rng(2)
    centers = rng.uniform(0, 500, size=(3, 4, 2))
    scales = rng.uniform(50, 400, size=(3, 4, 2))
    rotations = rng.uniform(-45, 45, size=(3, 4))
    if udp:
        batched = get_udp_warp_matrix(centers, scales, rotations, (48, 64))
    else:
        batched = get_warp_matrix(centers, scales, rotations, (48, 64))
    assert batched.shape == (3, 4, 2, 3)
    for i in range(3):
        for j in range(4):
            single = (get_udp_warp_matrix if udp else get_warp_matrix)(
                centers[i, j], scales[i, j], float(rotations[i, j]), (48, 64)
            )
            np.testing.assert_allclose(batched[i, j], single, atol=1e-12)
    if not udp:
        np.testing.assert_allclose(
            get_warp_matrix(centers, scales, rotations, (48, 64), inverse=True), invert_affine(batched), atol=1e-9
        )
    # forward o inverse = identity
    composed = invert_affine(invert_affine(batched))
    np.testing.assert_allclose(composed, batched, atol=1e-9)


@pytest.mark.parametrize("udp", [False, True])
def test_keypoints_round_trip_numpy_and_torch(udp: bool) -> None:
    rng = np.random.default_rng(3)
    keypoints = rng.uniform(0, 640, size=(5, 17, 2))
    centers = rng.uniform(100, 500, size=(5, 2))
    scales = rng.uniform(80, 300, size=(5, 2))
    rotations = rng.uniform(-40, 40, size=5)
    crop = keypoints_image_to_crop(keypoints, centers, scales, (192, 256), rotations, udp=udp)
    assert crop.shape == (5, 17, 2)
    back = keypoints_crop_to_image(crop, centers, scales, (192, 256), rotations, udp=udp)
    np.testing.assert_allclose(back, keypoints, atol=1e-9)
    # Matches applying each instance's own matrix.
    for index in range(5):
        make = get_udp_warp_matrix if udp else get_warp_matrix
        matrix = make(centers[index], scales[index], float(rotations[index]), (192, 256))
        np.testing.assert_allclose(crop[index], cv2.transform(keypoints[index][None], matrix)[0], atol=1e-9)
    keypoints_torch = torch.tensor(keypoints, dtype=torch.float32, requires_grad=True)
    crop_torch = keypoints_image_to_crop(keypoints_torch, centers, scales, (192, 256), rotations, udp=udp)
    assert isinstance(crop_torch, torch.Tensor) and crop_torch.dtype == torch.float32
    np.testing.assert_allclose(crop_torch.detach().numpy(), crop, rtol=1e-5, atol=1e-3)
    crop_torch.sum().backward()
    assert keypoints_torch.grad is not None and torch.isfinite(keypoints_torch.grad).all()


def test_affine_transform_points_broadcasting() -> None:
    matrix = np.array([[2.0, 0.0, 1.0], [0.0, 3.0, -1.0]])
    np.testing.assert_allclose(affine_transform_points(np.array([1.0, 1.0]), matrix), [3.0, 2.0])
    points = np.ones((4, 7, 2))
    assert affine_transform_points(points, matrix).shape == (4, 7, 2)
    two_matrices = np.stack([matrix, np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])])  # (2, 2, 3)
    result = affine_transform_points(np.ones((2, 3, 2)), two_matrices)
    np.testing.assert_allclose(result[0], np.tile([3.0, 2.0], (3, 1)))
    np.testing.assert_allclose(result[1], np.ones((3, 2)))


def test_warp_image_moves_a_pixel_where_the_keypoint_goes() -> None:
    image = np.zeros((80, 100, 3), dtype=np.uint8)
    image[45, 60] = (255, 128, 7)  # pixel (x=60, y=45)
    center, scale, output_size = np.array([50.0, 40.0]), np.array([64.0, 64.0]), (64, 64)
    matrix = get_warp_matrix(center, scale, 0.0, output_size)
    warped = warp_image(image, matrix, output_size, flags=cv2.INTER_NEAREST)
    assert warped.shape == (64, 64, 3) and warped.dtype == np.uint8
    expected = keypoints_image_to_crop(np.array([[60.0, 45.0]]), center, scale, output_size)[0]
    np.testing.assert_allclose(expected, [42.0, 37.0])
    row, column = np.unravel_index(np.argmax(warped[..., 0]), warped.shape[:2])
    assert (column, row) == (42, 37)
    np.testing.assert_array_equal(warped[37, 42], [255, 128, 7])
    # Gray images and many-channel images keep their layout.
    assert warp_image(image[..., 0], matrix, output_size).shape == (64, 64)
    assert warp_image(image[..., :1], matrix, output_size).shape == (64, 64, 1)
    many = np.concatenate([image, image, image[..., :1]], axis=2)  # 7 channels
    warped_many = warp_image(many, matrix, output_size, flags=cv2.INTER_NEAREST)
    assert warped_many.shape == (64, 64, 7)
    np.testing.assert_array_equal(warped_many[37, 42], [255, 128, 7, 255, 128, 7, 255])


def test_mpii_annotations_fall_inside_the_hrnet_crop(shared_data: Path) -> None:
    # HRNet MPII recipe: centre y += 15 * scale, scale *= 1.25, 1-based -> 0-based, 256x256 crop.
    annotations = json.loads((shared_data / "mpii" / "test_mpii.json").read_text())
    for annotation in annotations:
        scale_units = np.array([annotation["scale"], annotation["scale"]]) * 1.25
        center = np.array(annotation["center"], dtype=np.float64)
        center[1] += 15 * annotation["scale"]
        center -= 1
        joints = np.array(annotation["joints"], dtype=np.float64) - 1
        visible = np.array(annotation["joints_vis"]) > 0
        crop = keypoints_image_to_crop(joints[None], center, scale_to_pixels(scale_units), (256, 256))[0]
        assert np.all((crop[visible] >= 0) & (crop[visible] < 256)), annotation["image"]
        back = keypoints_crop_to_image(crop[None], center, scale_to_pixels(scale_units), (256, 256))[0]
        np.testing.assert_allclose(back, joints, atol=1e-9)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: get_warp_matrix(np.zeros(3), np.ones(2), 0.0, (10, 10)), r"center must have shape \(\.\.\., 2\)"),
        (lambda: get_warp_matrix(np.zeros(2), np.ones(2), 0.0, (10, 10, 3)), "output_size must be"),
        (lambda: get_udp_warp_matrix(np.zeros(2), np.ones(2), 0.0, (1, 10)), "at least 2 pixels"),
        (lambda: invert_affine(np.zeros((3, 3))), r"matrix must have shape \(\.\.\., 2, 3\)"),
        (lambda: affine_transform_points(np.zeros((4, 3)), np.zeros((2, 3))), "points must have shape"),
        (lambda: keypoints_image_to_crop(np.zeros(2), np.zeros(2), np.ones(2), (4, 4)), "keypoints must have"),
        (lambda: warp_image(np.zeros((4, 4, 3, 1)), np.zeros((2, 3)), (4, 4)), "image must have shape"),
        (lambda: warp_image(np.zeros((4, 4)), np.zeros((3, 3)), (4, 4)), r"matrix must have shape \(2, 3\)"),
    ],
)
def test_bad_shapes_raise_value_error(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]
