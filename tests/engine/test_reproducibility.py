"""RNG states: capture, restore, and survive a weights-only checkpoint."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from posekit.engine.reproducibility import configure_determinism, get_rng_state, seed_everything, set_rng_state
from posekit.io.checkpoint import load_checkpoint, save_checkpoint


def draw() -> tuple[float, float, float, float]:
    return random.random(), float(np.random.rand()), float(np.random.randn()), float(torch.rand(1))  # noqa: NPY002


def test_rng_state_round_trip_through_a_checkpoint(tmp_path: Path) -> None:
    seed_everything(5)
    np.random.randn()  # noqa: NPY002 - leaves a cached Gaussian in numpy's state
    state = get_rng_state()
    expected = draw()
    save_checkpoint(tmp_path / "rng.pt", {"rng": state})
    seed_everything(123)
    set_rng_state(load_checkpoint(tmp_path / "rng.pt")["rng"])
    assert draw() == expected


def test_seed_everything_is_repeatable_and_checks_its_range() -> None:
    seed_everything(7)
    first = draw()
    seed_everything(7)
    assert draw() == first
    with pytest.raises(ValueError, match="seed must be in"):
        seed_everything(-1)


def test_configure_determinism_switches_torch_flags() -> None:
    try:
        configure_determinism(True)
        assert torch.are_deterministic_algorithms_enabled() and not torch.backends.cudnn.benchmark
    finally:
        configure_determinism(False)
    assert not torch.are_deterministic_algorithms_enabled() and torch.backends.cudnn.benchmark
