"""3D for the people of one video or image: whole tracks lifted at the end, or streamed frame by frame.

:class:`VideoLifter` is what ``posekit predict --lift`` runs per video: it takes each frame's
tracked people (any estimator, any registered 2D skeleton) and returns one Human3.6M-17
:class:`~posekit.structures.PoseSequence` per track with ``keypoints_3d`` and ``trajectory``:

* batch (default): the frames are collected per track (:class:`~posekit.inference.lift3d.tracks.TrackCollector`)
  and each track is lifted once the video is read (:func:`~posekit.inference.lift3d.tracks.lift_tracks`:
  centred windows, missing values interpolated from both sides), with the BatchNorm-folded model;
* causal: each frame is lifted when it arrives, from past frames only
  (:class:`~posekit.inference.lift3d.streaming.StreamingLifter`); a non-causal lifter lags
  ``(receptive_field - 1) / 2`` frames (:attr:`VideoLifter.latency`).

:func:`lift_people` lifts the people of one image, each as a one-frame track.

Legend: ``T`` frames, ``J`` = 17 Human3.6M joints; 3D in metres, camera frame (x right, y down,
z forward), root-relative; trajectories are the pelvis in camera space.
"""

from __future__ import annotations

import numpy as np

from posekit.inference.lift3d.streaming import StreamedPose, StreamingLifter
from posekit.inference.lift3d.tracks import TrackCollector, lift_tracks
from posekit.models.lift3d import Lifter
from posekit.structures import PoseInstances, PoseSequence

__all__ = ["VideoLifter", "lift_people"]


def lift_people(
    instances: PoseInstances,
    lifter: Lifter,
    image_size: tuple[int, int],
    *,
    flip_test: bool = True,
    focal_length: float | None = None,
) -> list[PoseSequence]:
    """Lift each person of one image as a one-frame track (``track_id`` = row, frame 0).

    Args:
        instances: ``N`` people of the image, any registered 2D skeleton.
        lifter: a Human3.6M-17 lifter.
        image_size: ``(w, h)``.
        flip_test: horizontal-flip test-time augmentation.
        focal_length: pixels, for the pinhole trajectory fallback.

    Returns:
        ``N`` sequences of length 1, same order (see :func:`~posekit.inference.lift3d.tracks.lift_tracks`).
    """
    sequences = [
        PoseSequence(
            frames=np.zeros(1, np.int64),
            keypoints=instances.keypoints[row : row + 1],
            scores=instances.scores[row : row + 1],
            skeleton=instances.skeleton,
            track_id=row,
        )
        for row in range(len(instances))
    ]
    return lift_tracks(sequences, lifter, image_size, flip_test=flip_test, focal_length=focal_length)


class VideoLifter:
    """3D poses of every tracked person of one video.

    Args:
        lifter: a Human3.6M-17 lifter (checked with :func:`~posekit.inference.lift3d.tracks.check_lifter`).
        causal: lift while the video is read, from past frames only (streaming); else whole tracks
            at the end.
        flip_test: horizontal-flip test-time augmentation.
        focal_length: pixels, for the pinhole trajectory fallback (``None``: 1.15 x the width).

    Attributes:
        latency: with ``causal``, frames between a frame's arrival and its 3D pose (0 for a causal
            lifter); ``None`` until the first frame.
        receptive_field: with ``causal``, the lifter's receptive field; ``None`` until the first frame.
        skipped: one sentence per track that could not be lifted (no usable keypoint).
    """

    def __init__(
        self, lifter: Lifter, *, causal: bool = False, flip_test: bool = True, focal_length: float | None = None
    ) -> None:
        self.lifter = lifter
        self.causal = bool(causal)
        self.flip_test = bool(flip_test)
        self.focal_length = focal_length
        self.latency: int | None = None
        self.receptive_field: int | None = None
        self.skipped: list[str] = []
        self._collector = TrackCollector()
        self._streamer: StreamingLifter | None = None
        self._streamed: list[StreamedPose] = []
        self._size: tuple[int, int] | None = None

    def add(self, frame_index: int, timestamp: float, instances: PoseInstances, image_size: tuple[int, int]) -> None:
        """One frame's tracked people (each row with a ``track_id``); ``image_size`` is ``(w, h)``."""
        self._size = (int(image_size[0]), int(image_size[1]))
        if not self.causal:
            self._collector.add(frame_index, instances, timestamp)
            return
        if self._streamer is None:
            self._streamer = StreamingLifter(
                self.lifter,
                self._size,
                flip_test=self.flip_test,
                allow_delay=True,
                focal_length=self.focal_length,
            )
            self.latency = self._streamer.latency
            self.receptive_field = self._streamer.receptive_field
        self._streamed += self._streamer.update(frame_index, instances)

    def finish(self) -> list[PoseSequence]:
        """The lifted tracks, in increasing track id: ``skeleton="h36m"`` 2D, ``keypoints_3d``, ``trajectory``."""
        if self._size is None:
            return []
        if not self.causal:
            lifter = self.lifter.folded()  # BatchNorm folded: same outputs, faster
            lifted: list[PoseSequence] = []
            for sequence in self._collector.sequences():
                try:
                    lifted += lift_tracks(
                        [sequence], lifter, self._size, flip_test=self.flip_test, focal_length=self.focal_length
                    )
                except ValueError as error:  # a track without any usable keypoint: skip it, say so
                    self.skipped.append(str(error))
            return lifted
        if self._streamer is not None:
            self._streamed += self._streamer.flush()
        by_track: dict[int, list[StreamedPose]] = {}
        for pose in self._streamed:
            by_track.setdefault(pose.track_id, []).append(pose)
        sequences = []
        for track_id in sorted(by_track):
            poses = sorted(by_track[track_id], key=lambda pose: pose.frame)
            sequences.append(
                PoseSequence(
                    frames=np.array([pose.frame for pose in poses], np.int64),
                    keypoints=np.stack([pose.keypoints_2d for pose in poses]),
                    scores=np.stack([np.where(pose.interpolated, 0.0, 1.0) for pose in poses]).astype(np.float32),
                    skeleton="h36m",
                    track_id=track_id,
                    keypoints_3d=np.stack([pose.keypoints_3d for pose in poses]),
                    skeleton_3d="h36m",
                    trajectory=np.stack([pose.trajectory for pose in poses]),
                )
            )
        return sequences
