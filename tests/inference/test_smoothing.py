"""One Euro filter: hand-computed values, jitter reduction, per-track smoothing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from posekit.inference.smoothing import (
    MEDIAPIPE_POSE_ONE_EURO,
    OneEuroFilter,
    OneEuroParameters,
    PoseSmoother,
    keypoint_object_scale,
)


def test_first_sample_passes_through_and_constant_cutoff_matches_hand_computation() -> None:
    one_euro = OneEuroFilter(min_cutoff=1.0, beta=0.0, d_cutoff=1.0)
    assert one_euro(np.array([0.0]), 0.0)[0] == 0.0
    # t = 0.1 s -> rate 10 Hz; tau = 1 / (2 pi) = 0.159155; alpha = 1 / (1 + 0.159155 * 10) = 0.385870.
    out = one_euro(np.array([1.0]), 0.1)
    assert out[0] == pytest.approx(0.385870, abs=1e-6)
    # Next sample 1.0 at t = 0.2: 0.385870 + 0.385870 * (1 - 0.385870) = 0.622844.
    assert one_euro(np.array([1.0]), 0.2)[0] == pytest.approx(0.622844, abs=1e-6)


def test_speed_raises_the_cutoff_as_in_the_paper() -> None:
    one_euro = OneEuroFilter(min_cutoff=1.0, beta=0.5, d_cutoff=1.0)
    one_euro(np.array([0.0]), 0.0)
    # dx = (1 - 0) * 10 = 10; dx_hat = alpha(1 Hz) * 10 = 3.858696; cutoff = 1 + 0.5 * 3.858696 = 2.929348;
    # tau = 1 / (2 pi * 2.929348) = 0.0543312; alpha = 1 / (1 + 0.543312) = 0.647957.
    out = one_euro(np.array([1.0]), 0.1)
    assert out[0] == pytest.approx(0.647957, abs=1e-6)
    # value_scale divides the speed: scale 0.5 -> dx = 5, dx_hat = 1.929348, cutoff = 1.964674.
    scaled = OneEuroFilter(min_cutoff=1.0, beta=0.5, d_cutoff=1.0)
    scaled(np.array([0.0]), 0.0, value_scale=0.5)
    alpha = 1.0 / (1.0 + 10.0 / (2 * math.pi * 1.964674))
    assert scaled(np.array([1.0]), 0.1, value_scale=0.5)[0] == pytest.approx(alpha, abs=1e-6)


def test_reduces_jitter_of_a_noisy_constant_signal_and_follows_a_step() -> None:
    rng = np.random.default_rng(0)
    one_euro = OneEuroFilter(min_cutoff=0.5, beta=0.001, d_cutoff=1.0)
    noisy = 100.0 + rng.normal(0.0, 2.0, size=(300, 17, 2))
    smoothed = np.stack([one_euro(sample, index / 30.0) for index, sample in enumerate(noisy)])
    raw_jitter = np.abs(np.diff(noisy[50:], axis=0)).mean()
    smooth_jitter = np.abs(np.diff(smoothed[50:], axis=0)).mean()
    assert smooth_jitter < raw_jitter / 5
    assert np.abs(smoothed[50:] - 100.0).mean() < np.abs(noisy[50:] - 100.0).mean() / 2


def test_time_not_advancing_and_non_finite_samples_leave_the_state() -> None:
    one_euro = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    one_euro(np.array([0.0, 0.0]), 1.0)
    assert np.array_equal(one_euro(np.array([5.0, 5.0]), 1.0), [5.0, 5.0])  # same timestamp: unchanged
    out = one_euro(np.array([np.nan, 1.0]), 1.1)
    assert np.isnan(out[0]) and out[1] == pytest.approx(0.385870, abs=1e-6)
    with pytest.raises(ValueError, match="keep the shape"):
        one_euro(np.zeros(3), 1.2)


def test_parameters_are_checked_and_default_to_mediapipe() -> None:
    assert (MEDIAPIPE_POSE_ONE_EURO.min_cutoff, MEDIAPIPE_POSE_ONE_EURO.beta) == (0.05, 80.0)
    assert OneEuroFilter().parameters == MEDIAPIPE_POSE_ONE_EURO
    with pytest.raises(ValueError, match="min_cutoff"):
        OneEuroParameters(min_cutoff=0.0)


def test_pose_smoother_keeps_one_filter_per_track_and_drops_absent_tracks() -> None:
    smoother = PoseSmoother(OneEuroParameters(min_cutoff=1.0, beta=0.0))
    first = np.array([[[0.0, 0.0], [20.0, 40.0], [10.0, 5.0]]] * 2, np.float32)  # (2, 3, 2)
    first[1] += 50.0
    smoother(first, np.array([4, 7]), 0.0)
    moved = first + 10.0
    out = smoother(moved, np.array([4, 7]), 0.1)
    np.testing.assert_allclose(out - first, 10.0 * 0.385870, atol=1e-4)
    # Track 4 vanishes for a frame, so it comes back unfiltered; a new id starts unfiltered too.
    smoother(moved[1:], np.array([7]), 0.2)
    back = smoother(moved + 5.0, np.array([4, 9]), 0.3)
    np.testing.assert_allclose(back, moved + 5.0)
    with pytest.raises(ValueError, match="unique"):
        smoother(first, np.array([1, 1]), 0.4)


def test_keypoint_object_scale_is_mean_of_box_sides() -> None:
    points = np.array([[[0.0, 0.0], [10.0, 30.0], [np.nan, np.nan]]])
    np.testing.assert_allclose(keypoint_object_scale(points), [20.0])
