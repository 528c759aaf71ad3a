"""COCO keypoint AP of ``posekit predict`` (BlazePose, shipped weights) on the annotated samples in ../shared/data.

For every dataset, ``posekit predict`` runs on the annotated images (``--images-json`` gives the
results the ground-truth image ids) and ``posekit.metrics.coco_keypoint_eval`` scores them:

* **OCHuman** (``ochuman/test_ochuman.json``, 3 images, 5 people, heavy occlusion): COCO-17
  results, COCO sigmas, COCO ``area``.
* **PoseTrack18** (``posetrack18/annotations/test_posetrack18_val.json``, 3 frames, 14 people):
  PoseTrack uses the COCO-17 layout but slots 1 and 2 hold ``head_bottom`` and ``head_top``
  instead of the eyes, and the ears (3, 4) are never annotated. Those four slots are set to
  "not labelled" (v = 0) in the ground truth, so OKS is computed over the 13 joints both formats
  share (nose, shoulders, elbows, wrists, hips, knees, ankles) with their COCO sigmas. PoseTrack
  has no segmentation areas; the object scale is ``0.53 * w * h`` of the box. The row
  "posetrack18 (ignore regions)" drops predicted people with most keypoints inside the frames'
  ignore regions (unannotated crowds), as PoseTrack's own evaluation removes points there.
* **CrowdPose** (``crowdpose/test_crowdpose.json``, 2 images, 5 people): CrowdPose-14 results
  converted by joint name (BlazePose-33 -> CrowdPose-14: ``neck`` = shoulder midpoint, ``head_top``
  extrapolated from eyes and shoulders, see ``posekit.skeletons.DERIVATIONS``), CrowdPose sigmas,
  object scale ``0.53 * w * h`` as crowdpose-api, ``keypoints_crowd`` (adds APeasy/medium/hard).

With ``--detections`` the CrowdPose and PoseTrack runs also report AP with the datasets' own
person boxes (``test_crowdpose_det_AP_40.json``, ``test_posetrack18_human_detections.json``)
through ``--detections``.

With ``--tiles POLICY [POLICY ...]`` (``off``, ``auto``, or an integer N) every dataset runs once per
policy with the detector wrapped in ``posekit.inference.tiling.TiledPersonDetector`` (``off`` is
the plain detector), the 20 COCO val2014 images (no ground truth) are added (people found), and the
table also gives detector runs per image and milliseconds per image (detector, and detector +
landmark model), all measured in this one process so that the policies share the machine's load.

Run: ``.venv/bin/python benchmarks/eval_shared_data.py [--detections] [--tiles off auto]``. With 3-5
people per dataset these numbers check that the pipeline works end to end on real data; they are
not comparable with published full-set results.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shlex
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSEKIT_SHARED_DATA", REPO.parent / "shared" / "data"))


def posetrack_ground_truth(path: Path) -> dict[str, Any]:
    """PoseTrack18 GT with the slots COCO does not share (head_bottom, head_top, ears) unlabelled."""
    data = json.loads(path.read_text())
    for annotation in data["annotations"]:
        values = list(annotation["keypoints"])
        for slot in (1, 2, 3, 4):
            values[3 * slot : 3 * slot + 3] = [0, 0, 0]
        annotation["keypoints"] = values
        annotation["num_keypoints"] = sum(1 for v in values[2::3] if v > 0)
        annotation["iscrowd"] = int(bool(annotation.get("iscrowd", 0)))
    return data


def drop_in_ignore_regions(gt: dict[str, Any], results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Results without the people PoseTrack asks to ignore: most of their keypoints in an ignore region.

    PoseTrack18 marks unannotated people (crowds, audience) with ``ignore_regions_x/y`` polygons and
    its evaluation (poseval) removes predicted points inside them; here a predicted person is removed
    when more than half of its keypoints fall inside one (COCO-format results cannot drop single points).
    """
    import cv2

    masks: dict[Any, np.ndarray] = {}
    for image in gt["images"]:
        mask = np.zeros((image["height"], image["width"]), np.uint8)
        for xs, ys in zip(image.get("ignore_regions_x", []), image.get("ignore_regions_y", []), strict=True):
            if len(xs) >= 3:
                polygon = np.round(np.stack([xs, ys], axis=1)).astype(np.int32)  # (P, 2)
                cv2.fillPoly(mask, [polygon], 1)
        masks[image["id"]] = mask
    kept = []
    for result in results:
        mask = masks[result["image_id"]]
        points = np.asarray(result["keypoints"], np.float64).reshape(-1, 3)[:, :2]  # (K*3,) -> (K, 3) -> (K, 2)
        columns = np.clip(np.round(points[:, 0]).astype(int), 0, mask.shape[1] - 1)
        rows = np.clip(np.round(points[:, 1]).astype(int), 0, mask.shape[0] - 1)
        if mask[rows, columns].mean() <= 0.5:
            kept.append(result)
    return kept


# Extra ``posekit predict`` options for every run (``--predict-args``).
PREDICT_ARGS: list[str] = []


def run_predict(inputs: list[Path], out: Path, skeleton: str, gt_path: Path, extra: list[str]) -> list[dict[str, Any]]:
    from posekit.cli import predict

    argv = [str(path) for path in inputs] + ["--out", str(out), "--no-vis", "--skeleton", skeleton]
    argv += ["--images-json", str(gt_path), *PREDICT_ARGS, *extra]
    with contextlib.redirect_stdout(io.StringIO()):
        status = predict.main(argv)
    if status != 0:
        raise RuntimeError(f"posekit predict failed on {inputs}")
    return json.loads((out / "predictions.json").read_text())


class TimingStats:
    """Detector runs and time spent in the detector and the pose estimator, summed over images."""

    def __init__(self) -> None:
        self.images = 0
        self.detector_runs = 0
        self.detector_seconds = 0.0
        self.estimator_seconds = 0.0
        self.people_detected = 0
        self.timing_estimate = False

    def per_image(self) -> dict[str, float]:
        count = max(self.images, 1)
        return {
            "runs/img": self.detector_runs / count,
            "det ms/img": 1000.0 * self.detector_seconds / count,
            "total ms/img": 1000.0 * (self.detector_seconds + self.estimator_seconds) / count,
        }


class _TimedDetector:
    def __init__(self, detector: Any, stats: TimingStats) -> None:
        self.detector = detector
        self.stats = stats

    def detect(self, image: np.ndarray) -> Any:
        start = time.perf_counter()
        found = self.detector.detect(image)
        if min(image.shape[:2]) < 32:  # posekit predict's warm-up call on an 8 x 8 image
            return found
        self.stats.detector_seconds += time.perf_counter() - start
        self.stats.timing_estimate = True
        self.stats.images += 1
        self.stats.detector_runs += int(getattr(self.detector, "last_num_runs", 1))
        self.stats.people_detected += len(found)
        return found


class _TimedEstimator:
    def __init__(self, estimator: Any, stats: TimingStats) -> None:
        self.estimator = estimator
        self.stats = stats

    def estimate(self, image: np.ndarray, detections: Any) -> Any:
        start = time.perf_counter()
        instances = self.estimator.estimate(image, detections)
        if self.stats.timing_estimate:  # only images the detector ran on (not --detections boxes)
            self.stats.estimator_seconds += time.perf_counter() - start
            self.stats.timing_estimate = False
        return instances


@contextlib.contextmanager
def tiled_pipelines(policy: str | None, stats: TimingStats, options: dict[str, Any]) -> Iterator[None]:
    """Make ``posekit predict`` build its BlazePose pipeline with the detector tiled by ``policy`` and timed.

    ``policy`` None leaves the pipeline untouched; ``"off"``, ``"auto"`` or an integer string wraps
    the detector in ``TiledPersonDetector(tiles=policy, **options)``.
    """
    if policy is None:
        yield
        return
    from posekit.inference import estimator as pipeline_module  # where predict builds its pipeline
    from posekit.inference.tiling import TiledPersonDetector

    original = pipeline_module.build_blazepose_pipeline

    def build(*args: Any, **kwargs: Any) -> Any:
        built = original(*args, **{**kwargs, "tiles": "off"})  # tiled here, with the sweep's options
        tiles: str | int = int(policy) if policy.isdigit() else policy
        built.detector = _TimedDetector(TiledPersonDetector(built.detector, tiles=tiles, **options), stats)
        built.estimator = _TimedEstimator(built.estimator, stats)
        return built

    pipeline_module.build_blazepose_pipeline = build  # type: ignore[assignment]
    try:
        yield
    finally:
        pipeline_module.build_blazepose_pipeline = original  # type: ignore[assignment]


def count_coco_people(work: Path) -> int:
    """People ``posekit predict`` reports on the 20 COCO val2014 sample images (no ground truth)."""
    from posekit.cli import predict

    folder = SHARED / "coco_val2014_images"
    argv = [str(folder), "--out", str(work), "--no-vis"]
    with contextlib.redirect_stdout(io.StringIO()):
        status = predict.main(argv)
    if status != 0:
        raise RuntimeError(f"posekit predict failed on {folder}")
    return len(json.loads((work / "predictions.json").read_text()))


def evaluate(args: argparse.Namespace, tag: str = "") -> dict[str, Any]:
    from posekit.metrics.coco import coco_keypoint_eval

    report: dict[str, Any] = {}
    work = Path(tempfile.mkdtemp(prefix="posekit_eval_"))

    # OCHuman
    gt_path = SHARED / "ochuman" / "test_ochuman.json"
    gt = json.loads(gt_path.read_text())
    images = [SHARED / "ochuman" / image["file_name"] for image in gt["images"]]
    results = run_predict(images, work / "ochuman", "coco", gt_path, [])
    report["ochuman" + tag] = coco_keypoint_eval(gt, results, skeleton="coco")

    # PoseTrack18
    gt_path = SHARED / "posetrack18" / "annotations" / "test_posetrack18_val.json"
    gt = posetrack_ground_truth(gt_path)
    images = [SHARED / "posetrack18" / image["file_name"] for image in gt["images"]]
    results = run_predict(images, work / "posetrack18", "coco", gt_path, [])
    report["posetrack18" + tag] = coco_keypoint_eval(gt, results, skeleton="coco", use_area=False)
    report["posetrack18 (ignore regions)" + tag] = coco_keypoint_eval(
        gt, drop_in_ignore_regions(gt, results), skeleton="coco", use_area=False
    )
    if args.detections:
        boxes = SHARED / "posetrack18" / "annotations" / "test_posetrack18_human_detections.json"
        results = run_predict(images, work / "posetrack18_boxes", "coco", gt_path, ["--detections", str(boxes)])
        report["posetrack18 (given boxes)" + tag] = coco_keypoint_eval(gt, results, skeleton="coco", use_area=False)

    # CrowdPose
    gt_path = SHARED / "crowdpose" / "test_crowdpose.json"
    gt = json.loads(gt_path.read_text())
    images = [SHARED / "crowdpose" / image["file_name"] for image in gt["images"]]
    results = run_predict(images, work / "crowdpose", "crowdpose", gt_path, [])
    report["crowdpose" + tag] = coco_keypoint_eval(
        gt, results, skeleton="crowdpose", use_area=False, iou_type="keypoints_crowd"
    )
    if args.detections:
        boxes = SHARED / "crowdpose" / "test_crowdpose_det_AP_40.json"
        results = run_predict(images, work / "crowdpose_boxes", "crowdpose", gt_path, ["--detections", str(boxes)])
        report["crowdpose (given boxes)" + tag] = coco_keypoint_eval(
            gt, results, skeleton="crowdpose", use_area=False, iou_type="keypoints_crowd"
        )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detections", action="store_true", help="also evaluate with the datasets' person boxes")
    parser.add_argument(
        "--predict-args",
        default="",
        help="extra posekit predict options for every run, e.g. '--detector-min-score 0.3'",
    )
    parser.add_argument(
        "--tiles",
        nargs="+",
        default=None,
        metavar="POLICY",
        help="compare tiled detection policies: off, auto, or an integer N (tiles of long side / N)",
    )
    parser.add_argument("--overlap", type=float, default=None, help="tile overlap (fraction of a tile)")
    parser.add_argument("--min-tile-side", type=int, default=None, help="auto policy: smallest tile side (px)")
    parser.add_argument("--max-levels", type=int, default=None, help="auto policy: most tile levels")
    parser.add_argument("--min-inside", type=float, default=None, help="body fraction inside a tile to keep it")
    parser.add_argument("--containment", type=float, default=None, help="merge face boxes contained this much")
    parser.add_argument("--iou-only", action="store_true", help="merge duplicates by face-box IoU only")
    parser.add_argument("--zoom-step", type=float, default=None, help="auto policy: tile side ratio of levels")
    parser.add_argument("--best", action="store_true", help="merge duplicates by keeping the best, not averaging")
    args = parser.parse_args()
    PREDICT_ARGS.extend(shlex.split(args.predict_args))
    options: dict[str, Any] = {
        name: value
        for name, value in (
            ("overlap", args.overlap),
            ("min_tile_side", args.min_tile_side),
            ("max_levels", args.max_levels),
            ("min_inside", args.min_inside),
            ("containment", args.containment),
            ("zoom_step", args.zoom_step),
        )
        if value is not None
    }
    if args.iou_only:
        options["containment"] = None
    if args.best:
        options["weighted"] = False
    keys = ("AP", "AP50", "AP75", "AR")
    if not args.tiles:
        report = evaluate(args)
        for name, metrics in report.items():
            shown = {key: round(value, 3) for key, value in metrics.items() if key in keys}
            print(f"{name:28s} {json.dumps(shown)}")
        return
    for policy in args.tiles:
        stats = TimingStats()
        with tiled_pipelines(policy, stats, options):
            report = evaluate(args, tag=f" [tiles {policy}]")
        coco_stats = TimingStats()
        with tiled_pipelines(policy, coco_stats, options):
            people = count_coco_people(Path(tempfile.mkdtemp(prefix="posekit_coco_")))
        for name, metrics in report.items():
            shown = {key: round(value, 3) for key, value in metrics.items() if key in keys}
            print(f"{name:40s} {json.dumps(shown)}")
        timing = {key: round(value, 1) for key, value in stats.per_image().items()}
        print(f"{'annotated sets [tiles ' + policy + ']':40s} {json.dumps(timing)} over {stats.images} images")
        timing = {key: round(value, 1) for key, value in coco_stats.per_image().items()}
        print(
            f"{'coco val2014 x20 [tiles ' + policy + ']':40s} people={people} detections={coco_stats.people_detected} "
            f"{json.dumps(timing)}"
        )


if __name__ == "__main__":
    main()
