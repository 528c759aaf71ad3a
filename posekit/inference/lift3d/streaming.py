"""Real-time lifting: each frame's 3D poses as soon as its 2D keypoints arrive (VideoPose3D, causal).

Legend: ``N`` people in a frame, ``K`` keypoints of the 2D skeleton, ``J`` = 17 Human3.6M joints,
``rf`` the lifter's receptive field.

:class:`StreamingLifter` keeps, per track, a ring buffer of the last ``rf`` frames of Human3.6M-17
2D keypoints. At the first frame of a track the buffer is filled with copies of it (the left edge
padding of the batch evaluation), and every new frame shifts in. With a **causal** lifter
(``TemporalModel(..., causal=True)``: the output of a window aligns with its last frame) the pose
of frame ``t`` is computed from frames ``t - rf + 1 .. t`` the moment frame ``t`` arrives, and the
stream equals :func:`posekit.inference.lift3d.sequence.lift_sequence` on the whole causal sequence, frame
by frame (float rounding aside; ``tests/inference/test_streaming.py``). Each window runs through
the strided single-output form of the network (:class:`~posekit.models.lift3d.videopose3d.
TemporalModelOptimized1f`, the same weights), so a frame costs one output's worth of convolutions,
all the tracks of a frame in one batch.

A **non-causal** lifter centres its window: the pose of frame ``t`` needs frames up to
``t + (rf - 1) / 2``, a latency of ``(rf - 1) / 2`` frames (13 frames, about 0.4 s at 30 fps, for
rf 27; 121 frames for rf 243). :class:`StreamingLifter` refuses such a lifter unless
``allow_delay=True``; then each update returns the poses of the frame ``(rf - 1) / 2`` frames back,
and :meth:`StreamingLifter.flush` emits a track's last frames (right edge padded with copies of its
last frame), which again equals the batch output exactly.

Missing keypoints cannot be interpolated without the future: a missing joint (score at or below
``min_score``) holds its last valid position; a joint not seen yet in the track takes the position
of its parent (the mean of the other joints for the pelvis); each is flagged in
:attr:`StreamedPose.interpolated`. A track that was not seen for a few frames gets copies of its
last frame for the gap (no poses are emitted for the gap frames); a track unseen for more than
``rf`` frames is finished (its pending frames flushed) and starts afresh if it comes back.

Trajectory: the lifter's trajectory model when it has one (run the same way), else the pinhole
fallback of :func:`posekit.inference.lift3d.tracks.estimate_root_trajectory` on the frame itself.

Speed: an update runs a handful of small convolutions (one window per track). Give PyTorch one
thread (``torch.set_num_threads(1)``, as ``posekit predict --lift`` does): on a loaded 2-core
machine, 5 people per frame with the default lifter's architecture took 7 ms per frame on one
thread and 310 ms on two, where every call waited for OpenMP's second thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from posekit.geometry import normalize_screen_coordinates
from posekit.inference.lift3d.tracks import (
    LIFT_SKELETON,
    as_lifter,
    check_lifter,
    default_focal_length,
    estimate_root_trajectory,
    h36m_flip_indices,
)
from posekit.models.lift3d import FoldedTemporalModel, Lifter, TemporalModel, TemporalModelOptimized1f
from posekit.skeletons import convert_keypoints_and_scores, get_skeleton
from posekit.structures import PoseInstances

__all__ = ["StreamedPose", "StreamingLifter", "single_output_model"]


@dataclass(frozen=True, eq=False)
class StreamedPose:
    """The 3D pose of one person in one frame.

    Attributes:
        track_id: the person's track id.
        frame: the frame index the pose belongs to (``latency`` frames before the newest frame).
        keypoints_3d: ``(17, 3)`` float32 metres, camera frame, root-relative (Human3.6M-17).
        trajectory: ``(3,)`` float32 metres, root position in camera space.
        keypoints_2d: ``(17, 2)`` float32 pixels, the Human3.6M-17 2D input of that frame.
        interpolated: ``(17,)`` bool, 2D joints that were filled (held or placed on a parent).
    """

    track_id: int
    frame: int
    keypoints_3d: np.ndarray
    trajectory: np.ndarray
    keypoints_2d: np.ndarray
    interpolated: np.ndarray


def single_output_model(model: TemporalModel | FoldedTemporalModel) -> torch.nn.Module:
    """The cheapest module computing one output from a window of exactly ``receptive_field`` frames.

    A dilated :class:`TemporalModel` becomes a strided :class:`TemporalModelOptimized1f` with the
    same weights (only the frames the single output needs are computed); a folded model is used
    as it is (on a window of ``rf`` frames it also gives one output).
    """
    if isinstance(model, FoldedTemporalModel):
        return model.eval()
    if not isinstance(model, TemporalModel):
        raise ValueError(f"expected a TemporalModel or FoldedTemporalModel, got {type(model).__name__}")
    if model.dense:
        return model.eval()  # dense ablation models have no strided twin
    strided = TemporalModelOptimized1f(
        model.num_joints_in,
        model.in_features,
        model.num_joints_out,
        model.filter_widths,
        causal=model.causal,
        dropout=0.0,
        channels=model.channels,
    )
    strided.load_state_dict(model.state_dict())
    parameter = next(model.parameters())
    return strided.to(device=parameter.device, dtype=parameter.dtype).eval()


class _TrackState:
    """Ring buffers of one track: the last ``rf`` frames."""

    def __init__(self, receptive_field: int, pixels: np.ndarray, interpolated: np.ndarray, frame: int) -> None:
        self.pixels = np.repeat(pixels[None], receptive_field, axis=0)  # (rf, J, 2)
        self.interpolated = np.repeat(interpolated[None], receptive_field, axis=0)  # (rf, J)
        self.frames = np.full(receptive_field, -1, np.int64)  # frame of each slot, -1 for padding
        self.frames[-1] = frame
        self.last_frame = frame
        self.last_valid = pixels.copy()  # (J, 2) last position of every joint
        self.seen = ~interpolated  # (J,) joints valid at least once

    def push(self, pixels: np.ndarray, interpolated: np.ndarray, frame: int) -> None:
        self.pixels = np.roll(self.pixels, -1, axis=0)
        self.interpolated = np.roll(self.interpolated, -1, axis=0)
        self.frames = np.roll(self.frames, -1)
        self.pixels[-1] = pixels
        self.interpolated[-1] = interpolated
        self.frames[-1] = frame


class StreamingLifter:
    """Lift tracked 2D poses frame by frame with per-track ring buffers (see the module docstring).

    Args:
        lifter: a Human3.6M-17 lifter; causal, or non-causal with ``allow_delay=True``.
        image_size: ``(w, h)`` of the video in pixels.
        flip_test: horizontal-flip test-time augmentation (as the batch pipeline).
        allow_delay: accept a non-causal lifter and emit each frame ``(rf - 1) / 2`` frames late.
        min_score: keypoints scoring at or below this count as missing.
        focal_length: pixels, for the pinhole trajectory fallback (lifters without a trajectory
            model); default :func:`posekit.inference.lift3d.tracks.default_focal_length`.

    Attributes:
        receptive_field: ``rf``.
        latency: frames between a frame's arrival and its pose: 0 when causal, ``(rf - 1) / 2``.

    Raises:
        ValueError: a lifter for another skeleton, or a non-causal lifter without ``allow_delay``.
    """

    def __init__(
        self,
        lifter: Lifter | TemporalModel | FoldedTemporalModel,
        image_size: tuple[int, int],
        *,
        flip_test: bool = True,
        allow_delay: bool = False,
        min_score: float = 0.0,
        focal_length: float | None = None,
    ) -> None:
        model = as_lifter(lifter)
        check_lifter(model)
        self.receptive_field = int(model.receptive_field)
        half = (self.receptive_field - 1) // 2
        if not model.causal and not allow_delay:
            raise ValueError(
                f"the lifter is not causal: its pose for frame t needs frames up to t + {half} (receptive field "
                f"{self.receptive_field}), so it cannot stream without a latency of {half} frames; use a causal "
                "checkpoint (trained with causal=True) or pass allow_delay=True to accept the delay"
            )
        try:
            width, height = (int(value) for value in image_size)
        except (TypeError, ValueError):
            raise ValueError(f"image_size must be (w, h) in pixels, got {image_size!r}") from None
        if width <= 0 or height <= 0:
            raise ValueError(f"image_size must be (w, h) with positive entries, got {image_size!r}")
        self.image_size = (width, height)
        self.latency = 0 if model.causal else half
        self.flip_test = bool(flip_test)
        self.min_score = float(min_score)
        self.focal_length = default_focal_length(self.image_size) if focal_length is None else float(focal_length)
        self.pose_network = single_output_model(model.pose_model)
        self.trajectory_network = None if model.trajectory is None else single_output_model(model.trajectory)
        self._left, self._right = h36m_flip_indices()
        self._parents = LIFT_SKELETON.parents or ()
        parameter = next(self.pose_network.parameters())
        self._dtype, self._device = parameter.dtype, parameter.device
        self.tracks: dict[int, _TrackState] = {}

    # -------------------------------------------------------------------------------- 2D side
    def _to_h36m(self, instances: PoseInstances) -> tuple[np.ndarray, np.ndarray]:
        """``(keypoints (N, J, 2), valid (N, J))`` Human3.6M-17 from any skeleton."""
        scores = np.where(np.isfinite(instances.scores) & (instances.scores > self.min_score), instances.scores, 0.0)
        keypoints, _, valid = convert_keypoints_and_scores(
            np.asarray(instances.keypoints[..., :2], np.float64),
            scores,
            get_skeleton(instances.skeleton),
            LIFT_SKELETON,
        )
        return keypoints.astype(np.float32), np.asarray(valid, dtype=bool)

    def _fill(
        self, state: _TrackState | None, keypoints: np.ndarray, valid: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Causal filling of one person's joints: hold the last valid value, else the parent's."""
        filled = keypoints.copy()
        interpolated = ~valid
        if state is not None:
            held = ~valid & state.seen
            filled[held] = state.last_valid[held]
        known = valid | (state.seen if state is not None else np.zeros_like(valid))
        for joint in range(len(filled)):  # Human3.6M parents precede their children
            if known[joint]:
                continue
            parent = self._parents[joint] if self._parents else -1
            if parent >= 0 and known[parent]:
                filled[joint] = filled[parent]
            else:
                filled[joint] = filled[known].mean(axis=0)
            known[joint] = True
        return filled, interpolated

    # ------------------------------------------------------------------------------ 3D side
    def _run(self, network: torch.nn.Module, windows: np.ndarray) -> np.ndarray:
        """One output per ``(B, rf, J, 2)`` normalised window: ``(B, J_out, 3)``, flip-averaged."""
        inputs = torch.from_numpy(windows).to(device=self._device, dtype=self._dtype)
        count = inputs.shape[0]
        if self.flip_test:
            flipped = inputs.clone()
            flipped[..., 0] *= -1
            flipped[:, :, self._left + self._right] = flipped[:, :, self._right + self._left]
            inputs = torch.cat([inputs, flipped], dim=0)  # (B, ...) -> (2B, ...)
        with torch.inference_mode():
            outputs = network(inputs)[:, -1]  # (B or 2B, J_out, 3)
        if self.flip_test:
            mirrored = outputs[count:].clone()
            mirrored[..., 0] *= -1
            if mirrored.shape[1] > 1:
                mirrored[:, self._left + self._right] = mirrored[:, self._right + self._left]
            outputs = torch.mean(torch.stack([outputs[:count], mirrored]), dim=0)
        return outputs.float().cpu().numpy()

    def _emit(self, items: list[tuple[int, _TrackState]]) -> list[StreamedPose]:
        """Poses for the ring slot ``rf - 1 - latency`` of each ``(track_id, state)``."""
        slot = self.receptive_field - 1 - self.latency
        ready = [(track_id, state) for track_id, state in items if state.frames[slot] >= 0]
        if not ready:
            return []
        width, height = self.image_size
        pixels = np.stack([state.pixels for _, state in ready])  # (B, rf, J, 2)
        windows = np.asarray(normalize_screen_coordinates(pixels, width, height), dtype=np.float32)
        poses = self._run(self.pose_network, windows)  # (B, J, 3)
        root = LIFT_SKELETON.root_index or 0
        poses = poses - poses[:, root : root + 1]
        current_2d = pixels[:, slot]  # (B, J, 2)
        current_interpolated = np.stack([state.interpolated[slot] for _, state in ready])  # (B, J)
        if self.trajectory_network is not None:
            trajectory = self._run(self.trajectory_network, windows)[:, 0]  # (B, 3)
        else:
            trajectory = estimate_root_trajectory(
                current_2d,
                poses,
                self.focal_length,
                (width / 2.0, height / 2.0),
                weights=np.where(current_interpolated, 0.1, 1.0),
            )
        return [
            StreamedPose(
                track_id=track_id,
                frame=int(state.frames[slot]),
                keypoints_3d=poses[index].astype(np.float32),
                trajectory=np.asarray(trajectory[index], np.float32),
                keypoints_2d=current_2d[index].astype(np.float32),
                interpolated=current_interpolated[index].copy(),
            )
            for index, (track_id, state) in enumerate(ready)
        ]

    def _flush_state(self, track_id: int, state: _TrackState) -> list[StreamedPose]:
        """Emit the pending (delayed) frames of a finished track, right edge padded by replication."""
        outputs: list[StreamedPose] = []
        for _ in range(self.latency):
            state.push(state.pixels[-1].copy(), state.interpolated[-1].copy(), -1)
            outputs += self._emit([(track_id, state)])
        return outputs

    # ---------------------------------------------------------------------------------- API
    def update(self, frame_index: int, instances: PoseInstances) -> list[StreamedPose]:
        """Add one frame's people; return the poses that are ready (this frame's when causal).

        Args:
            frame_index: the frame's index; must increase from call to call.
            instances: the people of this frame with ``track_ids`` (any 2D skeleton; missing
                keypoints have score 0).

        Returns:
            The ready poses, one per track (frame ``frame_index - latency``), plus the last poses
            of tracks that ended (unseen for more than ``rf`` frames), which are then forgotten.

        Raises:
            ValueError: instances without track ids, repeated track ids, or a frame index that
                does not increase.
        """
        if len(instances) > 0 and instances.track_ids is None:
            raise ValueError("instances must carry track_ids to be lifted per track")
        track_ids = [] if instances.track_ids is None else [int(value) for value in instances.track_ids]
        if len(set(track_ids)) != len(track_ids):
            raise ValueError(f"repeated track ids in one frame: {sorted(track_ids)}")
        outputs: list[StreamedPose] = []
        for track_id, state in list(self.tracks.items()):
            if frame_index <= state.last_frame:
                raise ValueError(f"frame_index must increase: got {frame_index} after {state.last_frame}")
            if frame_index - state.last_frame > self.receptive_field and track_id not in track_ids:
                outputs += self._flush_state(track_id, state)
                del self.tracks[track_id]
        if len(instances) == 0:
            return outputs
        keypoints, valid = self._to_h36m(instances)
        active: list[tuple[int, _TrackState]] = []
        for row, track_id in enumerate(track_ids):
            previous = self.tracks.get(track_id)
            if not valid[row].any() and (previous is None or not previous.seen.any()):
                continue  # nothing to start a track from
            if previous is not None and frame_index - previous.last_frame > self.receptive_field:
                outputs += self._flush_state(track_id, previous)
                previous = None
            filled, interpolated = self._fill(previous, keypoints[row], valid[row])
            if previous is None:
                # A new track: its ring is filled with copies of this frame (left edge padding).
                started = _TrackState(self.receptive_field, filled, interpolated, frame_index)
                self.tracks[track_id] = started
                if self.latency == 0:
                    active.append((track_id, started))
                continue
            state = previous
            # A short gap: copies of the last frame, no poses emitted for them.
            for _ in range(frame_index - state.last_frame - 1):
                state.push(state.pixels[-1].copy(), np.ones_like(interpolated), -1)
                if self.latency > 0:
                    outputs += self._emit([(track_id, state)])
            state.push(filled, interpolated, frame_index)
            state.last_frame = frame_index
            state.last_valid = np.where(valid[row][:, None], keypoints[row], state.last_valid)
            state.seen = state.seen | valid[row]
            active.append((track_id, state))
        return outputs + self._emit(active)

    def flush(self) -> list[StreamedPose]:
        """End of the video: emit every track's pending frames (non-causal lifters) and forget all tracks."""
        outputs: list[StreamedPose] = []
        for track_id, state in self.tracks.items():
            outputs += self._flush_state(track_id, state)
        self.tracks.clear()
        return outputs

    def reset(self) -> None:
        """Forget every track without emitting anything."""
        self.tracks.clear()

    def lift_stream(self, frames: Sequence[tuple[int, PoseInstances]]) -> list[StreamedPose]:
        """Feed ``(frame_index, instances)`` pairs in order and flush: every pose of the stream."""
        outputs: list[StreamedPose] = []
        for frame_index, instances in frames:
            outputs += self.update(frame_index, instances)
        return outputs + self.flush()
