"""The lift3d task's evaluation: per-action aggregation as the official evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from posekit.tasks.lift3d import aggregate_errors


def test_action_aggregation_by_hand() -> None:
    metres = 1e-3
    records = [
        {"subject": "S9", "action": "Walking", "frames": 2, "mpjpe": np.array([1.0, 3.0]) * metres,
         "p_mpjpe": np.array([1.0, 1.0]) * metres, "n_mpjpe": np.array([2.0, 2.0]) * metres, "mpjve": 4 * metres},
        {"subject": "S11", "action": "Walking 1", "frames": 1, "mpjpe": np.array([5.0]) * metres,
         "p_mpjpe": np.array([4.0]) * metres, "n_mpjpe": np.array([2.0]) * metres, "mpjve": 1 * metres},
        {"subject": "S9", "action": "Eating 2", "frames": 2, "mpjpe": np.array([2.0, 2.0]) * metres,
         "p_mpjpe": np.array([1.0, 3.0]) * metres, "n_mpjpe": np.array([2.0, 2.0]) * metres, "mpjve": 2 * metres},
    ]  # fmt: skip
    result = aggregate_errors(records, by_subject=True)
    assert result["mpjpe/Walking"] == pytest.approx(3.0)  # (1 + 3 + 5) / 3 frames, variants merged
    assert result["mpjpe/Eating"] == pytest.approx(2.0)
    assert result["mpjpe"] == pytest.approx(2.5)  # mean over actions, not frames
    assert result["p_mpjpe/Walking"] == pytest.approx(2.0) and result["p_mpjpe"] == pytest.approx(2.0)
    assert result["mpjve/Walking"] == pytest.approx((4 * 2 + 1 * 1) / 3)  # weighted by frames as run.py
    assert result["S9/mpjpe"] == pytest.approx((2.0 + 2.0) / 2) and result["S11/mpjpe"] == pytest.approx(5.0)
