"""lift_tracks / lift_keypoints: conversion, gap and NaN filling with flags, padding, trajectories, files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from posekit.data.tracks2d import pad_to_length
from posekit.geometry import normalize_screen_coordinates
from posekit.inference.lift3d.sequence import lift_sequence
from posekit.inference.lift3d.tracks import (
    DEFAULT_FOCAL_LENGTH_FACTOR,
    TrackCollector,
    estimate_root_trajectory,
    fill_missing_keypoints,
    h36m_flip_indices,
    lift_keypoints,
    lift_tracks,
)
from posekit.io.poses import load_poses3d_npz, save_poses3d_npz
from posekit.models.lift3d import Lifter, TemporalModel
from posekit.skeletons import convert_keypoints
from posekit.structures import PoseInstances, PoseSequence

IMAGE_SIZE = (640, 480)


def make_model(joints_out: int = 17, *, joints_in: int = 17, causal: bool = False, seed: int = 0) -> TemporalModel:
    """A small VideoPose3D (rf 27) with non-trivial BatchNorm statistics."""
    torch.manual_seed(seed)
    model = TemporalModel(joints_in, 2, joints_out, [3, 3, 3], causal=causal, channels=32)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                assert module.running_mean is not None and module.running_var is not None
                module.running_mean.copy_(torch.rand(module.num_features, generator=generator) - 0.5)
                module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
    return model.eval()


def walking_keypoints(num_frames: int, num_keypoints: int, seed: int = 0) -> np.ndarray:
    """``(T, K, 2)`` pixels: a random pose drifting smoothly."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(200.0, 400.0, (1, num_keypoints, 2))
    return (base + np.cumsum(rng.normal(0.0, 2.0, (num_frames, num_keypoints, 2)), axis=0)).astype(np.float32)


def test_lift_tracks_shapes_gaps_and_single_frame() -> None:
    lifter = Lifter(make_model(), make_model(1, seed=1))
    keypoints = walking_keypoints(12, 33)
    frames = np.r_[0:5, 8:15]  # frames 5, 6, 7 missing: the tracker lost the person
    scores = np.ones((12, 33), np.float32)
    long_track = PoseSequence(
        frames=frames, keypoints=keypoints, scores=scores, skeleton="blazepose", track_id=4, timestamps=frames / 25.0
    )
    single = PoseSequence(
        frames=np.array([7]), keypoints=keypoints[:1], scores=scores[:1], skeleton="blazepose", track_id=9
    )
    lifted = lift_tracks([long_track, single], lifter, IMAGE_SIZE)

    first, second = lifted
    assert [first.track_id, second.track_id] == [4, 9]
    np.testing.assert_array_equal(first.frames, np.arange(15))
    assert first.skeleton == "h36m" and first.skeleton_3d == "h36m"
    assert first.keypoints.shape == (15, 17, 2) and first.keypoints_3d is not None and first.trajectory is not None
    assert first.keypoints_3d.shape == (15, 17, 3) and first.trajectory.shape == (15, 3)
    np.testing.assert_array_equal(first.keypoints_3d[:, 0], 0.0)  # root-relative
    assert first.timestamps is not None
    np.testing.assert_allclose(first.timestamps, np.arange(15) / 25.0)
    # Gap frames are filled and flagged (score 0), observed ones are not.
    assert (first.scores[5:8] == 0).all() and (first.scores[np.r_[0:5, 8:15]] > 0).all()
    # Filled 2D at the gap: linear between frames 4 and 8 (left hip copied from BlazePose by name).
    converted, _ = convert_keypoints(keypoints, "blazepose", "h36m")
    np.testing.assert_allclose(first.keypoints[6], (converted[4] + converted[5]) / 2, rtol=1e-5)
    assert second.keypoints_3d is not None and second.keypoints_3d.shape == (1, 17, 3)
    assert np.isfinite(second.keypoints_3d).all() and np.isfinite(second.trajectory).all()  # type: ignore[arg-type]


def test_lift_keypoints_equals_lift_sequence_with_flip_and_trajectory() -> None:
    pose_model, trajectory_model = make_model(), make_model(1, seed=1)
    lifter = Lifter(pose_model, trajectory_model)
    keypoints = walking_keypoints(40, 17)
    result = lift_keypoints(keypoints, lifter, IMAGE_SIZE, skeleton="h36m", flip_test=True)
    normalized = normalize_screen_coordinates(keypoints, *IMAGE_SIZE)
    left, right = h36m_flip_indices()
    assert sorted(left) == [4, 5, 6, 11, 12, 13] and sorted(right) == [1, 2, 3, 14, 15, 16]
    flip = {"flip_augment": True, "keypoints_left": left, "keypoints_right": right}
    expected = lift_sequence(pose_model, normalized, **flip)  # type: ignore[arg-type]
    np.testing.assert_allclose(result.keypoints_3d, expected - expected[:, :1], atol=1e-6)
    expected_trajectory = lift_sequence(trajectory_model, normalized, **flip)[:, 0]  # type: ignore[arg-type]
    np.testing.assert_allclose(result.trajectory, expected_trajectory, atol=1e-6)
    assert result.trajectory_source == "model" and not result.interpolated.any()


def test_nan_and_low_score_keypoints_are_interpolated_and_flagged() -> None:
    keypoints = walking_keypoints(6, 17, seed=3).astype(np.float64)
    original = keypoints.copy()
    keypoints[2, 5] = np.nan  # left knee missing at frame 2
    keypoints[1:4, 13] = np.nan  # left wrist missing for three frames
    keypoints[:, 10] = np.nan  # head never seen: placed on its parent (neck_nose), flagged
    scores = np.ones((6, 17))
    scores[4, 2] = 0.05  # right knee below min_score at frame 4
    lifter = Lifter(make_model())
    result = lift_keypoints(keypoints, lifter, IMAGE_SIZE, scores=scores, min_score=0.1)
    expected_flags = np.zeros((6, 17), bool)
    expected_flags[2, 5] = expected_flags[1:4, 13] = expected_flags[:, 10] = expected_flags[4, 2] = True
    np.testing.assert_array_equal(result.interpolated, expected_flags)
    np.testing.assert_array_equal(result.scores[expected_flags], 0.0)
    np.testing.assert_allclose(result.keypoints_2d[2, 5], (original[1, 5] + original[3, 5]) / 2, rtol=1e-5)
    np.testing.assert_allclose(result.keypoints_2d[3, 13], (original[0, 13] + 3 * original[4, 13]) / 4, rtol=1e-5)
    np.testing.assert_allclose(result.keypoints_2d[:, 10], result.keypoints_2d[:, 9])  # parent of head
    assert np.isfinite(result.keypoints_3d).all() and np.isfinite(result.trajectory).all()
    assert result.trajectory_source == "pinhole"


def test_fill_missing_keypoints_root_never_seen_and_errors() -> None:
    keypoints = np.arange(3 * 17 * 2, dtype=np.float32).reshape(3, 17, 2)
    valid = np.ones((3, 17), bool)
    valid[:, 0] = False
    filled, flags = fill_missing_keypoints(keypoints, valid)
    np.testing.assert_allclose(filled[:, 0], keypoints[:, 1:].mean(axis=1))
    assert flags[:, 0].all() and not flags[:, 1:].any()
    with pytest.raises(ValueError, match="no valid keypoint"):
        fill_missing_keypoints(keypoints, np.zeros((3, 17), bool))


def test_short_track_is_edge_padded() -> None:
    """A 3-frame track with a 27-frame lifter: the documented edge padding, nothing else."""
    model = make_model()
    keypoints = walking_keypoints(3, 17, seed=5)
    result = lift_keypoints(keypoints, model, IMAGE_SIZE, flip_test=False)
    normalized = normalize_screen_coordinates(keypoints, *IMAGE_SIZE)
    half = (model.receptive_field() - 1) // 2
    padded = np.pad(normalized, ((half, half), (0, 0), (0, 0)), mode="edge")
    manual = lift_sequence(model, padded, pad=None)
    np.testing.assert_allclose(result.keypoints_3d, manual - manual[:, :1], atol=1e-6)
    symmetric, middle = pad_to_length(normalized, 3 + 2 * half)
    np.testing.assert_allclose(symmetric[middle], normalized)


def test_pinhole_trajectory_recovers_the_translation() -> None:
    rng = np.random.default_rng(0)
    poses = rng.normal(0.0, 0.3, (8, 17, 3))
    poses -= poses[:, :1]
    translation = np.array([0.4, -0.2, 5.0]) + rng.normal(0.0, 0.3, (8, 3))
    focal, center = 900.0, np.array([320.0, 240.0])
    camera_points = poses + translation[:, None]
    pixels = focal * camera_points[..., :2] / camera_points[..., 2:] + center
    estimate = estimate_root_trajectory(pixels, poses, focal, center)
    np.testing.assert_allclose(estimate, translation, atol=1e-4)
    # The default focal assumption scales with the image width.
    model = make_model()
    keypoints = walking_keypoints(4, 17)
    narrow = lift_keypoints(keypoints, model, IMAGE_SIZE, flip_test=False)
    explicit = lift_keypoints(
        keypoints, model, IMAGE_SIZE, flip_test=False, focal_length=DEFAULT_FOCAL_LENGTH_FACTOR * IMAGE_SIZE[0]
    )
    np.testing.assert_allclose(narrow.trajectory, explicit.trajectory)


def test_bad_inputs_give_clear_errors() -> None:
    lifter = Lifter(make_model())
    with pytest.raises(ValueError, match=r"keypoints must have shape \(T, 17, 2\)"):
        lift_keypoints(np.zeros((5, 16, 2)), lifter, IMAGE_SIZE)
    with pytest.raises(ValueError, match=r"\(T, 33, 2\)"):
        lift_keypoints(np.zeros((5, 17, 2)), lifter, IMAGE_SIZE, skeleton="blazepose")
    with pytest.raises(ValueError, match="no valid keypoint"):
        lift_keypoints(np.full((5, 17, 2), np.nan), lifter, IMAGE_SIZE)
    with pytest.raises(ValueError, match="another skeleton"):
        lift_keypoints(np.zeros((5, 15, 2)), Lifter(make_model(15, joints_in=15)), IMAGE_SIZE, skeleton="h36m")
    with pytest.raises(ValueError, match="image_size"):
        lift_keypoints(np.zeros((5, 17, 2)), lifter, (0, 480))
    empty = PoseSequence(
        frames=np.array([0]), keypoints=np.zeros((1, 17, 2)), scores=np.zeros((1, 17)), skeleton="coco", track_id=3
    )
    with pytest.raises(ValueError, match="track 3"):
        lift_tracks([empty], lifter, IMAGE_SIZE)


def test_collector_and_poses3d_npz_round_trip(tmp_path: Path) -> None:
    collector = TrackCollector()
    keypoints = walking_keypoints(4, 17)
    for frame in range(4):
        ids = [2] if frame == 1 else [2, 5]
        rows = [0] if frame == 1 else [0, 1]
        instances = PoseInstances(
            keypoints=np.stack([keypoints[frame], keypoints[frame] + 30])[rows],
            scores=np.ones((len(rows), 17)),
            skeleton="coco",
            track_ids=np.array(ids),
        )
        collector.add(frame, instances, frame / 30.0)
    sequences = collector.sequences()
    assert [(s.track_id, s.frames.tolist()) for s in sequences] == [(2, [0, 1, 2, 3]), (5, [0, 2, 3])]
    lifted = lift_tracks(sequences, Lifter(make_model()), IMAGE_SIZE)
    path = save_poses3d_npz(tmp_path / "poses3d.npz", [("clip.mp4", sequence) for sequence in lifted])
    with np.load(path, allow_pickle=False) as data:
        assert str(data["skeleton"]) == "h36m"
        assert data["track_keys"].tolist() == ["2", "5"] and data["track_ids"].tolist() == [2, 5]
        assert data["track_5_keypoints_3d"].shape == (4, 17, 3)
        np.testing.assert_array_equal(data["track_5_interpolated"][1], True)  # frame 1: not seen
    loaded = load_poses3d_npz(path)
    assert [name for name, _ in loaded] == ["clip.mp4", "clip.mp4"]
    np.testing.assert_array_equal(loaded[1][1].keypoints_3d, lifted[1].keypoints_3d)  # type: ignore[arg-type]
    assert not list(tmp_path.glob(".*"))
    with pytest.raises(ValueError, match="lift it first"):
        save_poses3d_npz(tmp_path / "x.npz", [("clip.mp4", sequences[0])])
    assert not (tmp_path / "x.npz").exists()
