"""Data-pipeline throughput of 2D top-down training at 256x192: samples/s per core.

Measures, in one process on the same people of a synthetic COCO-format set (so the ratios hold on
a loaded machine):

* ``read``: JPEG decoding only (:func:`posekit.io.images.read_image`), the floor of any pipeline;
* ``crop``: read + the evaluation crop (affine warp to 192x256, ImageNet normalisation);
* ``train``: read + HRNet's COCO augmentation (flip 0.5, scale 0.35, rotation 40 deg with p 0.6,
  half body 0.3) + crop + MSRA Gaussian targets (64x48, sigma 2), i.e. one
  :class:`~posekit.data.keypoints2d.TopDownDataset` item as ``posekit train`` builds it;
* ``train+DARK``: the same with DARK's unbiased sub-pixel targets over the whole map;
* ``loader``: ``train`` through a ``DataLoader`` with ``--workers`` processes and the collate
  function, batch 32: samples/s in total and divided by the number of workers.

``samples/s per core`` of the single-process rows is their throughput (one core). The GPU side of
training throughput (images/s of a forward + backward step) needs a GPU machine; none was lent
to this session, so it is not measured here.

Prepare the data once: ``posekit synth --out /tmp/synth --num-train 200 --num-val 20``
Run: ``.venv/bin/python benchmarks/bench_data_pipeline.py [--data /tmp/synth] [--samples 200] [--workers 2]``
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from posekit.codecs import MSRAHeatmap
from posekit.data.keypoints2d import PersonRecords, TopDownDataset, load_coco_keypoints
from posekit.data.transforms import TopDownTransform, collate
from posekit.io.images import read_image
from posekit.skeletons import get_skeleton

INPUT_SIZE = (192, 256)
HEATMAP_SIZE = (48, 64)


def train_transform(unbiased: bool) -> TopDownTransform:
    skeleton = get_skeleton("coco")
    return TopDownTransform(
        INPUT_SIZE,
        MSRAHeatmap(INPUT_SIZE, HEATMAP_SIZE, sigma=2.0, unbiased=unbiased),
        train=True,
        flip_indices=skeleton.flip_indices,
        upper_body_indices=skeleton.upper_body_indices,
    )


def throughput(function: Callable[[int], Any], count: int) -> float:
    """Samples per second of ``function(index)`` over ``count`` indices (after two warm-up calls)."""
    function(0)
    function(1)
    start = time.perf_counter()
    for index in range(count):
        function(index)
    return count / (time.perf_counter() - start)


def loader_throughput(dataset: TopDownDataset, workers: int, count: int) -> float:
    """Samples per second through a shuffled DataLoader (batch 32), first batch excluded."""
    loader = DataLoader(dataset, batch_size=32, shuffle=True, num_workers=workers, collate_fn=collate)
    seen = 0
    start = 0.0
    for batch_index, batch in enumerate(loader):
        if batch_index == 0:
            start = time.perf_counter()
            continue
        seen += int(batch["image"].shape[0])
        if seen >= count:
            break
    return seen / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="/tmp/synth", help="folder written by `posekit synth` (default /tmp/synth)")
    parser.add_argument("--samples", type=int, default=200, help="people per measurement (default 200)")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader worker processes (default 2)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    root = Path(args.data)
    annotations = root / "annotations" / "train.json"
    if not annotations.is_file():
        raise SystemExit(
            f"{annotations} not found: run `posekit synth --out {root} --num-train 200 --num-val 20` first"
        )
    records: PersonRecords = load_coco_keypoints(annotations, root / "images" / "train", "coco", INPUT_SIZE)
    count = min(args.samples, len(records))
    print(
        f"{len(records)} people in {annotations}; {count} per measurement; input 192x256, heatmaps 48x64; "
        f"load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    crop = TopDownDataset(records, TopDownTransform(INPUT_SIZE, None, train=False))
    train = TopDownDataset(records, train_transform(unbiased=False))
    dark = TopDownDataset(records, train_transform(unbiased=True))
    torch.manual_seed(0)
    rows = [
        ("read (JPEG decode only)", throughput(lambda index: read_image(records.image_files[index % count]), count)),
        ("crop (eval: warp + normalise)", throughput(lambda index: crop[index % count], count)),
        ("train (HRNet aug + MSRA targets)", throughput(lambda index: train[index % count], count)),
        ("train+DARK (unbiased targets)", throughput(lambda index: dark[index % count], count)),
    ]
    reference = rows[0][1]
    print("| pipeline | samples/s per core | relative to JPEG decode |")
    print("|---|---|---|")
    for name, rate in rows:
        print(f"| {name} | {rate:.0f} | {rate / reference:.2f} |")
    if args.workers > 0:
        total = loader_throughput(train, args.workers, count)
        print(
            f"| train via DataLoader, {args.workers} workers, batch 32 | {total / args.workers:.0f} "
            f"(total {total:.0f}) | {total / args.workers / reference:.2f} |"
        )
    print(f"load average at end {os.getloadavg()[0]:.1f}")
    print("GPU training throughput (forward + backward images/s): needs a lent GPU; none in this session.")


if __name__ == "__main__":
    main()
