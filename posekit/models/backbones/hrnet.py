"""HRNet: parallel multi-resolution branches with repeated fusion.

Sun, Xiao, Liu, Wang, "Deep High-Resolution Representation Learning for Human Pose Estimation",
CVPR 2019 (Sec. 3, Fig. 2-3).

Legend: ``B`` batch, ``C_b`` channels of branch ``b`` (``C_b = width * 2**b``), branch ``b`` at
stride ``4 * 2**b`` of the input.

Architecture (Sec. 3 "Network instantiation"):

* stem: two 3x3 stride-2 convolutions (``conv1/bn1``, ``conv2/bn2``, 64 channels) -> stride 4;
* ``layer1``: four bottlenecks of width 64 (256 output channels), the first stage;
* ``transition1 .. 3``: start a new, half-resolution branch (3x3 stride-2 conv from the lowest
  resolution branch) and adapt the channels of existing ones;
* ``stage2 .. 4``: 1, 4 and 3 ``HighResolutionModule`` s with 2, 3 and 4 branches; each runs
  four basic blocks per branch, then *fuses*: every output branch sums all input branches, the
  lower-resolution ones through 1x1 conv + BN + nearest upsampling, the higher-resolution ones
  through strided 3x3 conv + BN (ReLU between) -- "repeated multi-scale fusion" (Sec. 3, Eq. 1).
  The last module of ``stage4`` outputs only the highest-resolution branch.

Module names, their order and the BatchNorm settings are those of the official
``lib/models/pose_hrnet.py`` (leoxiaobin/deep-high-resolution-net.pytorch), so official weights
load into :class:`posekit.models.pose2d.hrnet.HRNetPose` with only the ``backbone.`` prefix added.
Places where the official code holds ``None`` (no transition, a module fusing a branch with
itself) hold :class:`torch.nn.Identity` here, which has no parameters, so indices still match.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from posekit.models.backbones.resnet import BasicBlock, Bottleneck, make_layer

__all__ = ["OFFICIAL_TRUNK_PREFIXES", "HRNet", "HighResolutionModule"]

# Top-level names of the trunk in the official HRNet / HigherHRNet files (the pose models keep
# the trunk under ``backbone.`` and add the prefix to these when loading official weights).
OFFICIAL_TRUNK_PREFIXES = (
    "conv1.",
    "bn1.",
    "conv2.",
    "bn2.",
    "layer1.",
    "transition1.",
    "stage2.",
    "transition2.",
    "stage3.",
    "transition3.",
    "stage4.",
)


class HighResolutionModule(nn.Module):
    """Parallel branches of basic blocks followed by the exchange unit (Sec. 3, "Exchange units").

    Args:
        in_channels: channels of each input branch.
        channels: channels of each branch (basic blocks: output = ``channels``).
        num_blocks: basic blocks per branch.
        multi_scale_output: output every branch (``True``) or only the highest-resolution one.
    """

    def __init__(
        self, in_channels: list[int], channels: list[int], num_blocks: int, multi_scale_output: bool = True
    ) -> None:
        super().__init__()
        if len(in_channels) != len(channels):
            raise ValueError(f"in_channels and channels must have one entry per branch, got {in_channels}, {channels}")
        self.num_branches = len(channels)
        self.branches = nn.ModuleList(
            make_layer(BasicBlock, in_channels[index], channels[index], num_blocks)
            for index in range(self.num_branches)
        )
        self.fuse_layers = self._make_fuse_layers(channels, multi_scale_output) if self.num_branches > 1 else None
        self.relu = nn.ReLU(inplace=False)

    @staticmethod
    def _make_fuse_layers(channels: list[int], multi_scale_output: bool) -> nn.ModuleList:
        num_outputs = len(channels) if multi_scale_output else 1
        fuse_layers = nn.ModuleList()
        for target in range(num_outputs):
            row = nn.ModuleList()
            for source in range(len(channels)):
                if source > target:  # lower resolution: 1x1 conv, BN, nearest upsampling
                    row.append(
                        nn.Sequential(
                            nn.Conv2d(channels[source], channels[target], 1, bias=False),
                            nn.BatchNorm2d(channels[target]),
                            nn.Upsample(scale_factor=2 ** (source - target), mode="nearest"),
                        )
                    )
                elif source == target:
                    row.append(nn.Identity())
                else:  # higher resolution: (target - source) strided 3x3 convs
                    steps: list[nn.Module] = []
                    for step in range(target - source):
                        last = step == target - source - 1
                        out_channels = channels[target] if last else channels[source]
                        layers: list[nn.Module] = [
                            nn.Conv2d(channels[source], out_channels, 3, stride=2, padding=1, bias=False),
                            nn.BatchNorm2d(out_channels),
                        ]
                        if not last:
                            layers.append(nn.ReLU(inplace=False))
                        steps.append(nn.Sequential(*layers))
                    row.append(nn.Sequential(*steps))
            fuse_layers.append(row)
        return fuse_layers

    def forward(self, branches: list[torch.Tensor]) -> list[torch.Tensor]:
        """Branch ``b`` ``(B, C_b, H / 2**b, W / 2**b)`` in, same shapes out (one when single-scale)."""
        if len(branches) != self.num_branches:
            raise ValueError(f"expected {self.num_branches} branch inputs, got {len(branches)}")
        features = [branch(inputs) for branch, inputs in zip(self.branches, branches, strict=True)]
        if self.fuse_layers is None:
            return features
        fused = []
        for row in cast(list[nn.ModuleList], self.fuse_layers):
            total = row[0](features[0])
            for source in range(1, self.num_branches):
                total = total + row[source](features[source])
            fused.append(self.relu(total))
        return fused


class HRNet(nn.Module):
    """The HRNet trunk; returns the highest-resolution branch (stride 4).

    Args:
        width: channels of the highest-resolution branch (32 for HRNet-W32, 48 for W48); branch
            ``b`` has ``width * 2**b``.
        num_modules: high-resolution modules in stages 2, 3, 4 (official ``(1, 4, 3)``).
        num_blocks: basic blocks per branch in every module (official 4); also the number of
            bottlenecks of ``layer1``.
        stem_channels: channels of the stem convolutions (official 64); ``layer1`` outputs
            ``4 * stem_channels``.

    Attributes:
        out_channels: ``width``, the channels of the returned features.
    """

    def __init__(
        self,
        width: int = 32,
        num_modules: tuple[int, int, int] = (1, 4, 3),
        num_blocks: int = 4,
        stem_channels: int = 64,
    ) -> None:
        super().__init__()
        if width < 1 or num_blocks < 1 or stem_channels < 1 or len(num_modules) != 3 or min(num_modules) < 1:
            raise ValueError(
                f"bad HRNet configuration: width={width}, num_modules={num_modules}, "
                f"num_blocks={num_blocks}, stem_channels={stem_channels}"
            )
        self.conv1 = nn.Conv2d(3, stem_channels, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_channels)
        self.conv2 = nn.Conv2d(stem_channels, stem_channels, 3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(stem_channels)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = make_layer(Bottleneck, stem_channels, stem_channels, num_blocks)

        stage_channels = [[width * 2**branch for branch in range(branches)] for branches in (2, 3, 4)]
        layer1_channels = stem_channels * Bottleneck.expansion
        self.transition1 = self._make_transition([layer1_channels], stage_channels[0])
        self.stage2 = self._make_stage(stage_channels[0], num_modules[0], num_blocks, multi_scale_output=True)
        self.transition2 = self._make_transition(stage_channels[0], stage_channels[1])
        self.stage3 = self._make_stage(stage_channels[1], num_modules[1], num_blocks, multi_scale_output=True)
        self.transition3 = self._make_transition(stage_channels[1], stage_channels[2])
        # the very last module of stage 4 outputs the highest-resolution branch only
        self.stage4 = self._make_stage(stage_channels[2], num_modules[2], num_blocks, multi_scale_output=False)
        self.out_channels = width

    @staticmethod
    def _make_stage(channels: list[int], num_modules: int, num_blocks: int, multi_scale_output: bool) -> nn.Sequential:
        return nn.Sequential(
            *(
                HighResolutionModule(
                    channels,
                    channels,
                    num_blocks,
                    multi_scale_output=multi_scale_output or module_index < num_modules - 1,
                )
                for module_index in range(num_modules)
            )
        )

    @staticmethod
    def _make_transition(previous: list[int], current: list[int]) -> nn.ModuleList:
        layers = nn.ModuleList()
        for branch, out_channels in enumerate(current):
            if branch < len(previous):
                if previous[branch] == out_channels:
                    layers.append(nn.Identity())
                else:
                    layers.append(
                        nn.Sequential(
                            nn.Conv2d(previous[branch], out_channels, 3, padding=1, bias=False),
                            nn.BatchNorm2d(out_channels),
                            nn.ReLU(inplace=True),
                        )
                    )
            else:  # a new branch, from the lowest-resolution one by strided convolutions
                steps: list[nn.Module] = []
                for step in range(branch + 1 - len(previous)):
                    in_channels = previous[-1]
                    step_channels = out_channels if step == branch - len(previous) else in_channels
                    steps.append(
                        nn.Sequential(
                            nn.Conv2d(in_channels, step_channels, 3, stride=2, padding=1, bias=False),
                            nn.BatchNorm2d(step_channels),
                            nn.ReLU(inplace=True),
                        )
                    )
                layers.append(nn.Sequential(*steps))
        return layers

    @staticmethod
    def _transit(transition: nn.ModuleList, branches: list[torch.Tensor]) -> list[torch.Tensor]:
        outputs = []
        for index, layer in enumerate(transition):
            outputs.append(layer(branches[index] if index < len(branches) else branches[-1]))
        return outputs

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` -> highest-resolution features ``(B, width, H / 4, W / 4)``."""
        features = self.relu(self.bn1(self.conv1(images)))
        features = self.relu(self.bn2(self.conv2(features)))
        branches = [self.layer1(features)]
        branches = self.stage2(self._transit(self.transition1, branches))
        branches = self.stage3(self._transit(self.transition2, branches))
        branches = self.stage4(self._transit(self.transition3, branches))
        return branches[0]
