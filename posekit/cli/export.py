"""``posekit export``: write a model as ONNX, optionally checked against torch with onnxruntime.

::

    posekit export onnx --model NAME [--weights PATH] --out FILE.onnx [--input-size W H]
                        [--batch dynamic|N] [--frames T] [--opset 17] [--skeleton NAME] [--check]

Every 2D single-person model (``posekit info`` lists them) and the VideoPose3D lifters
(``videopose3d_*``) export; the graphs, their inputs and the stored metadata are described in
:mod:`posekit.export.onnx`; :func:`posekit.export.registered.export_registered_onnx` does the work.
The file is written atomically and, with ``--check``, only when onnxruntime agrees with torch to
1e-4 on random input.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from posekit.export.registered import export_registered_onnx

PROG = "posekit export"


def _batch(value: str) -> int | None:
    if value == "dynamic":
        return None
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'dynamic' or a positive integer, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected 'dynamic' or a positive integer, got {value!r}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Export a posekit model. Formats: onnx (2D single-person models and VideoPose3D lifters).",
    )
    formats = parser.add_subparsers(dest="format", metavar="FORMAT", required=True)
    onnx = formats.add_parser(
        "onnx",
        prog=f"{PROG} onnx",
        help="ONNX graph for onnxruntime and other runtimes",
        description="Export a model to ONNX with the TorchScript exporter (offline). 2D models take "
        "images (B, 3, h, w), float32 RGB normalised with the ImageNet mean/std, and output raw heatmaps "
        "(B, K, H, W) and/or coordinates (B, K, 2) normalised as (x / w, y / h); VideoPose3D lifters take "
        "keypoints_2d (B, T, J, 2) with a dynamic T and output keypoints_3d (B, T - rf + 1, J, 3). The "
        "model's facts (input size, output kind, normalisation, skeleton, codec) are stored in the ONNX "
        "metadata (posekit.* keys). The file is written atomically.",
    )
    onnx.add_argument("--model", required=True, metavar="NAME", help="registered model name (see `posekit info`)")
    onnx.add_argument(
        "--weights",
        default=None,
        metavar="PATH",
        help="posekit or official checkpoint (default: random initialisation, for testing a deployment only)",
    )
    onnx.add_argument("--out", required=True, metavar="FILE.onnx", help="ONNX file to write")
    onnx.add_argument(
        "--input-size",
        type=int,
        nargs=2,
        default=None,
        metavar=("W", "H"),
        help="2D models: network input width and height in pixels (default: the model's; fully "
        "convolutional heatmap models accept others, regression models and CPM need their own)",
    )
    onnx.add_argument(
        "--batch",
        type=_batch,
        default=None,
        metavar="dynamic|N",
        help="batch axis: 'dynamic' (default) or a fixed size N",
    )
    onnx.add_argument(
        "--frames",
        type=int,
        default=None,
        metavar="T",
        help="lifters: frames of the example input (default: receptive field + 8); the frame axis stays dynamic",
    )
    onnx.add_argument("--opset", type=int, default=17, help="ONNX opset version (default: 17)")
    onnx.add_argument(
        "--skeleton",
        default=None,
        help="2D models: keypoint format (default: from the checkpoint, else by keypoint count: 17 coco, 16 mpii)",
    )
    onnx.add_argument(
        "--check",
        action="store_true",
        help="run onnxruntime on random input and compare with torch; fail (writing nothing) when the "
        "max abs difference exceeds 1e-4, and print it",
    )
    return parser


def main(argv: Sequence[str]) -> int:
    """Run ``posekit export`` with ``argv``; return the exit status."""
    args = build_parser().parse_args(list(argv))
    if not str(args.out).endswith(".onnx"):
        raise ValueError(f"--out must name a .onnx file, got {args.out!r}")
    if args.weights is not None and not Path(args.weights).is_file():
        raise FileNotFoundError(f"weights file not found: {args.weights}")
    result = export_registered_onnx(
        args.model,
        args.out,
        weights=args.weights,
        skeleton=args.skeleton,
        input_size=None if args.input_size is None else (args.input_size[0], args.input_size[1]),
        frames=args.frames,
        batch=args.batch,
        opset=args.opset,
        check=args.check,
    )
    size_mb = Path(result.path).stat().st_size / 2**20
    print(f"wrote {result.path} ({size_mb:.1f} MB): {result.describe()}")
    return 0
