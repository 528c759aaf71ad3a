"""HumanEva-I (15 joints) in the official prepared format."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from posekit.data.humaneva import HUMANEVA15, HUMANEVA_CAMERA_EXTRINSICS, humaneva_cameras, load_humaneva
from posekit.skeletons import get_skeleton


def test_skeleton_is_registered_with_the_official_layout() -> None:
    assert get_skeleton("humaneva15") is HUMANEVA15
    left = [left for left, _ in HUMANEVA15.flip_pair_indices]
    right = [right for _, right in HUMANEVA15.flip_pair_indices]
    assert left == [2, 3, 4, 8, 9, 10] and right == [5, 6, 7, 11, 12, 13]  # VideoPose3D humaneva_skeleton
    assert HUMANEVA15.parents == (-1, 0, 1, 2, 3, 1, 5, 6, 0, 8, 9, 0, 11, 12, 1)


def test_load_and_project(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    world = rng.uniform(-0.5, 1.5, size=(12, 15, 3)).astype(np.float32)
    positions_3d = {"Train/S1": {"Walking 1 chunk0": world}, "Validate/S2": {"Jog 1 chunk0": world[:7]}}
    keypoints = {
        "Train/S1": {"Walking 1 chunk0": [np.full((12, 15, 2), 320.0, np.float32)] * 3},
        "Validate/S2": {"Jog 1 chunk0": [np.full((7, 15, 2), 320.0, np.float32)] * 3},
        "Unlabeled/S4": {"Box 2": [np.zeros((9, 15, 2), np.float32)] * 3},
    }
    metadata = {
        "layout_name": "humaneva15",
        "num_joints": 15,
        "keypoints_symmetry": [[2, 3, 4, 8, 9, 10], [5, 6, 7, 11, 12, 13]],
    }
    np.savez(tmp_path / "3d.npz", positions_3d=positions_3d)
    np.savez(tmp_path / "2d.npz", positions_2d=keypoints, metadata=metadata)
    dataset = load_humaneva(tmp_path / "3d.npz", tmp_path / "2d.npz")
    assert not dataset.supports_semi_supervised()  # no intrinsics, as in the official code
    sequences = dataset.sequences(["Train/S1"])
    assert len(sequences) == 3 and sequences[0].keypoints_2d.shape == (12, 15, 2)
    np.testing.assert_allclose(sequences[0].keypoints_2d[0, 0], [0.0, 320 / 640 * 2 - 480 / 640], atol=1e-6)
    orientation, centre = HUMANEVA_CAMERA_EXTRINSICS["S1"][1]
    w, u = np.array(orientation[0]), -np.array(orientation[1:])  # inverse quaternion
    relative = world.astype(np.float64) - np.array(centre) / 1000.0
    uv = np.cross(u, relative)
    expected = relative + 2 * w * uv + 2 * np.cross(u, uv)
    np.testing.assert_allclose(sequences[1].positions_3d, expected, atol=1e-4)
    assert len(humaneva_cameras("Unlabeled/S4")) == 3
    assert [s.subject for s in dataset.sequences(["Unlabeled/S4"], with_3d=False)] == ["Unlabeled/S4"] * 3
