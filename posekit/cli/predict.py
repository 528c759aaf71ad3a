"""``posekit predict``: 2D poses of every person in images, folders of images and videos.

Inputs: image files, video files and folders. Folders are searched recursively; the images and
videos inside (recognised by suffix) are processed in sorted order, and other files are skipped
with a note. Each input is processed on its own: an input that cannot be read (empty or corrupt
file, not an image or video) gets one line on stderr and the others go on.

Outputs, in ``--out`` (default ``runs/predict``), all written atomically:

* ``predictions.json``: a list in COCO keypoint results format, one entry per person:
  ``image_id``, ``category_id`` (1), ``keypoints`` (flat ``x, y, score`` in ``--skeleton`` order),
  ``score``, ``bbox`` (``x, y, w, h``) and ``file_name``; entries of videos add ``frame`` (0-based
  index), ``timestamp`` (seconds) and ``track_id`` (stable within the video). ``image_id`` counts
  up from 1 over the images in processing order, and over every frame of every video (each frame
  is its own COCO image); with ``--images-json`` the images listed there keep their own ids.
* ``vis/<name>.jpg`` for images and ``vis/<name>.mp4`` for videos (unless ``--no-vis``).

Exit status: 0 when every input was processed, 1 when some inputs failed (results for the others
are still written), 2 for bad options. A video that ends before its header's frame count gives a
warning and keeps the frames that were read.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

PROG = "posekit predict"
DEFAULT_OUT = "runs/predict"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Detect people and their 2D keypoints in images, folders (searched recursively for images "
        "and videos) and videos. Writes OUT/predictions.json (COCO keypoint results with file_name; videos add "
        "frame, timestamp and track_id) and overlays in OUT/vis. Exit status 1 when some inputs failed (the "
        "others are still written).",
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, video files or folders")
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    parser.add_argument(
        "--skeleton",
        default="coco",
        help="keypoint format of the results, converted by joint name from BlazePose-33 "
        "(coco, blazepose, crowdpose, mpii, h36m, ...; default: coco)",
    )
    parser.add_argument("--max-people", type=int, default=None, help="at most N people per image or frame")
    parser.add_argument(
        "--min-score",
        type=float,
        default=0.2,
        help="minimum person score: pose presence x mean keypoint visibility (default: 0.2; people whose "
        "pose presence is below 0.5 are always dropped, as in MediaPipe)",
    )
    parser.add_argument("--no-vis", action="store_true", help="do not write overlay images and videos")
    parser.add_argument(
        "--detections",
        default=None,
        metavar="JSON",
        help="person boxes for the images from a COCO detection results file instead of the BlazePose "
        "detector (matched by image id, by a numeric file name, or by file name through --images-json; "
        "videos always use the detector)",
    )
    parser.add_argument(
        "--images-json",
        default=None,
        metavar="JSON",
        help="COCO file with an 'images' list (e.g. ground truth): images listed there keep their ids",
    )
    parser.add_argument(
        "--smooth",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="One Euro smoothing of video keypoints per track (MediaPipe's pose settings; default: on; "
        "never applied to images)",
    )
    parser.add_argument(
        "--redetect-every",
        type=int,
        default=10,
        help="in videos, run the person detector at least every N frames to find new people (default: 10)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="CPU threads for the models (default: the number of cores, at most 4)"
    )
    return parser


# ------------------------------------------------------------------------------------------ inputs
@dataclass
class _Input:
    path: Path
    kind: str  # "image", "video" or "unknown"


def _collect_inputs(arguments: Sequence[str], notes: list[str]) -> tuple[list[_Input], list[str]]:
    """Expand folders; return the inputs and one error line per missing input."""
    from posekit.io.images import is_image_path
    from posekit.io.video import is_video_path

    inputs: list[_Input] = []
    errors: list[str] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            found = 0
            for child in sorted(item for item in path.rglob("*") if item.is_file()):
                if child.name.startswith("."):
                    continue
                if is_image_path(child):
                    inputs.append(_Input(child, "image"))
                elif is_video_path(child):
                    inputs.append(_Input(child, "video"))
                else:
                    notes.append(f"{PROG}: skipped {child}: not an image or video file")
                    continue
                found += 1
            if found == 0:
                notes.append(f"{PROG}: {path}: the folder holds no image or video files")
        elif path.is_file():
            kind = "image" if is_image_path(path) else "video" if is_video_path(path) else "unknown"
            inputs.append(_Input(path, kind))
        else:
            errors.append(f"{PROG}: error: {path}: no such file or folder")
    return inputs, errors


def _unique_name(stem: str, suffix: str, used: set[str]) -> str:
    name = f"{stem}{suffix}"
    counter = 2
    while name in used:
        name = f"{stem}_{counter}{suffix}"
        counter += 1
    used.add(name)
    return name


# ------------------------------------------------------------------------------------------ runner
@dataclass
class _Run:
    args: argparse.Namespace
    out: Path
    pipeline: Any
    box_file: Any
    image_ids: dict[str, int]
    next_id: int
    results: list[dict[str, Any]] = field(default_factory=list)
    vis_names: set[str] = field(default_factory=set)
    images_done: int = 0
    videos_done: int = 0
    frames_done: int = 0
    people: int = 0

    def take_image_id(self, file_name: str | None) -> int:
        from posekit.inference.detectors import match_file_name

        if file_name is not None:
            known = match_file_name(file_name, self.image_ids)
            if known is not None:
                return int(known)
        image_id = self.next_id
        self.next_id += 1
        return image_id

    def convert(self, instances: Any) -> Any:
        return instances if self.args.skeleton == instances.skeleton else instances.convert(self.args.skeleton)

    def detections_for(self, path: Path, image_size: tuple[int, int]) -> Any:
        if self.box_file is None:
            return None
        return self.box_file.lookup(str(path), image_size)


def _process_image(run: _Run, item: _Input) -> None:
    from posekit.io.images import read_image, write_image
    from posekit.viz.draw import draw_poses

    image = read_image(item.path)
    height, width = image.shape[:2]
    instances = run.pipeline(image, detections=run.detections_for(item.path, (width, height)))
    image_id = run.take_image_id(str(item.path))
    converted = run.convert(instances)
    run.results += converted.to_coco_results(image_id, extra={"file_name": str(item.path)})
    run.images_done += 1
    run.people += len(instances)
    if not run.args.no_vis:
        name = _unique_name(item.path.stem, ".jpg", run.vis_names)
        write_image(run.out / "vis" / name, draw_poses(image, converted))


def _process_video(run: _Run, item: _Input, warn: list[str]) -> None:
    from tqdm import tqdm

    from posekit.inference.smoothing import PoseSmoother
    from posekit.inference.video import VideoPosePipeline
    from posekit.io.video import VideoReader, VideoWriter
    from posekit.viz.draw import draw_poses

    video = VideoPosePipeline(
        run.pipeline,
        smoother=PoseSmoother() if run.args.smooth else None,
        redetect_every=run.args.redetect_every,
    )
    results: list[dict[str, Any]] = []
    people = 0
    with contextlib.ExitStack() as stack:
        reader = stack.enter_context(VideoReader(item.path))
        writer = None
        if not run.args.no_vis:
            name = _unique_name(item.path.stem, ".mp4", run.vis_names)
            writer = stack.enter_context(VideoWriter(run.out / "vis" / name, reader.fps, reader.size))
        progress = stack.enter_context(
            tqdm(total=reader.expected_frames, desc=item.path.name, unit="frame", disable=None, leave=False)
        )
        if run.box_file is not None:
            warn.append(f"{PROG}: warning: {item.path}: --detections applies to images; videos use the detector")
        for frame in reader:
            instances = video(frame.image, frame.index, frame.timestamp)
            converted = run.convert(instances)
            image_id = run.take_image_id(None)
            extra = {"file_name": str(item.path), "frame": frame.index, "timestamp": round(frame.timestamp, 6)}
            results += converted.to_coco_results(image_id, extra=extra)
            people += len(instances)
            if writer is not None:
                if (frame.image.shape[1], frame.image.shape[0]) != writer.size:
                    new_size = f"{frame.image.shape[1]}x{frame.image.shape[0]}"
                    raise ValueError(f"frame {frame.index} changes the video size to {new_size}")
                writer.write(draw_poses(frame.image, converted))
            progress.update(1)
        if reader.stop_reason is not None:
            warn.append(f"{PROG}: warning: {item.path}: {reader.stop_reason}; kept the frames read")
        run.frames_done += reader.frames_read
    run.results += results
    run.people += people
    run.videos_done += 1


def _load_image_ids(path: str | None) -> dict[str, int]:
    if path is None:
        return {}
    from posekit.metrics.coco import load_json

    data = load_json(path, "images file")
    listing = data.get("images") if isinstance(data, dict) else None
    if not isinstance(listing, list):
        raise ValueError(f"images file {path} must be a COCO JSON with an 'images' list")
    ids: dict[str, int] = {}
    for image in listing:
        ids[Path(str(image["file_name"])).as_posix()] = int(image["id"])
    return ids


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    if args.max_people is not None and args.max_people < 1:
        raise ValueError(f"--max-people must be >= 1, got {args.max_people}")
    if args.redetect_every < 1:
        raise ValueError(f"--redetect-every must be >= 1, got {args.redetect_every}")
    from posekit.skeletons import get_skeleton

    args.skeleton = get_skeleton(args.skeleton).name  # unknown names: ValueError -> exit 2
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # no FFmpeg chatter on stderr for broken files

    notes: list[str] = []
    inputs, errors = _collect_inputs(args.inputs, notes)
    from posekit.inference.detectors import BoxFileDetector
    from posekit.inference.pipeline import build_blazepose_pipeline

    box_file = BoxFileDetector(args.detections, images_path=args.images_json) if args.detections is not None else None
    image_ids = _load_image_ids(args.images_json)
    from posekit.io.video import suppress_native_stderr

    with suppress_native_stderr():
        pipeline = build_blazepose_pipeline(
            max_people=args.max_people, min_score=args.min_score, num_threads=args.threads
        )
        pipeline(np.zeros((8, 8, 3), np.uint8))  # first run: the TFLite runtime prints its banner here
    out = Path(args.out)
    run = _Run(args, out, pipeline, box_file, image_ids, next_id=max(image_ids.values(), default=0) + 1)
    for line in notes:
        print(line, file=sys.stderr)
    failed = len(errors)
    for line in errors:
        print(line, file=sys.stderr)
    start = time.perf_counter()
    for item in inputs:
        warn: list[str] = []
        try:
            with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)
                if item.kind == "image":
                    _process_image(run, item)
                elif item.kind == "video":
                    _process_video(run, item, warn)
                else:
                    _process_unknown(run, item, warn)
        except KeyboardInterrupt:
            raise
        except Exception as error:  # one bad input never stops the others
            failed += 1
            message = " ".join(str(error).split()) or type(error).__name__
            if str(item.path) not in message:
                message = f"{item.path}: {message}"
            print(f"{PROG}: error: {message}", file=sys.stderr)
        for line in warn:
            print(line, file=sys.stderr)
    elapsed = time.perf_counter() - start

    from posekit.io.atomic import atomic_write_json

    predictions = atomic_write_json(out / "predictions.json", run.results)
    parts = [f"{run.images_done} image(s)"]
    if run.videos_done:
        parts.append(f"{run.videos_done} video(s) ({run.frames_done} frames)")
    summary = (
        f"summary: {', '.join(parts)}, {run.people} people in {elapsed:.1f} s; results in {predictions}"
        + ("" if args.no_vis else f", overlays in {out / 'vis'}")
        + (f"; {failed} input(s) failed" if failed else "")
    )
    print(summary)
    return 1 if failed else 0


def _process_unknown(run: _Run, item: _Input, warn: list[str]) -> None:
    """A file named explicitly whose suffix is neither image nor video: try image, then video."""
    try:
        _process_image(run, item)
        return
    except ValueError:
        pass
    try:
        _process_video(run, item, warn)
    except ValueError:
        raise ValueError(f"{item.path}: not an image or video file that OpenCV or PyAV can read") from None
