"""``posekit demo``: run ``posekit predict`` on scikit-image's astronaut photo (no download needed).

``posekit demo --mesh`` adds ``--mesh``: the shipped open body model fitted to the lifted person,
drawn over the photo in ``OUT/vis/astronaut_mesh.jpg`` (no user files, no display).
"""

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
    parser.add_argument(
        "--mesh",
        action="store_true",
        help="also lift the person to 3D and fit posekit's shipped open body model: OUT/vis/astronaut_mesh.jpg",
    )
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
    status = predict.main([str(photo), "--out", str(out)] + (["--mesh"] if args.mesh else []))
    if status == 0:
        print(f"demo: keypoints in {out / 'predictions.json'}, overlay in {out / 'vis' / 'astronaut.jpg'}")
        if args.mesh:
            print(
                f"demo: body mesh over the photo in {out / 'vis' / 'astronaut_mesh.jpg'}, parameters in {out / 'mesh'}"
            )
    return status
