"""Human3.6M in the official prepared format: a tiny fake dataset written like prepare_data_h36m.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from posekit.data.h36m import (
    H36M_CAMERA_EXTRINSICS,
    H36M_CAMERA_INTRINSICS,
    H36M_KEPT_JOINTS,
    H36M_PARENTS_32,
    h36m_cameras,
    load_h36m,
    reduce_h36m_joints,
    reduced_parents,
)
from posekit.data.lifting_dataset import deterministic_random
from posekit.io.safe_pickle import load_npz_objects
from posekit.skeletons import H36M


def _qrot(quaternion: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Rotate vectors (..., 3) by a unit quaternion (w, x, y, z): v + 2w (u x v) + 2 u x (u x v)."""
    w, u = quaternion[0], quaternion[1:]
    uv = np.cross(u, vectors)
    return vectors + 2 * w * uv + 2 * np.cross(u, uv)


def _official_world_to_camera(points: np.ndarray, subject: str, camera: int) -> np.ndarray:
    extrinsics = H36M_CAMERA_EXTRINSICS[subject][camera]
    inverse = np.array(extrinsics.orientation) * np.array([1.0, -1.0, -1.0, -1.0])
    return _qrot(inverse, points - np.array(extrinsics.translation) / 1000.0)


def write_fake_h36m(folder: Path, frames: int = 40, seed: int = 0) -> tuple[Path, Path]:
    """data_3d_h36m.npz and data_2d_h36m_gt.npz for S1 and S11 (with the broken S11 Directions)."""
    rng = np.random.default_rng(seed)
    actions = {"S1": ["Walking", "Walking 1"], "S11": ["Walking", "Directions"]}
    positions_3d: dict[str, dict[str, np.ndarray]] = {}
    positions_2d: dict[str, dict[str, list[np.ndarray]]] = {}
    for subject, names in actions.items():
        positions_3d[subject], positions_2d[subject] = {}, {}
        for action in names:
            base = rng.uniform([-0.3, -0.3, 0.1], [0.3, 0.3, 1.7], size=(1, 32, 3))
            motion = np.cumsum(rng.normal(0, 0.01, size=(frames, 32, 3)), axis=0)
            world = (base + motion).astype(np.float32)
            positions_3d[subject][action] = world
            per_camera = []
            for camera in h36m_cameras(subject):
                pixels = camera.project(camera.world_to_camera(world.astype(np.float64)))
                extra = np.repeat(pixels[-1:], 3, axis=0)  # videos may have extra frames
                per_camera.append(np.concatenate([pixels, extra]).astype(np.float32))
            positions_2d[subject][action] = per_camera
    metadata = {"num_joints": 17, "keypoints_symmetry": [[4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]]}
    # The gt 2D file of the official script stores all 32 joints' projections reduced to 17.
    for subject in positions_2d:
        for action in positions_2d[subject]:
            positions_2d[subject][action] = [reduce_h36m_joints(cam) for cam in positions_2d[subject][action]]
    path_3d, path_2d = folder / "data_3d_h36m.npz", folder / "data_2d_h36m_gt.npz"
    np.savez_compressed(path_3d, positions_3d=positions_3d)
    np.savez_compressed(path_2d, positions_2d=positions_2d, metadata=metadata)
    return path_3d, path_2d


def test_reduction_matches_the_h36m_skeleton() -> None:
    parents = list(reduced_parents(H36M_PARENTS_32, H36M_KEPT_JOINTS))
    parents[11] = parents[14] = 8  # VideoPose3D rewires both shoulders to the thorax
    assert tuple(parents) == H36M.parents
    assert reduce_h36m_joints(np.arange(32 * 2).reshape(32, 2))[:, 0].tolist() == [2 * j for j in H36M_KEPT_JOINTS]


def test_cameras_match_the_official_quaternion_transform() -> None:
    points = np.random.default_rng(1).normal(size=(5, 3))
    for subject in ("S1", "S9"):
        for index, camera in enumerate(h36m_cameras(subject)):
            np.testing.assert_allclose(
                camera.world_to_camera(points), _official_world_to_camera(points, subject, index), atol=1e-6
            )
            intrinsics = H36M_CAMERA_INTRINSICS[index]
            width, height = intrinsics.image_size
            expected = [intrinsics.focal_length[0] / width * 2, intrinsics.center[0] / width * 2 - 1]
            np.testing.assert_allclose(camera.normalized_intrinsics()[[0, 2]], expected, rtol=1e-12)
    with pytest.raises(ValueError, match="no Human3.6M camera extrinsics"):
        h36m_cameras("S2")


def test_load_fake_dataset(tmp_path: Path) -> None:
    path_3d, path_2d = write_fake_h36m(tmp_path)
    dataset = load_h36m(path_3d, path_2d)
    assert dataset.actions("S11") == ["Walking"]  # the corrupted S11 Directions video is dropped
    assert dataset.keypoints_left == (4, 5, 6, 11, 12, 13) and dataset.joints_left == (4, 5, 6, 11, 12, 13)
    assert dataset.supports_semi_supervised()
    sequences = dataset.sequences(["S1"])
    assert [(s.action, s.camera_index) for s in sequences] == [
        (a, c) for a in ("Walking", "Walking 1") for c in range(4)
    ]
    raw = load_npz_objects(path_3d)["positions_3d"]
    for sequence in sequences:
        world = raw["S1"][sequence.action][:, list(H36M_KEPT_JOINTS)].astype(np.float64)
        expected = _official_world_to_camera(world, "S1", sequence.camera_index)
        assert sequence.positions_3d is not None and sequence.positions_3d.shape == (40, 17, 3)
        np.testing.assert_allclose(sequence.positions_3d, expected, atol=1e-5)
        # 2D cut to the mocap length, then normalised: [0, w] -> [-1, 1], y by the same factor.
        width, height = H36M_CAMERA_INTRINSICS[sequence.camera_index].image_size
        assert sequence.image_size == (width, height) and sequence.keypoints_2d.shape == (40, 17, 2)
        pixels = (sequence.keypoints_2d + np.array([1.0, height / width])) * width / 2
        camera = h36m_cameras("S1")[sequence.camera_index]
        np.testing.assert_allclose(pixels, camera.project(expected), atol=2e-3)
        assert sequence.intrinsics is not None
        np.testing.assert_allclose(sequence.intrinsics, camera.normalized_intrinsics(), atol=1e-6)
    assert [s.action for s in dataset.sequences(["S1"], actions=["Walking 1"])] == ["Walking 1"] * 4
    unlabelled = dataset.sequences(["S11"], with_3d=False)
    assert all(s.positions_3d is None for s in unlabelled)


def test_subset_and_downsample(tmp_path: Path) -> None:
    dataset = load_h36m(*write_fake_h36m(tmp_path, frames=40))
    full = dataset.sequences(["S1"])[0]
    part = dataset.sequences(["S1"], subset=0.5, downsample=2)[0]
    start = deterministic_random(0, 40 - 20 + 1, "40")
    np.testing.assert_array_equal(part.keypoints_2d, full.keypoints_2d[start : start + 20 : 2])
    strided = dataset.sequences(["S1"], downsample=3)[0]
    assert len(strided) == 14
    with pytest.raises(ValueError, match="subject 'S5' is missing"):
        dataset.sequences(["S5"])


def test_short_2d_is_an_error(tmp_path: Path) -> None:
    path_3d, _ = write_fake_h36m(tmp_path)
    short = {"S1": {"Walking": [np.zeros((5, 17, 2), np.float32)] * 4}}
    np.savez(tmp_path / "short.npz", positions_2d=short, metadata={"keypoints_symmetry": [[4], [1]]})
    with pytest.raises(ValueError, match="fewer than the 40 motion-capture frames"):
        load_h36m(path_3d, tmp_path / "short.npz")
