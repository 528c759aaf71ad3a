"""Lifting whole sequences: official evaluation padding, chunking, flips, causal models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from support.lift3d import small_model

from posekit.inference.lift3d.sequence import lift_sequence
from posekit.models.lift3d import Lifter, TemporalModel, fold_batchnorm

# Human3.6M left/right joints (as in the official skeleton definition).
JOINTS_LEFT = [4, 5, 6, 11, 12, 13]
JOINTS_RIGHT = [1, 2, 3, 14, 15, 16]


def official_evaluate(
    model: TemporalModel, keypoints: np.ndarray, *, causal: bool, flip: bool = False, trajectory: bool = False
) -> np.ndarray:
    """What the official run.py evaluate() + UnchunkedGenerator compute, restated for the test."""
    pad = (model.receptive_field() - 1) // 2
    shift = pad if causal else 0
    batch = np.expand_dims(np.pad(keypoints, ((pad + shift, pad - shift), (0, 0), (0, 0)), "edge"), axis=0)
    if flip:
        batch = np.concatenate((batch, batch), axis=0)
        batch[1, :, :, 0] *= -1
        batch[1, :, JOINTS_LEFT + JOINTS_RIGHT] = batch[1, :, JOINTS_RIGHT + JOINTS_LEFT]
    dtype = model.expand_conv.weight.dtype
    with torch.no_grad():
        predicted = model(torch.from_numpy(batch).to(dtype))
        if flip:
            predicted[1, :, :, 0] *= -1
            if not trajectory:
                predicted[1, :, JOINTS_LEFT + JOINTS_RIGHT] = predicted[1, :, JOINTS_RIGHT + JOINTS_LEFT]
            predicted = torch.mean(predicted, dim=0, keepdim=True)
    return predicted.squeeze(0).numpy()


def assert_float64_equal(actual: np.ndarray, expected: np.ndarray, err_msg: str = "") -> None:
    """Equal up to float64 rounding: a chunk and the whole sequence are different-sized matrix products.

    The CPU BLAS may pick other kernels (another summation order) for other sizes, so bit-identity
    holds on some machines and not on others (seen: 4e-16 apart on an AMD EPYC, torch 2.13 CPU);
    1e-12 is still ~10^4 times float64's rounding at these magnitudes and far below any real error.
    """
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12, err_msg=err_msg)


def random_keypoints(num_frames: int, dtype: type = np.float64, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(scale=0.3, size=(num_frames, 17, 2)).astype(dtype)


@pytest.mark.parametrize("causal", [False, True])
def test_lift_sequence_equals_official_evaluation_float64(causal: bool) -> None:
    model = small_model(causal=causal, dtype=torch.float64)
    keypoints = random_keypoints(700)
    expected = official_evaluate(model, keypoints, causal=causal)
    assert expected.shape == (700, 17, 3)
    for chunk_size, batch_size in [(10**6, 1), (64, 1), (100, 3), (333, 2), (699, 4)]:
        actual = lift_sequence(model, keypoints, chunk_size=chunk_size, batch_size=batch_size)
        assert actual.dtype == np.float64
        assert_float64_equal(actual, expected, err_msg=f"chunk_size={chunk_size} batch_size={batch_size}")


def test_lift_sequence_chunked_equals_unchunked_folded_float32() -> None:
    folded = fold_batchnorm(small_model())
    keypoints = random_keypoints(900, np.float32)
    unchunked = lift_sequence(folded, keypoints, chunk_size=10**6)
    assert unchunked.dtype == np.float32
    for chunk_size, batch_size in [(128, 1), (300, 2), (899, 1)]:
        np.testing.assert_array_equal(
            lift_sequence(folded, keypoints, chunk_size=chunk_size, batch_size=batch_size), unchunked
        )


def test_lift_sequence_flip_augmentation_matches_official() -> None:
    model = small_model(dtype=torch.float64)
    keypoints = random_keypoints(200)
    expected = official_evaluate(model, keypoints, causal=False, flip=True)
    actual = lift_sequence(
        model, keypoints, chunk_size=50, flip_augment=True, keypoints_left=JOINTS_LEFT, keypoints_right=JOINTS_RIGHT
    )
    assert_float64_equal(actual, expected)
    trajectory = small_model(joints_out=1, dtype=torch.float64, seed=5)
    expected_trajectory = official_evaluate(trajectory, keypoints, causal=False, flip=True, trajectory=True)
    actual_trajectory = lift_sequence(
        trajectory,
        keypoints,
        chunk_size=64,
        flip_augment=True,
        keypoints_left=JOINTS_LEFT,
        keypoints_right=JOINTS_RIGHT,
    )
    assert_float64_equal(actual_trajectory, expected_trajectory)


def test_lift_sequence_causal_uses_only_past_frames() -> None:
    model = small_model(causal=True)
    keypoints = random_keypoints(300, np.float32)
    perturbed = keypoints.copy()
    perturbed[150:] += 1.0
    before = lift_sequence(model, keypoints, chunk_size=64)
    after = lift_sequence(model, perturbed, chunk_size=64)
    np.testing.assert_array_equal(before[:150], after[:150])
    assert np.abs(before[150:] - after[150:]).max() > 1e-3
    # The symmetric model looks (rf - 1) / 2 = 13 frames ahead.
    symmetric = small_model(causal=False)
    before = lift_sequence(symmetric, keypoints, chunk_size=64)
    after = lift_sequence(symmetric, perturbed, chunk_size=64)
    assert np.abs(before[137:150] - after[137:150]).max() > 1e-3
    np.testing.assert_array_equal(before[:137], after[:137])


def test_lift_sequence_without_padding() -> None:
    model = small_model(dtype=torch.float64)
    keypoints = random_keypoints(100)
    output = lift_sequence(model, keypoints, pad=None, chunk_size=30)
    assert output.shape == (74, 17, 3)
    with torch.no_grad():
        expected = model(torch.from_numpy(keypoints)[None])[0].numpy()
    assert_float64_equal(output, expected)
    with pytest.raises(ValueError, match="fewer than the receptive field of 27"):
        lift_sequence(model, keypoints[:20], pad=None)
    assert lift_sequence(model, keypoints[:20]).shape == (20, 17, 3)  # edge padding handles short tracks


def test_lift_sequence_with_lifter_and_torch_input(tmp_path: Path) -> None:
    lifter = Lifter(small_model(), small_model(joints_out=1, seed=4))
    keypoints = torch.from_numpy(random_keypoints(50, np.float32))
    poses = lift_sequence(lifter, keypoints)
    assert poses.shape == (50, 17, 3)
    assert lifter.trajectory is not None
    assert lift_sequence(lifter.trajectory, keypoints).shape == (50, 1, 3)


def test_lift_sequence_bad_inputs() -> None:
    model = small_model()
    keypoints = random_keypoints(40, np.float32)
    with pytest.raises(ValueError, match=r"\(T, 17, 2\)"):
        lift_sequence(model, keypoints[:, :16])
    with pytest.raises(ValueError, match=r"\(T, 17, 2\)"):
        lift_sequence(model, np.zeros((40, 17, 3), np.float32))
    with pytest.raises(ValueError, match=r"\(T, 17, 2\)"):
        lift_sequence(model, keypoints[0])
    bad = keypoints.copy()
    bad[7, 3, 0] = np.nan
    with pytest.raises(ValueError, match="NaN.*frame 7"):
        lift_sequence(model, bad)
    with pytest.raises(ValueError, match="chunk_size"):
        lift_sequence(model, keypoints, chunk_size=0)
    with pytest.raises(ValueError, match="keypoints_left"):
        lift_sequence(model, keypoints, flip_augment=True, keypoints_left=[17], keypoints_right=[1])
    with pytest.raises(ValueError, match="pair up"):
        lift_sequence(model, keypoints, flip_augment=True, keypoints_left=[1, 2], keypoints_right=[3])
