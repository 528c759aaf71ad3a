"""``posekit merge``: join the ``predictions.json`` files of runs over different inputs into one file.

The work is :func:`posekit.inference.merge.merge_predictions` (its docstring says how image ids
are renumbered). Exit status 0, or 2 with one sentence for a file that cannot be read or merged.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from posekit.inference.merge import merge_predictions
from posekit.io.atomic import atomic_write_json


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="posekit merge",
        description="Join the predictions.json files of posekit predict runs over different inputs (e.g. on "
        "several machines) into one, in the order given, with image ids renumbered to stay unique.",
    )
    parser.add_argument("predictions", nargs="+", metavar="PREDICTIONS_JSON", help="the runs' predictions.json files")
    parser.add_argument("--out", required=True, metavar="JSON", help="the merged file (written atomically)")
    parser.add_argument(
        "--images-json",
        default=None,
        metavar="JSON",
        help="the COCO file the runs were given with --images-json: images listed there keep their ids",
    )
    return parser


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    merged = merge_predictions(args.predictions, images_json=args.images_json)
    path = atomic_write_json(args.out, merged)
    images = len({entry["image_id"] for entry in merged})
    print(f"merged {len(args.predictions)} file(s): {len(merged)} entries, {images} images and frames, in {path}")
    return 0
