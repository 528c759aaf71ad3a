"""posekit's default 2D-to-3D lifters: VideoPose3D trained on real motion capture, shipped offline.

Two files in ``posekit/assets/lifter/``, trained by the same recipe:

* ``videopose3d_deepmimic.pt`` (``posekit train configs/videopose3d/deepmimic_default.yaml``): the
  non-causal default; the pose of frame ``t`` reads frames ``t - 13 .. t + 13``.
* ``videopose3d_deepmimic_causal.pt`` (``configs/videopose3d/deepmimic_causal.yaml``): the causal
  default (``causal=True``); the pose of frame ``t`` reads frames ``t - 26 .. t`` only, so a
  stream (``posekit predict --lift --causal``) has no lag.

Each is a VideoPose3D model (filter widths 3, 3, 3: a receptive field of 27 frames; 256 channels)
with a trajectory model (128 channels), trained on 12 of the 15 DeepMimic motion-capture clips
shipped with pybullet, seen through random virtual cameras with detector-like 2D noise, limb
mixing and the person anywhere in the central 80 % of the image (:mod:`posekit.data.mocap_lifting`);
``PROVENANCE.md`` beside them records the commands,
the data, the checksums and the errors measured on the three held-out clips.

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

__all__ = [
    "DEFAULT_CAUSAL_LIFTER_SHA256",
    "DEFAULT_LIFTER_SHA256",
    "default_lifter_info",
    "default_lifter_path",
    "load_default_lifter",
]

# SHA-256 of the shipped files (also in posekit/assets/lifter/PROVENANCE.md).
DEFAULT_LIFTER_SHA256 = "4c5dc51b2c0b56623885c7c3d72736ccc10ccf2e3c150f5e5662da9c3577d5d4"
DEFAULT_CAUSAL_LIFTER_SHA256 = "6b5d7f7465df62fe0bb45d0dde024578a7801f932a7af46afed4673f5acf15fa"

# (file name, expected SHA-256, training config) of the non-causal and the causal default.
_FILES = {
    False: ("videopose3d_deepmimic.pt", DEFAULT_LIFTER_SHA256, "deepmimic_default.yaml"),
    True: ("videopose3d_deepmimic_causal.pt", DEFAULT_CAUSAL_LIFTER_SHA256, "deepmimic_causal.yaml"),
}


def default_lifter_path(*, causal: bool = False) -> Path:
    """Path of a shipped default lifter checkpoint (whether or not it exists).

    Args:
        causal: the causal default (``videopose3d_deepmimic_causal.pt``) instead of the non-causal one.
    """
    return Path(__file__).resolve().parents[2] / "assets" / "lifter" / _FILES[bool(causal)][0]


def _checked_path(verify: bool, causal: bool) -> Path:
    path = default_lifter_path(causal=causal)
    _, expected, config = _FILES[bool(causal)]
    if not path.is_file():
        kind = "causal default lifter" if causal else "default lifter"
        raise FileNotFoundError(
            f"the {kind} is missing at {path}; reinstall posekit or retrain it with "
            f"`posekit train configs/videopose3d/{config}` (see PROVENANCE.md)"
        )
    if verify:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != expected:
            raise ValueError(
                f"{path} has SHA-256 {digest}, expected {expected} (PROVENANCE.md); the file was modified or replaced"
            )
    return path


def load_default_lifter(
    *, causal: bool = False, map_location: str | torch.device = "cpu", verify: bool = True
) -> Lifter:
    """Load a shipped default lifter (pose and trajectory models) in evaluation mode.

    Args:
        causal: the causal default (each pose from the current and past frames only: no lag when
            streaming) instead of the non-causal one (13 frames either side).
        map_location: device of the weights.
        verify: check the file's SHA-256 against :data:`DEFAULT_LIFTER_SHA256` (causal:
            :data:`DEFAULT_CAUSAL_LIFTER_SHA256`).

    Raises:
        FileNotFoundError: the asset is missing.
        ValueError: the checksum does not match.
    """
    return load_lifter(_checked_path(verify, causal), map_location=map_location, num_joints=17)


def default_lifter_info(*, causal: bool = False) -> dict[str, Any]:
    """The metadata stored with a default lifter (source, training command, metrics...).

    Args:
        causal: of the causal default instead of the non-causal one.
    """
    checkpoint = load_lifter_checkpoint(_checked_path(False, causal))
    info = checkpoint.get("weights_info")
    if not isinstance(info, dict):
        raise ValueError(f"{default_lifter_path(causal=causal)} carries no weights_info metadata")
    return dict(info)
