"""Lifter: a pose model and its trajectory model; folding keeps the outputs."""

from __future__ import annotations

import pytest
import torch

from posekit.models.lift3d import Lifter, TemporalModel


def randomize_batchnorm(model: torch.nn.Module, seed: int = 0) -> None:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                size = module.num_features
                assert module.running_mean is not None and module.running_var is not None
                module.running_mean.copy_(torch.rand(size, generator=generator) - 0.5)
                module.running_var.copy_(torch.rand(size, generator=generator) + 0.5)
                module.weight.copy_(torch.rand(size, generator=generator) + 0.5)
                module.bias.copy_(torch.rand(size, generator=generator) - 0.5)


def small_model(
    widths: list[int] | None = None,
    *,
    causal: bool = False,
    joints_out: int = 17,
    dtype: torch.dtype = torch.float32,
    seed: int = 0,
) -> TemporalModel:
    torch.manual_seed(seed)
    model = TemporalModel(17, 2, joints_out, widths or [3, 3, 3], causal=causal, channels=32)
    randomize_batchnorm(model, seed)
    return model.to(dtype).eval()


def test_lifter_folded_keeps_outputs() -> None:
    lifter = Lifter(small_model(), small_model(joints_out=1, seed=3))
    folded = lifter.folded()
    inputs = torch.randn(1, 60, 17, 2)
    with torch.no_grad():
        torch.testing.assert_close(folded(inputs), lifter(inputs), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(
            folded.forward_trajectory(inputs), lifter.forward_trajectory(inputs), rtol=1e-5, atol=1e-5
        )
    with pytest.raises(ValueError, match="already folded"):
        folded.folded()
    with pytest.raises(ValueError, match="no trajectory"):
        Lifter(small_model()).forward_trajectory(inputs)
