"""Training of the ``pose2d_bottomup`` task: :func:`train` runs :class:`posekit.engine.Trainer`.

Legend: ``B`` batch, ``K`` keypoints, ``S`` output resolutions.

The step is the official ``do_train``: the model's outputs at every resolution, the
per-resolution heatmap / push / pull terms of :class:`~posekit.losses.associative_embedding.MultiResolutionAELoss`,
summed. The model is given to the trainer as it is (its ``forward`` returns the list of outputs),
so ``DistributedDataParallel`` under ``torchrun`` wraps the call that makes the gradients.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from posekit.data.bottomup import BottomUpDataset
from posekit.data.transforms import collate
from posekit.engine import Trainer
from posekit.engine.trainer import resolve_device
from posekit.tasks.bottomup.config import BottomUpConfig
from posekit.tasks.bottomup.data import build_codec, build_model, load_records, train_transform
from posekit.tasks.bottomup.evaluate import evaluate_model
from posekit.tasks.bottomup.losses import build_loss, training_losses


def train(config: BottomUpConfig) -> dict[str, Any]:
    """Train the configured bottom-up model; returns the :meth:`posekit.engine.Trainer.fit` summary.

    Writes ``last.pt``, ``best.pt`` (by ``train.best_metric``, default ``AP`` when there is a
    validation file), ``metrics.jsonl``, ``curves.png`` and ``config.json`` into ``train.out_dir``.
    """
    model = build_model(config)
    codec = build_codec(config, model)
    loss = build_loss(config.loss, model)
    records = load_records(config, "train")
    dataset = BottomUpDataset(records, train_transform(config, model, codec), missing_images=config.data.missing_images)
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

    def loss_fn(wrapped: nn.Module, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        outputs = wrapped(batch["image"])
        return training_losses(outputs, batch, loss)

    train_config = config.train
    evaluate_fn: Callable[[nn.Module], dict[str, float]] | None = None
    if config.data.val_annotations:
        val_records = load_records(config, "val")
        device = resolve_device(train_config.device)

        def evaluate_validation(trained: nn.Module) -> dict[str, float]:
            return evaluate_model(config, model, val_records, device)

        evaluate_fn = evaluate_validation
        if train_config.best_metric is None:
            train_config = dataclasses.replace(train_config, best_metric="AP")
    elif train_config.best_metric is not None:
        raise ValueError("train.best_metric is set but data.val_annotations is empty: nothing to evaluate")
    trainer = Trainer(model, loader, loss_fn, train_config, evaluate_fn=evaluate_fn, run_config=config)
    return trainer.fit()
