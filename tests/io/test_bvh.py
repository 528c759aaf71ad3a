"""BVH export: positions -> rotations -> file -> reader -> forward kinematics -> positions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from posekit.geometry.rotations import axis_angle_to_matrix
from posekit.io.bvh import bvh_to_h36m, forward_kinematics, poses_to_bvh, read_bvh, write_bvh
from posekit.skeletons import H36M

# A standing Human3.6M-17 pose, camera frame (y down), facing the camera, pelvis at the origin.
STANDING = np.array(
    [
        [0.0, 0.0, 0.0], [-0.13, 0.0, 0.0], [-0.13, 0.45, 0.0], [-0.13, 0.88, 0.0], [0.13, 0.0, 0.0],
        [0.13, 0.45, 0.0], [0.13, 0.88, 0.0], [0.0, -0.23, 0.0], [0.0, -0.48, 0.0], [0.0, -0.58, -0.05],
        [0.0, -0.68, 0.0], [0.18, -0.48, 0.0], [0.2, -0.2, 0.0], [0.22, 0.05, 0.0], [-0.18, -0.48, 0.0],
        [-0.2, -0.2, 0.0], [-0.22, 0.05, 0.0],
    ]
)  # fmt: skip


def rigid_motion(num_frames: int, seed: int = 0) -> np.ndarray:
    """``(T, 17, 3)`` forward kinematics of random joint rotations: constant bone lengths, rigid branches."""
    rng = np.random.default_rng(seed)
    rest = STANDING + rng.normal(0.0, 0.03, STANDING.shape)  # an arbitrary (not T-pose) arrangement
    parents = H36M.parents or ()
    positions = np.zeros((num_frames, 17, 3))
    rotations = np.zeros((num_frames, 17, 3, 3))
    for joint, parent in enumerate(parents):
        local = axis_angle_to_matrix(rng.normal(0.0, 0.7, (num_frames, 3)))
        if parent < 0:
            rotations[:, joint] = local
            positions[:, joint] = np.array([0.3, -0.1, 4.0]) + rng.normal(0.0, 0.2, (num_frames, 3))
        else:
            rotations[:, joint] = rotations[:, parent] @ local
            bone = rest[joint] - rest[parent]
            positions[:, joint] = positions[:, parent] + np.einsum("tij,j->ti", rotations[:, parent], bone)
    return positions


def test_round_trip_through_a_file_is_within_a_micrometre_scale(tmp_path: Path) -> None:
    positions = rigid_motion(25)
    path = write_bvh(tmp_path / "motion.bvh", positions - positions[:, :1], 30.0, trajectory=positions[:, 0])
    motion = read_bvh(path)
    assert motion.num_frames == 25 and motion.frame_time == pytest.approx(1 / 30.0)
    assert motion.names[0] == "pelvis" and sum(motion.end_site) == 5
    assert motion.channels[0] == ["Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation"]
    assert all(channels == ["Zrotation", "Xrotation", "Yrotation"] for channels in motion.channels[1:] if channels)
    recovered = bvh_to_h36m(motion)
    assert np.abs(recovered - positions).max() < 1e-4  # the file's 4 decimals of cm
    assert not list(tmp_path.glob(".*"))


def test_rest_pose_and_a_turn_about_the_vertical_axis() -> None:
    # A T-pose facing the camera: every rotation is zero (the rest pose is the input's shape).
    t_pose = STANDING.copy()
    t_pose[[12, 13], 0], t_pose[[12, 13], 1] = [0.46, 0.72], -0.48
    t_pose[[15, 16], 0], t_pose[[15, 16], 1] = [-0.46, -0.72], -0.48
    t_pose[9] = [0.0, -0.58, 0.0]
    motion = poses_to_bvh(t_pose[None] + [0.0, 0.0, 3.0], 25.0)
    np.testing.assert_allclose(motion.motion[0, 3:], 0.0, atol=1e-9)
    np.testing.assert_allclose(motion.motion[0, :3], [0.0, 0.0, -300.0])  # BVH: Y up, Z towards the viewer, cm
    # The same pose turned by 30 degrees about the vertical axis: only the root's Y rotation moves.
    turn = axis_angle_to_matrix(np.array([0.0, np.radians(30.0), 0.0]))
    turned = poses_to_bvh(np.stack([t_pose, t_pose @ turn.T]), 25.0)
    assert abs(turned.motion[1, 5]) == pytest.approx(30.0, abs=1e-6)
    np.testing.assert_allclose(turned.motion[1, 3:5], 0.0, atol=1e-6)
    np.testing.assert_allclose(turned.motion[1, 6:], 0.0, atol=1e-6)


def test_bone_lengths_are_the_means() -> None:
    positions = rigid_motion(10, seed=1)
    stretched = positions.copy()
    stretched[5:, 3] += (stretched[5:, 3] - stretched[5:, 2]) * 0.1  # right shin 10% longer in half the frames
    recovered = bvh_to_h36m(poses_to_bvh(stretched, 30.0), unit_scale=100.0)
    shin = np.linalg.norm(recovered[:, 3] - recovered[:, 2], axis=-1)
    expected = np.linalg.norm(stretched[:, 3] - stretched[:, 2], axis=-1).mean()
    np.testing.assert_allclose(shin, expected, rtol=1e-9)
    others = [joint for joint in range(17) if joint != 3]
    assert np.abs(recovered[:, others] - stretched[:, others]).max() < 1e-6


def test_bad_input_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\(T, 17, 3\)"):
        poses_to_bvh(np.zeros((4, 16, 3)), 30.0)
    bad = rigid_motion(3)
    bad[1, 4, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        write_bvh(tmp_path / "bad.bvh", bad, 30.0)
    assert not (tmp_path / "bad.bvh").exists()
    with pytest.raises(ValueError, match="fps"):
        poses_to_bvh(rigid_motion(2), 0.0)
    broken = tmp_path / "broken.bvh"
    broken.write_text("HIERARCHY\nROOT hips\n{\n\tOFFSET 0 0\n}\nMOTION\n")
    with pytest.raises(ValueError, match="line 4"):
        read_bvh(broken)
    short = tmp_path / "short.bvh"
    text = poses_to_bvh(rigid_motion(3), 30.0).to_text()
    short.write_text(text.rsplit("\n", 2)[0] + "\n")  # last frame cut off
    with pytest.raises(ValueError, match="expected 3 frames"):
        read_bvh(short)
    assert forward_kinematics(read_bvh(write_bvh(tmp_path / "ok.bvh", rigid_motion(2), 30.0))).shape == (2, 17, 3)
