"""``posekit merge``: runs over parts of a batch join into what one run over the batch gives."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from posekit.cli.main import main as posekit_main
from posekit.inference.merge import merge_predictions


def test_parts_merge_into_the_single_run(shared_data: Path, tmp_path: Path) -> None:
    images = shared_data / "coco_val2014_images"
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("COCO_val2014_000000000241.jpg", "COCO_val2014_000000000192.jpg"):
        shutil.copy(images / name, inputs / name)
    small = cv2.resize(cv2.imread(str(images / "COCO_val2014_000000000241.jpg")), (240, 320))
    writer = cv2.VideoWriter(str(inputs / "clip.mp4"), cv2.VideoWriter.fourcc(*"mp4v"), 10.0, (240, 320))
    for index in range(5):
        writer.write(np.roll(small, 2 * index, axis=1))
    writer.release()
    first = [str(inputs / "COCO_val2014_000000000192.jpg"), str(inputs / "COCO_val2014_000000000241.jpg")]
    second = [str(inputs / "clip.mp4")]
    common = ["--no-vis", "--workers", "1"]
    assert posekit_main(["predict", *first, *second, "--out", str(tmp_path / "all"), *common]) == 0
    assert posekit_main(["predict", *first, "--out", str(tmp_path / "p1"), *common]) == 0
    assert posekit_main(["predict", *second, "--out", str(tmp_path / "p2"), *common]) == 0
    parts = [str(tmp_path / "p1" / "predictions.json"), str(tmp_path / "p2" / "predictions.json")]
    assert posekit_main(["merge", *parts, "--out", str(tmp_path / "merged.json")]) == 0

    single = json.loads((tmp_path / "all" / "predictions.json").read_text())
    merged = json.loads((tmp_path / "merged.json").read_text())
    assert len(merged) == len(single) > 0
    strip = [{key: value for key, value in entry.items() if key != "image_id"} for entry in single]
    assert [{key: value for key, value in entry.items() if key != "image_id"} for entry in merged] == strip
    relabel = {}
    for one, other in zip(single, merged, strict=True):
        assert relabel.setdefault(one["image_id"], other["image_id"]) == other["image_id"]
    assert len(set(relabel.values())) == len(relabel)  # one id per image or frame, none shared
    assert sorted(relabel) == list(relabel) and sorted(relabel.values()) == list(relabel.values())


def test_ground_truth_ids_are_kept_and_bad_files_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def entry(image_id: int, name: str, **extra: object) -> dict[str, object]:
        return {
            "image_id": image_id,
            "category_id": 1,
            "keypoints": [0.0] * 51,
            "score": 1.0,
            "file_name": name,
            **extra,
        }

    (tmp_path / "a.json").write_text(json.dumps([entry(1, "x/p.jpg"), entry(1, "x/p.jpg"), entry(2, "x/q.jpg")]))
    (tmp_path / "b.json").write_text(
        json.dumps([entry(1, "r.jpg"), entry(2, "v.mp4", frame=0), entry(3, "v.mp4", frame=1)])
    )
    (tmp_path / "gt.json").write_text(
        json.dumps({"images": [{"id": 42, "file_name": "p.jpg"}, {"id": 7, "file_name": "r.jpg"}]})
    )
    merged = merge_predictions([tmp_path / "a.json", tmp_path / "b.json"], images_json=tmp_path / "gt.json")
    assert [item["image_id"] for item in merged] == [42, 42, 43, 7, 44, 45]

    (tmp_path / "dup.json").write_text(json.dumps([entry(1, "x/q.jpg")]))
    (tmp_path / "bad.json").write_text(json.dumps([{"keypoints": []}]))
    for name, expected in (
        ("dup.json", "x/q.jpg has results in both"),
        ("bad.json", "entry 0 needs 'image_id' and 'file_name'"),
        ("missing.json", "cannot read predictions file"),
    ):
        status = posekit_main(
            ["merge", str(tmp_path / "a.json"), str(tmp_path / name), "--out", str(tmp_path / "m.json")]
        )
        assert status == 2 and expected in capsys.readouterr().err
    assert not (tmp_path / "m.json").exists()
