"""Small VideoPose3D models with non-trivial BatchNorm statistics, for lifter tests."""

from __future__ import annotations

import torch

from posekit.models.lift3d import TemporalModel


def randomize_batchnorm(model: torch.nn.Module, seed: int = 0) -> None:
    """Give every BatchNorm non-trivial running statistics and affine parameters."""
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
    """A 17-joint 2D -> ``joints_out`` 3D model with 32 channels (filter widths 3, 3, 3 by default), in eval mode."""
    torch.manual_seed(seed)
    model = TemporalModel(17, 2, joints_out, widths or [3, 3, 3], causal=causal, channels=32)
    randomize_batchnorm(model, seed)
    return model.to(dtype).eval()
