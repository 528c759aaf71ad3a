"""The ``lift3d`` task's training: Adam with per-epoch decay, BatchNorm momentum decay, then export."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from posekit.engine import Trainer, unwrap_model
from posekit.engine.schedules import LRSchedule
from posekit.tasks.lift3d.config import Lift3DConfig
from posekit.tasks.lift3d.data import build_lifting_data
from posekit.tasks.lift3d.evaluate import evaluate_on_test_sequences
from posekit.tasks.lift3d.export import export_lifter, weights_info
from posekit.tasks.lift3d.losses import semi_supervised_loss, supervised_loss
from posekit.tasks.lift3d.model import LiftingTrainModule, build_train_module, lifter_from_train_module

__all__ = ["bn_momentum", "train"]


def bn_momentum(epoch: int, epochs: int, initial: float = 0.1, final: float = 0.001) -> float:
    """BatchNorm momentum during epoch ``epoch`` (0-based): ``initial * (final / initial) ** (epoch / epochs)``."""
    return float(initial * math.exp(-epoch / epochs * math.log(initial / final)))


def _set_bn_momentum(model: nn.Module, momentum: float) -> None:
    for module in model.modules():
        if isinstance(module, nn.BatchNorm1d):
            module.momentum = momentum


def train(config: Lift3DConfig) -> dict[str, Any]:
    """Train as configured, evaluate the result and export it (see the module docstring).

    Returns:
        The trainer's summary plus ``evaluation`` (the final metrics in mm, flip test-time
        augmentation as configured) and ``exported`` (the lifter file).
    """
    data = build_lifting_data(config)
    num_joints = data.skeleton.num_keypoints
    module = build_train_module(config, data.num_keypoints, num_joints)
    pad = (config.model.receptive_field() - 1) // 2
    causal_shift = pad if config.model.causal else 0
    epochs = config.train.epochs
    parents = data.skeleton.parents
    if parents is None:
        raise ValueError(f"skeleton {data.skeleton.name!r} has no parents (needed for the bone-length term)")
    semi = config.semi_supervised

    def loss_fn(model: nn.Module, batch: Any) -> dict[str, torch.Tensor]:
        labelled = batch["labelled"] if semi.enabled else batch
        epoch = int(labelled["epoch"])
        _set_bn_momentum(model, bn_momentum(epoch, epochs, config.bn_momentum_initial, config.bn_momentum_final))
        if semi.enabled:
            return semi_supervised_loss(
                model,
                batch,
                pad=pad,
                causal_shift=causal_shift,
                parents=parents,
                warmup=epoch < semi.warmup_epochs,
                projection=semi.projection,
                projection_term=semi.projection_term,
                bone_length_term=semi.bone_length_term,
                bone_length_weight=semi.bone_length_weight,
            )
        return supervised_loss(model, batch)

    def evaluate_fn(model: nn.Module) -> dict[str, float]:
        trained = unwrap_model(model)
        assert isinstance(trained, LiftingTrainModule)
        lifter = lifter_from_train_module(trained, config.model)
        metrics = evaluate_on_test_sequences(lifter, data, config, test_time_flip=False, by_subject=False)
        keep = ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve", "trajectory")
        return {name: value for name, value in metrics.items() if name in keep}

    optimizer = torch.optim.Adam(module.parameters(), lr=config.train.lr, amsgrad=config.amsgrad)
    scheduler = LRSchedule(
        optimizer,
        schedule="step",
        by="epoch",
        milestones=tuple(range(1, epochs)),
        gamma=config.lr_decay,
        total=epochs,
    )
    loader = data.semi if data.semi is not None else data.train
    trainer = Trainer(
        module,
        loader,
        loss_fn,
        config.train,
        evaluate_fn=evaluate_fn if config.evaluate_during_training else None,
        optimizer=optimizer,
        scheduler=scheduler,
        run_config=config,
    )
    summary = trainer.fit()
    if not trainer.is_main:
        return summary
    trained = unwrap_model(trainer.model)
    assert isinstance(trained, LiftingTrainModule)
    lifter = lifter_from_train_module(trained.cpu(), config.model)
    evaluation = evaluate_on_test_sequences(lifter, data, config)
    metadata = weights_info(config, data, trained, evaluation)
    exported = export_lifter(
        trained, Path(config.train.out_dir) / config.export_name, causal=config.model.causal, metadata=metadata
    )
    summary["evaluation"] = evaluation
    summary["exported"] = str(exported)
    return summary
