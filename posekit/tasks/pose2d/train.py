"""Training of the ``pose2d`` task: the model as the trainer sees it, precise BN, and :func:`train`.

Legend: ``B`` batch, ``K`` keypoints, ``S`` stages, input ``(w, h)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from posekit.data.keypoints2d import PersonRecords, TopDownDataset
from posekit.data.transforms import TopDownTransform, collate
from posekit.engine import Trainer
from posekit.engine.trainer import resolve_device
from posekit.geometry import affine_transform_points
from posekit.models.pose2d.base import Pose2DModel
from posekit.skeletons import get_skeleton
from posekit.tasks.pose2d.config import CascadeConfig, Pose2DConfig
from posekit.tasks.pose2d.data import build_codec_for_model, build_model, load_records, train_transform
from posekit.tasks.pose2d.evaluate import evaluate_model
from posekit.tasks.pose2d.losses import Pose2DLosses, training_losses


class Pose2DTrainingView(nn.Module):
    """The model as the trainer sees it: ``forward`` returns every stage's outputs.

    The view shares the model's submodules, parameters and buffers (same ``state_dict`` names, so
    its checkpoints load into the plain model with ``get_model(name, weights=...)``) and its
    ``forward`` is what the loss needs, so that ``DistributedDataParallel`` wraps the call that
    produces the gradients.

    ``forward(images)`` returns ``{"heatmaps": [S x (B, K(+1), H, W)], "coordinates": [S x (B, K, 2)]}``;
    for IEF ``{"estimates": [...], "corrections": [...]}`` (:meth:`forward_corrections`); for a
    DeepPose trained at stage ``s``, the coordinates of stages ``0..s``. ``forward(images, labels)``
    (DeepPose in training mode, ``cascade.simulated_fraction > 0``) feeds the refinement stages a
    mix of the previous stage's estimates and simulated ones (:class:`CascadeConfig`).

    Args:
        model: the 2D model.
        stage: DeepPose stage being trained (the others are frozen and kept in eval mode).
        cascade: DeepPose refinement feeding (default: the previous stage's estimates only).
    """

    def __init__(self, model: Pose2DModel, stage: int | None = None, cascade: CascadeConfig | None = None) -> None:
        super().__init__()
        from posekit.models.pose2d.deeppose import DeepPose

        if stage is not None:
            if not isinstance(model, DeepPose):
                raise ValueError(f"stage is for DeepPose cascades only, got a {type(model).__name__}")
            if not 0 <= stage < model.num_stages:
                raise ValueError(f"stage must be in [0, {model.num_stages}), got {stage}")
            for index, module in enumerate(model.stages):
                module.requires_grad_(index == stage)
        # Share (not copy) the model's registries: identical state_dict names, no "model." prefix.
        self.__dict__["pose_model"] = model
        self._modules = model._modules
        self._parameters = model._parameters
        self._buffers = model._buffers
        self._non_persistent_buffers_set = model._non_persistent_buffers_set
        self.stage = stage
        self.cascade = cascade if cascade is not None else CascadeConfig()

    @property
    def model(self) -> Pose2DModel:
        """The wrapped 2D model."""
        model: Pose2DModel = self.__dict__["pose_model"]
        return model

    def train(self, mode: bool = True) -> Pose2DTrainingView:
        """Set training mode on the model (frozen DeepPose stages stay in eval mode)."""
        super().train(mode)
        self.model.training = mode
        stages = getattr(self.model, "stages", None)
        if self.stage is not None and isinstance(stages, nn.ModuleList):
            for index, module in enumerate(stages):
                if index != self.stage:
                    module.eval()
        return self

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, list[torch.Tensor]]:
        """Every stage's outputs for ``images (B, 3, h, w)`` (see the class docstring).

        Args:
            images: ``(B, 3, h, w)`` network inputs.
            labels: ``(B, K, 2)`` normalised ground truth, used only to simulate DeepPose estimates.
        """
        from posekit.models.pose2d.deeppose import DeepPose
        from posekit.models.pose2d.ief import IterativeErrorFeedback

        model = self.model
        if isinstance(model, IterativeErrorFeedback):
            estimates, corrections = model.forward_corrections(images)
            return {"estimates": estimates, "corrections": corrections}
        simulate = self.training and labels is not None and self.cascade.simulated_fraction > 0
        if isinstance(model, DeepPose) and (self.stage is not None or simulate):
            last = self.stage if self.stage is not None else model.num_stages - 1
            coordinates = model.initial_estimate(images)
            stages = [coordinates]
            for stage in range(1, last + 1):
                fed = coordinates.detach()
                if simulate:
                    assert labels is not None
                    fed = self._simulated_estimates(model, fed, labels)
                coordinates = model.refine(images, fed, stage)
                stages.append(coordinates)
            return {"coordinates": stages}
        outputs = model.forward_outputs(images)
        return {"heatmaps": outputs.stage_heatmaps, "coordinates": outputs.stage_coordinates}

    def _simulated_estimates(self, model: Pose2DModel, estimates: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Replace a random ``simulated_fraction`` of ``estimates (B, K, 2)`` by jittered ``labels``."""
        if labels.shape != estimates.shape:
            raise ValueError(f"labels must have shape {tuple(estimates.shape)} (B, K, 2), got {tuple(labels.shape)}")
        crop_size = getattr(model, "crop_size", model.input_size)
        std = (
            torch.tensor(
                [crop_size[0] / model.input_size[0], crop_size[1] / model.input_size[1]],
                dtype=estimates.dtype,
                device=estimates.device,
            )
            * self.cascade.simulated_std
        )  # (2,) normalised units
        simulated = labels.to(estimates.dtype) + torch.randn_like(estimates) * std
        chosen = torch.rand(estimates.shape[:2], device=estimates.device) < self.cascade.simulated_fraction  # (B, K)
        return torch.where(chosen[..., None], simulated, estimates)


def _set_ief_mean_pose(model: nn.Module, records: PersonRecords, transform: TopDownTransform) -> None:
    from posekit.models.pose2d.ief import IterativeErrorFeedback

    if not isinstance(model, IterativeErrorFeedback):
        return
    matrices = np.stack(
        [
            transform.warp_matrix(center, scale, 0.0)
            for center, scale in zip(records.centers, records.scales, strict=True)
        ]
    )  # (N, 2, 3)
    crop = affine_transform_points(records.keypoints.astype(np.float64), matrices)  # (N, K, 2) crop pixels
    labels = torch.from_numpy(crop / np.asarray(model.input_size, dtype=np.float64)).float()
    model.set_mean_pose(labels, torch.from_numpy(records.visible))


def train(config: Pose2DConfig) -> dict[str, Any]:
    """Train the configured model; returns the :meth:`posekit.engine.Trainer.fit` summary.

    The trainer writes ``last.pt``, ``best.pt`` (by ``train.best_metric``, default the eval
    metric's headline number), ``metrics.jsonl``, ``curves.png`` and ``config.json`` into
    ``train.out_dir``.
    """
    model = build_model(config)
    skeleton = get_skeleton(config.data.skeleton)
    codec = build_codec_for_model(model, config.data)
    transform = train_transform(config, model, codec, skeleton)
    records = load_records(config, "train", model.input_size)
    dataset = TopDownDataset(records, transform, missing_images=config.data.missing_images)
    _set_ief_mean_pose(model, dataset.records, transform)
    batch_size = min(config.data.batch_size, len(dataset))
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        num_workers=config.data.workers,
        collate_fn=collate,
        drop_last=len(dataset) >= 2 * batch_size,
        persistent_workers=config.data.workers > 0,
    )
    view = Pose2DTrainingView(model, config.stage, config.cascade)
    losses = Pose2DLosses(config.loss)

    def loss_fn(wrapped: nn.Module, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        if config.cascade.simulated_fraction > 0 and "keypoint_labels" in batch:
            outputs = wrapped(batch["image"], batch["keypoint_labels"])
        else:
            outputs = wrapped(batch["image"])
        return training_losses(outputs, batch, model, losses, config.stage)

    train_config = config.train
    evaluate_fn: Callable[[nn.Module], dict[str, float]] | None = None
    if config.data.val_annotations:
        val_records = load_records(config, "val", model.input_size)
        device = resolve_device(train_config.device)

        def evaluate_validation(trained: nn.Module) -> dict[str, float]:
            if config.eval.precise_bn_batches > 0:
                recompute_batchnorm_statistics(view, loader, config.eval.precise_bn_batches, device)
            return evaluate_model(config, model, codec, val_records, device)

        evaluate_fn = evaluate_validation
        if train_config.best_metric is None:
            train_config = dataclasses.replace(train_config, best_metric=_headline_metric(config.eval.metric))
    elif train_config.best_metric is not None:
        raise ValueError("train.best_metric is set but data.val_annotations is empty: nothing to evaluate")
    trainer = Trainer(view, loader, loss_fn, train_config, evaluate_fn=evaluate_fn, run_config=config)
    return trainer.fit()


@torch.no_grad()
def recompute_batchnorm_statistics(
    model: nn.Module, loader: Iterable[Mapping[str, Any]], num_batches: int, device: torch.device | str = "cpu"
) -> int:
    """Recompute BatchNorm running statistics with the current weights ("precise BN").

    During training the running mean and variance are exponential moving averages over batches
    seen while the weights kept changing, so they lag the final weights; a network whose output
    depends on absolute feature levels (global pooling then a linear regressor, as DeepPose)
    then predicts differently in eval mode. Here every BatchNorm layer in training mode is reset
    and its statistics become the plain average over ``num_batches`` batches of ``loader``
    (Wu & Johnson, "Rethinking 'Batch' in BatchNorm", 2021, Sec. 3). Layers in eval mode (frozen
    DeepPose stages) keep theirs. Momentum and the training mode are restored afterwards.

    Args:
        model: called as ``model(batch["image"])``; put in training mode here.
        loader: yields batches with ``image (B, 3, h, w)``.
        num_batches: batches to average over (at least 1).
        device: where the images go.

    Returns:
        The number of batches used (fewer when the loader is shorter).
    """
    if num_batches < 1:
        raise ValueError(f"num_batches must be >= 1, got {num_batches}")
    was_training = model.training
    model.train()
    norms = [
        module
        for module in model.modules()
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.training and module.track_running_stats
    ]
    if not norms:
        model.train(was_training)
        return 0
    momenta = [module.momentum for module in norms]
    for module in norms:
        module.reset_running_stats()
        module.momentum = None  # cumulative average over the batches below
    used = 0
    try:
        for batch in loader:
            if used >= num_batches:
                break
            model(batch["image"].to(device))
            used += 1
    finally:
        for module, momentum in zip(norms, momenta, strict=True):
            module.momentum = momentum
        model.train(was_training)
    return used


def _headline_metric(metric: str) -> str:
    return {"coco_ap": "AP", "pckh": "PCKh", "pck": "PCK"}[metric]
