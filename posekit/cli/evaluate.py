"""``posekit evaluate``: score prediction files (COCO AP, MPII PCKh) or a trained model from its config.

Three forms::

    posekit evaluate coco --gt GT.json --pred RESULTS.json [--skeleton NAME] [--sigmas S1,...,SK] [--json]
    posekit evaluate pckh --gt gt_valid.mat|GT.json --pred pred.mat|PRED.json [--threshold 0.5] [--json]
    posekit evaluate CONFIG [--weights PATH] [--set key=value ...] [--json]

The COCO numbers are pycocotools' ``COCOeval`` on the same files (see
:func:`posekit.metrics.coco_keypoint_eval`). A first argument that is not a metric name is a
config file, handed to :func:`posekit.tasks.evaluate_config`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

METRIC_COMMANDS = ("coco", "pckh")

DESCRIPTION = """\
Evaluate keypoint predictions against ground truth, or evaluate a trained model.

  posekit evaluate coco --gt GT.json --pred RESULTS.json [--skeleton NAME] [--sigmas S1,...,SK] [--json]
      COCO keypoint AP/AR (AP, AP50, AP75, APm, APl, AR, AR50, AR75, ARm, ARl) of a COCO results
      file, computed by pycocotools' COCOeval with the skeleton's OKS sigmas (coco, crowdpose, ...)
      or those given by --sigmas. Predictions are matched to the ground-truth images by image_id,
      or by file_name (as posekit predict writes it) when their ids are not the ground truth's.

  posekit evaluate pckh --gt gt_valid.mat|GT.json --pred pred.mat|PRED.json [--threshold 0.5]
      MPII PCKh (Head, Shoulder, Elbow, Wrist, Hip, Knee, Ankle, Mean, Mean@0.1).

  posekit evaluate CONFIG [--weights PATH] [--set key=value ...] [--json]
      Run the evaluation of a training config (any first argument that is not a metric name),
      optionally with other weights and config overrides; prints the metrics it returns.

Run `posekit evaluate coco --help` or `posekit evaluate pckh --help` for their options."""


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser: the config form, with a help text describing every form."""
    parser = argparse.ArgumentParser(
        prog="posekit evaluate", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("config", help="config file of a trained model (or 'coco' / 'pckh', see above)")
    parser.add_argument("--weights", default=None, help="checkpoint to evaluate instead of the config's")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value (repeatable), e.g. --set data.batch_size=64",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    return parser


def build_coco_parser() -> argparse.ArgumentParser:
    """Parser of ``posekit evaluate coco``."""
    parser = argparse.ArgumentParser(
        prog="posekit evaluate coco",
        description=(
            "COCO keypoint AP/AR of a COCO results file against COCO-format ground truth, computed by "
            "pycocotools' COCOeval with the OKS sigmas of --skeleton (or --sigmas). Predictions are matched "
            "to the ground-truth images by file_name (as posekit predict writes it) when every prediction's "
            "file name is a ground-truth image's and their image_id values disagree (a note on stderr says so), "
            "else by image_id; predictions that match neither way are refused. -1 means no ground truth in "
            "that setting (e.g. no medium-sized person)."
        ),
    )
    parser.add_argument("--gt", required=True, help="COCO-format ground-truth JSON (images, annotations, categories)")
    parser.add_argument(
        "--pred", required=True, help="COCO results JSON: a list of {image_id, category_id, keypoints, score}"
    )
    parser.add_argument("--skeleton", default=None, help="keypoint format giving K and the OKS sigmas (default: coco)")
    parser.add_argument(
        "--sigmas",
        default=None,
        metavar="S1,...,SK",
        help="per-keypoint OKS sigmas, K comma-separated positive numbers (replace the skeleton's; "
        "needed for a keypoint format without sigmas), e.g. 0.026,0.025,...",
    )
    parser.add_argument(
        "--no-area",
        action="store_true",
        help="use 0.53 x box area as object scale instead of the annotations' 'area' (CrowdPose-style ground truth)",
    )
    parser.add_argument(
        "--crowdpose",
        action="store_true",
        help="CrowdPose protocol: crowdpose skeleton, --no-area, drop all-zero predictions, add APeasy/APmedium/APhard",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object with the metrics")
    parser.add_argument("--verbose", action="store_true", help="show pycocotools' own output (on stderr with --json)")
    return parser


def build_pckh_parser() -> argparse.ArgumentParser:
    """Parser of ``posekit evaluate pckh``."""
    parser = argparse.ArgumentParser(
        prog="posekit evaluate pckh",
        description=(
            "MPII PCKh of predictions for the 16 MPII joints. Ground truth: the official-format gt_valid.mat "
            "(pos_gt_src, jnt_missing, headboxes_src) or a JSON list of {joints (16x2), joints_vis (16), "
            "head_box [x1, y1, x2, y2]}. Predictions, one per person in the same order and in the ground truth's "
            "pixel coordinates (MPII's are 1-based): pred.mat with 'preds' (N x 16 x 2, as HRNet writes it), a "
            ".npy array (N, 16, 2) or a JSON list of {joints} or of 16x2 lists."
        ),
    )
    parser.add_argument("--gt", required=True, help="gt_valid.mat or JSON ground truth with head boxes")
    parser.add_argument("--pred", required=True, help="pred.mat, .npy or JSON predictions, one per ground-truth person")
    parser.add_argument("--threshold", type=float, default=0.5, help="fraction of the head size (default 0.5)")
    parser.add_argument("--json", action="store_true", help="print one JSON object with the summary")
    return parser


@contextlib.contextmanager
def _stdout_to_stderr(active: bool) -> Iterator[None]:
    if active:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    else:
        yield


def _format_metrics(metrics: Mapping[str, float]) -> str:
    names = list(metrics)
    width = max(7, *(len(name) + 1 for name in names))
    header = "".join(name.rjust(width) for name in names)
    values = "".join(("-" if value == -1 else f"{value:.3f}").rjust(width) for value in metrics.values())
    return f"{header}\n{values}"


def _note(message: str) -> None:
    print(f"posekit evaluate: {message}", file=sys.stderr)


def _parse_sigmas(text: str) -> list[float]:
    """``--sigmas 0.026,0.025,...`` as floats (positivity and K are checked by the metric)."""
    try:
        return [float(item) for item in text.replace(" ", "").split(",") if item]
    except ValueError:
        raise ValueError(f"--sigmas expects K comma-separated numbers, e.g. 0.079,0.072,0.062, got {text!r}") from None


def run_coco(argv: Sequence[str]) -> int:
    """``posekit evaluate coco``."""
    from posekit.metrics.coco import coco_keypoint_eval

    args = build_coco_parser().parse_args(list(argv))
    skeleton = args.skeleton or ("crowdpose" if args.crowdpose else "coco")
    sigmas = None if args.sigmas is None else _parse_sigmas(args.sigmas)
    if sigmas is not None and args.skeleton is not None:
        from posekit.skeletons import get_skeleton

        count = get_skeleton(args.skeleton).num_keypoints
        if len(sigmas) != count:
            raise ValueError(f"--sigmas has {len(sigmas)} values, but skeleton {args.skeleton!r} has {count} keypoints")
    with _stdout_to_stderr(args.json and args.verbose):
        metrics = coco_keypoint_eval(
            args.gt,
            args.pred,
            sigmas=sigmas,
            skeleton=skeleton,
            use_area=not (args.no_area or args.crowdpose),
            iou_type="keypoints_crowd" if args.crowdpose else "keypoints",
            verbose=args.verbose,
            drop_zero_confidence=args.crowdpose,
            report=_note,
        )
    if args.json:
        print(json.dumps(metrics))
    else:
        source = f"{skeleton} sigmas" if sigmas is None else f"{len(sigmas)} sigmas from --sigmas"
        print(f"COCO keypoint evaluation ({source}) of {args.pred} against {args.gt}")
        print(_format_metrics(metrics))
        if any(value == -1 for value in metrics.values()):
            print("(- : no ground truth in that setting)")
    return 0


def run_pckh(argv: Sequence[str]) -> int:
    """``posekit evaluate pckh``."""
    from posekit.data.mpii import load_pckh_files
    from posekit.metrics.pck import format_pckh_table, pckh

    args = build_pckh_parser().parse_args(list(argv))
    predictions, joints, visible, head_boxes = load_pckh_files(args.gt, args.pred)
    result = pckh(predictions, joints, visible, head_boxes=head_boxes, threshold=args.threshold)
    if args.json:
        print(json.dumps(result.summary))
    else:
        print(f"MPII PCKh@{args.threshold:g} of {args.pred} against {args.gt} ({joints.shape[0]} people)")
        print(format_pckh_table(result.summary))
    return 0


# --------------------------------------------------------------------------------------------------
# config form
# --------------------------------------------------------------------------------------------------


def run_config(argv: Sequence[str]) -> int:
    """``posekit evaluate CONFIG``: evaluate a trained model through :mod:`posekit.tasks`."""
    args = build_parser().parse_args(list(argv))
    for override in args.overrides:
        if "=" not in override or override.startswith("="):
            raise ValueError(f"--set expects KEY=VALUE, got {override!r}")
    config_path = Path(args.config)
    if not config_path.is_file():
        raise OSError(f"cannot read config file {args.config!r}: no such file (or use 'coco' / 'pckh')")
    if args.weights is not None and not Path(args.weights).is_file():
        raise OSError(f"cannot read weights file {args.weights!r}: no such file")
    from posekit.tasks import evaluate_config

    metrics = evaluate_config(str(config_path), args.weights, list(args.overrides))
    if args.json:
        print(json.dumps({name: float(value) for name, value in metrics.items()}))
    else:
        width = max((len(name) for name in metrics), default=0)
        for name, value in metrics.items():
            print(f"{name.ljust(width)}  {float(value):.4f}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``posekit evaluate`` with ``argv``; return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "coco":
        return run_coco(args[1:])
    if args and args[0] == "pckh":
        return run_pckh(args[1:])
    return run_config(args)  # also handles --help and a missing argument (argparse exits)
