"""CPU latency of the 2D models in torch and in onnxruntime, batch 1 and 8, at each model's input size.

Each model is exported with :func:`posekit.export.onnx.export_pose2d_onnx` (checked: max abs
diff vs torch reported), then torch (eager, ``inference_mode``) and onnxruntime (CPU execution
provider, all graph optimisations) run the same random input in alternation, so that both see
the same machine load; the table reports medians and the ratio ``torch / onnxruntime`` (> 1:
onnxruntime is faster). Both use ``--threads`` threads (default 2).

Run: ``.venv/bin/python benchmarks/bench_onnx.py [--models default|all|NAME,...] [--repeats 3] [--threads 2]``

``default`` is the 256x192-class model of the families whose cost allows it on a small CPU
(SimpleBaseline-R50, HRNet-W32, Hourglass-2, DS-CNN-R50) and every tiny ``_128x96`` /
``_128x128`` variant (one per family); ``all`` is every registered 2D model (tens of minutes on 2 cores).
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
import tempfile
import time
from pathlib import Path

import torch

from posekit.export.onnx import export_pose2d_onnx
from posekit.models.pose2d.base import Pose2DModel
from posekit.models.registry import get_model, list_models

DEFAULT_MODELS = (
    "simplebaseline_res50_256x192",
    "hrnet_w32_256x192",
    "hourglass_2stack_256x256",
    "dscnn_res50_256x192",
    "simplebaseline_res18_128x96",
    "hrnet_w16_128x96",
    "hourglass_2stack_128x128",
    "cpm_tiny_128x128",
    "deeppose_res18_128x96",
    "ief_res18_128x96",
    "integral_res18_128x96",
    "dscnn_res18_128x96",
)
POSE2D_PREFIXES = ("simplebaseline_", "hrnet_", "hourglass_", "cpm_", "deeppose_", "ief_", "integral_", "dscnn_")


def pick_models(spec: str) -> list[str]:
    if spec == "default":
        return list(DEFAULT_MODELS)
    if spec == "all":
        return [name for name in list_models() if name.startswith(POSE2D_PREFIXES)]
    return [name.strip() for name in spec.split(",") if name.strip()]


def time_pair(model: Pose2DModel, session: object, images: torch.Tensor, repeats: int) -> tuple[float, float]:
    """Median seconds of torch and onnxruntime on ``images``, measured in alternation after one warm-up each."""
    feed = {"images": images.numpy()}
    torch_times, onnx_times = [], []
    with torch.inference_mode():
        model(images)
        session.run(None, feed)  # type: ignore[attr-defined]
        for _ in range(repeats):
            start = time.perf_counter()
            model(images)
            torch_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            session.run(None, feed)  # type: ignore[attr-defined]
            onnx_times.append(time.perf_counter() - start)
    return statistics.median(torch_times), statistics.median(onnx_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="default", help="default, all, or comma-separated names")
    parser.add_argument("--batches", default="1,8", help="comma-separated batch sizes (default 1,8)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per measurement (median; default 3)")
    parser.add_argument(
        "--spin", action="store_true", help="keep OpenMP / onnxruntime spin-waiting (default: passive waits)"
    )
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for torch and onnxruntime (default 2)")
    args = parser.parse_args()

    import onnxruntime

    torch.set_num_threads(args.threads)
    batches = [int(value) for value in args.batches.split(",")]
    print(
        f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, {args.threads} threads, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'default')}, "
        f"load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    header = "| model | input (w x h) | export max abs diff |"
    header += "".join(f" torch b{batch} (ms) | ORT b{batch} (ms) | torch/ORT b{batch} |" for batch in batches)
    print(header)
    print("|" + "---|" * (3 + 3 * len(batches)))
    with tempfile.TemporaryDirectory() as folder:
        for name in pick_models(args.models):
            torch.manual_seed(0)
            model = get_model(name)
            assert isinstance(model, Pose2DModel)
            model.eval()
            path = Path(folder) / f"{name}.onnx"
            export = export_pose2d_onnx(model, path, check=True)
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = args.threads
            options.inter_op_num_threads = 1
            options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
            if not args.spin:
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            width, height = model.input_size
            row = f"| {name} | {width} x {height} | {export.max_abs_diff:.1e} |"
            for batch in batches:
                images = torch.randn(batch, 3, height, width, generator=torch.Generator().manual_seed(batch))
                torch_seconds, onnx_seconds = time_pair(model, session, images, args.repeats)
                row += f" {torch_seconds * 1e3:.1f} | {onnx_seconds * 1e3:.1f} | {torch_seconds / onnx_seconds:.2f} |"
            print(row, flush=True)
            del session
            path.unlink()
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
