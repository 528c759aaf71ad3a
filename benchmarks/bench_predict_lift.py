"""Speed of ``posekit predict VIDEO --lift`` (video -> 2D tracks -> 3D) on the shared street video.

What is measured, on ``../shared/data/video/dance.avi`` (205 frames, 50 fps, 1280x720, several
people walking and one dancing):

1. **Whole command, wall time**, as frames per second, each in its own process (start-up, model
   loading, decoding, BlazePose detection + tracking, lifting, writing JSON/NPZ/videos):

   * ``posekit predict dance.avi --no-vis`` (2D only: the reference the 3D cost is compared to);
   * ``posekit predict dance.avi --lift --no-vis`` (whole tracks lifted after reading);
   * ``posekit predict dance.avi --lift --causal --no-vis`` (frame-by-frame streaming lifter);
   * ``posekit predict dance.avi --lift`` (plus the 2D overlay MP4 and the 2D+3D MP4).

   The commands alternate ``--repeats`` times; medians are reported with the ratio to the 2D run.
2. **The 3D stages alone**, in this process, on the 2D tracks of run 1 (``--skeleton blazepose``
   predictions, so the lifter sees what ``--lift`` sees): ``lift_tracks`` over every track (BN
   folded, flip test), ``StreamingLifter.update`` per frame, and the 3D view rendering per frame,
   with PyTorch on 1 thread (what ``posekit predict --lift`` uses by default) and on 2.

The lifter is the shipped default (``posekit/assets/lifter/videopose3d_deepmimic.pt``) when it is
there, else a randomly initialised checkpoint of the same architecture (filter widths 3, 3, 3:
receptive field 27; 256 channels; trajectory model with 128 channels): speed does not depend on
the weights' values.

Run: ``.venv/bin/python benchmarks/bench_predict_lift.py [--repeats 1] [--threads N]``. The machine
is shared (2 cores, up to 8 jobs): absolute numbers move with the load, the ratios from
interleaved runs are the figures to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSEKIT_SHARED_DATA", REPO.parent / "shared" / "data"))
POSEKIT = [sys.executable, "-m", "posekit"]


def lifter_checkpoint(folder: Path) -> tuple[Path | None, str]:
    """The default lifter's path (None = use it), or a random checkpoint of its architecture."""
    from posekit.inference.lift3d.default_lifter import default_lifter_path

    if default_lifter_path().is_file():
        return None, f"default lifter {default_lifter_path().name}"
    import torch

    from posekit.models.lift3d.videopose3d import TemporalModel

    torch.manual_seed(0)
    path = folder / "random_rf27.bin"
    torch.save(
        {
            "model_pos": TemporalModel(17, 2, 17, [3, 3, 3], channels=256).state_dict(),
            "model_traj": TemporalModel(17, 2, 1, [3, 3, 3], channels=128).state_dict(),
        },
        path,
    )
    return path, "random checkpoint, default architecture (rf 27, 256 channels, trajectory 128)"


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({completed.returncode}):\n{completed.stderr[-2000:]}")
    return elapsed


def stage_timings(
    predictions: Path, lifter_path: Path | None, image_size: tuple[int, int], torch_threads: int
) -> dict[str, float]:
    """Seconds of the 3D stages alone on the tracks of a 2D run."""
    import torch

    from posekit.inference.lift3d.default_lifter import load_default_lifter
    from posekit.inference.lift3d.streaming import StreamingLifter
    from posekit.inference.lift3d.tracks import TrackCollector, lift_tracks
    from posekit.models.lift3d import load_lifter
    from posekit.structures import PoseInstances
    from posekit.viz.plot3d import SkeletonView3D, absolute_poses_by_frame

    torch.set_num_threads(torch_threads)
    lifter = load_default_lifter() if lifter_path is None else load_lifter(lifter_path)
    entries = json.loads(predictions.read_text())
    by_frame: dict[int, list[dict]] = {}
    for entry in entries:
        by_frame.setdefault(int(entry["frame"]), []).append(entry)
    frames = []
    collector = TrackCollector()
    for frame in sorted(by_frame):
        items = by_frame[frame]
        instances = PoseInstances.from_coco(items, "blazepose")
        frames.append((frame, instances))
        collector.add(frame, instances)
    sequences = collector.sequences()
    timings: dict[str, float] = {"frames": float(len(frames)), "tracks": float(len(sequences))}
    timings["people"] = float(sum(len(instances) for _, instances in frames))
    with torch.inference_mode():
        start = time.perf_counter()
        lifted = lift_tracks(sequences, lifter.folded(), image_size)
        timings["lift_tracks_s"] = time.perf_counter() - start
        streamer = StreamingLifter(lifter, image_size, allow_delay=True)
        start = time.perf_counter()
        for frame, instances in frames:
            streamer.update(frame, instances)
        streamer.flush()
        timings["streaming_s"] = time.perf_counter() - start
    poses = absolute_poses_by_frame(lifted)
    everything = np.concatenate([item.reshape(-1, 3) for _, item in poses.values()])
    view = SkeletonView3D.fit(everything, (image_size[1], image_size[1]))
    start = time.perf_counter()
    for frame, (track_ids, people) in poses.items():
        view.render(people, track_ids, frame)
    timings["render_s"] = time.perf_counter() - start
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", default=str(SHARED / "video" / "dance.avi"))
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None, help="--threads for posekit predict (TFLite)")
    args = parser.parse_args()
    video = Path(args.video)
    if not video.is_file():
        raise SystemExit(f"no video at {video}")
    import cv2

    capture = cv2.VideoCapture(str(video))
    num_frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    image_size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    capture.release()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        lifter_path, lifter_note = lifter_checkpoint(work)
        lifter_args = [] if lifter_path is None else ["--lifter", str(lifter_path)]
        thread_options = [] if args.threads is None else ["--threads", str(args.threads)]
        base = [*POSEKIT, "predict", str(video), *thread_options]
        commands = {
            "2d": [*base, "--no-vis", "--skeleton", "blazepose", "--out", str(work / "2d")],
            "lift": [*base, "--lift", *lifter_args, "--no-vis", "--out", str(work / "lift")],
            "lift_causal": [*base, "--lift", "--causal", *lifter_args, "--no-vis", "--out", str(work / "causal")],
            "lift_vis": [*base, "--lift", *lifter_args, "--out", str(work / "vis")],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeats):
            for name, command in commands.items():
                times[name].append(timed(command))
        stages = {
            count: stage_timings(work / "2d" / "predictions.json", lifter_path, image_size, count) for count in (1, 2)
        }
    print(f"video: {video} ({num_frames} frames, {image_size[0]}x{image_size[1]}); lifter: {lifter_note}")
    print(f"cores: {os.cpu_count()}, load average at the end: {os.getloadavg()[0]:.1f}")
    reference = statistics.median(times["2d"])
    for name, values in times.items():
        median = statistics.median(values)
        printable = " ".join(commands[name][2:]).replace(str(work), "$TMP")
        print(
            f"{name:12s} {num_frames / median:6.2f} frames/s  ({median:6.1f} s, x{median / reference:.2f} of 2D)  "
            f"{printable}"
        )
    for count, stage in stages.items():
        frames = stage["frames"]
        print(
            f"3D stages alone, {count} torch thread(s) ({int(stage['tracks'])} tracks, {int(stage['people'])} "
            f"person-frames): lift_tracks {stage['lift_tracks_s']:.2f} s ({frames / stage['lift_tracks_s']:.0f} "
            f"frames/s), streaming {1e3 * stage['streaming_s'] / frames:.1f} ms/frame, "
            f"3D view {1e3 * stage['render_s'] / frames:.1f} ms/frame"
        )


if __name__ == "__main__":
    main()
