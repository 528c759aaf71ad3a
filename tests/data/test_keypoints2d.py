"""Top-down datasets: real sample files, missing fields, missing and corrupt images, MPII head boxes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from posekit.data.keypoints2d import (
    TopDownDataset,
    load_coco_keypoints,
    load_mpii,
)


def _echo_transform(image: np.ndarray, **kwargs: Any) -> dict[str, Any]:
    return {"shape": image.shape, **{key: value for key, value in kwargs.items() if key != "rng"}}


def test_crowdpose_file(shared_data: Path) -> None:
    folder = shared_data / "crowdpose"
    records = load_coco_keypoints(folder / "test_crowdpose.json", folder, "crowdpose", input_size=(192, 256))
    # 5 annotations, one of them with no labelled keypoint
    assert len(records) == 4 and records.num_keypoints == 14
    assert records.annotation_ids.tolist() == [123803, 147481, 127068, 129014]
    first = json.loads((folder / "test_crowdpose.json").read_text())["annotations"][0]
    values = np.asarray(first["keypoints"], dtype=np.float32).reshape(14, 3)
    np.testing.assert_allclose(records.keypoints[0], values[:, :2])
    np.testing.assert_array_equal(records.visible[0], values[:, 2] > 0)
    x, y, w, h = first["bbox"]
    np.testing.assert_allclose(records.boxes[0], [x, y, x + w - 1, y + h - 1])  # HRNet's cleaned box
    np.testing.assert_allclose(records.centers[0], [x + (w - 1) / 2, y + (h - 1) / 2])
    # aspect ratio 192 / 256 and 1.25 padding: this box is wider than 0.75 of its height, so its width wins
    np.testing.assert_allclose(records.scales[0], [(w - 1) * 1.25, (w - 1) / 0.75 * 1.25])
    np.testing.assert_allclose(records.areas[0], (w - 1) * (h - 1))  # no 'area' in CrowdPose: box area
    dataset = TopDownDataset(records, _echo_transform)
    sample = dataset[1]
    assert sample["shape"] == (425, 640, 3) and sample["image_id"] == 106848


def test_crowdpose_detections(shared_data: Path) -> None:
    folder = shared_data / "crowdpose"
    detections = folder / "test_crowdpose_det_AP_40.json"
    records = load_coco_keypoints(
        folder / "test_crowdpose.json", folder, "crowdpose", (192, 256), detections=detections, box_score_threshold=0.99
    )
    assert len(records) == 5 and np.all(records.box_scores >= 0.99) and np.all(records.visible == 0)
    entry = json.loads(detections.read_text())[0]
    x, y, w, h = entry["bbox"]
    np.testing.assert_allclose(records.boxes[0], [x, y, x + w, y + h])


def test_ochuman_file(shared_data: Path) -> None:
    folder = shared_data / "ochuman"
    records = load_coco_keypoints(folder / "test_ochuman.json", folder, "coco", input_size=(192, 256))
    assert len(records) == 5 and records.num_keypoints == 17
    assert records.image_ids.tolist() == [1, 2, 2, 3, 3]
    assert records.visible.sum(axis=1).tolist() == [17, 16, 13, 12, 15]  # the files' num_keypoints
    assert all(Path(file).is_file() for file in records.image_files)


def test_mpii_file(shared_data: Path) -> None:
    folder = shared_data / "mpii"
    records = load_mpii(folder / "test_mpii.json", folder, input_size=(256, 256))
    entries = json.loads((folder / "test_mpii.json").read_text())
    assert len(records) == 5 and records.skeleton == "mpii"
    first = entries[0]
    scale = first["scale"]
    # HRNet: centre moved down by 15 * scale, scale * 1.25 (in 200 px), then 1-based -> 0-based
    np.testing.assert_allclose(records.centers[0], [first["center"][0] - 1, first["center"][1] + 15 * scale - 1])
    np.testing.assert_allclose(records.scales[0], [scale * 1.25 * 200, scale * 1.25 * 200])
    np.testing.assert_allclose(records.keypoints[0], np.asarray(first["joints"]) - 1)
    assert records.image_ids[0] == 5808361 and records.head_boxes is None


def test_mpii_file_with_head_boxes(shared_data: Path) -> None:
    folder = shared_data / "mpii"
    heads = np.tile([[0.0, 0.0, 30.0, 40.0]], (5, 1))
    records = load_mpii(folder / "test_mpii.json", folder, head_boxes=heads)
    assert records.head_boxes is not None and records.head_boxes.shape == (5, 4)


def _coco_document(image_file: str = "a.jpg") -> dict[str, Any]:
    return {
        "images": [{"id": 1, "file_name": image_file, "width": 64, "height": 48}],
        "annotations": [
            {"id": 7, "image_id": 1, "bbox": [4, 4, 20, 30], "keypoints": [10, 10, 2] * 17, "area": 300},
            {"id": 8, "image_id": 1, "bbox": [4, 4, 20, 30], "keypoints": [0, 0, 0] * 17, "area": 300},
            {"id": 9, "image_id": 1, "bbox": [4, 4, 20, 30], "keypoints": [10, 10, 2] * 17, "iscrowd": 1},
        ],
    }


def test_missing_fields_name_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "person_keypoints.json"
    document = _coco_document()
    del document["annotations"][0]["bbox"]
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match=r"person_keypoints\.json: annotations\[0\] has no field 'bbox'"):
        load_coco_keypoints(path, tmp_path)
    document = _coco_document()
    del document["images"][0]["file_name"]
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match=r"images\[0\] has no field 'file_name'"):
        load_coco_keypoints(path, tmp_path)
    path.write_text(json.dumps({"images": []}))
    with pytest.raises(ValueError, match="the top level has no field 'annotations'"):
        load_coco_keypoints(path, tmp_path)
    path.write_text(json.dumps(_coco_document()))
    with pytest.raises(ValueError, match="51 keypoint values; skeleton 'crowdpose' needs 42"):
        load_coco_keypoints(path, tmp_path, "crowdpose")
    mpii = tmp_path / "mpii.json"
    mpii.write_text(json.dumps([{"image": "a.jpg", "center": [1, 2], "scale": 1.0, "joints": [[0, 0]] * 16}]))
    with pytest.raises(ValueError, match=r"mpii\.json: entry 0 has no field 'joints_vis'"):
        load_mpii(mpii, tmp_path)


def test_missing_and_corrupt_images(tmp_path: Path) -> None:
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(_coco_document("missing.jpg")))
    records = load_coco_keypoints(path, tmp_path)
    assert len(records) == 1  # the person without keypoints and the crowd region are skipped
    with pytest.raises(FileNotFoundError, match=r"image not found: .*missing\.jpg, listed in .*annotations\.json"):
        TopDownDataset(records, _echo_transform)
    with pytest.warns(UserWarning, match="skipped 1 people whose 1 images are missing"):
        dataset = TopDownDataset(records, _echo_transform, missing_images="skip")
    assert len(dataset) == 0 and dataset.skipped == 1
    (tmp_path / "missing.jpg").write_bytes(b"not a jpeg")
    dataset = TopDownDataset(records, _echo_transform)
    with pytest.raises(ValueError, match=r"cannot decode image .*missing\.jpg"):
        dataset[0]
