"""Convolutional Pose Machines (Wei, Ramakrishna, Kanade, Sheikh, CVPR 2016).

Legend: ``B`` batch, ``K`` keypoints, ``S`` stages, input ``(w, h)`` (368x368 in the paper),
belief maps ``(W, H) = (w / 8, h / 8)`` (46x46).

Reading the paper top to bottom:

* Sec. 3.1: a pose machine is a sequence of predictors; stage ``t`` predicts a belief map per
  part from image features *and* the beliefs of stage ``t - 1``, so later stages use the spatial
  context of the other parts' beliefs.
* Sec. 3.2, Fig. 2: the image features ``x'`` are shared by stages ``>= 2``; each stage's
  convolutions have large kernels so that its receptive field covers the whole body (Sec. 3.2,
  Fig. 3: a large receptive field is what lets the beliefs of one part inform another).
* Sec. 3.3: a loss on every stage's beliefs ("intermediate supervision") fights vanishing gradients.
* Sec. 4 (and the released Caffe models, ``pose_deploy_centerMap.prototxt``): features are VGG-19
  up to ``conv4_2`` (ImageNet-initialised) plus ``conv4_3_CPM`` .. ``conv4_7_CPM``; stage 1 is two
  1x1 convolutions (``conv5_1_CPM`` 512, ``conv5_2_CPM``); stages 2..6 concatenate the previous
  beliefs, the 128-channel features and a Gaussian *centre map* marking the person of interest
  (pooled to the belief resolution by a 9x9 stride-8 average pool), then apply five 7x7
  convolutions (receptive field grows by 30 belief pixels = 240 input pixels per stage) and two
  1x1 convolutions (``Mconv1`` .. ``Mconv7``). Every stage predicts ``K + 1`` maps, the last one
  background (the Caffe targets: ``1 - max`` of the part maps).

Output contract: :meth:`ConvolutionalPoseMachine.forward_stages` returns ``S`` tensors of
``(B, K + 1, H, W)`` (background last; make targets with
:func:`~posekit.models.pose2d.base.append_background_channel`); ``forward`` returns the last
stage's ``K`` part maps. The centre map is a fixed Gaussian at the input centre (top-down
crops are centred on the person); its sigma scales with the input (21 px at 368).
Input: ImageNet-normalised RGB (the Caffe models used ``pixel / 256 - 0.5``; their weights would
need that normalisation and BGR order, so no official CPM weights are loaded here).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from posekit.models.backbones.vgg import VGG19Features
from posekit.models.pose2d.base import Pose2DModel, Pose2DOutput, check_images
from posekit.models.pose2d.heads import init_normal_
from posekit.models.registry import register_model

__all__ = ["ConvolutionalPoseMachine", "centre_map", "cpm_tiny_128x128", "cpm_vgg19_368x368"]


def centre_map(input_size: tuple[int, int], sigma: float) -> torch.Tensor:
    """Gaussian centre map at the input centre (CPM Sec. 4, "centre map").

    Args:
        input_size: ``(w, h)``.
        sigma: standard deviation in input pixels.

    Returns:
        ``(1, 1, h, w)`` with value 1 at the centre ``((w - 1) / 2, (h - 1) / 2)``.
    """
    width, height = input_size
    xs = torch.arange(width, dtype=torch.float32) - (width - 1) / 2
    ys = torch.arange(height, dtype=torch.float32) - (height - 1) / 2
    squared = ys[:, None] ** 2 + xs[None, :] ** 2  # (h, w)
    return torch.exp(-squared / (2 * sigma**2))[None, None]


def _conv_relu(in_channels: int, out_channels: int, kernel_size: int) -> list[nn.Module]:
    return [nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2), nn.ReLU(inplace=True)]


class ConvolutionalPoseMachine(Pose2DModel):
    """CPM with VGG-19 features, ``num_stages`` stages, ``K + 1`` belief maps at stride 8.

    Args:
        num_keypoints: ``K``.
        input_size: ``(w, h)``, both divisible by 8.
        num_stages: ``S`` (6 in the paper).
        vgg_channels: VGG block widths (``(64, 128, 256, 512)``).
        cpm_channels: widths of ``conv4_3_CPM .. conv4_6_CPM`` (256) and of the shared features
            ``conv4_7_CPM`` (128).
        stage1_channels: width of ``conv5_1_CPM`` (512).
        stage_channels: width of the refinement stages (128).
        kernel_size: kernel of the five large convolutions of each refinement stage (7; the paper's
            Fig. 2 draws 11x11).
        centre_sigma: centre-map sigma in input pixels; default ``21 * w / 368``.
    """

    pooled_centre_map: torch.Tensor

    def __init__(
        self,
        num_keypoints: int,
        input_size: tuple[int, int] = (368, 368),
        num_stages: int = 6,
        vgg_channels: tuple[int, int, int, int] = (64, 128, 256, 512),
        cpm_channels: tuple[int, int] = (256, 128),
        stage1_channels: int = 512,
        stage_channels: int = 128,
        kernel_size: int = 7,
        centre_sigma: float | None = None,
    ) -> None:
        if input_size[0] % 8 or input_size[1] % 8:
            raise ValueError(f"CPM input_size sides must be divisible by 8, got {input_size}")
        super().__init__(
            num_keypoints=num_keypoints,
            input_size=input_size,
            output_kind="heatmap",
            heatmap_size=(input_size[0] // 8, input_size[1] // 8),
            num_stages=num_stages,
            background_channel=True,
        )
        num_maps = num_keypoints + 1
        self.vgg = VGG19Features(vgg_channels)
        wide, shared = cpm_channels
        self.cpm_features = nn.Sequential(
            *_conv_relu(vgg_channels[3], wide, 3),  # conv4_3_CPM
            *_conv_relu(wide, wide, 3),  # conv4_4_CPM
            *_conv_relu(wide, wide, 3),  # conv4_5_CPM
            *_conv_relu(wide, wide, 3),  # conv4_6_CPM
            *_conv_relu(wide, shared, 3),  # conv4_7_CPM
        )
        self.stage1 = nn.Sequential(
            *_conv_relu(shared, stage1_channels, 1),  # conv5_1_CPM
            nn.Conv2d(stage1_channels, num_maps, 1),  # conv5_2_CPM
        )
        refinement = []
        for _ in range(2, num_stages + 1):
            layers = _conv_relu(num_maps + shared + 1, stage_channels, kernel_size)  # Mconv1
            for _ in range(4):  # Mconv2 .. Mconv5
                layers += _conv_relu(stage_channels, stage_channels, kernel_size)
            layers += _conv_relu(stage_channels, stage_channels, 1)  # Mconv6
            layers.append(nn.Conv2d(stage_channels, num_maps, 1))  # Mconv7
            refinement.append(nn.Sequential(*layers))
        self.refinement_stages = nn.ModuleList(refinement)
        sigma = 21.0 * input_size[0] / 368.0 if centre_sigma is None else float(centre_sigma)
        # pool_center_lower: 9x9 average pooling with stride 8 (Caffe rounds the output size up)
        pooled = F.avg_pool2d(centre_map(self.input_size, sigma), 9, stride=8, ceil_mode=True)
        self.register_buffer("pooled_centre_map", pooled, persistent=False)  # (1, 1, h / 8, w / 8)
        self.kernel_size = kernel_size
        self._initialise()

    def _initialise(self) -> None:
        """He initialisation for the ReLU convolutions, near-zero belief outputs.

        CPM has no normalisation layers; with PyTorch's default initialisation each conv + ReLU
        shrinks the signal's variance about six-fold, so a stack of 15+ layers trained from scratch
        starts with vanishing activations. He et al. 2015 (Sec. 2.2) keeps the variance (the Caffe
        models started from ImageNet VGG weights instead). The belief outputs (``conv5_2_CPM``,
        ``Mconv7``) start at normal(0, 0.001) with zero bias, near the all-zero map.
        """
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        for stage in [self.stage1, *self.refinement_stages]:
            output = list(stage.children())[-1]  # conv5_2_CPM or Mconv7
            assert isinstance(output, nn.Conv2d) and output.bias is not None
            init_normal_([output])

    def receptive_field(self, stage: int) -> int:
        """Side, in input pixels, of the receptive field of a stage-``stage`` belief (1-based).

        The features end at stride 8 with a receptive field of 164 px (VGG-19 to ``conv4_2``: 84
        px; five 3x3 CPM convolutions at stride 8: + 80 px); the 1x1 convolutions add nothing and
        each refinement stage adds ``5 * (kernel_size - 1)`` belief pixels (240 px for 7x7).
        """
        if not 1 <= stage <= self.num_stages:
            raise ValueError(f"stage must be in [1, {self.num_stages}], got {stage}")
        features = 84 + 5 * 2 * 8
        return features + (stage - 1) * 5 * (self.kernel_size - 1) * 8

    def forward_outputs(self, images: torch.Tensor) -> Pose2DOutput:
        """``(B, 3, h, w)`` -> ``S`` belief maps ``(B, K + 1, h / 8, w / 8)`` (background last)."""
        check_images(images, self.input_size)
        features = self.cpm_features(self.vgg(images))  # (B, 128, h / 8, w / 8)
        centre = self.pooled_centre_map.expand(images.shape[0], -1, -1, -1)  # (B, 1, h / 8, w / 8)
        beliefs = self.stage1(features)
        stage_heatmaps = [beliefs]
        for stage in self.refinement_stages:
            beliefs = stage(torch.cat([beliefs, features, centre], dim=1))
            stage_heatmaps.append(beliefs)
        return Pose2DOutput(stage_heatmaps=stage_heatmaps)


@register_model("cpm_vgg19_368x368")
def cpm_vgg19_368x368(num_keypoints: int = 16, num_stages: int = 6) -> ConvolutionalPoseMachine:
    """CPM with VGG-19 features, six stages, 368x368 (MPII: 87.95 PCKh@0.5 in the paper, Table 1)."""
    return ConvolutionalPoseMachine(num_keypoints, (368, 368), num_stages=num_stages)


@register_model("cpm_tiny_128x128")
def cpm_tiny_128x128(num_keypoints: int = 17, num_stages: int = 3) -> ConvolutionalPoseMachine:
    """Tiny CPU variant: narrow VGG (16-32-64-64), 32-channel stages, three stages, 128x128."""
    return ConvolutionalPoseMachine(
        num_keypoints,
        (128, 128),
        num_stages=num_stages,
        vgg_channels=(16, 32, 64, 64),
        cpm_channels=(64, 32),
        stage1_channels=64,
        stage_channels=32,
        kernel_size=7,
    )
