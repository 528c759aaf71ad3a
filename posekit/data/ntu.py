"""NTU RGB+D ``.skeleton`` files: Kinect v2 bodies per frame as :class:`~posekit.structures.PoseSequence`.

Legend: ``T`` frames in which a body appears, ``J`` = 25 Kinect v2 joints (the ``ntu`` skeleton).

The text format (Shahroudy et al., "NTU RGB+D: A Large Scale Dataset for 3D Human Activity
Analysis", CVPR 2016; the dataset's ``read_skeleton_file.m``), one record per line:

* the number of frames;
* per frame, the number of bodies, then per body: a line of 10 values (tracking id, clipped
  edges, left hand confidence and state, right hand confidence and state, restricted flag,
  lean x and y, tracking state), a line with the number of joints (25), and per joint a line of
  12 values: ``x y z`` (metres, Kinect camera space), ``depthX depthY`` (pixels of the 512 x 424
  depth/IR image), ``colorX colorY`` (pixels of the 1920 x 1080 colour image), the orientation
  quaternion ``w x y z`` and the joint's tracking state (0 not tracked, 1 inferred, 2 tracked).

Bodies are followed by their Kinect tracking id across frames (:class:`NtuBody`). File and folder
names are ``SsssCcccPpppRrrrAaaa`` (setup, camera, performer, replication, action class, 1-based;
:func:`parse_ntu_name`); the standard benchmarks (:func:`ntu_split`): cross-subject and
cross-view of NTU RGB+D 60 (training performers below; training cameras 2 and 3), and
cross-subject and cross-setup (even setups train) of NTU RGB+D 120 (Liu et al., TPAMI 2020).

:meth:`NtuSample.to_pose_sequences` gives one :class:`PoseSequence` per body: colour-image 2D
keypoints, camera-space 3D joints on the same ``ntu`` skeleton, frame numbers and timestamps at the
Kinect's 30 fps, and scores from the joint tracking state (tracked 1.0, inferred 0.5, not tracked 0).
A file that ends early raises one sentence naming the file, the line and the frame/body/joint.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from posekit.structures import PoseSequence

__all__ = [
    "NTU120_TRAINING_SUBJECTS",
    "NTU60_TRAINING_CAMERAS",
    "NTU60_TRAINING_SUBJECTS",
    "NTU_ACTION_NAMES",
    "NTU_FPS",
    "NtuBody",
    "NtuSample",
    "NtuSampleName",
    "load_ntu_skeleton",
    "ntu_split",
    "parse_ntu_name",
]

NTU_FPS = 30.0
NTU_NUM_JOINTS = 25
NTU_COLOR_SIZE = (1920, 1080)  # (w, h) pixels
NTU_DEPTH_SIZE = (512, 424)
# Joint tracking state -> score: tracked, inferred, not tracked.
_STATE_SCORES = {2: 1.0, 1: 0.5, 0: 0.0}
_NAME = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")

# Benchmarks (NTU RGB+D paper, Sec. 4; NTU RGB+D 120 paper, Sec. 4).
NTU60_TRAINING_SUBJECTS: frozenset[int] = frozenset(
    (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38)
)
NTU60_TRAINING_CAMERAS: frozenset[int] = frozenset((2, 3))
NTU120_TRAINING_SUBJECTS: frozenset[int] = NTU60_TRAINING_SUBJECTS | frozenset(
    (45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85, 86, 89, 91, 92, 93)
    + (94, 95, 97, 98, 100, 103)
)

# Action classes A1..A120 as the dataset's README lists them (A1-A60: NTU RGB+D, A61-A120: NTU RGB+D 120).
NTU_ACTION_NAMES: tuple[str, ...] = (
    "drink water",
    "eat meal/snack",
    "brushing teeth",
    "brushing hair",
    "drop",
    "pickup",
    "throw",
    "sitting down",
    "standing up (from sitting position)",
    "clapping",
    "reading",
    "writing",
    "tear up paper",
    "wear jacket",
    "take off jacket",
    "wear a shoe",
    "take off a shoe",
    "wear on glasses",
    "take off glasses",
    "put on a hat/cap",
    "take off a hat/cap",
    "cheer up",
    "hand waving",
    "kicking something",
    "reach into pocket",
    "hopping (one foot jumping)",
    "jump up",
    "make a phone call/answer phone",
    "playing with phone/tablet",
    "typing on a keyboard",
    "pointing to something with finger",
    "taking a selfie",
    "check time (from watch)",
    "rub two hands together",
    "nod head/bow",
    "shake head",
    "wipe face",
    "salute",
    "put the palms together",
    "cross hands in front (say stop)",
    "sneeze/cough",
    "staggering",
    "falling",
    "touch head (headache)",
    "touch chest (stomachache/heart pain)",
    "touch back (backache)",
    "touch neck (neckache)",
    "nausea or vomiting condition",
    "use a fan (with hand or paper)/feeling warm",
    "punching/slapping other person",
    "kicking other person",
    "pushing other person",
    "pat on back of other person",
    "point finger at the other person",
    "hugging other person",
    "giving something to other person",
    "touch other person's pocket",
    "handshaking",
    "walking towards each other",
    "walking apart from each other",
    "put on headphone",
    "take off headphone",
    "shoot at the basket",
    "bounce ball",
    "tennis bat swing",
    "juggling table tennis balls",
    "hush (quite)",
    "flick hair",
    "thumb up",
    "thumb down",
    "make ok sign",
    "make victory sign",
    "staple book",
    "counting money",
    "cutting nails",
    "cutting paper (using scissors)",
    "snapping fingers",
    "open bottle",
    "sniff (smell)",
    "squat down",
    "toss a coin",
    "fold paper",
    "ball up paper",
    "play magic cube",
    "apply cream on face",
    "apply cream on hand back",
    "put on bag",
    "take off bag",
    "put something into a bag",
    "take something out of a bag",
    "open a box",
    "move heavy objects",
    "shake fist",
    "throw up cap/hat",
    "hands up (both hands)",
    "cross arms",
    "arm circles",
    "arm swings",
    "running on the spot",
    "butt kicks (kick backward)",
    "cross toe touch",
    "side kick",
    "yawn",
    "stretch oneself",
    "blow nose",
    "hit other person with something",
    "wield knife towards other person",
    "knock over other person (hit with body)",
    "grab other person's stuff",
    "shoot at other person with a gun",
    "step on foot",
    "high-five",
    "cheers and drink",
    "carry something with other person",
    "take a photo of other person",
    "follow other person",
    "whisper in other person's ear",
    "exchange things with other person",
    "support somebody with hand",
    "finger-guessing game (playing rock-paper-scissors)",
)


@dataclass(frozen=True)
class NtuSampleName:
    """The fields of an ``SsssCcccPpppRrrrAaaa`` sample name (all 1-based as written)."""

    setup: int
    camera: int
    performer: int
    replication: int
    action: int

    @property
    def action_name(self) -> str:
        """The action class's name (``"drink water"`` for A001), or ``"A<n>"`` beyond the 120 classes."""
        if 1 <= self.action <= len(NTU_ACTION_NAMES):
            return NTU_ACTION_NAMES[self.action - 1]
        return f"A{self.action}"

    @property
    def label(self) -> int:
        """The 0-based class index (``action - 1``), as classifiers use it."""
        return self.action - 1

    def __str__(self) -> str:
        return f"S{self.setup:03d}C{self.camera:03d}P{self.performer:03d}R{self.replication:03d}A{self.action:03d}"


def parse_ntu_name(name: str | os.PathLike[str]) -> NtuSampleName:
    """Read setup, camera, performer, replication and action from a file or folder name.

    Raises:
        ValueError: no ``SsssCcccPpppRrrrAaaa`` in the name.
    """
    text = Path(name).name
    match = _NAME.search(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not an NTU RGB+D sample name (expected SsssCcccPpppRrrrAaaa, e.g. S001C002P003R002A013)"
        )
    setup, camera, performer, replication, action = (int(group) for group in match.groups())
    return NtuSampleName(setup, camera, performer, replication, action)


Benchmark = Literal["xsub60", "xview60", "xsub120", "xset120"]


def ntu_split(name: str | os.PathLike[str] | NtuSampleName, benchmark: Benchmark) -> Literal["train", "test"]:
    """Which side of a standard NTU benchmark a sample is on.

    ``xsub60`` / ``xsub120``: training performers :data:`NTU60_TRAINING_SUBJECTS` /
    :data:`NTU120_TRAINING_SUBJECTS`; ``xview60``: cameras 2 and 3 train, camera 1 tests;
    ``xset120``: even setup numbers train, odd ones test.
    """
    sample = name if isinstance(name, NtuSampleName) else parse_ntu_name(name)
    if benchmark == "xsub60":
        train = sample.performer in NTU60_TRAINING_SUBJECTS
    elif benchmark == "xsub120":
        train = sample.performer in NTU120_TRAINING_SUBJECTS
    elif benchmark == "xview60":
        train = sample.camera in NTU60_TRAINING_CAMERAS
    elif benchmark == "xset120":
        train = sample.setup % 2 == 0
    else:
        raise ValueError(f"benchmark must be 'xsub60', 'xview60', 'xsub120' or 'xset120', got {benchmark!r}")
    return "train" if train else "test"


@dataclass(frozen=True, eq=False)
class NtuBody:
    """One tracked Kinect body over the frames it appears in.

    Attributes:
        body_id: the Kinect tracking id.
        frames: ``(T,)`` int64 0-based frame numbers of the file.
        joints_3d: ``(T, 25, 3)`` float32 metres, Kinect camera space.
        depth_2d: ``(T, 25, 2)`` float32 pixels of the 512 x 424 depth image.
        color_2d: ``(T, 25, 2)`` float32 pixels of the 1920 x 1080 colour image.
        orientations: ``(T, 25, 4)`` float32 joint orientation quaternions ``(w, x, y, z)``.
        tracking_states: ``(T, 25)`` int8 joint tracking state (0 not tracked, 1 inferred, 2 tracked).
        body_info: ``(T, 9)`` float32 per-frame body values after the id: clipped edges, left hand
            confidence, left hand state, right hand confidence, right hand state, restricted,
            lean x, lean y, body tracking state.
    """

    body_id: int
    frames: np.ndarray
    joints_3d: np.ndarray
    depth_2d: np.ndarray
    color_2d: np.ndarray
    orientations: np.ndarray
    tracking_states: np.ndarray
    body_info: np.ndarray

    def __len__(self) -> int:
        return int(self.frames.shape[0])

    def scores(self) -> np.ndarray:
        """``(T, 25)`` float32: tracked 1.0, inferred 0.5, not tracked (or non-finite values) 0."""
        scores = np.zeros(self.tracking_states.shape, dtype=np.float32)
        for state, score in _STATE_SCORES.items():
            scores[self.tracking_states == state] = score
        finite = np.isfinite(self.joints_3d).all(-1) & np.isfinite(self.color_2d).all(-1)
        scores[~finite] = 0.0
        return scores


@dataclass(frozen=True, eq=False)
class NtuSample:
    """One ``.skeleton`` file.

    Attributes:
        path: the file.
        name: its sample name fields, or None when the file name does not follow the pattern.
        num_frames: frames the file declares (including frames with no body).
        bodies: the tracked bodies in order of first appearance.
    """

    path: Path
    name: NtuSampleName | None
    num_frames: int
    bodies: tuple[NtuBody, ...]

    @property
    def action(self) -> int | None:
        """The 1-based action class from the file name, or None."""
        return None if self.name is None else self.name.action

    def to_pose_sequences(self) -> list[PoseSequence]:
        """One :class:`PoseSequence` per body: colour-image 2D keypoints and camera-space 3D joints on ``ntu``.

        ``track_id`` is the body's position in :attr:`bodies`; timestamps are ``frame / 30`` s.
        Joints with non-finite values get zeros and score 0.
        """
        sequences = []
        for index, body in enumerate(self.bodies):
            scores = body.scores()
            keypoints = np.where(np.isfinite(body.color_2d), body.color_2d, 0.0)
            joints = np.where(np.isfinite(body.joints_3d), body.joints_3d, 0.0)
            sequences.append(
                PoseSequence(
                    frames=body.frames,
                    keypoints=keypoints,
                    scores=scores,
                    skeleton="ntu",
                    track_id=index,
                    timestamps=body.frames / NTU_FPS,
                    keypoints_3d=joints,
                    skeleton_3d="ntu",
                )
            )
        return sequences


@dataclass
class _Track:
    """What one body id collects while the file is read."""

    frames: list[int] = field(default_factory=list)
    joints: list[np.ndarray] = field(default_factory=list)  # (25, 12) per frame
    info: list[np.ndarray] = field(default_factory=list)  # (9,) per frame


class _Reader:
    """Lines of a ``.skeleton`` file with their numbers, for errors that say where the file broke."""

    def __init__(self, path: Path, lines: list[str]) -> None:
        self.path = path
        self.lines = lines
        self.position = 0

    def values(self, count: int, where: str) -> list[str]:
        while self.position < len(self.lines) and not self.lines[self.position].strip():
            self.position += 1  # blank lines carry nothing
        if self.position >= len(self.lines):
            raise ValueError(
                f"{self.path}: the file ends early at line {self.position + 1} ({where}); expected {count} "
                f"value{'s' if count > 1 else ''} there"
            )
        tokens = self.lines[self.position].split()
        if len(tokens) != count:
            raise ValueError(
                f"{self.path}: line {self.position + 1} ({where}) has {len(tokens)} values, expected {count}"
            )
        self.position += 1
        return tokens

    def integer(self, where: str) -> int:
        token = self.values(1, where)[0]
        try:
            return int(token)
        except ValueError:
            raise ValueError(f"{self.path}: line {self.position} ({where}) is {token!r}, expected an integer") from None

    def floats(self, count: int, where: str) -> np.ndarray:
        tokens = self.values(count, where)
        try:
            return np.array(tokens, dtype=np.float64)
        except ValueError:
            raise ValueError(
                f"{self.path}: line {self.position} ({where}) holds a value that is not a number"
            ) from None


def load_ntu_skeleton(path: str | os.PathLike[str]) -> NtuSample:
    """Read one NTU RGB+D (60 or 120) ``.skeleton`` file.

    Raises:
        FileNotFoundError: no file.
        ValueError: the file ends early or a line is malformed (the message names the file, the
            line and the frame/body/joint it belongs to).
    """
    file_path = Path(path)
    if not file_path.is_file():
        raise FileNotFoundError(f"{file_path}: no such file (expected an NTU RGB+D .skeleton file)")
    with open(file_path, encoding="utf-8", errors="replace") as handle:
        reader = _Reader(file_path, handle.read().splitlines())
    num_frames = reader.integer("the number of frames")
    if num_frames < 0:
        raise ValueError(f"{file_path}: line 1 declares {num_frames} frames")
    collected: dict[int, _Track] = {}
    for frame in range(num_frames):
        count = reader.integer(f"frame {frame + 1} of {num_frames}: the number of bodies")
        for body in range(count):
            where = f"frame {frame + 1} of {num_frames}, body {body + 1} of {count}"
            info = reader.values(10, f"{where}: the body line")
            try:
                body_id = int(info[0])
                body_values = np.array(info[1:], dtype=np.float64)
            except ValueError:
                raise ValueError(f"{file_path}: line {reader.position} ({where}: the body line) is malformed") from None
            joint_count = reader.integer(f"{where}: the number of joints")
            if joint_count != NTU_NUM_JOINTS:
                raise ValueError(
                    f"{file_path}: line {reader.position} ({where}) declares {joint_count} joints, expected 25"
                )
            joints = np.stack(
                [reader.floats(12, f"{where}, joint {joint + 1} of 25") for joint in range(NTU_NUM_JOINTS)]
            )  # (25, 12)
            track = collected.setdefault(body_id, _Track())
            if track.frames and track.frames[-1] == frame:
                raise ValueError(f"{file_path}: frame {frame + 1} lists body {body_id} twice")
            track.frames.append(frame)
            track.joints.append(joints)
            track.info.append(body_values)
    bodies = []
    for body_id, track in collected.items():
        joints = np.stack(track.joints)  # (T, 25, 12)
        bodies.append(
            NtuBody(
                body_id=body_id,
                frames=np.asarray(track.frames, dtype=np.int64),
                joints_3d=joints[..., 0:3].astype(np.float32),
                depth_2d=joints[..., 3:5].astype(np.float32),
                color_2d=joints[..., 5:7].astype(np.float32),
                orientations=joints[..., 7:11].astype(np.float32),
                tracking_states=joints[..., 11].astype(np.int8),
                body_info=np.stack(track.info).astype(np.float32),
            )
        )
    try:
        name: NtuSampleName | None = parse_ntu_name(file_path)
    except ValueError:
        name = None
    return NtuSample(path=file_path, name=name, num_frames=num_frames, bodies=tuple(bodies))
