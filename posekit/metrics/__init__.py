"""Pure metric functions: COCO AP/OKS, PCK/PCKh/AUC/EPE, MPJPE and its variants, PVE.

* :mod:`posekit.metrics.coco`: :func:`coco_keypoint_eval` (official pycocotools ``COCOeval`` with
  any skeleton's OKS sigmas), :func:`oks`, :func:`oks_nms`, :func:`soft_oks_nms`.
* :mod:`posekit.metrics.pck`: :func:`pck`, :func:`pck_box`, :func:`pck_torso`, :func:`pckh` (MPII),
  :func:`auc`, :func:`epe`.
* :mod:`posekit.metrics.mpjpe`: :func:`mpjpe`, :func:`p_mpjpe`, :func:`n_mpjpe`, :func:`mpjve`,
  :func:`acceleration_error`, :func:`pve`, :func:`weighted_mpjpe` (numpy or torch in, same kind
  out) and the Human3.6M per-action :func:`action_table`.
* :mod:`posekit.metrics.mesh`: the 3DPW/VIBE evaluation, :func:`pelvis_aligned_mpjpe`,
  :func:`pa_mpjpe`, :func:`pa_pve`, :func:`acceleration`, :func:`evaluate_mesh_sequences`.

Nothing here imports torch; the 3D errors use it only when given tensors.
"""

from __future__ import annotations

from posekit.metrics.coco import (
    COCO_METRIC_NAMES,
    CROWDPOSE_METRIC_NAMES,
    coco_keypoint_eval,
    match_prediction_images,
    oks,
    oks_nms,
    pairwise_oks,
    soft_oks_nms,
)
from posekit.metrics.mesh import (
    MeshEvaluation,
    acceleration,
    align_by_pelvis,
    evaluate_mesh_sequences,
    pa_mpjpe,
    pa_pve,
    pelvis_aligned_mpjpe,
)
from posekit.metrics.mpjpe import (
    H36M_ACTION_ABBREVIATIONS,
    acceleration_error,
    action_table,
    format_action_table,
    mpjpe,
    mpjve,
    n_mpjpe,
    normalize_action_name,
    p_mpjpe,
    pve,
    weighted_mpjpe,
)
from posekit.metrics.pck import (
    MPII_SUMMARY_NAMES,
    PCKhResult,
    PCKResult,
    auc,
    epe,
    format_pckh_table,
    pck,
    pck_box,
    pck_torso,
    pckh,
)

__all__ = [
    "COCO_METRIC_NAMES",
    "CROWDPOSE_METRIC_NAMES",
    "H36M_ACTION_ABBREVIATIONS",
    "MPII_SUMMARY_NAMES",
    "MeshEvaluation",
    "PCKResult",
    "PCKhResult",
    "acceleration",
    "acceleration_error",
    "action_table",
    "align_by_pelvis",
    "auc",
    "coco_keypoint_eval",
    "epe",
    "evaluate_mesh_sequences",
    "format_action_table",
    "format_pckh_table",
    "match_prediction_images",
    "mpjpe",
    "mpjve",
    "n_mpjpe",
    "normalize_action_name",
    "oks",
    "oks_nms",
    "p_mpjpe",
    "pa_mpjpe",
    "pa_pve",
    "pairwise_oks",
    "pck",
    "pck_box",
    "pck_torso",
    "pckh",
    "pelvis_aligned_mpjpe",
    "pve",
    "soft_oks_nms",
    "weighted_mpjpe",
]
