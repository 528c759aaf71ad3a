"""Optimisers and learning-rate schedules: per-iteration linear warmup, then step or cosine.

The schedule is the one the 2D pose recipes use (MMPose's HRNet/SimpleBaseline configs: a
``LinearLR`` warmup over the first 500 iterations starting at 0.001 of the base rate, then a
``MultiStepLR`` at epochs 170 and 200 with ``gamma=0.1``), written as one pure function of
the step and epoch so that resuming needs no scheduler state beyond the step counter::

    lr(step, epoch) = base_lr * warmup(step) * main(step, epoch)
    warmup(step)    = warmup_factor + (1 - warmup_factor) * step / warmup_iters  for step < warmup_iters, else 1
    main            = gamma ** (number of milestones <= t)                        "step"
                    = min_factor + (1 - min_factor) * (1 + cos(pi * t / T)) / 2      "cosine"
                    = 1                                                              "constant"

where ``t`` is the epoch index (``by="epoch"``, the rate changes at epoch boundaries) or the
step index (``by="step"``), and ``T`` the number of epochs or steps. Steps and epochs count
from 0: the first optimisation step is step 0 of epoch 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import nn

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("step", "cosine", "constant")


def build_optimizer(
    parameters: nn.Module | Iterable[torch.nn.Parameter],
    name: str,
    lr: float,
    weight_decay: float = 0.0,
    momentum: float = 0.9,
) -> torch.optim.Optimizer:
    """Build ``adam``, ``adamw`` or ``sgd`` over the trainable parameters.

    Args:
        parameters: a module (its parameters with ``requires_grad``) or an iterable of parameters.
        name: one of ``OPTIMIZERS``.
        lr: base learning rate.
        weight_decay: L2 penalty (decoupled for ``adamw``).
        momentum: SGD momentum (ignored by Adam).
    """
    if isinstance(parameters, nn.Module):
        parameters = [parameter for parameter in parameters.parameters() if parameter.requires_grad]
    parameter_list = list(parameters)
    if not parameter_list:
        raise ValueError("the model has no trainable parameters")
    if lr <= 0:
        raise ValueError(f"lr must be positive, got {lr}")
    if name == "adam":
        return torch.optim.Adam(parameter_list, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(parameter_list, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(parameter_list, lr=lr, momentum=momentum, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}; expected one of: {', '.join(OPTIMIZERS)}")


def lr_factor(
    step: int,
    epoch: int,
    schedule: str = "step",
    by: str = "epoch",
    milestones: Sequence[int] = (),
    gamma: float = 0.1,
    total: int = 1,
    min_factor: float = 0.0,
    warmup_iters: int = 0,
    warmup_factor: float = 0.001,
) -> float:
    """Multiplier of the base learning rate at optimisation step ``step`` (0-based) of ``epoch``.

    Args:
        step: global step index, counting from 0.
        epoch: epoch index of that step, counting from 0.
        schedule: ``"step"`` (multistep decay), ``"cosine"`` or ``"constant"``.
        by: ``"epoch"`` or ``"step"``: the unit of ``milestones`` and ``total``.
        milestones: decay points for ``"step"``; the factor is ``gamma ** #{m <= t}``.
        gamma: decay per milestone.
        total: length of the cosine period (epochs or steps); past it the factor stays at ``min_factor``.
        min_factor: final cosine factor (``eta_min / base_lr``).
        warmup_iters: number of linear-warmup steps (always counted in steps).
        warmup_factor: warmup's factor at step 0.
    """
    if by not in ("epoch", "step"):
        raise ValueError(f"schedule unit must be 'epoch' or 'step', got {by!r}")
    position = epoch if by == "epoch" else step
    if schedule == "step":
        main = gamma ** sum(1 for milestone in milestones if milestone <= position)
    elif schedule == "cosine":
        if total <= 0:
            raise ValueError(f"cosine schedule needs a positive length, got {total}")
        progress = min(position, total) / total
        main = min_factor + (1.0 - min_factor) * 0.5 * (1.0 + math.cos(math.pi * progress))
    elif schedule == "constant":
        main = 1.0
    else:
        raise ValueError(f"unknown schedule {schedule!r}; expected one of: {', '.join(SCHEDULES)}")
    warmup = 1.0
    if warmup_iters > 0 and step < warmup_iters:
        warmup = warmup_factor + (1.0 - warmup_factor) * step / warmup_iters
    return warmup * main


class LRSchedule:
    """Set every parameter group's learning rate to ``base_lr * lr_factor(step, epoch)``.

    Unlike ``torch.optim.lr_scheduler`` objects, it is stateless apart from the base rates: the
    trainer calls :meth:`apply` with the step and epoch before each optimisation step, so a
    resumed run sets exactly the rate the uninterrupted run would have.

    Args:
        optimizer: its groups' current ``lr`` values become the base rates (stored in the group
            as ``initial_lr``, as torch schedulers do, so they survive ``optimizer.state_dict()``).
        **factor_arguments: the keyword arguments of :func:`lr_factor` other than step and epoch.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, **factor_arguments: Any) -> None:
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.factor_arguments = dict(factor_arguments)
        lr_factor(0, 0, **self.factor_arguments)  # validate the arguments now, not at step 0

    @property
    def base_lrs(self) -> list[float]:
        """Base learning rate of each parameter group."""
        return [float(group["initial_lr"]) for group in self.optimizer.param_groups]

    def factor(self, step: int, epoch: int) -> float:
        """The multiplier at ``(step, epoch)``."""
        return lr_factor(step, epoch, **self.factor_arguments)

    def apply(self, step: int, epoch: int) -> list[float]:
        """Set and return the learning rates for optimisation step ``step`` of ``epoch``."""
        factor = self.factor(step, epoch)
        rates = []
        for group in self.optimizer.param_groups:
            group["lr"] = float(group["initial_lr"]) * factor
            rates.append(group["lr"])
        return rates

    def state_dict(self) -> dict[str, Any]:
        """The base rates (the schedule itself is rebuilt from the config)."""
        return {"base_lrs": self.base_lrs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the base rates saved by :meth:`state_dict`."""
        base_lrs = list(state["base_lrs"])
        if len(base_lrs) != len(self.optimizer.param_groups):
            raise ValueError(
                f"schedule state has {len(base_lrs)} parameter groups, the optimizer {len(self.optimizer.param_groups)}"
            )
        for group, base_lr in zip(self.optimizer.param_groups, base_lrs, strict=True):
            group["initial_lr"] = float(base_lr)
