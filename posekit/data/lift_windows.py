"""Training windows for 2D-to-3D lifting: VideoPose3D's chunked batch generator as an iterable.

Legend: ``B`` batch, ``L`` output frames per window (``chunk_length``, 1 for the optimised
single-frame model), ``P`` padding per side (``(receptive_field - 1) / 2``), ``K`` input 2D
keypoints, ``J`` 3D joints.

:class:`ChunkedWindows` is ``common/generators.py::ChunkedGenerator`` (Pavllo et al., CVPR 2019)
behaviour for behaviour:

* every sequence of ``T`` frames is cut into ``ceil(T / L)`` chunks of ``L`` output frames,
  centred (``offset = (n_chunks * L - T) // 2``), each a *pair* ``(sequence, start, end, flip)``;
  with ``augment`` every chunk appears a second time, flipped;
* the 2D window of a chunk is frames ``[start - P - shift, end + P - shift)`` with
  ``shift = causal_shift`` (``P`` for causal models, so the window ends at the output frame),
  frames outside the sequence being copies of its first/last frame (``np.pad(..., 'edge')``);
  the 3D target is frames ``[start, end)``, edge-padded likewise;
* a flipped window negates x of the 2D keypoints and of the 3D joints and swaps
  ``keypoints_left``/``keypoints_right`` and ``joints_left``/``joints_right``; its camera
  intrinsics get ``cx`` and ``p1`` negated (entries 2 and 7), as the official generator does;
* ``shuffle`` draws a permutation of all pairs each pass with ``numpy.random.RandomState``: pass
  ``p`` uses ``RandomState(seed + p)``, so pass 0 is the official generator's first epoch, and any
  batch can be rebuilt from ``(seed, pass, batch index)`` alone (exact resume);
* ``endless`` generators (the unlabelled stream of semi-supervised training) run through passes
  back to back: :meth:`batch_at` takes a global batch number.

Iterating yields one epoch of batches, each a dict of tensors: ``keypoints_2d (B, L + 2P, K, 2)``,
``positions_3d (B, L, J, 3)`` (when given: camera-space joints, joint 0 carrying the trajectory),
``intrinsics (B, 9)`` (when given), ``flipped (B,)`` and ``epoch`` (0-d). The object has
``set_epoch`` (and ``sampler`` returning itself) so that :class:`posekit.engine.Trainer` passes
the epoch in as it does to a ``DistributedSampler``; under ``torch.distributed`` each process
takes every ``world_size``-th batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch

__all__ = ["ChunkedWindows", "SemiSupervisedWindows", "flip_permutation"]


def flip_permutation(num_points: int, left: Sequence[int], right: Sequence[int]) -> np.ndarray:
    """The index permutation that swaps ``left[i]`` and ``right[i]``.

    ``x[..., permutation, :]`` equals the official in-place swap
    ``x[..., left + right] = x[..., right + left]``.
    """
    left_list, right_list = [int(i) for i in left], [int(i) for i in right]
    if len(left_list) != len(right_list):
        raise ValueError(f"left and right lists must have the same length, got {left_list} and {right_list}")
    if len(set(left_list + right_list)) != len(left_list) * 2:
        raise ValueError(f"left and right lists must not share indices, got {left_list} and {right_list}")
    for index in left_list + right_list:
        if not 0 <= index < num_points:
            raise ValueError(f"flip indices must be in [0, {num_points}), got {left_list} and {right_list}")
    permutation = np.arange(num_points)
    permutation[left_list + right_list] = right_list + left_list
    return permutation


def _distributed_rank_and_size() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


class ChunkedWindows:
    """Batches of padded 2D windows and 3D targets from whole sequences (see the module docstring).

    Args:
        keypoints_2d: one ``(T_i, K, 2)`` array per sequence (normalised coordinates).
        positions_3d: one ``(T_i, J, 3)`` array per sequence, or ``None`` (unlabelled).
        intrinsics: one ``(9,)`` normalised camera vector per sequence, or ``None``.
        batch_size: pairs per batch (official: ``batch_size // stride``).
        chunk_length: output frames per window ``L`` (official ``--stride``).
        pad: input frames added on each side, ``(receptive_field - 1) // 2``.
        causal_shift: ``pad`` for causal models, else 0.
        shuffle: permute the pairs each pass.
        seed: base seed of the permutations (official: 1234 labelled, 4321 unlabelled).
        augment: add a flipped copy of every chunk.
        keypoints_left, keypoints_right: 2D keypoint indices swapped by the flip.
        joints_left, joints_right: 3D joint indices swapped by the flip.
        endless: iterate pass after pass (the unlabelled stream); ``len`` is one pass.
    """

    def __init__(
        self,
        keypoints_2d: Sequence[np.ndarray],
        positions_3d: Sequence[np.ndarray] | None = None,
        intrinsics: Sequence[np.ndarray] | None = None,
        *,
        batch_size: int = 1024,
        chunk_length: int = 1,
        pad: int = 0,
        causal_shift: int = 0,
        shuffle: bool = True,
        seed: int = 1234,
        augment: bool = False,
        keypoints_left: Sequence[int] = (),
        keypoints_right: Sequence[int] = (),
        joints_left: Sequence[int] = (),
        joints_right: Sequence[int] = (),
        endless: bool = False,
    ) -> None:
        if len(keypoints_2d) == 0:
            raise ValueError("ChunkedWindows needs at least one sequence")
        if batch_size < 1 or chunk_length < 1 or pad < 0 or not 0 <= causal_shift <= pad:
            raise ValueError(
                f"need batch_size >= 1, chunk_length >= 1, pad >= 0 and 0 <= causal_shift <= pad, got "
                f"{batch_size}, {chunk_length}, {pad}, {causal_shift}"
            )
        arrays_2d = [np.asarray(keypoints, dtype=np.float32) for keypoints in keypoints_2d]
        num_keypoints = arrays_2d[0].shape[1] if arrays_2d[0].ndim == 3 else -1
        for index, keypoints in enumerate(arrays_2d):
            if keypoints.ndim != 3 or keypoints.shape[1] != num_keypoints or keypoints.shape[0] < 1:
                raise ValueError(
                    f"keypoints_2d[{index}] must have shape (T, {num_keypoints}, F) with T >= 1, got {keypoints.shape}"
                )
        self.lengths = np.array([len(keypoints) for keypoints in arrays_2d], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)
        self.keypoints = np.concatenate(arrays_2d)  # (sum T_i, K, F)
        self.positions: np.ndarray | None = None
        if positions_3d is not None:
            if len(positions_3d) != len(arrays_2d):
                raise ValueError(f"got {len(positions_3d)} 3D sequences for {len(arrays_2d)} 2D sequences")
            arrays_3d = [np.asarray(positions, dtype=np.float32) for positions in positions_3d]
            for index, positions in enumerate(arrays_3d):
                if positions.ndim != 3 or positions.shape[0] != self.lengths[index] or positions.shape[-1] != 3:
                    raise ValueError(
                        f"positions_3d[{index}] must have shape ({self.lengths[index]}, J, 3), got {positions.shape}"
                    )
            self.positions = np.concatenate(arrays_3d)  # (sum T_i, J, 3)
        self.cameras: np.ndarray | None = None
        if intrinsics is not None:
            cameras = np.asarray(intrinsics, dtype=np.float32)
            if cameras.shape != (len(arrays_2d), 9):
                raise ValueError(f"intrinsics must have shape ({len(arrays_2d)}, 9), got {cameras.shape}")
            self.cameras = cameras
        self.batch_size = batch_size
        self.chunk_length = chunk_length
        self.pad = pad
        self.causal_shift = causal_shift
        self.shuffle = shuffle
        self.seed = seed
        self.augment = augment
        self.endless = endless
        self.epoch = 0
        self.keypoint_permutation = flip_permutation(self.keypoints.shape[1], keypoints_left, keypoints_right)
        num_joints = self.positions.shape[1] if self.positions is not None else 0
        self.joint_permutation = (
            flip_permutation(num_joints, joints_left, joints_right) if self.positions is not None else None
        )
        if augment and not list(keypoints_left):
            raise ValueError("augment=True needs keypoints_left/keypoints_right to swap")
        self.pairs = self._build_pairs()
        self.num_batches = (len(self.pairs) + batch_size - 1) // batch_size
        self._cached_pass: tuple[int, np.ndarray] | None = None

    def _build_pairs(self) -> np.ndarray:
        """``(N, 4)`` int64 rows ``(sequence, start, end, flip)`` in the official order."""
        rows = []
        for sequence_index, length in enumerate(self.lengths):
            num_chunks = (int(length) + self.chunk_length - 1) // self.chunk_length
            offset = (num_chunks * self.chunk_length - int(length)) // 2
            bounds = np.arange(num_chunks + 1) * self.chunk_length - offset
            block = np.stack(
                [np.full(num_chunks, sequence_index), bounds[:-1], bounds[1:], np.zeros(num_chunks, dtype=np.int64)],
                axis=1,
            )
            rows.append(block)
            if self.augment:
                flipped = block.copy()
                flipped[:, 3] = 1
                rows.append(flipped)
        return np.concatenate(rows).astype(np.int64)

    # ------------------------------------------------------------------ epochs and order

    @property
    def sampler(self) -> ChunkedWindows:
        """Itself: :class:`posekit.engine.Trainer` calls ``loader.sampler.set_epoch(epoch)``."""
        return self

    def set_epoch(self, epoch: int) -> None:
        """Select the pass (permutation) that the next iteration uses."""
        self.epoch = int(epoch)

    def pass_order(self, pass_index: int) -> np.ndarray:
        """The pairs in the order of pass ``pass_index``: ``RandomState(seed + pass).permutation``."""
        if self._cached_pass is not None and self._cached_pass[0] == pass_index:
            return self._cached_pass[1]
        order = (
            np.random.RandomState((self.seed + pass_index) % 2**32).permutation(self.pairs)
            if self.shuffle
            else self.pairs
        )
        self._cached_pass = (pass_index, order)
        return order

    def __len__(self) -> int:
        _, world_size = _distributed_rank_and_size()
        return max(1, self.num_batches // world_size) if world_size > 1 else self.num_batches

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        rank, world_size = _distributed_rank_and_size()
        count = len(self)
        for step in range(count):
            batch_index = rank + step * world_size if world_size > 1 else step
            yield self.batch_at(self.epoch * self.num_batches + batch_index)

    def batch_at(self, global_index: int) -> dict[str, torch.Tensor]:
        """Batch number ``global_index`` counting across passes (pass = index // num_batches)."""
        pass_index, batch_index = divmod(int(global_index), self.num_batches)
        order = self.pass_order(pass_index)
        rows = order[batch_index * self.batch_size : (batch_index + 1) * self.batch_size]
        batch = self.gather(rows)
        batch["epoch"] = torch.tensor(self.epoch, dtype=torch.int64)
        return batch

    # ------------------------------------------------------------------ building a batch

    def gather(self, rows: np.ndarray) -> dict[str, torch.Tensor]:
        """The batch of the pairs ``rows`` ``(B, 4)``: windows, targets, cameras, flips."""
        rows = np.asarray(rows, dtype=np.int64)
        sequence, start, end, flip = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3].astype(bool)
        lengths = self.lengths[sequence][:, None]  # (B, 1)
        offsets = self.offsets[sequence][:, None]
        window = self.chunk_length + 2 * self.pad
        frames_2d = (start - self.pad - self.causal_shift)[:, None] + np.arange(window)  # (B, L + 2P)
        # Frames outside the sequence repeat its first/last frame: np.pad(..., "edge").
        keypoints = self.keypoints[offsets + np.clip(frames_2d, 0, lengths - 1)]  # (B, L + 2P, K, F)
        if flip.any():
            flipped = keypoints[flip][:, :, self.keypoint_permutation]
            flipped[..., 0] *= -1
            keypoints[flip] = flipped
        batch = {
            "keypoints_2d": torch.from_numpy(np.ascontiguousarray(keypoints)),
            "flipped": torch.from_numpy(flip.copy()),
        }
        if self.positions is not None:
            frames_3d = start[:, None] + np.arange(self.chunk_length)  # (B, L)
            positions = self.positions[offsets + np.clip(frames_3d, 0, lengths - 1)]  # (B, L, J, 3)
            if flip.any():
                assert self.joint_permutation is not None
                flipped_3d = positions[flip][:, :, self.joint_permutation]
                flipped_3d[..., 0] *= -1
                positions[flip] = flipped_3d
            batch["positions_3d"] = torch.from_numpy(np.ascontiguousarray(positions))
        if self.cameras is not None:
            cameras = self.cameras[sequence].copy()  # (B, 9)
            cameras[flip, 2] *= -1  # principal point x
            cameras[flip, 7] *= -1  # tangential p1
            batch["intrinsics"] = torch.from_numpy(cameras)
        del end  # the window length fixes the end: end - start == chunk_length for every pair
        return batch


class SemiSupervisedWindows:
    """Labelled batches zipped with an endless stream of unlabelled ones (VideoPose3D ``run.py``).

    Each item is ``{"labelled": batch, "unlabelled": batch}``; an epoch is one pass over the
    labelled windows, the unlabelled stream continues across epochs (global batch number
    ``epoch * len(labelled) + step``), as the official ``zip(train_generator.next_epoch(),
    semi_generator.next_epoch())`` with an endless semi-supervised generator.

    Args:
        labelled: windows with ``positions_3d``.
        unlabelled: windows with ``intrinsics`` (and no 3D), usually ``endless=True``.
    """

    def __init__(self, labelled: ChunkedWindows, unlabelled: ChunkedWindows) -> None:
        if labelled.positions is None:
            raise ValueError("the labelled windows need positions_3d")
        if unlabelled.cameras is None:
            raise ValueError("the unlabelled windows need camera intrinsics (for the projection loss)")
        self.labelled = labelled
        self.unlabelled = unlabelled
        self.epoch = 0

    @property
    def sampler(self) -> SemiSupervisedWindows:
        """Itself, so that the trainer's ``set_epoch`` reaches both streams."""
        return self

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch of both streams."""
        self.epoch = int(epoch)
        self.labelled.set_epoch(epoch)
        self.unlabelled.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.labelled)

    def __iter__(self) -> Iterator[dict[str, dict[str, torch.Tensor]]]:
        rank, world_size = _distributed_rank_and_size()
        steps = len(self.labelled)
        for step, labelled in enumerate(self.labelled):
            unlabelled_index = (self.epoch * steps + step) * world_size + rank
            yield {"labelled": labelled, "unlabelled": self.unlabelled.batch_at(unlabelled_index)}
