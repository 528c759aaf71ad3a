"""HigherHRNet training losses: masked heatmap MSE and the associative-embedding pull/push loss.

Legend: ``B`` batch, ``K`` keypoints, ``T`` tag channels (``K`` with one tag map per joint, else 1),
``R`` side of one output resolution, ``M`` people slots of the joints target (30), ``S`` supervised
output resolutions ("stages" in the official code).

Same definitions and reductions as the official ``lib/core/loss.py`` (Cheng et al., CVPR 2020;
Newell et al., "Associative Embedding", NIPS 2017, Sec. 3, Eq. 3):

* :class:`HeatmapLoss`: ``((pred - gt)^2 * mask)`` averaged over ``W``, ``H`` and ``K`` -> ``(B,)``
  (``mask (B, R, R)``: 0 in crowd / unannotated regions, broadcast over the joints).
* :class:`AssociativeEmbeddingLoss`: per image, each person's reference tag ``h_n`` is the mean of
  the tags at its labelled joints; ``pull = sum_n mean_k (h_nk - h_n)^2 / N`` and, for ``N >= 2``
  people, ``push = (sum_{n, n'} f(h_n - h_n') - N) / (N (N - 1)) / 2`` with ``f(d) = exp(-d^2)``
  (``"exp"``) or ``max(0, 1 - |d|)`` (``"max"``), the ``- N`` removing the ``n = n'`` terms. No person:
  both 0; one person: push 0. The official code loops over people and joints in Python; this
  one gathers and reduces with tensor operations (the same sums in a different order: equal up to
  float rounding) and returns ``(B,)`` push and pull.
* :class:`MultiResolutionAELoss` (the official ``MultiLossFactory``): per resolution, the first
  ``K`` channels are heatmaps when that resolution has a heatmap loss and the tag channels are the
  rest (all channels when it has none); each term is multiplied by its per-resolution factor.
  :func:`total_loss` sums them as the official ``do_train`` does: per resolution with a heatmap
  loss, the batch means of heatmap, push and pull terms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

__all__ = [
    "AssociativeEmbeddingLoss",
    "HeatmapLoss",
    "MultiResolutionAELoss",
    "MultiResolutionTerms",
    "total_loss",
]

AELossType = Literal["exp", "max"]


class HeatmapLoss(nn.Module):
    """Masked heatmap MSE per image (official ``HeatmapLoss``)."""

    def forward(self, pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Loss of ``pred``/``gt (B, K, R, R)`` under ``mask (B, R, R)`` -> ``(B,)``."""
        if pred.shape != gt.shape or pred.dim() != 4:
            raise ValueError(
                f"heatmap predictions and targets must both be (B, K, H, W), got {tuple(pred.shape)} and "
                f"{tuple(gt.shape)}"
            )
        if mask.shape != (pred.shape[0], *pred.shape[2:]):
            raise ValueError(
                f"mask must have shape {(pred.shape[0], *pred.shape[2:])} (B, H, W), got {tuple(mask.shape)}"
            )
        loss = (pred - gt) ** 2 * mask[:, None].to(pred.dtype)  # (B, K, H, W)
        return loss.mean(dim=3).mean(dim=2).mean(dim=1)  # (B,)


class AssociativeEmbeddingLoss(nn.Module):
    """Associative-embedding pull/push loss per image (official ``AELoss``).

    Args:
        loss_type: ``"exp"`` or ``"max"`` push (official ``LOSS.AE_LOSS_TYPE``).
    """

    def __init__(self, loss_type: AELossType = "exp") -> None:
        super().__init__()
        if loss_type not in ("exp", "max"):
            raise ValueError(f"ae_loss_type must be 'exp' or 'max', got {loss_type!r}")
        self.loss_type = loss_type

    def forward(self, tags: torch.Tensor, joints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Push and pull of ``tags`` at the ``joints`` of each image.

        Args:
            tags: ``(B, T, R, R)`` tag maps, or already flat ``(B, T R^2)`` / ``(B, T R^2, 1)``.
            joints: ``(B, M, K, 2)`` integer ``(flat index into the flattened tags, visible)`` rows
                (:meth:`posekit.codecs.AssociativeEmbedding.encode_tag_joints`).

        Returns:
            push ``(B,)`` and pull ``(B,)``.
        """
        batch = tags.shape[0]
        flat = tags.reshape(batch, -1)  # (B, T, R, R) -> (B, T R^2)
        if joints.dim() != 4 or joints.shape[0] != batch or joints.shape[-1] != 2:
            raise ValueError(f"joints must have shape ({batch}, M, K, 2), got {tuple(joints.shape)}")
        index = joints[..., 0].long()  # (B, M, K)
        visible = (joints[..., 1] > 0).to(flat.dtype)  # (B, M, K)
        if index.numel() and (int(index.min()) < 0 or int(index.max()) >= flat.shape[1]):
            raise ValueError(f"joint indices must lie in [0, {flat.shape[1]}) (the flattened tag maps)")
        gathered = flat.gather(1, index.reshape(batch, -1)).reshape(index.shape)  # (B, M K) -> (B, M, K)
        gathered = gathered * visible
        counts = visible.sum(dim=2)  # (B, M) labelled joints per person
        present = (counts > 0).to(flat.dtype)  # (B, M)
        safe_counts = counts.clamp(min=1)
        means = gathered.sum(dim=2) / safe_counts  # (B, M) reference tag per person
        spread = ((gathered - means[..., None]) ** 2 * visible).sum(dim=2) / safe_counts  # (B, M)
        num_tags = present.sum(dim=1)  # (B,)
        pull = (spread * present).sum(dim=1) / num_tags.clamp(min=1)  # (B,)
        diff = means[:, :, None] - means[:, None, :]  # (B, M, M)
        pairs = present[:, :, None] * present[:, None, :]  # (B, M, M)
        if self.loss_type == "exp":
            similarity = torch.exp(-(diff**2))
        else:
            similarity = torch.clamp(1 - torch.abs(diff), min=0)
        push_sum = (similarity * pairs).sum(dim=(1, 2)) - num_tags  # (B,)
        denominator = ((num_tags - 1) * num_tags).clamp(min=1)
        push = torch.where(num_tags >= 2, push_sum / denominator * 0.5, torch.zeros_like(push_sum))
        return push, pull


@dataclass(frozen=True)
class MultiResolutionTerms:
    """Per-resolution loss terms, ``(B,)`` each (``None`` where that resolution has no such loss)."""

    heatmaps: tuple[torch.Tensor | None, ...]
    push: tuple[torch.Tensor | None, ...]
    pull: tuple[torch.Tensor | None, ...]


class MultiResolutionAELoss(nn.Module):
    """The official ``MultiLossFactory``: heatmap and AE losses per output resolution, with factors.

    Args:
        num_keypoints: ``K`` (the heatmap channels of each output).
        with_heatmaps_loss: per resolution, supervise its heatmaps (``LOSS.WITH_HEATMAPS_LOSS``).
        heatmaps_loss_factor: per resolution (``LOSS.HEATMAPS_LOSS_FACTOR``).
        with_ae_loss: per resolution, supervise its tags (``LOSS.WITH_AE_LOSS``).
        push_loss_factor: per resolution (``LOSS.PUSH_LOSS_FACTOR``).
        pull_loss_factor: per resolution (``LOSS.PULL_LOSS_FACTOR``).
        ae_loss_type: ``"exp"`` or ``"max"`` (``LOSS.AE_LOSS_TYPE``).
    """

    def __init__(
        self,
        num_keypoints: int,
        with_heatmaps_loss: Sequence[bool] = (True, True),
        heatmaps_loss_factor: Sequence[float] = (1.0, 1.0),
        with_ae_loss: Sequence[bool] = (True, False),
        push_loss_factor: Sequence[float] = (0.001, 0.001),
        pull_loss_factor: Sequence[float] = (0.001, 0.001),
        ae_loss_type: AELossType = "exp",
    ) -> None:
        super().__init__()
        stages = len(with_heatmaps_loss)
        lengths = {
            "heatmaps_loss_factor": len(heatmaps_loss_factor),
            "with_ae_loss": len(with_ae_loss),
            "push_loss_factor": len(push_loss_factor),
            "pull_loss_factor": len(pull_loss_factor),
        }
        for name, length in lengths.items():
            if length != stages:
                raise ValueError(
                    f"{name} must have one entry per resolution ({stages}, as with_heatmaps_loss), got {length}"
                )
        if not any(with_heatmaps_loss) and not any(with_ae_loss):
            raise ValueError("at least one loss must be enabled (with_heatmaps_loss or with_ae_loss)")
        self.num_keypoints = int(num_keypoints)
        self.with_heatmaps_loss = tuple(bool(value) for value in with_heatmaps_loss)
        self.with_ae_loss = tuple(bool(value) for value in with_ae_loss)
        self.heatmaps_loss_factor = tuple(float(value) for value in heatmaps_loss_factor)
        self.push_loss_factor = tuple(float(value) for value in push_loss_factor)
        self.pull_loss_factor = tuple(float(value) for value in pull_loss_factor)
        self.heatmap_loss = HeatmapLoss()
        self.ae_loss = AssociativeEmbeddingLoss(ae_loss_type)

    @property
    def num_resolutions(self) -> int:
        """``S``, the supervised output resolutions."""
        return len(self.with_heatmaps_loss)

    def forward(
        self,
        outputs: Sequence[torch.Tensor],
        heatmaps: Sequence[torch.Tensor],
        masks: Sequence[torch.Tensor],
        joints: Sequence[torch.Tensor],
    ) -> MultiResolutionTerms:
        """Terms of one batch.

        Args:
            outputs: ``S`` network outputs ``(B, C_s, R_s, R_s)`` (heatmaps first, then tags).
            heatmaps: ``S`` targets ``(B, K, R_s, R_s)``.
            masks: ``S`` masks ``(B, R_s, R_s)``.
            joints: ``S`` tag-loss joints ``(B, M, K, 2)``.

        Returns:
            :class:`MultiResolutionTerms` with the factors applied.
        """
        count = self.num_resolutions
        for name, values in (("outputs", outputs), ("heatmaps", heatmaps), ("masks", masks), ("joints", joints)):
            if len(values) != count:
                raise ValueError(f"{name} must hold one entry per supervised resolution ({count}), got {len(values)}")
        heatmap_terms: list[torch.Tensor | None] = []
        push_terms: list[torch.Tensor | None] = []
        pull_terms: list[torch.Tensor | None] = []
        for stage, output in enumerate(outputs):
            offset = 0
            if self.with_heatmaps_loss[stage]:
                offset = self.num_keypoints
                term = self.heatmap_loss(output[:, : self.num_keypoints], heatmaps[stage], masks[stage])
                heatmap_terms.append(term * self.heatmaps_loss_factor[stage])
            else:
                heatmap_terms.append(None)
            if self.with_ae_loss[stage]:
                tags = output[:, offset:]  # (B, T, R, R)
                if tags.shape[1] == 0:
                    raise ValueError(f"output {stage} has no tag channels ({output.shape[1]} channels, K = {offset})")
                push, pull = self.ae_loss(tags, joints[stage])
                push_terms.append(push * self.push_loss_factor[stage])
                pull_terms.append(pull * self.pull_loss_factor[stage])
            else:
                push_terms.append(None)
                pull_terms.append(None)
        return MultiResolutionTerms(tuple(heatmap_terms), tuple(push_terms), tuple(pull_terms))


def total_loss(terms: MultiResolutionTerms) -> dict[str, torch.Tensor]:
    """The official ``do_train`` sum and the named terms to log.

    Per resolution with a heatmap loss: ``mean(heatmap) + mean(push) + mean(pull)`` over the batch
    (the official trainer adds push and pull only where that resolution also has a heatmap loss).

    Returns:
        ``{"loss": total, "heatmap_s": ..., "push_s": ..., "pull_s": ...}`` (``s`` the resolution index).
    """
    total: torch.Tensor | None = None
    named: dict[str, torch.Tensor] = {}
    for stage, heatmap in enumerate(terms.heatmaps):
        if heatmap is None:
            continue
        stage_total = heatmap.mean(dim=0)
        named[f"heatmap_{stage}"] = stage_total
        for name, values in (("push", terms.push), ("pull", terms.pull)):
            value = values[stage]
            if value is not None:
                named[f"{name}_{stage}"] = value.mean(dim=0)
                stage_total = stage_total + named[f"{name}_{stage}"]
        total = stage_total if total is None else total + stage_total
    if total is None:
        raise ValueError("no resolution has a heatmap loss: the official trainer would optimise nothing")
    return {"loss": total, **named}
