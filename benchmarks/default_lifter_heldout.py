"""Errors of posekit's two default lifters, non-causal and causal, on the held-out DeepMimic clips.

    .venv/bin/python benchmarks/default_lifter_heldout.py [--non-causal PATH] [--causal PATH]

Both lifters are measured in the same process on the same renderings: the three held-out clips of
``configs/videopose3d/deepmimic_default.yaml`` (dance_b, getup_faceup, kick) seen from six fixed
cameras each (seed 0), clean 2D and 2D with Gaussian noise of 2 % of the box, flip test-time
augmentation. Each is evaluated with its own training config (the causal one pads all context on
the left), whose held-out clips and cameras are the same; the numbers equal
``posekit evaluate configs/videopose3d/deepmimic_{default,causal}.yaml --weights PATH``
(``--set deepmimic.eval_noise=0.02`` for the noisy rows). Reported in millimetres: Protocols 1-3
(MPJPE, P-MPJPE, N-MPJPE), MPJVE and the trajectory model's root error, averaged over the clips and
per clip. ``--non-causal`` / ``--causal`` measure other files (e.g. a retrained candidate) in
place of the shipped ones.

``--random-cameras`` adds single windows of the held-out clips seen through the training's random
cameras (4 x 512 windows, seed 77, detector-like 2D, no limb mixing, no flip), with the person at
the image centre as in training and then anywhere in the central 80 % of the image
(``off_centre=0.8``): MPJPE / P-MPJPE of each window's output frame.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import torch

from posekit.config import load_config, read_config_file
from posekit.data.mocap_lifting import SyntheticLiftingWindows
from posekit.inference.lift3d.default_lifter import default_lifter_path
from posekit.metrics import mpjpe, p_mpjpe
from posekit.models.lift3d import load_lifter
from posekit.tasks.lift3d import Lift3DConfig, evaluate
from posekit.tasks.lift3d.data import deepmimic_clips

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "videopose3d"
METRICS = ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve")
HEADER = f"{'':<28}{'MPJPE':>8}{'P-MPJPE':>9}{'N-MPJPE':>9}{'MPJVE':>8}"


def measure(config_name: str, weights: str, noise: float) -> dict[str, float]:
    """``evaluate`` of ``weights`` under ``config_name`` with held-out 2D noise ``noise`` (box fraction)."""
    data = read_config_file(CONFIGS / config_name)
    data.pop("task")
    config = load_config(data, Lift3DConfig, [f"deepmimic.eval_noise={noise}"])
    return evaluate(config, weights)


def random_camera_errors(config_name: str, weights: str, off_centre: float) -> tuple[float, float]:
    """``(MPJPE, P-MPJPE)`` mm of held-out windows under random training cameras (see the module docstring)."""
    data = read_config_file(CONFIGS / config_name)
    data.pop("task")
    config = load_config(data, Lift3DConfig, [])
    _, held_out = deepmimic_clips(config)
    lifter = load_lifter(weights)
    augmentation = dataclasses.replace(config.deepmimic.augmentation, limb_mix_probability=0.0, off_centre=off_centre)
    windows = SyntheticLiftingWindows(
        held_out,
        receptive_field=lifter.receptive_field,
        batch_size=512,
        batches_per_epoch=1,
        causal=lifter.causal,
        augmentation=augmentation,
    )
    errors = []
    for step in range(4):
        batch = windows.sample(np.random.default_rng([77, step]))
        truth = (batch["positions_3d"] - batch["positions_3d"][:, :, :1, :])[:, 0].numpy()  # (B, 17, 3)
        with torch.no_grad():
            prediction = lifter(batch["keypoints_2d"])[:, 0].numpy()  # (B, 27, 17, 2) -> (B, 17, 3)
        prediction = prediction - prediction[:, :1]
        errors.append((float(mpjpe(prediction, truth)) * 1000, float(p_mpjpe(prediction, truth)) * 1000))
    error, aligned = np.mean(errors, axis=0)
    return float(error), float(aligned)


def row(label: str, metrics: dict[str, float], suffix: str = "") -> str:
    """One table row: the four errors (mm) of ``metrics`` (keys ``<metric><suffix>``)."""
    return f"{label:<28}" + "".join(
        f"{metrics[name + suffix]:{9 if name in ('p_mpjpe', 'n_mpjpe') else 8}.1f}" for name in METRICS
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--non-causal", default=str(default_lifter_path()), help="non-causal lifter to measure")
    parser.add_argument("--causal", default=str(default_lifter_path(causal=True)), help="causal lifter to measure")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 on a shared machine)")
    parser.add_argument("--random-cameras", action="store_true", help="also held-out windows, random cameras")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    lifters = (
        ("non-causal", "deepmimic_default.yaml", args.non_causal),
        ("causal", "deepmimic_causal.yaml", args.causal),
    )
    for label, config_name, weights in lifters:
        print(f"{label}: {weights} (config {config_name})")
    for noise in (0.0, 0.02):
        results = {label: measure(config_name, weights, noise) for label, config_name, weights in lifters}
        print()
        print("2D input: " + ("projected, no noise" if noise == 0 else f"projected, Gaussian noise {noise:.0%} of box"))
        print(HEADER + f"{'traj.':>8}")
        for label, metrics in results.items():
            print(row(f"{label}, mean of clips", metrics) + f"{metrics.get('trajectory', float('nan')):8.0f}")
        clips = [name.split("/", 1)[1] for name in next(iter(results.values())) if name.startswith("mpjpe/")]
        for clip in clips:
            for label, metrics in results.items():
                print(row(f"{label}, {clip}", metrics, f"/{clip}"))
    if args.random_cameras:
        print()
        print(
            "held-out windows, random training cameras: MPJPE / P-MPJPE, person centred | anywhere in the central 80 %"
        )
        for label, config_name, weights in lifters:
            cells = [random_camera_errors(config_name, weights, off_centre) for off_centre in (0.0, 0.8)]
            print(f"{label:<28}" + " | ".join(f"{error:6.1f} / {aligned:5.1f}" for error, aligned in cells))


if __name__ == "__main__":
    main()
