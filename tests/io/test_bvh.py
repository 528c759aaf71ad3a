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
    path = write_bvh(
        tmp_path / "motion.bvh", positions - positions[:, :1], 30.0, trajectory=positions[:, 0], ground=False
    )
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
    motion = poses_to_bvh(t_pose[None] + [0.0, 0.0, 3.0], 25.0, ground=False)
    np.testing.assert_allclose(motion.motion[0, 3:], 0.0, atol=1e-9)
    np.testing.assert_allclose(motion.motion[0, :3], [0.0, 0.0, -300.0])  # BVH: Y up, Z towards the viewer, cm
    # The same pose turned by 30 degrees about the vertical axis: only the root's Y rotation moves.
    turn = axis_angle_to_matrix(np.array([0.0, np.radians(30.0), 0.0]))
    turned = poses_to_bvh(np.stack([t_pose, t_pose @ turn.T]), 25.0, ground=False)
    assert abs(turned.motion[1, 5]) == pytest.approx(30.0, abs=1e-6)
    np.testing.assert_allclose(turned.motion[1, 3:5], 0.0, atol=1e-6)
    np.testing.assert_allclose(turned.motion[1, 6:], 0.0, atol=1e-6)


def test_bone_lengths_are_the_means() -> None:
    positions = rigid_motion(10, seed=1)
    stretched = positions.copy()
    stretched[5:, 3] += (stretched[5:, 3] - stretched[5:, 2]) * 0.1  # right shin 10% longer in half the frames
    recovered = bvh_to_h36m(poses_to_bvh(stretched, 30.0, ground=False), unit_scale=100.0)
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


def walking_world(num_frames: int, fps: float, speed: float = 1.0) -> np.ndarray:
    """``(T, 17, 3)`` a person walking along world +X (metres, Y up), ankles touching Y = 0.

    Legs swing at 0.9 Hz with a knee bend, arms counter-swing, the spine is vertical; each frame's
    pelvis height puts its lower ankle on the floor.
    """
    time = np.arange(num_frames) / fps
    forward, left, up = np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.0, -1.0]), np.array([0.0, 1.0, 0.0])
    phase = 2 * np.pi * 0.9 * time
    positions = np.zeros((num_frames, 17, 3))

    def limb(angle: np.ndarray) -> np.ndarray:  # (T,) -> (T, 3): "down" turned forward by angle
        return -np.cos(angle)[:, None] * up + np.sin(angle)[:, None] * forward

    for side, sign, hip, knee, ankle, shoulder, elbow, wrist in (
        ("left", 1.0, 4, 5, 6, 11, 12, 13),
        ("right", -1.0, 1, 2, 3, 14, 15, 16),
    ):
        swing = 0.35 * np.sin(phase) * sign
        bend = 0.3 * (1 + np.cos(phase + (0.0 if side == "left" else np.pi))) / 2
        positions[:, hip] = sign * 0.13 * left
        positions[:, knee] = positions[:, hip] + 0.45 * limb(swing)
        positions[:, ankle] = positions[:, knee] + 0.43 * limb(swing - bend)
        positions[:, shoulder] = 0.48 * up + sign * 0.18 * left
        positions[:, elbow] = positions[:, shoulder] + 0.27 * limb(-swing)
        positions[:, wrist] = positions[:, elbow] + 0.25 * limb(-swing + 0.2)
    positions[:, 7], positions[:, 8], positions[:, 10] = 0.23 * up, 0.48 * up, 0.68 * up
    positions[:, 9] = 0.58 * up + 0.05 * forward
    positions[..., 1] -= positions[:, [3, 6], 1].min(axis=1)[:, None]  # lower ankle on the floor
    positions[..., 0] += (-2.5 + speed * time)[:, None]
    return positions


def world_to_camera(world: np.ndarray, pitch_degrees: float, roll_degrees: float) -> np.ndarray:
    """World (Y up) -> posekit camera frame (y down, z forward) of a camera 5 m away looking along +Z, pitched down."""
    pitch = np.radians(pitch_degrees)
    forward = np.array([0.0, -np.sin(pitch), np.cos(pitch)])
    down = np.array([0.0, -np.cos(pitch), -np.sin(pitch)])
    rotation = np.stack([np.cross(down, forward), down, forward])  # rows: camera x, y, z in world
    roll = axis_angle_to_matrix(np.array([0.0, 0.0, np.radians(roll_degrees)]))
    return (world - np.array([0.0, 1.6, -5.0])) @ (roll @ rotation).T


def camera_track(
    world: np.ndarray, seed: int, pitch: float, roll: float, jitter: tuple[float, float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """A lifter-like output: root-relative pose with 5 mm noise, a trajectory with jitter (x, y, z sigmas) and drift."""
    rng = np.random.default_rng(seed)
    camera = world_to_camera(world, pitch, roll)
    relative = camera - camera[:, :1] + rng.normal(0.0, 0.005, camera.shape)
    relative[:, 0] = 0.0
    trajectory = camera[:, 0] + rng.normal(0.0, 1.0, (len(camera), 3)) * np.asarray(jitter)
    trajectory[:, 1] += np.linspace(0.0, 0.15, len(camera))  # slow camera-frame drift
    return relative, trajectory


def file_positions(path: Path) -> tuple[np.ndarray, dict[str, int]]:
    """Forward kinematics of a written file: ``(T, M, 3)`` cm, BVH axes, and node indices by name."""
    motion = read_bvh(path)
    return forward_kinematics(motion), {name: node for node, name in enumerate(motion.names)}


def test_walk_seen_by_a_tilted_camera_stands_on_the_floor(tmp_path: Path) -> None:
    fps = 30.0
    world = walking_world(150, fps)
    relative, trajectory = camera_track(world, seed=0, pitch=20.0, roll=4.0, jitter=(0.02, 0.06, 0.12))
    grounded, nodes = file_positions(write_bvh(tmp_path / "walk.bvh", relative, fps, trajectory=trajectory))
    feet = grounded[:, [nodes["right_knee_end"], nodes["left_knee_end"]], 1].min(axis=1)  # (T,) cm
    pelvis = grounded[:, nodes["pelvis"], 1]
    assert feet.min() > -1.0 and np.median(np.abs(feet)) < 0.5 and np.mean(feet < 2.0) > 0.95
    # The pelvis height is the walker's own (5 mm pose noise, mean bone lengths), not the trajectory's jitter.
    assert np.abs(pelvis - world[:, 0, 1] * 100).max() < 3.0
    assert np.std(np.diff(pelvis)) < 1.0
    # The camera tilt is gone: the spine is upright and the path is level.
    spine = (grounded[:, nodes["thorax"]] - grounded[:, nodes["pelvis"]]).mean(axis=0)
    assert np.degrees(np.arccos(spine[1] / np.linalg.norm(spine))) < 3.0
    # As written before (camera frame turned to Y up): the feet go far below the lowest frame's and the pelvis jitters.
    raw, _ = file_positions(write_bvh(tmp_path / "raw.bvh", relative, fps, trajectory=trajectory, ground=False))
    raw_feet = raw[:, [nodes["right_knee_end"], nodes["left_knee_end"]], 1].min(axis=1)
    assert np.ptp(raw_feet) > 30.0 and np.std(np.diff(raw[:, nodes["pelvis"], 1])) > 5.0


def test_a_jump_keeps_its_height(tmp_path: Path) -> None:
    fps = 30.0
    world = walking_world(120, fps, speed=0.0)
    world[:] = world[:1]  # standing still
    time = np.arange(120) / fps
    start, stop = 1.2, 1.7
    flight = np.where((time > start) & (time < stop), 4 * 0.3 * (time - start) * (stop - time) / (stop - start) ** 2, 0)
    world[..., 1] += flight[:, None]
    relative, trajectory = camera_track(world, seed=1, pitch=15.0, roll=0.0, jitter=(0.01, 0.01, 0.02))
    # A trajectory error, not motion: the estimate rises by 20 cm and comes back within 1.2 s, slower than free fall.
    drift = (time > 2.2) & (time < 3.4)
    trajectory[drift, 1] -= 0.1 * (1 - np.cos(2 * np.pi * (time[drift] - 2.2) / 1.2))
    grounded, nodes = file_positions(write_bvh(tmp_path / "jump.bvh", relative, fps, trajectory=trajectory))
    feet = grounded[:, [nodes["right_knee_end"], nodes["left_knee_end"]], 1].min(axis=1)
    assert abs(feet.max() - 30.0) < 6.0 and abs(time[np.argmax(feet)] - 1.45) < 0.1
    on_ground = (time < start - 0.1) | (time > stop + 0.1)
    assert np.abs(feet[on_ground]).max() < 1.0
