"""Results CSV: header, one row per entry with the entries' values, 3D columns, atomic and clear failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from posekit.io.csv_results import RESULTS_CSV_COLUMNS, read_results_csv, results_csv_header, write_results_csv
from posekit.skeletons import get_skeleton
from posekit.structures import PoseInstances

RNG = np.random.default_rng(7)


def _entries(lifted: bool) -> list[dict[str, Any]]:
    """Entries as predict writes them: an image with two people, then a video frame with one (and 3D)."""
    people = PoseInstances(
        keypoints=RNG.uniform(0, 640, size=(3, 17, 2)),
        scores=RNG.uniform(0, 1, size=(3, 17)),
        skeleton="coco",
        boxes=np.array([[1, 2, 30, 40], [5.5, 6.25, 70, 80], [0, 0, 10, 10]], np.float32),
        instance_scores=RNG.uniform(0, 1, size=3),
    )
    entries = people[:2].to_coco_results(1, extra={"file_name": "a,b.jpg"})  # a comma in the name: quoted
    frame = people[2:].to_coco_results(2, extra={"file_name": "clip.mp4", "frame": 4, "timestamp": 0.133333})
    frame[0]["track_id"] = 7
    if lifted:
        frame[0]["keypoints_3d"] = [round(float(v), 4) for v in RNG.normal(size=51)]
        frame[0]["trajectory"] = [0.1, -0.2, 3.5]
    return entries + frame


def test_header_names_every_keypoint_in_skeleton_order() -> None:
    header = results_csv_header("coco")
    assert tuple(header[:10]) == RESULTS_CSV_COLUMNS
    assert header[10:13] == ["nose_x", "nose_y", "nose_score"] and len(header) == 10 + 17 * 3
    names = get_skeleton("h36m").keypoint_names
    lifted = results_csv_header("crowdpose", "h36m")
    assert len(lifted) == 10 + 14 * 3 + 17 * 3 + 3
    assert lifted[10 + 14 * 3 : 10 + 14 * 3 + 3] == [f"{names[0]}_x3d", f"{names[0]}_y3d", f"{names[0]}_z3d"]
    assert lifted[-3:] == ["trajectory_x", "trajectory_y", "trajectory_z"]


@pytest.mark.parametrize("lifted", [False, True])
def test_rows_hold_the_values_of_the_json_entries(tmp_path: Path, lifted: bool) -> None:
    entries = json.loads(json.dumps(_entries(lifted)))  # what predictions.json holds
    path = write_results_csv(tmp_path / "out" / "predictions.csv", entries, "coco", "h36m" if lifted else None)
    header, rows = read_results_csv(path)
    assert header == results_csv_header("coco", "h36m" if lifted else None)
    assert len(rows) == len(entries)  # one row per person and image/frame
    for entry, row in zip(entries, rows, strict=True):
        assert row["file_name"] == entry["file_name"] and int(row["image_id"]) == entry["image_id"]
        assert float(row["score"]) == entry["score"]
        assert [float(row[f"bbox_{part}"]) for part in "xywh"] == entry["bbox"]
        values = [float(row[name]) for name in header[10 : 10 + 17 * 3]]
        assert values == entry["keypoints"]  # exactly: shortest round-trip text of each float
        if "frame" in entry:
            assert int(row["frame"]) == entry["frame"] and float(row["timestamp"]) == entry["timestamp"]
            assert int(row["track_id"]) == entry["track_id"]
        else:
            assert row["frame"] == row["timestamp"] == row["track_id"] == ""
        if lifted:
            columns_3d = header[10 + 17 * 3 :]
            if "keypoints_3d" in entry:
                assert [float(row[name]) for name in columns_3d] == entry["keypoints_3d"] + entry["trajectory"]
            else:
                assert all(row[name] == "" for name in columns_3d)  # no 3D for this person: empty cells


def test_bad_entries_and_unwritable_paths_leave_no_file(tmp_path: Path) -> None:
    entries = _entries(False)
    with pytest.raises(ValueError, match=r"results entry 0: 'keypoints' must hold 42 values"):
        write_results_csv(tmp_path / "bad.csv", entries, "crowdpose")
    assert not (tmp_path / "bad.csv").exists()
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError):
        write_results_csv(blocker / "predictions.csv", entries, "coco")
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(OSError):
        write_results_csv(tmp_path / "folder.csv", entries, "coco")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["file", "folder.csv"]  # no temporary files
    assert not list((tmp_path / "folder.csv").iterdir())
