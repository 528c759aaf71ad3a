"""Keypoint formats: names, links, flip pairs by name, OKS sigmas, body-part groups; conversion by name.

Built-in formats (``list_skeletons()``): ``coco`` (17), ``mpii`` (16), ``crowdpose`` (14), ``lsp``
(14, LSP / SPIN / VIBE order), ``h36m`` (17, VideoPose3D order), ``smpl`` (24), ``ntu`` (25, Kinect
v2), ``blazepose`` (33, MediaPipe).
The shared joint vocabulary is documented in :mod:`posekit.skeletons.definitions`; the derivation
rules used by :func:`convert_keypoints` in :mod:`posekit.skeletons.convert`.
"""

from __future__ import annotations

from posekit.skeletons.convert import (
    DERIVATIONS,
    conversion_plan,
    convert_keypoints,
    convert_keypoints_and_scores,
    flip_keypoints,
)
from posekit.skeletons.definitions import BLAZEPOSE, COCO, CROWDPOSE, H36M, LSP, MPII, NTU, SMPL
from posekit.skeletons.h36m_actions import H36M_ACTIONS
from posekit.skeletons.skeleton import (
    Skeleton,
    auto_flip_pairs,
    auto_groups,
    get_skeleton,
    links_from_parents,
    list_skeletons,
    register_skeleton,
)

__all__ = [
    "BLAZEPOSE",
    "COCO",
    "CROWDPOSE",
    "DERIVATIONS",
    "H36M",
    "H36M_ACTIONS",
    "LSP",
    "MPII",
    "NTU",
    "SMPL",
    "Skeleton",
    "auto_flip_pairs",
    "auto_groups",
    "conversion_plan",
    "convert_keypoints",
    "convert_keypoints_and_scores",
    "flip_keypoints",
    "get_skeleton",
    "links_from_parents",
    "list_skeletons",
    "register_skeleton",
]
