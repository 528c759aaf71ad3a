"""`posekit predict` end to end on a folder of good and bad inputs; `posekit demo`."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from posekit.cli.main import main as posekit_main


@pytest.fixture(scope="module")
def mixed_folder(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    source = shared_data / "coco_val2014_images" / "COCO_val2014_000000000241.jpg"
    shutil.copy(source, folder / "real.jpg")
    bgr = cv2.imread(str(source))
    (folder / "zero.jpg").write_bytes(b"")
    (folder / "notes.txt").write_text("not an image")
    sub = folder / "more"
    sub.mkdir()
    cv2.imwrite(str(sub / "gray.png"), cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(sub / "deep.png"), bgr.astype(np.uint16) * 257)
    cv2.imwrite(str(sub / "rgba.png"), cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA))
    cv2.imwrite(str(sub / "tiny.png"), np.full((1, 1, 3), 128, np.uint8))
    small = cv2.resize(bgr, (240, 320))
    writer = cv2.VideoWriter(str(folder / "clip.mp4"), cv2.VideoWriter.fourcc(*"mp4v"), 10.0, (240, 320))
    for index in range(6):
        writer.write(np.roll(small, 2 * index, axis=1))
    writer.release()
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 40)
    return folder


def test_predict_folder_with_bad_inputs(mixed_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    status = posekit_main(["predict", str(mixed_folder), "--out", str(out)])
    captured = capsys.readouterr()
    assert status == 1  # two inputs failed; the others were still written
    errors = [line for line in captured.err.splitlines() if line.strip()]
    assert len(errors) == 3, captured.err  # one line per bad input, nothing else
    assert any("zero.jpg" in line and "empty" in line for line in errors)
    assert any("broken.mp4" in line and "cannot read video" in line for line in errors)
    assert any("notes.txt" in line and "skipped" in line for line in errors)
    assert "summary:" in captured.out and str(out / "predictions.json") in captured.out

    results = json.loads((out / "predictions.json").read_text())
    by_file: dict[str, list[dict]] = {}
    for entry in results:
        assert {"image_id", "category_id", "keypoints", "score", "bbox", "file_name"} <= set(entry)
        assert entry["category_id"] == 1 and len(entry["keypoints"]) == 17 * 3 and len(entry["bbox"]) == 4
        by_file.setdefault(Path(entry["file_name"]).name, []).append(entry)
    for name in ("real.jpg", "deep.png", "rgba.png"):
        assert len(by_file[name]) >= 2, name  # the same colours, whatever the pixel format
    assert len(by_file["gray.png"]) >= 1
    assert "tiny.png" not in by_file and "zero.jpg" not in by_file
    frames = by_file["clip.mp4"]
    assert {entry["frame"] for entry in frames} <= set(range(6)) and len({e["frame"] for e in frames}) >= 5
    assert all({"timestamp", "track_id"} <= set(entry) for entry in frames)
    frame_ids = {entry["frame"]: entry["image_id"] for entry in frames}
    assert len(set(frame_ids.values())) == len(frame_ids)  # one image id per frame
    image_ids = {by_file[name][0]["image_id"] for name in ("real.jpg", "gray.png", "deep.png", "rgba.png")}
    assert len(image_ids) == 4 and not image_ids & set(frame_ids.values())
    assert frames[0]["timestamp"] == pytest.approx(frames[0]["frame"] / 10.0)

    vis = sorted(path.name for path in (out / "vis").iterdir())
    assert vis == ["clip.mp4", "deep.jpg", "gray.jpg", "real.jpg", "rgba.jpg", "tiny.jpg"]
    capture = cv2.VideoCapture(str(out / "vis" / "clip.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 6
    capture.release()
    assert not [path for path in out.rglob(".*")]  # no temporary files left


def test_predict_good_image_no_vis_other_skeleton_exit_zero(
    mixed_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    status = posekit_main(
        ["predict", str(mixed_folder / "real.jpg"), "--out", str(out), "--no-vis", "--skeleton", "crowdpose",
         "--max-people", "1"]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert status == 0 and captured.err == ""
    results = json.loads((out / "predictions.json").read_text())
    assert len(results) == 1 and len(results[0]["keypoints"]) == 14 * 3
    assert not (out / "vis").exists()


def test_predict_missing_input_and_bad_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert posekit_main(["predict", str(tmp_path / "nope.jpg"), "--out", str(tmp_path / "run")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert json.loads((tmp_path / "run" / "predictions.json").read_text()) == []
    assert posekit_main(["predict", str(tmp_path), "--skeleton", "nonsense"]) == 2
    assert "unknown skeleton" in capsys.readouterr().err
    for option in ("--redetect-every", "--redetect-max-every"):
        assert posekit_main(["predict", str(tmp_path), option, "0"]) == 2
        assert f"{option} must be >= 1, got 0" in capsys.readouterr().err


def test_demo_writes_the_astronaut_and_its_pose(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("skimage")
    assert posekit_main(["demo", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "astronaut.png").is_file() and (tmp_path / "vis" / "astronaut.jpg").is_file()
    results = json.loads((tmp_path / "predictions.json").read_text())
    assert len(results) == 1 and results[0]["file_name"].endswith("astronaut.png")
    assert str(tmp_path / "predictions.json") in capsys.readouterr().out


def test_predict_with_a_trained_2d_model_behind_the_detector(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from posekit.io.checkpoint import save_checkpoint
    from posekit.models import get_model

    weights = tmp_path / "model.pt"
    save_checkpoint(weights, {"model": get_model("simplebaseline_res18_128x96").state_dict()})
    image = shared_data / "coco_val2014_images" / "COCO_val2014_000000000241.jpg"
    out = tmp_path / "run"
    argv = ["predict", str(image), "--out", str(out), "--no-vis", "--min-score", "0"]
    status = posekit_main([*argv, "--model", "simplebaseline_res18_128x96", "--weights", str(weights)])
    assert status == 0, capsys.readouterr().err
    entries = json.loads((out / "predictions.json").read_text())
    assert entries and all(len(entry["keypoints"]) == 17 * 3 for entry in entries)
    # The model's people come from the same detector as the default pipeline's.
    assert posekit_main([*argv, "--out", str(tmp_path / "default")]) == 0
    assert len(entries) == len(json.loads((tmp_path / "default" / "predictions.json").read_text()))


def test_unknown_model_and_refused_checkpoints_say_what_happened(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    image = tmp_path / "grey.png"
    cv2.imwrite(str(image), np.full((64, 48, 3), 128, np.uint8))
    out = str(tmp_path / "out")
    assert posekit_main(["predict", str(image), "--model", "hrnet_w32", "--out", out]) == 2
    error = capsys.readouterr().err
    assert error.startswith("posekit predict: error: unknown model 'hrnet_w32'; did you mean 'hrnet_w32_256x192'")
    assert posekit_main(["predict", str(image), "--model", "hrnet_w32", "--weights", str(image), "--out", out]) == 2
    assert "unknown model 'hrnet_w32'; did you mean" in capsys.readouterr().err
    pickled = tmp_path / "pickled.pt"
    torch.save({"state_dict": {}, "args": argparse.Namespace(lr=0.1)}, pickled)
    model = ["--model", "simplebaseline_res18_128x96"]
    assert posekit_main(["predict", str(image), *model, "--weights", str(pickled), "--out", out]) == 2
    error = capsys.readouterr().err
    assert "not a weights-only checkpoint: it holds a pickled object of class argparse.Namespace" in error
    assert "not a PyTorch" not in error and error.count("\n") == 1
    assert posekit_main(["predict", str(image), *model, "--weights", str(image), "--out", out]) == 2
    assert "grey.png: not a PyTorch checkpoint" in capsys.readouterr().err


def test_predict_model_options_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert posekit_main(["predict", "x.jpg", "--weights", str(tmp_path / "w.pt")]) == 2
    assert "--weights needs --model" in capsys.readouterr().err
    assert posekit_main(["predict", "x.jpg", "--model", "hrnet_w32_256x192"]) == 2
    assert "needs --weights" in capsys.readouterr().err


def test_summary_words_and_video_only_flags(
    mixed_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = [str(mixed_folder / "clip.mp4"), str(mixed_folder / "real.jpg")]
    status = posekit_main(["predict", *inputs, "--out", str(tmp_path / "a"), "--no-vis", "--lift", "--bvh"])
    captured = capsys.readouterr()
    assert status == 0
    assert "note: --bvh applies to videos; images get their 3D overlay" in captured.err
    summary = captured.out.strip().splitlines()[-1]
    assert "1 image(s) with " in summary and "1 video(s) with 6 frames and " in summary
    assert "person-frames" in summary and "overlays in" not in summary
    assert (tmp_path / "a" / "bvh").is_dir()

    status = posekit_main(["predict", inputs[1], "--out", str(tmp_path / "b"), "--quiet"])
    captured = capsys.readouterr()
    assert status == 0 and captured.err == ""
    summary = captured.out.strip().splitlines()[-1]
    assert "person-frames" not in summary and f"overlays in {tmp_path / 'b' / 'vis'}" in summary


def test_every_skipped_input_gets_a_message(
    mixed_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(mixed_folder / "real.jpg", folder / "real.jpg")
    (folder / ".DS_Store").write_bytes(b"\x00")
    (folder / ".cache").mkdir()
    (folder / ".cache" / "thumb.jpg").write_bytes(b"\x00")
    (folder / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    (folder / "linked").symlink_to(mixed_folder / "more")
    empty = tmp_path / "empty"
    empty.mkdir()
    dangling = tmp_path / "dangling.mp4"
    dangling.symlink_to(tmp_path / "nothing.mp4")
    status = posekit_main(["predict", str(folder), str(empty), str(dangling), "--out", str(tmp_path / "o"), "--no-vis"])
    captured = capsys.readouterr()
    assert status == 1  # inputs named on the command line were skipped
    err = captured.err
    assert f"skipped {folder / '.DS_Store'}: a hidden file" in err
    assert f"skipped {folder / '.cache'}: a hidden folder" in err and "thumb.jpg" not in err
    assert f"skipped {folder / 'gone.jpg'}: a broken symbolic link" in err
    assert f"skipped {folder / 'linked'}: a symbolic link to a folder (not followed)" in err
    assert f"error: {empty}: the folder holds no image or video files" in err
    assert f"error: {dangling}: a broken symbolic link (to {tmp_path / 'nothing.mp4'}" in err
    assert "1 image(s) with" in captured.out and "2 input(s) failed" in captured.out
