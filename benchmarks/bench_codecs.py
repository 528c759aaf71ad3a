"""Micro-benchmark of the keypoint codecs at 256x192 input / 64x48 heatmaps, 17 keypoints.

Times encode and decode per sample (one person), single and batched, and, in the same process,
per-keypoint loop references written the way the original code bases do it (a Python loop over
keypoints with a small Gaussian patch per keypoint for encoding; argmax + a loop over keypoints for
quarter-offset decoding; one OpenCV blur per map + a loop with a 2x2 inverse for DARK), so the
ratio is meaningful on a shared machine.

Run: ``.venv/bin/python benchmarks/bench_codecs.py [--repeats 30] [--batch 64]``
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable

import cv2
import numpy as np
import torch

from posekit.codecs import IntegralRegression, MSRAHeatmap, UDPHeatmap

INPUT_SIZE = (192, 256)
HEATMAP_SIZE = (48, 64)
NUM_KEYPOINTS = 17


def reference_encode(keypoints_heatmap: np.ndarray, sigma: float = 2.0) -> np.ndarray:
    """Loop reference: one Gaussian patch per keypoint, pasted with bounds checks. (K, 2) -> (K, H, W)."""
    width, height = HEATMAP_SIZE
    heatmaps = np.zeros((len(keypoints_heatmap), height, width), dtype=np.float32)
    radius = int(3 * sigma)
    size = 2 * radius + 1
    grid = np.arange(size, dtype=np.float32)
    patch = np.exp(-((grid - radius) ** 2 + (grid[:, None] - radius) ** 2) / (2 * sigma**2))
    for k, (x, y) in enumerate(keypoints_heatmap):
        mu_x, mu_y = int(x + 0.5), int(y + 0.5)
        left, top, right, bottom = mu_x - radius, mu_y - radius, mu_x + radius + 1, mu_y + radius + 1
        if left >= width or top >= height or right < 0 or bottom < 0:
            continue
        heatmaps[k, max(0, top) : min(height, bottom), max(0, left) : min(width, right)] = patch[
            max(0, -top) : min(height, bottom) - top, max(0, -left) : min(width, right) - left
        ]
    return heatmaps


def reference_decode_quarter(heatmaps: np.ndarray) -> np.ndarray:
    """Loop reference: argmax per map, quarter step per keypoint. (K, H, W) -> (K, 2) heatmap px."""
    num_keypoints, height, width = heatmaps.shape
    flat_index = heatmaps.reshape(num_keypoints, -1).argmax(axis=1)
    coords = np.stack([flat_index % width, flat_index // width], axis=1).astype(np.float32)
    for k in range(num_keypoints):
        px, py = int(coords[k, 0]), int(coords[k, 1])
        if 1 < px < width - 1 and 1 < py < height - 1:
            diff = np.array(
                [heatmaps[k, py, px + 1] - heatmaps[k, py, px - 1], heatmaps[k, py + 1, px] - heatmaps[k, py - 1, px]]
            )
            coords[k] += np.sign(diff) * 0.25
    return coords


def reference_decode_dark(heatmaps: np.ndarray, kernel_size: int = 11) -> np.ndarray:
    """Loop reference: argmax, one zero-padded OpenCV blur per map, per-keypoint Taylor step."""
    coords = reference_decode_quarter(heatmaps) * 0 + _argmax(heatmaps)
    border = kernel_size // 2
    num_keypoints, height, width = heatmaps.shape
    for k in range(num_keypoints):
        padded = np.zeros((height + 2 * border, width + 2 * border), dtype=np.float32)
        padded[border:-border, border:-border] = heatmaps[k]
        blurred = cv2.GaussianBlur(padded, (kernel_size, kernel_size), 0)[border:-border, border:-border]
        log_map = np.log(np.maximum(blurred * (heatmaps[k].max() / blurred.max()), 1e-10))
        x, y = int(coords[k, 0]), int(coords[k, 1])
        if 1 < x < width - 2 and 1 < y < height - 2:
            gradient = np.array(
                [0.5 * (log_map[y, x + 1] - log_map[y, x - 1]), 0.5 * (log_map[y + 1, x] - log_map[y - 1, x])]
            )
            dxx = 0.25 * (log_map[y, x + 2] - 2 * log_map[y, x] + log_map[y, x - 2])
            dyy = 0.25 * (log_map[y + 2, x] - 2 * log_map[y, x] + log_map[y - 2, x])
            dxy = 0.25 * (log_map[y + 1, x + 1] - log_map[y - 1, x + 1] - log_map[y + 1, x - 1] + log_map[y - 1, x - 1])
            hessian = np.array([[dxx, dxy], [dxy, dyy]])
            if dxx * dyy - dxy**2 != 0:
                coords[k] -= np.linalg.inv(hessian) @ gradient
    return coords


def _argmax(heatmaps: np.ndarray) -> np.ndarray:
    num_keypoints, height, width = heatmaps.shape
    flat_index = heatmaps.reshape(num_keypoints, -1).argmax(axis=1)
    return np.stack([flat_index % width, flat_index // width], axis=1).astype(np.float32)


def time_call(function: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``function()`` in milliseconds (after one warm-up call)."""
    function()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=30, help="timed calls per measurement (median reported)")
    parser.add_argument("--batch", type=int, default=64, help="instances per batched call")
    args = parser.parse_args()
    torch.set_num_threads(1)

    rng = np.random.default_rng(0)
    batch = args.batch
    keypoints = np.stack(
        [rng.uniform(0, 191, (batch, NUM_KEYPOINTS)), rng.uniform(0, 255, (batch, NUM_KEYPOINTS))], axis=-1
    )
    single = keypoints[:1]
    msra = MSRAHeatmap(INPUT_SIZE, HEATMAP_SIZE)
    dark = MSRAHeatmap(INPUT_SIZE, HEATMAP_SIZE, unbiased=True)
    udp = UDPHeatmap(INPUT_SIZE, HEATMAP_SIZE)
    combined = UDPHeatmap(INPUT_SIZE, HEATMAP_SIZE, heatmap_type="combined")
    integral = IntegralRegression(INPUT_SIZE, HEATMAP_SIZE)

    noise = rng.uniform(0, 0.05, (batch, NUM_KEYPOINTS, HEATMAP_SIZE[1], HEATMAP_SIZE[0])).astype(np.float32)
    msra_maps = msra.encode(keypoints, per_instance=True).heatmaps + noise
    dark_maps = dark.encode(keypoints, per_instance=True).heatmaps + noise
    udp_maps = udp.encode(keypoints, per_instance=True).heatmaps + noise
    combined_maps = combined.encode(keypoints, per_instance=True).heatmaps
    integral_maps = rng.normal(size=msra_maps.shape)

    rows: list[tuple[str, float, float, float | None]] = []

    def add(
        name: str,
        single_call: Callable[[], object],
        batch_call: Callable[[], object] | None,
        reference: Callable[[], object] | None = None,
    ) -> None:
        single_ms = time_call(single_call, args.repeats)
        batch_ms = time_call(batch_call, max(3, args.repeats // 5)) / batch if batch_call else math.nan
        reference_ms = time_call(reference, args.repeats) if reference else None
        rows.append((name, single_ms, batch_ms, reference_ms))

    add(
        "encode msra",
        lambda: msra.encode(single),
        lambda: msra.encode(keypoints, per_instance=True),
        lambda: reference_encode(single[0] / 4.0),
    )
    add("encode dark (unbiased)", lambda: dark.encode(single), lambda: dark.encode(keypoints, per_instance=True))
    add("encode udp gaussian", lambda: udp.encode(single), lambda: udp.encode(keypoints, per_instance=True))
    add("encode udp combined", lambda: combined.encode(single), lambda: combined.encode(keypoints, per_instance=True))
    add(
        "decode msra (quarter)",
        lambda: msra.decode(msra_maps[0]),
        lambda: msra.decode(msra_maps),
        lambda: reference_decode_quarter(msra_maps[0]),
    )
    add(
        "decode dark",
        lambda: dark.decode(dark_maps[0]),
        lambda: dark.decode(dark_maps),
        lambda: reference_decode_dark(dark_maps[0]),
    )
    add("decode udp gaussian", lambda: udp.decode(udp_maps[0]), lambda: udp.decode(udp_maps))
    add("decode udp combined", lambda: combined.decode(combined_maps[0]), lambda: combined.decode(combined_maps))
    add("decode integral (numpy)", lambda: integral.decode(integral_maps[0]), lambda: integral.decode(integral_maps))
    msra_tensor = torch.from_numpy(msra_maps)
    dark_tensor = torch.from_numpy(dark_maps)
    integral_tensor = torch.from_numpy(integral_maps).float()
    add("decode_torch msra (cpu)", lambda: msra.decode_torch(msra_tensor[:1]), lambda: msra.decode_torch(msra_tensor))
    add("decode_torch dark (cpu)", lambda: dark.decode_torch(dark_tensor[:1]), lambda: dark.decode_torch(dark_tensor))
    add(
        "decode_torch integral (cpu)",
        lambda: integral.decode_torch(integral_tensor[:1]),
        lambda: integral.decode_torch(integral_tensor),
    )

    print(
        f"input {INPUT_SIZE[1]}x{INPUT_SIZE[0]}, heatmap {HEATMAP_SIZE[1]}x{HEATMAP_SIZE[0]}, K={NUM_KEYPOINTS}, "
        f"batch={batch}, torch threads=1, median of {args.repeats}"
    )
    print(f"{'operation':30s} {'1 sample ms':>12s} {'batched ms/sample':>18s} {'loop ref ms':>12s} {'ref/ours':>9s}")
    for name, single_ms, batch_ms, reference_ms in rows:
        reference_text = f"{reference_ms:12.3f} {reference_ms / single_ms:9.1f}" if reference_ms else ""
        print(f"{name:30s} {single_ms:12.3f} {batch_ms:18.4f} {reference_text}")


if __name__ == "__main__":
    main()
