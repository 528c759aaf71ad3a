"""``posekit.predict`` (the one-call Python API) against ``posekit predict`` (the CLI), and ``--workers``.

What is measured, on the shared sample data (``../shared/data``):

1. **API against CLI, same images** (the 20 COCO images): the CLI's whole command, wall time
   (``python -m posekit predict IMAGES --no-vis --workers 1``, start-up and model loading
   included); ``posekit.predict(IMAGES)`` in a fresh process, first call (imports and models
   loading included) and a second, warm call (models kept); and the per-call overhead of the API:
   ``posekit.predict(image_array)`` against calling the same estimator on the same array directly,
   per image.
2. **A batch of videos with 1 and 2 workers**: ``--batch`` clips cut from ``dance.avi``
   (``--clip-frames`` frames each, written losslessly to a temporary folder), one
   ``posekit predict CLIPS --no-vis --workers N`` per N, alternating ``--repeats`` times; frames/s
   of the whole command (medians) and the ratio; the two runs' ``predictions.json`` are compared.

Run: ``.venv/bin/python benchmarks/bench_predict_api.py [--repeats 3] [--batch 4] [--clip-frames 50]``.
The machine is shared: absolute numbers move with the load, the ratios from interleaved runs are
the figures to compare, and the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSEKIT_SHARED_DATA", REPO.parent / "shared" / "data"))
POSEKIT = [sys.executable, "-m", "posekit"]

API_COLD_WARM = """
import sys, time
started = time.perf_counter()
import posekit
images = sys.argv[1:]
result = posekit.predict(images)
cold = time.perf_counter() - started
started = time.perf_counter()
again = posekit.predict(images)
warm = time.perf_counter() - started
assert again.to_coco_results() == result.to_coco_results()
print(cold, warm, result.people)
"""

API_OVERHEAD = """
import sys, time
import cv2
import posekit
from posekit.inference import api
arrays = [cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB) for path in sys.argv[1:]]
posekit.predict(arrays[0])
estimator = api._CACHE.estimator
best_api = [float("inf")] * len(arrays)
best_direct = [float("inf")] * len(arrays)
for _ in range(5):  # each image: the API call and the estimator call back to back, the best of 5 each
    for index, array in enumerate(arrays):
        started = time.perf_counter()
        posekit.predict(array)
        best_api[index] = min(best_api[index], time.perf_counter() - started)
        started = time.perf_counter()
        estimator(array)
        best_direct[index] = min(best_direct[index], time.perf_counter() - started)
best_api, best_direct = sum(best_api), sum(best_direct)
print(best_api / len(arrays), best_direct / len(arrays))
"""


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    return time.perf_counter() - started


def cut_clips(video: Path, folder: Path, count: int, frames: int) -> list[Path]:
    import cv2

    capture = cv2.VideoCapture(str(video))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    clips = []
    for index in range(count):
        path = folder / f"clip{index}.avi"
        writer = None
        for _ in range(frames):
            ok, frame = capture.read()
            if not ok:
                capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, frame = capture.read()
            if writer is None:
                height, width = frame.shape[:2]
                writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"FFV1"), fps, (width, height))
            writer.write(frame)
        assert writer is not None
        writer.release()
        clips.append(path)
    capture.release()
    return clips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=4, help="videos in the batch")
    parser.add_argument("--clip-frames", type=int, default=50)
    args = parser.parse_args()
    images = sorted(str(path) for path in (SHARED / "coco_val2014_images").glob("*.jpg"))
    video = SHARED / "video" / "dance.avi"
    if not images or not video.is_file():
        raise SystemExit(f"the shared sample data is missing at {SHARED} (set POSEKIT_SHARED_DATA)")
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        cli, cold, warm = [], [], []
        for _ in range(args.repeats):
            cli.append(timed([*POSEKIT, "predict", *images, "--no-vis", "--workers", "1", "--out", str(folder / "c")]))
            output = subprocess.run(
                [sys.executable, "-c", API_COLD_WARM, *images], check=True, capture_output=True, text=True, cwd=REPO
            ).stdout.split()
            cold.append(float(output[0]))
            warm.append(float(output[1]))
        overhead = subprocess.run(
            [sys.executable, "-c", API_OVERHEAD, *images], check=True, capture_output=True, text=True, cwd=REPO
        ).stdout.split()
        per_call, direct = float(overhead[0]), float(overhead[1])
        print(f"\n1. {len(images)} COCO images (medians of {args.repeats})")
        print(f"   CLI, whole command:               {statistics.median(cli):6.2f} s")
        print(f"   posekit.predict, first call:      {statistics.median(cold):6.2f} s (imports and models included)")
        print(f"   posekit.predict, second call:     {statistics.median(warm):6.2f} s (models kept)")
        print(
            f"   per image: posekit.predict(array) {per_call * 1e3:.1f} ms, the estimator alone {direct * 1e3:.1f} ms: "
            f"overhead {(per_call - direct) * 1e3:.2f} ms a call ({per_call / direct:.3f}x)"
        )

        clips = cut_clips(video, folder, args.batch, args.clip_frames)
        frames = args.batch * args.clip_frames
        seconds: dict[int, list[float]] = {1: [], 2: []}
        for _ in range(args.repeats):
            for workers in (1, 2):
                out = folder / f"w{workers}"
                seconds[workers].append(
                    timed(
                        [
                            *POSEKIT,
                            "predict",
                            *map(str, clips),
                            "--no-vis",
                            "--workers",
                            str(workers),
                            "--out",
                            str(out),
                        ]
                    )
                )
        same = (folder / "w1" / "predictions.json").read_bytes() == (folder / "w2" / "predictions.json").read_bytes()
        one, two = statistics.median(seconds[1]), statistics.median(seconds[2])
        print(
            f"\n2. {args.batch} videos x {args.clip_frames} frames (1280x720), whole command, medians of {args.repeats}"
        )
        print(f"   --workers 1: {frames / one:6.1f} frames/s ({one:.1f} s)")
        print(f"   --workers 2: {frames / two:6.1f} frames/s ({two:.1f} s): {one / two:.2f}x")
        print(f"   predictions.json identical: {same}")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
