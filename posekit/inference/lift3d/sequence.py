"""Lifting whole 2D keypoint tracks to 3D with VideoPose3D: long sequences, flip test, chunks.

Legend: ``T`` frames, ``J`` joints.

:func:`lift_sequence` runs a lifter (:class:`~posekit.models.lift3d.Lifter`, a
:class:`~posekit.models.lift3d.TemporalModel` or a :class:`~posekit.models.lift3d.FoldedTemporalModel`;
load one with :func:`posekit.models.lift3d.load_lifter`) over a whole sequence ``(T, J, 2)``
exactly like the official evaluation (edge padding of ``(receptive_field - 1) / 2`` frames on
each side; all on the left when causal; optional flip test-time augmentation), in chunks that
overlap by the receptive field, so any length runs in bounded memory with the same outputs as
one unchunked pass.

Input 2D keypoints are *normalised* screen coordinates as in the paper (x, y scaled so that the
image width maps to [-1, 1]); outputs are root-relative 3D joints in metres (trajectory model:
root position in camera space).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal

import numpy as np
import torch
from torch import nn

from posekit.models.lift3d import FoldedTemporalModel, Lifter, TemporalModel

__all__ = ["cpu_supports_fast_bf16", "lift_sequence"]


def cpu_supports_fast_bf16() -> bool:
    """Whether this CPU has native bfloat16 matrix units that oneDNN uses (AVX512-BF16 or AMX).

    Without them bfloat16 still runs, emulated and slower than float32; use it to choose the
    ``compute_dtype`` of :func:`posekit.models.lift3d.fold_batchnorm`.
    """
    if not torch.backends.mkldnn.is_available():
        return False
    checker = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    if checker is None:
        return False
    return bool(checker())


# ---------------------------------------------------------------------------------------------
# Whole sequences: official evaluation padding, chunks overlapping by the receptive field.

SequenceModel = Lifter | TemporalModel | FoldedTemporalModel


def _model_facts(model: SequenceModel) -> tuple[nn.Module, int, bool, int, int, int]:
    """(callable module, receptive field, causal, J_in, in_features, J_out) of any lifting model."""
    if isinstance(model, Lifter):
        return (
            model.pose_model,
            model.receptive_field,
            model.causal,
            model.num_joints_in,
            model.in_features,
            model.num_joints,
        )
    if isinstance(model, TemporalModel | FoldedTemporalModel):
        return (
            model,
            model.receptive_field(),
            model.causal,
            model.num_joints_in,
            model.in_features,
            model.num_joints_out,
        )
    raise ValueError(f"expected a Lifter, TemporalModel or FoldedTemporalModel, got {type(model).__name__}")


def _check_flip_indices(name: str, indices: Sequence[int], num_joints: int) -> list[int]:
    values = [int(index) for index in indices]
    for index in values:
        if not 0 <= index < num_joints:
            raise ValueError(f"{name} must index joints 0..{num_joints - 1}, got {values}")
    return values


def _chunk_bounds(num_outputs: int, chunk_size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, num_outputs, chunk_size):
        yield start, min(start + chunk_size, num_outputs)


def _equal_chunks(num_outputs: int, chunk_size: int) -> tuple[int, list[tuple[int, int]]]:
    """Chunk length and (compute start, write start) of equal chunks covering ``num_outputs``.

    The outputs are split into ``ceil(num_outputs / chunk_size)`` chunks of one common length
    (at most ``chunk_size``); the last chunk is moved back to end at ``num_outputs`` and only
    writes the outputs that the previous ones did not (at most a few frames of overlap). Every
    forward pass then has the same shape, so none runs on a sliver of a few frames (where
    convolution backends switch to other kernels and summation orders).
    """
    count = -(-num_outputs // chunk_size)
    length = -(-num_outputs // count)
    return length, [
        (min(write_start, num_outputs - length), write_start) for write_start in range(0, num_outputs, length)
    ]


def lift_sequence(
    model: SequenceModel,
    keypoints_2d: np.ndarray | torch.Tensor,
    *,
    chunk_size: int = 8192,
    pad: Literal["edge"] | None = "edge",
    batch_size: int = 1,
    flip_augment: bool = False,
    keypoints_left: Sequence[int] = (),
    keypoints_right: Sequence[int] = (),
    joints_left: Sequence[int] | None = None,
    joints_right: Sequence[int] | None = None,
) -> np.ndarray:
    """Lift a whole 2D keypoint sequence to 3D, as the official evaluation does, in chunks.

    The official evaluation pads the sequence with copies of its first and last frames,
    ``(rf - 1) / 2`` on each side (causal models: ``rf - 1`` on the left, none on the right), and
    runs the model once over it. Here output frames are computed ``chunk_size`` at a time, each
    chunk reading its ``chunk_size + rf - 1`` input frames (edge indices clamped, no padded copy
    of the sequence is made), so memory is bounded whatever ``T``. Each output frame is computed
    from the same input window with the same weights as in the one-pass run; the results are
    bitwise equal wherever the convolution backend sums in the same order for both lengths (the
    tests check float64 models and float32 folded models), otherwise within a few float ulps.
    All chunks have the same length (at most ``chunk_size``; the last one may overlap its
    predecessor by a few frames). Each chunk recomputes ``rf - 1`` frames of context, so keep
    ``chunk_size`` well above the receptive field (about 3% extra work at 8192 for rf 243).

    Args:
        model: a :class:`Lifter` (its pose model is used), a :class:`TemporalModel` or a
            :class:`FoldedTemporalModel`; for trajectories pass ``lifter.trajectory``.
        keypoints_2d: ``(T, J_in, 2)`` normalised 2D keypoints, finite (interpolate missing
            detections first).
        chunk_size: most output frames per chunk; memory grows with ``chunk_size + rf - 1``
            (about 16 KiB per frame for 1024 channels in float32: 8192 -> about 130 MiB).
        pad: ``"edge"`` (official) for ``T`` outputs, or ``None`` for no padding and
            ``T - rf + 1`` outputs.
        batch_size: chunks run together in one forward pass.
        flip_augment: also run the horizontally mirrored sequence (x negated, left/right
            keypoints swapped), mirror its prediction back and average (official test-time
            augmentation).
        keypoints_left, keypoints_right: input joint indices swapped by the flip.
        joints_left, joints_right: output joint indices swapped back (default: the keypoint
            lists); not used for single-joint (trajectory) outputs.

    Returns:
        ``(T, J_out, 3)`` (``(T - rf + 1, J_out, 3)`` with ``pad=None``) in the model's float
        dtype, metres.

    Raises:
        ValueError: wrong shape, non-finite keypoints, too few frames for ``pad=None``, bad
            chunk/batch sizes or flip indices.
    """
    network, receptive_field, causal, num_joints_in, in_features, num_joints_out = _model_facts(model)
    keypoints = (
        keypoints_2d.detach().cpu().numpy() if isinstance(keypoints_2d, torch.Tensor) else np.asarray(keypoints_2d)
    )
    if keypoints.ndim != 3 or keypoints.shape[1:] != (num_joints_in, in_features):
        raise ValueError(
            f"keypoints_2d must have shape (T, {num_joints_in}, {in_features}), got {tuple(keypoints.shape)}"
        )
    if not np.issubdtype(keypoints.dtype, np.floating):
        raise ValueError(f"keypoints_2d must be floating point, got dtype {keypoints.dtype}")
    if chunk_size < 1 or batch_size < 1:
        raise ValueError(f"chunk_size and batch_size must be positive, got {chunk_size} and {batch_size}")
    if pad not in ("edge", None):
        raise ValueError(f"pad must be 'edge' or None, got {pad!r}")
    num_frames = keypoints.shape[0]
    if num_frames == 0:
        raise ValueError("keypoints_2d has no frames")
    for start, stop in _chunk_bounds(num_frames, 1 << 16):
        if not np.isfinite(keypoints[start:stop]).all():
            bad_frame = start + int(np.argmax(~np.isfinite(keypoints[start:stop]).all(axis=(1, 2))))
            raise ValueError(
                f"keypoints_2d holds NaN or infinite values (first at frame {bad_frame}); interpolate missing "
                "keypoints before lifting"
            )
    half = (receptive_field - 1) // 2
    if pad == "edge":
        left_pad = half + (half if causal else 0)
        num_outputs = num_frames
    else:
        left_pad = 0
        num_outputs = num_frames - receptive_field + 1
        if num_outputs < 1:
            raise ValueError(
                f"keypoints_2d has {num_frames} frames, fewer than the receptive field of {receptive_field}; "
                "use pad='edge'"
            )
    left_list: list[int] = []
    right_list: list[int] = []
    out_left: list[int] = []
    out_right: list[int] = []
    swap_in: list[int] = []
    swap_out: list[int] = []
    if flip_augment:
        left_list = _check_flip_indices("keypoints_left", keypoints_left, num_joints_in)
        right_list = _check_flip_indices("keypoints_right", keypoints_right, num_joints_in)
        if num_joints_out > 1:  # a single output joint (trajectory) has nothing to swap back
            out_left = _check_flip_indices(
                "joints_left", left_list if joints_left is None else joints_left, num_joints_out
            )
            out_right = _check_flip_indices(
                "joints_right", right_list if joints_right is None else joints_right, num_joints_out
            )
        if len(left_list) != len(right_list) or len(out_left) != len(out_right):
            raise ValueError(
                f"left and right joint lists must pair up, got {len(left_list)} and {len(right_list)} keypoints, "
                f"{len(out_left)} and {len(out_right)} joints"
            )
        swap_in = left_list + right_list
        swap_out = out_left + out_right

    parameter = next(network.parameters())
    dtype, device = parameter.dtype, parameter.device
    numpy_dtype = torch.empty((), dtype=dtype).numpy().dtype
    output = np.empty((num_outputs, num_joints_out, 3), dtype=numpy_dtype)
    was_training = network.training
    network.eval()
    try:
        with torch.inference_mode():
            length, chunks = _equal_chunks(num_outputs, chunk_size)
            for group_start in range(0, len(chunks), batch_size):
                group = chunks[group_start : group_start + batch_size]
                windows = []
                for compute_start, _ in group:
                    # Input frames of outputs [s, s + length): padded frames [s, s + length + rf - 1).
                    frame_indices = np.arange(
                        compute_start - left_pad, compute_start + length + receptive_field - 1 - left_pad
                    )
                    windows.append(keypoints[np.clip(frame_indices, 0, num_frames - 1)])
                # (G, length + rf - 1, J_in, F)
                inputs = torch.from_numpy(np.stack(windows).astype(numpy_dtype, copy=False)).to(device)
                if flip_augment:
                    flipped = inputs.clone()
                    flipped[..., 0] *= -1
                    flipped[:, :, swap_in] = flipped[:, :, right_list + left_list]
                    # (G, ...) -> (2G, ...): originals first, mirrored copies after
                    inputs = torch.cat([inputs, flipped], dim=0)
                # (G or 2G, length, J_out, 3)
                predictions = network(inputs)
                if flip_augment:
                    count = len(group)
                    mirrored = predictions[count:].clone()
                    mirrored[..., 0] *= -1
                    if num_joints_out > 1:
                        mirrored[:, :, swap_out] = mirrored[:, :, out_right + out_left]
                    # (2, G, length, J, 3) -> (G, length, J, 3): mean of the pair, as the official evaluation
                    predictions = torch.mean(torch.stack([predictions[:count], mirrored]), dim=0)
                for (compute_start, write_start), prediction in zip(group, predictions, strict=True):
                    output[write_start : compute_start + length] = (
                        prediction[write_start - compute_start :].cpu().numpy()
                    )
    finally:
        network.train(was_training)
    return output
