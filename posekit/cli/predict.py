"""``posekit predict``: 2D (and 3D) poses of every person in images, folders of images and videos.

Argument parsing and printing only; the work is :func:`posekit.inference.predict.predict`, whose
docstring describes the inputs and every file written in ``--out`` (``predictions.json`` in COCO
keypoint results format, overlays in ``vis/``, ``poses3d.npz`` and BVH files with ``--lift``, body-model
parameters in ``mesh/`` and mesh overlays with ``--mesh``).

Exit status: 0 when every input was processed, 1 when some inputs failed (results for the others
are still written), 2 for bad options, 130 after Ctrl-C (the results of what was processed are
written first). A video that ends before its header's frame count gives a warning and keeps the
frames that were read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from posekit.inference.predict import DETECTOR_MIN_SCORE, OUTPUT_FORMATS, PredictOptions, predict
from posekit.viz.draw import DRAW_MIN_SCORE

PROG = "posekit predict"
DEFAULT_OUT = "runs/predict"


def _tiles_option(value: str) -> str | int:
    if value in ("auto", "off"):
        return value
    if value.isdigit() and int(value) >= 1:
        return int(value)
    raise argparse.ArgumentTypeError(f"expected auto, off or a whole number >= 1, got {value!r}")


def _workers_option(value: str) -> int | None:
    if value == "auto":
        return None
    if value.isdigit() and int(value) >= 1:
        return int(value)
    raise argparse.ArgumentTypeError(f"expected auto or a whole number >= 1, got {value!r}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Detect people and their 2D keypoints in images, folders (searched recursively for images "
        "and videos) and videos. Writes OUT/predictions.json (COCO keypoint results with file_name; videos add "
        "frame, timestamp and track_id) and overlays in OUT/vis. Exit status 1 when some inputs failed (the "
        "others are still written).",
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="image files, video files, folders, camera indices (0, 1, ...), stream URLs (rtsp://, http(s)://, "
        "udp://, ...) or - (a video piped to standard input: AVI, MKV or MPEG-TS); Ctrl-C stops and keeps what "
        "was processed",
    )
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
        "pose presence is below 0.5 are always dropped, as in MediaPipe); with a bottom-up --model, the mean of "
        "the person's joint heatmap values (the official HigherHRNet score)",
    )
    parser.add_argument("--no-vis", action="store_true", help="do not write overlay images and videos")
    parser.add_argument(
        "--show",
        action="store_true",
        help="preview the overlays of videos, cameras and streams in a window (q or Esc stops like Ctrl-C); needs "
        "a display and an OpenCV with GUI support (opencv-python, not the headless build posekit installs)",
    )
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
        "one level on every third detector frame and on retries for missed people), off is fastest, N uses one "
        "level of tiles of long side / N (default: auto)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU threads for the models (default: the number of cores, at most 4; with --workers, the cores shared "
        "out among the workers)",
    )
    parser.add_argument(
        "--workers",
        type=_workers_option,
        default=None,
        metavar="N",
        help="process the inputs in N worker processes, whole images and videos each (default: auto, one per CPU "
        "this process may use for batches large enough to pay for starting them, else 1); the results equal one "
        "worker's",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bar and no notes (warnings, errors and the summary remain)"
    )
    model = parser.add_argument_group("2D model (instead of the BlazePose landmark model)")
    model.add_argument(
        "--model",
        default=None,
        help="a registered 2D model (posekit info lists them): a single-person model run on each detected person, "
        "or a bottom-up model (higherhrnet_*) run on the whole image, no person detector",
    )
    model.add_argument(
        "--weights", default=None, help="with --model: its checkpoint (posekit train output or an official file)"
    )
    model.add_argument(
        "--device", default="cpu", help="with --model: torch device for the model (default: cpu; e.g. cuda)"
    )
    model.add_argument(
        "--scales",
        type=float,
        nargs="+",
        default=[1.0],
        metavar="S",
        help="with a bottom-up --model: test scales, e.g. 0.5 1 2 for the official multi-scale test (heatmaps "
        "averaged over the scales, tags from scale 1, which must be among them; default: 1)",
    )
    model.add_argument(
        "--flip",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="with --model: the 2D model's horizontal-flip test (default: on; --no-flip runs the network once "
        "instead of twice); the lifter's is --no-flip-test",
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
        help="lift frame by frame as the video is read, from past frames only: the shipped causal lifter, no lag "
        "(a non-causal --lifter lags (receptive field - 1) / 2 frames)",
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
    mesh = parser.add_argument_group("3D body meshes (a body model fitted to the lifted people; implies --lift)")
    mesh.add_argument(
        "--mesh",
        action="store_true",
        help="fit a body model to every lifted person (implies --lift): OUT/mesh/<name>_track<id>.npz holds its "
        "parameters per frame (global_orient, body_pose, betas, transl, frame_indices) and OUT/vis/<name>_mesh.mp4 "
        "(or .jpg for images) shows the meshes over the input, one colour per track",
    )
    mesh.add_argument(
        "--body-model",
        default="open",
        metavar="PATH",
        help="with --mesh: open (the body model shipped with posekit, default) or your SMPL file or folder "
        "(basicModel_*_lbs_10_207_0_v1.*.pkl, SMPL_{NEUTRAL,MALE,FEMALE}.pkl or .npz; https://smpl.is.tue.mpg.de)",
    )
    mesh.add_argument(
        "--gender",
        choices=("neutral", "male", "female"),
        default="neutral",
        help="with --mesh and an SMPL folder: which model file (default: neutral)",
    )
    mesh.add_argument(
        "--mesh-steps",
        type=int,
        default=300,
        metavar="N",
        help="with --mesh: fitting steps per track (default: 300)",
    )
    mesh.add_argument(
        "--side-view", action="store_true", help="with --mesh: the mesh overlays gain a side view on the right"
    )
    mesh.add_argument(
        "--save-obj",
        action="store_true",
        help="with --mesh: also write OUT/mesh/<name>_obj/track_<id>/frame_<n>.obj per track and frame (VIBE's "
        "--save_obj)",
    )
    output = parser.add_argument_group("results files and overlays")
    output.add_argument(
        "--format",
        choices=OUTPUT_FORMATS,
        default="json",
        help="results file: json (OUT/predictions.json), csv (OUT/predictions.csv: one row per person and image or "
        "frame, header file_name, image_id, frame, timestamp, track_id, score, bbox_x, bbox_y, bbox_w, bbox_h, then "
        "<joint>_x, <joint>_y, <joint>_score per keypoint, and with --lift <joint>_x3d, _y3d, _z3d per H36M joint and "
        "trajectory_x, _y, _z) or both (default: json)",
    )
    output.add_argument(
        "--keep-landmarks",
        action="store_true",
        help="keep BlazePose's 33 landmarks (name, x, y in pixels, z, visibility, presence) and 33 world landmarks "
        "(metres, hip-centred) in each JSON entry, in MediaPipe's order whatever --skeleton is; raw model output, "
        "not smoothed (BlazePose only, not with --model)",
    )
    output.add_argument(
        "--kpt-thr",
        type=float,
        default=DRAW_MIN_SCORE,
        metavar="T",
        help=f"overlays hide keypoints scoring below T and the links touching them (default: {DRAW_MIN_SCORE}); "
        "the results files keep every keypoint",
    )
    output.add_argument(
        "--line-width",
        type=int,
        default=None,
        metavar="N",
        help="overlay line width in pixels (default: scales with the image, 1 below a long side of 600 px, 3 at "
        "1280x720); keypoint dots get radius 1.5 x N",
    )
    output.add_argument("--no-boxes", action="store_true", help="do not draw person boxes on the overlays")
    return parser


def options_from_args(args: argparse.Namespace) -> PredictOptions:
    """The library options of parsed arguments (bad values: ``ValueError`` naming the option)."""
    return PredictOptions(
        skeleton=args.skeleton,
        max_people=args.max_people,
        min_score=args.min_score,
        detector_min_score=args.detector_min_score,
        tiles=args.tiles,
        threads=args.threads,
        model=args.model,
        weights=args.weights,
        device=args.device,
        scales=tuple(args.scales),
        flip=args.flip,
        detections=args.detections,
        images_json=args.images_json,
        smooth=args.smooth,
        redetect_every=args.redetect_every,
        redetect_max_every=args.redetect_max_every,
        lift=args.lift,
        lifter=args.lifter,
        causal=args.causal,
        focal=args.focal,
        flip_test=not args.no_flip_test,
        out=args.out,
        vis=not args.no_vis,
        gif=args.gif,
        bvh=args.bvh,
        progress=not args.quiet,
        workers=args.workers,
        output_format=args.format,
        keep_landmarks=args.keep_landmarks,
        keypoint_threshold=args.kpt_thr,
        line_width=args.line_width,
        draw_boxes=not args.no_boxes,
        show=args.show,
        mesh=args.mesh,
        body_model=args.body_model,
        gender=args.gender,
        mesh_steps=args.mesh_steps,
        side_view=args.side_view,
        save_obj=args.save_obj,
    )


def _print_message(level: str, text: str) -> None:
    print(f"{PROG}: {level}: {text}" if level else f"{PROG}: {text}", file=sys.stderr)


def _print_quietly(level: str, text: str) -> None:
    if level in ("warning", "error"):
        _print_message(level, text)


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    options = options_from_args(args)  # ValueError -> exit 2
    result = predict(args.inputs, options, report=_print_quietly if args.quiet else _print_message)
    parts = []
    if result.images or not result.videos:
        parts.append(f"{result.images} image(s) with {result.people - result.person_frames} people")
    if result.videos:
        parts.append(
            f"{result.videos} video(s) with {result.video_frames} frames and {result.person_frames} person-frames"
        )
    summary = (
        f"summary: {', '.join(parts)} in {result.seconds:.1f} s; results in "
        + " and ".join(str(path) for path in (result.predictions_path, result.csv_path) if path is not None)
        + ("" if result.vis_dir is None else f", overlays in {result.vis_dir}")
        + ("" if result.poses3d_path is None else f"; 3D: {len(result.lifted)} track(s) in {result.poses3d_path}")
        + ("" if result.mesh_dir is None else f"; meshes: {len(result.meshes)} track(s) in {result.mesh_dir}")
        + (f"; {result.failed} input(s) failed" if result.failed else "")
        + ("; interrupted (Ctrl-C)" if result.stopped == "interrupt" else "")
    )
    print(summary)
    if result.stopped == "interrupt":
        return 130
    return 1 if result.failed else 0
