"""Training-step and inference time of the tiny CPU variants of the 2D single-person models.

For every tiny variant (the ones the synthetic-data recipes train), this measures the mean time
of a training step (forward of every stage, a mean-squared loss on every stage's outputs,
backward, SGD update) and of an eval-mode forward, on random images at the model's input size.
It answers "does this model train on 2 CPU cores in minutes?": steps per minute at the batch size.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_pose2d_tiny.py --batch-size 16 --steps 5 --threads 2

The machine's other load changes the figures; compare models within one run.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

import torch

from posekit.models.pose2d.base import Pose2DModel
from posekit.models.registry import get_model

TINY_MODELS = (
    "simplebaseline_res18_128x96",
    "hrnet_w16_128x96",
    "hourglass_2stack_128x128",
    "cpm_tiny_128x128",
    "deeppose_res18_128x96",
    "ief_res18_128x96",
    "integral_res18_128x96",
    "dscnn_res18_128x96",
)
MODULES = ("simplebaseline", "hrnet", "stacked_hourglass", "cpm", "deeppose", "ief", "integral", "dscnn")


def time_model(model: Pose2DModel, batch_size: int, steps: int) -> tuple[float, float]:
    """Mean seconds of one training step and of one eval forward (after one warm-up step)."""
    width, height = model.input_size
    images = torch.randn(batch_size, 3, height, width)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4)

    def train_step() -> None:
        outputs = model.forward_outputs(images)
        loss = sum(stage.square().mean() for stage in outputs.stage_heatmaps + outputs.stage_coordinates)
        assert isinstance(loss, torch.Tensor)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    model.train()
    train_step()
    start = time.perf_counter()
    for _ in range(steps):
        train_step()
    train_seconds = (time.perf_counter() - start) / steps
    model.eval()
    with torch.no_grad():
        model(images)
        start = time.perf_counter()
        for _ in range(steps):
            model(images)
    return train_seconds, (time.perf_counter() - start) / steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models", nargs="*", default=list(TINY_MODELS))
    arguments = parser.parse_args(argv)
    torch.set_num_threads(arguments.threads)
    torch.manual_seed(0)
    for module in MODULES:
        importlib.import_module(f"posekit.models.pose2d.{module}")
    print(f"batch {arguments.batch_size}, {arguments.threads} threads, mean of {arguments.steps} steps")
    print(f"{'model':<28} {'params':>10} {'train s/step':>13} {'steps/min':>10} {'eval s/batch':>13}")
    for name in arguments.models:
        model = get_model(name)
        assert isinstance(model, Pose2DModel)
        parameters = sum(parameter.numel() for parameter in model.parameters())
        train_seconds, eval_seconds = time_model(model, arguments.batch_size, arguments.steps)
        print(f"{name:<28} {parameters:>10,} {train_seconds:>13.3f} {60 / train_seconds:>10.1f} {eval_seconds:>13.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
