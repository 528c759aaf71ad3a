"""A tiny regression problem for the engine tests (and the DDP script run under torchrun).

y = x @ W + b with 4 inputs and 2 outputs; the dataset adds noise from the global Python, numpy
and torch generators in ``__getitem__`` (like data augmentation does), and the model has dropout,
so exact resume is only possible when every RNG state is saved and restored.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

NUM_SAMPLES = 24
IN_FEATURES = 4
OUT_FEATURES = 2


class NoisyRegression(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """``NUM_SAMPLES`` pairs ``(x (4,), y (2,))``; ``augment`` adds RNG-driven noise to ``x``."""

    def __init__(self, augment: bool = True) -> None:
        generator = torch.Generator().manual_seed(1234)
        self.inputs = torch.randn(NUM_SAMPLES, IN_FEATURES, generator=generator)
        weight = torch.randn(IN_FEATURES, OUT_FEATURES, generator=generator)
        self.targets = self.inputs @ weight + 0.5
        self.augment = augment

    def __len__(self) -> int:
        return NUM_SAMPLES

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        inputs = self.inputs[index].clone()
        if self.augment:
            noise = 0.01 * (torch.randn(IN_FEATURES) + float(np.random.randn()) + random.gauss(0.0, 1.0))  # noqa: NPY002
            inputs = inputs + noise
        return inputs, self.targets[index]


def make_model(seed: int = 0, dropout: float = 0.1) -> nn.Module:
    """A 4 -> 16 -> 2 MLP with dropout, initialised from ``seed``."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(IN_FEATURES, 16), nn.ReLU(), nn.Dropout(dropout), nn.Linear(16, OUT_FEATURES))


def make_loader(batch_size: int = 4, shuffle: bool = True, augment: bool = True) -> DataLoader[Any]:
    """A loader over :class:`NoisyRegression`."""
    return DataLoader(NoisyRegression(augment=augment), batch_size=batch_size, shuffle=shuffle)


def loss_fn(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Mean squared error (optimised) plus the L1 error (logged)."""
    inputs, targets = batch
    prediction = model(inputs)
    mse = ((prediction.float() - targets) ** 2).mean()
    l1 = (prediction.float() - targets).abs().mean()
    return {"loss": mse, "mse": mse, "l1": l1}


def evaluate(model: nn.Module) -> dict[str, float]:
    """Mean squared error on the clean data set."""
    dataset = NoisyRegression(augment=False)
    with torch.no_grad():
        prediction = model(dataset.inputs)
    return {"mse": float(((prediction - dataset.targets) ** 2).mean())}
