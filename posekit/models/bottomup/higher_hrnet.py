"""HigherHRNet: bottom-up multi-person heatmaps and associative-embedding tags at 1/4 and 1/2 resolution.

Cheng, Xiao, Wang, Shi, Huang, Zhang, "HigherHRNet: Scale-Aware Representation Learning for Bottom-Up
Human Pose Estimation", CVPR 2020 (Sec. 3.1, Fig. 2); tags: Newell, Huang, Deng, "Associative
Embedding", NeurIPS 2017.

Legend: ``B`` batch, ``K`` joints, ``T`` tag channels (``K`` with one tag map per joint, the official
``TAG_PER_JOINT``, else 1), ``C`` trunk width, input ``(B, 3, H, W)``.

Architecture (the official ``lib/models/pose_higher_hrnet.py``, HRNet/HigherHRNet-Human-Pose-Estimation):

* the HRNet trunk (:class:`~posekit.models.backbones.hrnet.HRNet`, official stem, ``layer1`` and stages):
  features ``(B, C, H/4, W/4)``;
* ``final_layers.0``: a ``FINAL_CONV_KERNEL`` (1) convolution -> ``(B, K + T, H/4, W/4)`` (``K`` heatmaps,
  then ``T`` tag maps; ``K`` channels only when ``LOSS.WITH_AE_LOSS[0]`` is false);
* ``deconv_layers.i`` (``DECONV.NUM_DECONVS`` of them, official 1): on the features concatenated with
  the previous output (``DECONV.CAT_OUTPUT[i]``: ``C + K + T`` channels), a stride-2 transposed
  convolution (``DECONV.KERNEL_SIZE[i]`` 4: padding 1; 3: padding 1, output padding 1; 2: none) to
  ``DECONV.NUM_CHANNELS[i]`` channels + BN + ReLU at ``deconv_layers.i.0``, then
  ``DECONV.NUM_BASIC_BLOCKS`` (4) basic blocks at ``deconv_layers.i.{1..}.0``;
* ``final_layers.i+1``: the same kind of convolution at the new resolution -> ``(B, K(+T), H/2, W/2)``
  (official: heatmaps only, ``WITH_AE_LOSS = [True, False]``).

``forward`` returns the official ``final_outputs`` list unchanged (raw outputs: no sigmoid, tags
unnormalised). The trunk lives under ``backbone.``; :meth:`HigherHRNet.remap_state_dict` adds that
prefix to official names, strips the ``1.`` of the official FP16 wrapper (``network_to_half``), and
turns a checkpoint of another architecture, joint count or trunk width into one sentence.

Official config keys -> constructor / builder arguments: ``MODEL.NUM_JOINTS`` ``num_joints``,
``MODEL.TAG_PER_JOINT`` ``tag_per_joint``, ``LOSS.WITH_AE_LOSS`` ``with_tags``,
``MODEL.EXTRA.FINAL_CONV_KERNEL`` ``final_conv_kernel``, ``DECONV.NUM_DECONVS`` ``num_deconvs``,
``DECONV.NUM_CHANNELS`` ``deconv_channels``, ``DECONV.KERNEL_SIZE`` ``deconv_kernel_sizes``,
``DECONV.NUM_BASIC_BLOCKS`` ``num_basic_blocks``, ``DECONV.CAT_OUTPUT`` ``cat_output``,
``STAGE{2,3,4}.NUM_MODULES`` ``num_modules``, ``STAGE*.NUM_BLOCKS`` ``num_blocks`` (one count for every
branch and ``layer1``), ``STAGE2.NUM_CHANNELS[0]`` ``width``, ``DATASET.INPUT_SIZE`` ``input_size``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from posekit.models.backbones.hrnet import OFFICIAL_TRUNK_PREFIXES, HRNet
from posekit.models.backbones.resnet import BasicBlock
from posekit.models.pose2d.base import add_backbone_prefix, check_images
from posekit.models.pose2d.heads import init_normal_
from posekit.models.registry import register_model
from posekit.skeletons import get_skeleton

__all__ = [
    "VARIANTS",
    "BottomUpVariant",
    "HigherHRNet",
    "build_higher_hrnet",
    "higherhrnet_w16_256",
    "higherhrnet_w32_512",
    "higherhrnet_w32_512_crowdpose",
    "higherhrnet_w32_640",
    "higherhrnet_w32_640_crowdpose",
    "higherhrnet_w48_640",
    "higherhrnet_w48_640_crowdpose",
]

# Transposed-convolution kernel -> (padding, output padding): the official ``_get_deconv_cfg``.
_DECONV_PADDINGS = {4: (1, 0), 3: (1, 1), 2: (0, 0)}
# The prefix official FP16 training adds (``network_to_half``: ``Sequential(tofp16(), model)``).
_FP16_PREFIX = "1."


class HigherHRNet(nn.Module):
    """HRNet trunk + 1/4-resolution output + deconvolution module(s) + higher-resolution output(s).

    Args:
        backbone: the HRNet trunk (stride-4 features of ``backbone.out_channels`` channels).
        num_joints: ``K``.
        tag_per_joint: one tag map per joint (``T = K``) or one shared map (``T = 1``).
        with_tags: per output resolution (``len(deconv_channels) + 1`` entries), whether that output
            carries the ``T`` tag channels after its ``K`` heatmaps.
        deconv_channels: output channels of each deconvolution module (official: the trunk width).
        deconv_kernel_sizes: transposed-convolution kernel of each module: 4, 3 or 2.
        num_basic_blocks: basic blocks after each transposed convolution.
        cat_output: per module, whether its input is the features concatenated with the previous output.
        final_conv_kernel: kernel of every final layer: 1 (official) or 3.
        input_size: the variant's training / test input size (square side, pixels); documentary
            (the network is fully convolutional), but a multiple of 32 as the trunk needs.
        skeleton: keypoint format of the joints (``"coco"``, ``"crowdpose"``).
        variant: the registered name, used in error messages.

    Attributes:
        num_joints, tag_per_joint, with_tags, input_size, skeleton, variant: as given.
        num_tag_channels: ``T``.
        output_channels: channels of each output (``K + T`` or ``K``).
        output_strides: input pixels per output pixel of each output (4, 2, ...).
    """

    def __init__(
        self,
        backbone: HRNet,
        num_joints: int,
        *,
        tag_per_joint: bool = True,
        with_tags: Sequence[bool] = (True, False),
        deconv_channels: Sequence[int] = (32,),
        deconv_kernel_sizes: Sequence[int] = (4,),
        num_basic_blocks: int = 4,
        cat_output: Sequence[bool] = (True,),
        final_conv_kernel: int = 1,
        input_size: int = 512,
        skeleton: str = "coco",
        variant: str = "HigherHRNet",
    ) -> None:
        super().__init__()
        num_deconvs = len(deconv_channels)
        if num_joints < 1:
            raise ValueError(f"num_joints must be positive, got {num_joints}")
        if (
            len(with_tags) != num_deconvs + 1
            or len(deconv_kernel_sizes) != num_deconvs
            or len(cat_output) != num_deconvs
        ):
            raise ValueError(
                f"with_tags needs num_deconvs + 1 = {num_deconvs + 1} entries and deconv_kernel_sizes and cat_output "
                f"{num_deconvs}, got with_tags={tuple(with_tags)}, deconv_kernel_sizes={tuple(deconv_kernel_sizes)}, "
                f"cat_output={tuple(cat_output)}"
            )
        if any(kernel not in _DECONV_PADDINGS for kernel in deconv_kernel_sizes):
            raise ValueError(f"deconvolution kernel sizes must be 2, 3 or 4, got {tuple(deconv_kernel_sizes)}")
        if final_conv_kernel not in (1, 3):
            raise ValueError(f"final_conv_kernel must be 1 or 3, got {final_conv_kernel}")
        if num_basic_blocks < 0 or min(deconv_channels, default=1) < 1:
            raise ValueError(
                f"bad deconvolution module: deconv_channels={tuple(deconv_channels)}, "
                f"num_basic_blocks={num_basic_blocks}"
            )
        if input_size < 32 or input_size % 32:
            raise ValueError(f"input_size must be a positive multiple of 32 (the trunk's stride), got {input_size}")
        self.num_joints = num_joints
        self.tag_per_joint = tag_per_joint
        self.with_tags = tuple(bool(flag) for flag in with_tags)
        self.cat_output = tuple(bool(flag) for flag in cat_output)
        self.input_size = input_size
        self.skeleton = skeleton
        self.variant = variant
        self.num_tag_channels = num_joints if tag_per_joint else 1
        self.output_channels = tuple(num_joints + (self.num_tag_channels if tags else 0) for tags in self.with_tags)
        self.output_strides = tuple(4.0 / 2**index for index in range(num_deconvs + 1))

        self.backbone = backbone
        padding = 1 if final_conv_kernel == 3 else 0
        feature_channels = [backbone.out_channels, *deconv_channels]
        self.final_layers = nn.ModuleList(
            nn.Conv2d(channels, out_channels, final_conv_kernel, padding=padding)
            for channels, out_channels in zip(feature_channels, self.output_channels, strict=True)
        )
        self.deconv_layers = nn.ModuleList()
        in_channels = backbone.out_channels
        for index, (out_channels, kernel) in enumerate(zip(deconv_channels, deconv_kernel_sizes, strict=True)):
            if self.cat_output[index]:
                in_channels += self.output_channels[index]
            deconv_padding, output_padding = _DECONV_PADDINGS[kernel]
            layers: list[nn.Module] = [
                nn.Sequential(
                    nn.ConvTranspose2d(
                        in_channels,
                        out_channels,
                        kernel,
                        stride=2,
                        padding=deconv_padding,
                        output_padding=output_padding,
                        bias=False,
                    ),
                    nn.BatchNorm2d(out_channels),
                    nn.ReLU(inplace=True),
                )
            ]
            # each block sits alone in a Sequential, as official (names deconv_layers.i.j.0.conv1 ...)
            layers += [nn.Sequential(BasicBlock(out_channels, out_channels)) for _ in range(num_basic_blocks)]
            self.deconv_layers.append(nn.Sequential(*layers))
            in_channels = out_channels
        # official initialisation (init_weights): every convolution normal(0, 0.001), biases 0, BN at (1, 0)
        init_normal_(self.modules())

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """The official ``final_outputs``.

        Args:
            images: ``(B, 3, H, W)`` ImageNet-normalised RGB
                (:func:`posekit.models.pose2d.base.normalize_images`), ``H`` and ``W`` multiples of 32.

        Returns:
            ``[(B, output_channels[0], H/4, W/4), (B, output_channels[1], H/2, W/2), ...]``: per output,
            ``K`` heatmaps, then ``T`` tag maps where ``with_tags`` says so.
        """
        check_images(images)
        if images.shape[2] % 32 or images.shape[3] % 32:
            raise ValueError(
                f"{self.variant} needs images whose height and width are multiples of 32, got {tuple(images.shape)}"
            )
        features = self.backbone(images)  # (B, C, H/4, W/4)
        outputs = [self.final_layers[0](features)]
        for index, deconv in enumerate(self.deconv_layers):
            if self.cat_output[index]:
                features = torch.cat((features, outputs[-1]), dim=1)  # (B, C + K(+T), h, w)
            features = deconv(features)  # (B, deconv_channels[index], 2h, 2w)
            outputs.append(self.final_layers[index + 1](features))
        return outputs

    def remap_state_dict(self, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Official names -> posekit names, after checking the checkpoint is this architecture.

        Strips the official FP16 wrapper's ``1.`` prefix, adds ``backbone.`` to the trunk, and
        leaves posekit's own names as they are (idempotent).

        Raises:
            ValueError: one sentence when the weights are not a HigherHRNet (a top-down HRNet file,
                say), have another joint count or another trunk width than this variant.
        """
        if state_dict and all(name.startswith(_FP16_PREFIX) for name in state_dict):
            state_dict = {name[len(_FP16_PREFIX) :]: tensor for name, tensor in state_dict.items()}
        state_dict = add_backbone_prefix(state_dict, OFFICIAL_TRUNK_PREFIXES)
        problem = self._incompatibility(state_dict)
        if problem:
            raise ValueError(problem)
        return state_dict

    def _incompatibility(self, state_dict: dict[str, torch.Tensor]) -> str | None:
        """The sentence saying why ``state_dict`` (posekit names) cannot be this model, or ``None``."""
        if not any(name.startswith("final_layers.") for name in state_dict):
            if "final_layer.weight" in state_dict:
                kind = "a single-resolution 'final_layer' and no 'final_layers' (a top-down HRNet checkpoint?)"
            else:
                kind = "no 'final_layers' weights"
            return (
                f"not a HigherHRNet checkpoint: it has {kind}; {self.variant} expects a HigherHRNet with "
                f"{self.num_joints} joints (final_layers.*, deconv_layers.* and the HRNet trunk)"
            )
        joints, width = self.num_joints, self.backbone.out_channels
        last = len(self.output_channels) - 1
        final = state_dict.get(f"final_layers.{last}.weight")
        if final is not None and final.dim() == 4 and int(final.shape[0]) != self.output_channels[last]:
            channels = int(final.shape[0])
            if self.with_tags[last]:  # K heatmaps + T tags
                channels = channels // 2 if self.tag_per_joint else channels - 1
            joints = channels
        transition = state_dict.get("backbone.transition1.0.0.weight")
        if transition is not None and transition.dim() == 4:
            width = int(transition.shape[0])
        found, expected = [], []
        if joints != self.num_joints:
            found.append(f"{joints} joints")
            expected.append(f"{self.num_joints}")
        if width != self.backbone.out_channels:
            found.append(f"an HRNet-W{width} trunk")
            expected.append(f"W{self.backbone.out_channels}")
        if not found:
            return None
        return (
            f"has {' and '.join(found)}; {self.variant} expects {' and '.join(expected)} — "
            f"{_suggest(self, joints=joints, width=width)}"
        )


@dataclass(frozen=True)
class BottomUpVariant:
    """A registered HigherHRNet variant (the official experiment it reproduces).

    Attributes:
        width: trunk width ``C``.
        input_size: training / test input side in pixels.
        skeleton: keypoint format (its joint count is ``K``).
        official_config: the official experiment yaml (``experiments/...``), ``None`` for posekit's own.
    """

    width: int
    input_size: int
    skeleton: str
    official_config: str | None


VARIANTS: dict[str, BottomUpVariant] = {
    "higherhrnet_w32_512": BottomUpVariant(32, 512, "coco", "coco/higher_hrnet/w32_512_adam_lr1e-3.yaml"),
    "higherhrnet_w32_640": BottomUpVariant(32, 640, "coco", "coco/higher_hrnet/w32_640_adam_lr1e-3.yaml"),
    "higherhrnet_w48_640": BottomUpVariant(48, 640, "coco", "coco/higher_hrnet/w48_640_adam_lr1e-3.yaml"),
    "higherhrnet_w32_512_crowdpose": BottomUpVariant(
        32, 512, "crowdpose", "crowd_pose/higher_hrnet/w32_512_adam_lr1e-3.yaml"
    ),
    "higherhrnet_w32_640_crowdpose": BottomUpVariant(
        32, 640, "crowdpose", "crowd_pose/higher_hrnet/w32_640_adam_lr1e-3.yaml"
    ),
    "higherhrnet_w48_640_crowdpose": BottomUpVariant(
        48, 640, "crowdpose", "crowd_pose/higher_hrnet/w48_640_adam_lr1e-3.yaml"
    ),
    "higherhrnet_w16_256": BottomUpVariant(16, 256, "coco", None),
}


def _suggest(model: HigherHRNet, *, joints: int, width: int) -> str:
    """``use <variant>``: the registered variant with ``joints`` and ``width`` (same input size first), else kwargs."""
    own = VARIANTS.get(model.variant)
    if own is not None and width == model.backbone.out_channels:  # same trunk (maybe overridden): the variant's width
        width = own.width
    candidates = sorted(
        (
            name
            for name, variant in VARIANTS.items()
            if variant.width == width and get_skeleton(variant.skeleton).num_keypoints == joints
        ),
        key=lambda name: (own is None or VARIANTS[name].input_size != own.input_size, name),
    )
    if candidates:
        return f"use {candidates[0]}"
    return f"build it with num_joints={joints}, width={width}"


def _resolve_skeleton(default: str, num_joints: int | None, skeleton: str | None) -> tuple[int, str]:
    """``(K, skeleton name)`` from the builder's ``num_joints`` / ``skeleton`` (either may be left out)."""
    if skeleton is not None:
        count = get_skeleton(skeleton).num_keypoints
        if num_joints is not None and num_joints != count:
            raise ValueError(f"num_joints={num_joints} contradicts skeleton {skeleton!r} ({count} joints)")
        return count, get_skeleton(skeleton).name
    if num_joints is None or num_joints == get_skeleton(default).num_keypoints:
        return get_skeleton(default).num_keypoints, default
    by_count = {17: "coco", 14: "crowdpose", 16: "mpii"}
    if num_joints not in by_count:
        raise ValueError(f"no skeleton with {num_joints} joints is known (17, 14, 16); pass skeleton=NAME")
    return num_joints, by_count[num_joints]


def build_higher_hrnet(
    variant: str,
    *,
    num_joints: int | None = None,
    skeleton: str | None = None,
    input_size: int | None = None,
    width: int | None = None,
    num_modules: tuple[int, int, int] = (1, 4, 3),
    num_blocks: int = 4,
    stem_channels: int = 64,
    tag_per_joint: bool = True,
    with_tags: Sequence[bool] = (True, False),
    num_deconvs: int = 1,
    deconv_channels: Sequence[int] | None = None,
    deconv_kernel_sizes: Sequence[int] | None = None,
    num_basic_blocks: int = 4,
    cat_output: Sequence[bool] | None = None,
    final_conv_kernel: int = 1,
) -> HigherHRNet:
    """Build the registered ``variant``, with any official config key overridden (see the module docstring).

    Defaults are the variant's official experiment: ``num_joints`` from ``skeleton`` (its
    ``VARIANTS`` entry), one deconvolution module of ``width`` channels with a 4x4 kernel and the
    output concatenated, 4 basic blocks, tags at 1/4 resolution only.

    Raises:
        ValueError: an unknown variant or an inconsistent configuration.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown HigherHRNet variant {variant!r}; expected one of {sorted(VARIANTS)}")
    entry = VARIANTS[variant]
    joints, skeleton_name = _resolve_skeleton(entry.skeleton, num_joints, skeleton)
    trunk_width = entry.width if width is None else width
    channels = tuple(deconv_channels) if deconv_channels is not None else (trunk_width,) * num_deconvs
    kernels = tuple(deconv_kernel_sizes) if deconv_kernel_sizes is not None else (4,) * num_deconvs
    concatenate = tuple(cat_output) if cat_output is not None else (True,) * num_deconvs
    if len(channels) != num_deconvs:
        raise ValueError(f"deconv_channels needs num_deconvs = {num_deconvs} entries, got {channels}")
    backbone = HRNet(width=trunk_width, num_modules=num_modules, num_blocks=num_blocks, stem_channels=stem_channels)
    return HigherHRNet(
        backbone,
        joints,
        tag_per_joint=tag_per_joint,
        with_tags=with_tags,
        deconv_channels=channels,
        deconv_kernel_sizes=kernels,
        num_basic_blocks=num_basic_blocks,
        cat_output=concatenate,
        final_conv_kernel=final_conv_kernel,
        input_size=entry.input_size if input_size is None else input_size,
        skeleton=skeleton_name,
        variant=variant,
    )


# The registered variants. Paper Table 2 / official model zoo (COCO val2017, single scale, flip):
# W32 512 67.1 AP, W32 640 68.5, W48 640 69.9; CrowdPose test W48 640 65.9 (not measured by posekit).


@register_model("higherhrnet_w32_512")
def higherhrnet_w32_512(**overrides: Any) -> HigherHRNet:
    """HigherHRNet-W32, COCO-17, input 512 (official ``w32_512_adam_lr1e-3.yaml``); 28.6M parameters."""
    return build_higher_hrnet("higherhrnet_w32_512", **overrides)


@register_model("higherhrnet_w32_640")
def higherhrnet_w32_640(**overrides: Any) -> HigherHRNet:
    """HigherHRNet-W32, COCO-17, input 640 (official ``w32_640_adam_lr1e-3.yaml``)."""
    return build_higher_hrnet("higherhrnet_w32_640", **overrides)


@register_model("higherhrnet_w48_640")
def higherhrnet_w48_640(**overrides: Any) -> HigherHRNet:
    """HigherHRNet-W48, COCO-17, input 640 (official ``w48_640_adam_lr1e-3.yaml``)."""
    return build_higher_hrnet("higherhrnet_w48_640", **overrides)


@register_model("higherhrnet_w32_512_crowdpose")
def higherhrnet_w32_512_crowdpose(**overrides: Any) -> HigherHRNet:
    """HigherHRNet-W32, CrowdPose-14, input 512 (official ``crowd_pose/.../w32_512_adam_lr1e-3.yaml``)."""
    return build_higher_hrnet("higherhrnet_w32_512_crowdpose", **overrides)


@register_model("higherhrnet_w32_640_crowdpose")
def higherhrnet_w32_640_crowdpose(**overrides: Any) -> HigherHRNet:
    """HigherHRNet-W32, CrowdPose-14, input 640 (official ``crowd_pose/.../w32_640_adam_lr1e-3.yaml``)."""
    return build_higher_hrnet("higherhrnet_w32_640_crowdpose", **overrides)


@register_model("higherhrnet_w48_640_crowdpose")
def higherhrnet_w48_640_crowdpose(**overrides: Any) -> HigherHRNet:
    """HigherHRNet-W48, CrowdPose-14, input 640 (official ``crowd_pose/.../w48_640_adam_lr1e-3.yaml``)."""
    return build_higher_hrnet("higherhrnet_w48_640_crowdpose", **overrides)


@register_model("higherhrnet_w16_256")
def higherhrnet_w16_256(
    num_modules: tuple[int, int, int] = (1, 1, 1),
    num_blocks: int = 2,
    stem_channels: int = 32,
    num_basic_blocks: int = 1,
    **overrides: Any,
) -> HigherHRNet:
    """Small CPU variant (posekit's, no official counterpart): HRNet-W16 trunk with one module per stage,
    two blocks per branch, a 32-channel stem and one basic block after the deconvolution; COCO-17,
    input 256 (``input_size=320`` works as well: any multiple of 32)."""
    return build_higher_hrnet(
        "higherhrnet_w16_256",
        num_modules=num_modules,
        num_blocks=num_blocks,
        stem_channels=stem_channels,
        num_basic_blocks=num_basic_blocks,
        **overrides,
    )
