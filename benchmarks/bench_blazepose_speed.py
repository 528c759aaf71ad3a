"""Speed of posekit's BlazePose pre-processing and of ``posekit predict`` against an older posekit.

What is measured:

1. **Crop.** ``crop_rotated_rect`` (the 256 x 256 landmark crop of a 1280 x 720 frame) and
   ``fixed_point_warp_maps`` alone, against the plain whole-grid computation of the same fixed-point
   maps (the implementation posekit used before, written here as the reference) followed by the same
   ``cv2.remap``. Every timed output is checked bit for bit against the reference. CPU time per call
   (``time.process_time``: less sensitive to other jobs than wall time), median of ``--rounds``
   interleaved rounds.
2. **Whole process** (with ``--baseline DIR``): ``posekit predict VIDEO --no-vis`` with the current
   code and with the ``posekit`` package found in ``DIR`` (put first on ``PYTHONPATH``), alternated
   ``--repeats`` times; median wall seconds, median CPU seconds of the child process (user + system,
   all threads: steadier than wall time when other jobs share the machine) and the people-frames
   each wrote.
3. **Cost per extra person** (with ``--baseline DIR``): in a fresh process per version (alternated
   ``--repeats`` times), ``VideoPosePipeline`` (``redetect_every=10``) runs on ``--video``; the CPU time
   of every frame (``time.process_time``, all threads) is recorded with the number of people
   tracked in it, and a line through the median per people-count (counts seen in >= 5 frames,
   weighted by the square root of their frame counts, as ``bench_predict_video.py`` does with wall
   time) gives CPU milliseconds per extra person; the median over repeats is reported.

Make a baseline from the last commit: ``mkdir -p /tmp/before && git archive HEAD posekit | tar -x -C
/tmp/before``. Run: ``.venv/bin/python benchmarks/bench_blazepose_speed.py [--baseline /tmp/before]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSEKIT_SHARED_DATA", REPO.parent / "shared" / "data"))


def reference_warp_maps(matrix: np.ndarray, output_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Classic OpenCV fixed-point maps computed plainly over the whole grid (int64, explicit clamps)."""
    width, height = output_size
    inverse = np.linalg.inv(matrix.astype(np.float64))
    columns = np.arange(width, dtype=np.float64)[None, :]  # (1, w)
    rows = np.arange(height, dtype=np.float64)[:, None]  # (h, 1)
    denominator = inverse[2, 0] * columns + (inverse[2, 1] * rows + inverse[2, 2])  # (h, w)
    factor = np.where(denominator != 0, 32.0 / np.where(denominator != 0, denominator, 1.0), 0.0)
    limit = (float(np.iinfo(np.int32).min), float(np.iinfo(np.int32).max))
    source_x = np.clip((inverse[0, 0] * columns + (inverse[0, 1] * rows + inverse[0, 2])) * factor, *limit)
    source_y = np.clip((inverse[1, 0] * columns + (inverse[1, 1] * rows + inverse[1, 2])) * factor, *limit)
    fixed_x = np.rint(source_x).astype(np.int64)
    fixed_y = np.rint(source_y).astype(np.int64)
    map_xy = np.clip(np.stack([fixed_x >> 5, fixed_y >> 5], axis=-1), -32768, 32767).astype(np.int16)  # (h, w, 2)
    return map_xy, ((fixed_y & 31) * 32 + (fixed_x & 31)).astype(np.uint16)


def roi_matrix(center: tuple[float, float], side: float, degrees: float, output: int) -> np.ndarray:
    corners = cv2.boxPoints((center, (side, side), degrees)).astype(np.float32)
    targets = np.array([[0.0, output], [0.0, 0.0], [output, 0.0], [output, output]], np.float32)
    return cv2.getPerspectiveTransform(corners, targets)


def cpu_ms(function: Callable[[], object], calls: int) -> float:
    function()
    start = time.process_time()
    for _ in range(calls):
        function()
    return (time.process_time() - start) / calls * 1000


def crop_benchmark(rounds: int, calls: int) -> dict[str, object]:
    from posekit.inference.blazepose.detector import crop_rotated_rect, fixed_point_warp_maps

    image = np.random.default_rng(0).integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    center, side, degrees = (640.5, 360.25), 500.0, 17.0
    matrix = roi_matrix(center, side, degrees, 256)
    map_xy, fraction = reference_warp_maps(matrix, (256, 256))
    reference_crop = cv2.remap(image, map_xy, fraction, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    fast_maps = fixed_point_warp_maps(matrix, (256, 256))
    crop = crop_rotated_rect(image, center, (side, side), math.radians(degrees), (256, 256), cv2.BORDER_REPLICATE)
    identical = (
        np.array_equal(fast_maps[0], map_xy)
        and np.array_equal(fast_maps[1], fraction)
        and np.array_equal(crop, reference_crop)
    )

    def reference_crop_once() -> object:
        maps = reference_warp_maps(matrix, (256, 256))
        return cv2.remap(image, maps[0], maps[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    timings: dict[str, list[float]] = {"reference_maps": [], "maps": [], "reference_crop": [], "crop": []}
    for _ in range(rounds):
        timings["reference_maps"].append(cpu_ms(lambda: reference_warp_maps(matrix, (256, 256)), calls))
        timings["maps"].append(cpu_ms(lambda: fixed_point_warp_maps(matrix, (256, 256)), calls))
        timings["reference_crop"].append(cpu_ms(reference_crop_once, calls))
        timings["crop"].append(
            cpu_ms(
                lambda: crop_rotated_rect(
                    image, center, (side, side), math.radians(degrees), (256, 256), cv2.BORDER_REPLICATE
                ),
                calls,
            )
        )
    medians = {name: round(statistics.median(values), 3) for name, values in timings.items()}
    return {
        "bit_identical": identical,
        "cpu_ms_per_call": medians,
        "speedup_maps": round(medians["reference_maps"] / medians["maps"], 2),
        "speedup_crop": round(medians["reference_crop"] / medians["crop"], 2),
    }


def whole_process(baseline: Path, video: Path, repeats: int, out: Path) -> dict[str, object]:
    """Alternate ``posekit predict`` with the current code and with the baseline package."""
    command = [sys.executable, "-m", "posekit", "predict", str(video), "--no-vis"]
    environments = {
        "current": {**os.environ, "PYTHONPATH": ""},
        "baseline": {**os.environ, "PYTHONPATH": str(baseline)},
    }
    walls: dict[str, list[float]] = {name: [] for name in environments}
    cpus: dict[str, list[float]] = {name: [] for name in environments}
    people: dict[str, int] = {}
    for _ in range(repeats):
        for name, environment in environments.items():
            target = out / name
            start = time.perf_counter()
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            # Run from the output folder so that the working directory does not shadow PYTHONPATH.
            done = subprocess.run(
                [*command, "--out", str(target)], cwd=out, env=environment, capture_output=True, text=True, check=False
            )
            walls[name].append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus[name].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            if done.returncode != 0:
                raise RuntimeError(f"{name} failed: {done.stderr[-2000:]}")
            people[name] = len(json.loads((target / "predictions.json").read_text()))
    report: dict[str, object] = {"video": str(video), "repeats": repeats}
    for name, values in walls.items():
        report[name] = {
            "median_wall_s": round(statistics.median(values), 3),
            "median_cpu_s": round(statistics.median(cpus[name]), 3),
            "all_wall_s": [round(value, 3) for value in values],
            "all_cpu_s": [round(value, 3) for value in cpus[name]],
            "people": people[name],
        }
    for kind, samples in (("wall", walls), ("cpu", cpus)):
        report[f"speedup_{kind}_current_over_baseline"] = round(
            statistics.median(samples["baseline"]) / statistics.median(samples["current"]), 3
        )
    return report


def per_person_worker(video: Path, output: Path) -> None:
    """In this process: per-frame CPU time and people count of the video pipeline (written as JSON)."""
    from posekit.inference.topdown import build_blazepose_pipeline
    from posekit.inference.video import VideoPosePipeline
    from posekit.io.video import VideoReader

    pipeline = VideoPosePipeline(build_blazepose_pipeline(), redetect_every=10)
    counts, cpu_ms, wall_ms = [], [], []
    with VideoReader(video) as reader:
        for frame in reader:
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            instances = pipeline(frame.image, frame.index, frame.timestamp)
            cpu_ms.append((time.process_time() - cpu_start) * 1000)
            wall_ms.append((time.perf_counter() - wall_start) * 1000)
            counts.append(len(instances))
    record = {"counts": counts, "cpu_ms": cpu_ms, "wall_ms": wall_ms, "landmark_runs": pipeline.estimator_runs}
    output.write_text(json.dumps(record))


def fit_per_person(counts: list[int], milliseconds: list[float]) -> tuple[float, float]:
    """(ms per extra person, fixed ms): weighted line through the median time per people-count."""
    count_array, time_array = np.asarray(counts), np.asarray(milliseconds)
    usable = [n for n in sorted(set(counts)) if n >= 1 and int((count_array == n).sum()) >= 5]
    if len(usable) < 2:
        return float("nan"), float("nan")
    medians = [float(np.median(time_array[count_array == n])) for n in usable]
    weights = np.sqrt([int((count_array == n).sum()) for n in usable])
    slope, intercept = np.polyfit(np.asarray(usable, np.float64), medians, 1, w=weights)
    return float(slope), float(intercept)


def per_person_cost(baseline: Path, video: Path, repeats: int, out: Path) -> dict[str, object]:
    """Alternate per-person workers of the current code and the baseline; median fits over repeats."""
    environments = {"current": "", "baseline": str(baseline)}
    fits: dict[str, list[tuple[float, float, float]]] = {name: [] for name in environments}
    runs: dict[str, int] = {}
    for repeat in range(repeats):
        for name, python_path in environments.items():
            target = out / f"per_person_{name}_{repeat}.json"
            command = [sys.executable, str(Path(__file__).resolve()), "--per-person-worker", str(video), str(target)]
            done = subprocess.run(
                command,
                cwd=out,
                env={**os.environ, "PYTHONPATH": python_path},
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise RuntimeError(f"{name} per-person worker failed: {done.stderr[-2000:]}")
            record = json.loads(target.read_text())
            cpu_slope, cpu_fixed = fit_per_person(record["counts"], record["cpu_ms"])
            wall_slope, _ = fit_per_person(record["counts"], record["wall_ms"])
            fits[name].append((cpu_slope, cpu_fixed, wall_slope))
            runs[name] = record["landmark_runs"]
    report: dict[str, object] = {"video": str(video), "repeats": repeats}
    for name, values in fits.items():
        report[name] = {
            "cpu_ms_per_extra_person": round(statistics.median(value[0] for value in values), 2),
            "cpu_ms_fixed": round(statistics.median(value[1] for value in values), 2),
            "wall_ms_per_extra_person": round(statistics.median(value[2] for value in values), 2),
            "all_cpu_ms_per_extra_person": [round(value[0], 2) for value in values],
            "landmark_runs": runs[name],
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--baseline", type=Path, default=None, help="folder holding an older posekit package")
    parser.add_argument("--video", type=Path, default=SHARED / "video" / "dance.avi")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("/tmp/posekit_bench_speed"))
    parser.add_argument("--no-per-person", action="store_true", help="with --baseline: skip the per-person cost")
    parser.add_argument("--per-person-worker", nargs=2, type=Path, metavar=("VIDEO", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.per_person_worker is not None:
        per_person_worker(*args.per_person_worker)
        return
    report: dict[str, object] = {"cpu_count": os.cpu_count(), "crop": crop_benchmark(args.rounds, args.calls)}
    if args.baseline is not None:
        if not (args.baseline / "posekit" / "__init__.py").is_file():
            raise SystemExit(f"{args.baseline} holds no posekit package")
        args.out.mkdir(parents=True, exist_ok=True)
        report["predict"] = whole_process(args.baseline.resolve(), args.video.resolve(), args.repeats, args.out)
        if not args.no_per_person:
            report["per_person"] = per_person_cost(
                args.baseline.resolve(), args.video.resolve(), args.repeats, args.out
            )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
