"""Speed of posekit.geometry's batched functions against per-item / library references (same process).

Run: ``.venv/bin/python benchmarks/bench_geometry.py``. Prints median wall times and ratios; the
machine may be shared, so read ratios rather than absolute numbers.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import cv2
import numpy as np
from scipy.spatial.transform import Rotation

from posekit.geometry import axis_angle_to_matrix, get_warp_matrix, matrix_to_axis_angle, procrustes_align


def median_seconds(function: Callable[[], object], repeats: int = 7) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def three_point_loop(centers: np.ndarray, scales: np.ndarray, rotations: np.ndarray) -> list[np.ndarray]:
    """One cv2.getAffineTransform per box, the way HRNet / MMPose build crop matrices."""
    matrices = []
    for center, scale, rotation in zip(centers, scales, rotations, strict=True):
        angle = np.deg2rad(rotation)
        direction = np.array([scale[0] * 0.5 * np.sin(angle), -scale[0] * 0.5 * np.cos(angle)])
        source = np.array([center, center + direction, center + direction + np.array([direction[1], -direction[0]])])
        target = np.array([[96.0, 128.0], [96.0, 32.0], [0.0, 32.0]])
        matrices.append(cv2.getAffineTransform(np.float32(source), np.float32(target)))
    return matrices


def main() -> None:
    rng = np.random.default_rng(0)
    boxes = 1000
    centers, scales = rng.uniform(0, 640, size=(boxes, 2)), rng.uniform(50, 300, size=(boxes, 2))
    rotations = rng.uniform(-40, 40, size=boxes)
    ours = median_seconds(lambda: get_warp_matrix(centers, scales, rotations, (192, 256)))
    loop = median_seconds(lambda: three_point_loop(centers, scales, rotations))
    print(
        f"warp matrices, {boxes} boxes: posekit batched {ours * 1e3:.2f} ms, per-box cv2 loop {loop * 1e3:.2f} ms "
        f"({loop / ours:.1f}x)"
    )

    rotation_vectors = Rotation.random(100_000, random_state=0).as_rotvec()
    ours = median_seconds(lambda: axis_angle_to_matrix(rotation_vectors))
    scipy_time = median_seconds(lambda: Rotation.from_rotvec(rotation_vectors).as_matrix())
    print(
        f"axis_angle_to_matrix, 100k: posekit {ours * 1e3:.1f} ms, scipy {scipy_time * 1e3:.1f} ms "
        f"(posekit/scipy {ours / scipy_time:.2f})"
    )
    matrices = Rotation.from_rotvec(rotation_vectors).as_matrix()
    ours = median_seconds(lambda: matrix_to_axis_angle(matrices))
    scipy_time = median_seconds(lambda: Rotation.from_matrix(matrices).as_rotvec())
    print(
        f"matrix_to_axis_angle, 100k: posekit {ours * 1e3:.1f} ms, scipy {scipy_time * 1e3:.1f} ms "
        f"(posekit/scipy {ours / scipy_time:.2f})"
    )

    predicted, target = rng.normal(size=(10_000, 17, 3)), rng.normal(size=(10_000, 17, 3))
    ours = median_seconds(lambda: procrustes_align(predicted, target), repeats=3)
    print(f"procrustes_align, 10k poses x 17 joints: {ours * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
