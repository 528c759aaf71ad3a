"""VGG-19 up to ``conv4_2``: the image-feature extractor of Convolutional Pose Machines and OpenPose.

Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition", ICLR
2015 (Table 1, configuration E). Wei et al. (CPM, CVPR 2016) and Cao et al. (OpenPose, CVPR 2017)
use its first ten convolutions, initialised from ImageNet, as stride-8 image features.

Legend: ``B`` batch, ``C`` channels, ``H, W`` image height and width.

Layers (all 3x3, padding 1, ReLU; 2x2 max-pools with stride 2): ``conv1_1, conv1_2``, pool,
``conv2_1, conv2_2``, pool, ``conv3_1 .. conv3_4``, pool, ``conv4_1, conv4_2``. The names are those of
the Caffe models of CPM and OpenPose.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["VGG19Features"]

# (block, number of convolutions) of VGG-19 up to conv4_2
_BLOCKS = ((1, 2), (2, 2), (3, 4), (4, 2))


class VGG19Features(nn.Module):
    """VGG-19 convolutions ``conv1_1`` .. ``conv4_2`` (stride 8).

    Args:
        channels: output channels of blocks 1-4 (VGG: ``(64, 128, 256, 512)``; smaller for tiny models).

    Attributes:
        out_channels: ``channels[3]``.
    """

    def __init__(self, channels: tuple[int, int, int, int] = (64, 128, 256, 512)) -> None:
        super().__init__()
        if len(channels) != 4 or min(channels) < 1:
            raise ValueError(f"channels must be four positive widths, got {channels}")
        self.relu = nn.ReLU(inplace=True)
        self.pool = nn.MaxPool2d(2, 2, ceil_mode=True)  # Caffe pooling rounds up
        self.layer_names: list[str] = []
        in_channels = 3
        for (block, count), out_channels in zip(_BLOCKS, channels, strict=True):
            for index in range(1, count + 1):
                name = f"conv{block}_{index}"
                self.add_module(name, nn.Conv2d(in_channels, out_channels, 3, padding=1))
                self.layer_names.append(name)
                in_channels = out_channels
        self.out_channels = channels[3]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` -> ``(B, out_channels, ceil(H / 8), ceil(W / 8))``."""
        features = images
        for name in self.layer_names:
            block = int(name[4])
            if name.endswith("_1") and block > 1:
                features = self.pool(features)
            features = self.relu(getattr(self, name)(features))
        return features
