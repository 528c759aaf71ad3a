"""Backbones: parameter counts against the published/torchvision figures, strides, module names."""

from __future__ import annotations

import pytest
import torch

from posekit.models.backbones.hourglass import Hourglass, Residual, drop_unused_skip_layers
from posekit.models.backbones.hrnet import HighResolutionModule, HRNet
from posekit.models.backbones.resnet import ResNet, resnet
from posekit.models.backbones.vgg import VGG19Features


def count(module: torch.nn.Module) -> int:
    return sum(parameter.numel() for parameter in module.parameters())


@pytest.mark.parametrize(
    ("depth", "expected"),
    # torchvision resnet18 / resnet50 / resnet152 parameter counts (ImageNet classifier included)
    [(18, 11_689_512), (50, 25_557_032), (152, 60_192_808)],
)
def test_resnet_parameter_counts_match_torchvision(depth: int, expected: int) -> None:
    assert count(resnet(depth, num_classes=1000)) == expected


def test_resnet_names_are_torchvision_names() -> None:
    names = set(resnet(50, num_classes=1000).state_dict())
    for name in [
        "conv1.weight",
        "bn1.running_var",
        "layer1.0.downsample.0.weight",
        "layer1.0.downsample.1.num_batches_tracked",
        "layer4.2.conv3.weight",
        "layer4.2.bn3.bias",
        "fc.weight",
    ]:
        assert name in names
    basic = set(resnet(18).state_dict())
    assert "layer2.0.downsample.0.weight" in basic and "layer2.1.conv2.weight" in basic
    assert not any(name.startswith("fc.") for name in basic)


def test_resnet_features_have_stride_32_and_logits_have_classes() -> None:
    model = resnet(18, num_classes=10).eval()
    images = torch.randn(2, 3, 96, 64)
    assert model.forward_features(images).shape == (2, 512, 3, 2)
    assert model(images).shape == (2, 10)
    trunk = resnet(18, in_channels=5)
    assert trunk(torch.randn(1, 5, 64, 64)).shape == (1, 512, 2, 2)
    with pytest.raises(ValueError, match="depth must be one of"):
        resnet(20)
    with pytest.raises(ValueError, match="layers"):
        ResNet(type(model.layer1[0]), (2, 2, 2))  # type: ignore[arg-type]


def test_vgg19_features_match_vgg19_convolutions() -> None:
    features = VGG19Features()
    # torchvision vgg19.features[:23] (conv1_1 .. conv4_2) holds 5,865,536 parameters
    assert count(features) == 5_865_536
    assert features.layer_names == [
        "conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3", "conv3_4", "conv4_1", "conv4_2"
    ]  # fmt: skip
    small = VGG19Features((8, 8, 8, 16))
    assert small(torch.randn(1, 3, 64, 40)).shape == (1, 16, 8, 5)


def test_hrnet_trunk_shapes_and_official_names() -> None:
    trunk = HRNet(width=16, num_modules=(1, 1, 1), num_blocks=1, stem_channels=16).eval()
    assert trunk(torch.randn(1, 3, 64, 32)).shape == (1, 16, 16, 8)
    names = set(HRNet(width=32).state_dict())
    # names taken from the official pose_hrnet.py W32 state dict
    for name in [
        "stage3.0.fuse_layers.2.1.0.1.bias",
        "stage4.0.fuse_layers.3.1.1.1.running_mean",
        "stage4.2.fuse_layers.0.3.1.bias",
        "stage3.0.fuse_layers.2.0.1.0.weight",
        "transition1.0.0.weight",
        "transition1.1.0.0.weight",
        "transition3.3.0.1.running_var",
        "layer1.0.downsample.1.weight",
    ]:
        assert name in names, name
    assert not any(name.startswith("stage4.2.fuse_layers.1") for name in names)  # last module: one output


def test_high_resolution_module_fuses_every_branch() -> None:
    module = HighResolutionModule([4, 8, 16], [4, 8, 16], num_blocks=1).eval()
    inputs = [torch.randn(1, 4, 16, 16), torch.randn(1, 8, 8, 8), torch.randn(1, 16, 4, 4)]
    outputs = module(inputs)
    assert [tuple(output.shape) for output in outputs] == [(1, 4, 16, 16), (1, 8, 8, 8), (1, 16, 4, 4)]
    changed = [inputs[0], inputs[1], inputs[2] + 1.0]  # the lowest branch reaches the highest output
    assert not torch.allclose(module(changed)[0], outputs[0])
    with pytest.raises(ValueError, match="branch inputs"):
        module(inputs[:2])


def test_hourglass_keeps_shape_and_skip_layers_only_when_used() -> None:
    hourglass = Hourglass(3, 8).eval()
    assert hourglass(torch.randn(2, 8, 16, 16)).shape == (2, 8, 16, 16)
    assert Residual(8, 8).skip_layer is None and Residual(8, 16).skip_layer is not None
    official = {"up1.skip_layer.conv.weight": torch.zeros(1), "up1.conv1.conv.weight": torch.zeros(1)}
    assert list(drop_unused_skip_layers(official, hourglass)) == ["up1.conv1.conv.weight"]
    with pytest.raises(ValueError, match="depth"):
        Hourglass(0, 8)
