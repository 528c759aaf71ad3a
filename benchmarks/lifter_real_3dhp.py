"""Both default lifters on real annotated MPI-INF-3DHP frames (a sanity check on real people).

    .venv/bin/python benchmarks/lifter_real_3dhp.py [--data DIR] [--non-causal PATH] [--causal PATH]

(``--data`` defaults to ``../shared/data/mpi_inf_3dhp`` beside the checkout.)

The shipped lifters were trained and measured on DeepMimic motion capture only; this scores them on
real bodies in real poses: the annotated frames of ``test_3dhp_train.npz`` and ``test_3dhp_test.npz``
(MPI-INF-3DHP, Mehta et al., 3DV 2017; MMPose's test fixtures, 17 joints in MMPose's
``mpi_inf_3dhp`` order; ``part``: ``(N, 17, 3)`` pixels + visibility, ``S``: ``(N, 17, 4)`` camera-space
metres + visibility; images 2048 x 2048, their size read from the JPEG beside each entry). The camera
``.pkl`` files are not needed and not opened.

Joints are matched to Human3.6M-17 by name, only where the two datasets mean the same joint:
pelvis (3DHP's root), hips, knees, ankles, shoulders, elbows, wrists and spine (3DHP's "Spine (H36M)");
14 joints. 3DHP's ``neck`` (the throat) and ``head`` (the head's centre) match none of Human3.6M's
thorax (between the shoulders), neck/nose or head (the forehead) and are left out. The lifter's 2D
input is the annotated 2D, converted to Human3.6M-17 by :func:`posekit.skeletons.convert_keypoints`
from the 14 matched joints and ``head_top`` (thorax, neck/nose and head derived by its documented
MMPose recipes, as for CrowdPose input). Every annotated 2D joint is used, also the two wrists of
``TS2_001850`` that lie a few pixels left of the image (visibility 0): the annotations are projections
of the motion capture, valid outside the frame too, and this checks the lifter, not a detector. The
frame is lifted as ``posekit predict IMAGES --lift`` lifts an
image (:func:`posekit.inference.lift3d.tracks.lift_keypoints`: the single frame edge-padded to the
receptive field, flip test-time augmentation). Errors are root-relative (pelvis) over the 14 joints,
millimetres: MPJPE, and P-MPJPE after a similarity (Procrustes) alignment. The row ``all joints at
the pelvis`` is the MPJPE of predicting no pose at all, for scale. A last diagnostic repeats the
P-MPJPE with each frame's 2D moved so that the pelvis lies at the image centre: the training cameras
always aim at the person, and a person near the image border is far from anything seen in training.

Four frames of two subjects and two test sequences: a sanity check that the lifters transfer to real
people at all, not a score to compare with published MPI-INF-3DHP results (which use 2,929 test
frames and PCK / AUC).
"""

from __future__ import annotations

import argparse
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from posekit.inference.lift3d.default_lifter import default_lifter_path
from posekit.inference.lift3d.tracks import lift_keypoints
from posekit.metrics import mpjpe, p_mpjpe
from posekit.models.lift3d import Lifter, load_lifter
from posekit.skeletons import H36M, Skeleton, auto_flip_pairs

# MMPose's 17-joint MPI-INF-3DHP order (configs/_base_/datasets/mpi_inf_3dhp.py), with each joint's
# meaning in posekit's vocabulary where it has a clear Human3.6M-17 equivalent; the others carry
# names of their own (``*_3dhp``) so that no conversion reads them as a Human3.6M joint.
MPI_INF_3DHP_17_NAMES = (
    "head_top",
    "throat_3dhp",  # 3DHP "neck": the throat, above Human3.6M's thorax (mid-shoulders)
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "pelvis",  # 3DHP "root"
    "spine",  # 3DHP "Spine (H36M)"
    "head_centre_3dhp",  # 3DHP "head": the head's centre, below Human3.6M's head (forehead)
)
MPI_INF_3DHP_17 = Skeleton(
    name="mpi_inf_3dhp_17",
    keypoint_names=MPI_INF_3DHP_17_NAMES,
    links=(),
    flip_pairs=auto_flip_pairs(MPI_INF_3DHP_17_NAMES),
)
# head_top is used for the 2D input only: Human3.6M-17 has no head-top joint to score.
SCORED_JOINTS = tuple(name for name in H36M.keypoint_names if name in MPI_INF_3DHP_17_NAMES)


def joint_correspondence() -> tuple[np.ndarray, np.ndarray]:
    """Indices of the scored joints: ``(into MPI-INF-3DHP-17, into Human3.6M-17)``, same names, same order."""
    source = np.array([MPI_INF_3DHP_17_NAMES.index(name) for name in SCORED_JOINTS])
    target = np.array([H36M.keypoint_names.index(name) for name in SCORED_JOINTS])
    return source, target


def jpeg_size(path: Path) -> tuple[int, int]:
    """``(w, h)`` of a baseline or progressive JPEG, read from its SOF marker (no decoding)."""
    data = path.read_bytes()
    offset = 2
    while offset + 9 < len(data):
        if data[offset] != 0xFF:
            raise ValueError(f"{path}: not a JPEG file (no marker at byte {offset})")
        marker = data[offset + 1]
        length = struct.unpack(">H", data[offset + 2 : offset + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[offset + 5 : offset + 9])
            return int(width), int(height)
        offset += 2 + length
    raise ValueError(f"{path}: no JPEG frame header found")


@dataclass(frozen=True)
class Frame:
    """One annotated frame: ``keypoints_2d (17, 3)`` pixels + visibility, ``joints_3d (17, 3)`` metres."""

    name: str
    image_size: tuple[int, int]
    keypoints_2d: np.ndarray
    joints_3d: np.ndarray


def load_frames(folder: Path) -> list[Frame]:
    """Every annotated frame of ``test_3dhp_*.npz`` in ``folder`` (arrays only, no pickles)."""
    frames = []
    for path in sorted(folder.glob("test_3dhp_*.npz")):
        with np.load(path, allow_pickle=False) as data:
            for name, part, joints in zip(data["imgname"], data["part"], data["S"], strict=True):
                if part.shape != (17, 3) or joints.shape != (17, 4):
                    raise ValueError(f"{path}: expected part (17, 3) and S (17, 4) per frame, got {part.shape}")
                frames.append(Frame(str(name), jpeg_size(folder / str(name)), part, joints[:, :3]))
    if not frames:
        raise ValueError(f"{folder} holds no test_3dhp_*.npz file")
    return frames


def score(lifter: Lifter, frames: list[Frame], *, centred: bool = False) -> list[tuple[float, float]]:
    """``(MPJPE, P-MPJPE)`` in mm of each frame over the scored joints, root-relative.

    ``centred`` moves each frame's 2D so that the pelvis lies at the image centre (a diagnostic:
    the 3D truth is not moved, so only the P-MPJPE, which aligns rotations, stays meaningful).
    """
    source, target = joint_correspondence()
    root_3dhp = MPI_INF_3DHP_17_NAMES.index("pelvis")
    errors = []
    for frame in frames:
        keypoints = frame.keypoints_2d[None, :, :2]  # (1, 17, 2): every annotated joint, see the module docstring
        if centred:
            keypoints = keypoints + (np.array(frame.image_size) / 2.0 - keypoints[:, root_3dhp])
        lifted = lift_keypoints(keypoints, lifter, frame.image_size, skeleton=MPI_INF_3DHP_17)
        prediction = lifted.keypoints_3d[0].astype(np.float64)[target]  # (14, 3), pelvis-relative
        truth = (frame.joints_3d - frame.joints_3d[root_3dhp])[source]
        errors.append((float(mpjpe(prediction, truth)) * 1000, float(p_mpjpe(prediction[None], truth[None])) * 1000))
    return errors


def main() -> None:
    default_data = Path(__file__).resolve().parents[2] / "shared" / "data" / "mpi_inf_3dhp"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data, help="folder with test_3dhp_*.npz and the JPEGs")
    parser.add_argument("--non-causal", default=str(default_lifter_path()), help="non-causal lifter to measure")
    parser.add_argument("--causal", default=str(default_lifter_path(causal=True)), help="causal lifter to measure")
    args = parser.parse_args()
    torch.set_num_threads(1)
    frames = load_frames(args.data)
    lifters = {"non-causal": load_lifter(args.non_causal), "causal": load_lifter(args.causal)}
    results = {label: score(lifter, frames) for label, lifter in lifters.items()}
    centred = {label: score(lifter, frames, centred=True) for label, lifter in lifters.items()}
    source, _ = joint_correspondence()
    root_3dhp = MPI_INF_3DHP_17_NAMES.index("pelvis")
    no_pose = [
        float(np.linalg.norm(frame.joints_3d[source] - frame.joints_3d[root_3dhp], axis=-1).mean()) * 1000
        for frame in frames
    ]
    print(f"{len(frames)} MPI-INF-3DHP frames, {len(SCORED_JOINTS)} joints matched by name: {', '.join(SCORED_JOINTS)}")
    print(f"{'':<28}" + "".join(f"{frame.name.removesuffix('.jpg'):>24}" for frame in frames) + f"{'mean':>16}")
    for label, errors in results.items():
        cells = "".join(f"{f'{error:.1f} / {aligned:.1f}':>24}" for error, aligned in errors)
        mean = f"{np.mean([e for e, _ in errors]):.1f} / {np.mean([a for _, a in errors]):.1f}"
        print(f"{label + ' MPJPE / P-MPJPE':<28}{cells}{mean:>16}")
    cells = "".join(f"{value:>24.1f}" for value in no_pose)
    print(f"{'all joints at the pelvis':<28}{cells}{np.mean(no_pose):>16.1f}")
    print("diagnostic, 2D moved so that the pelvis is at the image centre (P-MPJPE only):")
    for label, errors in centred.items():
        cells = "".join(f"{aligned:>24.1f}" for _, aligned in errors)
        print(f"{label + ' P-MPJPE':<28}{cells}{np.mean([aligned for _, aligned in errors]):>16.1f}")


if __name__ == "__main__":
    main()
