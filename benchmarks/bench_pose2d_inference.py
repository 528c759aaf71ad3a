"""CPU forward latency of every registered 2D single-person model (torch eager, 2 threads, batch 1).

Each model runs ``model(images)`` under ``torch.inference_mode`` on random ImageNet-normalised
input at its own input size (one warm-up, then the median of ``--repeats`` runs). A reference
model (``simplebaseline_res50_256x192``) is timed again after every model, interleaved, and the
table reports each model's latency divided by the reference's measured next to it, which keeps
the ratio meaningful on a shared, loaded machine. Parameters are counted exactly; GFLOPs are not
estimated.

Run: ``.venv/bin/python benchmarks/bench_pose2d_inference.py [--models all|NAME,...] [--repeats 3] [--threads 2]``
"""

from __future__ import annotations

# ruff: noqa: E402  (OMP_WAIT_POLICY must be set before torch is imported)
import os
import sys

# Before torch loads OpenMP: on a shared, oversubscribed machine OpenMP's default spin-waiting made
# torch 10-15x slower at batch 1 (measured here: SimpleBaseline-R50 7.0 s -> 0.3-0.5 s per image).
# ``--spin`` keeps the library defaults (read from argv here because it must precede the torch import).
if "--spin" not in sys.argv:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import statistics
import time

import torch

from posekit.models.pose2d.base import Pose2DModel
from posekit.models.registry import get_model, list_models

REFERENCE = "simplebaseline_res50_256x192"
POSE2D_PREFIXES = ("simplebaseline_", "hrnet_", "hourglass_", "cpm_", "deeppose_", "ief_", "integral_", "dscnn_")


def build(name: str) -> Pose2DModel:
    torch.manual_seed(0)
    model = get_model(name)
    assert isinstance(model, Pose2DModel)
    return model.eval()


def latency(model: Pose2DModel, batch: int, repeats: int) -> float:
    """Median seconds of one forward pass on ``batch`` random images (after one warm-up)."""
    width, height = model.input_size
    images = torch.randn(batch, 3, height, width, generator=torch.Generator().manual_seed(0))
    times = []
    with torch.inference_mode():
        model(images)
        for _ in range(repeats):
            start = time.perf_counter()
            model(images)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="all", help="all, or comma-separated names")
    parser.add_argument("--batch", type=int, default=1, help="images per forward pass (default 1)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs (median; default 3)")
    parser.add_argument(
        "--spin", action="store_true", help="keep OpenMP / onnxruntime spin-waiting (default: passive waits)"
    )
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    names = (
        [name for name in list_models() if name.startswith(POSE2D_PREFIXES)]
        if args.models == "all"
        else [name.strip() for name in args.models.split(",") if name.strip()]
    )
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'default')}, "
        f"load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print("| model | input (w x h) | output | params (M) | latency (ms) | reference (ms) | ratio to reference |")
    print("|---|---|---|---|---|---|---|")
    reference = build(REFERENCE)
    for name in names:
        model = build(name)
        seconds = latency(model, args.batch, args.repeats)
        reference_seconds = latency(reference, args.batch, args.repeats)
        width, height = model.input_size
        parameters = sum(parameter.numel() for parameter in model.parameters()) / 1e6
        print(
            f"| {name} | {width} x {height} | {model.output_kind} | {parameters:.1f} | {seconds * 1e3:.1f} | "
            f"{reference_seconds * 1e3:.1f} | {seconds / reference_seconds:.2f} |",
            flush=True,
        )
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
