"""``posekit demo``: run ``posekit predict`` on scikit-image's astronaut photo (no download needed)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from posekit.cli.main import CommandError

DEFAULT_OUT = "runs/demo"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="posekit demo",
        description="Write scikit-image's sample photo skimage.data.astronaut() to OUT/astronaut.png, run "
        "`posekit predict` on it and print where the results went (needs `pip install posekit[demo]`).",
    )
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    return parser


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    try:
        from skimage import data
    except ImportError:
        raise CommandError(
            "the demo photo comes from scikit-image, which is not installed: pip install posekit[demo]"
        ) from None
    from posekit.cli import predict
    from posekit.io.images import write_image

    out = Path(args.out)
    photo = write_image(out / "astronaut.png", data.astronaut())
    print(f"demo: wrote the sample photo to {photo}")
    status = predict.main([str(photo), "--out", str(out)])
    if status == 0:
        print(f"demo: keypoints in {out / 'predictions.json'}, overlay in {out / 'vis' / 'astronaut.jpg'}")
    return status
