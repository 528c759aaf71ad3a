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
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from posekit.config import load_config, read_config_file
from posekit.inference.lift3d.default_lifter import default_lifter_path
from posekit.tasks.lift3d import Lift3DConfig, evaluate

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "videopose3d"
METRICS = ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve")
HEADER = f"{'':<28}{'MPJPE':>8}{'P-MPJPE':>9}{'N-MPJPE':>9}{'MPJVE':>8}"


def measure(config_name: str, weights: str, noise: float) -> dict[str, float]:
    """``evaluate`` of ``weights`` under ``config_name`` with held-out 2D noise ``noise`` (box fraction)."""
    data = read_config_file(CONFIGS / config_name)
    data.pop("task")
    config = load_config(data, Lift3DConfig, [f"deepmimic.eval_noise={noise}"])
    return evaluate(config, weights)


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


if __name__ == "__main__":
    main()
