"""Speed and memory of VideoPose3D lifting: official model vs posekit plain, folded, bfloat16.

Run (the official code is imported from a VideoPose3D checkout, ``common/model.py``)::

    .venv/bin/python benchmarks/bench_lifting.py --official-repo /path/to/VideoPose3D

Speed: the 243-frame architecture (filter widths 3,3,3,3,3, 1024 channels, 17 joints) over a
10,000-frame sequence, all in one process, rounds interleaved, best round reported:

* ``official``: the official ``TemporalModel`` run as its ``evaluate()`` does, one pass over the
  edge-padded sequence;
* ``posekit plain``: :class:`posekit.models.lift3d.TemporalModel` through ``lift_sequence``
  (chunks of ``--chunk-size`` output frames);
* ``posekit folded``: ``fold_batchnorm`` (BatchNorm folded, time-major matrix products);
* ``posekit folded bf16``: the same with ``compute_dtype=torch.bfloat16``.

The weights are random but realistic in scale: BatchNorm statistics are calibrated on random
inputs and the last layer is scaled so that outputs have a 0.3 m standard deviation per
coordinate, like root-relative human poses (MPI-INF-3DHP / Human3.6M joints lie within about
0.9 m of the pelvis). Errors are reported in millimetres against the official model in float64.

Memory (``--memory-frames``, default 1,000,000): in a subprocess holding the model and the input
track, the kernel's peak-RSS mark is reset and the peak reached while lifting the whole track
with the chunked folded model is read back (Linux ``/proc``); likewise for one unchunked pass
of the model over ``--unchunked-frames`` frames, extrapolated linearly to the same length.

The machine may be shared: read ratios, not absolute numbers.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch

from posekit.inference.lift3d.sequence import cpu_supports_fast_bf16, lift_sequence
from posekit.io.atomic import atomic_write_json
from posekit.models.lift3d import TemporalModel, fold_batchnorm

FILTER_WIDTHS = [3, 3, 3, 3, 3]
CHANNELS = 1024
NUM_JOINTS = 17
POSE_STD_METRES = 0.3


def import_official_model(repo: Path) -> ModuleType:
    """Import ``common/model.py`` of a VideoPose3D checkout as a module."""
    path = repo / "common" / "model.py"
    if not path.is_file():
        raise SystemExit(f"--official-repo {repo}: no common/model.py (expected a VideoPose3D checkout)")
    spec = importlib.util.spec_from_file_location("videopose3d_official_model", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_model(seed: int = 0) -> TemporalModel:
    """The 243-frame model with calibrated BatchNorm and pose-scaled outputs."""
    torch.manual_seed(seed)
    model = TemporalModel(NUM_JOINTS, 2, NUM_JOINTS, FILTER_WIDTHS, channels=CHANNELS)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm1d):
            module.momentum = None  # cumulative average of the calibration batches
            module.reset_running_stats()
    model.train()
    calibration = torch.randn(4, model.receptive_field() + 64, NUM_JOINTS, 2) * 0.3
    with torch.no_grad():
        model(calibration)
    model.eval()
    with torch.no_grad():
        scale = POSE_STD_METRES / float(model(calibration[:1]).std())
        model.shrink.weight.mul_(scale)
        model.shrink.bias.mul_(scale)
    return model


def keypoint_track(num_frames: int, seed: int = 0) -> np.ndarray:
    """A smooth random 2D track in normalised coordinates, ``(T, 17, 2)`` float32 (built in place)."""
    rng = np.random.default_rng(seed)
    track = rng.standard_normal(size=(num_frames, NUM_JOINTS, 2), dtype=np.float32)
    track *= 0.002
    np.cumsum(track, axis=0, out=track)
    track += rng.normal(scale=0.3, size=(1, NUM_JOINTS, 2)).astype(np.float32)
    return track


def official_evaluate(official_model: torch.nn.Module, keypoints: np.ndarray, receptive_field: int) -> np.ndarray:
    """The official evaluation: edge-pad (rf - 1) / 2 frames per side, one forward pass."""
    pad = (receptive_field - 1) // 2
    padded = np.pad(keypoints, ((pad, pad), (0, 0), (0, 0)), "edge")[None]
    dtype = next(official_model.parameters()).dtype
    with torch.no_grad():
        return official_model(torch.from_numpy(padded).to(dtype))[0].numpy()


def best_of(functions: dict[str, Callable[[], np.ndarray]], rounds: int) -> dict[str, float]:
    """Best wall time of each function over interleaved rounds (after one warm-up each)."""
    for function in functions.values():
        function()
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {name: min(values) for name, values in times.items()}


def cpu_flags() -> list[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            return sorted(flag for flag in flags if flag in {"avx512_bf16", "amx_bf16", "amx_tile", "avx512f", "avx2"})
    return []


def speed(args: argparse.Namespace) -> dict[str, Any]:
    official_module = import_official_model(Path(args.official_repo))
    model = build_model()
    official = official_module.TemporalModel(
        NUM_JOINTS, 2, NUM_JOINTS, filter_widths=FILTER_WIDTHS, causal=False, dropout=0.25, channels=CHANNELS
    )
    official.load_state_dict(model.state_dict())
    official.eval()
    folded = fold_batchnorm(model)
    folded_bf16 = fold_batchnorm(model, compute_dtype=torch.bfloat16)
    receptive_field = model.receptive_field()
    keypoints = keypoint_track(args.frames)

    runs: dict[str, Callable[[], np.ndarray]] = {
        "official": lambda: official_evaluate(official, keypoints, receptive_field),
        "posekit plain": lambda: lift_sequence(model, keypoints, chunk_size=args.chunk_size),
        "posekit folded": lambda: lift_sequence(folded, keypoints, chunk_size=args.chunk_size),
        "posekit folded bf16": lambda: lift_sequence(folded_bf16, keypoints, chunk_size=args.chunk_size),
    }
    seconds = best_of(runs, args.rounds)

    reference64 = official_evaluate(official.double(), keypoints.astype(np.float64), receptive_field)
    official.float()
    errors_mm = {}
    for name, run in runs.items():
        difference = np.abs(run().astype(np.float64) - reference64) * 1000.0
        errors_mm[name] = {"max": float(difference.max()), "mean": float(difference.mean())}
    results = {
        name: {
            "seconds": seconds[name],
            "frames_per_second": args.frames / seconds[name],
            "speedup_vs_official": seconds["official"] / seconds[name],
            "error_mm_vs_official_float64": errors_mm[name],
        }
        for name in runs
    }
    return {"frames": args.frames, "receptive_field": receptive_field, "channels": CHANNELS, "results": results}


def _proc_status_bytes(field: str) -> int | None:
    """``VmRSS`` / ``VmHWM`` of this process in bytes (Linux), or None."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (``VmHWM``) to the current RSS (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def child(mode: str, num_frames: int, chunk_size: int, threads: int) -> None:
    """Subprocess body for the memory measurement: prints RSS before and peak RSS during the run."""
    torch.set_num_threads(threads)
    model = TemporalModel(NUM_JOINTS, 2, NUM_JOINTS, FILTER_WIDTHS, channels=CHANNELS).eval()
    keypoints = keypoint_track(num_frames)
    folded = fold_batchnorm(model) if mode == "chunked" else None
    before = _proc_status_bytes("VmRSS")
    isolated = _reset_peak_rss()
    if mode == "chunked" and folded is not None:
        output = lift_sequence(folded, keypoints, chunk_size=chunk_size)
    elif mode == "unchunked":
        output = official_evaluate_plain(model, keypoints)
    else:
        raise SystemExit(f"unknown child mode {mode}")
    peak = _proc_status_bytes("VmHWM") if isolated else None
    if peak is None or before is None:  # no /proc: lifetime peak only
        before, peak = 0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result = {
        "mode": mode,
        "frames": num_frames,
        "output_bytes": int(output.nbytes),
        "rss_before_bytes": before,
        "peak_rss_bytes": peak,
        "run_peak_bytes": peak - before,
    }
    print(json.dumps(result))


def official_evaluate_plain(model: TemporalModel, keypoints: np.ndarray) -> np.ndarray:
    """One unchunked pass with posekit's TemporalModel (same computation as the official)."""
    pad = (model.receptive_field() - 1) // 2
    padded = np.pad(keypoints, ((pad, pad), (0, 0), (0, 0)), "edge")[None]
    with torch.inference_mode():
        return model(torch.from_numpy(padded))[0].numpy()


def run_child(mode: str, num_frames: int, args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "--child",
        mode,
        "--child-frames",
        str(num_frames),
        "--chunk-size",
        str(args.chunk_size),
        "--threads",
        str(args.threads),
        "--official-repo",
        args.official_repo,
    ]
    start = time.perf_counter()
    completed = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    result["seconds"] = time.perf_counter() - start
    return result


def memory(args: argparse.Namespace) -> dict[str, Any]:
    chunked = run_child("chunked", args.memory_frames, args)
    unchunked = run_child("unchunked", args.unchunked_frames, args)
    per_frame = unchunked["run_peak_bytes"] / args.unchunked_frames
    receptive_field = int(np.prod(FILTER_WIDTHS))
    # Lower bound: three float32 (C, T + rf - 1) activations alive at once in a residual block.
    lower_bound = 3 * CHANNELS * 4 * (args.memory_frames + receptive_field - 1)
    return {
        "frames": args.memory_frames,
        "chunk_size": args.chunk_size,
        "chunked_seconds": chunked["seconds"],
        "chunked_rss_before_bytes": chunked["rss_before_bytes"],
        "chunked_peak_rss_bytes": chunked["peak_rss_bytes"],
        "chunked_run_peak_bytes": chunked["run_peak_bytes"],
        "chunked_output_bytes": chunked["output_bytes"],
        "unchunked_measured_frames": args.unchunked_frames,
        "unchunked_run_peak_bytes": unchunked["run_peak_bytes"],
        "unchunked_bytes_per_frame": per_frame,
        "unchunked_extrapolated_bytes": per_frame * args.memory_frames,
        "unchunked_lower_bound_bytes": lower_bound,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--official-repo", required=True, help="path to a VideoPose3D checkout (has common/model.py)")
    parser.add_argument("--frames", type=int, default=10_000, help="frames of the speed sequence")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--chunk-size", type=int, default=8192, help="output frames per chunk")
    parser.add_argument("--memory-frames", type=int, default=1_000_000, help="frames of the memory run (0: skip)")
    parser.add_argument("--unchunked-frames", type=int, default=20_000, help="frames of the unchunked memory run")
    parser.add_argument("--skip-speed", action="store_true", help="only measure memory")
    parser.add_argument("--output", help="write the results as JSON here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-frames", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.child_frames, args.chunk_size, args.threads)
        return 0
    torch.set_num_threads(args.threads)
    report: dict[str, Any] = {
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cpu_flags": cpu_flags(),
        "fast_bf16": cpu_supports_fast_bf16(),
        "threads": args.threads,
    }
    if not args.skip_speed:
        report["speed"] = speed(args)
        for name, row in report["speed"]["results"].items():
            error = row["error_mm_vs_official_float64"]
            print(
                f"{name:>20}: {row['frames_per_second']:8.0f} frames/s  x{row['speedup_vs_official']:.2f} vs official  "
                f"error vs float64: max {error['max']:.4f} mm, mean {error['mean']:.4f} mm"
            )
    if args.memory_frames > 0:
        report["memory"] = memory(args)
        mem = report["memory"]
        mib, gib = 1024.0**2, 1024.0**3
        print(
            f"memory, {mem['frames']} frames, chunk {mem['chunk_size']}: run peak "
            f"{mem['chunked_run_peak_bytes'] / mib:.0f} MiB (output array {mem['chunked_output_bytes'] / mib:.0f} MiB "
            f"included) above the {mem['chunked_rss_before_bytes'] / mib:.0f} MiB of model and input; "
            f"{mem['chunked_seconds']:.0f} s; unchunked pass: "
            f"{mem['unchunked_bytes_per_frame'] / 1024:.1f} KiB/frame measured on {mem['unchunked_measured_frames']} "
            f"frames -> {mem['unchunked_extrapolated_bytes'] / gib:.1f} GiB for {mem['frames']} frames "
            f"(lower bound {mem['unchunked_lower_bound_bytes'] / gib:.1f} GiB)"
        )
    print(f"fast bf16 kernels: {report['fast_bf16']}; cpu flags: {' '.join(report['cpu_flags'])}")
    if args.output:
        atomic_write_json(args.output, report, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
