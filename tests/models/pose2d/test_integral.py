"""Integral regression: soft-argmax known values and agreement with the integral codec."""

from __future__ import annotations

import pytest
import torch

from posekit.codecs import IntegralRegression
from posekit.models.pose2d.integral import integral_res18_128x96, soft_argmax_2d


def test_soft_argmax_of_a_delta_is_its_location() -> None:
    heatmaps = torch.zeros(2, 3, 8, 6)
    locations = [(0, 0), (5, 7), (2, 3)]  # (x, y)
    for batch in range(2):
        for joint, (x, y) in enumerate(locations):
            heatmaps[batch, joint, y, x] = 1e3
    expected = torch.tensor(locations, dtype=torch.float32).expand(2, 3, 2)
    torch.testing.assert_close(soft_argmax_2d(heatmaps), expected)


def test_soft_argmax_of_a_flat_map_is_the_centre_and_is_differentiable() -> None:
    heatmaps = torch.zeros(1, 1, 5, 4, requires_grad=True)
    location = soft_argmax_2d(heatmaps)
    torch.testing.assert_close(location, torch.tensor([[[1.5, 2.0]]]))
    location.sum().backward()
    assert heatmaps.grad is not None and heatmaps.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="beta"):
        soft_argmax_2d(heatmaps, beta=0.0)


def test_model_coordinates_equal_the_codec_decoding() -> None:
    torch.manual_seed(0)
    model = integral_res18_128x96(num_keypoints=5).eval()
    with torch.no_grad():
        outputs = model.forward_outputs(torch.randn(1, 3, 128, 96))
    assert outputs.heatmaps is not None and outputs.coordinates is not None
    height, width = outputs.heatmaps.shape[-2:]
    codec = IntegralRegression(model.input_size, (width, height))
    decoded, _ = codec.decode_torch(outputs.heatmaps, normalized=True)
    torch.testing.assert_close(outputs.coordinates, decoded)
