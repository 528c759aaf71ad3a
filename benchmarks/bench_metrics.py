"""Speed of posekit.metrics against the references it reproduces (same process, same data).

Run: ``.venv/bin/python benchmarks/bench_metrics.py``. Prints median wall times and ratios; the
machine may be shared, so read ratios rather than absolute numbers.

* ``coco_keypoint_eval`` (validation + pycocotools ``COCOeval``) against calling ``COCOeval``
  directly on the same files: the wrapper's overhead.
* ``oks`` (batched numpy) against ``COCOeval.computeOks`` (a Python loop over pairs), all images.
* ``p_mpjpe`` on numpy and on torch (CPU) for 10 000 poses.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from posekit.metrics import coco_keypoint_eval, mpjpe, oks, p_mpjpe
from posekit.skeletons import get_skeleton

SIGMAS = np.asarray(get_skeleton("coco").sigmas)


def median_seconds(function: Callable[[], object], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def synthetic_coco(num_images: int, seed: int = 0) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """COCO-17 ground truth (1-5 people per image) and noisy results with false positives."""
    rng = np.random.default_rng(seed)
    images, annotations, results = [], [], []
    for image_id in range(1, num_images + 1):
        images.append({"id": image_id, "width": 640, "height": 480, "file_name": f"{image_id}.jpg"})
        for _ in range(int(rng.integers(1, 6))):
            width, height = rng.uniform(30, 250, size=2)
            corner = rng.uniform(0, 300, size=2)
            points = corner + rng.uniform(0, 1, size=(17, 2)) * [width, height]
            flags = rng.choice([0, 2], size=(17, 1), p=[0.2, 0.8])
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": 1,
                    "keypoints": np.concatenate([points * (flags > 0), flags], 1).ravel().tolist(),
                    "num_keypoints": int(np.count_nonzero(flags)),
                    "bbox": [*corner.tolist(), float(width), float(height)],
                    "area": float(width * height * 0.6),
                    "iscrowd": 0,
                }
            )
            noisy = points + rng.normal(scale=rng.uniform(1, 12), size=points.shape)
            results.append(
                {
                    "image_id": image_id,
                    "category_id": 1,
                    "keypoints": np.concatenate([noisy, rng.uniform(size=(17, 1))], 1).ravel().tolist(),
                    "score": float(rng.uniform()),
                }
            )
        for _ in range(int(rng.integers(0, 3))):
            noise = rng.uniform(0, 480, size=(17, 2))
            results.append(
                {
                    "image_id": image_id,
                    "category_id": 1,
                    "keypoints": np.concatenate([noise, np.ones((17, 1))], 1).ravel().tolist(),
                    "score": float(rng.uniform(0, 0.5)),
                }
            )
    categories = [{"id": 1, "name": "person", "supercategory": "person"}]
    return {"images": images, "annotations": annotations, "categories": categories}, results


def direct_cocoeval(gt_path: Path, pred_path: Path) -> COCOeval:
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(str(gt_path))
        evaluator = COCOeval(coco_gt, coco_gt.loadRes(str(pred_path)), "keypoints")
        evaluator.params.kpt_oks_sigmas = SIGMAS
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator


def main() -> None:
    ground_truth, results = synthetic_coco(1000)
    with tempfile.TemporaryDirectory() as folder:
        gt_path, pred_path = Path(folder, "gt.json"), Path(folder, "pred.json")
        gt_path.write_text(json.dumps(ground_truth))
        pred_path.write_text(json.dumps(results))
        print(
            f"COCO-17 synthetic: {len(ground_truth['images'])} images, {len(ground_truth['annotations'])} people, "
            f"{len(results)} results"
        )
        reference_time = median_seconds(lambda: direct_cocoeval(gt_path, pred_path), repeats=3)
        ours_time = median_seconds(lambda: coco_keypoint_eval(gt_path, pred_path), repeats=3)
        reference = direct_cocoeval(gt_path, pred_path)
        ours = coco_keypoint_eval(gt_path, pred_path)
        difference = max(abs(a - b) for a, b in zip(ours.values(), reference.stats, strict=True))
        print(f"  pycocotools COCOeval direct      {reference_time * 1e3:9.1f} ms")
        print(
            f"  posekit coco_keypoint_eval       {ours_time * 1e3:9.1f} ms  "
            f"(x{ours_time / reference_time:.2f}; max |difference| {difference:.1e}, AP {ours['AP']:.4f})"
        )

        # OKS for every (image, category) with detections and ground truth, as COCOeval needs them.
        keys = [key for key, value in reference.ious.items() if len(value)]

        def loop_oks() -> None:
            for image_id, category_id in keys:
                reference.computeOks(image_id, category_id)

        batches = []
        for image_id, category_id in keys:
            detections = reference._dts[image_id, category_id]
            order = np.argsort([-d["score"] for d in detections], kind="mergesort")[:20]
            targets = reference._gts[image_id, category_id]
            batches.append(
                (
                    np.array([detections[i]["keypoints"] for i in order]).reshape(len(order), 17, 3),
                    np.array([g["keypoints"] for g in targets]).reshape(len(targets), 17, 3),
                    np.array([g["area"] for g in targets]),
                    np.array([g["bbox"] for g in targets]),
                )
            )

        def batched_oks() -> None:
            for predicted, target, areas, boxes in batches:
                oks(predicted, target, areas, SIGMAS, target_boxes_xywh=boxes)

        loop_time, batched_time = median_seconds(loop_oks), median_seconds(batched_oks)
        print(f"  OKS, COCOeval.computeOks loop    {loop_time * 1e3:9.1f} ms for {len(keys)} images")
        print(
            f"  OKS, posekit oks (batched)       {batched_time * 1e3:9.1f} ms  (x{loop_time / batched_time:.1f} faster)"
        )

    rng = np.random.default_rng(0)
    target = rng.normal(scale=0.3, size=(10_000, 17, 3))
    predicted = target + rng.normal(scale=0.03, size=target.shape)
    numpy_time = median_seconds(lambda: p_mpjpe(predicted, target))
    predicted_tensor, target_tensor = torch.from_numpy(predicted), torch.from_numpy(target)
    torch_time = median_seconds(lambda: p_mpjpe(predicted_tensor, target_tensor))
    mpjpe_time = median_seconds(lambda: mpjpe(predicted, target))
    print(f"P-MPJPE, 10 000 x 17 joints (torch threads: {torch.get_num_threads()})")
    print(f"  numpy float64                    {numpy_time * 1e3:9.1f} ms   (MPJPE alone {mpjpe_time * 1e3:.1f} ms)")
    print(f"  torch float64 (CPU)              {torch_time * 1e3:9.1f} ms")


if __name__ == "__main__":
    main()
