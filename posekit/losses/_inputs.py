"""Shape checks shared by the keypoint losses (private to :mod:`posekit.losses`)."""

from __future__ import annotations

import torch


def check_weighted_inputs(
    prediction: torch.Tensor, target: torch.Tensor, target_weight: torch.Tensor | None, layout: str
) -> torch.Tensor | None:
    """Check predictions/targets of ``layout`` (e.g. ``"(B, K, H, W)"``) and ``(B, K)``/``(B, K, 1)`` weights.

    Returns:
        the weights as ``(B, K, 1)`` (ready to broadcast over the trailing axes), or ``None``.

    Raises:
        ValueError: naming the shapes received and the ones expected.
    """
    if prediction.dim() != layout.count(",") + 1:
        raise ValueError(f"prediction must have shape {layout}, got {tuple(prediction.shape)}")
    if target.shape != prediction.shape:
        raise ValueError(
            f"target must have the prediction's shape {tuple(prediction.shape)}, got {tuple(target.shape)}"
        )
    if target_weight is None:
        return None
    batch, num_keypoints = prediction.shape[:2]
    if target_weight.shape == (batch, num_keypoints):
        return target_weight[..., None]  # (B, K) -> (B, K, 1)
    if target_weight.shape == (batch, num_keypoints, 1):
        return target_weight
    raise ValueError(
        f"target_weight must have shape (B, K) = {(batch, num_keypoints)} or (B, K, 1), "
        f"got {tuple(target_weight.shape)}"
    )
