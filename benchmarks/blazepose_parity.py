"""Parity and latency of posekit's BlazePose against MediaPipe 0.10.14's pose graph.

posekit runs Google's BlazePose ``.tflite`` files without mediapipe
(``posekit.inference.blazepose.detector`` / ``.landmarks``). This script runs the
reference — mediapipe 0.10.14's legacy ``mp.solutions.pose`` graph (``static_image_mode=True``,
``model_complexity=1``, ``smooth_landmarks=False``) — in a separate Python that has mediapipe
installed, on the real sample images under ``../shared/data``, and compares per image:

* detection: the ROI mediapipe builds from its first detection vs posekit's first detection's ROI;
* landmarks "same crop": posekit's landmark model on mediapipe's own ROI vs mediapipe's landmarks
  (isolates the landmark path: crop, decoding, heatmap refinement, projection);
* landmarks "pipeline": posekit's detector + landmarker (the person whose ROI matches mediapipe's)
  vs mediapipe's landmarks;
* visibility and world landmarks on the same crop.

It also times posekit's detector and landmark calls and mediapipe's whole ``process`` call in the
reference process (2 CPU cores shared with other jobs: read ratios, not absolute numbers).

Usage (from the repository root)::

    .venv/bin/python benchmarks/blazepose_parity.py                      # report
    .venv/bin/python benchmarks/blazepose_parity.py --write-test-reference \\
        tests/inference/blazepose/data/blazepose_mediapipe_reference.json         # regenerate the unit-test reference

The reference JSON for the unit tests holds mediapipe's ROI and landmarks for two images
(``TEST_REFERENCE_IMAGES``); ``tests/inference/blazepose/test_estimator.py`` checks posekit against it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SHARED_DATA = REPOSITORY_ROOT.parent / "shared" / "data"
TEST_REFERENCE_IMAGES = ("coco_val2014_images/COCO_val2014_000000000536.jpg", "mpii/004645041.jpg")


def list_images(shared_data: Path) -> list[Path]:
    """The real sample images used for parity, in a fixed order."""
    images: list[Path] = []
    for folder in ("coco_val2014_images", "ochuman", "crowdpose", "mpii"):
        images.extend(sorted((shared_data / folder).glob("*.jpg")))
    images.extend(sorted((shared_data / "posetrack18" / "images").rglob("*.jpg")))
    return images


# --------------------------------------------------------------------------------------------------
# Reference worker: runs inside the mediapipe Python (no posekit import).
# --------------------------------------------------------------------------------------------------


def run_reference_worker(image_paths: list[str], output_path: str, repeats: int = 1) -> None:
    """Run mediapipe's pose graph on each image and write a JSON list of results (pixels)."""
    import cv2
    import numpy as np
    from mediapipe.python.solution_base import SolutionBase

    # The same graph, side packets and parameters as mp.solutions.pose.Pose(static_image_mode=True,
    # model_complexity=1, smooth_landmarks=False), with the graph's ROI and detection outputs observed too.
    solution = SolutionBase(
        binary_graph_path="mediapipe/modules/pose_landmark/pose_landmark_cpu.binarypb",
        side_inputs={
            "model_complexity": 1,
            "smooth_landmarks": False,
            "enable_segmentation": False,
            "smooth_segmentation": False,
            "use_prev_landmarks": False,
        },
        calculator_params={
            "posedetectioncpu__TensorsToDetectionsCalculator.min_score_thresh": 0.5,
            "poselandmarkbyroicpu__tensorstoposelandmarksandsegmentation__ThresholdingCalculator.threshold": 0.5,
        },
        outputs=["pose_landmarks", "pose_world_landmarks", "pose_detection", "pose_rect_from_detection"],
    )
    results: list[dict[str, Any]] = []
    for path in image_paths:
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        image = np.ascontiguousarray(bgr[:, :, ::-1])
        height, width = image.shape[:2]
        latencies = []
        for _ in range(max(1, repeats)):
            start = time.perf_counter()
            output = solution.process({"image": image})
            latencies.append((time.perf_counter() - start) * 1000.0)
        latency_ms = float(np.median(latencies))
        entry: dict[str, Any] = {"image": path, "width": width, "height": height, "latency_ms": latency_ms}
        rect = output.pose_rect_from_detection
        if rect is not None and rect.width > 0:
            entry["roi"] = {
                "center": [rect.x_center * width, rect.y_center * height],
                "size": [rect.width * width, rect.height * height],
                "rotation": rect.rotation,
            }
        detection = output.pose_detection
        if detection is not None:
            box = detection.location_data.relative_bounding_box
            entry["detection"] = {
                "score": detection.score[0],
                "box": [
                    box.xmin * width,
                    box.ymin * height,
                    (box.xmin + box.width) * width,
                    (box.ymin + box.height) * height,
                ],
                "keypoints": [
                    [point.x * width, point.y * height] for point in detection.location_data.relative_keypoints
                ],
            }
        if output.pose_landmarks is not None:
            entry["landmarks"] = [
                [point.x * width, point.y * height, point.z * width] for point in output.pose_landmarks.landmark
            ]
            entry["visibility"] = [point.visibility for point in output.pose_landmarks.landmark]
            entry["presence"] = [point.presence for point in output.pose_landmarks.landmark]
            entry["world_landmarks"] = [[point.x, point.y, point.z] for point in output.pose_world_landmarks.landmark]
        results.append(entry)
    solution.close()
    with open(output_path, "w") as handle:
        json.dump(results, handle)


def run_reference(reference_python: str, images: list[Path], repeats: int = 1) -> list[dict[str, Any]]:
    """Run the reference worker in ``reference_python`` and return its results."""
    with tempfile.TemporaryDirectory() as folder:
        list_path = Path(folder) / "images.json"
        output_path = Path(folder) / "reference.json"
        list_path.write_text(json.dumps([str(path) for path in images]))
        command = [reference_python, str(Path(__file__).resolve()), "--worker", str(list_path), str(output_path)]
        command += ["--repeats", str(repeats)]
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            raise RuntimeError(f"reference run failed ({' '.join(command)}):\n{completed.stderr[-3000:]}")
        return list(json.loads(output_path.read_text()))


# --------------------------------------------------------------------------------------------------
# posekit side.
# --------------------------------------------------------------------------------------------------


def compare(reference: list[dict[str, Any]], repeats: int, num_threads: int | None = None) -> dict[str, Any]:
    """Run posekit on the same images and compare; returns per-image rows and summary figures."""
    import cv2
    import numpy as np

    from posekit.inference.blazepose.detector import BlazePoseDetector
    from posekit.inference.blazepose.landmarks import BlazePoseLandmarker, Rois, detections_to_rois

    detector = BlazePoseDetector(num_threads=num_threads)
    landmarker = BlazePoseLandmarker(num_threads=num_threads)
    rows: list[dict[str, Any]] = []
    detector_times: list[float] = []
    landmark_times: list[float] = []
    reference_times: list[float] = []
    single_person_times: list[float] = []
    for entry in reference:
        image = np.ascontiguousarray(cv2.imread(entry["image"], cv2.IMREAD_COLOR)[:, :, ::-1])
        name = str(Path(entry["image"]).relative_to(Path(entry["image"]).parents[1]))
        row: dict[str, Any] = {"image": name, "size": f"{entry['width']}x{entry['height']}"}
        if "landmarks" in entry:  # images where mediapipe ran detector + landmark model once
            reference_times.append(entry["latency_ms"])
        for _ in range(repeats):
            start = time.perf_counter()
            detections = detector.detect(image)
            detector_times.append((time.perf_counter() - start) * 1000.0)
        row["posekit_people"] = len(detections)
        if "roi" not in entry:
            row["mediapipe"] = "no person"
            rows.append(row)
            continue
        reference_roi = entry["roi"]
        reference_center = np.asarray(reference_roi["center"], np.float32)
        if len(detections) > 0:
            rois = detections_to_rois(detections, (entry["width"], entry["height"]))
            distances = np.linalg.norm(rois.center - reference_center, axis=1)
            best = int(np.argmin(distances))
            row["matched_rank"] = best
            row["roi_center_px"] = float(distances[best])
            row["roi_size_px"] = float(abs(rois.size[best, 0] - reference_roi["size"][0]))
            rotation_difference = (rois.rotation[best] - reference_roi["rotation"] + np.pi) % (2 * np.pi) - np.pi
            row["roi_rotation_deg"] = float(abs(np.degrees(rotation_difference)))
        if "landmarks" not in entry:
            row["mediapipe"] = "detection only (pose flag < 0.5)"
            rows.append(row)
            continue
        reference_landmarks = np.asarray(entry["landmarks"], np.float32)
        same_roi = Rois(
            center=reference_center[None],
            size=np.asarray(reference_roi["size"], np.float32)[None],
            rotation=np.asarray([reference_roi["rotation"]], np.float32),
        )
        for _ in range(repeats):
            start = time.perf_counter()
            same_crop = landmarker.estimate(image, same_roi)
            landmark_times.append((time.perf_counter() - start) * 1000.0)
        difference = np.linalg.norm(same_crop.landmarks[0, :, :2] - reference_landmarks[:, :2], axis=1)
        row["same_crop_mean_px"] = float(difference.mean())
        row["same_crop_max_px"] = float(difference.max())
        row["same_crop_z_max_px"] = float(np.abs(same_crop.landmarks[0, :, 2] - reference_landmarks[:, 2]).max())
        row["visibility_max"] = float(np.abs(same_crop.visibility[0] - np.asarray(entry["visibility"])).max())
        row["world_max_mm"] = float(
            1000.0 * np.abs(same_crop.world_landmarks[0] - np.asarray(entry["world_landmarks"])).max()
        )
        if len(detections) > 0:
            first_person = rois.select(np.array([row["matched_rank"]]))
            for _ in range(repeats):  # what mediapipe's process() does: detector + one landmark call
                start = time.perf_counter()
                detector.detect(image)
                pipeline = landmarker.estimate(image, first_person)
                single_person_times.append((time.perf_counter() - start) * 1000.0)
            difference = np.linalg.norm(pipeline.landmarks[0, :, :2] - reference_landmarks[:, :2], axis=1)
            row["pipeline_mean_px"] = float(difference.mean())
            row["pipeline_max_px"] = float(difference.max())
            row["person_height_px"] = float(np.ptp(reference_landmarks[:, 1]))
        rows.append(row)
    summary: dict[str, Any] = {
        "images": len(rows),
        "compared": sum("same_crop_mean_px" in row for row in rows),
        "posekit_detector_ms_median": float(np.median(detector_times)),
        "posekit_landmarks_ms_median": float(np.median(landmark_times)) if landmark_times else None,
        "posekit_single_person_ms_median": float(np.median(single_person_times)) if single_person_times else None,
        "mediapipe_process_ms_median": float(np.median(reference_times)) if reference_times else None,
    }
    for key in ("same_crop_mean_px", "same_crop_max_px", "pipeline_mean_px", "pipeline_max_px", "roi_center_px"):
        values = [row[key] for row in rows if key in row]
        if values:
            summary[f"{key}_mean_over_images"] = float(np.mean(values))
            summary[f"{key}_worst_image"] = float(np.max(values))
    return {"rows": rows, "summary": summary}


def time_rounds(
    reference_python: str, images: list[Path], rounds: int, repeats: int, num_threads: int | None
) -> list[dict[str, float]]:
    """Alternate timing rounds of mediapipe (subprocess) and posekit on the same images.

    The machine is shared, so load drifts; alternating short rounds and comparing within a round gives a
    fairer ratio than one long run of each. Times are medians over images of the median of ``repeats``
    calls; posekit's "single person" is what mediapipe's ``process`` does: one detector call and one
    landmark call.
    """
    import cv2
    import numpy as np

    from posekit.inference.blazepose.detector import BlazePoseDetector
    from posekit.inference.blazepose.landmarks import BlazePoseLandmarker, detections_to_rois

    detector = BlazePoseDetector(num_threads=num_threads)
    landmarker = BlazePoseLandmarker(num_threads=num_threads)
    pictures = [np.ascontiguousarray(cv2.imread(str(path), cv2.IMREAD_COLOR)[:, :, ::-1]) for path in images]
    results = []
    for _ in range(rounds):
        reference = run_reference(reference_python, images, repeats)
        detector_ms, landmark_ms, single_ms = [], [], []
        for image in pictures:
            detector_calls, landmark_calls, single_calls = [], [], []
            for _ in range(repeats):
                start = time.perf_counter()
                detections = detector.detect(image)
                middle = time.perf_counter()
                landmarker.estimate(image, detections_to_rois(detections).select(np.arange(min(1, len(detections)))))
                end = time.perf_counter()
                detector_calls.append((middle - start) * 1000.0)
                landmark_calls.append((end - middle) * 1000.0)
                single_calls.append((end - start) * 1000.0)
            detector_ms.append(float(np.median(detector_calls)))
            landmark_ms.append(float(np.median(landmark_calls)))
            single_ms.append(float(np.median(single_calls)))
        mediapipe_ms = float(np.median([entry["latency_ms"] for entry in reference]))
        posekit_ms = float(np.median(single_ms))
        results.append(
            {
                "posekit_detector_ms": float(np.median(detector_ms)),
                "posekit_landmarks_ms": float(np.median(landmark_ms)),
                "posekit_single_person_ms": posekit_ms,
                "mediapipe_process_ms": mediapipe_ms,
                "posekit_over_mediapipe": posekit_ms / mediapipe_ms,
            }
        )
    return results


def print_report(result: dict[str, Any]) -> None:
    """Print the per-image table and the summary."""
    columns = [
        "image", "size", "posekit_people", "matched_rank", "roi_center_px", "roi_size_px", "roi_rotation_deg",
        "same_crop_mean_px", "same_crop_max_px", "pipeline_mean_px", "pipeline_max_px", "person_height_px",
        "visibility_max", "world_max_mm",
    ]  # fmt: skip
    print(" | ".join(columns))
    for row in result["rows"]:
        cells = []
        for column in columns:
            value = row.get(column, row.get("mediapipe", "-") if column == "same_crop_mean_px" else "-")
            cells.append(f"{value:.3f}" if isinstance(value, float) else str(value))
        print(" | ".join(cells))
    print(json.dumps(result["summary"], indent=2))


def write_test_reference(reference: list[dict[str, Any]], shared_data: Path, output: Path) -> None:
    """Write the small mediapipe reference used by the unit tests (atomically)."""
    from posekit.io.atomic import atomic_write_json

    wanted = {str(shared_data / name): name for name in TEST_REFERENCE_IMAGES}
    entries = []
    for entry in reference:
        if entry["image"] in wanted and "landmarks" in entry:
            entries.append(
                {
                    "image": wanted[entry["image"]],
                    "width": entry["width"],
                    "height": entry["height"],
                    "roi": entry["roi"],
                    "detection": entry["detection"],
                    "landmarks": [[round(value, 3) for value in point] for point in entry["landmarks"]],
                    "visibility": [round(value, 4) for value in entry["visibility"]],
                    "world_landmarks": [[round(value, 5) for value in point] for point in entry["world_landmarks"]],
                }
            )
    document = {
        "source": "mediapipe 0.10.14, legacy pose graph (pose_landmark_cpu.binarypb), static_image_mode=True, "
        "model_complexity=1, smooth_landmarks=False; pixels = normalised values * image size, z * width",
        "generated_by": ".venv/bin/python benchmarks/blazepose_parity.py --write-test-reference " + str(output),
        "images": entries,
    }
    atomic_write_json(output, document)
    print(f"wrote {output} ({len(entries)} images)")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--reference-python",
        default=os.environ.get("POSEKIT_REFERENCE_PYTHON"),
        help="Python with mediapipe==0.10.14 (default: $POSEKIT_REFERENCE_PYTHON)",
    )
    parser.add_argument("--shared-data", type=Path, default=DEFAULT_SHARED_DATA, help="real sample data folder")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per image (posekit and mediapipe)")
    parser.add_argument("--timing-rounds", type=int, default=3, help="alternating mediapipe/posekit timing rounds")
    parser.add_argument("--threads", type=int, default=None, help="TFLite threads for posekit (default: runtime's)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows and summary here")
    parser.add_argument("--write-test-reference", type=Path, default=None, help="write the unit-test reference JSON")
    parser.add_argument("--worker", nargs=2, metavar=("IMAGES_JSON", "OUTPUT_JSON"), help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.worker:
        run_reference_worker(json.loads(Path(arguments.worker[0]).read_text()), arguments.worker[1], arguments.repeats)
        return 0
    if not arguments.reference_python or not Path(arguments.reference_python).is_file():
        parser.error(
            "--reference-python (or $POSEKIT_REFERENCE_PYTHON) must name a Python with mediapipe==0.10.14 "
            f"(python3 -m venv ref && ref/bin/pip install mediapipe==0.10.14), got {arguments.reference_python!r}"
        )
    images = list_images(arguments.shared_data)
    if not images:
        print(f"no images under {arguments.shared_data}", file=sys.stderr)
        return 2
    reference = run_reference(arguments.reference_python, images, arguments.repeats)
    if arguments.write_test_reference is not None:
        write_test_reference(reference, arguments.shared_data, arguments.write_test_reference)
    result = compare(reference, arguments.repeats, arguments.threads)
    print_report(result)
    if arguments.timing_rounds > 0:
        # Timing on the images where mediapipe found a person (detector + one landmark call each).
        timed = [Path(entry["image"]) for entry in reference if "landmarks" in entry]
        result["timing_rounds"] = time_rounds(
            arguments.reference_python, timed, arguments.timing_rounds, arguments.repeats, arguments.threads
        )
        for index, round_result in enumerate(result["timing_rounds"]):
            print(f"timing round {index}: " + ", ".join(f"{key} {value:.2f}" for key, value in round_result.items()))
    if arguments.json is not None:
        from posekit.io.atomic import atomic_write_json

        atomic_write_json(arguments.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
