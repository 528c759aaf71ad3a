"""Whole-image bottom-up inference speed on CPU: HigherHRNet-W32 at 512, with and without flip, by stage.

Runs :class:`posekit.inference.bottomup.BottomUpEstimator` on a real 640x480 COCO image from the
shared data (network input 704x512, as the official test resizes it) and reports seconds per image
(median of ``--repeats`` calls after one warm-up) with the breakdown the estimator records:
preprocess (resize + normalise), network (forward passes), aggregation (resize / flip back /
average the outputs, stack the tags), grouping (NMS, matching by tag, adjust, refine),
postprocess (back to image pixels).

Weights: random, which is fine for the network's speed, but the grouping's time depends on how many
candidate joints pass the detection threshold: with the official initialisation the outputs are
of order 1e-11 and nobody is found. So by default the weights are *calibrated*
(:func:`support.bottomup.calibrated_higherhrnet`, tests/support: BatchNorm statistics measured on
two random images, final layers rescaled per channel) so that the grouping finds people (the
count is printed; at most 30, the official top-k); ``--init official`` keeps the official
initialisation.

Reference (``--official CHECKOUT --munkres DIR``): the same network and image through the official
test code (``tools/valid.py``'s loop with ``lib/core/inference.py``, ``lib/utils/transforms.py`` and
``HeatmapParser`` with munkres 1.1.4, as ``benchmarks/make_bottomup_pipeline_fixture.py`` runs it),
timed in the same run; the ratio official / posekit and whether the people are identical.

Usage (from the repository root)::

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_bottomup_inference.py --threads 1 \\
        --official /tmp/hhrnet --munkres /work/ref-munkres

Skips (exit 0, with the reason) when the shared data is absent.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_IMAGE = ROOT.parent / "shared" / "data" / "coco_val2014_images" / "COCO_val2014_000000000192.jpg"
STAGES = ("preprocess", "network", "aggregation", "grouping", "postprocess")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    parser.add_argument("--model", default="higherhrnet_w32_512")
    parser.add_argument("--init", choices=("calibrated", "official"), default="calibrated")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--official", type=Path, default=None, help="HigherHRNet checkout: time the official code too")
    parser.add_argument("--munkres", type=Path, default=None, help="folder holding munkres.py 1.1.4")
    args = parser.parse_args()
    if not args.image.is_file():
        print(f"skipped: {args.image} not found (the shared data folder is absent)")
        return
    torch.set_num_threads(args.threads)
    sys.path.insert(0, str(ROOT / "tests"))
    from support.bottomup import calibrated_higherhrnet

    from posekit.inference.bottomup import BottomUpEstimator
    from posekit.io.images import read_image
    from posekit.models.registry import get_model

    image = read_image(args.image)
    started = time.perf_counter()
    if args.init == "calibrated":
        model = calibrated_higherhrnet(args.model)
    else:
        torch.manual_seed(0)
        model = get_model(args.model).eval()
    print(
        f"{args.model} ({args.init} random weights, built in {time.perf_counter() - started:.1f} s), image "
        f"{args.image.name} {image.shape[1]}x{image.shape[0]}, torch {torch.__version__}, {args.threads} thread(s)"
    )
    print("| flip | people | s / image | " + " | ".join(STAGES) + " |")
    print("|---" * (3 + len(STAGES)) + "|")
    seconds: dict[bool, float] = {}
    rests: dict[bool, float] = {}  # everything but the network
    for flip in (True, False):
        estimator = BottomUpEstimator(model, flip_test=flip)
        people = estimator(image)  # warm-up
        totals: list[float] = []
        stages: dict[str, list[float]] = {stage: [] for stage in STAGES}
        for _ in range(args.repeats):
            started = time.perf_counter()
            estimator(image)
            totals.append(time.perf_counter() - started)
            assert estimator.last_timings is not None
            for stage, value in estimator.last_timings.as_dict().items():
                if stage in stages:
                    stages[stage].append(value)
        seconds[flip] = statistics.median(totals)
        rests[flip] = statistics.median(
            [total - network for total, network in zip(totals, stages["network"], strict=True)]
        )
        row = " | ".join(f"{statistics.median(stages[stage]):.3f}" for stage in STAGES)
        print(f"| {'on' if flip else 'off'} | {len(people)} | {seconds[flip]:.3f} | {row} |")
    print(f"flip on / off: {seconds[True] / seconds[False]:.2f}x")
    if args.official is not None:
        reference(args, model, image, seconds, rests)


def reference(
    args: argparse.Namespace,
    model: torch.nn.Module,
    image: np.ndarray,
    seconds: dict[bool, float],
    rests: dict[bool, float],
) -> None:
    """The official test code on the same network and image, timed in this run."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from make_bottomup_pipeline_fixture import import_official, official_config, official_valid

    from posekit.inference.bottomup import BottomUpEstimator

    official = import_official(args.official, args.munkres)
    dataset = "crowd_pose" if model.skeleton == "crowdpose" else "coco"
    timed = _TimedNetwork(model)
    for flip in (True, False):
        cfg = official_config(official, args.official, dataset, (1.0,), flip, input_size=int(model.input_size))
        official_valid(official, cfg, timed, image)  # warm-up
        times, rest = [], []
        for _ in range(args.repeats):
            timed.seconds = 0.0
            started = time.perf_counter()
            result = official_valid(official, cfg, timed, image)
            times.append(time.perf_counter() - started)
            rest.append(times[-1] - timed.seconds)
        keypoints, scores = BottomUpEstimator(model, flip_test=flip).predict_people(image)
        identical = np.array_equal(keypoints, result["people"][:, :, :3]) and np.array_equal(scores, result["scores"])
        official_seconds, official_rest = statistics.median(times), statistics.median(rest)
        ours, our_rest = seconds[flip], rests[flip]
        print(
            f"official code, flip {'on' if flip else 'off'}: {official_seconds:.3f} s / image, {official_rest:.3f} s "
            f"outside the network ({len(result['people'])} people); official / posekit = "
            f"{official_seconds / ours:.2f}x whole image, {official_rest / our_rest:.1f}x outside the network; "
            f"people identical: {identical}"
        )


class _TimedNetwork:
    """The network as the official code calls it (``model(images)``), adding up the forward time."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model
        self.seconds = 0.0

    def __call__(self, images: torch.Tensor) -> list[torch.Tensor]:
        started = time.perf_counter()
        outputs = self.model(images)
        self.seconds += time.perf_counter() - started
        return outputs


if __name__ == "__main__":
    main()
