"""Integral regression (soft-argmax): Sun et al. 2018, "Integral Human Pose Regression" (ECCV).

Legend: ``N`` instances, ``B`` batch, ``K`` keypoints, ``D = 2`` dims, input size ``(w, h)``,
heatmap size ``(W, H)``.

Pixel-centre convention: pixel centres at integer coordinates, top-left pixel centre ``(0, 0)``.
Heatmap pixel ``x`` is input pixel ``x * w / W`` (the SimpleBaseline stride convention, same as
:class:`~posekit.codecs.msra_heatmap.MSRAHeatmap`), and a normalised label is ``x_input / w``
(same as :class:`~posekit.codecs.regression_label.RegressionLabel`), so the soft-argmax in heatmap
pixels divided by ``W`` is directly comparable with the labels: ``x_hm / W = x_input / w``.

The network's raw maps ``h`` are normalised with a softmax over all pixels, ``p = softmax(beta h)``
(Sec. 3.1, Eq. 2-3), and the keypoint is the expectation ``sum_p p(p) * p``; it is computed from the
marginals ``p_x = sum_y p``, ``p_y = sum_x p`` (Sec. 3.2, Eq. 4), which is exact for the 2D case and
is the form that 1D ("marginal") heads output directly (:meth:`IntegralRegression.decode_marginals_torch`).
"""

from __future__ import annotations

from typing import ClassVar

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from posekit.codecs.checks import check_heatmaps, check_size
from posekit.codecs.msra_heatmap import MSRAHeatmap
from posekit.codecs.regression_label import RegressionLabel
from posekit.codecs.targets import IntegralTarget


class IntegralRegression:
    """Soft-argmax codec: coordinate labels (+ Gaussian heatmaps) in, differentiable keypoints out.

    Args:
        input_size: network input ``(w, h)`` in pixels.
        heatmap_size: heatmap ``(W, H)``.
        sigma: sigma of the auxiliary MSRA Gaussian heatmaps returned by :meth:`encode`.
        beta: softmax inverse temperature applied to the raw maps before normalisation.
        score_window: side of the square window (odd, heatmap pixels) whose probability mass around
            the mode is the keypoint score.
    """

    name: ClassVar[str] = "integral"

    def __init__(
        self,
        input_size: tuple[int, int],
        heatmap_size: tuple[int, int],
        sigma: float = 2.0,
        beta: float = 1.0,
        score_window: int = 5,
    ) -> None:
        self.input_size = check_size("input_size", input_size)
        self.heatmap_size = check_size("heatmap_size", heatmap_size)
        if not beta > 0:
            raise ValueError(f"beta must be > 0, got {beta}")
        if score_window < 1 or score_window % 2 != 1:
            raise ValueError(f"score_window must be a positive odd integer, got {score_window}")
        self.beta = float(beta)
        self.score_window = int(score_window)
        self.heatmap_codec = MSRAHeatmap(self.input_size, self.heatmap_size, sigma=sigma)
        self.label_codec = RegressionLabel(self.input_size)
        # input pixels per heatmap pixel, (2,) as (x, y)
        self.stride = np.array(self.input_size, dtype=np.float64) / np.array(self.heatmap_size, dtype=np.float64)

    def __repr__(self) -> str:
        return (
            f"IntegralRegression(input_size={self.input_size}, heatmap_size={self.heatmap_size}, "
            f"sigma={self.heatmap_codec.sigma}, beta={self.beta}, score_window={self.score_window})"
        )

    def encode(
        self, keypoints: np.ndarray, visible: np.ndarray | None = None, *, per_instance: bool = False
    ) -> IntegralTarget:
        """Encode keypoints to normalised coordinate labels and Gaussian heatmaps.

        Args:
            keypoints: ``(N, K, 2)`` in input pixels.
            visible: ``(N, K)`` visibility (bool) or weights; ``None`` = all visible.
            per_instance: heatmaps ``(N, K, H, W)`` instead of ``(K, H, W)``.

        Returns:
            :class:`IntegralTarget`: labels ``(N, K, 2)`` float32 ``(x / w, y / h)``, heatmaps, and
            target weights ``(N, K)`` (0 unless visible, inside the input and with a Gaussian on the map).
        """
        heatmap_target = self.heatmap_codec.encode(keypoints, visible, per_instance=per_instance)
        label_target = self.label_codec.encode(keypoints, heatmap_target.target_weights)
        return IntegralTarget(
            keypoint_labels=label_target.keypoint_labels,
            heatmaps=heatmap_target.heatmaps,
            target_weights=label_target.target_weights,
        )

    # ------------------------------------------------------------------------------------------
    # torch (differentiable)
    # ------------------------------------------------------------------------------------------

    def decode_torch(self, heatmaps: torch.Tensor, *, normalized: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Differentiable soft-argmax of raw heatmaps.

        Args:
            heatmaps: ``(B, K, H, W)`` (or ``(K, H, W)``) raw maps (logits).
            normalized: return ``(x / w, y / h)`` labels instead of input pixels.

        Returns:
            keypoints ``(B, K, 2)`` (gradients flow to ``heatmaps``) and scores ``(B, K)`` in ``[0, 1]``:
            the probability mass inside the ``score_window`` square of highest mass (detached).
        """
        check_heatmaps(heatmaps, self.heatmap_size)
        maps = heatmaps if heatmaps.dim() == 4 else heatmaps[None]  # (K, H, W) -> (1, K, H, W)
        batch, num_keypoints, height, width = maps.shape
        flat = maps.reshape(batch, num_keypoints, height * width)  # (B, K, H, W) -> (B, K, H*W)
        probs = F.softmax(self.beta * flat, dim=-1).reshape(batch, num_keypoints, height, width)
        keypoints = _expectation_torch(probs.sum(dim=-2), probs.sum(dim=-1))  # marginals (B, K, W), (B, K, H)
        with torch.no_grad():
            pooled = F.avg_pool2d(
                probs.reshape(batch * num_keypoints, 1, height, width),  # (B, K, H, W) -> (B*K, 1, H, W)
                self.score_window,
                stride=1,
                padding=self.score_window // 2,
                count_include_pad=True,
            )
            scores = (pooled.amax(dim=(-2, -1)) * self.score_window**2).reshape(batch, num_keypoints)
        return self._finish_torch(keypoints, normalized), scores

    def decode_marginals_torch(
        self, logits_x: torch.Tensor, logits_y: torch.Tensor, *, normalized: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Differentiable soft-argmax of 1D marginal heatmaps (each axis normalised on its own).

        Args:
            logits_x: ``(B, K, W)`` raw x marginals.
            logits_y: ``(B, K, H)`` raw y marginals.
            normalized: return ``(x / w, y / h)`` labels instead of input pixels.

        Returns:
            keypoints ``(B, K, 2)`` and scores ``(B, K)``: the smaller of the two axes' probability
            masses inside ``score_window`` (detached).
        """
        width, height = self.heatmap_size
        if logits_x.dim() != 3 or logits_x.shape[-1] != width:
            raise ValueError(f"logits_x must have shape (B, K, W={width}), got {tuple(logits_x.shape)}")
        if logits_y.shape != (*logits_x.shape[:2], height):
            raise ValueError(
                f"logits_y must have shape (B, K, H) = {(*logits_x.shape[:2], height)}, got {tuple(logits_y.shape)}"
            )
        prob_x = F.softmax(self.beta * logits_x, dim=-1)
        prob_y = F.softmax(self.beta * logits_y, dim=-1)
        keypoints = _expectation_torch(prob_x, prob_y)
        with torch.no_grad():
            pad = self.score_window // 2
            mass_x = F.avg_pool1d(prob_x.flatten(0, 1)[:, None], self.score_window, 1, pad).amax(dim=-1)
            mass_y = F.avg_pool1d(prob_y.flatten(0, 1)[:, None], self.score_window, 1, pad).amax(dim=-1)
            scores = (torch.minimum(mass_x, mass_y) * self.score_window).reshape(prob_x.shape[:2])
        return self._finish_torch(keypoints, normalized), scores

    def _finish_torch(self, heatmap_keypoints: torch.Tensor, normalized: bool) -> torch.Tensor:
        if normalized:
            size = torch.tensor(self.heatmap_size, dtype=heatmap_keypoints.dtype, device=heatmap_keypoints.device)
            return heatmap_keypoints / size
        stride = torch.as_tensor(self.stride, dtype=heatmap_keypoints.dtype, device=heatmap_keypoints.device)
        return heatmap_keypoints * stride

    # ------------------------------------------------------------------------------------------
    # numpy
    # ------------------------------------------------------------------------------------------

    def decode(self, heatmaps: np.ndarray, *, normalized: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Numpy twin of :meth:`decode_torch`.

        Args:
            heatmaps: ``(K, H, W)`` (one instance) or ``(N, K, H, W)`` raw maps.
            normalized: return ``(x / w, y / h)`` labels instead of input pixels.

        Returns:
            keypoints ``(N, K, 2)`` float32 and scores ``(N, K)`` float32.
        """
        check_heatmaps(heatmaps, self.heatmap_size)
        maps = np.asarray(heatmaps, dtype=np.float64)
        if maps.ndim == 3:
            maps = maps[None]  # (K, H, W) -> (1, K, H, W)
        num_instances, num_keypoints, height, width = maps.shape
        flat = self.beta * maps.reshape(num_instances, num_keypoints, height * width)  # (N, K, H*W)
        flat = np.exp(flat - flat.max(axis=-1, keepdims=True))
        probs = (flat / flat.sum(axis=-1, keepdims=True)).reshape(maps.shape)
        keypoints = np.stack(
            [probs.sum(axis=-2) @ np.arange(width, dtype=np.float64), probs.sum(axis=-1) @ np.arange(height)],
            axis=-1,
        )  # (N, K, 2) heatmap pixels
        scores = _max_window_mass(probs, self.score_window)  # (N, K)
        if normalized:
            keypoints = keypoints / np.array(self.heatmap_size, dtype=np.float64)
        else:
            keypoints = keypoints * self.stride
        return keypoints.astype(np.float32), scores.astype(np.float32)


def _expectation_torch(prob_x: torch.Tensor, prob_y: torch.Tensor) -> torch.Tensor:
    """Expected heatmap coordinates from marginals ``(B, K, W)``, ``(B, K, H)`` -> ``(B, K, 2)``."""
    grid_x = torch.arange(prob_x.shape[-1], dtype=prob_x.dtype, device=prob_x.device)
    grid_y = torch.arange(prob_y.shape[-1], dtype=prob_y.dtype, device=prob_y.device)
    return torch.stack([(prob_x * grid_x).sum(dim=-1), (prob_y * grid_y).sum(dim=-1)], dim=-1)


def _max_window_mass(probs: np.ndarray, window: int) -> np.ndarray:
    """Largest sum over a ``window x window`` square (zeros beyond the edges): ``(..., H, W)`` -> ``(...)``."""
    height, width = probs.shape[-2:]
    flat = probs.reshape(-1, height, width)  # (..., H, W) -> (M, H, W)
    count, pad = flat.shape[0], window // 2
    if count == 0:
        return np.zeros(probs.shape[:-2])
    # One OpenCV box filter for all maps: stacked vertically with `pad` zero rows after each map.
    tiled = np.zeros((count, height + pad, width), dtype=np.float64)
    tiled[:, :height] = flat
    ones = np.ones(window, dtype=np.float64)
    # (M, H + pad, W) -> (M * (H + pad), W)
    tall = cv2.sepFilter2D(tiled.reshape(-1, width), -1, ones, ones, borderType=cv2.BORDER_CONSTANT)
    sums = tall.reshape(count, height + pad, width)[:, :height]  # (M * (H + pad), W) -> (M, H, W)
    return sums.max(axis=(-2, -1)).reshape(probs.shape[:-2])
