"""ResNet-18/34/50/101/152 (He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition", CVPR 2016).

Legend: ``B`` batch, ``C`` channels, ``H, W`` feature height and width.

The parameter names are torchvision's (``conv1``, ``bn1``, ``layer1`` .. ``layer4``, blocks with
``conv1/bn1/conv2/bn2(/conv3/bn3)`` and ``downsample.0`` (1x1 conv) / ``downsample.1`` (BN), ``fc``),
which are also those of the official SimpleBaseline ``PoseResNet`` trunk, so ImageNet and
SimpleBaseline checkpoints load without renaming. The bottleneck puts its stride on the 3x3
convolution ("ResNet v1.5", as torchvision and SimpleBaseline do).

Table 1 of the paper gives the stage depths; :data:`RESNET_LAYERS` repeats them.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = [
    "RESNET_LAYERS",
    "BasicBlock",
    "Bottleneck",
    "ResNet",
    "resnet",
]


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with an identity (or projected) shortcut (Sec. 3, Fig. 5 left).

    Args:
        in_channels: input channels.
        channels: channels of both convolutions (= output channels, ``expansion = 1``).
        stride: stride of the first convolution.
        downsample: projection of the shortcut (1x1 conv + BN) when shapes change, else ``None``.
    """

    expansion = 1

    def __init__(self, in_channels: int, channels: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.downsample = downsample

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, H, W)`` -> ``(B, channels, H / stride, W / stride)``."""
        shortcut = features if self.downsample is None else self.downsample(features)
        out = self.relu(self.bn1(self.conv1(features)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + shortcut)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (strided), 1x1 expand by 4, with a shortcut (Sec. 4.1, Fig. 5 right).

    Args:
        in_channels: input channels.
        channels: bottleneck width; the output has ``4 * channels``.
        stride: stride of the 3x3 convolution.
        downsample: projection of the shortcut when shapes change, else ``None``.
    """

    expansion = 4

    def __init__(self, in_channels: int, channels: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.conv3 = nn.Conv2d(channels, channels * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(channels * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, H, W)`` -> ``(B, 4 * channels, H / stride, W / stride)``."""
        shortcut = features if self.downsample is None else self.downsample(features)
        out = self.relu(self.bn1(self.conv1(features)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + shortcut)


Block = type[BasicBlock] | type[Bottleneck]

# depth -> (block, blocks per stage), Table 1 of the paper.
RESNET_LAYERS: dict[int, tuple[Block, tuple[int, int, int, int]]] = {
    18: (BasicBlock, (2, 2, 2, 2)),
    34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
    101: (Bottleneck, (3, 4, 23, 3)),
    152: (Bottleneck, (3, 8, 36, 3)),
}


def make_layer(block: Block, in_channels: int, channels: int, num_blocks: int, stride: int = 1) -> nn.Sequential:
    """One ResNet stage: ``num_blocks`` blocks, the first one strided and projecting the shortcut.

    Args:
        block: :class:`BasicBlock` or :class:`Bottleneck`.
        in_channels: input channels of the stage.
        channels: block width (output ``channels * block.expansion``).
        num_blocks: number of blocks.
        stride: stride of the first block.
    """
    out_channels = channels * block.expansion
    downsample: nn.Module | None = None
    if stride != 1 or in_channels != out_channels:
        downsample = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
            nn.BatchNorm2d(out_channels),
        )
    layers: list[nn.Module] = [block(in_channels, channels, stride, downsample)]
    layers += [block(out_channels, channels) for _ in range(1, num_blocks)]
    return nn.Sequential(*layers)


class ResNet(nn.Module):
    """ResNet trunk: 7x7/2 stem, 3x3/2 max-pool, four stages (strides 4, 8, 16, 32), optional classifier.

    Args:
        block: :class:`BasicBlock` or :class:`Bottleneck`.
        layers: blocks per stage, e.g. ``(3, 4, 6, 3)`` for ResNet-50.
        in_channels: image channels (3; more for inputs with extra channels, as IEF's).
        num_classes: size of the ``fc`` classifier after global average pooling, or ``None`` for a
            feature extractor (no ``fc``).

    Attributes:
        out_channels: channels of the stride-32 features (512 * expansion).
    """

    def __init__(
        self,
        block: Block,
        layers: tuple[int, int, int, int],
        in_channels: int = 3,
        num_classes: int | None = None,
    ) -> None:
        super().__init__()
        if len(layers) != 4 or min(layers) < 1:
            raise ValueError(f"layers must be four positive block counts, got {layers}")
        self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        expansion = block.expansion
        self.layer1 = make_layer(block, 64, 64, layers[0])
        self.layer2 = make_layer(block, 64 * expansion, 128, layers[1], stride=2)
        self.layer3 = make_layer(block, 128 * expansion, 256, layers[2], stride=2)
        self.layer4 = make_layer(block, 256 * expansion, 512, layers[3], stride=2)
        self.out_channels = 512 * expansion
        self.fc: nn.Linear | None = None
        if num_classes is not None:
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(self.out_channels, num_classes)
        self._initialize()

    def _initialize(self) -> None:
        # He initialisation (He et al. 2015), as in the paper's Sec. 3.4.
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        """Stride-32 features: ``(B, C_in, H, W)`` -> ``(B, out_channels, H / 32, W / 32)`` (rounded up)."""
        features = self.maxpool(self.relu(self.bn1(self.conv1(images))))
        features = self.layer1(features)
        features = self.layer2(features)
        features = self.layer3(features)
        return self.layer4(features)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Features ``(B, out_channels, H/32, W/32)``, or class logits ``(B, num_classes)`` with ``fc``."""
        features = self.forward_features(images)
        if self.fc is None:
            return features
        pooled = torch.flatten(self.avgpool(features), 1)  # (B, C, 1, 1) -> (B, C)
        return self.fc(pooled)


def resnet(depth: int, in_channels: int = 3, num_classes: int | None = None) -> ResNet:
    """ResNet of ``depth`` 18, 34, 50, 101 or 152 (``num_classes=1000`` gives the ImageNet model).

    Raises:
        ValueError: for another depth.
    """
    if depth not in RESNET_LAYERS:
        raise ValueError(f"ResNet depth must be one of {sorted(RESNET_LAYERS)}, got {depth}")
    block, layers = RESNET_LAYERS[depth]
    return ResNet(block, layers, in_channels=in_channels, num_classes=num_classes)
