"""2D (and 3D) poses of every person in images, folders and videos: the library behind ``posekit predict``.

:func:`predict` takes inputs (image files, video files, folders searched recursively) and
:class:`PredictOptions`, runs one :class:`~posekit.inference.estimator.PoseEstimator` over them
(BlazePose by default, a registered 2D model behind the person detector, or a bottom-up model
on the whole image), tracks and smooths the people of videos
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
* with ``keep_landmarks`` (BlazePose only), entries gain ``landmarks`` (BlazePose's 33 landmarks in
  MediaPipe's order, whatever ``skeleton`` is: ``name``, ``x``, ``y`` in image pixels, ``z`` (depth
  relative to the hips, pixel scale of x; smaller is nearer), ``visibility``, ``presence``) and
  ``world_landmarks`` (the 33 world landmarks: ``name``, ``x``, ``y``, ``z`` in metres, origin
  between the hips, y down); a landmark the model could not place has ``null`` values. In videos
  they are the landmark model's raw output for the frame: ``keypoints`` are smoothed (``smooth``),
  the landmarks are not;
* ``predictions.csv`` instead of (``output_format="csv"``) or beside (``"both"``) the JSON: one row
  per person and image or frame with the same values (:mod:`posekit.io.csv_results`);
* ``vis/<name>.jpg`` / ``vis/<name>.mp4`` overlays (``vis``; ``keypoint_threshold``, ``line_width``,
  ``draw_boxes``), ``vis/<name>_3d.jpg|mp4`` (``lift``),
  ``vis/<name>_3d.gif`` (``gif``), ``bvh/<name>_track<id>.bvh`` per video track (``bvh``) and
  ``poses3d.npz`` (``lift``; :func:`posekit.io.poses.save_poses3d_npz`);
* with ``mesh`` (which implies ``lift``; :mod:`posekit.inference.mesh`): a body model (``body_model``,
  default the shipped open model) fitted to every lifted track, ``mesh/<name>_track<id>.npz`` with its
  named parameters per frame (``global_orient``, ``body_pose``, ``betas``, ``transl``,
  ``frame_indices``, fitting errors), ``vis/<name>_mesh.mp4|jpg`` (the meshes over the input, colour per
  track; ``side_view`` adds a turned view on the right) and, with ``save_obj``,
  ``mesh/<name>_obj/track_<id>/frame_<n>.obj``.

Live input: a camera index (``"0"``, an argument that is a whole number and names no file), stream
URLs (``rtsp://``, ``http(s)://``, ``udp://``, ...) and ``"-"`` (a video piped to standard input) are
read frame by frame like videos, with no frame count, always in this process (never in workers); an
address that does not answer fails within a few seconds (:data:`posekit.io.video.STREAM_TIMEOUT`).
Ctrl-C (``KeyboardInterrupt``) while an input is processed stops the run there *without
raising*: the overlay video of the input is closed after the last processed frame (a valid MP4),
the files of everything processed so far are written (with workers: of the inputs merged so
far), and the returned result has ``stopped == "interrupt"`` (the CLI then exits 130). With
``show`` a window previews the overlays of videos and live inputs; ``q`` or Esc in it stops the
same way (``stopped == "window"``).

Each input is processed on its own: one that cannot be read gets one message and the others go
on. Messages (notes, warnings, errors) go to the ``report`` callback as they happen, as
``(level, text)`` with ``level`` one of ``""``, ``"note"``, ``"warning"``, ``"error"``.

Legend: ``N`` people, ``K`` keypoints of the chosen skeleton; keypoints in image pixels; 3D in
metres.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import re
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from posekit.inference.blazepose.estimator import BlazePoseEstimator
from posekit.inference.box_file import BoxFileDetector, match_file_name
from posekit.inference.estimator import PoseEstimator, build_estimator, for_video
from posekit.inference.smoothing import PoseSmoother
from posekit.inference.topdown import TopDownPipeline
from posekit.inference.video import VideoPosePipeline
from posekit.io.coco import load_coco_image_ids
from posekit.io.images import is_image_path, read_image, write_image
from posekit.io.preview import PreviewWindow, display_problem
from posekit.io.video import (
    STDIN,
    VideoReader,
    VideoWriter,
    is_stream_url,
    is_video_path,
    redact_url,
    suppress_native_stderr,
)
from posekit.skeletons import get_skeleton
from posekit.structures import PoseInstances, PoseSequence
from posekit.viz.draw import DRAW_MIN_SCORE, draw_poses

if TYPE_CHECKING:  # torch is imported only when lifting
    from posekit.inference.lift3d.video import VideoLifter
    from posekit.inference.mesh import MeshFitter, MeshTrack
    from posekit.models.lift3d import Lifter

__all__ = [
    "OUTPUT_FORMATS",
    "FramePoses",
    "InputFile",
    "PredictOptions",
    "PredictResult",
    "collect_inputs",
    "keeping_landmarks",
    "predict",
]

# MediaPipe keeps detections scoring 0.5; the landmark model's pose presence check (> 0.5) then
# rejects what is not a person (see README, benchmarks/eval_shared_data.py).
DETECTOR_MIN_SCORE = 0.5
# Frames decoded ahead in a background thread while the models run on the current one.
VIDEO_PREFETCH = 2
# Results files: predictions.json, predictions.csv, or both.
OUTPUT_FORMATS = ("json", "csv", "both")

Report = Callable[[str, str], None]


@dataclass(frozen=True)
class PredictOptions:
    """What ``posekit predict`` runs and writes (the command's options, one field each).

    Attributes:
        skeleton: keypoint format of the results, converted by joint name.
        max_people: at most this many people per image or frame.
        min_score: minimum person score (BlazePose: pose presence x mean keypoint visibility;
            bottom-up models: the mean joint heatmap value).
        detector_min_score: minimum person-detector score.
        tiles: detector tiling: ``"auto"``, ``"off"`` or ``N`` (tiles of long side / N).
        threads: CPU threads for the models (``None``: the cores, at most 4; a torch single-person
            model: 1; a bottom-up model: the cores, at most 4).
        model: a registered 2D model (needs ``weights``): a single-person model run on each
            detected person, or a bottom-up model (``higherhrnet_*``) run on the whole image.
        weights: the model's checkpoint.
        device: torch device of ``model``.
        scales: the bottom-up model's test scales (``(0.5, 1, 2)``: the official multi-scale test;
            1 must be among several); bottom-up models only.
        flip: the 2D model's horizontal-flip test (``model`` only: bottom-up, or the single-person
            model's, whose checkpoint metadata decides when on); not the lifter's (``flip_test``).
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
        progress: a progress bar per video on stderr (only when stderr is a terminal).
        workers: process the inputs in this many worker processes (``None``: one per CPU this
            process may use; never more than the inputs); results equal one worker's.
        output_format: results file(s): ``"json"`` (``predictions.json``), ``"csv"``
            (``predictions.csv``) or ``"both"``.
        keep_landmarks: keep BlazePose's 33 landmarks and world landmarks in the results (the
            BlazePose estimator only).
        keypoint_threshold: overlays hide keypoints scoring below this, and the links touching them.
        line_width: overlay line width in pixels (``None``: scales with the image size).
        draw_boxes: draw person boxes on the overlays.
        show: preview the overlays of videos and live inputs in a window (needs a display and an
            OpenCV with GUI support: refused before anything runs otherwise); runs in one process.
        mesh: fit a body model to every lifted person and write meshes (implies ``lift``; runs in one
            process).
        body_model: with ``mesh``: ``"open"`` (shipped) or an SMPL file or folder of the user's.
        gender: with ``mesh`` and an SMPL folder: ``"neutral"``, ``"male"`` or ``"female"``.
        mesh_steps: with ``mesh``: optimisation steps per track.
        side_view: with ``mesh``: the mesh overlays gain a side view on the right.
        save_obj: with ``mesh``: write an ``.obj`` per track and frame.
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
    scales: tuple[float, ...] = (1.0,)
    flip: bool = True
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
    progress: bool = False
    workers: int | None = 1
    output_format: str = "json"
    keep_landmarks: bool = False
    keypoint_threshold: float = DRAW_MIN_SCORE
    line_width: int | None = None
    draw_boxes: bool = True
    show: bool = False
    mesh: bool = False
    body_model: str = "open"
    gender: str = "neutral"
    mesh_steps: int = 300
    side_view: bool = False
    save_obj: bool = False

    def __post_init__(self) -> None:
        self._check_mesh_options()
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"--workers must be >= 1, got {self.workers}")
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
            from posekit.models.registry import list_models, unknown_model_message

            if self.model not in list_models():  # a misspelt name is named as such before asking for weights
                raise ValueError(unknown_model_message(self.model, list_models()))
            raise ValueError(f"--model {self.model} needs --weights PATH: posekit ships no weights for it")
        self._check_model_options()
        if self.focal is not None and not (np.isfinite(self.focal) and self.focal > 0):
            raise ValueError(f"--focal must be a positive number of pixels, got {self.focal}")
        # Unknown names raise ValueError; aliases become the registered name.
        object.__setattr__(self, "skeleton", get_skeleton(self.skeleton).name)
        if self.output_format not in OUTPUT_FORMATS:
            raise ValueError(f"--format must be one of {', '.join(OUTPUT_FORMATS)}, got {self.output_format!r}")
        if self.keep_landmarks and self.model is not None:
            raise ValueError(
                f"--keep-landmarks needs the BlazePose landmark model: a --model {self.model} run has no landmarks"
            )
        if not np.isfinite(self.keypoint_threshold):
            raise ValueError(f"--kpt-thr must be a number, got {self.keypoint_threshold}")
        if self.line_width is not None and self.line_width < 1:
            raise ValueError(f"--line-width must be a whole number of pixels >= 1, got {self.line_width}")

    def _check_mesh_options(self) -> None:
        """``mesh`` implies ``lift``; the mesh options need ``mesh``."""
        if self.mesh:
            object.__setattr__(self, "lift", True)
            if self.gender not in ("neutral", "male", "female"):
                raise ValueError(f"--gender must be neutral, male or female, got {self.gender!r}")
            if self.mesh_steps < 1:
                raise ValueError(f"--mesh-steps must be >= 1, got {self.mesh_steps}")
            return
        for flag, value in (
            ("--body-model", self.body_model != "open"),
            ("--gender", self.gender != "neutral"),
            ("--mesh-steps", self.mesh_steps != 300),
            ("--side-view", self.side_view),
            ("--save-obj", self.save_obj),
        ):
            if value:
                raise ValueError(f"{flag} needs --mesh")

    def _check_model_options(self) -> None:
        """``scales`` and ``flip`` against ``model`` (torch is imported only when a model is named)."""
        scales = tuple(float(value) for value in self.scales)
        object.__setattr__(self, "scales", scales)
        if self.model is None:
            if scales != (1.0,):
                raise ValueError("--scales applies to bottom-up models (--model higherhrnet_*), not to BlazePose")
            if not self.flip:
                raise ValueError("--no-flip applies to --model runs (the 2D model's flip test): BlazePose has none")
            return
        if scales == (1.0,):
            return
        from posekit.models.bottomup.loading import is_bottomup_model
        from posekit.models.registry import list_models, unknown_model_message

        if self.model not in list_models():
            raise ValueError(unknown_model_message(self.model, list_models()))
        if not is_bottomup_model(self.model):
            raise ValueError(f"--scales applies to bottom-up models (higherhrnet_*), not to the top-down {self.model}")
        from posekit.inference.bottomup import check_scales

        try:
            check_scales(scales)
        except ValueError as error:
            raise ValueError(f"--scales: {error}") from None


@dataclass(frozen=True)
class InputFile:
    """One input: its path and kind (``"image"``, ``"video"``, ``"unknown"``: try both, ``"array"``,
    ``"camera"`` or ``"stream"``).

    An ``"array"`` input is an image given in memory (``image``, ``(H, W, 3)`` uint8 RGB); its
    ``path`` is the name it gets in the results (``array_<index>``). For a ``"camera"`` or
    ``"stream"``, ``source`` is the camera index, the URL as given or ``"-"`` (standard input), and
    ``path`` is ``Path(source)``, used for nothing.
    """

    path: Path
    kind: str
    image: np.ndarray | None = field(default=None, repr=False, compare=False)
    source: str | None = None

    @property
    def label(self) -> str:
        """How messages and results name the input: the path, ``"camera N"`` or the URL (password hidden)."""
        if self.source is None:
            return str(self.path)
        if self.source == STDIN:
            return "standard input"
        return f"camera {self.source}" if self.kind == "camera" else redact_url(self.source)

    @property
    def stem(self) -> str:
        """The base name of the input's overlay files: the file's stem, ``cameraN`` or a name from the URL."""
        if self.source is None:
            return self.path.stem
        if self.kind == "camera":
            return f"camera{self.source}"
        if self.source == STDIN:
            return "stdin"
        rest = self.source.split("://", 1)[-1].split("?", 1)[0].split("#", 1)[0]
        host, _, location = rest.partition("/")
        name = Path(location).stem if location.strip("/") else host.rpartition("@")[2]
        return re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_") or "stream"

    @property
    def reader_source(self) -> Path | str | int:
        """What :class:`~posekit.io.video.VideoReader` opens: the path, the camera index or the URL."""
        if self.source is None:
            return self.path
        return int(self.source) if self.kind == "camera" else self.source


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
        landmarks, world = self.instances.landmarks, self.instances.world_landmarks
        if landmarks is not None and world is not None:
            names = _landmark_names(landmarks.shape[1])
            for row, entry in enumerate(entries):
                entry["landmarks"] = _landmark_entries(names, landmarks[row], ("x", "y", "z", "visibility", "presence"))
                entry["world_landmarks"] = _landmark_entries(names, world[row], ("x", "y", "z"))
        return entries


def _landmark_names(count: int) -> tuple[str, ...]:
    """MediaPipe's landmark names (the ``"blazepose"`` skeleton's) for ``count`` landmarks, else numbers."""
    names = get_skeleton("blazepose").keypoint_names
    return tuple(names) if count == len(names) else tuple(str(index) for index in range(count))


def _landmark_entries(names: Sequence[str], values: np.ndarray, columns: Sequence[str]) -> list[dict[str, Any]]:
    """``(L, C)`` landmark values as ``L`` dicts ``{"name": ..., column: value}`` (NaN -> ``None``)."""
    rounded = np.round(values.astype(np.float64), 4).tolist()  # 0.1 mm, 1e-4 px and 1e-4 probability
    entries = []
    for name, row in zip(names, rounded, strict=True):
        entry: dict[str, Any] = {"name": name}
        for column, value in zip(columns, row, strict=True):
            entry[column] = value if math.isfinite(value) else None
        entries.append(entry)
    return entries


@dataclass
class PredictResult:
    """What :func:`predict` found and wrote; iterating it (or indexing it) gives :attr:`poses`.

    Attributes:
        poses: the people of every image and video frame, in processing order.
        lifted: with ``lift``, ``(file name, sequence)`` per lifted track (Human3.6M-17 2D,
            ``keypoints_3d`` and ``trajectory``); image people are one-frame tracks.
        images, videos, video_frames: counts of what was processed.
        people: people found in the images plus ``person_frames``.
        person_frames: people found in video frames, summed over the frames.
        failed: inputs that failed (missing or unreadable), their messages went to ``report``.
        seconds: processing time (inputs only, not loading the models).
        predictions_path, poses3d_path, vis_dir: files written (``None`` when not written).
        csv_path: ``predictions.csv`` when written (``output_format`` ``"csv"`` or ``"both"``).
        stopped: why the run stopped before the end of its inputs: ``"interrupt"`` (Ctrl-C) or
            ``"window"`` (``q``/Esc in the ``show`` window); ``None`` when it ran to the end.
        meshes: with ``mesh``, the fitted body-model parameters per lifted track
            (:class:`~posekit.inference.mesh.MeshTrack`: frames, ``global_orient``, ``body_pose``,
            ``betas``, ``transl``, errors; no vertices: ``mesh_fitter.vertices(track)`` makes them).
        mesh_fitter: with ``mesh``, the :class:`~posekit.inference.mesh.MeshFitter` (its body model).
        mesh_dir: ``mesh/`` when parameter files were written.
    """

    poses: list[FramePoses] = field(default_factory=list)
    lifted: list[tuple[str, PoseSequence]] = field(default_factory=list)
    images: int = 0
    videos: int = 0
    video_frames: int = 0
    people: int = 0
    person_frames: int = 0
    failed: int = 0
    seconds: float = 0.0
    predictions_path: Path | None = None
    poses3d_path: Path | None = None
    vis_dir: Path | None = None
    csv_path: Path | None = None
    stopped: str | None = None
    meshes: list[MeshTrack] = field(default_factory=list)
    mesh_fitter: MeshFitter | None = field(default=None, repr=False)
    mesh_dir: Path | None = None

    def to_coco_results(self) -> list[dict[str, Any]]:
        """Every results entry, in processing order (the content of ``predictions.json``)."""
        return [entry for frame in self.poses for entry in frame.to_coco_results()]

    # The result reads as the list of its images and frames: ``result[0].instances``.
    def __len__(self) -> int:
        return len(self.poses)

    def __getitem__(self, index: int) -> FramePoses:
        return self.poses[index]

    def __iter__(self) -> Iterator[FramePoses]:
        return iter(self.poses)


# ------------------------------------------------------------------------------------------ inputs
def collect_inputs(
    arguments: Sequence[str | os.PathLike[str] | np.ndarray],
) -> tuple[list[InputFile], list[str], list[str]]:
    """Expand folders (recursively, sorted; hidden files skipped); arrays are images in memory.

    A string argument that is a stream URL (:func:`~posekit.io.video.is_stream_url`) is a
    ``"stream"``, and so is ``"-"`` (a video piped to standard input) when no file has that name;
    one that is a whole number and names no file or folder is a ``"camera"``.

    Returns:
        ``(inputs, notes, errors)``: the inputs in order, one note per file skipped in a folder
        (not an image or video, hidden, a broken symbolic link), one error per argument that names
        nothing usable (missing, a broken symbolic link, a folder without images or videos).
    """
    inputs: list[InputFile] = []
    notes: list[str] = []
    errors: list[str] = []
    arrays = 0
    for position, argument in enumerate(arguments):
        if isinstance(argument, np.ndarray):
            problem = _image_array_problem(argument)
            if problem is None:
                inputs.append(InputFile(Path(f"array_{arrays}"), "array", argument))
            else:
                errors.append(f"input {position} (an array): {problem}")
            arrays += 1
            continue
        live = _live_input(argument)
        if live is not None:
            inputs.append(live)
            continue
        path = Path(argument)
        if path.is_dir():
            found = 0
            for child, problem in _folder_entries(path):
                if problem is not None:
                    notes.append(f"skipped {child}: {problem}")
                elif is_image_path(child):
                    inputs.append(InputFile(child, "image"))
                    found += 1
                elif is_video_path(child):
                    inputs.append(InputFile(child, "video"))
                    found += 1
                else:
                    notes.append(f"skipped {child}: not an image or video file")
            if found == 0:  # an input named on the command line that gives nothing is an error
                errors.append(f"{path}: the folder holds no image or video files")
        elif path.is_file():
            kind = "image" if is_image_path(path) else "video" if is_video_path(path) else "unknown"
            inputs.append(InputFile(path, kind))
        elif path.is_symlink():
            errors.append(f"{path}: a broken symbolic link (to {os.readlink(path)}, which does not exist)")
        elif path.exists():
            errors.append(f"{path}: not a regular file or folder")
        else:
            errors.append(f"{path}: no such file or folder")
    return inputs, notes, errors


def _folder_entries(folder: Path) -> list[tuple[Path, str | None]]:
    """Every entry under ``folder`` that is not a folder, sorted, with why it is skipped (``None``: a file to try).

    Hidden files are skipped, and hidden folders (``.git``, ...) with one entry for the whole folder.
    """
    entries: list[tuple[Path, str | None]] = []
    for root, folders, files in os.walk(folder):
        base = Path(root)
        for name in list(folders):
            if name.startswith("."):
                folders.remove(name)
                entries.append((base / name, "a hidden folder"))
            elif (base / name).is_symlink():
                entries.append((base / name, "a symbolic link to a folder (not followed)"))
        for name in files:
            child = base / name
            if name.startswith("."):
                entries.append((child, "a hidden file"))
            elif child.is_symlink() and not child.exists():
                entries.append((child, f"a broken symbolic link (to {os.readlink(child)})"))
            elif not child.is_file():
                entries.append((child, "not a regular file"))
            else:
                entries.append((child, None))
    return sorted(entries)


def _image_array_problem(array: np.ndarray) -> str | None:
    """Why ``array`` is not an ``(H, W, 3)`` uint8 RGB image, or ``None``."""
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
        return (
            f"expected an (H, W, 3) uint8 RGB image, got shape {tuple(array.shape)} and dtype {array.dtype} "
            "(video frames: pass the video file; OpenCV images are BGR: convert with cv2.cvtColor)"
        )
    if array.shape[0] < 1 or array.shape[1] < 1:
        return f"the image is empty (shape {tuple(array.shape)})"
    return None


def _live_input(argument: str | os.PathLike[str]) -> InputFile | None:
    """The camera or stream that ``argument`` names, ``None`` for a path."""
    if not isinstance(argument, str):
        return None
    if is_stream_url(argument) or (argument == STDIN and not Path(argument).exists()):
        return InputFile(Path(argument), "stream", source=argument)
    if argument.isascii() and argument.isdigit() and not Path(argument).exists():
        return InputFile(Path(argument), "camera", source=str(int(argument)))
    return None


class _StopOnInterrupt:
    """Entered last in a video's exit stack: Ctrl-C ends the block as if the video ended there.

    The ``KeyboardInterrupt`` is swallowed here, so the contexts entered before (the overlay writer,
    the reader) close normally: the overlay MP4 is complete up to the last frame written.
    """

    def __init__(self) -> None:
        self.caught = False

    def __enter__(self) -> _StopOnInterrupt:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, traceback: Any) -> bool:
        self.caught = kind is not None and issubclass(kind, KeyboardInterrupt)
        return self.caught


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

    def __init__(
        self,
        options: PredictOptions,
        estimator: PoseEstimator | None,
        lifter: Lifter | None,
        mesh_fitter: MeshFitter | None = None,
    ) -> None:
        if options.keep_landmarks and estimator is not None:  # the run's own copy: a caller's estimator stays as is
            estimator = keeping_landmarks(estimator)
        self.options = options
        self._estimator = estimator  # None: the inputs run in worker processes (posekit.inference.workers)
        self._video_estimator = None if estimator is None else for_video(estimator)
        self.lifter = lifter
        self.out = None if options.out is None else Path(options.out)
        if options.detections is not None and estimator is not None and not isinstance(estimator, TopDownPipeline):
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
        # (folder, stem, suffix, path) of every overlay and BVH file written, in order
        self.written: list[tuple[str, str, str, Path]] = []
        self.result = PredictResult(mesh_fitter=mesh_fitter)
        self.mesh_fitter = mesh_fitter
        self.mesh_names: set[str] = set()
        self.preview: PreviewWindow | None = None

    @property
    def estimator(self) -> PoseEstimator:
        assert self._estimator is not None, "the inputs of this run go to worker processes"
        return self._estimator

    @property
    def video_estimator(self) -> PoseEstimator:
        assert self._video_estimator is not None, "the inputs of this run go to worker processes"
        return self._video_estimator

    def report(self, messages: list[tuple[str, str]], error: str | None, say: Report, stop_on_error: bool) -> None:
        """Count and report one input's outcome (its error first, then its messages)."""
        if error is not None:
            self.result.failed += 1
            if stop_on_error:
                raise ValueError(error)
            say("error", error)
        for level, line in messages:
            say(level, line)

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

    def draw(self, image: np.ndarray, instances: PoseInstances) -> np.ndarray:
        """The 2D overlay of ``instances`` on ``image`` with the drawing options."""
        options = self.options
        return draw_poses(
            image,
            instances,
            min_score=options.keypoint_threshold,
            draw_boxes=options.draw_boxes,
            line_width=options.line_width,
        )

    def output_path(self, folder: str, stem: str, suffix: str) -> Path:
        """Where an overlay (``"vis"``: ``stem + suffix`` made unique) or BVH file (``"bvh"``: ``stem``
        already unique per video, :meth:`bvh_stem`) goes; recorded in :attr:`written`."""
        assert self.out is not None
        name = _unique_name(stem, suffix, self.vis_names) if folder == "vis" else f"{stem}{suffix}"
        path = self.out / folder / name
        self.written.append((folder, stem, suffix, path))
        return path

    def vis_path(self, stem: str, suffix: str) -> Path:
        return self.output_path("vis", stem, suffix)

    def bvh_path(self, stem: str, track_id: int) -> Path:
        """``bvh/<stem>_track<id>.bvh``."""
        return self.output_path("bvh", stem, f"_track{track_id}.bvh")

    def bvh_stem(self, stem: str) -> str:
        return _unique_name(stem, "", self.bvh_names)

    def image(self, item: InputFile, warn: list[tuple[str, str]]) -> None:
        image = item.image if item.image is not None else read_image(item.path)
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
            write_image(self.vis_path(item.stem, ".jpg"), self.draw(image, frame.instances))
            if lifted is not None:
                from posekit.viz.plot3d import render_lift_image

                composed = render_lift_image(image, frame.instances, lifted)
                write_image(self.vis_path(f"{item.stem}_3d", ".jpg"), composed)
        if lifted is not None:
            self.result.lifted += [(str(item.path), sequence) for sequence in lifted]
            if self.mesh_fitter is not None:
                self.meshes(item, lifted, (width, height), warn, image=image)

    def meshes(
        self,
        item: InputFile,
        lifted: list[PoseSequence],
        size: tuple[int, int],
        warn: list[tuple[str, str]],
        *,
        image: np.ndarray | None = None,
        fps: float | None = None,
        reread: bool = True,
    ) -> None:
        """Fit the body model to each lifted track; write its parameters, overlays and OBJ files."""
        from posekit.inference.mesh import (
            mesh_camera,
            render_mesh_image,
            write_mesh_obj,
            write_mesh_parameters,
            write_mesh_video_file,
        )

        fitter = self.mesh_fitter
        assert fitter is not None
        options = self.options
        tracks = []
        for sequence in lifted:
            try:
                tracks.append(fitter.fit(sequence, size, focal=options.focal, file_name=item.label))
            except ValueError as error:
                warn.append(("warning", f"{item.label}: no mesh for {error}"))
        self.result.meshes += tracks
        if self.out is None or not tracks:
            return
        stem = _unique_name(item.stem, "", self.mesh_names)
        for track in tracks:
            write_mesh_parameters(self.out / "mesh" / f"{stem}_track{track.track_id}.npz", track)
        self.result.mesh_dir = self.out / "mesh"
        if options.save_obj:
            write_mesh_obj(self.out / "mesh" / f"{stem}_obj", fitter, tracks)
        if not self.vis:
            return
        camera = mesh_camera(size, options.focal)
        if image is not None:
            picture = render_mesh_image(image, fitter, tracks, camera, side_view=options.side_view)
            write_image(self.vis_path(f"{item.stem}_mesh", ".jpg"), picture)
        elif not reread:
            warn.append(("note", f"{item.label}: no mesh overlay video (it cannot be read twice or was stopped)"))
        else:
            assert fps is not None
            with VideoReader(item.path, prefetch=VIDEO_PREFETCH) as reader:
                frames_again = ((video_frame.index, video_frame.image) for video_frame in reader)
                path = self.vis_path(f"{item.stem}_mesh", ".mp4")
                write_mesh_video_file(path, frames_again, fitter, tracks, camera, fps, side_view=options.side_view)

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
            reader = stack.enter_context(VideoReader(item.reader_source, prefetch=VIDEO_PREFETCH))
            writer = None
            if self.vis:
                writer = stack.enter_context(VideoWriter(self.vis_path(item.stem, ".mp4"), reader.fps, reader.size))
            progress = stack.enter_context(
                tqdm(
                    total=reader.expected_frames,
                    desc=item.path.name,
                    unit="frame",
                    disable=None if options.progress else True,
                    leave=False,
                )
            )
            interrupt = stack.enter_context(_StopOnInterrupt())  # last: Ctrl-C closes the others normally
            if self.box_file is not None:
                warn.append(("warning", f"{item.label}: --detections applies to images; videos use the detector"))
            for video_frame in reader:
                instances = tracker(video_frame.image, video_frame.index, video_frame.timestamp)
                converted = self.convert(instances)
                frames.append(
                    FramePoses(
                        item.label,
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
                overlay = video_frame.image  # drawn once, for the overlay video and the preview
                if writer is not None or self.preview is not None:
                    overlay = self.draw(video_frame.image, converted)
                if writer is not None:
                    if (video_frame.image.shape[1], video_frame.image.shape[0]) != writer.size:
                        new_size = f"{video_frame.image.shape[1]}x{video_frame.image.shape[0]}"
                        raise ValueError(f"frame {video_frame.index} changes the video size to {new_size}")
                    writer.write(overlay)
                progress.update(1)
                if self.preview is not None and not self.preview.show(overlay):
                    break
            if reader.stop_reason is not None:
                warn.append(("warning", f"{item.label}: {reader.stop_reason}; kept the frames read"))
        frames_read = len(frames)  # the frames read and processed (a Ctrl-C may come between the two)
        fps = reader.fps
        size = reader.size
        if interrupt.caught or (self.preview is not None and self.preview.stopped):
            self.result.stopped = "interrupt" if interrupt.caught else "window"
            how = "interrupted (Ctrl-C)" if interrupt.caught else "stopped from the preview window"
            warn.append(("note", f"{item.label}: {how} after {frames_read} frames; the results so far are kept"))
        lifted = self._finish_lift(item, lift, frames, overlays, size, fps, warn) if lift is not None else None
        self.result.video_frames += frames_read
        if lifted is not None:
            self.result.lifted += [(item.label, sequence) for sequence in lifted]
            if self.mesh_fitter is not None:
                reread = item.source is None and self.result.stopped is None
                self.meshes(item, lifted, size, warn, fps=fps, reread=reread)
        self.result.poses += frames
        self.result.people += people
        self.result.person_frames += people
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
        if lifted and (self.vis or self.gif) and (item.source is not None or self.result.stopped is not None):
            why = "it was stopped" if self.result.stopped is not None else "a live input cannot be read twice"
            warn.append(("note", f"{item.label}: no 3D overlay video ({why}); its 3D poses are in the results"))
        elif lifted and (self.vis or self.gif):
            from posekit.viz.plot3d import render_lift_video

            video_path = self.vis_path(f"{item.stem}_3d", ".mp4") if self.vis else None
            gif_path = self.vis_path(f"{item.stem}_3d", ".gif") if self.gif else None
            with VideoReader(item.path, prefetch=VIDEO_PREFETCH) as reader:
                frames_again = ((video_frame.index, video_frame.image) for video_frame in reader)
                render_lift_video(frames_again, lifted, overlays, size, fps, video_path, gif_path)
        if self.out is not None and self.options.bvh:
            from posekit.io.bvh import write_bvh

            stem = self.bvh_stem(item.stem)
            for sequence in lifted:
                assert sequence.keypoints_3d is not None
                write_bvh(
                    self.bvh_path(stem, sequence.track_id),
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
    """The estimator of ``options`` (BlazePose, ``model`` behind the BlazePose detector, or a
    bottom-up ``model`` on the whole image), warmed up.

    Torch runs a single-person ``model`` on ``threads`` threads, 1 by default (small batches of
    crops), and a bottom-up one on ``threads``, by default the CPUs this process may use, at most 4
    (one large whole-image network). The first run of a top-down pipeline happens here, with native
    stderr silenced: the TFLite runtime prints its banner then (a bottom-up model has no TFLite part,
    and a first run would cost a whole-image inference).
    """
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # no FFmpeg chatter on stderr for broken files
    bottomup = False
    if options.model is not None:
        import torch

        from posekit.models.bottomup.loading import is_bottomup_model

        bottomup = is_bottomup_model(options.model)
        default_threads = min(4, available_cpus()) if bottomup else 1
        torch.set_num_threads(options.threads if options.threads is not None else default_threads)
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
            scales=options.scales,
            flip=options.flip,
        )
        if not bottomup:
            estimator(np.zeros((8, 8, 3), np.uint8))
    return estimator


def predict(
    inputs: Sequence[str | os.PathLike[str] | np.ndarray],
    options: PredictOptions | None = None,
    *,
    estimator: PoseEstimator | None = None,
    lifter: Lifter | None = None,
    report: Report | None = None,
    stop_on_error: bool = False,
) -> PredictResult:
    """Poses of every person in ``inputs``; writes the files of ``options.out`` when it is set.

    Args:
        inputs: image files, video files, folders (searched recursively for both), ``(H, W, 3)``
            uint8 RGB image arrays, camera indices (``"0"``), stream URLs and ``"-"`` (standard input).
        options: what to run and write (default: :class:`PredictOptions` ()).
        estimator: run this :class:`~posekit.inference.estimator.PoseEstimator` instead of the one
            ``options`` describe (``model``, ``tiles``, ... are then ignored; ``--detections`` needs
            a top-down one).
        lifter: with ``lift``, use this lifter instead of loading ``options.lifter``.
        report: called with ``(level, text)`` for every note, warning and error, in order; by
            default messages are dropped (the counts are in the result).
        stop_on_error: raise ``ValueError`` with the message of the first input that fails (or of
            an argument that names nothing) instead of going on with the others.

    Returns:
        The :class:`PredictResult`; ``failed`` counts the inputs that could not be processed;
        ``stopped`` says whether Ctrl-C (or the ``show`` window) ended the run early, after the
        files of what was processed were written (with workers: the inputs merged so far).

    Raises:
        ValueError: bad options, a model, lifter or detections file that cannot be loaded, an
            ``out`` folder or results file that cannot be written (checked before any input, and
            again when writing; a results file is written whole or not at all); ``show``
            where no window can open.
    """
    options = PredictOptions() if options is None else options
    say = _ignore if report is None else report
    if options.show and (problem := display_problem()) is not None:  # refused before the models load
        raise ValueError(f"--show needs a display and an OpenCV with GUI support: {problem}")
    items, notes, errors = collect_inputs(inputs)
    if stop_on_error and errors:
        raise ValueError(errors[0])
    if options.out is not None:
        check_output_folder(options.out)
    mesh_fitter = None
    if options.mesh:  # a wrong --body-model is refused before the models load
        from posekit.inference.mesh import MeshFitter

        mesh_fitter = MeshFitter(options.body_model, gender=options.gender, steps=options.mesh_steps)
    # One window, and meshes (their fitter and files), in this process.
    workers = 1 if options.show or options.mesh else resolve_workers(options.workers, items)
    if workers > 1 and (estimator is not None or lifter is not None):
        raise ValueError(
            "--workers > 1 builds the models in each worker process: give options, not an estimator or lifter object"
        )
    if workers <= 1:
        if estimator is None:
            estimator = build_predict_estimator(options)
        if not options.lift:
            lifter = None
        elif lifter is None:
            lifter = load_lifter_for_predict(options.lifter, options.threads, options.causal)
    run = _Run(options, estimator, lifter, mesh_fitter)
    for line in notes:
        say("", line)
    for line in errors:
        say("error", line)
    run.result.failed = len(errors)
    if (options.bvh or options.gif) and any(item.kind in ("image", "array") for item in items):
        flags = " and ".join(flag for flag, on in (("--bvh", options.bvh), ("--gif", options.gif)) if on)
        verb = "apply" if options.bvh and options.gif else "applies"
        say("note", f"{flags} {verb} to videos; images get their 3D overlay as vis/<name>_3d.jpg")
    start = time.perf_counter()
    if workers > 1:
        from posekit.inference.workers import predict_in_workers

        try:
            predict_in_workers(run, items, workers, say, stop_on_error)
        except KeyboardInterrupt:  # the inputs merged so far are kept and written
            run.result.stopped = "interrupt"
            say("note", f"interrupted (Ctrl-C) after {run.result.images + run.result.videos} input(s); kept them")
    else:
        run.preview = PreviewWindow() if options.show else None
        for position, item in enumerate(items):
            try:
                messages, error = process_input(run, item)
            except KeyboardInterrupt:  # stop here; the files of what is done are still written
                run.result.stopped = "interrupt"
                messages, error = [("note", f"{item.label}: interrupted (Ctrl-C); the results so far are kept")], None
            run.report(messages, error, say, stop_on_error)
            if run.result.stopped is not None:
                if position + 1 < len(items):
                    say("note", f"{len(items) - position - 1} input(s) not processed")
                break
        if run.preview is not None:
            run.preview.close()
    run.result.seconds = time.perf_counter() - start
    if run.out is not None:
        _write_results(run)
    return run.result


# With workers="auto", a worker must have at least this much work (a video counts as this many images)
# to pay for starting a process and loading its models (about 1 s each): on the 20 shared COCO images
# (65 ms each) two workers took 1.9-2.1 s against 1.7 s for one; benchmarks/bench_predict_api.py.
AUTO_IMAGES_PER_WORKER = 32


def resolve_workers(workers: int | None, items: Sequence[InputFile]) -> int:
    """Worker processes for ``items``: ``workers``, never more than the inputs.

    ``None`` (auto): one per CPU this process may use, as long as each gets at least
    :data:`AUTO_IMAGES_PER_WORKER` images' worth of work (a video counts as that many); else fewer.
    Array and live inputs (cameras, streams) always run in this process.
    """
    if any(item.kind in ("array", "camera", "stream") for item in items):
        return 1
    if workers is None:
        work = sum(AUTO_IMAGES_PER_WORKER if item.kind == "video" else 1 for item in items)
        workers = min(available_cpus(), work // AUTO_IMAGES_PER_WORKER)
    return max(1, min(workers, len(items)))


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the platform has one)."""
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        return max(1, len(affinity(0)))
    return max(1, os.cpu_count() or 1)


def process_input(run: _Run, item: InputFile) -> tuple[list[tuple[str, str]], str | None]:
    """Run one input; returns its messages ``(level, text)`` and its error message (``None``: it worked).

    An exception never escapes (one bad input never stops the others), except ``KeyboardInterrupt``.
    """
    warn: list[tuple[str, str]] = []
    try:
        with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            if item.kind in ("image", "array"):
                run.image(item, warn)
            elif item.kind in ("video", "camera", "stream"):
                run.video(item, warn)
            else:
                run.unknown(item, warn)
    except KeyboardInterrupt:
        raise
    except Exception as error:
        message = " ".join(str(error).split()) or type(error).__name__
        if item.label not in message:
            message = f"{item.label}: {message}"
        return warn, message
    return warn, None


def keeping_landmarks(estimator: PoseEstimator) -> PoseEstimator:
    """A copy of a BlazePose top-down ``estimator`` that keeps the 33 landmarks and world landmarks.

    The copy shares the models; ``estimator`` itself is left as it is.

    Raises:
        ValueError: ``estimator`` is not a top-down pipeline around the BlazePose landmark model.
    """
    person = estimator.estimator if isinstance(estimator, TopDownPipeline) else None
    if not isinstance(estimator, TopDownPipeline) or not isinstance(person, BlazePoseEstimator):
        raise ValueError(
            f"--keep-landmarks needs the BlazePose landmark model, got {type(person or estimator).__name__}"
            " (it has no landmarks)"
        )
    keeping = copy.copy(person)
    keeping.keep_landmarks = True
    pipeline = copy.copy(estimator)
    pipeline.estimator = keeping
    return pipeline


def check_output_folder(out: str | os.PathLike[str]) -> Path:
    """Check, without creating anything, that ``out`` is (or can be made) a folder this process can write.

    ``out`` must be a folder, or not exist below a folder that does and is writable (the folders
    are made when the first file is written).

    Raises:
        ValueError: one sentence naming the folder and why it cannot be written.
    """
    folder = Path(out)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        where = "is a file" if existing == folder else f"lies inside the file {existing}"
        raise ValueError(f"--out {folder}: cannot write results there (it {where}, not a folder)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"--out {folder}: cannot write results there (no permission to write in {existing})")
    return folder


def _write_results(run: _Run) -> None:
    from posekit.io.atomic import atomic_write_json
    from posekit.io.csv_results import results_csv_text

    assert run.out is not None
    options = run.options
    entries = run.result.to_coco_results()
    # Built before anything is written: an entry that does not fit the columns writes nothing.
    csv_text = (
        results_csv_text(entries, options.skeleton, "h36m" if options.lift else None)
        if options.output_format in ("csv", "both")
        else None
    )
    if options.lift:
        from posekit.io.poses import save_poses3d_npz

        run.result.poses3d_path = _writing(
            run.out / "poses3d.npz", lambda path: save_poses3d_npz(path, run.result.lifted)
        )
    if options.output_format in ("json", "both"):
        run.result.predictions_path = _writing(
            run.out / "predictions.json", lambda path: atomic_write_json(path, entries)
        )
    if csv_text is not None:
        from posekit.io.atomic import atomic_write_text

        run.result.csv_path = _writing(run.out / "predictions.csv", lambda path: atomic_write_text(path, csv_text))
    if any(folder == "vis" and path.exists() for folder, _, _, path in run.written):
        run.result.vis_dir = run.out / "vis"


def _writing(path: Path, write: Callable[[Path], Path]) -> Path:
    """``write(path)``, with an ``OSError`` turned into one sentence naming the file (nothing is left)."""
    try:
        return write(path)
    except OSError as error:
        reason = (error.strerror or type(error).__name__).lower()
        raise ValueError(f"{path}: cannot write the results file ({reason})") from None
