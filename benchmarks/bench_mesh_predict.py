"""Speed of ``posekit predict VIDEO --mesh`` (video -> 2D tracks -> 3D -> body meshes -> overlay MP4).

On ``../shared/data/video/dance.avi`` (205 frames, 50 fps, 1280x720, several people walking and one
dancing; skipped with a message when absent), in this process, PyTorch and numpy on ``--threads``
threads (default 1, what ``posekit predict`` uses for the lifter):

1. **2D + lift**: :func:`posekit.inference.predict.predict` with ``lift=True`` and nothing written
   (BlazePose detection, tracking, smoothing, the shipped lifter): the reference stage;
2. **fit**: :class:`posekit.inference.mesh.MeshFitter` on every lifted track (shipped open body
   model, ``--steps`` Adam steps, one shape per track), with the mean reprojection / 3D errors;
3. **vertices**: the full open model's vertices of every fitted frame (what drawing needs);
4. **render**: the mesh overlay MP4 (:func:`posekit.inference.mesh.write_mesh_video_file`: decode
   again, vertices per frame, z-buffer rasterisation, shading, encode);
5. **joints-only vs full model**: the same fit (``--compare-steps`` steps, first ``--compare-frames``
   frames of the longest track) on the joints-only model the fitter uses and on the full 13,718-vertex
   model, in turn, as seconds per step and their ratio (the design choice of ``joints_only_model``).

Per-frame seconds are per video frame (all people of the frame). Optionally (``--command``) the whole
``posekit predict dance.avi --mesh --out TMP`` command runs once in its own process (start-up, model
loading and every file written included).

Run: ``OMP_NUM_THREADS=1 PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_mesh_predict.py [--command]``.
The machine is shared (2 cores, several jobs): absolute times move with the load.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSEKIT_SHARED_DATA", REPO.parent / "shared" / "data"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--video", type=Path, default=SHARED / "video" / "dance.avi")
    parser.add_argument("--steps", type=int, default=300, help="fitting steps per track (posekit's default)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--compare-steps", type=int, default=20)
    parser.add_argument("--compare-frames", type=int, default=32)
    parser.add_argument("--command", action="store_true", help="also time the whole CLI command once")
    args = parser.parse_args()
    if not args.video.is_file():
        print(f"skipped: {args.video} is not there (the shared street video)")
        return 0

    import torch

    from posekit.bodymodels.fitting import FittingConfig, fit_to_keypoints
    from posekit.inference.mesh import MeshFitter, mesh_camera, write_mesh_video_file
    from posekit.inference.predict import PredictOptions, predict
    from posekit.io.video import VideoReader

    torch.set_num_threads(args.threads)
    with VideoReader(args.video) as reader:
        size, fps = reader.size, reader.fps

    start = time.perf_counter()
    result = predict([args.video], PredictOptions(lift=True, threads=args.threads, out=None))
    lift_seconds = time.perf_counter() - start
    frames = result.video_frames
    tracks_3d = [sequence for _, sequence in result.lifted]
    person_frames = sum(len(sequence.frames) for sequence in tracks_3d)
    print(
        f"{args.video.name}: {frames} frames {size[0]}x{size[1]}, {len(tracks_3d)} lifted tracks, "
        f"{person_frames} person-frames; torch threads {args.threads}"
    )

    fitter = MeshFitter("open", steps=args.steps)
    start = time.perf_counter()
    fitted = [fitter.fit(sequence, size, file_name=args.video.name) for sequence in tracks_3d]
    fit_seconds = time.perf_counter() - start
    reprojection = np.concatenate([track.reprojection_error for track in fitted])
    error_3d = np.concatenate([track.joints_3d_error for track in fitted])

    start = time.perf_counter()
    for track in fitted:
        fitter.vertices(track)
    vertex_seconds = time.perf_counter() - start

    camera = mesh_camera(size)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        with VideoReader(args.video) as reader:
            written = write_mesh_video_file(
                Path(folder) / "mesh.mp4",
                ((frame.index, frame.image) for frame in reader),
                fitter,
                fitted,
                camera,
                fps,
            )
        render_seconds = time.perf_counter() - start
    assert written == frames

    def row(name: str, seconds: float) -> None:
        print(f"| {name} | {seconds:.1f} s | {seconds / frames * 1000:.1f} ms | {seconds / lift_seconds:.2f}x |")

    print(
        f"\nfit: {args.steps} steps per track, mean reprojection error {np.nanmean(reprojection):.2f} px "
        f"(median {np.nanmedian(reprojection):.2f}), mean 3D joint error {np.nanmean(error_3d) * 100:.1f} cm\n"
    )
    print("| stage | total | per video frame | vs 2D + lift |\n|---|---|---|---|")
    row("2D + lift (predict lift=True)", lift_seconds)
    row(f"fit ({len(fitted)} tracks, joints-only model)", fit_seconds)
    row("vertices (full open model, every person-frame)", vertex_seconds)
    row("render overlay MP4 (vertices + raster + encode)", render_seconds)
    row("mesh total (fit + render)", fit_seconds + render_seconds)
    row("all (2D + lift + fit + render)", lift_seconds + fit_seconds + render_seconds)

    longest = max(tracks_3d, key=lambda sequence: len(sequence.frames))
    count = min(args.compare_frames, len(longest.frames))
    keypoints, target_2d, target_3d = fitter._targets(longest, camera)
    target_3d = None if target_3d is None else target_3d[:count]
    intrinsics = np.array([[camera.focal[0], 0, camera.center[0]], [0, camera.focal[1], camera.center[1]], [0, 0, 1]])
    config = FittingConfig(steps=args.compare_steps, camera_steps=0, smoothness_weight=0.01, shared_betas=True)
    per_step = {}
    for name, model in (("joints-only", fitter.joint_model), ("full", fitter.model)):
        start = time.perf_counter()
        fit_to_keypoints(model, target_2d[:count], intrinsics, target_3d, keypoints=keypoints, config=config)
        per_step[name] = (time.perf_counter() - start) / args.compare_steps
    print(
        f"\none fitting step on {count} frames: joints-only model {per_step['joints-only'] * 1000:.1f} ms, "
        f"full open model {per_step['full'] * 1000:.1f} ms: {per_step['full'] / per_step['joints-only']:.0f}x"
    )

    if args.command:
        with tempfile.TemporaryDirectory() as folder:
            env = {**os.environ, "PYTHONPATH": str(REPO)}
            start = time.perf_counter()
            command = [sys.executable, "-m", "posekit", "predict", str(args.video), "--mesh", "--out", folder]
            completed = subprocess.run(command, env=env, capture_output=True, text=True)
            seconds = time.perf_counter() - start
            print(
                f"\n`posekit predict {args.video.name} --mesh --out TMP`: exit {completed.returncode}, "
                f"{seconds:.1f} s wall, {seconds / frames * 1000:.0f} ms per frame"
            )
            print(completed.stdout.strip().splitlines()[-1] if completed.stdout.strip() else completed.stderr[-500:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
