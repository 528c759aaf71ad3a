"""The shipped default lifters (non-causal and causal): load weights-only, lift a held-out DeepMimic clip sensibly."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pytest
import torch

from posekit.data.mocap import load_deepmimic_clips
from posekit.data.mocap_lifting import render_lifting_sequences
from posekit.inference.lift3d.default_lifter import (
    DEFAULT_CAUSAL_LIFTER_SHA256,
    DEFAULT_LIFTER_SHA256,
    default_lifter_info,
    default_lifter_path,
    load_default_lifter,
)
from posekit.inference.lift3d.sequence import lift_sequence
from posekit.inference.lift3d.video import VideoLifter
from posekit.inference.predict import load_lifter_for_predict
from posekit.metrics import mpjpe, p_mpjpe
from posekit.skeletons import H36M
from posekit.structures import PoseInstances

pytest.importorskip("pybullet_data")


def _held_out_kick_errors(lifter: Any, name: str) -> tuple[float, float, np.ndarray]:
    """MPJPE and P-MPJPE (mm) of ``lifter`` on one random view of held-out 'kick', and the view's 2D (T, 17, 2)."""
    clip = next(clip for clip in load_deepmimic_clips() if clip.name == "kick")
    sequence = render_lifting_sequences([clip], views_per_clip=1, seed=123)[0]
    left = [a for a, _ in H36M.flip_pair_indices]
    right = [b for _, b in H36M.flip_pair_indices]
    prediction = lift_sequence(
        lifter, sequence.keypoints_2d, flip_augment=True, keypoints_left=left, keypoints_right=right
    )
    assert prediction.shape == (len(clip), 17, 3) and np.isfinite(prediction).all()
    assert sequence.positions_3d is not None
    target = sequence.positions_3d - sequence.positions_3d[:, :1]
    error = float(mpjpe(prediction, target)) * 1000
    aligned = float(p_mpjpe(prediction, target)) * 1000
    print(f"{name} on held-out 'kick' (one random view): MPJPE {error:.1f} mm, P-MPJPE {aligned:.1f} mm")
    return error, aligned, sequence.keypoints_2d


def test_default_lifter_on_a_held_out_clip() -> None:
    path = default_lifter_path()
    assert path.is_file() and path.stat().st_size < 10 * 2**20
    assert hashlib.sha256(path.read_bytes()).hexdigest() == DEFAULT_LIFTER_SHA256
    lifter = load_default_lifter()
    info = default_lifter_info()
    assert info["skeleton"] == "h36m" and info["receptive_field"] == lifter.receptive_field
    assert "kick" in info["validation_clips"] and "kick" not in info["train_clips"]
    error, aligned, keypoints_2d = _held_out_kick_errors(lifter, "default lifter")
    # Loose bounds, about measured + 20 %: 106.7 / 82.9 mm on this view (105.6 / 83.1 mm over the 18 held-out views).
    assert error < 128.0 and aligned < 100.0 and aligned < error
    assert lifter.trajectory is not None
    root = lift_sequence(lifter.trajectory, keypoints_2d)
    assert root.shape == (len(keypoints_2d), 1, 3) and (root[:, 0, 2] > 0).all()


def test_causal_default_lifter_is_shipped_checked_and_causal() -> None:
    path = default_lifter_path(causal=True)
    assert path.is_file() and path.stat().st_size < 10 * 2**20 and path != default_lifter_path()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == DEFAULT_CAUSAL_LIFTER_SHA256
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)  # plain tensors and metadata only
    assert checkpoint["causal"] is True
    lifter = load_default_lifter(causal=True)
    info = default_lifter_info(causal=True)
    assert lifter.causal and lifter.trajectory is not None and lifter.trajectory.causal
    assert info["skeleton"] == "h36m" and info["receptive_field"] == lifter.receptive_field == 27
    assert info["validation_clips"] == default_lifter_info()["validation_clips"]  # the same held-out clips
    assert not load_default_lifter().causal


def test_causal_default_lifter_reads_past_frames_only() -> None:
    lifter = load_default_lifter(causal=True)
    clip = next(clip for clip in load_deepmimic_clips() if clip.name == "kick")
    keypoints = render_lifting_sequences([clip], views_per_clip=1, seed=5)[0].keypoints_2d[:60]  # (60, 17, 2)
    left = [a for a, _ in H36M.flip_pair_indices]
    right = [b for _, b in H36M.flip_pair_indices]
    flips = {"flip_augment": True, "keypoints_left": left, "keypoints_right": right}
    changed = keypoints.copy()
    changed[31:] = np.random.default_rng(0).uniform(-1, 1, size=changed[31:].shape)  # a different future
    assert lifter.trajectory is not None
    for model in (lifter, lifter.trajectory):
        before = lift_sequence(model, keypoints, **flips)  # type: ignore[arg-type]
        after = lift_sequence(model, changed, **flips)  # type: ignore[arg-type]
        np.testing.assert_allclose(after[:31], before[:31], atol=1e-6)  # frames 0..30 never saw the change
        assert np.abs(after[31:] - before[31:]).max() > 0.01  # ... which frame 31 on does see


def test_causal_default_lifter_on_a_held_out_clip() -> None:
    error, aligned, _ = _held_out_kick_errors(load_default_lifter(causal=True), "causal default lifter")
    # Loose bounds: 90.7 / 75.4 mm on this view (103.3 / 84.7 mm over the 18 held-out views).
    assert error < 119.0 and aligned < 99.0 and aligned < error


def test_predict_streams_with_the_causal_default_at_latency_zero() -> None:
    causal = load_lifter_for_predict(None, 1, causal=True)
    assert causal.causal and not load_lifter_for_predict(None, 1).causal
    given = load_lifter_for_predict(str(default_lifter_path()), 1, causal=True)  # --lifter is used as given
    assert not given.causal
    rng = np.random.default_rng(0)
    keypoints = rng.uniform(300, 700, size=(1, 17, 2)).astype(np.float32)  # one person, COCO-17 pixels
    for lifter, latency in ((causal, 0), (given, 13)):
        video = VideoLifter(lifter, causal=True)
        for frame in range(3):
            people = PoseInstances(
                keypoints=keypoints, scores=np.ones((1, 17), np.float32), skeleton="coco", track_ids=np.array([0])
            )
            video.add(frame, frame / 25, people, (1000, 1000))
        assert video.latency == latency and video.receptive_field == 27
        assert [len(sequence) for sequence in video.finish()] == [3]
