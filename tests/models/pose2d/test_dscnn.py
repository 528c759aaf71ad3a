"""Dual-source two-branch model: the detection-weighted fusion of localisations."""

from __future__ import annotations

import pytest
import torch

from posekit.models.pose2d.dscnn import dscnn_res18_128x96, fuse_detection_localisation
from posekit.models.pose2d.integral import soft_argmax_2d


def test_fusion_follows_the_detected_cell_and_its_offset() -> None:
    detection = torch.zeros(1, 2, 4, 5)
    detection[0, 0, 1, 3] = 50.0  # joint 0 detected at cell (x=3, y=1)
    detection[0, 1, 2, 0] = 50.0  # joint 1 at cell (0, 2)
    offsets = torch.zeros(1, 2, 2, 4, 5)
    offsets[0, 0, :, 1, 3] = torch.tensor([0.25, -0.5])  # that cell localises joint 0 at (3.25, 0.5)
    fused = fuse_detection_localisation(detection, offsets)
    torch.testing.assert_close(fused, torch.tensor([[[3.25, 0.5], [0.0, 2.0]]]), atol=1e-4, rtol=0)
    with pytest.raises(ValueError, match="offsets must have shape"):
        fuse_detection_localisation(detection, offsets[:, :1])


def test_fusion_without_offsets_is_the_soft_argmax() -> None:
    detection = torch.randn(2, 3, 6, 5)
    fused = fuse_detection_localisation(detection, torch.zeros(2, 3, 2, 6, 5))
    torch.testing.assert_close(fused, soft_argmax_2d(detection))


def test_both_branches_are_trained_by_the_coordinate_loss() -> None:
    torch.manual_seed(0)
    model = dscnn_res18_128x96(num_keypoints=4).train()
    outputs = model.forward_outputs(torch.randn(1, 3, 128, 96))
    assert outputs.coordinates is not None
    outputs.coordinates.sum().backward()
    assert model.detection_head.weight.grad is not None and model.detection_head.weight.grad.abs().sum() > 0
    assert model.localisation_head.weight.grad is not None and model.localisation_head.weight.grad.abs().sum() > 0
    assert model.holistic[0].weight.grad is not None
