"""Loss composition of the ``pose2d_bottomup`` task: model outputs + codec targets -> named terms.

Legend: ``B`` batch, ``K`` keypoints, ``S`` output resolutions. The terms and their sum are the
official ``MultiLossFactory`` and ``do_train`` (:mod:`posekit.losses.associative_embedding`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch

from posekit.losses.associative_embedding import MultiResolutionAELoss, total_loss
from posekit.tasks.bottomup.config import LossConfig

if TYPE_CHECKING:
    from posekit.models.bottomup.higher_hrnet import HigherHRNet


def build_loss(config: LossConfig, model: HigherHRNet) -> MultiResolutionAELoss:
    """The per-resolution loss, unset lists derived from the model (tags where its outputs carry them)."""
    count = len(model.with_tags)

    def per_resolution(name: str, values: Sequence[Any] | None, default: Any) -> tuple[Any, ...]:
        chosen = tuple(values) if values is not None else (default,) * count
        if len(chosen) != count:
            raise ValueError(f"loss.{name} needs one value per model output ({count}), got {len(chosen)}")
        return chosen

    with_ae_loss = per_resolution("with_ae_loss", config.with_ae_loss, None)
    if config.with_ae_loss is None:
        with_ae_loss = tuple(bool(flag) for flag in model.with_tags)
    for index, (wanted, present) in enumerate(zip(with_ae_loss, model.with_tags, strict=True)):
        if wanted and not present:
            raise ValueError(f"loss.with_ae_loss[{index}] is set but model output {index} carries no tags")
    return MultiResolutionAELoss(
        model.num_joints,
        with_heatmaps_loss=per_resolution("with_heatmaps_loss", config.with_heatmaps_loss, True),
        heatmaps_loss_factor=per_resolution("heatmaps_loss_factor", config.heatmaps_loss_factor, 1.0),
        with_ae_loss=with_ae_loss,
        push_loss_factor=per_resolution("push_loss_factor", config.push_loss_factor, 0.001),
        pull_loss_factor=per_resolution("pull_loss_factor", config.pull_loss_factor, 0.001),
        ae_loss_type=config.ae_loss_type,
    )


def training_losses(
    outputs: Sequence[torch.Tensor], batch: Mapping[str, Any], loss: MultiResolutionAELoss
) -> dict[str, torch.Tensor]:
    """The named terms of one batch.

    Args:
        outputs: the model's ``S`` outputs ``(B, K(+T), R_s, R_s)``.
        batch: collated :class:`posekit.data.bottomup.BottomUpDataset` samples (``heatmaps_s``,
            ``masks_s``, ``joints_s`` per resolution).
        loss: the per-resolution loss.

    Returns:
        ``{"loss": total, "heatmap_s": ..., "push_s": ..., "pull_s": ...}``.
    """
    count = loss.num_resolutions
    if len(outputs) != count:
        raise ValueError(f"the model returned {len(outputs)} outputs; the loss supervises {count} resolutions")
    heatmaps = [batch[f"heatmaps_{index}"] for index in range(count)]
    masks = [batch[f"masks_{index}"] for index in range(count)]
    joints = [batch[f"joints_{index}"] for index in range(count)]
    return total_loss(loss(list(outputs), heatmaps, masks, joints))
