"""Integral (soft-argmax) regression (Sun, Xiao, Wei, Liang, Wei, "Integral Human Pose Regression", ECCV 2018).

Legend: ``B`` batch, ``K`` keypoints, input ``(w, h)``, heatmaps ``(W, H) = (w / 4, h / 4)``.

Sec. 3.1: a heatmap network outputs raw maps ``H_k``; they are normalised to a probability
distribution over pixels, ``p_k = softmax(beta * H_k)`` (Eq. 2-3), and the joint is the
*integral* (expectation) ``J_k = sum_p p * p_k(p)``, which, unlike argmax, is differentiable, so
the network is trained end to end with an L1 loss on coordinates (Sec. 3.2, Eq. 4 and Sec. 4,
"I1" loss) and reaches sub-pixel precision at low heatmap resolution.
The paper's network (Sec. 4) is the SimpleBaseline-like head on ResNet-50: three 4x4
deconvolutions of 256 channels, a 1x1 convolution to ``K`` maps at stride 4 of a 256x256 input.

Contract: ``output_kind = "heatmap+coordinates"``. ``forward`` returns the raw maps
``(B, K, H, W)``; :meth:`IntegralPoseNet.forward_outputs` gives both the maps and the soft-argmax
coordinates ``(B, K, 2)`` normalised as ``(x_hm / W, y_hm / H)``, which equals ``(x / w, y / h)`` of
input pixels under the stride convention of :class:`posekit.codecs.IntegralRegression`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from posekit.models.backbones.resnet import ResNet, resnet
from posekit.models.pose2d.base import Pose2DModel, Pose2DOutput, check_images
from posekit.models.pose2d.heads import deconv_heatmap_size, make_deconv_layers, make_final_layer
from posekit.models.registry import register_model

__all__ = ["IntegralPoseNet", "integral_res18_128x96", "integral_res50_256x256", "soft_argmax_2d"]


def soft_argmax_2d(heatmaps: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
    """Differentiable expected location of each map under ``softmax(beta * heatmaps)`` (Sec. 3.1, Eq. 2-3).

    Args:
        heatmaps: ``(B, K, H, W)`` raw maps (logits).
        beta: inverse temperature (> 0).

    Returns:
        ``(B, K, 2)`` locations ``(x, y)`` in heatmap pixels (pixel centres at integers).
    """
    if heatmaps.dim() != 4:
        raise ValueError(f"heatmaps must have shape (B, K, H, W), got {tuple(heatmaps.shape)}")
    if not beta > 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    batch, num_keypoints, height, width = heatmaps.shape
    flat = heatmaps.reshape(batch, num_keypoints, height * width)  # (B, K, H, W) -> (B, K, H*W)
    probabilities = F.softmax(beta * flat, dim=-1).reshape(batch, num_keypoints, height, width)
    xs = torch.arange(width, dtype=heatmaps.dtype, device=heatmaps.device)
    ys = torch.arange(height, dtype=heatmaps.dtype, device=heatmaps.device)
    expected_x = (probabilities.sum(dim=2) * xs).sum(dim=-1)  # marginal over y: (B, K, W) -> (B, K)
    expected_y = (probabilities.sum(dim=3) * ys).sum(dim=-1)  # marginal over x: (B, K, H) -> (B, K)
    return torch.stack([expected_x, expected_y], dim=-1)


class IntegralPoseNet(Pose2DModel):
    """ResNet + deconvolution head + soft-argmax: heatmaps and coordinates, trained on coordinates.

    Args:
        backbone: a :class:`~posekit.models.backbones.resnet.ResNet` without classifier.
        num_keypoints: ``K``.
        input_size: ``(w, h)``; heatmaps are ``(w / 4, h / 4)``.
        deconv_channels: channels of the three deconvolution layers (256 in the paper).
        beta: softmax inverse temperature of the soft-argmax.
    """

    def __init__(
        self,
        backbone: ResNet,
        num_keypoints: int,
        input_size: tuple[int, int],
        deconv_channels: tuple[int, ...] = (256, 256, 256),
        beta: float = 1.0,
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
        self.final_layer = make_final_layer(deconv_channels[-1], num_keypoints)
        self.beta = float(beta)

    def forward_outputs(self, images: torch.Tensor) -> Pose2DOutput:
        """``(B, 3, h, w)`` -> heatmaps ``(B, K, H, W)`` and normalised coordinates ``(B, K, 2)``."""
        check_images(images)
        heatmaps = self.final_layer(self.deconv_layers(self.backbone.forward_features(images)))
        height, width = heatmaps.shape[-2:]
        size = torch.tensor([width, height], dtype=heatmaps.dtype, device=heatmaps.device)
        coordinates = soft_argmax_2d(heatmaps, self.beta) / size  # heatmap pixels -> (x / W, y / H)
        return Pose2DOutput(stage_heatmaps=[heatmaps], stage_coordinates=[coordinates])


@register_model("integral_res50_256x256")
def integral_res50_256x256(num_keypoints: int = 17, beta: float = 1.0) -> IntegralPoseNet:
    """Integral regression on ResNet-50, 256x256 input, 64x64 maps (the paper's Sec. 4 setting)."""
    return IntegralPoseNet(resnet(50), num_keypoints, (256, 256), beta=beta)


@register_model("integral_res18_128x96")
def integral_res18_128x96(num_keypoints: int = 17, beta: float = 1.0) -> IntegralPoseNet:
    """Tiny CPU variant: ResNet-18, 128x96 input, 128-channel deconvolutions, 32x24 maps."""
    return IntegralPoseNet(resnet(18), num_keypoints, (96, 128), deconv_channels=(128, 128, 128), beta=beta)
