"""The built-in keypoint formats, written by name in each dataset's official joint order.

Canonical joint vocabulary
--------------------------
All formats draw their names from one vocabulary, so the same name means the same joint in every
format and conversion by name (:func:`posekit.skeletons.convert_keypoints`) just copies it.

Shared names (the joint is the same anatomical landmark, up to each dataset's annotation habit):

* ``nose``, ``left_eye``/``right_eye``, ``left_ear``/``right_ear``: COCO, BlazePose.
* ``left_shoulder``, ``left_elbow``, ``left_wrist``, ``left_hip``, ``left_knee``, ``left_ankle``
  (and ``right_*``): every format. (Motion-capture and SMPL hips are joint centres inside the
  pelvis; image datasets annotate them on the surface. The name is still shared.)
* ``pelvis`` (root, midway between the hips): Human3.6M, MPII, SMPL.
* ``thorax`` (top of the sternum, midway between the shoulders): Human3.6M, MPII.
* ``neck`` (bottom end of the neck): CrowdPose, LSP, SMPL, NTU (the Kinect "Neck" sits slightly higher).
* ``head`` (centre of the head): Human3.6M, SMPL, NTU.
* ``head_top`` (top of the head): MPII, CrowdPose, LSP.
* ``left_hand``, ``left_foot``: SMPL, NTU. ``left_thumb``: BlazePose, NTU.

Format-specific names:

* MPII: ``upper_neck`` (top end of the neck, under the chin).
* Human3.6M (VideoPose3D order): ``spine`` (mid torso), ``neck_nose`` (VideoPose3D's "Neck/Nose").
* SMPL: ``spine1``, ``spine2``, ``spine3``, ``left_collar``/``right_collar``.
* NTU RGB+D (Kinect v2): ``spine_base``, ``spine_mid``, ``spine_shoulder``, ``left_hand_tip``.
* BlazePose: ``left_eye_inner``, ``left_eye_outer``, ``mouth_left``, ``left_pinky``,
  ``left_index``, ``left_heel``, ``left_foot_index`` (and right twins).

Sources: COCO order, links and sigmas from pycocotools / the COCO keypoint task; MPII order from
the MPII annotation (``r ankle`` ... ``l wrist``); CrowdPose order, sigmas and joint weights from
crowdpose-api / MMPose's dataset info; LSP-14 order from the LSP dataset as SPIN/VIBE list it
(``constants.JOINT_NAMES[25:39]``); Human3.6M-17 order and parents from VideoPose3D
(``h36m_skeleton`` after ``remove_joints``); SMPL-24 order and ``kintree_table`` from smplx; NTU
RGB+D-25 from the Kinect v2 ``JointType`` enumeration; BlazePose-33 order and
``POSE_CONNECTIONS`` from MediaPipe.
"""

from __future__ import annotations

from posekit.skeletons.skeleton import Skeleton, auto_flip_pairs, links_from_parents, register_skeleton

__all__ = ["BLAZEPOSE", "COCO", "CROWDPOSE", "H36M", "LSP", "MPII", "NTU", "SMPL"]


def _sided(*parts: str) -> tuple[str, ...]:
    """``("eye", "ear")`` -> ``("left_eye", "right_eye", "left_ear", "right_ear")``."""
    return tuple(f"{side}_{part}" for part in parts for side in ("left", "right"))


# ---------------------------------------------------------------------------------------- COCO-17
_COCO_NAMES = ("nose", *_sided("eye", "ear", "shoulder", "elbow", "wrist", "hip", "knee", "ankle"))
# pycocotools' person category "skeleton" (1-based indices), converted to names.
_COCO_SKELETON_1BASED = (
    (16, 14),
    (14, 12),
    (17, 15),
    (15, 13),
    (12, 13),
    (6, 12),
    (7, 13),
    (6, 7),
    (6, 8),
    (7, 9),
    (8, 10),
    (9, 11),
    (2, 3),
    (1, 2),
    (1, 3),
    (2, 4),
    (3, 5),
    (4, 6),
    (5, 7),
)
COCO = Skeleton(
    name="coco",
    keypoint_names=_COCO_NAMES,
    links=tuple((_COCO_NAMES[a - 1], _COCO_NAMES[b - 1]) for a, b in _COCO_SKELETON_1BASED),
    flip_pairs=auto_flip_pairs(_COCO_NAMES),
    sigmas=tuple(
        s / 10.0
        for s in (0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89)
    ),
    # MMPose coco.py joint_weights: wrists/ankles 1.5, elbows/knees 1.2, others 1.0.
    joint_weights=(1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5),
)

# ---------------------------------------------------------------------------------------- MPII-16
_MPII_NAMES = (
    "right_ankle",
    "right_knee",
    "right_hip",
    "left_hip",
    "left_knee",
    "left_ankle",
    "pelvis",
    "thorax",
    "upper_neck",
    "head_top",
    "right_wrist",
    "right_elbow",
    "right_shoulder",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
)
# MPII has no official tree; this one is rooted at the pelvis, with arms hanging from the thorax.
_MPII_PARENTS = (1, 2, 6, 6, 3, 4, -1, 6, 7, 8, 11, 12, 7, 7, 13, 14)
MPII = Skeleton(
    name="mpii",
    keypoint_names=_MPII_NAMES,
    links=links_from_parents(_MPII_NAMES, _MPII_PARENTS),
    flip_pairs=auto_flip_pairs(_MPII_NAMES),
    parents=_MPII_PARENTS,
    # MMPose mpii.py joint_weights.
    joint_weights=(1.5, 1.2, 1.0, 1.0, 1.2, 1.5, 1.0, 1.0, 1.0, 1.0, 1.5, 1.2, 1.0, 1.0, 1.2, 1.5),
)

# ----------------------------------------------------------------------------------- CrowdPose-14
_CROWDPOSE_NAMES = (*_sided("shoulder", "elbow", "wrist", "hip", "knee", "ankle"), "head_top", "neck")
CROWDPOSE = Skeleton(
    name="crowdpose",
    keypoint_names=_CROWDPOSE_NAMES,
    links=(
        ("left_ankle", "left_knee"),
        ("left_knee", "left_hip"),
        ("right_ankle", "right_knee"),
        ("right_knee", "right_hip"),
        ("left_hip", "right_hip"),
        ("left_shoulder", "left_hip"),
        ("right_shoulder", "right_hip"),
        ("left_shoulder", "right_shoulder"),
        ("left_shoulder", "left_elbow"),
        ("right_shoulder", "right_elbow"),
        ("left_elbow", "left_wrist"),
        ("right_elbow", "right_wrist"),
        ("head_top", "neck"),
        ("right_shoulder", "neck"),
        ("left_shoulder", "neck"),
    ),
    flip_pairs=auto_flip_pairs(_CROWDPOSE_NAMES),
    sigmas=tuple(
        s / 10.0 for s in (0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89, 0.79, 0.79)
    ),
    # MMPose crowdpose.py joint_weights (as published there).
    joint_weights=(0.2, 0.2, 0.2, 1.3, 1.5, 0.2, 1.3, 1.5, 0.2, 0.2, 0.5, 0.2, 0.2, 0.5),
)

# ------------------------------------------------------------------------------------------ LSP-14
# Leeds Sports Pose order (Johnson & Everingham, BMVC 2010), as SPIN/VIBE list it (JOINT_NAMES[25:39]) and
# evaluate 3DPW / Human3.6M on it (H36M_TO_J14).
_LSP_NAMES = (
    "right_ankle",
    "right_knee",
    "right_hip",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_wrist",
    "right_elbow",
    "right_shoulder",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "neck",
    "head_top",
)
LSP = Skeleton(
    name="lsp",
    keypoint_names=_LSP_NAMES,
    links=(
        ("right_ankle", "right_knee"),
        ("right_knee", "right_hip"),
        ("left_hip", "left_knee"),
        ("left_knee", "left_ankle"),
        ("right_hip", "left_hip"),
        ("right_wrist", "right_elbow"),
        ("right_elbow", "right_shoulder"),
        ("left_shoulder", "left_elbow"),
        ("left_elbow", "left_wrist"),
        ("right_shoulder", "neck"),
        ("left_shoulder", "neck"),
        ("right_shoulder", "right_hip"),
        ("left_shoulder", "left_hip"),
        ("neck", "head_top"),
    ),
    flip_pairs=auto_flip_pairs(_LSP_NAMES),
)

# ---------------------------------------------------------------------------- Human3.6M-17 (VideoPose3D)
_H36M_NAMES = (
    "pelvis",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "spine",
    "thorax",
    "neck_nose",
    "head",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
)
_H36M_PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)
H36M = Skeleton(
    name="h36m",
    keypoint_names=_H36M_NAMES,
    links=links_from_parents(_H36M_NAMES, _H36M_PARENTS),
    flip_pairs=auto_flip_pairs(_H36M_NAMES),
    parents=_H36M_PARENTS,
)

# ----------------------------------------------------------------------------------------- SMPL-24
_SMPL_NAMES = (
    "pelvis",
    "left_hip",
    "right_hip",
    "spine1",
    "left_knee",
    "right_knee",
    "spine2",
    "left_ankle",
    "right_ankle",
    "spine3",
    "left_foot",
    "right_foot",
    "neck",
    "left_collar",
    "right_collar",
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hand",
    "right_hand",
)
# smplx SMPL kintree_table[0] (parent of each joint; the root's 4294967295 written as -1).
_SMPL_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)
SMPL = Skeleton(
    name="smpl",
    keypoint_names=_SMPL_NAMES,
    links=links_from_parents(_SMPL_NAMES, _SMPL_PARENTS),
    flip_pairs=auto_flip_pairs(_SMPL_NAMES),
    parents=_SMPL_PARENTS,
)

# ----------------------------------------------------------------------------- NTU RGB+D-25 (Kinect v2)
_NTU_NAMES = (
    "spine_base",
    "spine_mid",
    "neck",
    "head",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "left_hand",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "right_hand",
    "left_hip",
    "left_knee",
    "left_ankle",
    "left_foot",
    "right_hip",
    "right_knee",
    "right_ankle",
    "right_foot",
    "spine_shoulder",
    "left_hand_tip",
    "left_thumb",
    "right_hand_tip",
    "right_thumb",
)
# Kinect v2 joint hierarchy rooted at SpineBase; hand tips and thumbs hang from the hands.
_NTU_PARENTS = (-1, 0, 20, 2, 20, 4, 5, 6, 20, 8, 9, 10, 0, 12, 13, 14, 0, 16, 17, 18, 1, 7, 7, 11, 11)
NTU = Skeleton(
    name="ntu",
    keypoint_names=_NTU_NAMES,
    links=links_from_parents(_NTU_NAMES, _NTU_PARENTS),
    flip_pairs=auto_flip_pairs(_NTU_NAMES),
    parents=_NTU_PARENTS,
)

# ------------------------------------------------------------------------------- BlazePose-33 (MediaPipe)
_BLAZEPOSE_NAMES = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)
# MediaPipe POSE_CONNECTIONS (indices into the order above).
_BLAZEPOSE_CONNECTIONS = (
    (0, 1),
    (1, 2),
    (2, 3),
    (3, 7),
    (0, 4),
    (4, 5),
    (5, 6),
    (6, 8),
    (9, 10),
    (11, 12),
    (11, 13),
    (13, 15),
    (15, 17),
    (15, 19),
    (15, 21),
    (17, 19),
    (12, 14),
    (14, 16),
    (16, 18),
    (16, 20),
    (16, 22),
    (18, 20),
    (11, 23),
    (12, 24),
    (23, 24),
    (23, 25),
    (24, 26),
    (25, 27),
    (26, 28),
    (27, 29),
    (28, 30),
    (29, 31),
    (30, 32),
    (27, 31),
    (28, 32),
)
BLAZEPOSE = Skeleton(
    name="blazepose",
    keypoint_names=_BLAZEPOSE_NAMES,
    links=tuple((_BLAZEPOSE_NAMES[a], _BLAZEPOSE_NAMES[b]) for a, b in _BLAZEPOSE_CONNECTIONS),
    flip_pairs=auto_flip_pairs(_BLAZEPOSE_NAMES),
)

register_skeleton(COCO, aliases=("mscoco", "coco_body"))
register_skeleton(MPII)
register_skeleton(CROWDPOSE)
register_skeleton(LSP, aliases=("leeds_sports_pose",))
register_skeleton(H36M, aliases=("human36m", "human3.6m", "human_3.6m", "h3.6m", "videopose3d"))
register_skeleton(SMPL)
register_skeleton(NTU, aliases=("ntu_rgbd", "ntu_rgb+d", "ntu_rgb_d", "kinect_v2", "kinect"))
register_skeleton(BLAZEPOSE, aliases=("mediapipe", "mediapipe_pose"))
