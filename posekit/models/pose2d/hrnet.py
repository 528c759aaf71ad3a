"""HRNet top-down pose estimator (Sun, Xiao, Liu, Wang, CVPR 2019, Sec. 3 "Heatmap estimation").

Legend: ``B`` batch, ``K`` keypoints, input ``(w, h)``, heatmaps ``(W, H) = (w / 4, h / 4)``.

The heatmaps are regressed from the highest-resolution branch of the HRNet trunk
(:class:`~posekit.models.backbones.hrnet.HRNet`) by one 1x1 convolution, ``final_layer``, and
trained with an MSE loss on Gaussian heatmaps (sigma 2, :class:`posekit.codecs.MSRAHeatmap`).

The official ``PoseHighResolutionNet`` (leoxiaobin/deep-high-resolution-net.pytorch,
``lib/models/pose_hrnet.py``) keeps the trunk at the top level; here it lives under ``backbone.``
and :meth:`HRNetPose.remap_state_dict` adds that prefix, so official ``pose_hrnet_w32_256x192.pth``
style files load with ``get_model("hrnet_w32_256x192", weights=PATH)``.
"""

from __future__ import annotations

import torch

from posekit.models.backbones.hrnet import OFFICIAL_TRUNK_PREFIXES, HRNet
from posekit.models.pose2d.base import Pose2DModel, Pose2DOutput, add_backbone_prefix, check_images
from posekit.models.pose2d.heads import init_normal_, make_final_layer
from posekit.models.registry import register_model

__all__ = [
    "HRNetPose",
    "hrnet_w16_128x96",
    "hrnet_w32_256x192",
    "hrnet_w32_256x256",
    "hrnet_w32_384x288",
    "hrnet_w48_256x192",
    "hrnet_w48_384x288",
]


class HRNetPose(Pose2DModel):
    """HRNet trunk + 1x1 ``final_layer``: ``K`` heatmaps at stride 4.

    Args:
        backbone: the HRNet trunk.
        num_keypoints: ``K``.
        input_size: ``(w, h)``.
        final_kernel_size: 1 (official) or 3.
    """

    def __init__(
        self, backbone: HRNet, num_keypoints: int, input_size: tuple[int, int], final_kernel_size: int = 1
    ) -> None:
        super().__init__(
            num_keypoints=num_keypoints,
            input_size=input_size,
            output_kind="heatmap",
            heatmap_size=(input_size[0] // 4, input_size[1] // 4),
            num_stages=1,
        )
        self.backbone = backbone
        self.final_layer = make_final_layer(backbone.out_channels, num_keypoints, final_kernel_size)
        # official initialisation: every convolution normal(0, 0.001), biases 0, BN at (1, 0)
        init_normal_(self.modules())

    def forward_outputs(self, images: torch.Tensor) -> Pose2DOutput:
        """``(B, 3, h, w)`` -> one stage of heatmaps ``(B, K, h / 4, w / 4)``."""
        check_images(images)
        return Pose2DOutput(stage_heatmaps=[self.final_layer(self.backbone(images))])

    def remap_state_dict(self, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Official ``PoseHighResolutionNet`` names -> posekit names (adds ``backbone.`` to the trunk)."""
        return add_backbone_prefix(state_dict, OFFICIAL_TRUNK_PREFIXES)


@register_model("hrnet_w32_256x192")
def hrnet_w32_256x192(num_keypoints: int = 17) -> HRNetPose:
    """HRNet-W32, COCO 256x192 (paper Table 1: 74.4 AP on val2017, 28.5M parameters)."""
    return HRNetPose(HRNet(width=32), num_keypoints, (192, 256))


@register_model("hrnet_w32_384x288")
def hrnet_w32_384x288(num_keypoints: int = 17) -> HRNetPose:
    """HRNet-W32, COCO 384x288 (paper Table 1: 75.8 AP)."""
    return HRNetPose(HRNet(width=32), num_keypoints, (288, 384))


@register_model("hrnet_w32_256x256")
def hrnet_w32_256x256(num_keypoints: int = 16) -> HRNetPose:
    """HRNet-W32, MPII 256x256 (paper Table 5: 90.3 PCKh@0.5 on the MPII validation set)."""
    return HRNetPose(HRNet(width=32), num_keypoints, (256, 256))


@register_model("hrnet_w48_256x192")
def hrnet_w48_256x192(num_keypoints: int = 17) -> HRNetPose:
    """HRNet-W48, COCO 256x192 (paper Table 1: 75.1 AP, 63.6M parameters)."""
    return HRNetPose(HRNet(width=48), num_keypoints, (192, 256))


@register_model("hrnet_w48_384x288")
def hrnet_w48_384x288(num_keypoints: int = 17) -> HRNetPose:
    """HRNet-W48, COCO 384x288 (paper Table 1: 76.3 AP)."""
    return HRNetPose(HRNet(width=48), num_keypoints, (288, 384))


@register_model("hrnet_w16_128x96")
def hrnet_w16_128x96(
    num_keypoints: int = 17,
    num_modules: tuple[int, int, int] = (1, 1, 1),
    num_blocks: int = 2,
    stem_channels: int = 32,
) -> HRNetPose:
    """Tiny CPU variant: width 16, one module per stage, two blocks per branch, 32-channel stem, 128x96."""
    backbone = HRNet(width=16, num_modules=num_modules, num_blocks=num_blocks, stem_channels=stem_channels)
    return HRNetPose(backbone, num_keypoints, (96, 128))
