"""MSRA Gaussian heatmaps (SimpleBaseline / HRNet), with optional DARK unbiased encoding and decoding.

Legend: ``N`` instances, ``K`` keypoints, ``D = 2`` dims, input size ``(w, h)``, heatmap size ``(W, H)``.

Pixel-centre convention: pixel centres at integer coordinates, top-left pixel centre ``(0, 0)``, in
the input image and in the heatmap alike. This codec maps them with the stride
``s = (w / W, h / H)``: input pixel ``x`` <-> heatmap pixel ``x / s`` (so heatmap pixel 0 is input
pixel 0, heatmap pixel ``W - 1`` is input pixel ``w - s``). That is the SimpleBaseline/HRNet
convention the published weights were trained with; its half-pixel bias is what UDP removes
(:mod:`posekit.codecs.udp_heatmap`). Encode and decode use the same map, so a round trip is exact
up to quantisation.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from posekit.codecs.checks import check_heatmaps, check_keypoints, check_size, check_visible
from posekit.codecs.gaussian import generate_gaussian_heatmaps, merge_instance_heatmaps
from posekit.codecs.heatmap_decoding import (
    gaussian_kernel_1d,
    get_heatmap_maximum,
    refine_keypoints_dark,
    refine_keypoints_quarter_offset,
)
from posekit.codecs.targets import HeatmapTarget


class MSRAHeatmap:
    """Gaussian heatmap codec of Xiao et al. 2018 ("Simple Baselines") and Sun et al. 2019 (HRNet).

    ``unbiased=False``: the target Gaussian is centred on the rounded heatmap keypoint
    ``floor(x / s + 0.5)`` (HRNet ``generate_target``), radius ``3 sigma``; decoding takes the argmax
    and moves it a quarter pixel towards the higher neighbour (HRNet ``get_final_preds``).

    ``unbiased=True`` (DARK, Zhang et al. 2020): the Gaussian is centred on the exact sub-pixel
    keypoint over the whole map (Sec. 3.2); decoding modulates the map with a Gaussian blur of
    ``blur_kernel_size`` and refines the argmax with a Taylor expansion of the log map (Sec. 3.1, 3.3).

    Args:
        input_size: network input ``(w, h)`` in pixels.
        heatmap_size: heatmap ``(W, H)``.
        sigma: Gaussian standard deviation in heatmap pixels.
        unbiased: use DARK encoding and decoding.
        blur_kernel_size: DARK modulation kernel; OpenCV's rule ``sigma = 0.3((ks - 1) / 2 - 1) + 0.8``
            gives 2.0 for 11 (pairs with ``sigma=2``) and 3.2 for 17 (``sigma=3``).
    """

    name: ClassVar[str] = "msra"

    def __init__(
        self,
        input_size: tuple[int, int],
        heatmap_size: tuple[int, int],
        sigma: float = 2.0,
        unbiased: bool = False,
        blur_kernel_size: int = 11,
    ) -> None:
        self.input_size = check_size("input_size", input_size)
        self.heatmap_size = check_size("heatmap_size", heatmap_size)
        if not sigma > 0:
            raise ValueError(f"sigma must be > 0, got {sigma}")
        gaussian_kernel_1d(blur_kernel_size)  # validates the kernel size
        self.sigma = float(sigma)
        self.unbiased = bool(unbiased)
        self.blur_kernel_size = int(blur_kernel_size)
        # input pixels per heatmap pixel, (2,) as (x, y)
        self.stride = np.array(self.input_size, dtype=np.float64) / np.array(self.heatmap_size, dtype=np.float64)

    def __repr__(self) -> str:
        return (
            f"MSRAHeatmap(input_size={self.input_size}, heatmap_size={self.heatmap_size}, sigma={self.sigma}, "
            f"unbiased={self.unbiased}, blur_kernel_size={self.blur_kernel_size})"
        )

    def encode(
        self, keypoints: np.ndarray, visible: np.ndarray | None = None, *, per_instance: bool = False
    ) -> HeatmapTarget:
        """Encode keypoints to Gaussian heatmaps.

        Args:
            keypoints: ``(N, K, 2)`` in input pixels.
            visible: ``(N, K)`` visibility (bool) or weights; ``None`` = all visible. Entries ``< 0.5``
                get no Gaussian and weight 0.
            per_instance: return ``(N, K, H, W)`` instead of the ``(K, H, W)`` pixel-wise maximum over
                instances (use it to encode a batch of single-person crops in one call).

        Returns:
            :class:`HeatmapTarget` with heatmaps ``(K, H, W)`` (or ``(N, K, H, W)``) float32, peak 1
            at the Gaussian centre, and target weights ``(N, K)`` float32.
        """
        points = check_keypoints(keypoints)
        weights = check_visible(visible, points.shape[:2])
        heatmaps, target_weights = generate_gaussian_heatmaps(
            self.heatmap_size,
            points / self.stride,
            weights,
            self.sigma,
            subpixel_centre=self.unbiased,
            truncate=not self.unbiased,
        )
        if not per_instance:
            heatmaps = merge_instance_heatmaps(heatmaps)
        return HeatmapTarget(heatmaps=heatmaps, target_weights=target_weights)

    def decode(self, heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Decode heatmaps to keypoints.

        Args:
            heatmaps: ``(K, H, W)`` (one instance) or ``(N, K, H, W)``.

        Returns:
            keypoints ``(N, K, 2)`` float32 in input pixels and scores ``(N, K)`` float32 (the map
            maxima). A map whose maximum is ``<= 0`` decodes to heatmap location ``-1`` (input
            ``-stride``) with that maximum as its score.
        """
        check_heatmaps(heatmaps, self.heatmap_size)
        maps = np.asarray(heatmaps, dtype=np.float32)
        if maps.ndim == 3:
            maps = maps[None]  # (K, H, W) -> (1, K, H, W)
        locations, scores = get_heatmap_maximum(maps)  # (N, K, 2), (N, K)
        if self.unbiased:
            locations = refine_keypoints_dark(locations, maps, self.blur_kernel_size)
        else:
            locations = refine_keypoints_quarter_offset(locations, maps)
        keypoints = (locations * self.stride).astype(np.float32)
        return keypoints, scores.astype(np.float32)

    def decode_torch(self, heatmaps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Torch twin of :meth:`decode` (runs on the maps' device; not differentiable through argmax).

        Args:
            heatmaps: ``(K, H, W)`` or ``(B, K, H, W)`` float tensor.

        Returns:
            keypoints ``(B, K, 2)`` in input pixels and scores ``(B, K)``, in the maps' dtype.
        """
        check_heatmaps(heatmaps, self.heatmap_size)
        maps = heatmaps if heatmaps.dim() == 4 else heatmaps[None]  # (K, H, W) -> (1, K, H, W)
        maps = maps.detach()
        if not maps.is_floating_point():
            maps = maps.float()
        locations, scores = get_heatmap_maximum(maps)
        if self.unbiased:
            locations = refine_keypoints_dark(locations, maps, self.blur_kernel_size)
        else:
            locations = refine_keypoints_quarter_offset(locations, maps)
        stride = torch.as_tensor(self.stride, dtype=locations.dtype, device=locations.device)
        return locations * stride, scores
