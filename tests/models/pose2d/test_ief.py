"""Iterative Error Feedback: bounded corrections, FPC targets, rendering, the iteration chain."""

from __future__ import annotations

import pytest
import torch

from posekit.models.pose2d.ief import clip_correction_norm, ief_res18_128x96, ief_targets, render_gaussians


def test_ief_targets_bound_the_remaining_error() -> None:
    current = torch.tensor([[0.0, 0.0], [10.0, 10.0], [1.0, 1.0]])
    ground_truth = torch.tensor([[30.0, 0.0], [13.0, 14.0], [1.0, 1.0]])
    targets = ief_targets(current, ground_truth, max_step=20.0)
    torch.testing.assert_close(targets, torch.tensor([[20.0, 0.0], [3.0, 4.0], [0.0, 0.0]]))
    # normalised coordinates with the bound in pixels: 40 px to the right in a 100 px wide input
    normalised = ief_targets(torch.tensor([[0.1, 0.5]]), torch.tensor([[0.5, 0.5]]), 20.0, input_size=(100, 50))
    torch.testing.assert_close(normalised, torch.tensor([[0.2, 0.0]]))
    with pytest.raises(ValueError, match="same shape"):
        ief_targets(current, ground_truth[:2], 20.0)


def test_clip_keeps_direction() -> None:
    clipped = clip_correction_norm(torch.tensor([[-30.0, 40.0]]), 10.0)
    torch.testing.assert_close(clipped, torch.tensor([[-6.0, 8.0]]))


def test_rendering_peaks_at_the_joint() -> None:
    maps = render_gaussians(torch.tensor([[[10 / 32, 5 / 16]]]), (32, 16), sigma=2.0)
    assert maps.shape == (1, 1, 16, 32)
    row, column = divmod(int(maps[0, 0].argmax()), 32)
    assert (column, row) == (10, 5) and float(maps.max()) == pytest.approx(1.0)


def test_model_corrections_are_bounded_and_chained() -> None:
    torch.manual_seed(0)
    model = ief_res18_128x96(num_keypoints=4, num_iterations=2, max_step=12.0).eval()
    with torch.no_grad():
        model.head.weight.normal_(0.0, 10.0)  # push raw corrections far beyond the bound
        estimates, corrections = model.forward_corrections(torch.randn(1, 3, 128, 96))
    size = torch.tensor(model.input_size, dtype=torch.float32)
    for correction in corrections:
        pixel_norms = (correction * size).norm(dim=-1)
        assert float(pixel_norms.max()) <= 12.0 + 1e-4
        assert float(pixel_norms.max()) > 11.0  # the bound is reached, not vanished
    torch.testing.assert_close(estimates[0], model.mean_pose.expand(1, -1, -1))
    torch.testing.assert_close(estimates[1], estimates[0] + corrections[0])


def test_set_mean_pose_ignores_invisible_joints() -> None:
    model = ief_res18_128x96(num_keypoints=2, num_iterations=1)
    keypoints = torch.tensor([[[0.2, 0.4], [0.9, 0.9]], [[0.4, 0.6], [0.1, 0.1]]])
    model.set_mean_pose(keypoints, visible=torch.tensor([[1.0, 0.0], [1.0, 0.0]]))
    torch.testing.assert_close(model.mean_pose, torch.tensor([[0.3, 0.5], [0.5, 0.5]]))
    assert "mean_pose" in model.state_dict()
