"""ChunkedWindows against a per-pair loop written from the VideoPose3D generator's definition."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posekit.data.lift_windows import ChunkedWindows, SemiSupervisedWindows, flip_permutation

KPS_LEFT, KPS_RIGHT = [1, 3], [2, 4]
JOINTS_LEFT, JOINTS_RIGHT = [1], [2]


def _sequences(seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    lengths = [5, 9, 2]
    keypoints = [rng.normal(size=(length, 5, 2)).astype(np.float32) for length in lengths]
    positions = [rng.normal(size=(length, 3, 3)).astype(np.float32) for length in lengths]
    cameras = rng.normal(size=(3, 9)).astype(np.float32)
    return keypoints, positions, cameras


def _reference_pairs(lengths: list[int], chunk: int, augment: bool) -> np.ndarray:
    pairs = []
    for index, length in enumerate(lengths):
        count = (length + chunk - 1) // chunk
        offset = (count * chunk - length) // 2
        bounds = np.arange(count + 1) * chunk - offset
        pairs += [(index, bounds[i], bounds[i + 1], False) for i in range(count)]
        if augment:
            pairs += [(index, bounds[i], bounds[i + 1], True) for i in range(count)]
    return np.array(pairs, dtype=np.int64)


def _reference_item(keypoints, positions, cameras, pair, pad, shift):  # type: ignore[no-untyped-def]
    sequence, start, end, flip = (int(value) for value in pair)
    start_2d, end_2d = start - pad - shift, end + pad - shift
    series = keypoints[sequence]
    low, high = max(start_2d, 0), min(end_2d, len(series))
    window = np.pad(series[low:high], ((low - start_2d, end_2d - high), (0, 0), (0, 0)), "edge").copy()
    series_3d = positions[sequence]
    low3, high3 = max(start, 0), min(end, len(series_3d))
    target = np.pad(series_3d[low3:high3], ((low3 - start, end - high3), (0, 0), (0, 0)), "edge").copy()
    camera = cameras[sequence].copy()
    if flip:
        window[:, :, 0] *= -1
        window[:, KPS_LEFT + KPS_RIGHT] = window[:, KPS_RIGHT + KPS_LEFT]
        target[:, :, 0] *= -1
        target[:, JOINTS_LEFT + JOINTS_RIGHT] = target[:, JOINTS_RIGHT + JOINTS_LEFT]
        camera[2] *= -1
        camera[7] *= -1
    return window, target, camera


@pytest.mark.parametrize(("chunk", "pad", "causal"), [(1, 2, False), (1, 2, True), (4, 1, False), (3, 0, False)])
def test_batches_equal_the_reference_loop(chunk: int, pad: int, causal: bool) -> None:
    keypoints, positions, cameras = _sequences()
    shift = pad if causal else 0
    windows = ChunkedWindows(
        keypoints, positions, cameras, batch_size=4, chunk_length=chunk, pad=pad, causal_shift=shift, seed=1234,
        augment=True, keypoints_left=KPS_LEFT, keypoints_right=KPS_RIGHT, joints_left=JOINTS_LEFT,
        joints_right=JOINTS_RIGHT,
    )  # fmt: skip
    reference_pairs = _reference_pairs([5, 9, 2], chunk, augment=True)
    np.testing.assert_array_equal(windows.pairs, reference_pairs)
    # Pass 0 is the official generator's first epoch: RandomState(1234).permutation of the pairs.
    order = np.random.RandomState(1234).permutation(reference_pairs)
    batches = list(windows)
    assert len(batches) == len(windows) == (len(order) + 3) // 4
    for batch_index, batch in enumerate(batches):
        rows = order[batch_index * 4 : (batch_index + 1) * 4]
        assert batch["keypoints_2d"].shape == (len(rows), chunk + 2 * pad, 5, 2)
        for row_index, row in enumerate(rows):
            window, target, camera = _reference_item(keypoints, positions, cameras, row, pad, shift)
            np.testing.assert_array_equal(batch["keypoints_2d"][row_index].numpy(), window)
            np.testing.assert_array_equal(batch["positions_3d"][row_index].numpy(), target)
            np.testing.assert_array_equal(batch["intrinsics"][row_index].numpy(), camera)
            assert bool(batch["flipped"][row_index]) == bool(row[3])


def test_causal_window_ends_at_the_output_frame() -> None:
    keypoints = [np.arange(6, dtype=np.float32)[:, None, None] * np.ones((1, 5, 2), np.float32)]
    windows = ChunkedWindows(keypoints, batch_size=100, pad=2, causal_shift=2, shuffle=False)
    frames = next(iter(windows))["keypoints_2d"][:, :, 0, 0]
    assert frames[3].tolist() == [0, 0, 1, 2, 3]  # output frame 3: frames 3-4 .. 3, left edge repeated
    centred = next(iter(ChunkedWindows(keypoints, batch_size=100, pad=2, shuffle=False)))["keypoints_2d"]
    assert centred[0, :, 0, 0].tolist() == [0, 0, 0, 1, 2] and centred[5, :, 0, 0].tolist() == [3, 4, 5, 5, 5]


def test_epochs_endless_stream_and_flip_permutation() -> None:
    keypoints, positions, cameras = _sequences(1)
    labelled = ChunkedWindows(keypoints, positions, batch_size=3, pad=1, seed=7)
    labelled.sampler.set_epoch(1)
    epoch_one = [batch["keypoints_2d"] for batch in labelled]
    expected = np.random.RandomState(8).permutation(labelled.pairs)
    assert torch.equal(epoch_one[0], labelled.gather(expected[:3])["keypoints_2d"])
    unlabelled = ChunkedWindows(keypoints, None, cameras, batch_size=2, pad=1, seed=3, endless=True)
    semi = SemiSupervisedWindows(labelled, unlabelled)
    semi.set_epoch(2)
    items = list(semi)
    assert len(items) == len(labelled) and "positions_3d" not in items[0]["unlabelled"]
    first_global = 2 * len(labelled)  # the unlabelled stream continues across epochs
    assert torch.equal(items[0]["unlabelled"]["keypoints_2d"], unlabelled.batch_at(first_global)["keypoints_2d"])
    permutation = flip_permutation(5, KPS_LEFT, KPS_RIGHT)
    data = np.arange(5)
    reference = data.copy()
    reference[KPS_LEFT + KPS_RIGHT] = reference[KPS_RIGHT + KPS_LEFT]
    np.testing.assert_array_equal(data[permutation], reference)
    with pytest.raises(ValueError, match="must not share"):
        flip_permutation(5, [1], [1])
