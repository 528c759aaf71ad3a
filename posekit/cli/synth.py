"""``posekit synth``: render a synthetic people dataset (COCO keypoint format) from motion capture.

::

    posekit synth --out DIR --num-train N --num-val M [--seed S] [--image-size W H]
                  [--people-per-image MIN MAX] [--workers N] [--occluder-probability P]
                  [--truncation-probability P] [--no-sample-pictures] [--jpeg-quality Q] [--quiet]
                  [--mesh [--sequence-length L] [--frame-step S] [--body-model open|FILE] [--no-vertices]]

Writes ``DIR/images/{train,val}/*.jpg`` and ``DIR/annotations/{train,val}.json`` (see
:func:`posekit.data.synthetic.generate_dataset`). Needs the ``pybullet`` wheel for the motion clips.
With ``--mesh`` the people are body-model meshes and ``DIR/labels/{train,val}/*.npz`` hold their
parameters, vertices, joints, camera, masks and IUV (see :mod:`posekit.data.synthetic_mesh`); the
counts are then samples of ``--sequence-length`` frames each.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

DESCRIPTION = """\
Render a synthetic people dataset in COCO keypoint format from the DeepMimic motion-capture
clips shipped in the pybullet wheel: textured figures over cluttered backgrounds, with
occluders, random cameras and camera effects. Validation images use only the held-out clips
(dance_b, jump, punch); training images the other 12. Each annotation carries the COCO fields
plus keypoints_3d (camera space, metres), the camera and the source clip and frame.
The same --seed gives identical files, whatever --workers is."""


def build_parser() -> argparse.ArgumentParser:
    from posekit.data.synthetic import SynthesisConfig

    defaults = SynthesisConfig()
    parser = argparse.ArgumentParser(
        prog="posekit synth", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="dataset folder to write (created)")
    parser.add_argument("--num-train", type=int, default=1000, metavar="N", help="training images (default 1000)")
    parser.add_argument("--num-val", type=int, default=200, metavar="M", help="validation images (default 200)")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    parser.add_argument(
        "--image-size",
        type=int,
        nargs=2,
        default=list(defaults.image_size),
        metavar=("W", "H"),
        help="image width and height in pixels (default %(default)s)",
    )
    parser.add_argument(
        "--people-per-image",
        type=int,
        nargs=2,
        default=list(defaults.people_per_image),
        metavar=("MIN", "MAX"),
        help="inclusive range of people per image (default %(default)s)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, metavar="N", help="processes rendering in parallel (default 1: this process)"
    )
    parser.add_argument(
        "--occluder-probability",
        type=float,
        default=defaults.occluder_probability,
        metavar="P",
        help="probability of 1-2 occluders in an image (default %(default)s)",
    )
    parser.add_argument(
        "--truncation-probability",
        type=float,
        default=defaults.truncation_probability,
        metavar="P",
        help="probability that the first person may be cut by the border (default %(default)s)",
    )
    parser.add_argument(
        "--no-sample-pictures",
        action="store_true",
        help="do not crop background clutter from scikit-image's sample pictures",
    )
    parser.add_argument(
        "--jpeg-quality",
        type=int,
        default=defaults.jpeg_quality,
        metavar="Q",
        help="JPEG quality of the images (default %(default)s)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    mesh = parser.add_argument_group("mesh mode (people on a body model, with mesh labels)")
    mesh.add_argument(
        "--mesh", action="store_true", help="render body-model meshes and write per-image mesh labels (labels/*.npz)"
    )
    mesh.add_argument(
        "--sequence-length", type=int, default=1, metavar="L", help="consecutive frames per sample (default 1)"
    )
    mesh.add_argument("--frame-step", type=int, default=1, metavar="S", help="clip frames between frames (default 1)")
    mesh.add_argument(
        "--body-model", default="open", metavar="MODEL", help="'open' (shipped) or a body-model file (default open)"
    )
    mesh.add_argument("--no-vertices", action="store_true", help="omit vertices from the labels (parameters only)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``posekit synth``; returns the exit status."""
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    from posekit.data.synthetic import SynthesisConfig, generate_dataset

    config = SynthesisConfig(
        image_size=(args.image_size[0], args.image_size[1]),
        people_per_image=(args.people_per_image[0], args.people_per_image[1]),
        occluder_probability=args.occluder_probability,
        truncation_probability=args.truncation_probability,
        use_sample_pictures=not args.no_sample_pictures,
        jpeg_quality=args.jpeg_quality,
    )
    bars: dict[str, Any] = {}

    def progress(split: str, done: int, total: int) -> None:
        if args.quiet:
            return
        if split not in bars:
            from tqdm import tqdm

            bars[split] = tqdm(total=total, desc=split, unit="image", file=sys.stderr, disable=None)
        bars[split].update(1)
        if done == total:
            bars[split].close()

    start = time.perf_counter()
    if args.mesh:
        from posekit.data.synthetic_mesh import MeshSynthesisConfig, generate_mesh_dataset
        from posekit.viz.mesh_render import rasterize

        if args.workers != 1:
            raise ValueError(f"--workers {args.workers}: the mesh mode renders in this process only; use --workers 1")
        mesh_config = MeshSynthesisConfig(
            base=config,
            sequence_length=args.sequence_length,
            frame_step=args.frame_step,
            body_model=args.body_model,
            store_vertices=not args.no_vertices,
        )
        written = generate_mesh_dataset(
            args.out, args.num_train, args.num_val, rasterize, seed=args.seed, config=mesh_config, progress=progress
        )
    else:
        if args.sequence_length != 1 or args.no_vertices or args.body_model != "open" or args.frame_step != 1:
            raise ValueError("--sequence-length, --frame-step, --body-model and --no-vertices need --mesh")
        written = generate_dataset(
            args.out,
            args.num_train,
            args.num_val,
            seed=args.seed,
            config=config,
            workers=args.workers,
            progress=progress,
        )
    seconds = time.perf_counter() - start
    images = (args.num_train + args.num_val) * (args.sequence_length if args.mesh else 1)
    for split, path in written.items():
        print(f"{split}: {path}")
    print(f"{images} images in {seconds:.1f} s ({images / max(seconds, 1e-9):.1f} images/s)")
    return 0
