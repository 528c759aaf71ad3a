"""Hourglass building blocks (Newell, Yang, Deng, "Stacked Hourglass Networks for Human Pose Estimation", ECCV 2016).

Legend: ``B`` batch, ``C`` channels, ``H, W`` feature height and width.

* :class:`Residual` -- the pre-activation bottleneck residual module of Sec. 3.1 / Fig. 4 left:
  BN, ReLU, 1x1 conv to ``C/2``; BN, ReLU, 3x3 conv; BN, ReLU, 1x1 conv to ``C``; plus a 1x1
  projection of the input when the channel count changes.
* :class:`Hourglass` -- Sec. 3.1 / Fig. 3: at each of ``depth`` scales an upper (skip) branch
  keeps a residual module at the current resolution, while the lower branch max-pools, applies
  residual modules and recurses; the lower result is upsampled by nearest neighbour and added to
  the skip branch.

Module names (``conv``/``bn``/``relu`` in :class:`ConvBlock`; ``bn1, conv1, bn2, conv2, bn3, conv3,
skip_layer`` in :class:`Residual`; ``up1, pool1, low1, low2, low3, up2`` in :class:`Hourglass`) are
those of princeton-vl/pytorch_stacked_hourglass (``models/layers.py``), so its checkpoints load.
That code always builds ``skip_layer`` even when it is unused (equal channel counts); here it is
only built when used, and :func:`drop_unused_skip_layers` removes the unused weights from an
official state dict.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ConvBlock", "Hourglass", "Residual", "drop_unused_skip_layers"]


class ConvBlock(nn.Module):
    """Convolution (with bias, "same" padding), then optional BatchNorm and ReLU.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: square kernel side (odd).
        stride: convolution stride.
        batch_norm: apply BatchNorm after the convolution.
        relu: apply ReLU last.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        batch_norm: bool = False,
        relu: bool = True,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding=(kernel_size - 1) // 2, bias=True)
        self.bn = nn.BatchNorm2d(out_channels) if batch_norm else None
        self.relu = nn.ReLU() if relu else None

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, H, W)`` -> ``(B, C_out, H / stride, W / stride)``."""
        features = self.conv(features)
        if self.bn is not None:
            features = self.bn(features)
        if self.relu is not None:
            features = self.relu(features)
        return features


class Residual(nn.Module):
    """Pre-activation bottleneck residual module (Sec. 3.1, Fig. 4 left).

    Args:
        in_channels: input channels.
        out_channels: output channels; the bottleneck has ``out_channels // 2``.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        middle = out_channels // 2
        self.relu = nn.ReLU()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = ConvBlock(in_channels, middle, 1, relu=False)
        self.bn2 = nn.BatchNorm2d(middle)
        self.conv2 = ConvBlock(middle, middle, 3, relu=False)
        self.bn3 = nn.BatchNorm2d(middle)
        self.conv3 = ConvBlock(middle, out_channels, 1, relu=False)
        self.skip_layer = ConvBlock(in_channels, out_channels, 1, relu=False) if in_channels != out_channels else None

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``(B, in_channels, H, W)`` -> ``(B, out_channels, H, W)``."""
        shortcut = features if self.skip_layer is None else self.skip_layer(features)
        out = self.conv1(self.relu(self.bn1(features)))
        out = self.conv2(self.relu(self.bn2(out)))
        out = self.conv3(self.relu(self.bn3(out)))
        return out + shortcut


class Hourglass(nn.Module):
    """One hourglass of ``depth`` scales (Sec. 3.1, Fig. 3), recursive.

    Args:
        depth: number of 2x downsamplings (4 in the paper: 64x64 down to 4x4).
        channels: feature channels at this scale.
        increase: extra channels in the lower branch (0 in the paper; the official code only
            applies it at the outermost level).

    The input height and width must be divisible by ``2**depth``.
    """

    def __init__(self, depth: int, channels: int, increase: int = 0) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"hourglass depth must be >= 1, got {depth}")
        lower_channels = channels + increase
        self.depth = depth
        self.up1 = Residual(channels, channels)
        self.pool1 = nn.MaxPool2d(2, 2)
        self.low1 = Residual(channels, lower_channels)
        self.low2: nn.Module = (
            Hourglass(depth - 1, lower_channels) if depth > 1 else Residual(lower_channels, lower_channels)
        )
        self.low3 = Residual(lower_channels, channels)
        self.up2 = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` -> ``(B, C, H, W)``; ``H, W`` divisible by ``2**depth``."""
        skip = self.up1(features)
        lower = self.low3(self.low2(self.low1(self.pool1(features))))
        return skip + self.up2(lower)


def drop_unused_skip_layers(state_dict: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """Remove the official checkpoints' ``skip_layer`` weights of residual modules that do not use them.

    Args:
        state_dict: parameter name -> tensor, names relative to ``model``.
        model: the module the state dict is for.

    Returns:
        A new dict without ``*.skip_layer.*`` entries that ``model`` does not have.
    """
    own = set(model.state_dict())
    return {name: tensor for name, tensor in state_dict.items() if ".skip_layer." not in name or name in own}
