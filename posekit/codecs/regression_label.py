"""Normalised coordinate labels for direct regression (DeepPose, Iterative Error Feedback).

Legend: ``N`` instances, ``K`` keypoints, ``D = 2`` dims, input size ``(w, h)``.

Pixel-centre convention: pixel centres at integer coordinates, top-left pixel centre ``(0, 0)``.
A label is the input-pixel coordinate divided by the input size, ``(x / w, y / h)``: label 0 is
the centre of the first pixel, label ``(w - 1) / w`` the centre of the last one, label 1 the
(virtual) pixel just past the right edge. The same map is used to decode, so the round trip is
exact. The box normalisation of DeepPose (Toshev & Szegedy 2014, Sec. 3, ``N(y; b) = (y - b_c) / b_size``)
is :func:`normalize_to_boxes` / :func:`denormalize_from_boxes`.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from posekit.codecs.checks import check_keypoints, check_size, check_visible
from posekit.codecs.targets import RegressionTarget

__all__ = ["RegressionLabel", "denormalize_from_boxes", "normalize_to_boxes"]


class RegressionLabel:
    """Encode keypoints to ``[0, 1]``-normalised coordinates and back.

    Args:
        input_size: network input ``(w, h)`` in pixels.
    """

    name: ClassVar[str] = "regression"
    heatmap_size: ClassVar[None] = None  # coordinates only: no heatmaps

    def __init__(self, input_size: tuple[int, int]) -> None:
        self.input_size = check_size("input_size", input_size)
        self._size = np.array(self.input_size, dtype=np.float64)  # (2,) as (w, h)

    def __repr__(self) -> str:
        return f"RegressionLabel(input_size={self.input_size})"

    def encode(self, keypoints: np.ndarray, visible: np.ndarray | None = None) -> RegressionTarget:
        """Normalise keypoints by the input size.

        Args:
            keypoints: ``(N, K, 2)`` in input pixels.
            visible: ``(N, K)`` visibility (bool) or weights; ``None`` = all visible.

        Returns:
            :class:`RegressionTarget`: labels ``(N, K, 2)`` float32 ``= (x / w, y / h)`` (non-finite
            keypoints give label 0) and target weights ``(N, K)`` float32: the visible value for
            keypoints with ``visible >= 0.5`` inside the input (``0 <= x <= w - 1``, ``0 <= y <= h - 1``,
            as MMPose ``RegressionLabel``), else 0.
        """
        points = check_keypoints(keypoints)
        weights = check_visible(visible, points.shape[:2])
        finite = np.isfinite(points).all(axis=-1)
        points = np.where(finite[..., None], points, 0.0)
        inside = ((points >= 0) & (points <= self._size - 1)).all(axis=-1)
        valid = finite & inside & (weights >= 0.5)
        labels = (points / self._size).astype(np.float32)
        return RegressionTarget(keypoint_labels=labels, target_weights=np.where(valid, weights, 0.0).astype(np.float32))

    def decode(self, keypoint_labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map normalised coordinates back to input pixels.

        Args:
            keypoint_labels: ``(N, K, 2)`` normalised coordinates (e.g. a regression head's output).

        Returns:
            keypoints ``(N, K, 2)`` float32 in input pixels and scores ``(N, K)`` float32, all 1
            (plain regression has no confidence).
        """
        labels = check_keypoints(keypoint_labels, name="keypoint_labels")
        keypoints = (labels * self._size).astype(np.float32)
        return keypoints, np.ones(labels.shape[:2], dtype=np.float32)

    def decode_torch(self, keypoint_labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Torch twin of :meth:`decode` (differentiable): ``(B, K, 2)`` -> ``(B, K, 2)``, ``(B, K)``."""
        if keypoint_labels.dim() != 3 or keypoint_labels.shape[-1] != 2:
            raise ValueError(f"keypoint_labels must have shape (B, K, 2), got {tuple(keypoint_labels.shape)}")
        size = torch.as_tensor(self._size, dtype=keypoint_labels.dtype, device=keypoint_labels.device)
        scores = torch.ones(keypoint_labels.shape[:2], dtype=keypoint_labels.dtype, device=keypoint_labels.device)
        return keypoint_labels * size, scores


def _check_boxes(centers: np.ndarray, sizes: np.ndarray, num_instances: int) -> tuple[np.ndarray, np.ndarray]:
    centre_array = np.asarray(centers, dtype=np.float64)
    size_array = np.asarray(sizes, dtype=np.float64)
    if centre_array.shape != (num_instances, 2):
        raise ValueError(f"centers must have shape (N, 2) = ({num_instances}, 2), got {tuple(centre_array.shape)}")
    if size_array.shape != (num_instances, 2):
        raise ValueError(f"sizes must have shape (N, 2) = ({num_instances}, 2), got {tuple(size_array.shape)}")
    if not (size_array > 0).all():
        raise ValueError(f"sizes must be positive (w, h), got minimum {size_array.min()}")
    return centre_array, size_array


def normalize_to_boxes(keypoints: np.ndarray, centers: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """DeepPose box normalisation ``(keypoint - centre) / size`` (Toshev & Szegedy 2014, Sec. 3).

    A box of centre ``c`` and size ``s`` spans ``[c - s/2, c + s/2]`` in continuous pixel coordinates
    (pixel centres at integers), so keypoints inside the box map to ``[-0.5, 0.5]``.

    Args:
        keypoints: ``(N, K, 2)`` in image pixels.
        centers: ``(N, 2)`` box centres ``(cx, cy)`` in pixels.
        sizes: ``(N, 2)`` box sizes ``(w, h)`` in pixels, positive.

    Returns:
        ``(N, K, 2)`` float32 normalised keypoints.
    """
    points = check_keypoints(keypoints)
    centre_array, size_array = _check_boxes(centers, sizes, points.shape[0])
    return ((points - centre_array[:, None]) / size_array[:, None]).astype(np.float32)


def denormalize_from_boxes(normalized: np.ndarray, centers: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Inverse of :func:`normalize_to_boxes`: ``centre + normalized * size``.

    Args:
        normalized: ``(N, K, 2)`` box-normalised keypoints.
        centers: ``(N, 2)`` box centres in pixels.
        sizes: ``(N, 2)`` box sizes ``(w, h)`` in pixels.

    Returns:
        ``(N, K, 2)`` float32 keypoints in image pixels.
    """
    points = check_keypoints(normalized, name="normalized")
    centre_array, size_array = _check_boxes(centers, sizes, points.shape[0])
    return (centre_array[:, None] + points * size_array[:, None]).astype(np.float32)
