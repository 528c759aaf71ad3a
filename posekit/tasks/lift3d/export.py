"""The ``lift3d`` task's export: the trained models as a lifter file, with their metadata as data."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from posekit.models.lift3d import save_lifter
from posekit.tasks.lift3d.config import Lift3DConfig
from posekit.tasks.lift3d.data import LiftingData, deepmimic_clips
from posekit.tasks.lift3d.model import LiftingTrainModule

__all__ = ["export_lifter", "weights_info"]


def export_lifter(
    module: LiftingTrainModule, path: str | os.PathLike[str], *, causal: bool, metadata: Mapping[str, Any]
) -> Path:
    """Write the trained models in the format :func:`posekit.models.lift3d.load_lifter` reads.

    The file is a weights-only ``torch.save`` dict (see :func:`posekit.models.lift3d.save_lifter`):
    ``format``, ``model_pos``, ``model_traj`` (or ``None``), ``causal`` and ``weights_info``
    (``metadata``: plain values only).
    """
    return save_lifter(path, module.pose, module.trajectory, causal=causal, weights_info=metadata)


def weights_info(
    config: Lift3DConfig, data: LiftingData, trained: LiftingTrainModule, evaluation: Mapping[str, float]
) -> dict[str, Any]:
    """The metadata stored with a trained lifter: source, command, skeleton, architecture, metrics (mm)."""
    pose_parameters = sum(parameter.numel() for parameter in trained.pose.parameters())
    trajectory_parameters = (
        sum(parameter.numel() for parameter in trained.trajectory.parameters()) if trained.trajectory else 0
    )
    metadata: dict[str, Any] = {
        "source": f"trained by posekit lift3d on {config.data.kind}",
        "training_command": "posekit train " + " ".join(shlex.quote(arg) for arg in sys.argv[2:])
        if len(sys.argv) > 2 and sys.argv[1] == "train"
        else "posekit.tasks.lift3d.train",
        "skeleton": data.skeleton.name,
        "input_skeleton": "h36m" if config.data.kind == "deepmimic" else f"{data.num_keypoints} keypoints",
        "receptive_field": config.model.receptive_field(),
        "filter_widths": list(config.model.filter_widths),
        "channels": config.model.channels,
        "causal": config.model.causal,
        "normalization": "2D: normalize_screen_coordinates(pixels, w, h) ([0, w] -> [-1, 1], aspect kept); "
        "3D: root-relative joints in metres, camera space (x right, y down, z forward)",
        "parameters": int(pose_parameters + trajectory_parameters),
        "metrics_mm": {name: float(value) for name, value in evaluation.items()},
        "test_time_flip": config.test_time_flip,
        "epochs": config.train.epochs,
    }
    if config.data.kind == "deepmimic":
        train_clips, validation_clips = deepmimic_clips(config)
        metadata["train_clips"] = [clip.name for clip in train_clips]
        metadata["validation_clips"] = [clip.name for clip in validation_clips]
        metadata["evaluation"] = (
            f"held-out clips rendered from {config.deepmimic.views_per_clip} cameras each (seed "
            f"{config.deepmimic.eval_seed}), 2D noise {config.deepmimic.eval_noise}"
        )
    return metadata
