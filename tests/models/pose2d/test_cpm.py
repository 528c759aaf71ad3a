"""Convolutional Pose Machines: stages, background maps, centre map, receptive field."""

from __future__ import annotations

import pytest
import torch

from posekit.models.pose2d.cpm import ConvolutionalPoseMachine, centre_map, cpm_vgg19_368x368


def tiny(input_size: tuple[int, int] = (64, 64), num_stages: int = 2) -> ConvolutionalPoseMachine:
    return ConvolutionalPoseMachine(
        3,
        input_size,
        num_stages=num_stages,
        vgg_channels=(4, 4, 8, 8),
        cpm_channels=(8, 8),
        stage1_channels=8,
        stage_channels=8,
    )


def test_centre_map_peaks_at_the_centre() -> None:
    maps = centre_map((9, 7), sigma=2.0)
    assert maps.shape == (1, 1, 7, 9) and float(maps[0, 0, 3, 4]) == 1.0
    assert float(maps[0, 0, 3, 2]) == pytest.approx(float(torch.exp(torch.tensor(-0.5))))


def test_cpm_vgg19_layout() -> None:
    model = cpm_vgg19_368x368()
    assert model.heatmap_size == (46, 46) and model.num_stages == 6 and model.background_channel
    assert model.pooled_centre_map.shape == (1, 1, 46, 46)
    assert model.receptive_field(2) == 164 + 240
    assert "pooled_centre_map" not in model.state_dict()  # derived, not a weight


def test_stage_one_receptive_field_matches_the_formula() -> None:
    torch.manual_seed(0)
    model = tiny((256, 256)).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.abs_()  # positive weights: no ReLU cuts a path, the support is the full field
    images = torch.rand(1, 3, 256, 256, requires_grad=True)
    beliefs = model.forward_outputs(images).stage_heatmaps[0]
    beliefs[0, :, 16, 16].sum().backward()
    assert images.grad is not None
    columns = images.grad[0].abs().sum(dim=(0, 1)).nonzero()
    assert int(columns.max() - columns.min() + 1) == model.receptive_field(1)


def test_later_stages_see_the_previous_beliefs() -> None:
    torch.manual_seed(0)
    model = tiny().eval()
    stage = model.refinement_stages[0]
    assert isinstance(stage, torch.nn.Sequential) and isinstance(stage[0], torch.nn.Conv2d)
    expected_inputs = (3 + 1) + 8 + 1  # beliefs (K + 1), features, centre map
    assert stage[0].in_channels == expected_inputs
    outputs = model.forward_outputs(torch.randn(2, 3, 64, 64))
    assert [tuple(maps.shape) for maps in outputs.stage_heatmaps] == [(2, 4, 8, 8), (2, 4, 8, 8)]
    with pytest.raises(ValueError, match="divisible by 8"):
        tiny((60, 64))


def test_initialisation_keeps_the_signal_and_starts_beliefs_near_zero() -> None:
    # Fifteen ReLU convolutions without normalisation: He initialisation keeps the features' scale
    # (PyTorch's default shrinks the variance about six-fold per layer); the belief maps start near 0.
    torch.manual_seed(0)
    model = ConvolutionalPoseMachine(
        17,
        (128, 128),
        num_stages=3,
        vgg_channels=(16, 32, 64, 64),
        cpm_channels=(64, 32),
        stage1_channels=64,
        stage_channels=32,
    )
    images = torch.randn(2, 3, 128, 128)
    with torch.no_grad():
        features = model.cpm_features(model.vgg(images))
        beliefs = model.forward_outputs(images).stage_heatmaps
    assert float(features.std()) > 0.5
    assert all(float(stage.abs().max()) < 0.2 for stage in beliefs)
    assert all(float(stage.abs().max()) > 0.0 for stage in beliefs)
