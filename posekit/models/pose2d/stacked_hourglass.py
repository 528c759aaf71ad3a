"""Stacked Hourglass Networks (Newell, Yang, Deng, ECCV 2016).

Legend: ``B`` batch, ``K`` keypoints, ``F`` feature channels (256), input ``(w, h)`` (256x256 in
the paper), heatmaps ``(W, H) = (w / 4, h / 4)`` (64x64).

Reading the paper top to bottom:

* Sec. 3.1, "pre": a 7x7 stride-2 convolution (64 channels) with BN and ReLU, a residual module to
  128 channels, 2x2 max-pooling, and two residual modules (to ``F``) bring the 256x256 input to
  64x64 features.
* Sec. 3.1, Fig. 3: each hourglass (:class:`~posekit.models.backbones.hourglass.Hourglass`, depth
  4) pools down to 4x4 and comes back up with nearest-neighbour upsampling, adding a residual
  skip branch at every scale.
* Sec. 3.2, Fig. 4 right, "intermediate supervision": after each hourglass a residual module and a
  1x1 conv + BN + ReLU (``features``) produce the stack's features; a 1x1 conv (``outs``) predicts
  ``K`` heatmaps, the loss is applied to every stack's heatmaps; the predictions and features are
  mapped back to ``F`` channels by 1x1 convolutions (``merge_preds``, ``merge_features``) and added
  to the stack's input to form the next stack's input.

Input: ImageNet-normalised RGB, like every posekit model. The official PyTorch code
(princeton-vl/pytorch_stacked_hourglass) trains on RGB in ``[0, 1]``; :meth:`StackedHourglass.forward_outputs`
undoes the ImageNet normalisation first, so the official weights keep their meaning.

Names: ``pre``, ``hgs``, ``features``, ``outs``, ``merge_features``, ``merge_preds`` as in the official
``models/posenet.py``. Its ``checkpoint.pt`` stores ``{"state_dict", "optimizer", "epoch"}`` with
keys ``model.module.<name>`` (a training wrapper around ``DataParallel``);
:meth:`StackedHourglass.remap_state_dict` strips that prefix and drops the unused ``skip_layer`` weights.
"""

from __future__ import annotations

import torch
from torch import nn

from posekit.models.backbones.hourglass import ConvBlock, Hourglass, Residual, drop_unused_skip_layers
from posekit.models.pose2d.base import Pose2DModel, Pose2DOutput, check_images, denormalize_images
from posekit.models.pose2d.heads import init_normal_
from posekit.models.registry import register_model

__all__ = [
    "Merge",
    "StackedHourglass",
    "hourglass_2stack_128x128",
    "hourglass_2stack_256x256",
    "hourglass_8stack_256x256",
]

_OFFICIAL_PREFIXES = ("model.module.", "module.", "model.")


class Merge(nn.Module):
    """A 1x1 convolution (with bias, no BN, no ReLU) mapping one stack's outputs into the next stack."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = ConvBlock(in_channels, out_channels, 1, relu=False)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, H, W)`` -> ``(B, C_out, H, W)``."""
        return self.conv(features)


class StackedHourglass(Pose2DModel):
    """``num_stacks`` hourglasses with intermediate supervision; heatmaps at stride 4.

    Args:
        num_keypoints: ``K`` (16 for MPII).
        input_size: ``(w, h)``; both divisible by ``4 * 2**depth``.
        num_stacks: number of hourglasses (8 in the paper).
        channels: feature channels ``F`` (256 in the paper).
        depth: downsamplings per hourglass (4 in the paper).
        stem_channels: channels of the 7x7 stem and of the first residual module (paper ``(64, 128)``).
        increase: extra channels in the hourglasses' lower branch (official option, 0 in the paper).
    """

    def __init__(
        self,
        num_keypoints: int = 16,
        input_size: tuple[int, int] = (256, 256),
        num_stacks: int = 8,
        channels: int = 256,
        depth: int = 4,
        stem_channels: tuple[int, int] = (64, 128),
        increase: int = 0,
    ) -> None:
        super().__init__(
            num_keypoints=num_keypoints,
            input_size=input_size,
            output_kind="heatmap",
            heatmap_size=(input_size[0] // 4, input_size[1] // 4),
            num_stages=num_stacks,
        )
        divisor = 4 * 2**depth
        if input_size[0] % divisor or input_size[1] % divisor:
            raise ValueError(f"input_size sides must be divisible by {divisor} for depth {depth}, got {input_size}")
        self.num_stacks = num_stacks
        self.pre = nn.Sequential(
            ConvBlock(3, stem_channels[0], 7, 2, batch_norm=True, relu=True),
            Residual(stem_channels[0], stem_channels[1]),
            nn.MaxPool2d(2, 2),
            Residual(stem_channels[1], stem_channels[1]),
            Residual(stem_channels[1], channels),
        )
        self.hgs = nn.ModuleList(nn.Sequential(Hourglass(depth, channels, increase)) for _ in range(num_stacks))
        self.features = nn.ModuleList(
            nn.Sequential(Residual(channels, channels), ConvBlock(channels, channels, 1, batch_norm=True, relu=True))
            for _ in range(num_stacks)
        )
        self.outs = nn.ModuleList(ConvBlock(channels, num_keypoints, 1, relu=False) for _ in range(num_stacks))
        self.merge_features = nn.ModuleList(Merge(channels, channels) for _ in range(num_stacks - 1))
        self.merge_preds = nn.ModuleList(Merge(num_keypoints, channels) for _ in range(num_stacks - 1))
        # Heatmap outputs start near zero (normal(0, 0.001), zero bias, as SimpleBaseline/HRNet's final
        # layers): with PyTorch's default initialisation the untrained 1x1 output is noise of about
        # the peak's size, far above the MSE of an all-zero map, and a short schedule spends its steps
        # removing that noise before any peak forms. Official checkpoints overwrite these weights.
        for output in self.outs:
            init_normal_(output.modules())

    def forward_outputs(self, images: torch.Tensor) -> Pose2DOutput:
        """``(B, 3, h, w)`` ImageNet-normalised -> ``num_stacks`` heatmaps ``(B, K, h / 4, w / 4)``."""
        check_images(images)
        features = self.pre(denormalize_images(images))  # (B, F, h / 4, w / 4), input in [0, 1]
        stage_heatmaps = []
        for stack in range(self.num_stacks):
            stack_features = self.features[stack](self.hgs[stack](features))
            heatmaps = self.outs[stack](stack_features)  # (B, K, h / 4, w / 4)
            stage_heatmaps.append(heatmaps)
            if stack < self.num_stacks - 1:
                features = features + self.merge_preds[stack](heatmaps) + self.merge_features[stack](stack_features)
        return Pose2DOutput(stage_heatmaps=stage_heatmaps)

    def remap_state_dict(self, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Official checkpoint names -> posekit names.

        Strips the ``model.module.`` (or ``module.`` / ``model.``) prefix when every key carries it,
        and drops the ``skip_layer`` weights of residual modules that do not use them.
        """
        for prefix in _OFFICIAL_PREFIXES:
            if state_dict and all(name.startswith(prefix) for name in state_dict):
                state_dict = {name[len(prefix) :]: tensor for name, tensor in state_dict.items()}
                break
        return drop_unused_skip_layers(state_dict, self)


@register_model("hourglass_8stack_256x256")
def hourglass_8stack_256x256(num_keypoints: int = 16) -> StackedHourglass:
    """Eight-stack hourglass, MPII 256x256 (official 8HG checkpoint: 0.902 PCKh on the validation split)."""
    return StackedHourglass(num_keypoints, (256, 256), num_stacks=8)


@register_model("hourglass_2stack_256x256")
def hourglass_2stack_256x256(num_keypoints: int = 16) -> StackedHourglass:
    """Two-stack hourglass, MPII 256x256 (official 2HG checkpoint: 0.883 PCKh on the validation split)."""
    return StackedHourglass(num_keypoints, (256, 256), num_stacks=2)


@register_model("hourglass_2stack_128x128")
def hourglass_2stack_128x128(
    num_keypoints: int = 16, channels: int = 64, depth: int = 3, stem_channels: tuple[int, int] = (32, 64)
) -> StackedHourglass:
    """Tiny CPU variant: two stacks of 64 channels, depth 3, 128x128 input (32x32 heatmaps)."""
    return StackedHourglass(
        num_keypoints, (128, 128), num_stacks=2, channels=channels, depth=depth, stem_channels=stem_channels
    )
