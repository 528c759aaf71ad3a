"""Shared pieces of the 2D heatmap heads: deconvolution layers, the final 1x1 layer, their initialisation.

Legend: ``K`` keypoints, input ``(w, h)``, heatmaps ``(W, H)``.

SimpleBaseline (Xiao et al. 2018, Sec. 2), the integral model (Sun et al. 2018, Sec. 4) and the
dual-source model put the same head on a ResNet trunk: transposed 4x4 stride-2 convolutions with
BatchNorm and ReLU (:func:`make_deconv_layers`), then a convolution to ``K`` maps
(:func:`make_final_layer`). The models keep these as their own attributes ``deconv_layers`` and
``final_layer``, so the state-dict names stay those of the official ``PoseResNet``
(microsoft/human-pose-estimation.pytorch, ``lib/models/pose_resnet.py``) and
``PoseHighResolutionNet``. :func:`init_normal_` is the official head initialisation that
SimpleBaseline, HRNet, CPM, Stacked Hourglass, DeepPose and IEF apply to their output layers.
"""

from __future__ import annotations

from collections.abc import Iterable

from torch import nn

__all__ = ["deconv_heatmap_size", "init_normal_", "make_deconv_layers", "make_final_layer"]


def deconv_heatmap_size(input_size: tuple[int, int], num_deconv_layers: int) -> tuple[int, int]:
    """``(w, h)`` of the heatmaps of a ResNet trunk (stride 32) followed by ``num_deconv_layers`` x2 upsamplings."""
    stride = 32 // 2**num_deconv_layers
    return (input_size[0] // stride, input_size[1] // stride)


def make_deconv_layers(in_channels: int, channels: tuple[int, ...], kernel_size: int = 4) -> nn.Sequential:
    """Transposed 4x4 (or 3x3, 2x2) stride-2 convolutions, each followed by BN and ReLU (SimpleBaseline Sec. 2).

    Args:
        in_channels: channels of the trunk output.
        channels: output channels of each layer; each layer doubles the resolution.
        kernel_size: 4 (padding 1), 3 (padding 1, output padding 1) or 2 (no padding), as official.
    """
    paddings = {4: (1, 0), 3: (1, 1), 2: (0, 0)}
    if kernel_size not in paddings:
        raise ValueError(f"deconvolution kernel_size must be 2, 3 or 4, got {kernel_size}")
    padding, output_padding = paddings[kernel_size]
    layers: list[nn.Module] = []
    for out_channels in channels:
        layers += [
            nn.ConvTranspose2d(
                in_channels,
                out_channels,
                kernel_size,
                stride=2,
                padding=padding,
                output_padding=output_padding,
                bias=False,
            ),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        ]
        in_channels = out_channels
    return nn.Sequential(*layers)


def make_final_layer(in_channels: int, num_keypoints: int, kernel_size: int = 1) -> nn.Conv2d:
    """The convolution from head features to ``K`` heatmaps: ``kernel_size`` 1 (official) or 3, same size out."""
    return nn.Conv2d(in_channels, num_keypoints, kernel_size, padding=(kernel_size - 1) // 2)


def init_normal_(modules: Iterable[nn.Module], std: float = 0.001) -> None:
    """Official head initialisation: weights ``normal(0, std)``, biases 0, BatchNorm at ``(1, 0)``.

    Applies to every (transposed) convolution and linear layer among ``modules`` (in their order,
    so the random draws match the official code) and resets every BatchNorm to weight 1, bias 0.
    """
    for module in modules:
        if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.init.normal_(module.weight, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
