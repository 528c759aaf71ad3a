"""Speed of posekit.skeletons.convert_keypoints against a hard-coded COCO -> H36M index conversion.

Run: .venv/bin/python benchmarks/bench_skeleton_convert.py [--frames 100000] [--repeats 5]
Both run in this process on the same data (numpy, CPU); the ratio is what to compare across machines.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from posekit.skeletons import convert_keypoints


def hard_coded_coco_to_h36m(coco: np.ndarray) -> np.ndarray:
    """MMPose-convention COCO -> H36M by fixed indices (no validity handling): the speed reference."""
    out = np.zeros(coco.shape[:-2] + (17, coco.shape[-1]), dtype=coco.dtype)
    out[..., 0, :] = (coco[..., 11, :] + coco[..., 12, :]) / 2
    out[..., 8, :] = (coco[..., 5, :] + coco[..., 6, :]) / 2
    out[..., 7, :] = (out[..., 0, :] + out[..., 8, :]) / 2
    out[..., 10, :] = (coco[..., 1, :] + coco[..., 2, :]) / 2
    out[..., [1, 2, 3, 4, 5, 6, 9, 11, 12, 13, 14, 15, 16], :] = coco[
        ..., [12, 14, 16, 11, 13, 15, 0, 5, 7, 9, 6, 8, 10], :
    ]
    return out


def best_time(function: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    coco = np.random.default_rng(0).uniform(0, 1000, size=(args.frames, 17, 2)).astype(np.float32)
    scores = np.ones(coco.shape[:-1], dtype=np.float32)
    convert_keypoints(coco[:2], "coco", "h36m")  # build and cache the plan
    reference = best_time(lambda: hard_coded_coco_to_h36m(coco), args.repeats)
    ours = best_time(lambda: convert_keypoints(coco, "coco", "h36m", scores=scores), args.repeats)
    np.testing.assert_allclose(convert_keypoints(coco, "coco", "h36m")[0], hard_coded_coco_to_h36m(coco), rtol=1e-5)
    print(f"frames={args.frames}  hard-coded: {reference * 1e3:.1f} ms  convert_keypoints: {ours * 1e3:.1f} ms  "
          f"ratio: {ours / reference:.2f}x  ({args.frames / ours / 1e6:.2f} M poses/s)")  # fmt: skip


if __name__ == "__main__":
    main()
