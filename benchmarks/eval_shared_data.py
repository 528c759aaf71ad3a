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
  has no segmentation areas; the object scale is ``0.53 * w * h`` of the box.
* **CrowdPose** (``crowdpose/test_crowdpose.json``, 2 images, 5 people): CrowdPose-14 results
  converted by joint name (BlazePose-33 -> CrowdPose-14: ``neck`` = shoulder midpoint, ``head_top``
  extrapolated from eyes and shoulders, see ``posekit.skeletons.DERIVATIONS``), CrowdPose sigmas,
  object scale ``0.53 * w * h`` as crowdpose-api, ``keypoints_crowd`` (adds APeasy/medium/hard).

With ``--detections`` the CrowdPose and PoseTrack runs also report AP with the datasets' own
person boxes (``test_crowdpose_det_AP_40.json``, ``test_posetrack18_human_detections.json``)
through ``--detections``.

Run: ``.venv/bin/python benchmarks/eval_shared_data.py [--detections]``. With 3-5 people per
dataset these numbers check that the pipeline works end to end on real data; they are not
comparable with published full-set results.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

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


def run_predict(inputs: list[Path], out: Path, skeleton: str, gt_path: Path, extra: list[str]) -> list[dict[str, Any]]:
    from posekit.cli import predict

    argv = [str(path) for path in inputs] + ["--out", str(out), "--no-vis", "--skeleton", skeleton]
    argv += ["--images-json", str(gt_path), *extra]
    with contextlib.redirect_stdout(io.StringIO()):
        status = predict.main(argv)
    if status != 0:
        raise RuntimeError(f"posekit predict failed on {inputs}")
    return json.loads((out / "predictions.json").read_text())


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    from posekit.metrics.coco import coco_keypoint_eval

    report: dict[str, Any] = {}
    work = Path(tempfile.mkdtemp(prefix="posekit_eval_"))

    # OCHuman
    gt_path = SHARED / "ochuman" / "test_ochuman.json"
    gt = json.loads(gt_path.read_text())
    images = [SHARED / "ochuman" / image["file_name"] for image in gt["images"]]
    results = run_predict(images, work / "ochuman", "coco", gt_path, [])
    report["ochuman"] = coco_keypoint_eval(gt, results, skeleton="coco")

    # PoseTrack18
    gt_path = SHARED / "posetrack18" / "annotations" / "test_posetrack18_val.json"
    gt = posetrack_ground_truth(gt_path)
    images = [SHARED / "posetrack18" / image["file_name"] for image in gt["images"]]
    results = run_predict(images, work / "posetrack18", "coco", gt_path, [])
    report["posetrack18"] = coco_keypoint_eval(gt, results, skeleton="coco", use_area=False)
    if args.detections:
        boxes = SHARED / "posetrack18" / "annotations" / "test_posetrack18_human_detections.json"
        results = run_predict(images, work / "posetrack18_boxes", "coco", gt_path, ["--detections", str(boxes)])
        report["posetrack18 (given boxes)"] = coco_keypoint_eval(gt, results, skeleton="coco", use_area=False)

    # CrowdPose
    gt_path = SHARED / "crowdpose" / "test_crowdpose.json"
    gt = json.loads(gt_path.read_text())
    images = [SHARED / "crowdpose" / image["file_name"] for image in gt["images"]]
    results = run_predict(images, work / "crowdpose", "crowdpose", gt_path, [])
    report["crowdpose"] = coco_keypoint_eval(
        gt, results, skeleton="crowdpose", use_area=False, iou_type="keypoints_crowd"
    )
    if args.detections:
        boxes = SHARED / "crowdpose" / "test_crowdpose_det_AP_40.json"
        results = run_predict(images, work / "crowdpose_boxes", "crowdpose", gt_path, ["--detections", str(boxes)])
        report["crowdpose (given boxes)"] = coco_keypoint_eval(
            gt, results, skeleton="crowdpose", use_area=False, iou_type="keypoints_crowd"
        )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detections", action="store_true", help="also evaluate with the datasets' person boxes")
    args = parser.parse_args()
    report = evaluate(args)
    for name, metrics in report.items():
        shown = {key: round(value, 3) for key, value in metrics.items() if key in ("AP", "AP50", "AP75", "AR")}
        print(f"{name:28s} {json.dumps(shown)}")


if __name__ == "__main__":
    main()
