"""StreamingLifter: frame-by-frame output equals the batch output; latency; refusal; causal filling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posekit.inference.lift3d.streaming import StreamingLifter, single_output_model
from posekit.inference.lift3d.tracks import lift_tracks
from posekit.models.lift3d import Lifter, TemporalModel
from posekit.structures import PoseInstances, PoseSequence

IMAGE_SIZE = (640, 480)


def make_model(joints_out: int = 17, *, causal: bool, seed: int = 0) -> TemporalModel:
    torch.manual_seed(seed)
    model = TemporalModel(17, 2, joints_out, [3, 3], causal=causal, channels=32)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                assert module.running_mean is not None and module.running_var is not None
                module.running_mean.copy_(torch.rand(module.num_features, generator=generator) - 0.5)
                module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
    return model.eval()


def two_people(num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    first = rng.uniform(150, 300, (1, 17, 2)) + np.cumsum(rng.normal(0, 3, (num_frames, 17, 2)), axis=0)
    second = rng.uniform(350, 500, (1, 17, 2)) + np.cumsum(rng.normal(0, 3, (num_frames, 17, 2)), axis=0)
    return first.astype(np.float32), second.astype(np.float32)


def stream(lifter: StreamingLifter, first: np.ndarray, second: np.ndarray, start_second: int) -> list:
    outputs = []
    for frame in range(len(first)):
        rows = [first[frame]] + ([second[frame]] if frame >= start_second else [])
        ids = [1] + ([7] if frame >= start_second else [])
        instances = PoseInstances(
            keypoints=np.stack(rows), scores=np.ones((len(rows), 17)), skeleton="h36m", track_ids=np.array(ids)
        )
        emitted = lifter.update(frame, instances)
        assert all(pose.frame == frame - lifter.latency for pose in emitted)
        outputs += emitted
    return outputs + lifter.flush()


@pytest.mark.parametrize("causal", [True, False])
def test_streaming_equals_batch_frame_by_frame(causal: bool) -> None:
    lifter = Lifter(make_model(causal=causal), make_model(1, causal=causal, seed=1))
    first, second = two_people(14)
    batch = lift_tracks(
        [
            PoseSequence(frames=np.arange(14), keypoints=first, scores=np.ones((14, 17)), skeleton="h36m", track_id=1),
            PoseSequence(
                frames=np.arange(4, 14), keypoints=second[4:], scores=np.ones((10, 17)), skeleton="h36m", track_id=7
            ),
        ],
        lifter,
        IMAGE_SIZE,
    )
    streamer = StreamingLifter(lifter, IMAGE_SIZE, allow_delay=not causal)
    assert streamer.latency == (0 if causal else 4)
    outputs = stream(streamer, first, second, start_second=4)
    assert sorted((pose.track_id, pose.frame) for pose in outputs) == [(1, t) for t in range(14)] + [
        (7, t) for t in range(4, 14)
    ]
    for pose in outputs:
        expected = batch[0] if pose.track_id == 1 else batch[1]
        row = int(np.flatnonzero(expected.frames == pose.frame)[0])
        np.testing.assert_allclose(pose.keypoints_3d, expected.keypoints_3d[row], atol=2e-6)  # type: ignore[index]
        np.testing.assert_allclose(pose.trajectory, expected.trajectory[row], atol=2e-6)  # type: ignore[index]
        assert not pose.interpolated.any()


def test_non_causal_lifter_is_refused_without_delay() -> None:
    with pytest.raises(ValueError, match="not causal.*latency of 4 frames.*allow_delay"):
        StreamingLifter(Lifter(make_model(causal=False)), IMAGE_SIZE)


def test_single_output_model_is_the_strided_twin() -> None:
    model = make_model(causal=True)
    window = torch.randn(3, model.receptive_field(), 17, 2)
    with torch.no_grad():
        np.testing.assert_allclose(single_output_model(model)(window), model(window), atol=1e-5)


def test_missing_joints_are_held_and_flagged_and_tracks_restart() -> None:
    streamer = StreamingLifter(Lifter(make_model(causal=True)), IMAGE_SIZE, flip_test=False)
    first, _ = two_people(3)
    scores = np.ones((1, 17))
    streamer.update(0, PoseInstances(keypoints=first[:1], scores=scores, skeleton="h36m", track_ids=np.array([3])))
    missing = scores.copy()
    missing[0, 13] = 0.0  # left wrist lost
    (pose,) = streamer.update(
        1, PoseInstances(keypoints=first[1:2], scores=missing, skeleton="h36m", track_ids=np.array([3]))
    )
    assert pose.interpolated.tolist() == [index == 13 for index in range(17)]
    np.testing.assert_allclose(pose.keypoints_2d[13], first[0, 13])  # held from frame 0
    np.testing.assert_allclose(pose.keypoints_2d[12], first[1, 12])
    # Unseen for more than the receptive field (9): the track is forgotten and starts afresh.
    assert streamer.update(20, PoseInstances.empty("h36m")) == []
    assert 3 not in streamer.tracks
    with pytest.raises(ValueError, match="track_ids"):
        streamer.update(21, PoseInstances(keypoints=first[:1], scores=scores, skeleton="h36m"))
