"""UDP heatmaps: Unbiased Data Processing (Huang et al. 2020, "The Devil is in the Details").

Legend: ``N`` instances, ``K`` keypoints, ``D = 2`` dims, input size ``(w, h)``, heatmap size ``(W, H)``.

Pixel-centre convention: pixel centres at integer coordinates, top-left pixel centre ``(0, 0)``, in
the input image and in the heatmap alike. UDP measures images by the distance between the first
and last pixel centres (``w - 1``), so the unbiased stride is ``s = ((w - 1) / (W - 1), (h - 1) / (H - 1))``:
input pixel ``x`` <-> heatmap pixel ``x / s``; the first and last pixel centres of input and heatmap
coincide (Sec. 3.1), which also makes horizontal flipping exact (no heatmap shift at test time).

Decoding multiplies by the same ``s``, so encode -> decode is the identity up to the refinement
error. (MMPose 1.x decodes with ``input_size / (W - 1)`` because its crop
transform pairs that factor with a warp onto ``w - 1``; posekit keeps keypoints in input pixels
with one stride both ways.)
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from posekit.codecs.checks import check_heatmaps, check_keypoints, check_size, check_visible
from posekit.codecs.gaussian import generate_gaussian_heatmaps, merge_instance_heatmaps
from posekit.codecs.heatmap_decoding import (
    blur_heatmaps,
    gather_heatmap_values,
    gaussian_kernel_1d,
    get_heatmap_maximum,
    refine_keypoints_dark_udp,
)
from posekit.codecs.targets import HeatmapTarget

HEATMAP_TYPES = ("gaussian", "combined")


class UDPHeatmap:
    """UDP heatmap codec, ``"gaussian"`` or ``"combined"`` (classification map + x/y offset maps).

    ``heatmap_type="gaussian"``: a sub-pixel-centred Gaussian (radius ``3 sigma``, window around the
    rounded keypoint); decoding refines the argmax with :func:`refine_keypoints_dark_udp`.

    ``heatmap_type="combined"`` (UDP Sec. 3.3, "encoding-decoding"): per keypoint three maps
    ``[class, x_offset, y_offset]``: the class map is 1 inside the disc of radius
    ``r = radius_factor * max(W, H)`` around the keypoint, the offset maps hold
    ``(keypoint - pixel) / r`` inside the disc and 0 outside. Decoding blurs the class maps
    (kernel ``2 blur_kernel_size + 1``), takes their argmax and adds ``r`` times the offsets read
    there. The blur pads with zeros; MMPose uses OpenCV's default mirror border, whose mirrored
    disc pulls the argmax onto the border pixel for keypoints within ~``blur_kernel_size`` pixels
    of the edge (up to 4.5 heatmap px of error on exact targets; none with zero padding).

    Args:
        input_size: network input ``(w, h)`` in pixels.
        heatmap_size: heatmap ``(W, H)``, each at least 2.
        sigma: Gaussian standard deviation in heatmap pixels (``"gaussian"``).
        heatmap_type: ``"gaussian"`` or ``"combined"``.
        radius_factor: disc radius as a fraction of ``max(W, H)`` (``"combined"``).
        blur_kernel_size: modulation kernel size (11 pairs with ``sigma=2``).
    """

    name: ClassVar[str] = "udp"

    def __init__(
        self,
        input_size: tuple[int, int],
        heatmap_size: tuple[int, int],
        sigma: float = 2.0,
        heatmap_type: str = "gaussian",
        radius_factor: float = 0.0546875,
        blur_kernel_size: int = 11,
    ) -> None:
        self.input_size = check_size("input_size", input_size, minimum=2)
        self.heatmap_size = check_size("heatmap_size", heatmap_size, minimum=2)
        if heatmap_type not in HEATMAP_TYPES:
            raise ValueError(f"heatmap_type must be one of {HEATMAP_TYPES}, got {heatmap_type!r}")
        if not sigma > 0:
            raise ValueError(f"sigma must be > 0, got {sigma}")
        if not radius_factor > 0:
            raise ValueError(f"radius_factor must be > 0, got {radius_factor}")
        gaussian_kernel_1d(blur_kernel_size)  # validates the kernel size
        self.sigma = float(sigma)
        self.heatmap_type = heatmap_type
        self.radius_factor = float(radius_factor)
        self.blur_kernel_size = int(blur_kernel_size)
        # input pixels per heatmap pixel, (2,) as (x, y)
        self.stride = (np.array(self.input_size, dtype=np.float64) - 1.0) / (
            np.array(self.heatmap_size, dtype=np.float64) - 1.0
        )
        self.radius = self.radius_factor * max(self.heatmap_size)  # "combined" disc radius, heatmap px

    def __repr__(self) -> str:
        return (
            f"UDPHeatmap(input_size={self.input_size}, heatmap_size={self.heatmap_size}, sigma={self.sigma}, "
            f"heatmap_type={self.heatmap_type!r}, radius_factor={self.radius_factor}, "
            f"blur_kernel_size={self.blur_kernel_size})"
        )

    @property
    def channels_per_keypoint(self) -> int:
        """Heatmap channels per keypoint: 1 for ``"gaussian"``, 3 for ``"combined"``."""
        return 1 if self.heatmap_type == "gaussian" else 3

    def encode(
        self, keypoints: np.ndarray, visible: np.ndarray | None = None, *, per_instance: bool = False
    ) -> HeatmapTarget:
        """Encode keypoints to UDP heatmaps.

        Args:
            keypoints: ``(N, K, 2)`` in input pixels.
            visible: ``(N, K)`` visibility (bool) or weights; ``None`` = all visible.
            per_instance: return ``(N, C, H, W)`` instead of merging instances into ``(C, H, W)``
                (pixel-wise maximum for ``"gaussian"``; for ``"combined"`` the last instance with a
                positive class pixel wins there, as the reference overwrites).

        Returns:
            :class:`HeatmapTarget`: heatmaps ``(C, H, W)`` or ``(N, C, H, W)`` float32 with ``C = K``
            (``"gaussian"``) or ``C = 3 K`` ordered ``[class_k, x_offset_k, y_offset_k]`` per keypoint
            (``"combined"``); target weights ``(N, K)`` float32, 0 for invisible keypoints and for
            keypoints whose Gaussian window (or disc) misses the map.
        """
        points = check_keypoints(keypoints)
        weights = check_visible(visible, points.shape[:2])
        heatmap_points = points / self.stride
        if self.heatmap_type == "gaussian":
            heatmaps, target_weights = generate_gaussian_heatmaps(
                self.heatmap_size, heatmap_points, weights, self.sigma, subpixel_centre=True, truncate=True
            )
            if not per_instance:
                heatmaps = merge_instance_heatmaps(heatmaps)
            return HeatmapTarget(heatmaps=heatmaps, target_weights=target_weights)
        heatmaps, target_weights = self._encode_combined(heatmap_points, weights)
        if not per_instance:
            heatmaps = _merge_combined(heatmaps)
        return HeatmapTarget(heatmaps=heatmaps, target_weights=target_weights)

    def _encode_combined(self, points: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Class and offset maps ``(N, 3K, H, W)`` and weights ``(N, K)`` from heatmap-pixel keypoints."""
        width, height = self.heatmap_size
        num_instances, num_keypoints = points.shape[:2]
        finite = np.isfinite(points).all(axis=-1)
        points = np.where(finite[..., None], points, 0.0)
        grid_x = np.arange(width, dtype=np.float64)  # (W,)
        grid_y = np.arange(height, dtype=np.float64)  # (H,)
        offset_x = (points[..., 0:1] - grid_x) / self.radius  # (N, K, W)
        offset_y = (points[..., 1:2] - grid_y) / self.radius  # (N, K, H)
        inside = offset_x[..., None, :] ** 2 + offset_y[..., :, None] ** 2 <= 1.0  # (N, K, H, W)
        drawn = finite & (weights >= 0.5) & inside.any(axis=(-2, -1))  # (N, K)
        mask = inside & drawn[..., None, None]
        per_keypoint = np.zeros((num_instances, num_keypoints, 3, height, width), dtype=np.float32)
        per_keypoint[:, :, 0] = mask
        per_keypoint[:, :, 1] = np.where(mask, offset_x[..., None, :], 0.0)
        per_keypoint[:, :, 2] = np.where(mask, offset_y[..., :, None], 0.0)
        # (N, K, 3, H, W) -> (N, 3K, H, W)
        heatmaps = per_keypoint.reshape(num_instances, num_keypoints * 3, height, width)
        target_weights = np.where(drawn, weights, 0.0).astype(np.float32)
        return heatmaps, target_weights

    def decode(self, heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Decode UDP heatmaps to keypoints.

        Args:
            heatmaps: ``(C, H, W)`` (one instance) or ``(N, C, H, W)``, ``C = K`` or ``3 K`` by type.

        Returns:
            keypoints ``(N, K, 2)`` float32 in input pixels and scores ``(N, K)`` float32 (map maxima;
            for ``"combined"`` the maxima of the blurred class maps). Maps whose maximum is ``<= 0``
            decode to heatmap location ``-1`` without refinement.
        """
        check_heatmaps(heatmaps, self.heatmap_size, channels_per_keypoint=self.channels_per_keypoint)
        maps = np.asarray(heatmaps, dtype=np.float32)
        if maps.ndim == 3:
            maps = maps[None]  # (C, H, W) -> (1, C, H, W)
        if self.heatmap_type == "gaussian":
            locations, scores = get_heatmap_maximum(maps)  # (N, K, 2), (N, K)
            locations = refine_keypoints_dark_udp(locations, maps, self.blur_kernel_size)
        else:
            num_instances, channels, height, width = maps.shape
            maps = maps.reshape(num_instances, channels // 3, 3, height, width)  # (N, 3K, H, W) -> (N, K, 3, H, W)
            class_maps = blur_heatmaps(
                maps[:, :, 0], 2 * self.blur_kernel_size + 1, border="constant", keep_maximum=False
            ).astype(np.float32)
            locations, scores = get_heatmap_maximum(class_maps)
            found = scores > 0
            xs = np.where(found, locations[..., 0], 0).astype(np.int64)
            ys = np.where(found, locations[..., 1], 0).astype(np.int64)
            offset_x = gather_heatmap_values(maps[:, :, 1], ys, xs)  # (N, K)
            offset_y = gather_heatmap_values(maps[:, :, 2], ys, xs)
            offsets = np.stack([offset_x, offset_y], axis=-1)  # (N, K, 2)
            locations = locations + np.where(found[..., None], offsets * self.radius, 0.0)
        keypoints = (locations * self.stride).astype(np.float32)
        return keypoints, scores.astype(np.float32)

    def decode_torch(self, heatmaps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Torch twin of :meth:`decode` for ``heatmap_type="gaussian"``.

        Args:
            heatmaps: ``(K, H, W)`` or ``(B, K, H, W)`` float tensor.

        Returns:
            keypoints ``(B, K, 2)`` in input pixels and scores ``(B, K)``, in the maps' dtype.
        """
        if self.heatmap_type != "gaussian":
            raise ValueError("decode_torch supports heatmap_type='gaussian' only; use decode() for 'combined'")
        check_heatmaps(heatmaps, self.heatmap_size)
        maps = heatmaps if heatmaps.dim() == 4 else heatmaps[None]  # (K, H, W) -> (1, K, H, W)
        maps = maps.detach()
        if not maps.is_floating_point():
            maps = maps.float()
        locations, scores = get_heatmap_maximum(maps)
        locations = refine_keypoints_dark_udp(locations, maps, self.blur_kernel_size)
        stride = torch.as_tensor(self.stride, dtype=locations.dtype, device=locations.device)
        return locations * stride, scores


def _merge_combined(heatmaps: np.ndarray) -> np.ndarray:
    """Merge ``(N, 3K, H, W)`` combined maps into ``(3K, H, W)``: later instances overwrite inside their discs."""
    num_instances, channels, height, width = heatmaps.shape
    merged = np.zeros((channels // 3, 3, height, width), dtype=np.float32)
    per_keypoint = heatmaps.reshape(num_instances, channels // 3, 3, height, width)  # (N, 3K, H, W) -> (N, K, 3, H, W)
    for instance in per_keypoint:
        positive = instance[:, 0:1] > 0  # (K, 1, H, W)
        merged = np.where(positive, instance, merged)
    return merged.reshape(channels, height, width)  # (K, 3, H, W) -> (3K, H, W)
