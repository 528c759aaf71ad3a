"""posekit's default 2D-to-3D lifter: VideoPose3D trained on real motion capture, shipped offline.

``posekit/assets/lifter/videopose3d_deepmimic.pt`` is a VideoPose3D model (filter widths 3, 3, 3:
a receptive field of 27 frames; 256 channels) with a trajectory model (128 channels), trained by
``posekit train configs/videopose3d/deepmimic_default.yaml`` on 12 of the 15 DeepMimic
motion-capture clips shipped with pybullet, seen through random virtual cameras with
detector-like 2D noise and limb mixing (:mod:`posekit.data.mocap_lifting`); ``PROVENANCE.md`` beside it records
the command, the data, the checksum and the errors measured on the three held-out clips.

Input: Human3.6M-17 2D keypoints ``(T, 17, 2)`` in pixels converted with
:func:`posekit.geometry.normalize_screen_coordinates` (COCO detections convert with
:func:`posekit.skeletons.convert_keypoints`, see :mod:`posekit.data.tracks2d`). Output: root-relative
Human3.6M-17 joints in metres, camera space (trajectory model: the root's camera position, only
meaningful up to the unknown focal length). Trained on 12 short clips, it is a reasonable default
for everyday motion, not a substitute for the official Human3.6M checkpoints, which remain the
way to the paper's accuracy (load them with :func:`posekit.models.lift3d.load_lifter`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch

from posekit.models.lift3d import Lifter, load_lifter, load_lifter_checkpoint

__all__ = ["DEFAULT_LIFTER_SHA256", "default_lifter_info", "default_lifter_path", "load_default_lifter"]

# SHA-256 of the shipped file (also in posekit/assets/lifter/PROVENANCE.md).
DEFAULT_LIFTER_SHA256 = "3187e61668087145a042d9be52e7a8601f882588bef6cae909509e531a881528"


def default_lifter_path() -> Path:
    """Path of the shipped default lifter checkpoint (whether or not it exists)."""
    return Path(__file__).resolve().parents[2] / "assets" / "lifter" / "videopose3d_deepmimic.pt"


def _checked_path(verify: bool) -> Path:
    path = default_lifter_path()
    if not path.is_file():
        raise FileNotFoundError(
            f"the default lifter is missing at {path}; reinstall posekit or retrain it with "
            "`posekit train configs/videopose3d/deepmimic_default.yaml` (see PROVENANCE.md)"
        )
    if verify:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != DEFAULT_LIFTER_SHA256:
            raise ValueError(
                f"{path} has SHA-256 {digest}, expected {DEFAULT_LIFTER_SHA256} (PROVENANCE.md); the file was "
                "modified or replaced"
            )
    return path


def load_default_lifter(*, map_location: str | torch.device = "cpu", verify: bool = True) -> Lifter:
    """Load the shipped default lifter (pose and trajectory models) in evaluation mode.

    Args:
        map_location: device of the weights.
        verify: check the file's SHA-256 against :data:`DEFAULT_LIFTER_SHA256`.

    Raises:
        FileNotFoundError: the asset is missing.
        ValueError: the checksum does not match.
    """
    return load_lifter(_checked_path(verify), map_location=map_location, num_joints=17)


def default_lifter_info() -> dict[str, Any]:
    """The metadata stored with the default lifter (source, training command, metrics...)."""
    checkpoint = load_lifter_checkpoint(_checked_path(verify=False))
    info = checkpoint.get("weights_info")
    if not isinstance(info, dict):
        raise ValueError(f"{default_lifter_path()} carries no weights_info metadata")
    return dict(info)
