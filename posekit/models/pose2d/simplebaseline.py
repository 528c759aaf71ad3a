"""SimpleBaseline: ResNet plus three deconvolutions (Xiao, Wu, Wei, "Simple Baselines for Human Pose
Estimation and Tracking", ECCV 2018, Sec. 2 and Fig. 1c).

Legend: ``B`` batch, ``K`` keypoints, input ``(w, h)``, heatmaps ``(W, H) = (w / 4, h / 4)``.

The ResNet trunk (stride 32) is followed by three deconvolution layers, each a 4x4 transposed
convolution with stride 2 and 256 channels, BatchNorm and ReLU (stride 32 -> 4), and a 1x1
convolution predicting one heatmap per keypoint. Trained with an MSE loss on Gaussian heatmaps
(:class:`posekit.codecs.MSRAHeatmap`, sigma 2).

Names: the trunk is ``backbone`` (torchvision ResNet names), the head ``deconv_layers`` and
``final_layer`` as in the official ``PoseResNet`` (microsoft/human-pose-estimation.pytorch,
``lib/models/pose_resnet.py``). :meth:`SimpleBaseline.remap_state_dict` adds the ``backbone.``
prefix to the official trunk names, so official ``.pth`` files load with ``get_model(name, weights=PATH)``.
"""

from __future__ import annotations

import torch

from posekit.models.backbones.resnet import ResNet, resnet
from posekit.models.pose2d.base import Pose2DModel, Pose2DOutput, add_backbone_prefix, check_images
from posekit.models.pose2d.heads import deconv_heatmap_size, init_normal_, make_deconv_layers, make_final_layer
from posekit.models.registry import register_model

__all__ = [
    "SimpleBaseline",
    "simplebaseline_res18_128x96",
    "simplebaseline_res50_256x192",
    "simplebaseline_res50_256x256",
    "simplebaseline_res50_384x288",
    "simplebaseline_res101_256x192",
    "simplebaseline_res152_256x192",
    "simplebaseline_res152_384x288",
]

_TRUNK_NAMES = ("conv1.", "bn1.", "layer1.", "layer2.", "layer3.", "layer4.")


class SimpleBaseline(Pose2DModel):
    """ResNet + deconvolution head predicting ``K`` heatmaps at stride 4.

    Args:
        backbone: a :class:`~posekit.models.backbones.resnet.ResNet` without classifier.
        num_keypoints: ``K``.
        input_size: ``(w, h)``; heatmaps are ``(w / 4, h / 4)``.
        deconv_channels: channels of the deconvolution layers (paper: three of 256).
        final_kernel_size: kernel of ``final_layer`` (1 as official; 3 also allowed).
    """

    def __init__(
        self,
        backbone: ResNet,
        num_keypoints: int,
        input_size: tuple[int, int],
        deconv_channels: tuple[int, ...] = (256, 256, 256),
        final_kernel_size: int = 1,
    ) -> None:
        super().__init__(
            num_keypoints=num_keypoints,
            input_size=input_size,
            output_kind="heatmap",
            heatmap_size=deconv_heatmap_size(input_size, len(deconv_channels)),
            num_stages=1,
        )
        if backbone.fc is not None:
            raise ValueError("the SimpleBaseline backbone must be a ResNet without classifier (num_classes=None)")
        self.backbone = backbone
        self.deconv_layers = make_deconv_layers(backbone.out_channels, deconv_channels)
        self.final_layer = make_final_layer(deconv_channels[-1], num_keypoints, final_kernel_size)
        # official head initialisation: normal(0, 0.001) deconvolutions / final conv, BN at (1, 0)
        init_normal_([*self.deconv_layers.modules(), self.final_layer])

    def forward_outputs(self, images: torch.Tensor) -> Pose2DOutput:
        """``(B, 3, h, w)`` -> one stage of heatmaps ``(B, K, h / 4, w / 4)``."""
        check_images(images)
        features = self.backbone.forward_features(images)  # (B, C, h / 32, w / 32)
        return Pose2DOutput(stage_heatmaps=[self.final_layer(self.deconv_layers(features))])

    def remap_state_dict(self, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Official ``PoseResNet`` names -> posekit names (adds ``backbone.`` to the trunk)."""
        return add_backbone_prefix(state_dict, _TRUNK_NAMES)


def _build(
    depth: int, input_size: tuple[int, int], num_keypoints: int, deconv_channels: tuple[int, ...]
) -> SimpleBaseline:
    return SimpleBaseline(resnet(depth), num_keypoints, input_size, deconv_channels=deconv_channels)


@register_model("simplebaseline_res50_256x192")
def simplebaseline_res50_256x192(
    num_keypoints: int = 17, deconv_channels: tuple[int, ...] = (256, 256, 256)
) -> SimpleBaseline:
    """SimpleBaseline ResNet-50, COCO 256x192 (paper Table 2: 70.4 AP on val2017)."""
    return _build(50, (192, 256), num_keypoints, deconv_channels)


@register_model("simplebaseline_res50_384x288")
def simplebaseline_res50_384x288(
    num_keypoints: int = 17, deconv_channels: tuple[int, ...] = (256, 256, 256)
) -> SimpleBaseline:
    """SimpleBaseline ResNet-50, COCO 384x288."""
    return _build(50, (288, 384), num_keypoints, deconv_channels)


@register_model("simplebaseline_res50_256x256")
def simplebaseline_res50_256x256(
    num_keypoints: int = 16, deconv_channels: tuple[int, ...] = (256, 256, 256)
) -> SimpleBaseline:
    """SimpleBaseline ResNet-50, MPII 256x256 (paper Table 1 setting; 88.5 PCKh@0.5 on MPII val in the
    official repository's model zoo)."""
    return _build(50, (256, 256), num_keypoints, deconv_channels)


@register_model("simplebaseline_res101_256x192")
def simplebaseline_res101_256x192(
    num_keypoints: int = 17, deconv_channels: tuple[int, ...] = (256, 256, 256)
) -> SimpleBaseline:
    """SimpleBaseline ResNet-101, COCO 256x192."""
    return _build(101, (192, 256), num_keypoints, deconv_channels)


@register_model("simplebaseline_res152_256x192")
def simplebaseline_res152_256x192(
    num_keypoints: int = 17, deconv_channels: tuple[int, ...] = (256, 256, 256)
) -> SimpleBaseline:
    """SimpleBaseline ResNet-152, COCO 256x192."""
    return _build(152, (192, 256), num_keypoints, deconv_channels)


@register_model("simplebaseline_res152_384x288")
def simplebaseline_res152_384x288(
    num_keypoints: int = 17, deconv_channels: tuple[int, ...] = (256, 256, 256)
) -> SimpleBaseline:
    """SimpleBaseline ResNet-152, COCO 384x288 (paper Table 2: 73.7 AP on val2017)."""
    return _build(152, (288, 384), num_keypoints, deconv_channels)


@register_model("simplebaseline_res18_128x96")
def simplebaseline_res18_128x96(
    num_keypoints: int = 17, deconv_channels: tuple[int, ...] = (128, 128, 128)
) -> SimpleBaseline:
    """Tiny CPU variant: ResNet-18, 128x96 input, 128-channel deconvolutions (synthetic-data recipes)."""
    return _build(18, (96, 128), num_keypoints, deconv_channels)
