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

With ``--lift`` every person is also lifted to 3D (VideoPose3D, Human3.6M-17;
:mod:`posekit.inference.lift_pipeline`): from the BlazePose keypoints converted by joint name,
one track per ``track_id`` (each person of an image is a one-frame track), missing keypoints and
frames interpolated, with the shipped default lifter or ``--lifter PATH``. Then:

* every entry of ``predictions.json`` gains ``keypoints_3d`` (flat ``x, y, z`` of the 17
  Human3.6M joints, metres, camera frame: x right, y down, z forward; root-relative: the pelvis
  is at 0) and ``trajectory`` (``x, y, z`` of the pelvis in camera space, metres);
* ``poses3d.npz`` holds per-track arrays (layout in
  :func:`posekit.inference.lift_pipeline.save_poses3d_npz`: ``skeleton="h36m"``, ``file_names``,
  ``track_ids``, ``track_files``, ``track_keys``, and ``track_<key>_frames``,
  ``track_<key>_keypoints_3d``, ``track_<key>_trajectory``, ``track_<key>_keypoints_2d``,
  ``track_<key>_interpolated``; ``<key>`` is the track id when one input was lifted, else
  ``<file index>_<track id>``; image people get ids 0, 1, ... in entry order);
* ``vis/<name>_3d.mp4`` (videos) or ``vis/<name>_3d.jpg`` (images): the 2D overlay beside a
  rotating 3D view (unless ``--no-vis``); ``--gif`` adds ``vis/<name>_3d.gif`` (downscaled);
* ``--bvh`` writes ``bvh/<name>_track<id>.bvh`` per video track (:mod:`posekit.io.bvh`).

``--causal`` lifts while the video is read (:class:`posekit.inference.streaming.StreamingLifter`):
each frame's 3D pose is computed when its 2D pose arrives, from past frames only, with a causal
lifter; a non-causal lifter (the default one) then lags ``(receptive_field - 1) / 2`` frames, which
a note on stderr states. Without ``--causal`` whole tracks are lifted once the video is read
(centred windows, missing values interpolated from both sides).

Exit status: 0 when every input was processed, 1 when some inputs failed (results for the others
are still written), 2 for bad options. A video that ends before its header's frame count gives a
warning and keeps the frames that were read.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
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


# MediaPipe keeps detections scoring 0.5; posekit goes lower because its landmark model's pose
# presence check (> 0.5) rejects what is not a person (see README, benchmarks/eval_shared_data.py).
DETECTOR_MIN_SCORE = 0.5
# Frames decoded ahead in a background thread while the models run on the current one.
VIDEO_PREFETCH = 2


def _tiles_option(value: str) -> str | int:
    if value in ("auto", "off"):
        return value
    if value.isdigit() and int(value) >= 1:
        return int(value)
    raise argparse.ArgumentTypeError(f"expected auto, off or a whole number >= 1, got {value!r}")


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
        "--redetect-max-every",
        type=int,
        default=40,
        help="in videos, each re-detection that finds nobody new doubles the interval to the next, up to N frames; "
        "a newcomer or a lost person resets it to --redetect-every (default: 40; equal to --redetect-every: fixed)",
    )
    parser.add_argument(
        "--detector-min-score",
        type=float,
        default=DETECTOR_MIN_SCORE,
        help=f"minimum person-detector score (default: {DETECTOR_MIN_SCORE}); the pose model's presence check still "
        "drops detections that are not people",
    )
    parser.add_argument(
        "--tiles",
        default="auto",
        type=_tiles_option,
        help="run the person detector on the whole image and on overlapping tiles to find small people: auto "
        "tiles images whose long side is at least 448 px (7 detector runs at 640x480, 22 at 1920x1080; videos tile "
        "one level on every third detector frame), off is fastest, N uses one level of tiles of long side / N "
        "(default: auto)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="CPU threads for the models (default: the number of cores, at most 4)"
    )
    model = parser.add_argument_group("2D model (instead of the BlazePose landmark model)")
    model.add_argument(
        "--model",
        default=None,
        help="a registered 2D single-person model (posekit info lists them) run on each detected person",
    )
    model.add_argument(
        "--weights", default=None, help="with --model: its checkpoint (posekit train output or an official file)"
    )
    model.add_argument(
        "--device", default="cpu", help="with --model: torch device for the model (default: cpu; e.g. cuda)"
    )
    lift = parser.add_argument_group("3D (VideoPose3D lifting)")
    lift.add_argument(
        "--lift",
        action="store_true",
        help="also lift every person to 3D (Human3.6M-17): entries gain keypoints_3d (flat x, y, z in metres, camera "
        "frame, root-relative) and trajectory (pelvis x, y, z in camera space); OUT/poses3d.npz holds per-track "
        "arrays; overlays add vis/<name>_3d.mp4 (2D overlay beside a rotating 3D view). The lifter runs on "
        "--threads PyTorch threads (default 1)",
    )
    lift.add_argument(
        "--lifter",
        default=None,
        metavar="PATH",
        help="VideoPose3D checkpoint for --lift (official .bin or posekit; Human3.6M-17 in and out; default: the "
        "lifter shipped with posekit)",
    )
    lift.add_argument(
        "--causal",
        action="store_true",
        help="lift frame by frame as the video is read, from past frames only (with a causal lifter; a non-causal "
        "one lags (receptive field - 1) / 2 frames)",
    )
    lift.add_argument("--gif", action="store_true", help="with --lift: also write vis/<name>_3d.gif (downscaled)")
    lift.add_argument(
        "--bvh", action="store_true", help="with --lift: write OUT/bvh/<name>_track<id>.bvh per video track"
    )
    lift.add_argument(
        "--focal",
        type=float,
        default=None,
        metavar="PIXELS",
        help="focal length for placing people in depth when the lifter has no trajectory model (default: 1.15 x "
        "the image width)",
    )
    lift.add_argument("--no-flip-test", action="store_true", help="with --lift: no horizontal-flip test-time averaging")
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
    video_pipeline: Any = None
    lifter: Any = None
    lifted: list[tuple[str, Any]] = field(default_factory=list)
    bvh_names: set[str] = field(default_factory=set)

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
    entries = converted.to_coco_results(image_id, extra={"file_name": str(item.path)})
    lifted = _lift_image(run, instances, entries, (width, height)) if run.lifter is not None else None
    run.results += entries
    run.images_done += 1
    run.people += len(instances)
    if not run.args.no_vis:
        name = _unique_name(item.path.stem, ".jpg", run.vis_names)
        write_image(run.out / "vis" / name, draw_poses(image, converted))
        if lifted is not None:
            from posekit.viz.plot3d import SkeletonView3D, absolute_poses_by_frame, render_lift_frame

            by_frame = absolute_poses_by_frame(lifted)
            track_ids, poses = by_frame.get(0, (None, None))
            view = SkeletonView3D.fit(poses if poses is not None else np.zeros((0, 3)), (height, height))
            composed = render_lift_frame(image, converted, view, poses, track_ids, 0)
            write_image(run.out / "vis" / _unique_name(f"{item.path.stem}_3d", ".jpg", run.vis_names), composed)
    if lifted is not None:
        run.lifted += [(str(item.path), sequence) for sequence in lifted]


def _process_video(run: _Run, item: _Input, warn: list[str]) -> None:
    from tqdm import tqdm

    from posekit.inference.smoothing import PoseSmoother
    from posekit.inference.video import VideoPosePipeline
    from posekit.io.video import VideoReader, VideoWriter
    from posekit.viz.draw import draw_poses

    video = VideoPosePipeline(
        run.video_pipeline if run.video_pipeline is not None else run.pipeline,
        smoother=PoseSmoother() if run.args.smooth else None,
        redetect_every=run.args.redetect_every,
        redetect_max_every=max(run.args.redetect_every, run.args.redetect_max_every),
    )
    results: list[dict[str, Any]] = []
    people = 0
    lift = _VideoLift(run, warn) if run.lifter is not None else None
    with contextlib.ExitStack() as stack:
        reader = stack.enter_context(VideoReader(item.path, prefetch=VIDEO_PREFETCH))
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
            entries = converted.to_coco_results(image_id, extra=extra)
            results += entries
            people += len(instances)
            if lift is not None:
                lift.add(frame.index, frame.timestamp, instances, converted, entries, reader.size)
            if writer is not None:
                if (frame.image.shape[1], frame.image.shape[0]) != writer.size:
                    new_size = f"{frame.image.shape[1]}x{frame.image.shape[0]}"
                    raise ValueError(f"frame {frame.index} changes the video size to {new_size}")
                writer.write(draw_poses(frame.image, converted))
            progress.update(1)
        if reader.stop_reason is not None:
            warn.append(f"{PROG}: warning: {item.path}: {reader.stop_reason}; kept the frames read")
        frames_read = reader.frames_read
        fps = reader.fps
    lifted = lift.finish(item, fps) if lift is not None else None
    run.frames_done += frames_read
    if lifted is not None:
        run.lifted += [(str(item.path), sequence) for sequence in lifted]
    run.results += results
    run.people += people
    run.videos_done += 1


def _load_image_ids(path: str | None) -> dict[str, int]:
    if path is None:
        return {}
    from posekit.io.json import load_json

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
    if args.redetect_max_every < 1:
        raise ValueError(f"--redetect-max-every must be >= 1, got {args.redetect_max_every}")
    if not args.lift:
        for flag, value in (
            ("--lifter", args.lifter),
            ("--causal", args.causal),
            ("--gif", args.gif),
            ("--bvh", args.bvh),
            ("--focal", args.focal),
            ("--no-flip-test", args.no_flip_test),
        ):
            if value:
                raise ValueError(f"{flag} needs --lift")
    if args.weights is not None and args.model is None:
        raise ValueError("--weights needs --model (the BlazePose models ship with posekit)")
    if args.model is not None and args.weights is None:
        raise ValueError(f"--model {args.model} needs --weights PATH: posekit ships no weights for it")
    if args.focal is not None and not (np.isfinite(args.focal) and args.focal > 0):
        raise ValueError(f"--focal must be a positive number of pixels, got {args.focal}")
    from posekit.skeletons import get_skeleton

    args.skeleton = get_skeleton(args.skeleton).name  # unknown names: ValueError -> exit 2
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # no FFmpeg chatter on stderr for broken files

    notes: list[str] = []
    inputs, errors = _collect_inputs(args.inputs, notes)
    from posekit.inference.detectors import BoxFileDetector
    from posekit.inference.multiscale import TiledPersonDetector
    from posekit.inference.pipeline import build_blazepose_pipeline

    box_file = BoxFileDetector(args.detections, images_path=args.images_json) if args.detections is not None else None
    image_ids = _load_image_ids(args.images_json)
    from posekit.io.video import suppress_native_stderr

    with suppress_native_stderr():
        if args.model is None:
            pipeline = build_blazepose_pipeline(
                max_people=args.max_people,
                min_score=args.min_score,
                detector_min_score=args.detector_min_score,
                num_threads=args.threads,
                tiles=args.tiles,
            )
        else:
            pipeline = _model_pipeline(args)
        pipeline(np.zeros((8, 8, 3), np.uint8))  # first run: the TFLite runtime prints its banner here
        video_pipeline = pipeline
        if args.tiles == "auto" and any(item.kind != "image" for item in inputs):
            # Video runs the detector only on some frames (first frame, lost people, periodic
            # re-detection); one tile level on every third of those finds small newcomers within a
            # few re-detections at almost no cost per frame. It shares the image detector's interpreter.
            video_pipeline = copy.copy(pipeline)
            detector = pipeline.detector
            inner = detector.detector if isinstance(detector, TiledPersonDetector) else detector
            video_pipeline.detector = TiledPersonDetector(inner, tiles="auto", max_levels=1, tile_every=3)
    out = Path(args.out)
    run = _Run(args, out, pipeline, box_file, image_ids, next_id=max(image_ids.values(), default=0) + 1)
    run.video_pipeline = video_pipeline
    if args.lift:
        run.lifter = _load_lifter(args.lifter, args.threads)
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

    if args.lift:
        from posekit.inference.lift_pipeline import save_poses3d_npz

        save_poses3d_npz(out / "poses3d.npz", run.lifted)
    predictions = atomic_write_json(out / "predictions.json", run.results)
    parts = [f"{run.images_done} image(s)"]
    if run.videos_done:
        parts.append(f"{run.videos_done} video(s) ({run.frames_done} frames)")
    summary = (
        f"summary: {', '.join(parts)}, {run.people} people in {elapsed:.1f} s; results in {predictions}"
        + ("" if args.no_vis else f", overlays in {out / 'vis'}")
        + (f"; 3D: {len(run.lifted)} track(s) in {out / 'poses3d.npz'}" if args.lift else "")
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


# ------------------------------------------------------------------------------------------ 3D
def _model_pipeline(args: argparse.Namespace) -> Any:
    """``--model NAME --weights PATH``: the BlazePose person detector, then the trained 2D model per person.

    The model's instance scores are HRNet's rescoring (box score x mean confident keypoint score),
    which ``--min-score`` then filters. Torch runs on ``--threads`` threads, 1 by default (small
    batches of crops; see ``_load_lifter``).
    """
    import torch

    from posekit.inference.pipeline import TopDownPipeline, build_person_detector
    from posekit.inference.topdown_model import build_model_estimator

    torch.set_num_threads(args.threads if args.threads is not None else 1)
    estimator = build_model_estimator(args.model, args.weights, device=args.device)
    return TopDownPipeline(
        detector=build_person_detector(args.detector_min_score, num_threads=args.threads, tiles=args.tiles),
        estimator=estimator,
        max_people=args.max_people,
        min_score=args.min_score,
    )


def _load_lifter(path: str | None, threads: int | None) -> Any:
    """The lifter for ``--lift``: a checkpoint, or the shipped default (errors -> exit 2).

    PyTorch runs the lifter on ``--threads`` threads, 1 by default: its convolutions are small
    (one frame's window per call when streaming), and on a loaded 2-core machine handing them to
    a second OpenMP thread made each call about 45 times slower (``benchmarks/bench_predict_lift.py``).
    """
    import torch

    from posekit.inference.lift_pipeline import check_lifter

    torch.set_num_threads(threads if threads is not None else 1)
    from posekit.inference.lifting import load_lifter

    if path is None:
        from posekit.inference.default_lifter import load_default_lifter

        lifter = load_default_lifter()
    else:
        lifter = load_lifter(path)
    check_lifter(lifter)
    return lifter


def _entry_3d(sequence: Any, row: int) -> dict[str, list[float]]:
    """``keypoints_3d`` (flat x, y, z, 0.1 mm) and ``trajectory`` of one lifted frame."""
    return {
        # (17, 3) -> (51,)
        "keypoints_3d": [round(float(value), 4) for value in sequence.keypoints_3d[row].reshape(-1)],
        "trajectory": [round(float(value), 4) for value in sequence.trajectory[row]],
    }


def _lift_image(run: _Run, instances: Any, entries: list[dict[str, Any]], size: tuple[int, int]) -> list[Any]:
    """Lift each person of an image as a one-frame track (id = position); fill ``entries`` in place."""
    from posekit.inference.lift_pipeline import lift_tracks
    from posekit.structures import PoseSequence

    sequences = [
        PoseSequence(
            frames=np.zeros(1, np.int64),
            keypoints=instances.keypoints[row : row + 1],
            scores=instances.scores[row : row + 1],
            skeleton=instances.skeleton,
            track_id=row,
        )
        for row in range(len(instances))
    ]
    lifted = lift_tracks(sequences, run.lifter, size, flip_test=not run.args.no_flip_test, focal_length=run.args.focal)
    for row, sequence in enumerate(lifted):
        entries[row].update(_entry_3d(sequence, 0))
    return lifted


class _VideoLift:
    """3D for one video: collect (or stream) per-track poses, then fill entries and write files."""

    def __init__(self, run: _Run, warn: list[str]) -> None:
        from posekit.inference.lift_pipeline import TrackCollector

        self.run = run
        self.warn = warn
        self.collector = TrackCollector()
        self.streamer: Any = None
        self.streamed: list[Any] = []
        self.entries: dict[tuple[int, int], dict[str, Any]] = {}
        self.frames_2d: dict[int, Any] = {}
        self.size: tuple[int, int] | None = None

    def add(
        self,
        frame_index: int,
        timestamp: float,
        instances: Any,
        converted: Any,
        entries: list[dict[str, Any]],
        size: tuple[int, int],
    ) -> None:
        """One frame: its tracked BlazePose instances, their converted form and results entries."""
        self.size = size
        for entry in entries:
            self.entries[(int(entry.get("track_id", -1)), frame_index)] = entry
        if not (self.run.args.no_vis and not self.run.args.gif):
            self.frames_2d[frame_index] = converted
        if not self.run.args.causal:
            self.collector.add(frame_index, instances, timestamp)
            return
        if self.streamer is None:
            from posekit.inference.streaming import StreamingLifter

            self.streamer = StreamingLifter(
                self.run.lifter,
                size,
                flip_test=not self.run.args.no_flip_test,
                allow_delay=True,
                focal_length=self.run.args.focal,
            )
            if self.streamer.latency:
                self.warn.append(
                    f"{PROG}: note: the lifter is not causal (receptive field {self.streamer.receptive_field}); "
                    f"--causal 3D poses lag {self.streamer.latency} frames"
                )
        self.streamed += self.streamer.update(frame_index, instances)

    def _sequences(self) -> list[Any]:
        from posekit.inference.lift_pipeline import lift_tracks
        from posekit.structures import PoseSequence

        assert self.size is not None
        if not self.run.args.causal:
            lifter = self.run.lifter.folded()  # BatchNorm folded: same outputs, faster
            lifted = []
            for sequence in self.collector.sequences():
                try:
                    lifted += lift_tracks(
                        [sequence],
                        lifter,
                        self.size,
                        flip_test=not self.run.args.no_flip_test,
                        focal_length=self.run.args.focal,
                    )
                except ValueError as error:  # a track without any usable keypoint: skip it, say so
                    self.warn.append(f"{PROG}: warning: no 3D for {error}")
            return lifted
        if self.streamer is not None:
            self.streamed += self.streamer.flush()
        by_track: dict[int, list[Any]] = {}
        for pose in self.streamed:
            by_track.setdefault(pose.track_id, []).append(pose)
        sequences = []
        for track_id in sorted(by_track):
            poses = sorted(by_track[track_id], key=lambda pose: pose.frame)
            sequences.append(
                PoseSequence(
                    frames=np.array([pose.frame for pose in poses], np.int64),
                    keypoints=np.stack([pose.keypoints_2d for pose in poses]),
                    scores=np.stack([np.where(pose.interpolated, 0.0, 1.0) for pose in poses]).astype(np.float32),
                    skeleton="h36m",
                    track_id=track_id,
                    keypoints_3d=np.stack([pose.keypoints_3d for pose in poses]),
                    skeleton_3d="h36m",
                    trajectory=np.stack([pose.trajectory for pose in poses]),
                )
            )
        return sequences

    def finish(self, item: _Input, fps: float) -> list[Any]:
        """Lift (batch mode), fill the entries, write the 3D overlay video/GIF and BVH files."""
        if self.size is None:
            return []
        lifted = self._sequences()
        for sequence in lifted:
            for row, frame in enumerate(sequence.frames.tolist()):
                entry = self.entries.get((sequence.track_id, int(frame)))
                if entry is not None:
                    entry.update(_entry_3d(sequence, row))
        args = self.run.args
        if lifted and (not args.no_vis or args.gif):
            self._render(item, lifted, fps)
        if args.bvh:
            from posekit.io.bvh import write_bvh

            stem = _unique_name(item.path.stem, "", self.run.bvh_names)
            for sequence in lifted:
                write_bvh(
                    self.run.out / "bvh" / f"{stem}_track{sequence.track_id}.bvh",
                    sequence.keypoints_3d,
                    fps,
                    trajectory=sequence.trajectory,
                )
        return lifted

    def _render(self, item: _Input, lifted: list[Any], fps: float) -> None:
        """Second pass over the video: 2D overlay beside the rotating 3D view (MP4 and/or GIF)."""
        from posekit.io.video import VideoReader
        from posekit.viz.plot3d import LiftVideoWriter, SkeletonView3D, absolute_poses_by_frame, render_lift_frame

        assert self.size is not None
        width, height = self.size
        by_frame = absolute_poses_by_frame(lifted)
        everything = np.concatenate([poses.reshape(-1, 3) for _, poses in by_frame.values()])
        num_frames = max(by_frame) + 1
        view = SkeletonView3D.fit(everything, (height, height), rotation_per_frame=360.0 / max(num_frames, 360))
        args = self.run.args
        video_path = (
            None
            if args.no_vis
            else self.run.out / "vis" / _unique_name(f"{item.path.stem}_3d", ".mp4", self.run.vis_names)
        )
        gif_path = (
            None
            if not args.gif
            else self.run.out / "vis" / _unique_name(f"{item.path.stem}_3d", ".gif", self.run.vis_names)
        )
        with contextlib.ExitStack() as stack:
            reader = stack.enter_context(VideoReader(item.path, prefetch=VIDEO_PREFETCH))
            writer = stack.enter_context(LiftVideoWriter(video_path, gif_path, fps, (width + height, height)))
            for frame in reader:
                if (frame.image.shape[1], frame.image.shape[0]) != (width, height):
                    break
                track_ids, poses = by_frame.get(frame.index, (None, None))
                composed = render_lift_frame(
                    frame.image, self.frames_2d.get(frame.index), view, poses, track_ids, frame.index
                )
                writer.write(composed)
