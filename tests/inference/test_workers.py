"""``predict`` in worker processes gives what one process gives: results, ids, file names, messages."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from posekit.inference.predict import AUTO_IMAGES_PER_WORKER, InputFile, PredictOptions, predict, resolve_workers


@pytest.fixture(scope="module")
def batch(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two images, two clips (one stem twice, in two folders), a broken file."""
    folder = tmp_path_factory.mktemp("batch")
    photo = shared_data / "coco_val2014_images" / "COCO_val2014_000000000241.jpg"
    (folder / "a").mkdir()
    (folder / "b").mkdir()
    shutil.copy(photo, folder / "a" / "street.jpg")
    shutil.copy(shared_data / "coco_val2014_images" / "COCO_val2014_000000000192.jpg", folder / "b" / "street.jpg")
    small = cv2.resize(cv2.imread(str(photo)), (240, 320))
    for name, shift in (("a/clip.mp4", 2), ("b/clip.mp4", -3)):
        writer = cv2.VideoWriter(str(folder / name), cv2.VideoWriter.fourcc(*"mp4v"), 10.0, (240, 320))
        for index in range(6):
            writer.write(np.roll(small, shift * index, axis=1))
        writer.release()
    (folder / "b" / "broken.jpg").write_bytes(b"not a jpeg")
    return folder


def _files(out: Path) -> dict[str, str]:
    return {
        str(path.relative_to(out)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(out.rglob("*"))
        if path.is_file() and path.name != "predictions.json"
    }


def test_two_workers_give_the_results_of_one(batch: Path, tmp_path: Path) -> None:
    outcomes = {}
    for workers in (1, 2):
        messages: list[tuple[str, str]] = []
        out = tmp_path / f"w{workers}"
        options = PredictOptions(out=out, workers=workers, lift=True, bvh=True)
        result = predict([batch], options, report=lambda level, text, kept=messages: kept.append((level, text)))
        outcomes[workers] = (result, messages, out)
    (one, one_messages, one_out), (two, two_messages, two_out) = outcomes[1], outcomes[2]
    assert one.failed == two.failed == 1 and one.images == two.images == 2 and one.videos == two.videos == 2
    assert one.people == two.people and one.video_frames == two.video_frames == 12
    assert one.to_coco_results() == two.to_coco_results()
    assert (one_out / "predictions.json").read_bytes() == (two_out / "predictions.json").read_bytes()
    assert one_messages == two_messages and any("broken.jpg" in text for _, text in one_messages)
    files = _files(one_out)
    assert {"vis/street.jpg", "vis/street_2.jpg", "vis/clip.mp4", "vis/clip_2.mp4"} <= set(files)
    assert any(name.startswith("bvh/clip_2_track") for name in files)
    assert files == _files(two_out)  # the same names and the same bytes
    assert not [path for path in two_out.rglob(".*")]  # the workers' scratch folder is gone
    assert [(name, len(sequence)) for name, sequence in one.lifted] == [
        (name, len(sequence)) for name, sequence in two.lifted
    ]


def test_bad_model_options_fail_once_with_the_reason(batch: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing.pt"
    with pytest.raises(FileNotFoundError, match="checkpoint not found: .*missing.pt"):
        predict([batch], PredictOptions(model="simplebaseline_res18_128x96", weights=str(missing), workers=2))


def test_auto_workers_need_enough_work_per_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("posekit.inference.predict.available_cpus", lambda: 4)
    images = [InputFile(Path(f"{index}.jpg"), "image") for index in range(3 * AUTO_IMAGES_PER_WORKER)]
    videos = [InputFile(Path(f"{index}.mp4"), "video") for index in range(6)]
    assert resolve_workers(None, images[:5]) == 1
    assert resolve_workers(None, images) == 3
    assert resolve_workers(None, videos) == 4 and resolve_workers(None, videos[:2]) == 2
    assert resolve_workers(2, images[:1]) == 1 and resolve_workers(3, images) == 3
    arrays = [InputFile(Path("array_0"), "array", np.zeros((2, 2, 3), np.uint8))] + videos
    assert resolve_workers(None, arrays) == 1
    with pytest.raises(ValueError, match="--workers must be >= 1"):
        PredictOptions(workers=0)
