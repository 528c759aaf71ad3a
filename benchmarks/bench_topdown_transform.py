"""Samples per second of the top-down training transform, against the HRNet-style pipeline.

Both pipelines draw the same augmentation (HRNet's half body, scale, rotation, flip), crop a
640x480 image to 192x256 with cv2.warpAffine, normalise and encode 64x48 MSRA heatmaps. They
differ in the flip: HRNet copies the mirrored image (``image[:, ::-1]``) before warping; posekit
folds the mirror into the affine matrix. Run in one process (the ratio is what to read on a busy
machine)::

    python benchmarks/bench_topdown_transform.py --samples 300
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from posekit.codecs import MSRAHeatmap
from posekit.data.transforms import TopDownTransform, flip_pose, normalize_image
from posekit.geometry import affine_transform_points, get_warp_matrix
from posekit.skeletons import get_skeleton


def hrnet_style(
    image: np.ndarray,
    center: np.ndarray,
    scale: np.ndarray,
    keypoints: np.ndarray,
    visible: np.ndarray,
    rng: np.random.Generator,
    codec: MSRAHeatmap,
    flip_indices: tuple[int, ...],
) -> np.ndarray:
    """The reference: mirror the whole image when flipping, then warp (HRNet JointsDataset)."""
    scale = scale * np.clip(rng.standard_normal() * 0.35 + 1, 0.65, 1.35)
    rotation = float(np.clip(rng.standard_normal() * 45, -90, 90)) if rng.random() <= 0.6 else 0.0
    if rng.random() <= 0.5:
        image = image[:, ::-1].copy()
        keypoints, visible = flip_pose(keypoints, visible, image.shape[1], flip_indices)
        center = np.array([image.shape[1] - 1 - center[0], center[1]])
    matrix = get_warp_matrix(center, scale, rotation, (192, 256))
    crop = cv2.warpAffine(image, matrix, (192, 256), flags=cv2.INTER_LINEAR)
    normalize_image(crop)
    points = affine_transform_points(keypoints, matrix)
    return codec.encode(points[None], visible[None] > 0).heatmaps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(480, 640, 3), dtype=np.uint8)
    keypoints = rng.uniform([200, 100], [400, 400], size=(17, 2))
    visible = np.ones(17, dtype=np.float32)
    center, scale = np.array([300.0, 250.0]), np.array([240.0, 320.0])
    skeleton = get_skeleton("coco")
    codec = MSRAHeatmap((192, 256), (48, 64), sigma=2.0)
    transform = TopDownTransform(
        (192, 256), codec, train=True, flip_indices=skeleton.flip_indices,
        rotation_factor=45.0, upper_body_indices=skeleton.upper_body_indices,
    )  # fmt: skip
    timings = {}
    for name in ("posekit", "hrnet_style", "posekit "):
        generator = np.random.default_rng(1)
        start = time.perf_counter()
        for _ in range(args.samples):
            if name.strip() == "posekit":
                transform(image, center, scale, keypoints, visible, generator)
            else:
                hrnet_style(image, center, scale, keypoints, visible, generator, codec, skeleton.flip_indices)
        timings[name.strip()] = (time.perf_counter() - start) / args.samples
    for name, seconds in timings.items():
        print(f"{name:12s} {1.0 / seconds:8.1f} samples/s  ({1000 * seconds:.2f} ms/sample)")
    print(f"ratio posekit / hrnet_style speed: {timings['hrnet_style'] / timings['posekit']:.2f}x")


if __name__ == "__main__":
    main()
