"""Registry-driven smoke test of every 2D single-person model: the contract, forward and backward.

Every family's tiny CPU variant runs forward and backward at its own input size (batch 1, train
mode) and is checked against the contract; the large variants, which share their family's code,
are built and their parameters counted (against the official code's counts where one exists;
``benchmarks/official_parity_2d.py`` runs the large HRNet, SimpleBaseline and hourglass models
against the official implementations), and one large fully convolutional model of each kind of
trunk runs forward and backward on one small image.
"""

from __future__ import annotations

import pytest
import torch

from posekit.models.pose2d.base import Pose2DModel
from posekit.models.registry import get_model, list_models

TINY_MARKERS = ("_128x96", "_128x128")
# large variants run on one small image (eval mode); the others are only built and counted
SMALL_INPUT = {"hrnet_w32_256x192": 32, "integral_res50_256x256": 32, "hourglass_2stack_256x256": 64}
# parameter counts measured against the official code (benchmarks/official_parity_2d.py)
OFFICIAL_PARAMETERS = {
    "hrnet_w32_256x192": 28_536_113,
    "hrnet_w48_384x288": 63_595_745,
    "simplebaseline_res50_256x192": 33_999_697,
    "simplebaseline_res152_384x288": 68_635_473,
    "hourglass_2stack_256x256": 6_570_400,  # official 8,429,088 incl. 1,858,688 never-used skip_layer weights
    "hourglass_8stack_256x256": 25_434_112,  # official 32,819,328 incl. 7,385,216 never-used skip_layer weights
}
EXPECTED_NAMES = {
    "simplebaseline_res50_256x192",
    "simplebaseline_res152_384x288",
    "hrnet_w32_256x192",
    "hrnet_w48_384x288",
    "hourglass_8stack_256x256",
    "hourglass_2stack_256x256",
    "cpm_vgg19_368x368",
    "deeppose_res50_220x220",
    "ief_res50_224x224",
    "integral_res50_256x256",
    "dscnn_res50_256x192",
    "simplebaseline_res18_128x96",
    "hrnet_w16_128x96",
    "hourglass_2stack_128x128",
    "cpm_tiny_128x128",
    "deeppose_res18_128x96",
    "ief_res18_128x96",
    "integral_res18_128x96",
    "dscnn_res18_128x96",
}


def pose2d_names() -> list[str]:
    prefixes = ("simplebaseline_", "hrnet_", "hourglass_", "cpm_", "deeppose_", "ief_", "integral_", "dscnn_")
    return [name for name in list_models() if name.startswith(prefixes)]


def test_every_family_variant_is_registered() -> None:
    assert EXPECTED_NAMES <= set(pose2d_names())


def check_contract(model: Pose2DModel, images: torch.Tensor) -> None:
    """Shapes of forward_outputs / forward_stages / forward, then a backward pass through every stage."""
    batch = images.shape[0]
    keypoints = model.num_keypoints
    outputs = model.forward_outputs(images)
    stages = outputs.stage_coordinates if model.output_kind == "coordinates" else outputs.stage_heatmaps
    assert len(stages) == model.num_stages
    height, width = images.shape[-2:]
    if model.output_kind == "coordinates":
        assert model.heatmap_size is None and outputs.stage_heatmaps == []
        assert all(stage.shape == (batch, keypoints, 2) for stage in stages)
    else:
        assert model.heatmap_size is not None
        stride_x, stride_y = model.input_size[0] // model.heatmap_size[0], model.input_size[1] // model.heatmap_size[1]
        channels = keypoints + int(model.background_channel)
        assert all(stage.shape == (batch, channels, height // stride_y, width // stride_x) for stage in stages)
        if model.output_kind == "heatmap+coordinates":
            assert outputs.coordinates is not None and outputs.coordinates.shape == (batch, keypoints, 2)
        else:
            assert outputs.stage_coordinates == []
    losses = sum(stage.square().mean() for stage in outputs.stage_heatmaps + outputs.stage_coordinates)
    assert isinstance(losses, torch.Tensor) and torch.isfinite(losses)
    losses.backward()
    with_gradient = [parameter for parameter in model.parameters() if parameter.grad is not None]
    assert len(with_gradient) == len(list(model.parameters())), "every parameter must receive a gradient"
    assert all(parameter.grad is not None and torch.isfinite(parameter.grad).all() for parameter in with_gradient)
    with torch.no_grad():  # forward = final stage of the primary kind, K channels
        final = model(images)
    expected = stages[-1][:, :keypoints] if model.background_channel else stages[-1]
    torch.testing.assert_close(final, expected.detach(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(EXPECTED_NAMES))
def test_model_contract_forward_and_backward(name: str) -> None:
    torch.manual_seed(0)
    model = get_model(name)
    assert isinstance(model, Pose2DModel)
    assert model.num_keypoints == (16 if "hourglass" in name or name == "cpm_vgg19_368x368" else 17)
    if name in OFFICIAL_PARAMETERS:
        assert sum(parameter.numel() for parameter in model.parameters()) == OFFICIAL_PARAMETERS[name]
    if name.endswith(TINY_MARKERS):  # train mode (batch statistics), own input size
        width, height = model.input_size
        check_contract(model.train(), torch.randn(1, 3, height, width))
    elif name in SMALL_INPUT:  # one small image, eval-mode BatchNorm
        side = SMALL_INPUT[name]
        check_contract(model.eval(), torch.randn(1, 3, side, side))
    else:
        assert model.num_stages >= 1 and sum(parameter.numel() for parameter in model.parameters()) > 1_000_000


def test_builders_take_num_keypoints() -> None:
    model = get_model("simplebaseline_res18_128x96", num_keypoints=14)
    assert model(torch.randn(1, 3, 128, 96)).shape == (1, 14, 32, 24)
    with pytest.raises(TypeError):
        get_model("hrnet_w16_128x96", no_such_option=1)


def test_unknown_names_suggest_the_closest_registered_ones() -> None:
    with pytest.raises(
        ValueError, match=r"unknown model 'hrnet_w32'; did you mean 'hrnet_w32_256x192', 'hrnet_w32_256x256'"
    ):
        get_model("hrnet_w32")
    with pytest.raises(
        ValueError, match=r"unknown model 'simplebaseline_res05_256x192'; did you mean 'simplebaseline_res50_256x192'"
    ):
        get_model("simplebaseline_res05_256x192")
    with pytest.raises(ValueError, match=r"unknown model 'zzz'; expected one of: cpm_tiny_128x128, "):
        get_model("zzz")
