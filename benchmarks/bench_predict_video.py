"""Speed of ``posekit predict`` on video against MediaPipe 0.10.14's legacy Pose solution, same run.

What is measured:

1. **Single tracked person, 1280x720.** The test clip is made from the real street video
   ``../shared/data/video/dance.avi`` (205 frames, 50 fps, 1280x720): posekit tracks the dancing
   woman (the track seen in every frame), and every pixel outside her box (enlarged by 40 %,
   smoothed over time) is replaced by grey, so exactly one real, moving person is left at the
   original 1280x720 resolution. The clip is written once as MP4 (``mp4v``).
   Timed: the WHOLE process ``posekit predict CLIP --no-vis`` (start-up, model loading, decoding,
   inference, writing JSON), against a script run with MediaPipe's interpreter
   (``--reference-python`` or ``$POSEKIT_REFERENCE_PYTHON``; MediaPipe is not a posekit dependency)
   that decodes the same clip with OpenCV and runs ``mp.solutions.pose.Pose(static_image_mode=False,
   model_complexity=1)`` (tracking mode, full landmark model) on every frame. The two commands
   alternate ``--repeats`` times; medians are reported, as frames per second of wall time.
   posekit is also timed with ``--max-people 1`` (MediaPipe's single-person mode: no periodic
   re-detection once someone is tracked), ``--tiles off`` and ``--threads 1``.
   ``--busy N`` keeps N other processes spinning on the CPU during the timed runs (a machine shared
   with other jobs): posekit's default two model threads then compete for the cores, and
   ``--threads 1`` shows what one thread gives.
2. **One landmark-model call**: its CPU time, 1 and 2 threads (100 calls after 5 warm-up calls).
3. **Cost per extra person.** In one process, posekit's video pipeline runs on the original
   ``dance.avi`` (several people); the time of every frame is recorded with the number of people
   tracked in it; a weighted line through the median time per people-count gives the cost per
   additional person (medians, because other jobs on a shared machine cause spikes).

Run: ``.venv/bin/python benchmarks/bench_predict_video.py [--repeats 3] [--busy 1]``. Numbers depend on the
machine's load; the ratio, taken from interleaved runs, is the figure to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSEKIT_SHARED_DATA", REPO.parent / "shared" / "data"))

MEDIAPIPE_SCRIPT = r"""
import sys, time, json
import cv2
import mediapipe as mp
start = time.perf_counter()
pose = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1)
capture = cv2.VideoCapture(sys.argv[1])
frames = people = 0
while True:
    ok, bgr = capture.read()
    if not ok:
        break
    result = pose.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    frames += 1
    people += result.pose_landmarks is not None
print(json.dumps({"frames": frames, "people": people, "seconds_in_process": time.perf_counter() - start}))
"""


def make_single_person_clip(path: Path) -> dict[str, float]:
    """Write the 1280x720 one-person clip; return facts about it."""
    from posekit.inference.topdown import build_blazepose_pipeline
    from posekit.inference.video import VideoPosePipeline
    from posekit.io.video import VideoReader, VideoWriter

    video = VideoPosePipeline(build_blazepose_pipeline(), redetect_every=5)
    frames: list[np.ndarray] = []
    boxes_by_track: dict[int, dict[int, np.ndarray]] = {}
    with VideoReader(SHARED / "video" / "dance.avi") as reader:
        fps = reader.fps
        for frame in reader:
            instances = video(frame.image, frame.index, frame.timestamp)
            frames.append(frame.image)
            assert instances.boxes is not None and instances.track_ids is not None
            for box, track_id in zip(instances.boxes, instances.track_ids.tolist(), strict=True):
                boxes_by_track.setdefault(track_id, {})[frame.index] = box
    dancer = max(boxes_by_track, key=lambda track_id: len(boxes_by_track[track_id]))
    boxes = np.array([boxes_by_track[dancer].get(index, np.full(4, np.nan)) for index in range(len(frames))])
    # Fill frames where the track was missed, then smooth (centre and size) over +-5 frames.
    for column in range(4):
        known = np.isfinite(boxes[:, column])
        boxes[:, column] = np.interp(np.arange(len(frames)), np.flatnonzero(known), boxes[known, column])
    kernel = np.ones(11) / 11
    padded = np.pad(boxes, ((5, 5), (0, 0)), mode="edge")
    boxes = np.stack([np.convolve(padded[:, c], kernel, mode="valid") for c in range(4)], axis=1)
    height, width = frames[0].shape[:2]
    with VideoWriter(path, fps, (width, height)) as writer:
        for image, box in zip(frames, boxes, strict=True):
            center, half = (box[:2] + box[2:]) / 2, (box[2:] - box[:2]) / 2 * 1.4
            x0, y0 = np.clip(np.floor(center - half), 0, [width, height]).astype(int)
            x1, y1 = np.clip(np.ceil(center + half), 0, [width, height]).astype(int)
            canvas = np.full_like(image, 128)
            canvas[y0:y1, x0:x1] = image[y0:y1, x0:x1]
            writer.write(canvas)
    return {
        "frames": len(frames),
        "fps": fps,
        "width": width,
        "height": height,
        "track_frames": len(boxes_by_track[dancer]),
    }


def time_command(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system of the child) and stdout of one process run.

    CPU time is the steadier figure on a shared machine: other jobs stretch wall time, not the
    work the process itself does.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, done.stdout


def per_person_cost() -> dict[str, object]:
    """Per-frame time vs people tracked, on the original multi-person dance.avi (in process)."""
    from posekit.inference.topdown import build_blazepose_pipeline
    from posekit.inference.video import VideoPosePipeline
    from posekit.io.video import VideoReader

    video = VideoPosePipeline(build_blazepose_pipeline(), redetect_every=10)
    counts, seconds = [], []
    with VideoReader(SHARED / "video" / "dance.avi") as reader:
        for frame in reader:
            start = time.perf_counter()
            instances = video(frame.image, frame.index, frame.timestamp)
            seconds.append(time.perf_counter() - start)
            counts.append(len(instances))
    count_array, second_array = np.array(counts), np.array(seconds) * 1000
    by_count = {
        int(n): {"frames": int((count_array == n).sum()), "median_ms": float(np.median(second_array[count_array == n]))}
        for n in sorted(set(counts))
    }
    # Robust to load spikes on a shared machine: a line through the per-count medians (counts seen
    # in at least 5 frames, people >= 1), weighted by how many frames each median comes from.
    usable = [(n, v) for n, v in by_count.items() if n >= 1 and v["frames"] >= 5]
    slope, intercept = float("nan"), float("nan")
    if len(usable) >= 2:
        people = np.array([n for n, _ in usable], np.float64)
        medians = np.array([v["median_ms"] for _, v in usable])
        weights = np.sqrt([v["frames"] for _, v in usable])
        slope, intercept = np.polyfit(people, medians, 1, w=weights)
    return {
        "frames": len(counts),
        "ms_per_frame_by_people": by_count,
        "fit_ms_per_extra_person": float(slope),
        "fit_ms_fixed": float(intercept),
        "detector_runs": video.detector_runs,
        "landmark_runs": video.estimator_runs,
    }


def landmark_invoke_cpu_ms(calls: int = 100) -> dict[str, float]:
    """CPU milliseconds of one landmark-model call (set input, invoke, copy outputs), 1 and 2 threads."""
    from posekit.inference.blazepose.assets import BLAZEPOSE_LANDMARK_FILE, TfliteModel, blazepose_asset_path
    from posekit.inference.blazepose.landmarks import LANDMARK_OUTPUTS

    result = {}
    for threads in (1, 2):
        model = TfliteModel(blazepose_asset_path(BLAZEPOSE_LANDMARK_FILE), num_threads=threads)
        inputs = np.random.default_rng(0).random(model.input_shape, dtype=np.float32)
        for _ in range(5):
            model(inputs, LANDMARK_OUTPUTS)
        start = time.process_time()
        for _ in range(calls):
            model(inputs, LANDMARK_OUTPUTS)
        result[f"{threads} thread(s)"] = round((time.process_time() - start) / calls * 1000, 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", default=None, help="folder to keep the clip in (default: a temporary folder)")
    parser.add_argument("--no-per-person", action="store_true", help="skip the per-person cost on dance.avi")
    parser.add_argument("--busy", type=int, default=0, help="processes kept spinning on the CPU while timing")
    parser.add_argument(
        "--reference-python",
        default=os.environ.get("POSEKIT_REFERENCE_PYTHON"),
        help="Python with mediapipe==0.10.14 (default: $POSEKIT_REFERENCE_PYTHON)",
    )
    args = parser.parse_args()
    if not args.reference_python or not Path(args.reference_python).is_file():
        parser.error(
            "--reference-python (or $POSEKIT_REFERENCE_PYTHON) must name a Python with mediapipe==0.10.14 "
            f"(python3 -m venv ref && ref/bin/pip install mediapipe==0.10.14), got {args.reference_python!r}"
        )
    workdir = Path(args.keep or tempfile.mkdtemp(prefix="posekit_bench_"))
    workdir.mkdir(parents=True, exist_ok=True)
    clip = workdir / "dance_single_person_1280x720.mp4"
    facts = make_single_person_clip(clip)
    print(f"clip: {clip} {json.dumps(facts)}")
    posekit = [str(REPO / ".venv" / "bin" / "posekit"), "predict", str(clip), "--no-vis"]
    commands = {
        "posekit": posekit + ["--out", str(workdir / "run_default")],
        "posekit --max-people 1": posekit + ["--max-people", "1", "--out", str(workdir / "run_single")],
        "posekit --tiles off": posekit + ["--tiles", "off", "--out", str(workdir / "run_untiled")],
        "posekit --threads 1": posekit + ["--threads", "1", "--out", str(workdir / "run_one_thread")],
        "mediapipe": [args.reference_python, "-c", MEDIAPIPE_SCRIPT, str(clip)],
    }
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    mediapipe_people = 0
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    try:
        for _ in range(args.repeats):
            for name, command in commands.items():
                elapsed, cpu, stdout = time_command(command)
                walls[name].append(elapsed)
                cpus[name].append(cpu)
                if name == "mediapipe":
                    mediapipe_people = json.loads(stdout.strip().splitlines()[-1])["people"]
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
    frames = facts["frames"]
    report: dict[str, object] = {
        "clip_frames": frames,
        "repeats": args.repeats,
        "cpu_count": os.cpu_count(),
        "busy_processes": args.busy,
    }
    for name, values in walls.items():
        median = statistics.median(values)
        cpu = statistics.median(cpus[name])
        report[name] = {
            "wall_s": round(median, 3),
            "fps": round(frames / median, 2),
            "cpu_s": round(cpu, 3),
            "all_wall_s": values,
            "all_cpu_s": cpus[name],
        }
    for name in commands:
        if name == "mediapipe":
            continue
        report[f"ratio fps {name} / mediapipe"] = round(
            statistics.median(walls["mediapipe"]) / statistics.median(walls[name]), 3
        )
        report[f"ratio cpu mediapipe / {name}"] = round(
            statistics.median(cpus["mediapipe"]) / statistics.median(cpus[name]), 3
        )
    results = json.loads((workdir / "run_default" / "predictions.json").read_text())
    report["posekit people-frames"] = len(results)
    report["mediapipe people-frames"] = mediapipe_people
    report["landmark_call_cpu_ms"] = landmark_invoke_cpu_ms()
    if not args.no_per_person:
        report["per_person_cost_dance_avi"] = per_person_cost()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
