"""COCO detection results and image listings: the one reader used by data/ and inference/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from posekit.io.coco import load_coco_detections, load_coco_image_ids


def test_crowdpose_detections(shared_data: Path) -> None:
    detections = shared_data / "crowdpose" / "test_crowdpose_det_AP_40.json"
    assert len(load_coco_detections(detections)) == 6
    assert len(load_coco_detections(detections, box_score_threshold=0.99)) == 5


def test_detections_filter_and_explain(tmp_path: Path) -> None:
    entries = [
        {"image_id": 1, "bbox": [0, 0, 10, 20], "score": 0.9},
        {"image_id": 1, "bbox": [0, 0, 10, 20], "score": 0.2},
        {"image_id": 2, "category_id": 3, "bbox": [0, 0, 5, 5], "score": 0.99},
        {"image_id": 2, "bbox": [1, 1, 5, 5]},
    ]
    assert load_coco_detections(entries[:3], box_score_threshold=0.5) == [entries[0]]
    kept = load_coco_detections(entries, default_score=1.0)
    assert [entry["score"] for entry in kept] == [0.9, 0.2, 1.0] and "score" not in entries[3]
    path = tmp_path / "ground_truth.json"
    path.write_text(json.dumps({"images": [], "annotations": entries[3:]}))  # a COCO JSON's annotations
    assert len(load_coco_detections(path, default_score=1.0)) == 1
    detections = tmp_path / "detections.json"
    detections.write_text(json.dumps([{"image_id": 1, "bbox": [0, 0, 1, 1]}]))
    with pytest.raises(ValueError, match=r"detections\.json: entry 0 has no field 'score'"):
        load_coco_detections(detections)
    with pytest.raises(ValueError, match="entry 0 needs 'image_id'"):
        load_coco_detections([{"bbox": [1, 2, 3, 4]}])
    with pytest.raises(ValueError, match=r"entry 0 bbox must be \[x, y, w, h\]"):
        load_coco_detections([{"image_id": 1, "bbox": [1, 2, 3], "score": 1.0}])
    path.write_text(json.dumps({"images": []}))
    with pytest.raises(ValueError, match="must be a JSON list of COCO results"):
        load_coco_detections(path)
    with pytest.raises(FileNotFoundError, match="cannot read detections file"):
        load_coco_detections(tmp_path / "missing.json")


def test_image_ids_by_file_name(tmp_path: Path) -> None:
    path = tmp_path / "images.json"
    path.write_text(json.dumps({"images": [{"id": 7, "file_name": "val/000007.jpg"}]}))
    assert load_coco_image_ids(path) == {"val/000007.jpg": 7}
    path.write_text(json.dumps([1, 2]))
    with pytest.raises(ValueError, match="must be a COCO JSON with an 'images' list"):
        load_coco_image_ids(path)
