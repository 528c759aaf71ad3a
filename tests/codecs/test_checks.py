"""Tests of posekit.codecs.checks: argument checks name what they got."""

from __future__ import annotations

import numpy as np
import pytest

from posekit.codecs.checks import check_heatmaps, check_size
from posekit.codecs.gaussian import generate_gaussian_heatmaps
from posekit.codecs.heatmap_decoding import blur_heatmaps

HEATMAP_SIZE = (48, 64)  # (W, H)


def test_argument_checks_name_what_they_got() -> None:
    with pytest.raises(ValueError, match=r"keypoints must have shape \(N, K, 2\), got \(5, 17\)"):
        generate_gaussian_heatmaps(HEATMAP_SIZE, np.zeros((5, 17)), np.ones((5, 17)), 2.0)
    with pytest.raises(ValueError, match=r"visible must have shape"):
        generate_gaussian_heatmaps(HEATMAP_SIZE, np.zeros((1, 17, 2)), np.ones((1, 16)), 2.0)
    with pytest.raises(ValueError, match="sigma"):
        generate_gaussian_heatmaps(HEATMAP_SIZE, np.zeros((1, 17, 2)), np.ones((1, 17)), 0.0)
    with pytest.raises(ValueError, match="heatmap_size"):
        check_size("heatmap_size", (48,))
    with pytest.raises(ValueError, match="input_size"):
        check_size("input_size", (0, 10))
    with pytest.raises(ValueError, match=r"\(K, H, W\) or \(N, K, H, W\), got \(64, 48\)"):
        check_heatmaps(np.zeros((64, 48)))
    with pytest.raises(ValueError, match=r"spatial size"):
        check_heatmaps(np.zeros((17, 64, 49)), HEATMAP_SIZE)
    with pytest.raises(ValueError, match="odd"):
        blur_heatmaps(np.zeros((3, 8, 8)), 4)
