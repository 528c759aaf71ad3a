"""``posekit.predict``: one call for files, arrays, folders and videos; typed results; silent by default."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

import posekit
from posekit.inference import api
from posekit.inference.predict import FramePoses, PredictOptions, PredictResult
from posekit.inference.predict import predict as predict_inputs


@pytest.fixture(scope="module")
def photo(shared_data: Path) -> Path:
    return shared_data / "coco_val2014_images" / "COCO_val2014_000000000241.jpg"


@pytest.fixture(scope="module")
def clip(photo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "walk.mp4"
    small = cv2.resize(cv2.imread(str(photo)), (240, 320))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 10.0, (240, 320))
    for index in range(8):
        writer.write(np.roll(small, 2 * index, axis=1))
    writer.release()
    return path


def test_one_call_on_a_file_and_on_its_array(photo: Path) -> None:
    result = posekit.predict(str(photo))
    assert isinstance(result, PredictResult) and len(result) == 1 and result.failed == 0
    frame = result[0]
    assert isinstance(frame, FramePoses) and list(result) == [frame]
    people = frame.instances
    assert people.skeleton == "coco" and len(people) >= 2 and people.keypoints.shape == (len(people), 17, 2)
    # the same as the library behind the CLI
    reference = predict_inputs([photo], PredictOptions())
    np.testing.assert_array_equal(people.keypoints, reference[0].instances.keypoints)

    rgb = cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB)
    from_array = posekit.predict(rgb, skeleton="h36m", max_people=1)
    assert from_array[0].file_name == "array_0" and from_array[0].frame is None
    assert from_array[0].instances.skeleton == "h36m" and len(from_array[0].instances) == 1
    several = posekit.predict([rgb, str(photo)])
    assert [item.file_name for item in several] == ["array_0", str(photo)]
    np.testing.assert_array_equal(several[0].instances.keypoints, several[1].instances.keypoints)


def test_the_models_are_built_once_for_calls_with_the_same_options(photo: Path) -> None:
    posekit.predict(str(photo))
    first = api._CACHE.estimator
    posekit.predict(str(photo), skeleton="mpii", out=None)  # not a model option
    assert api._CACHE.estimator is first
    posekit.predict(str(photo), tiles="off")
    assert api._CACHE.estimator is not first


def test_nothing_is_printed_by_default(
    photo: Path, clip: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api, "_CACHE", api._ModelCache())  # the TFLite banner comes with a new interpreter
    result = posekit.predict([str(photo), str(clip), str(photo.parent / "missing.jpg")], skip_errors=True)
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""
    assert result.failed == 1 and result.images == 1 and result.videos == 1


def test_video_frames_with_tracks_and_3d(clip: Path) -> None:
    result = posekit.predict(clip, lift=True)
    assert result.videos == 1 and len(result) == 8
    assert [frame.frame for frame in result] == list(range(8))
    tracked = [frame for frame in result if len(frame.instances)]
    assert tracked and all(frame.instances.track_ids is not None for frame in tracked)
    assert all(frame.keypoints_3d is not None and frame.keypoints_3d.shape[1:] == (17, 3) for frame in tracked)
    batch_lifter = api._CACHE.lifter
    causal = posekit.predict(clip, lift=True, causal=True)  # the shipped causal default, not the cached one
    assert api._CACHE.lifter is not batch_lifter and len(causal) == 8


def test_bad_calls_say_what_is_wrong(photo: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(TypeError, match="unknown option 'skelton'; did you mean 'skeleton'"):
        posekit.predict(str(photo), skelton="h36m")
    with pytest.raises(ValueError, match="--max-people must be >= 1"):
        posekit.predict(str(photo), max_people=0)
    with pytest.raises(ValueError, match=r"missing\.jpg: no such file or folder"):
        posekit.predict(str(photo.parent / "missing.jpg"))
    with pytest.raises(ValueError, match=r"input 0 \(an array\): expected an \(H, W, 3\) uint8 RGB image"):
        posekit.predict(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match="at least one input"):
        posekit.predict([])
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.jpg: .*empty"):
        posekit.predict([empty, str(photo)])
    with caplog.at_level(logging.INFO, logger="posekit"):
        result = posekit.predict([str(photo.parent / "missing.jpg"), str(photo)], skip_errors=True)
    assert result.failed == 1 and len(result) == 1
    assert [record.levelname for record in caplog.records] == ["ERROR"]
    assert "missing.jpg: no such file or folder" in caplog.records[0].getMessage()
