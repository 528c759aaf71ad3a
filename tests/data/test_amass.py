"""posekit.data.amass on small .npz takes written here in the AMASS format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from posekit.data.amass import (
    MotionWindows,
    amass_files,
    load_amass_folder,
    load_amass_motion,
    smpl_joints_from_amass_poses,
)


def write_take(
    path: Path, frames: int = 120, fps: float = 120.0, width: int = 156, seed: int = 0, **drop: bool
) -> Path:
    rng = np.random.default_rng(seed)
    arrays = {
        "poses": rng.normal(scale=0.3, size=(frames, width)),
        "betas": rng.normal(size=16),
        "trans": rng.normal(size=(frames, 3)),
        "gender": np.array("female"),
        "mocap_framerate": np.array(fps),
        "dmpls": np.zeros((frames, 8)),
    }
    for key in drop:
        arrays.pop(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return path


def test_subsample_matches_vibe(tmp_path: Path) -> None:
    path = write_take(tmp_path / "take.npz", frames=121, fps=120.0)
    raw = np.load(path)
    # VIBE amass_utils: joints 0-22 and 37 of SMPL+H, every (framerate // fps)-th frame, 10 betas.
    joints_to_use = np.arange(156).reshape(-1, 3)[[*range(23), 37]].reshape(-1)
    expected = raw["poses"][0 :: int(raw["mocap_framerate"]) // 25, joints_to_use]
    motion = load_amass_motion(path, target_fps=25)
    assert motion.fps == 30.0  # 120 // 25 = 4: VIBE's "25 fps" is 30 fps
    assert len(motion) == expected.shape[0] == 31
    np.testing.assert_allclose(motion.full_pose().reshape(len(motion), 72), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(motion.betas, raw["betas"][:10], rtol=1e-6)
    np.testing.assert_allclose(motion.transl, raw["trans"][::4], rtol=1e-6)
    assert motion.gender == "female"
    assert motion.source_frames.tolist() == list(range(0, 121, 4))
    assert motion.body_pose.shape == (31, 23, 3)


def test_layouts() -> None:
    poses = np.arange(2 * 165, dtype=np.float64).reshape(2, 165)
    smplx = smpl_joints_from_amass_poses(poses)
    np.testing.assert_array_equal(smplx[:, 22], poses[:, 75:78])  # joint 25: left index 1
    np.testing.assert_array_equal(smplx[:, 23], poses[:, 120:123])  # joint 40
    body = smpl_joints_from_amass_poses(poses[:, :66])
    assert (body[:, 22:] == 0).all()
    np.testing.assert_array_equal(smpl_joints_from_amass_poses(poses[:, :72]).reshape(2, 72), poses[:, :72])
    with pytest.raises(ValueError, match=r"\(T, 156\)"):
        smpl_joints_from_amass_poses(poses[:, :70])


def test_slerp_interpolates_a_steady_rotation(tmp_path: Path) -> None:
    frames, fps = 11, 10.0
    poses = np.zeros((frames, 72))
    angles = np.linspace(0.0, 2.0, frames)  # 2 rad/s about z for the root, 1 rad/s about x for joint 5
    poses[:, 2] = angles
    poses[:, 15] = angles / 2
    trans = np.stack([angles, np.zeros(frames), np.zeros(frames)], axis=1)
    np.savez(tmp_path / "steady.npz", poses=poses, betas=np.zeros(10), trans=trans, gender="male", mocap_framerate=fps)
    motion = load_amass_motion(tmp_path / "steady.npz", target_fps=25.0, method="slerp")
    times = np.arange(len(motion)) / 25.0
    assert len(motion) == 26 and motion.fps == 25.0
    np.testing.assert_allclose(motion.global_orient[:, 2], 2.0 * times, atol=1e-6)
    np.testing.assert_allclose(motion.body_pose[:, 4, 0], 1.0 * times, atol=1e-6)
    np.testing.assert_allclose(motion.transl[:, 0], 2.0 * times, atol=1e-6)
    np.testing.assert_allclose(motion.source_frames, times * fps, atol=1e-9)
    with pytest.raises(ValueError, match="use method='slerp'"):
        load_amass_motion(tmp_path / "steady.npz", target_fps=25.0)


def test_slerp_takes_the_short_arc() -> None:
    from posekit.data.amass import MotionSequence

    # 170 degrees then -170 degrees about z: the short way passes through 180, not 0.
    orient = np.array([[0, 0, np.deg2rad(170)], [0, 0, np.deg2rad(-170)]])
    motion = MotionSequence(
        name="flip",
        global_orient=orient,
        body_pose=np.zeros((2, 23, 3)),
        betas=np.zeros(10),
        transl=np.zeros((2, 3)),
        gender="neutral",
        fps=1.0,
        source_fps=1.0,
    )
    middle = motion.resample(2.0, method="slerp").global_orient[1]
    assert np.linalg.norm(middle) == pytest.approx(np.pi, abs=1e-5)


def test_missing_key_is_one_sentence(tmp_path: Path) -> None:
    path = write_take(tmp_path / "bad.npz", trans=True)
    with pytest.raises(ValueError, match=r"bad\.npz: missing key 'trans'; an AMASS motion file has poses") as info:
        load_amass_motion(path)
    assert "found: betas, dmpls, gender, mocap_framerate, poses" in str(info.value)
    nan = write_take(tmp_path / "nan.npz")
    arrays = dict(np.load(nan))
    arrays["poses"][3, 4] = np.nan
    np.savez(nan, **arrays)
    with pytest.raises(ValueError, match="NaN"):
        load_amass_motion(nan)
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_amass_motion(tmp_path / "absent.npz")
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="not an .npz archive"):
        load_amass_motion(tmp_path / "text.npz")


def test_folder_walk_goes_on_past_bad_files(tmp_path: Path) -> None:
    write_take(tmp_path / "CMU" / "01" / "01_01_poses.npz", frames=400)
    write_take(tmp_path / "CMU" / "01" / "01_02_poses.npz", frames=100)  # 25 frames at 30 fps: too short
    write_take(tmp_path / "CMU" / "02" / "broken.npz", poses=True)
    np.savez(tmp_path / "CMU" / "01" / "shape.npz", betas=np.zeros(16), gender="male")
    assert [path.name for path in amass_files(tmp_path)] == ["01_01_poses.npz", "01_02_poses.npz", "broken.npz"]
    result = load_amass_folder(tmp_path, target_fps=30)
    assert [motion.name for motion in result.sequences] == ["CMU/01/01_01_poses"]
    reasons = {path.name: reason for path, reason in result.skipped}
    assert "fewer than min_frames=60" in reasons["01_02_poses.npz"]
    assert "missing key 'poses'" in reasons["broken.npz"]


def test_windows_follow_vibe_chunks(tmp_path: Path) -> None:
    long = load_amass_motion(write_take(tmp_path / "a.npz", frames=160, seed=1), target_fps=30)  # 40 frames
    short = load_amass_motion(write_take(tmp_path / "b.npz", frames=40, seed=2), target_fps=30)  # 10 frames
    windows = MotionWindows([long, short], window=16)
    assert windows.windows == [(0, 0), (0, 16)]  # the 10-frame take is shorter than a window
    item = windows[1]
    np.testing.assert_array_equal(item["body_pose"], long.body_pose[16:32])
    assert item["betas"].shape == (16, 10) and item["global_orient"].dtype == np.float32
    overlapping = MotionWindows([long], window=16, stride=8)
    assert [start for _, start in overlapping.windows] == [0, 8, 16, 24]
    with pytest.raises(IndexError):
        windows[2]
