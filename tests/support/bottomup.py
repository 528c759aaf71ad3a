"""A tiny deterministic stand-in for a bottom-up network, shared by the pipeline fixture maker and its test.

:class:`ProbeNetwork` has the output layout of HigherHRNet (``[ (B, K + T, H/4, W/4), (B, K, H/2, W/2) ]``)
but computes each output as a fixed per-pixel linear mix of the average-pooled RGB input. Every
operation is elementwise (sums of strided slices, products and sums in a fixed order), so the
outputs are the same bit for bit on every CPU, whatever vector instructions the torch build uses;
the parity test then measures the pipeline around the network, not the network.
"""

from __future__ import annotations

import numpy as np
import torch


def _pool(images: torch.Tensor, stride: int) -> torch.Tensor:
    """Mean over ``stride x stride`` blocks: ``(B, C, H, W) -> (B, C, H/stride, W/stride)``, fixed order."""
    total = None
    for row in range(stride):
        for column in range(stride):
            part = images[:, :, row::stride, column::stride]
            total = part if total is None else total + part
    assert total is not None
    return total * (1.0 / (stride * stride))


def _mix(pooled: torch.Tensor, weights: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``out[c] = w[c, 0] x0 + w[c, 1] x1 + w[c, 2] x2 + b[c]``: ``(B, 3, h, w) -> (B, C, h, w)``."""
    out = weights[None, :, 0, None, None] * pooled[:, 0:1]
    out = out + weights[None, :, 1, None, None] * pooled[:, 1:2]
    out = out + weights[None, :, 2, None, None] * pooled[:, 2:3]
    return out + bias[None, :, None, None]


class ProbeNetwork(torch.nn.Module):
    """Per-pixel linear maps of the pooled image, in HigherHRNet's output layout.

    Args:
        low: ``(K + T, 4)`` float32: per output channel three RGB weights and a bias, at 1/4.
        high: ``(K, 4)`` float32, at 1/2.
        skeleton: ``"coco"`` or ``"crowdpose"``.
        input_size: the test input size.
        tag_per_joint: ``T = K`` when true, else ``T = 1``.
    """

    with_tags = (True, False)

    def __init__(
        self, low: np.ndarray, high: np.ndarray, *, skeleton: str, input_size: int, tag_per_joint: bool
    ) -> None:
        super().__init__()
        self.low = torch.as_tensor(np.asarray(low, np.float32))
        self.high = torch.as_tensor(np.asarray(high, np.float32))
        self.num_joints = int(self.high.shape[0])
        self.skeleton = skeleton
        self.input_size = int(input_size)
        self.tag_per_joint = bool(tag_per_joint)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        low = _mix(_pool(images, 4), self.low[:, :3], self.low[:, 3])
        high = _mix(_pool(images, 2), self.high[:, :3], self.high[:, 3])
        return [low, high]


def probe_weights(rng: np.random.Generator, num_joints: int, tag_per_joint: bool) -> tuple[np.ndarray, np.ndarray]:
    """Weights for :class:`ProbeNetwork`.

    Heatmaps rise with brightness and pass the 0.1 detection threshold only on the brighter blobs
    (a few peaks per joint); the tags of all joints share one colour response plus a small per-joint
    part, so joints on one blob get close tags (tag distances around the threshold 1 between blobs).
    """

    def heatmap_weights() -> np.ndarray:
        return np.concatenate([rng.uniform(0.05, 0.25, (num_joints, 3)), rng.uniform(-0.7, -0.4, (num_joints, 1))], 1)

    tags = num_joints if tag_per_joint else 1
    shared = np.concatenate([rng.uniform(-1.5, 1.5, (1, 3)), rng.uniform(-0.5, 0.5, (1, 1))], 1)
    tag = shared + rng.normal(0.0, 0.15, (tags, 4))
    return np.concatenate([heatmap_weights(), tag]).astype(np.float32), heatmap_weights().astype(np.float32)


def smooth_image(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """An ``(height, width, 3)`` uint8 RGB image of smooth random blobs plus a little pixel noise."""
    import cv2

    coarse = rng.uniform(0, 255, (max(2, height // 12), max(2, width // 12), 3)).astype(np.float32)
    smooth = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    noisy = smooth + rng.normal(0, 6, smooth.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def calibrated_higherhrnet(name: str = "higherhrnet_w16_256", seed: int = 0, **kwargs: object) -> torch.nn.Module:
    """A registered HigherHRNet with random weights whose outputs look like a trained network's in range.

    With the official initialisation (std 0.001) and untouched BatchNorm statistics the outputs are
    of order 1e-11 and the grouping finds nobody. Here the BatchNorm running statistics are measured
    on two smooth random images (train mode, cumulative average), so activations are of order one,
    and the final layers are rescaled per channel so that each heatmap has mean -0.2 and std 0.3 on
    those images (peaks pass the 0.1 detection threshold) and each tag map std 1: the network then
    finds people wherever its random features peak, deterministically for a seed, which exercises
    grouping, tracking and lifting.
    """
    from posekit.models.pose2d.base import normalize_images
    from posekit.models.registry import get_model

    torch.manual_seed(seed)
    model = get_model(name, **kwargs)
    rng = np.random.default_rng(seed)
    size = int(model.input_size)
    images = np.stack([smooth_image(rng, size, size) for _ in range(2)])  # (2, S, S, 3)
    inputs = normalize_images(torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255)  # (2, 3, S, S)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # cumulative average
    with torch.no_grad():
        model.train()
        model(inputs)
        model.eval()
        outputs = model(inputs)
        num_joints = int(model.num_joints)
        for layer, output in zip(model.final_layers, outputs, strict=True):
            mean = output.mean(dim=(0, 2, 3))  # (C,)
            std = output.std(dim=(0, 2, 3)).clamp_min(1e-12)  # (C,)
            target_mean = torch.full_like(mean, -0.7)
            target_std = torch.full_like(std, 0.25)
            target_mean[num_joints:], target_std[num_joints:] = 0.0, 0.05  # the tag channels
            gain = target_std / std
            bias = layer.bias if layer.bias is not None else torch.zeros_like(mean)
            layer.weight.mul_(gain[:, None, None, None])
            layer.bias = torch.nn.Parameter(gain * (bias - mean) + target_mean)
    return model
