"""Per-step overhead of posekit's Trainer against a plain hand-written training loop.

Both train the same model with Adam on the same in-memory batches, in one process, alternating
runs so that machine load hits both alike. ``--model linear`` (a 16 -> 16 linear layer, almost no
compute) measures the Trainer's absolute bookkeeping cost per step; ``--model conv`` (3 conv
layers on 32x24 inputs, heatmap-style output) shows it beside a little real compute. The Trainer
adds: the NaN check (one host sync), RNG-state capture at every step boundary (for exact
resume), loss-term bookkeeping, the learning-rate schedule, JSONL logging every ``log_every``
steps, and an epoch-end checkpoint.

    .venv/bin/python benchmarks/engine_overhead.py --model linear --steps 500 --repeats 5
    .venv/bin/python benchmarks/engine_overhead.py --model conv --steps 200 --repeats 5 --batch-size 4
"""

from __future__ import annotations

import argparse
import tempfile
import time
from typing import Any

import torch
from torch import nn

from posekit.engine import TrainConfig, Trainer

MODEL_KIND = "conv"


def make_model() -> nn.Module:
    torch.manual_seed(0)
    if MODEL_KIND == "linear":
        return nn.Linear(16, 16)
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 17, 1)
    )


def make_batches(steps: int, batch_size: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(0)
    if MODEL_KIND == "linear":
        return [
            (torch.randn(batch_size, 16, generator=generator), torch.randn(batch_size, 16, generator=generator))
        ] * steps
    images = torch.randn(batch_size, 3, 32, 24, generator=generator)
    targets = torch.rand(batch_size, 17, 32, 24, generator=generator)
    return [(images, targets)] * steps


def loss_fn(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> dict[str, torch.Tensor]:
    images, targets = batch
    loss = ((model(images) - targets) ** 2).mean()
    return {"loss": loss, "heatmap": loss}


def plain_loop(batches: list[Any]) -> float:
    model = make_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    for batch in batches:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model, batch)["loss"]
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - start) / len(batches)


def trainer_loop(batches: list[Any]) -> float:
    with tempfile.TemporaryDirectory() as out_dir:
        config = TrainConfig(epochs=1, lr=1e-3, log_every=50, out_dir=out_dir, progress=False, curves=False)
        trainer = Trainer(make_model(), batches, loss_fn, config)
        start = time.perf_counter()
        trainer.fit()
        return (time.perf_counter() - start) / len(batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("linear", "conv"), default="conv")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    global MODEL_KIND
    MODEL_KIND = args.model
    batches = make_batches(args.steps, args.batch_size)
    plain_loop(batches[:5])  # warm up
    plain_times, trainer_times = [], []
    for _ in range(args.repeats):
        plain_times.append(plain_loop(batches))
        trainer_times.append(trainer_loop(batches))
    plain, trained = min(plain_times), min(trainer_times)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, model {args.model}, {args.steps} steps")
    print(f"plain loop : {plain * 1e3:.3f} ms/step (best of {args.repeats})")
    print(f"Trainer    : {trained * 1e3:.3f} ms/step (best of {args.repeats}, incl. one checkpoint)")
    print(f"ratio      : {trained / plain:.3f}  (overhead {(trained - plain) * 1e3:.3f} ms/step)")


if __name__ == "__main__":
    main()
