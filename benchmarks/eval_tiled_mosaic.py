"""Recall of small people: COCO keypoint AP of the BlazePose pipeline on mosaics of the annotated samples.

The annotated images of ../shared/data (OCHuman 3, PoseTrack18 3, CrowdPose 2: 8 images, 24 people)
are shrunk into the cells of ``G x G`` mosaics (cells of 640 x 480, aspect kept, grey border), so the
same real people appear at 1/G of their size in a frame G times larger, as in a wide shot. Mosaic
``k`` holds images ``k, k+1, ..., k+G*G-1`` (mod 8), so every image appears in several positions.
``G = 1`` is the 8 images at their own size.

Ground truth is put in COCO-17 slots: OCHuman as is; PoseTrack18 with slots 1-4 (head_bottom,
head_top, ears) unlabelled; CrowdPose's 12 limb joints by name into slots 5-16 (head_top and neck
dropped). OKS uses COCO sigmas and the ``0.53 * w * h`` box scale (``use_area=False``), as for
PoseTrack in ``eval_shared_data.py``.

Every policy of :class:`posekit.inference.tiling.TiledPersonDetector` runs in this one process on
the same images (the machine's load is shared alike); the table gives AP, AR, detector runs per
image and milliseconds per image (detector; detector + landmark model).

Run: ``.venv/bin/python benchmarks/eval_tiled_mosaic.py [--grids 1 2 3] [--tiles off auto]``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSEKIT_SHARED_DATA", REPO.parent / "shared" / "data"))
CELL_SIZE = (640, 480)  # (w, h)
BACKGROUND = 114


def annotated_images() -> list[tuple[np.ndarray, list[dict[str, Any]]]]:
    """The 8 annotated images, ``(H, W, 3)`` uint8 RGB, with COCO-17 annotations (bbox, keypoints)."""
    samples: list[tuple[np.ndarray, list[dict[str, Any]]]] = []
    sources = [
        ("ochuman", SHARED / "ochuman" / "test_ochuman.json", SHARED / "ochuman"),
        ("posetrack18", SHARED / "posetrack18" / "annotations" / "test_posetrack18_val.json", SHARED / "posetrack18"),
        ("crowdpose", SHARED / "crowdpose" / "test_crowdpose.json", SHARED / "crowdpose"),
    ]
    for name, gt_path, root in sources:
        gt = json.loads(gt_path.read_text())
        for image in gt["images"]:
            pixels = cv2.imread(str(root / image["file_name"]), cv2.IMREAD_COLOR)
            if pixels is None:
                raise OSError(f"cannot read {root / image['file_name']}")
            annotations = []
            for annotation in gt["annotations"]:
                if annotation["image_id"] != image["id"] or annotation.get("iscrowd", 0):
                    continue
                values = np.asarray(annotation["keypoints"], np.float64).reshape(-1, 3)  # (3K,) -> (K, 3)
                coco = np.zeros((17, 3), np.float64)
                if name == "crowdpose":
                    coco[5:17] = values[:12]  # shoulders .. ankles, same order as COCO 5..16
                else:
                    coco[:] = values
                    if name == "posetrack18":
                        coco[1:5] = 0.0  # head_bottom, head_top, no ears
                coco[coco[:, 2] <= 0] = 0.0
                if (coco[:, 2] > 0).sum() == 0:
                    continue
                annotations.append({"bbox": list(annotation["bbox"]), "keypoints": coco})
            samples.append((np.ascontiguousarray(pixels[:, :, ::-1]), annotations))
    return samples


def mosaic(
    samples: list[tuple[np.ndarray, list[dict[str, Any]]]], grid: int, first: int
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """A ``grid x grid`` mosaic of samples ``first, first+1, ...`` (mod count) with moved annotations."""
    cell_width, cell_height = CELL_SIZE
    if grid == 1:
        image, annotations = samples[first]
        return image, [dict(item) for item in annotations]
    canvas = np.full((grid * cell_height, grid * cell_width, 3), BACKGROUND, np.uint8)
    moved: list[dict[str, Any]] = []
    for cell in range(grid * grid):
        image, annotations = samples[(first + cell) % len(samples)]
        height, width = image.shape[:2]
        scale = min(cell_width / width, cell_height / height)
        new_width, new_height = round(width * scale), round(height * scale)
        left = (cell % grid) * cell_width + (cell_width - new_width) // 2
        top = (cell // grid) * cell_height + (cell_height - new_height) // 2
        canvas[top : top + new_height, left : left + new_width] = cv2.resize(
            image, (new_width, new_height), interpolation=cv2.INTER_AREA
        )
        for annotation in annotations:
            keypoints = annotation["keypoints"].copy()
            labelled = keypoints[:, 2] > 0
            keypoints[labelled, 0] = keypoints[labelled, 0] * scale + left
            keypoints[labelled, 1] = keypoints[labelled, 1] * scale + top
            x, y, w, h = annotation["bbox"]
            moved.append({"bbox": [x * scale + left, y * scale + top, w * scale, h * scale], "keypoints": keypoints})
    return canvas, moved


def coco_ground_truth(images: list[tuple[np.ndarray, list[dict[str, Any]]]]) -> dict[str, Any]:
    """COCO-format ground truth for the mosaics (image ids 1..N)."""
    gt_images: list[dict[str, Any]] = []
    gt_annotations: list[dict[str, Any]] = []
    for image_id, (image, image_annotations) in enumerate(images, start=1):
        gt_images.append(
            {"id": image_id, "width": image.shape[1], "height": image.shape[0], "file_name": f"{image_id}"}
        )
        for annotation in image_annotations:
            keypoints = annotation["keypoints"]
            gt_annotations.append(
                {
                    "id": len(gt_annotations) + 1,
                    "image_id": image_id,
                    "category_id": 1,
                    "bbox": annotation["bbox"],
                    "area": annotation["bbox"][2] * annotation["bbox"][3],
                    "keypoints": keypoints.reshape(-1).tolist(),  # (17, 3) -> (51,)
                    "num_keypoints": int((keypoints[:, 2] > 0).sum()),
                    "iscrowd": 0,
                }
            )
    return {"images": gt_images, "annotations": gt_annotations, "categories": [{"id": 1, "name": "person"}]}


def run_policy(
    pipeline: Any, policy: str, options: dict[str, Any], images: list[tuple[np.ndarray, list[dict[str, Any]]]]
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Results and per-image cost of the pipeline with its detector tiled by ``policy``."""
    from posekit.inference.tiling import TiledPersonDetector

    base = pipeline.detector
    tiled = TiledPersonDetector(base, tiles=int(policy) if policy.isdigit() else policy, **options)
    results: list[dict[str, Any]] = []
    runs, detector_seconds, estimator_seconds = 0, 0.0, 0.0
    for image_id, (image, _) in enumerate(images, start=1):
        start = time.perf_counter()
        detections = tiled.detect(image)
        middle = time.perf_counter()
        instances = pipeline(image, detections=detections)
        estimator_seconds += time.perf_counter() - middle
        detector_seconds += middle - start
        runs += tiled.last_num_runs
        results += instances.convert("coco").to_coco_results(image_id)
    count = max(len(images), 1)
    cost = {
        "runs/img": runs / count,
        "det ms/img": 1000.0 * detector_seconds / count,
        "total ms/img": 1000.0 * (detector_seconds + estimator_seconds) / count,
    }
    return results, cost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", type=int, nargs="+", default=[1, 2, 3], help="mosaic sizes G (G x G cells)")
    parser.add_argument("--tiles", nargs="+", default=["off", "auto"], help="policies: off, auto, or an integer N")
    parser.add_argument(
        "--options", default="{}", help='JSON keyword arguments for TiledPersonDetector, e.g. {"overlap": 0.5}'
    )
    parser.add_argument("--threads", type=int, default=None, help="TFLite threads")
    args = parser.parse_args()
    from posekit.inference.topdown import build_blazepose_pipeline
    from posekit.metrics.coco import coco_keypoint_eval

    options = json.loads(args.options)
    pipeline = build_blazepose_pipeline(num_threads=args.threads)
    samples = annotated_images()
    for grid in args.grids:
        count = len(samples)
        images = [mosaic(samples, grid, first) for first in range(count)]
        gt = coco_ground_truth(images)
        size = images[0][0].shape[1], images[0][0].shape[0]
        people = len(gt["annotations"])
        for policy in args.tiles:
            results, cost = run_policy(pipeline, policy, options, images)
            metrics = coco_keypoint_eval(gt, results, skeleton="coco", use_area=False)
            shown = {key: round(metrics[key], 3) for key in ("AP", "AP50", "AR")}
            shown.update({key: round(value, 1) for key, value in cost.items()})
            label = f"grid {grid} ({size[0]}x{size[1]}{'+' if grid == 1 else ''}, {people} people) tiles {policy}"
            print(f"{label:50s} predicted={len(results):3d} {json.dumps(shown)}")


if __name__ == "__main__":
    main()
