"""Errors of posekit's default lifter on the held-out DeepMimic clips (clean and noisy 2D).

    .venv/bin/python benchmarks/default_lifter_heldout.py [--weights PATH [PATH ...]]

Same numbers as ``posekit evaluate configs/videopose3d/deepmimic_default.yaml --weights PATH``
(``--set deepmimic.eval_noise=0.02`` for the noisy row): the three held-out clips rendered from six
fixed cameras each (seed 0), flip test-time augmentation, Protocols 1-3 and MPJVE in millimetres,
then MPJPE and P-MPJPE per clip. Several ``--weights`` are measured one after the other in the same
process (e.g. a candidate and the shipped file).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from posekit.config import load_config, read_config_file
from posekit.inference.lift3d.default_lifter import default_lifter_path
from posekit.tasks.lift3d import Lift3DConfig, evaluate

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "videopose3d" / "deepmimic_default.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", nargs="+", default=[str(default_lifter_path())])
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 on a shared machine)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = read_config_file(CONFIG)
    data.pop("task")
    for weights in args.weights:
        print(f"weights: {weights}")
        print(
            f"{'2D input':<22}{'MPJPE':>8}{'P-MPJPE':>9}{'N-MPJPE':>9}{'MPJVE':>8}{'traj.':>8}"
            "   per clip MPJPE / P-MPJPE"
        )
        for noise in (0.0, 0.02):
            config = load_config(data, Lift3DConfig, [f"deepmimic.eval_noise={noise}"])
            metrics = evaluate(config, weights)
            clips = ", ".join(
                f"{name.split('/')[1]} {value:.1f} / {metrics['p_mpjpe/' + name.split('/')[1]]:.1f}"
                for name, value in metrics.items()
                if name.startswith("mpjpe/")
            )
            label = "projected, no noise" if noise == 0 else f"noise {noise:.0%} of box"
            print(
                f"{label:<22}{metrics['mpjpe']:8.1f}{metrics['p_mpjpe']:9.1f}{metrics['n_mpjpe']:9.1f}"
                f"{metrics['mpjve']:8.2f}{metrics.get('trajectory', float('nan')):8.0f}   {clips}"
            )


if __name__ == "__main__":
    main()
