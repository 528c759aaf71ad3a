"""Tests of posekit.models.bottomup.higher_hrnet: output shapes of every variant family, configuration checks.

Full-size networks are never run here: every variant is built with a tiny trunk (its head keys as
registered); ``tests/models/test_official_parity.py`` compares the full-size key names and shapes
with the official experiments and the outputs with the official network.
"""

from __future__ import annotations

import pytest
import torch

from posekit.models.bottomup import VARIANTS, HigherHRNet, is_bottomup_model
from posekit.models.registry import get_model, list_models

# A trunk small enough to run every variant's head on CPU in milliseconds.
TINY = {"num_modules": (1, 1, 1), "num_blocks": 1, "stem_channels": 8, "num_basic_blocks": 1}
EXPECTED_VARIANTS = {
    "higherhrnet_w32_512": (17, "coco", 512),
    "higherhrnet_w32_640": (17, "coco", 640),
    "higherhrnet_w48_640": (17, "coco", 640),
    "higherhrnet_w32_512_crowdpose": (14, "crowdpose", 512),
    "higherhrnet_w32_640_crowdpose": (14, "crowdpose", 640),
    "higherhrnet_w48_640_crowdpose": (14, "crowdpose", 640),
    "higherhrnet_w16_256": (17, "coco", 256),
}


def test_every_variant_is_registered_and_bottom_up() -> None:
    names = {name for name in list_models() if is_bottomup_model(name)}
    assert names == set(EXPECTED_VARIANTS) == set(VARIANTS)
    assert not is_bottomup_model("hrnet_w32_256x192") and not is_bottomup_model("higherhrnet")


@pytest.mark.parametrize("name", sorted(EXPECTED_VARIANTS))
def test_variant_outputs_are_the_official_final_outputs(name: str) -> None:
    joints, skeleton, input_size = EXPECTED_VARIANTS[name]
    model = get_model(name, width=8, **TINY)
    assert isinstance(model, HigherHRNet)
    assert (model.num_joints, model.skeleton, model.input_size, model.variant) == (joints, skeleton, input_size, name)
    assert model.tag_per_joint and model.with_tags == (True, False) and model.output_strides == (4.0, 2.0)
    with torch.no_grad():
        outputs = model.eval()(torch.randn(2, 3, 64, 96))
    # [0]: K heatmaps + K tags at 1/4, [1]: K heatmaps at 1/2
    assert [tuple(output.shape) for output in outputs] == [(2, 2 * joints, 16, 24), (2, joints, 32, 48)]
    assert model.output_channels == (2 * joints, joints)


def test_registered_head_is_the_official_layout() -> None:
    with torch.device("meta"):
        model = get_model("higherhrnet_w32_512")
    shapes = {key: tuple(tensor.shape) for key, tensor in model.state_dict().items()}
    # a 4x4 transposed convolution over the 32 trunk channels + 17 heatmaps + 17 tags, then 4 basic blocks
    assert shapes["deconv_layers.0.0.0.weight"] == (32 + 34, 32, 4, 4)
    assert shapes["deconv_layers.0.4.0.conv2.weight"] == (32, 32, 3, 3)
    assert "deconv_layers.0.5.0.conv1.weight" not in shapes
    assert shapes["final_layers.0.weight"] == (34, 32, 1, 1) and shapes["final_layers.1.weight"] == (17, 32, 1, 1)
    with torch.device("meta"):
        wide = get_model("higherhrnet_w48_640_crowdpose")
    assert tuple(wide.state_dict()["deconv_layers.0.0.0.weight"].shape) == (48 + 28, 48, 4, 4)


def test_head_keys_change_the_outputs_as_the_official_config_does() -> None:
    model = get_model(
        "higherhrnet_w32_512_crowdpose",
        width=8,
        **{**TINY, "num_basic_blocks": 2},
        tag_per_joint=False,
        with_tags=(True, True, False),
        num_deconvs=2,
        deconv_channels=(12, 8),
        deconv_kernel_sizes=(3, 2),
        cat_output=(True, False),
        final_conv_kernel=3,
    )
    assert isinstance(model, HigherHRNet)
    assert model.num_tag_channels == 1 and model.output_channels == (15, 15, 14)
    assert model.output_strides == (4.0, 2.0, 1.0)
    with torch.no_grad():
        outputs = model.eval()(torch.randn(1, 3, 32, 64))
    assert [tuple(output.shape) for output in outputs] == [(1, 15, 8, 16), (1, 15, 16, 32), (1, 14, 32, 64)]
    shapes = {key: tuple(tensor.shape) for key, tensor in model.state_dict().items()}
    assert shapes["deconv_layers.0.0.0.weight"] == (8 + 15, 12, 3, 3)
    assert shapes["deconv_layers.1.0.0.weight"] == (12, 8, 2, 2)  # no concatenation before the second
    assert shapes["final_layers.2.weight"] == (14, 8, 3, 3) and "deconv_layers.0.2.0.conv1.weight" in shapes


def test_small_cpu_variant_trains_at_256_and_320() -> None:
    model = get_model("higherhrnet_w16_256")
    assert isinstance(model, HigherHRNet) and model.backbone.out_channels == 16
    assert sum(parameter.numel() for parameter in model.parameters()) < 2_000_000
    assert get_model("higherhrnet_w16_256", input_size=320).input_size == 320
    model.train()
    outputs = model(torch.randn(2, 3, 64, 64))
    sum(output.square().mean() for output in outputs).backward()
    assert all(parameter.grad is not None for parameter in model.parameters())


def test_bad_images_and_configurations_are_named() -> None:
    model = get_model("higherhrnet_w16_256", **TINY).eval()
    with pytest.raises(ValueError, match="multiples of 32"):
        model(torch.randn(1, 3, 64, 80))
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        model(torch.randn(1, 1, 64, 64))
    with pytest.raises(ValueError, match="with_tags needs num_deconvs \\+ 1 = 2 entries"):
        get_model("higherhrnet_w32_512", with_tags=(True,))
    with pytest.raises(ValueError, match="kernel sizes must be 2, 3 or 4"):
        get_model("higherhrnet_w16_256", deconv_kernel_sizes=(5,))
    with pytest.raises(ValueError, match="multiple of 32"):
        get_model("higherhrnet_w16_256", input_size=300)
    with pytest.raises(ValueError, match="contradicts skeleton 'coco'"):
        get_model("higherhrnet_w16_256", num_joints=14, skeleton="coco")
    crowd = get_model("higherhrnet_w16_256", num_joints=14, **TINY)
    assert isinstance(crowd, HigherHRNet) and crowd.skeleton == "crowdpose"
    with pytest.raises(TypeError):
        get_model("higherhrnet_w32_512", num_deconv=2)  # a misspelt key is not swallowed
