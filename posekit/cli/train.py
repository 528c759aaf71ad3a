"""``posekit train CONFIG``: train the task a config file describes.

One GPU or CPU::

    posekit train configs/recipe.yaml --set train.lr=0.001 --out runs/x

Several GPUs on one machine (data parallel; the batch size in the config is per GPU)::

    torchrun --nproc_per_node 4 -m posekit train configs/recipe.yaml

Resume after an interruption with ``--resume auto`` (``out_dir/last.pt`` when it exists) or
``--resume PATH``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="posekit train",
        description=(
            "Train a model from a config file (YAML or JSON) whose top-level 'task:' names what to train. "
            "Writes last.pt, best.pt, metrics.jsonl, curves.png and config.json into the output folder. "
            "For several GPUs: torchrun --nproc_per_node N -m posekit train CONFIG."
        ),
    )
    parser.add_argument("config", help="config file (.yaml, .yml or .json)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config field, parsed by its type (repeatable), e.g. --set train.lr=0.001",
    )
    parser.add_argument("--out", metavar="DIR", help="output folder (sets train.out_dir)")
    parser.add_argument(
        "--resume",
        metavar="PATH|auto",
        help="resume from a checkpoint, or 'auto' for OUT/last.pt when it exists (sets train.resume)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (sets train.progress=false)")
    return parser


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    from posekit.engine import distributed
    from posekit.tasks import train_config

    overrides = list(args.overrides)
    if args.out is not None:
        overrides.append(f"train.out_dir={args.out}")
    if args.resume is not None:
        overrides.append(f"train.resume={args.resume}")
    if args.no_progress:
        overrides.append("train.progress=false")
    rank = 0
    try:
        summary = train_config(args.config, overrides)
        rank = distributed.get_rank()  # before leaving the process group
    finally:
        distributed.cleanup()
    if rank == 0:
        print(json.dumps(summary, default=str))
    return 0
