"""2D (and 3D) poses of every person in images, folders and videos: the library behind ``posekit predict``.

:func:`predict` takes inputs (image files, video files, folders searched recursively) and
:class:`PredictOptions`, runs one :class:`~posekit.inference.estimator.PoseEstimator` over them
(BlazePose by default, or a registered 2D model), tracks and smooths the people of videos
(:class:`~posekit.inference.video.VideoPosePipeline`), lifts them to 3D when asked
(:mod:`posekit.inference.lift3d.video`) and returns a :class:`PredictResult` with typed poses per
image or frame. With ``out`` set it also writes, atomically:

* ``predictions.json``: a list in COCO keypoint results format, one entry per person:
  ``image_id``, ``category_id`` (1), ``keypoints`` (flat ``x, y, score`` in ``skeleton`` order),
  ``score``, ``bbox`` (``x, y, w, h``) and ``file_name``; entries of videos add ``frame`` (0-based
  index), ``timestamp`` (seconds) and ``track_id`` (stable within the video). ``image_id`` counts
  up from 1 over the images in processing order, and over every frame of every video (each frame
  is its own COCO image); with ``images_json`` the images listed there keep their own ids. With
  ``lift``, entries gain ``keypoints_3d`` (flat ``x, y, z`` of the 17 Human3.6M joints, metres,
  camera frame, root-relative) and ``trajectory`` (the pelvis in camera space, metres);
* ``vis/<name>.jpg`` / ``vis/<name>.mp4`` overlays (``vis``), ``vis/<name>_3d.jpg|mp4`` (``lift``),
  ``vis/<name>_3d.gif`` (``gif``), ``bvh/<name>_track<id>.bvh`` per video track (``bvh``) and
  ``poses3d.npz`` (``lift``; :func:`posekit.io.poses.save_poses3d_npz`).

Each input is processed on its own: one that cannot be read gets one message and the others go
on. Messages (notes, warnings, errors) go to the ``report`` callback as they happen, as
``(level, text)`` with ``level`` one of ``""``, ``"note"``, ``"warning"``, ``"error"``.

Legend: ``N`` people, ``K`` keypoints of the chosen skeleton; keypoints in image pixels; 3D in
metres.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from posekit.inference.box_file import BoxFileDetector, match_file_name
from posekit.inference.estimator import PoseEstimator, build_estimator, for_video
from posekit.inference.smoothing import PoseSmoother
from posekit.inference.topdown import TopDownPipeline
from posekit.inference.video import VideoPosePipeline
from posekit.io.coco import load_coco_image_ids
from posekit.io.images import is_image_path, read_image, write_image
from posekit.io.video import VideoReader, VideoWriter, is_video_path, suppress_native_stderr
from posekit.skeletons import get_skeleton
from posekit.structures import PoseInstances, PoseSequence
from posekit.viz.draw import draw_poses

if TYPE_CHECKING:  # torch is imported only when lifting
    from posekit.inference.lift3d.video import VideoLifter
    from posekit.models.lift3d import Lifter

__all__ = ["FramePoses", "InputFile", "PredictOptions", "PredictResult", "collect_inputs", "predict"]

# MediaPipe keeps detections scoring 0.5; the landmark model's pose presence check (> 0.5) then
# rejects what is not a person (see README, benchmarks/eval_shared_data.py).
DETECTOR_MIN_SCORE = 0.5
# Frames decoded ahead in a background thread while the models run on the current one.
VIDEO_PREFETCH = 2

Report = Callable[[str, str], None]


@dataclass(frozen=True)
class PredictOptions:
    """What ``posekit predict`` runs and writes (the command's options, one field each).

    Attributes:
        skeleton: keypoint format of the results, converted by joint name.
        max_people: at most this many people per image or frame.
        min_score: minimum person score (BlazePose: pose presence x mean keypoint visibility).
        detector_min_score: minimum person-detector score.
        tiles: detector tiling: ``"auto"``, ``"off"`` or ``N`` (tiles of long side / N).
        threads: CPU threads for the models (``None``: the cores, at most 4; torch: 1).
        model: a registered 2D single-person model run on each detected person (needs ``weights``).
        weights: the model's checkpoint.
        device: torch device of ``model``.
        detections: COCO detection results file with person boxes for the images.
        images_json: COCO file with an ``images`` list whose ids the images keep.
        smooth: One Euro smoothing of video keypoints per track.
        redetect_every: in videos, run the person detector at least every N frames.
        redetect_max_every: back-off limit of the re-detection interval.
        lift: lift every person to 3D (VideoPose3D, Human3.6M-17).
        lifter: VideoPose3D checkpoint (``None``: the shipped default lifter).
        causal: lift frame by frame as the video is read.
        focal: focal length in pixels for the trajectory fallback (``None``: 1.15 x width).
        flip_test: horizontal-flip test-time averaging of the lifter.
        out: output folder (``None``: nothing is written).
        vis: write overlay images and videos.
        gif: with ``lift``, also write ``vis/<name>_3d.gif``.
        bvh: with ``lift``, write ``bvh/<name>_track<id>.bvh`` per video track.
    """

    skeleton: str = "coco"
    max_people: int | None = None
    min_score: float = 0.2
    detector_min_score: float = DETECTOR_MIN_SCORE
    tiles: str | int = "auto"
    threads: int | None = None
    model: str | None = None
    weights: str | None = None
    device: str = "cpu"
    detections: str | None = None
    images_json: str | None = None
    smooth: bool = True
    redetect_every: int = 10
    redetect_max_every: int = 40
    lift: bool = False
    lifter: str | None = None
    causal: bool = False
    focal: float | None = None
    flip_test: bool = True
    out: str | os.PathLike[str] | None = None
    vis: bool = True
    gif: bool = False
    bvh: bool = False

    def __post_init__(self) -> None:
        if self.max_people is not None and self.max_people < 1:
            raise ValueError(f"--max-people must be >= 1, got {self.max_people}")
        if self.redetect_every < 1:
            raise ValueError(f"--redetect-every must be >= 1, got {self.redetect_every}")
        if self.redetect_max_every < 1:
            raise ValueError(f"--redetect-max-every must be >= 1, got {self.redetect_max_every}")
        if not self.lift:
            for flag, value in (
                ("--lifter", self.lifter),
                ("--causal", self.causal),
                ("--gif", self.gif),
                ("--bvh", self.bvh),
                ("--focal", self.focal),
                ("--no-flip-test", not self.flip_test),
            ):
                if value:
                    raise ValueError(f"{flag} needs --lift")
        if self.weights is not None and self.model is None:
            raise ValueError("--weights needs --model (the BlazePose models ship with posekit)")
        if self.model is not None and self.weights is None:
            raise ValueError(f"--model {self.model} needs --weights PATH: posekit ships no weights for it")
        if self.focal is not None and not (np.isfinite(self.focal) and self.focal > 0):
            raise ValueError(f"--focal must be a positive number of pixels, got {self.focal}")
        # Unknown names raise ValueError; aliases become the registered name.
        object.__setattr__(self, "skeleton", get_skeleton(self.skeleton).name)


@dataclass(frozen=True)
class InputFile:
    """One input: its path and kind (``"image"``, ``"video"`` or ``"unknown"``: try both)."""

    path: Path
    kind: str


@dataclass
class FramePoses:
    """The people of one image or video frame.

    Attributes:
        file_name: the input's path.
        image_id: the COCO image id of the results entries.
        instances: ``N`` people in the chosen skeleton, image pixels; ``track_ids`` for videos.
        frame: 0-based frame index (videos), else ``None``.
        timestamp: seconds (videos), else ``None``.
        keypoints_3d: ``(N, 17, 3)`` Human3.6M joints, metres, camera frame, root-relative (with
            ``lift``; rows of people without 3D are NaN), else ``None``.
        trajectory: ``(N, 3)`` pelvis in camera space, metres (with ``lift``), else ``None``.
    """

    file_name: str
    image_id: int
    instances: PoseInstances
    frame: int | None = None
    timestamp: float | None = None
    keypoints_3d: np.ndarray | None = None
    trajectory: np.ndarray | None = None

    def set_3d(self, row: int, keypoints_3d: np.ndarray, trajectory: np.ndarray) -> None:
        """The 3D pose ``(17, 3)`` and trajectory ``(3,)`` of person ``row``."""
        if self.keypoints_3d is None or self.trajectory is None:
            self.keypoints_3d = np.full((len(self.instances),) + keypoints_3d.shape, np.nan, np.float32)
            self.trajectory = np.full((len(self.instances), 3), np.nan, np.float32)
        self.keypoints_3d[row] = keypoints_3d
        self.trajectory[row] = trajectory

    def to_coco_results(self) -> list[dict[str, Any]]:
        """The results entries of this image or frame (see the module docstring)."""
        extra: dict[str, Any] = {"file_name": self.file_name}
        if self.frame is not None:
            extra["frame"] = self.frame
            extra["timestamp"] = round(float(self.timestamp or 0.0), 6)
        entries = self.instances.to_coco_results(self.image_id, extra=extra)
        if self.keypoints_3d is not None and self.trajectory is not None:
            for row, entry in enumerate(entries):
                if np.isfinite(self.keypoints_3d[row]).all():
                    # (17, 3) -> (51,), 0.1 mm
                    entry["keypoints_3d"] = [round(float(value), 4) for value in self.keypoints_3d[row].reshape(-1)]
                    entry["trajectory"] = [round(float(value), 4) for value in self.trajectory[row]]
        return entries


@dataclass
class PredictResult:
    """What :func:`predict` found and wrote.

    Attributes:
        poses: the people of every image and video frame, in processing order.
        lifted: with ``lift``, ``(file name, sequence)`` per lifted track (Human3.6M-17 2D,
            ``keypoints_3d`` and ``trajectory``); image people are one-frame tracks.
        images, videos, video_frames, people: counts of what was processed.
        failed: inputs that failed (missing or unreadable), their messages went to ``report``.
        seconds: processing time (inputs only, not loading the models).
        predictions_path, poses3d_path, vis_dir: files written (``None`` when not written).
    """

    poses: list[FramePoses] = field(default_factory=list)
    lifted: list[tuple[str, PoseSequence]] = field(default_factory=list)
    images: int = 0
    videos: int = 0
    video_frames: int = 0
    people: int = 0
    failed: int = 0
    seconds: float = 0.0
    predictions_path: Path | None = None
    poses3d_path: Path | None = None
    vis_dir: Path | None = None

    def to_coco_results(self) -> list[dict[str, Any]]:
        """Every results entry, in processing order (the content of ``predictions.json``)."""
        return [entry for frame in self.poses for entry in frame.to_coco_results()]


# ------------------------------------------------------------------------------------------ inputs
def collect_inputs(arguments: Sequence[str | os.PathLike[str]]) -> tuple[list[InputFile], list[str], list[str]]:
    """Expand folders (recursively, sorted; hidden files skipped).

    Returns:
        ``(inputs, notes, errors)``: the inputs in order, one note per skipped file or empty
        folder, one error per argument that names nothing.
    """
    inputs: list[InputFile] = []
    notes: list[str] = []
    errors: list[str] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            found = 0
            for child in sorted(item for item in path.rglob("*") if item.is_file()):
                if child.name.startswith("."):
                    continue
                if is_image_path(child):
                    inputs.append(InputFile(child, "image"))
                elif is_video_path(child):
                    inputs.append(InputFile(child, "video"))
                else:
                    notes.append(f"skipped {child}: not an image or video file")
                    continue
                found += 1
            if found == 0:
                notes.append(f"{path}: the folder holds no image or video files")
        elif path.is_file():
            kind = "image" if is_image_path(path) else "video" if is_video_path(path) else "unknown"
            inputs.append(InputFile(path, kind))
        else:
            errors.append(f"{path}: no such file or folder")
    return inputs, notes, errors


def _unique_name(stem: str, suffix: str, used: set[str]) -> str:
    name = f"{stem}{suffix}"
    counter = 2
    while name in used:
        name = f"{stem}_{counter}{suffix}"
        counter += 1
    used.add(name)
    return name


def load_lifter_for_predict(path: str | None, threads: int | None, causal: bool = False) -> Lifter:
    """The lifter for ``lift``: a checkpoint, or the shipped default.

    Without ``path`` the default is the shipped causal lifter when ``causal`` (it streams with no
    lag), else the shipped non-causal one; a ``path`` is used as it is, causal or not.

    PyTorch runs the lifter on ``threads`` threads, 1 by default: its convolutions are small (one
    frame's window per call when streaming), and on a loaded 2-core machine handing them to a
    second OpenMP thread made each call about 45 times slower (``benchmarks/bench_predict_lift.py``).
    """
    import torch

    from posekit.inference.lift3d.tracks import check_lifter
    from posekit.models.lift3d import load_lifter

    torch.set_num_threads(threads if threads is not None else 1)
    if path is None:
        from posekit.inference.lift3d.default_lifter import load_default_lifter

        lifter = load_default_lifter(causal=causal)
    else:
        lifter = load_lifter(path)
    check_lifter(lifter)
    return lifter


# ------------------------------------------------------------------------------------------ runner
class _Run:
    """State of one :func:`predict` call: the models, the id and name counters, the result."""

    def __init__(self, options: PredictOptions, estimator: PoseEstimator, lifter: Lifter | None) -> None:
        self.options = options
        self.estimator = estimator
        self.video_estimator = for_video(estimator)
        self.lifter = lifter
        self.out = None if options.out is None else Path(options.out)
        if options.detections is not None and not isinstance(estimator, TopDownPipeline):
            raise ValueError("--detections needs a top-down estimator (a person detector and a pose model)")
        self.box_file = (
            BoxFileDetector(options.detections, images_path=options.images_json)
            if options.detections is not None
            else None
        )
        self.image_ids: dict[str, int] = (
            {}
            if options.images_json is None
            else {name: int(image_id) for name, image_id in load_coco_image_ids(options.images_json).items()}
        )
        self.next_id = max(self.image_ids.values(), default=0) + 1
        self.vis_names: set[str] = set()
        self.bvh_names: set[str] = set()
        self.result = PredictResult()

    @property
    def vis(self) -> bool:
        return self.out is not None and self.options.vis

    @property
    def gif(self) -> bool:
        return self.out is not None and self.options.gif

    def take_image_id(self, file_name: str | None) -> int:
        if file_name is not None:
            known = match_file_name(file_name, self.image_ids)
            if known is not None:
                return int(known)
        image_id = self.next_id
        self.next_id += 1
        return image_id

    def convert(self, instances: PoseInstances) -> PoseInstances:
        skeleton = self.options.skeleton
        return instances if skeleton == instances.skeleton else instances.convert(skeleton)

    def vis_path(self, stem: str, suffix: str) -> Path:
        assert self.out is not None
        return self.out / "vis" / _unique_name(stem, suffix, self.vis_names)

    def image(self, item: InputFile, warn: list[tuple[str, str]]) -> None:
        image = read_image(item.path)
        height, width = image.shape[:2]
        detections = None if self.box_file is None else self.box_file.lookup(str(item.path), (width, height))
        if detections is None:
            instances = self.estimator(image)
        else:
            assert isinstance(self.estimator, TopDownPipeline)  # checked in __init__
            instances = self.estimator(image, detections=detections)
        frame = FramePoses(str(item.path), self.take_image_id(str(item.path)), self.convert(instances))
        lifted = None
        if self.lifter is not None:
            from posekit.inference.lift3d.video import lift_people

            options = self.options
            lifted = lift_people(
                instances, self.lifter, (width, height), flip_test=options.flip_test, focal_length=options.focal
            )
            for row, sequence in enumerate(lifted):
                assert sequence.keypoints_3d is not None and sequence.trajectory is not None
                frame.set_3d(row, sequence.keypoints_3d[0], sequence.trajectory[0])
        self.result.poses.append(frame)
        self.result.images += 1
        self.result.people += len(instances)
        if self.vis:
            write_image(self.vis_path(item.path.stem, ".jpg"), draw_poses(image, frame.instances))
            if lifted is not None:
                from posekit.viz.plot3d import render_lift_image

                composed = render_lift_image(image, frame.instances, lifted)
                write_image(self.vis_path(f"{item.path.stem}_3d", ".jpg"), composed)
        if lifted is not None:
            self.result.lifted += [(str(item.path), sequence) for sequence in lifted]

    def video(self, item: InputFile, warn: list[tuple[str, str]]) -> None:
        from tqdm import tqdm

        options = self.options
        tracker = VideoPosePipeline(
            self.video_estimator,
            smoother=PoseSmoother() if options.smooth else None,
            redetect_every=options.redetect_every,
            redetect_max_every=max(options.redetect_every, options.redetect_max_every),
        )
        frames: list[FramePoses] = []
        people = 0
        lift: VideoLifter | None = None
        if self.lifter is not None:
            from posekit.inference.lift3d.video import VideoLifter  # torch: imported only when lifting

            lift = VideoLifter(
                self.lifter, causal=options.causal, flip_test=options.flip_test, focal_length=options.focal
            )
        keep_overlays = lift is not None and (self.vis or self.gif)
        overlays: dict[int, PoseInstances] = {}
        with contextlib.ExitStack() as stack:
            reader = stack.enter_context(VideoReader(item.path, prefetch=VIDEO_PREFETCH))
            writer = None
            if self.vis:
                writer = stack.enter_context(
                    VideoWriter(self.vis_path(item.path.stem, ".mp4"), reader.fps, reader.size)
                )
            progress = stack.enter_context(
                tqdm(total=reader.expected_frames, desc=item.path.name, unit="frame", disable=None, leave=False)
            )
            if self.box_file is not None:
                warn.append(("warning", f"{item.path}: --detections applies to images; videos use the detector"))
            for video_frame in reader:
                instances = tracker(video_frame.image, video_frame.index, video_frame.timestamp)
                converted = self.convert(instances)
                frames.append(
                    FramePoses(
                        str(item.path),
                        self.take_image_id(None),
                        converted,
                        frame=video_frame.index,
                        timestamp=video_frame.timestamp,
                    )
                )
                people += len(instances)
                if lift is not None:
                    started = lift.latency is not None
                    lift.add(video_frame.index, video_frame.timestamp, instances, reader.size)
                    if not started and lift.latency:
                        note = f"the lifter is not causal (receptive field {lift.receptive_field}); "
                        warn.append(("note", note + f"--causal 3D poses lag {lift.latency} frames"))
                if keep_overlays:
                    overlays[video_frame.index] = converted
                if writer is not None:
                    if (video_frame.image.shape[1], video_frame.image.shape[0]) != writer.size:
                        new_size = f"{video_frame.image.shape[1]}x{video_frame.image.shape[0]}"
                        raise ValueError(f"frame {video_frame.index} changes the video size to {new_size}")
                    writer.write(draw_poses(video_frame.image, converted))
                progress.update(1)
            if reader.stop_reason is not None:
                warn.append(("warning", f"{item.path}: {reader.stop_reason}; kept the frames read"))
            frames_read = reader.frames_read
            fps = reader.fps
            size = reader.size
        lifted = self._finish_lift(item, lift, frames, overlays, size, fps, warn) if lift is not None else None
        self.result.video_frames += frames_read
        if lifted is not None:
            self.result.lifted += [(str(item.path), sequence) for sequence in lifted]
        self.result.poses += frames
        self.result.people += people
        self.result.videos += 1

    def _finish_lift(
        self,
        item: InputFile,
        lift: VideoLifter,
        frames: list[FramePoses],
        overlays: dict[int, PoseInstances],
        size: tuple[int, int],
        fps: float,
        warn: list[tuple[str, str]],
    ) -> list[PoseSequence]:
        """Lift (batch mode), give the frames their 3D, write the 3D overlay video/GIF and BVH files."""
        lifted = lift.finish()
        warn += [("warning", f"no 3D for {message}") for message in lift.skipped]
        rows: dict[tuple[int, int], tuple[FramePoses, int]] = {}
        for frame in frames:
            track_ids = frame.instances.track_ids
            for row, track_id in enumerate([] if track_ids is None else track_ids.tolist()):
                rows[(int(track_id), int(frame.frame or 0))] = (frame, row)
        for sequence in lifted:
            assert sequence.keypoints_3d is not None and sequence.trajectory is not None
            for position, frame_index in enumerate(sequence.frames.tolist()):
                found = rows.get((sequence.track_id, int(frame_index)))
                if found is not None:
                    found[0].set_3d(found[1], sequence.keypoints_3d[position], sequence.trajectory[position])
        if lifted and (self.vis or self.gif):
            from posekit.viz.plot3d import render_lift_video

            video_path = self.vis_path(f"{item.path.stem}_3d", ".mp4") if self.vis else None
            gif_path = self.vis_path(f"{item.path.stem}_3d", ".gif") if self.gif else None
            with VideoReader(item.path, prefetch=VIDEO_PREFETCH) as reader:
                frames_again = ((video_frame.index, video_frame.image) for video_frame in reader)
                render_lift_video(frames_again, lifted, overlays, size, fps, video_path, gif_path)
        if self.out is not None and self.options.bvh:
            from posekit.io.bvh import write_bvh

            stem = _unique_name(item.path.stem, "", self.bvh_names)
            for sequence in lifted:
                assert sequence.keypoints_3d is not None
                write_bvh(
                    self.out / "bvh" / f"{stem}_track{sequence.track_id}.bvh",
                    sequence.keypoints_3d,
                    fps,
                    trajectory=sequence.trajectory,
                )
        return lifted

    def unknown(self, item: InputFile, warn: list[tuple[str, str]]) -> None:
        """A file named explicitly whose suffix is neither image nor video: try image, then video."""
        try:
            self.image(item, warn)
            return
        except ValueError:
            pass
        try:
            self.video(item, warn)
        except ValueError:
            raise ValueError(f"{item.path}: not an image or video file that OpenCV or PyAV can read") from None


def _ignore(level: str, text: str) -> None:
    return None


def build_predict_estimator(options: PredictOptions) -> PoseEstimator:
    """The estimator of ``options`` (BlazePose, or ``model`` behind the BlazePose detector), warmed up.

    Torch runs ``model`` on ``threads`` threads, 1 by default (small batches of crops). The first
    run happens here, with native stderr silenced: the TFLite runtime prints its banner then.
    """
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # no FFmpeg chatter on stderr for broken files
    if options.model is not None:
        import torch

        torch.set_num_threads(options.threads if options.threads is not None else 1)
    with suppress_native_stderr():
        estimator = build_estimator(
            options.model,
            options.weights,
            max_people=options.max_people,
            min_score=options.min_score,
            detector_min_score=options.detector_min_score,
            tiles=options.tiles,
            num_threads=options.threads,
            device=options.device,
        )
        estimator(np.zeros((8, 8, 3), np.uint8))
    return estimator


def predict(
    inputs: Sequence[str | os.PathLike[str]],
    options: PredictOptions | None = None,
    *,
    estimator: PoseEstimator | None = None,
    report: Report | None = None,
) -> PredictResult:
    """Poses of every person in ``inputs``; writes the files of ``options.out`` when it is set.

    Args:
        inputs: image files, video files and folders (searched recursively for both).
        options: what to run and write (default: :class:`PredictOptions` ()).
        estimator: run this :class:`~posekit.inference.estimator.PoseEstimator` instead of the one
            ``options`` describe (``model``, ``tiles``, ... are then ignored; ``--detections`` needs
            a top-down one).
        report: called with ``(level, text)`` for every note, warning and error, in order; by
            default messages are dropped (the counts are in the result).

    Returns:
        The :class:`PredictResult`; ``failed`` counts the inputs that could not be processed.

    Raises:
        ValueError: bad options, a model, lifter or detections file that cannot be loaded.
    """
    options = PredictOptions() if options is None else options
    say = _ignore if report is None else report
    items, notes, errors = collect_inputs(inputs)
    if estimator is None:
        estimator = build_predict_estimator(options)
    lifter = load_lifter_for_predict(options.lifter, options.threads, options.causal) if options.lift else None
    run = _Run(options, estimator, lifter)
    for line in notes:
        say("", line)
    for line in errors:
        say("error", line)
    run.result.failed = len(errors)
    start = time.perf_counter()
    for item in items:
        warn: list[tuple[str, str]] = []
        try:
            with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)
                if item.kind == "image":
                    run.image(item, warn)
                elif item.kind == "video":
                    run.video(item, warn)
                else:
                    run.unknown(item, warn)
        except KeyboardInterrupt:
            raise
        except Exception as error:  # one bad input never stops the others
            run.result.failed += 1
            message = " ".join(str(error).split()) or type(error).__name__
            if str(item.path) not in message:
                message = f"{item.path}: {message}"
            say("error", message)
        for level, line in warn:
            say(level, line)
    run.result.seconds = time.perf_counter() - start
    if run.out is not None:
        _write_results(run)
    return run.result


def _write_results(run: _Run) -> None:
    from posekit.io.atomic import atomic_write_json

    assert run.out is not None
    if run.options.lift:
        from posekit.io.poses import save_poses3d_npz

        run.result.poses3d_path = save_poses3d_npz(run.out / "poses3d.npz", run.result.lifted)
    run.result.predictions_path = atomic_write_json(run.out / "predictions.json", run.result.to_coco_results())
    if run.options.vis:
        run.result.vis_dir = run.out / "vis"
