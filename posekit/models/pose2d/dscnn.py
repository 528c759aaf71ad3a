"""Dual-source two-branch model: joint detection + joint localisation, fused (after DS-CNN).

Fan, Zheng, Lin, Wang, "Combining Local Appearance and Holistic View: Dual-Source Deep Neural
Networks for Human Pose Estimation", CVPR 2015.

Legend: ``B`` batch, ``K`` keypoints, ``C`` channels, input ``(w, h)``, maps ``(W, H) = (w / 4, h / 4)``.

What the paper does (Sec. 3): the input is a set of *part patches* (local appearance), each paired
with the body's bounding box (holistic view) -- the two sources. One network with two heads
reads both: the *joint detection* head classifies whether (and which) joint lies in the patch,
the *joint localisation* head regresses where the joint is. At test time (Sec. 3.3) the two are
fused: the final location of joint ``k`` is the average of the patches' localisations weighted by
their detection scores for ``k``.

Our reading, as one fully convolutional top-down network (the patches become the cells of a
dense feature map, each cell's receptive field being its "part patch"):

* shared trunk: ResNet + deconvolutions (as SimpleBaseline) give *local* features per cell
  ``(B, C, H, W)``; the globally pooled stride-32 features are the *holistic* source, broadcast to
  every cell and concatenated with the local features (dual source);
* joint-detection branch: a 1x1 convolution on the local features gives ``K`` detection logits
  per cell (``heatmaps``, trained as heatmaps: :class:`posekit.codecs.MSRAHeatmap` targets);
* joint-localisation branch: a 1x1 convolution on local + holistic features regresses, per cell
  and joint, the offset ``(dx, dy)`` in map pixels from the cell to the joint;
* fusion (Sec. 3.3): ``softmax`` of the detection logits over cells weights the cells'
  localisations ``cell + offset``; the weighted mean, divided by ``(W, H)``, is the coordinate
  output ``(x / w, y / h)`` (trained with an L1 loss, as the integral model).

``output_kind = "heatmap+coordinates"``: ``forward`` returns the detection heatmaps,
``forward_outputs`` both; ``forward_outputs(images).stage_coordinates`` holds the fused coordinates.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from posekit.models.backbones.resnet import ResNet, resnet
from posekit.models.pose2d.base import Pose2DModel, Pose2DOutput, check_images
from posekit.models.pose2d.heads import deconv_heatmap_size, make_deconv_layers
from posekit.models.registry import register_model

__all__ = ["DualSourcePoseNet", "dscnn_res18_128x96", "dscnn_res50_256x192", "fuse_detection_localisation"]


def fuse_detection_localisation(detection_logits: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Detection-weighted average of per-cell localisations (DS-CNN Sec. 3.3, dense form).

    Args:
        detection_logits: ``(B, K, H, W)`` joint-detection logits per cell.
        offsets: ``(B, K, 2, H, W)`` per-cell offsets ``(dx, dy)`` in map pixels to joint ``k``.

    Returns:
        ``(B, K, 2)`` fused locations ``(x, y)`` in map pixels.
    """
    if detection_logits.dim() != 4:
        raise ValueError(f"detection_logits must have shape (B, K, H, W), got {tuple(detection_logits.shape)}")
    batch, num_keypoints, height, width = detection_logits.shape
    if offsets.shape != (batch, num_keypoints, 2, height, width):
        raise ValueError(
            f"offsets must have shape (B, K, 2, H, W) = {(batch, num_keypoints, 2, height, width)}, "
            f"got {tuple(offsets.shape)}"
        )
    flat = detection_logits.reshape(batch, num_keypoints, height * width)  # (B, K, H, W) -> (B, K, H*W)
    weights = F.softmax(flat, dim=-1).reshape(batch, num_keypoints, 1, height, width)
    ys, xs = torch.meshgrid(
        torch.arange(height, dtype=offsets.dtype, device=offsets.device),
        torch.arange(width, dtype=offsets.dtype, device=offsets.device),
        indexing="ij",
    )
    cells = torch.stack([xs, ys])  # (2, H, W) as (x, y)
    votes = cells + offsets  # (B, K, 2, H, W): each cell's localisation of joint k
    return (weights * votes).sum(dim=(-2, -1))  # (B, K, 2)


class DualSourcePoseNet(Pose2DModel):
    """Two-branch (detection heatmaps + localisation offsets) network with dense dual-source fusion.

    Args:
        backbone: a :class:`~posekit.models.backbones.resnet.ResNet` without classifier.
        num_keypoints: ``K``.
        input_size: ``(w, h)``; maps are ``(w / 4, h / 4)``.
        deconv_channels: channels of the deconvolution layers producing the local features.
        holistic_channels: width the pooled holistic features are projected to.
    """

    def __init__(
        self,
        backbone: ResNet,
        num_keypoints: int,
        input_size: tuple[int, int],
        deconv_channels: tuple[int, ...] = (256, 256, 256),
        holistic_channels: int = 256,
    ) -> None:
        super().__init__(
            num_keypoints=num_keypoints,
            input_size=input_size,
            output_kind="heatmap+coordinates",
            heatmap_size=deconv_heatmap_size(input_size, len(deconv_channels)),
            num_stages=1,
        )
        self.backbone = backbone
        self.deconv_layers = make_deconv_layers(backbone.out_channels, deconv_channels)
        local_channels = deconv_channels[-1]
        self.holistic = nn.Sequential(nn.Linear(backbone.out_channels, holistic_channels), nn.ReLU(inplace=True))
        self.detection_head = nn.Conv2d(local_channels, num_keypoints, 1)
        self.localisation_head = nn.Conv2d(local_channels + holistic_channels, 2 * num_keypoints, 1)
        nn.init.zeros_(self.localisation_head.weight)  # start from "the joint is at the cell"
        if self.localisation_head.bias is not None:
            nn.init.zeros_(self.localisation_head.bias)

    def forward_outputs(self, images: torch.Tensor) -> Pose2DOutput:
        """``(B, 3, h, w)`` -> detection heatmaps ``(B, K, H, W)`` and fused coordinates ``(B, K, 2)``."""
        check_images(images)
        trunk = self.backbone.forward_features(images)  # (B, C5, h / 32, w / 32)
        local = self.deconv_layers(trunk)  # (B, C, H, W)
        batch, _, height, width = local.shape
        holistic = self.holistic(trunk.mean(dim=(-2, -1)))  # (B, C5) -> (B, C_h)
        holistic_map = holistic[:, :, None, None].expand(-1, -1, height, width)  # (B, C_h, H, W)
        detection = self.detection_head(local)  # (B, K, H, W)
        offsets = self.localisation_head(torch.cat([local, holistic_map], dim=1))  # (B, 2K, H, W)
        offsets = offsets.reshape(batch, self.num_keypoints, 2, height, width)  # (B, 2K, H, W) -> (B, K, 2, H, W)
        size = torch.tensor([width, height], dtype=local.dtype, device=local.device)
        coordinates = fuse_detection_localisation(detection, offsets) / size  # map pixels -> (x / W, y / H)
        return Pose2DOutput(stage_heatmaps=[detection], stage_coordinates=[coordinates])


@register_model("dscnn_res50_256x192")
def dscnn_res50_256x192(num_keypoints: int = 17) -> DualSourcePoseNet:
    """Dual-source two-branch model on ResNet-50, 256x192, 64x48 maps."""
    return DualSourcePoseNet(resnet(50), num_keypoints, (192, 256))


@register_model("dscnn_res18_128x96")
def dscnn_res18_128x96(num_keypoints: int = 17) -> DualSourcePoseNet:
    """Tiny CPU variant: ResNet-18, 128x96, 128-channel local and holistic features, 32x24 maps."""
    return DualSourcePoseNet(
        resnet(18), num_keypoints, (96, 128), deconv_channels=(128, 128, 128), holistic_channels=128
    )
