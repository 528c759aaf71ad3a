"""Synthetic lifting windows from the DeepMimic clips: geometry, determinism, augmentation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from posekit.data.mocap import load_deepmimic_clips, to_h36m
from posekit.data.mocap_lifting import (
    LiftingAugmentation,
    SyntheticLiftingWindows,
    _torso_frames,
    look_at_cameras,
    off_axis_rotations,
    prepare_clip,
    render_lifting_sequences,
)
from posekit.geometry import project_to_2d

pytest.importorskip("pybullet_data")


@pytest.fixture(scope="module")
def clips():  # type: ignore[no-untyped-def]
    return load_deepmimic_clips()


def test_look_at_cameras_centre_the_target() -> None:
    targets = np.array([[1.0, 0.9, -2.0], [0.0, 1.0, 0.0]])
    rotation, centre = look_at_cameras(
        targets, np.array([0.3, 2.0]), np.radians([20.0, -5.0]), np.array([4.0, 6.0]), np.zeros(2)
    )
    camera_targets = np.einsum("bij,bj->bi", rotation, targets - centre)
    np.testing.assert_allclose(camera_targets[:, :2], 0, atol=1e-12)
    np.testing.assert_allclose(camera_targets[:, 2], [4.0, 6.0])
    np.testing.assert_allclose(np.linalg.det(rotation), 1.0)
    above = np.einsum("ij,j->i", rotation[0], targets[0] + np.array([0, 1.0, 0]) - centre[0])
    assert above[1] < 0  # world up is image up (camera y points down)


def test_looping_clip_is_continued(clips) -> None:  # type: ignore[no-untyped-def]
    walk = next(clip for clip in clips if clip.name == "walk")
    prepared = prepare_clip(walk, seconds_each_side=2.0)
    own = prepared.points[prepared.first_frame : prepared.first_frame + prepared.num_frames]
    np.testing.assert_array_equal(own, walk.points.astype(np.float64))
    root = walk.point_names.index("root")
    steps = np.linalg.norm(np.diff(prepared.points[:, root, [0, 2]], axis=0), axis=1)
    assert steps.max() < 4 * np.median(steps)  # no jump where one cycle meets the next
    kick = next(clip for clip in clips if clip.name == "kick")
    assert prepare_clip(kick).first_frame == 0  # not a looping clip


def test_windows_are_deterministic_and_consistent(clips) -> None:  # type: ignore[no-untyped-def]
    clean = dataclasses.replace(LiftingAugmentation(), noise_range=(0.0, 0.0), dropout_max=0.0)
    windows = SyntheticLiftingWindows(
        clips[:4], receptive_field=9, batch_size=64, batches_per_epoch=2, augmentation=clean, seed=3
    )
    first = next(iter(windows))
    again = next(iter(windows))
    assert all(np.array_equal(first[key].numpy(), again[key].numpy()) for key in first)
    assert first["keypoints_2d"].shape == (64, 9, 17, 2) and first["positions_3d"].shape == (64, 1, 17, 3)
    windows.set_epoch(1)
    assert not np.array_equal(next(iter(windows))["keypoints_2d"].numpy(), first["keypoints_2d"].numpy())
    joints = first["positions_3d"][:, 0].numpy()
    assert (joints[..., 2] > 1.0).all()  # in front of the camera
    projected = project_to_2d(joints, first["intrinsics"].numpy(), clip=False)
    # Body joints project exactly onto the centre frame's 2D (head and neck come from face points).
    body = [0, 1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16]
    np.testing.assert_allclose(projected[:, body], first["keypoints_2d"][:, 4, body].numpy(), atol=5e-3)
    heights = np.linalg.norm(joints[:, 10] - joints[:, 3], axis=-1)
    assert heights.std() > 0.05  # body sizes and poses vary


def test_causal_windows_stay_in_front_of_the_camera(clips) -> None:  # type: ignore[no-untyped-def]
    # Aimed at a causal window's last frame, a fast run toward the camera started behind it:
    # about 4 windows in 1,000 had 2D values in the thousands. Aimed at the centre frame, causal
    # windows look like non-causal ones and stay within the non-causal range (|2D| <= 3).
    windows = SyntheticLiftingWindows(
        clips, receptive_field=27, batch_size=512, batches_per_epoch=1, causal=True, augmentation=LiftingAugmentation()
    )
    largest = max(
        float(np.abs(windows.sample(np.random.default_rng(step))["keypoints_2d"].numpy()).max()) for step in range(3)
    )
    assert largest < 5.0
    batch = windows.sample(np.random.default_rng(0))
    joints = batch["positions_3d"][:, 0].numpy()  # the last frame's joints
    projected = project_to_2d(joints, batch["intrinsics"].numpy(), clip=False)
    body = [0, 1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16]
    difference = np.abs(projected[:, body] - batch["keypoints_2d"][:, -1, body].numpy())
    assert np.median(difference) < 0.02  # the target is the last frame (up to the 2D noise)


def test_off_axis_rotations_move_the_axis_without_roll() -> None:
    directions = np.array([[0.0, 0.0], [0.4, -0.2], [-0.7, 0.5]])
    rotations = off_axis_rotations(directions)
    np.testing.assert_allclose(
        rotations @ rotations.transpose(0, 2, 1), np.broadcast_to(np.eye(3), (3, 3, 3)), atol=1e-12
    )
    np.testing.assert_allclose(np.linalg.det(rotations), 1.0)
    axis = rotations[:, :, 2]  # where (0, 0, 1) goes
    np.testing.assert_allclose(axis[:, :2] / axis[:, 2:], directions, atol=1e-12)
    np.testing.assert_allclose(rotations[0], np.eye(3))


def test_off_centre_people_are_seen_where_drawn(clips) -> None:  # type: ignore[no-untyped-def]
    still = dataclasses.replace(
        LiftingAugmentation(), noise_range=(0.0, 0.0), dropout_max=0.0, target_jitter=0.0, principal_jitter=0.0
    )
    centred = SyntheticLiftingWindows(clips, receptive_field=9, batch_size=256, batches_per_epoch=1, augmentation=still)
    spread = SyntheticLiftingWindows(
        clips,
        receptive_field=9,
        batch_size=256,
        batches_per_epoch=1,
        augmentation=dataclasses.replace(still, off_centre=0.8),
    )
    offsets = []
    for windows in (centred, spread):
        batch = windows.sample(np.random.default_rng(0))
        joints = batch["positions_3d"][:, 0].numpy()
        assert (joints[..., 2] > 1.0).all()  # still in front of the camera
        root = project_to_2d(joints[:, :1], batch["intrinsics"].numpy(), clip=False)[:, 0]  # normalised units
        offsets.append(np.abs(root - batch["intrinsics"].numpy()[:, 2:4]))
    assert offsets[0].max() < 1e-4  # the root at the principal point
    assert 0.3 < np.median(offsets[1][:, 0]) and offsets[1][:, 0].max() < 0.81  # up to 0.8 x half the width


def test_render_sequences(clips) -> None:  # type: ignore[no-untyped-def]
    sequences = render_lifting_sequences(clips[:1], views_per_clip=2, seed=0)
    assert len(sequences) == 2 and sequences[0].keypoints_2d.shape == (len(clips[0]), 17, 2)
    names, points = clips[0].point_names, clips[0].points
    lengths = np.linalg.norm(np.diff(to_h36m(names, points)[:, [1, 2]], axis=1), axis=-1)
    rendered = np.linalg.norm(np.diff(sequences[0].positions_3d[:, [1, 2]], axis=1), axis=-1)
    np.testing.assert_allclose(rendered, lengths, atol=1e-4)  # a rigid camera transform keeps bone lengths


def test_limb_mixing_moves_donor_limbs_rigidly_onto_the_torso(clips) -> None:  # type: ignore[no-untyped-def]
    mixing = dataclasses.replace(LiftingAugmentation(), limb_mix_probability=0.6)
    windows = SyntheticLiftingWindows(clips, receptive_field=9, batch_size=48, augmentation=mixing, seed=0)
    geometry = windows.geometry
    fps = np.full(48, 30.0)
    points = windows._window_points(np.random.default_rng(1), np.arange(48) % len(clips), fps)
    result = windows._mix_limbs(points, fps, np.random.default_rng(2))
    # Replay the draws of _mix_limbs to know which windows took which limbs from which donor.
    replay = np.random.default_rng(2)
    mixed = np.flatnonzero(replay.random(48) < 0.6)
    choice = replay.integers(3, size=len(mixed))
    donors = windows._window_points(replay, replay.integers(len(windows.clips), size=len(mixed)), fps[mixed])
    assert 0 < len(mixed) < 48
    untouched = np.setdiff1d(np.arange(48), mixed)
    np.testing.assert_array_equal(result[untouched], points[untouched])
    torso = [geometry.names.index(name) for name in ("root", "chest", "neck", "left_shoulder", "right_hip", "nose")]
    np.testing.assert_array_equal(result[:, :, torso], points[:, :, torso])
    for group, wanted in (("arms", choice != 1), ("legs", choice != 0)):
        frame_points = geometry.limb_frames[group]
        for attachment, members in geometry.limbs[group]:
            # The limb seen from its own torso frame is the donor's, and is unchanged where not taken.
            local = np.einsum(
                "mtji,mtlj->mtli",
                _torso_frames(result[mixed], frame_points),
                result[mixed][:, :, members] - result[mixed][:, :, attachment : attachment + 1],
            )
            donor_local = np.einsum(
                "mtji,mtlj->mtli",
                _torso_frames(donors, frame_points),
                donors[:, :, members] - donors[:, :, attachment : attachment + 1],
            )
            np.testing.assert_allclose(local[wanted], donor_local[wanted], atol=1e-5)
            np.testing.assert_array_equal(result[mixed][~wanted][:, :, members], points[mixed][~wanted][:, :, members])
