"""People found on ordinarily compressed video: ``posekit predict`` on the shared clip re-encoded.

Users' videos are phone or web MP4s, so the people found must not depend on ordinary compression.
This script re-encodes ``../shared/data/video/dance.avi`` (the first ``--frames`` frames,
1280x720, 50 fps, a street with several people) into a temporary folder at common settings:

* ``ffv1``: lossless (FFV1 through PyAV), the reference;
* ``mp4v``: OpenCV's ``cv2.VideoWriter`` with the ``mp4v`` codec at its default quality;
* ``h264_crf23`` and ``h264_crf28``: H.264 (libx264 through PyAV, ``yuv420p``) at CRF 23 (x264's
  default) and 28;

and runs :func:`posekit.inference.predict.predict` (the library behind ``posekit predict``, in
this process, no overlays) on each, twice: with the defaults and detecting on every frame
(``--redetect-every 1 --redetect-max-every 1``). It prints, per setting, the size of a frame, the
person-frames found (the sum over frames of the people returned), their share of the lossless
file's, the number of distinct tracks and frames/s (inference only, models loaded once; the runs
alternate between settings, so machine load hits them alike), then the frames/s cost of detecting
on every frame.

Run: ``.venv/bin/python benchmarks/bench_video_compression.py [--frames 60] [--threads 1]``.
Needs the shared data and PyAV (``av``); without them it says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSEKIT_SHARED_DATA", REPO.parent / "shared" / "data"))
CLIP = SHARED / "video" / "dance.avi"
SETTINGS = ("ffv1", "mp4v", "h264_crf23", "h264_crf28")


@dataclass
class Found:
    """What one predict run found on one encoded file."""

    person_frames: int
    tracks: int
    frames: int
    seconds: float


def read_frames(path: Path, count: int) -> tuple[list[np.ndarray], float]:
    """The first ``count`` frames of ``path`` as ``(H, W, 3)`` uint8 BGR, and the frame rate."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    fps = float(capture.get(cv2.CAP_PROP_FPS)) or 25.0
    frames: list[np.ndarray] = []
    while len(frames) < count:
        ok, bgr = capture.read()
        if not ok:
            break
        frames.append(bgr)
    capture.release()
    if not frames:
        raise ValueError(f"{path}: no frame could be decoded; expected a readable video")
    return frames, fps


def write_pyav(path: Path, frames: list[np.ndarray], fps: float, codec: str, options: dict[str, str]) -> None:
    """Encode BGR frames with PyAV (``libx264`` as ``yuv420p``, ``ffv1`` as ``bgr0``: lossless)."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=round(fps))
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "bgr0" if codec == "ffv1" else "yuv420p"
        stream.options = options
        for bgr in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(bgr, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def encode_all(folder: Path, frames: list[np.ndarray], fps: float) -> dict[str, Path]:
    """Write the clip at every setting into ``folder``; return the file of each setting."""
    import cv2

    paths = {name: folder / f"{name}{'.mkv' if name == 'ffv1' else '.mp4'}" for name in SETTINGS}
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(paths["mp4v"]), cv2.VideoWriter.fourcc(*"mp4v"), fps, (width, height))
    for bgr in frames:
        writer.write(bgr)
    writer.release()
    write_pyav(paths["ffv1"], frames, fps, "ffv1", {})
    write_pyav(paths["h264_crf23"], frames, fps, "libx264", {"crf": "23"})
    write_pyav(paths["h264_crf28"], frames, fps, "libx264", {"crf": "28"})
    return paths


def run_predict(path: Path, every_frame: bool, threads: int | None) -> Found:
    """``posekit predict`` (library, no files written) on one video: person-frames, tracks, time."""
    from posekit.inference.predict import PredictOptions, predict

    extra = {"redetect_every": 1, "redetect_max_every": 1} if every_frame else {}
    options = PredictOptions(vis=False, out=None, threads=threads, **extra)  # type: ignore[arg-type]
    result = predict([path], options)
    if result.failed or result.videos != 1:
        raise RuntimeError(f"{path}: predict failed on the encoded clip")
    tracks = {
        int(track)
        for frame in result.poses
        if frame.instances.track_ids is not None
        for track in frame.instances.track_ids.tolist()
    }
    return Found(result.people, len(tracks), result.video_frames, result.seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=205, help="first N frames of the clip (default: all 205)")
    parser.add_argument("--threads", type=int, default=None, help="model threads (default: predict's)")
    parser.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)
    if not CLIP.is_file():
        print(f"skipped: the shared clip {CLIP} is missing (set POSEKIT_SHARED_DATA to the shared data folder)")
        return 0
    try:
        import av  # noqa: F401
    except ImportError:
        print("skipped: PyAV (the 'av' package) is not installed; it writes the H.264 and FFV1 files")
        return 0
    frames, fps = read_frames(CLIP, args.frames)
    rows: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="posekit_compression_") as tmp:
        paths = encode_all(Path(tmp), frames, fps)
        sizes = {name: path.stat().st_size / 1024 / len(frames) for name, path in paths.items()}
        found: dict[tuple[str, bool], Found] = {}
        for every_frame in (False, True):  # settings alternate within each mode
            for name in SETTINGS:
                found[name, every_frame] = run_predict(paths[name], every_frame, args.threads)
    print(f"clip: {CLIP.name}, first {len(frames)} frames, {frames[0].shape[1]}x{frames[0].shape[0]}")
    header = f"{'setting':<12} {'KB/frame':>8} | {'mode':<12} {'person-frames':>13} {'% of lossless':>13} "
    print(header + f"{'tracks':>6} {'frames/s':>8}")
    for every_frame in (False, True):
        mode = "every frame" if every_frame else "default"
        reference = found["ffv1", every_frame].person_frames
        for name in SETTINGS:
            item = found[name, every_frame]
            share = 100.0 * item.person_frames / max(reference, 1)
            fps_run = item.frames / max(item.seconds, 1e-9)
            print(
                f"{name:<12} {sizes[name]:8.1f} | {mode:<12} {item.person_frames:13d} {share:12.1f}% "
                f"{item.tracks:6d} {fps_run:8.1f}"
            )
            rows[f"{name}/{mode}"] = {
                "kb_per_frame": round(sizes[name], 2),
                "person_frames": item.person_frames,
                "percent_of_lossless": round(share, 1),
                "tracks": item.tracks,
                "fps": round(fps_run, 2),
            }
    default_fps = [found[name, False].frames / found[name, False].seconds for name in SETTINGS]
    every_fps = [found[name, True].frames / found[name, True].seconds for name in SETTINGS]
    ratio = float(np.median(every_fps) / np.median(default_fps))
    worst = min(
        100.0 * found[name, False].person_frames / max(found["ffv1", False].person_frames, 1) for name in SETTINGS
    )
    print(
        f"median frames/s: default {np.median(default_fps):.1f}, every frame {np.median(every_fps):.1f} "
        f"(x{ratio:.2f}); default: the worst setting finds {worst:.1f}% of the lossless person-frames"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
