"""`posekit predict` results files and overlays: --format json|csv|both, --keep-landmarks, --kpt-thr,
--line-width, --no-boxes, and results paths that cannot be written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from posekit.cli.main import main as posekit_main
from posekit.cli.predict import build_parser, options_from_args
from posekit.inference.predict import PredictOptions, predict
from posekit.io.csv_results import read_results_csv, results_csv_header
from posekit.skeletons import get_skeleton
from posekit.structures import PoseInstances


@pytest.fixture(scope="module")
def inputs(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real photo of three people and a 4-frame clip made from it (240 x 320)."""
    folder = tmp_path_factory.mktemp("inputs")
    source = shared_data / "coco_val2014_images" / "COCO_val2014_000000000241.jpg"
    shutil.copy(source, folder / "real.jpg")
    small = cv2.resize(cv2.imread(str(source)), (240, 320))
    writer = cv2.VideoWriter(str(folder / "clip.mp4"), cv2.VideoWriter.fourcc(*"mp4v"), 10.0, (240, 320))
    for index in range(4):
        writer.write(np.roll(small, 2 * index, axis=1))
    writer.release()
    return folder


def _csv_matches_json(csv_path: Path, entries: list[dict], skeleton: str, lifted: bool = False) -> None:
    header, rows = read_results_csv(csv_path)
    assert header == results_csv_header(skeleton, "h36m" if lifted else None)
    assert len(rows) == len(entries) > 0  # one row per person and image or frame
    num = get_skeleton(skeleton).num_keypoints
    for entry, row in zip(entries, rows, strict=True):
        assert row["file_name"] == entry["file_name"] and int(row["image_id"]) == entry["image_id"]
        assert [float(row[name]) for name in header[10 : 10 + num * 3]] == entry["keypoints"]
        assert [float(row[f"bbox_{part}"]) for part in "xywh"] == entry["bbox"]
        assert float(row["score"]) == entry["score"]
        assert row["track_id"] == str(entry.get("track_id", "")) and row["frame"] == str(entry.get("frame", ""))
        if lifted:
            assert [float(row[name]) for name in header[10 + num * 3 :]] == entry["keypoints_3d"] + entry["trajectory"]


def test_both_formats_and_landmarks_on_images_and_video(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    argv = ["predict", str(inputs), "--out", str(out), "--no-vis", "--threads", "1", "--skeleton", "crowdpose"]
    assert posekit_main([*argv, "--format", "both", "--keep-landmarks"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and f"{out / 'predictions.json'} and {out / 'predictions.csv'}" in captured.out
    entries = json.loads((out / "predictions.json").read_text())
    assert {Path(entry["file_name"]).name for entry in entries} == {"real.jpg", "clip.mp4"}
    _csv_matches_json(out / "predictions.csv", entries, "crowdpose")
    names = list(get_skeleton("blazepose").keypoint_names)
    for entry in entries:  # 33 BlazePose landmarks, MediaPipe order, whatever --skeleton is
        assert len(entry["keypoints"]) == 14 * 3
        assert [landmark["name"] for landmark in entry["landmarks"]] == names
        assert [landmark["name"] for landmark in entry["world_landmarks"]] == names
        assert set(entry["landmarks"][0]) == {"name", "x", "y", "z", "visibility", "presence"}
        assert set(entry["world_landmarks"][0]) == {"name", "x", "y", "z"}
        left_shoulder = entry["landmarks"][names.index("left_shoulder")]
        assert 0 <= left_shoulder["visibility"] <= 1 and 0 <= left_shoulder["presence"] <= 1
    # The photo's landmarks are the crowdpose keypoints where the joints are the same (no smoothing on images).
    photo = next(entry for entry in entries if entry["file_name"].endswith("real.jpg"))
    crowdpose = list(get_skeleton("crowdpose").keypoint_names)
    shoulder = photo["landmarks"][names.index("left_shoulder")]
    column = 3 * crowdpose.index("left_shoulder")
    assert photo["keypoints"][column : column + 2] == pytest.approx([shoulder["x"], shoulder["y"]], abs=1e-3)
    # Default: JSON only, and no landmarks.
    assert posekit_main([*argv, "--out", str(tmp_path / "plain")]) == 0
    assert sorted(path.name for path in (tmp_path / "plain").iterdir()) == ["predictions.json"]
    plain = json.loads((tmp_path / "plain" / "predictions.json").read_text())
    assert len(plain) == len(entries) and not any("landmarks" in entry for entry in plain)
    assert [entry["keypoints"] for entry in plain] == [entry["keypoints"] for entry in entries]


def test_keep_landmarks_is_refused_without_blazepose(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    weights = tmp_path / "w.pt"
    argv = ["predict", "x.jpg", "--model", "simplebaseline_res18_128x96", "--weights", str(weights), "--keep-landmarks"]
    assert posekit_main(argv) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "--keep-landmarks needs the BlazePose landmark model" in error
    with pytest.raises(ValueError, match="--keep-landmarks needs the BlazePose landmark model, got FixedPoses"):
        predict([str(tmp_path)], PredictOptions(keep_landmarks=True), estimator=FixedPoses())


class FixedPoses:
    """A whole-image estimator that finds one COCO person, always at the same place (no model)."""

    def __call__(self, image: np.ndarray) -> PoseInstances:
        keypoints = np.zeros((1, 17, 2), np.float32)
        keypoints[0, :, 0] = np.linspace(60, 140, 17)
        keypoints[0, :, 1] = np.linspace(40, 160, 17)
        scores = np.full((1, 17), 0.9, np.float32)
        scores[0, 9:] = 0.5  # arms and legs: below --kpt-thr 0.7
        return PoseInstances(
            keypoints=keypoints,
            scores=scores,
            skeleton="coco",
            boxes=np.array([[20, 20, 180, 180]], np.float32),
            instance_scores=np.array([0.9], np.float32),
        )


def _overlay(folder: Path, tmp_path: Path, name: str, **options: object) -> np.ndarray:
    out = tmp_path / name
    predict([str(folder / "black.png")], PredictOptions(out=out, **options), estimator=FixedPoses())  # type: ignore[arg-type]
    image = cv2.imread(str(out / "vis" / "black.jpg"))
    assert image is not None
    return image.max(axis=2) > 80  # (H, W) lit pixels (JPEG noise stays far below)


def test_overlay_options(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    cv2.imwrite(str(folder / "black.png"), np.zeros((200, 200, 3), np.uint8))
    default = _overlay(folder, tmp_path, "default")
    assert default[100, 19:22].any()  # the box's left edge (x = 20) is drawn by default
    no_boxes = _overlay(folder, tmp_path, "no_boxes", draw_boxes=False)
    assert not no_boxes[100, 15:26].any() and no_boxes.sum() < default.sum()
    wide = _overlay(folder, tmp_path, "wide", line_width=6)
    assert wide.sum() > 2 * default.sum()
    strict = _overlay(folder, tmp_path, "strict", keypoint_threshold=0.7, draw_boxes=False)
    assert 0 < strict.sum() < no_boxes.sum()
    # Keypoints 0-8 (y 40-100) stay, 9-16 (y 107.5-160) go, with every link touching them (the
    # shoulder-hip links start at y 77.5): the same pixels above y = 72 (a JPEG block row), none below 110.
    assert strict[:72].sum() == no_boxes[:72].sum() > 0 and not strict[110:].any() and no_boxes[110:].any()
    # The command's options reach PredictOptions.
    args = build_parser().parse_args(
        ["x.jpg", "--kpt-thr", "0.7", "--line-width", "6", "--no-boxes", "--format", "csv"]
    )
    options = options_from_args(args)
    assert (options.keypoint_threshold, options.line_width, options.draw_boxes) == (0.7, 6, False)
    assert options.output_format == "csv" and not options.keep_landmarks
    with pytest.raises(ValueError, match="--line-width must be a whole number of pixels >= 1, got 0"):
        PredictOptions(line_width=0)
    with pytest.raises(ValueError, match="--format must be one of json, csv, both"):
        PredictOptions(output_format="xml")


def test_csv_only_with_lift(shared_data: Path, tmp_path: Path) -> None:
    image = shared_data / "coco_val2014_images" / "COCO_val2014_000000000241.jpg"
    out = tmp_path / "run"
    result = predict([str(image)], PredictOptions(out=out, vis=False, lift=True, output_format="csv", threads=1))
    assert result.predictions_path is None and result.csv_path == out / "predictions.csv"
    assert sorted(path.name for path in out.iterdir()) == ["poses3d.npz", "predictions.csv"]
    entries = result.to_coco_results()
    assert entries and all("keypoints_3d" in entry for entry in entries)
    _csv_matches_json(out / "predictions.csv", json.loads(json.dumps(entries)), "coco", lifted=True)


def test_unwritable_results_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    cv2.imwrite(str(folder / "black.png"), np.zeros((64, 64, 3), np.uint8))
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    # --out inside a file: one sentence, exit 2, before any input is processed.
    assert posekit_main(["predict", str(folder), "--out", str(blocker / "run"), "--format", "csv"]) == 2
    error = capsys.readouterr().err.strip()
    expected = f"--out {blocker / 'run'}: cannot write results there (it lies inside the file {blocker}, not a folder)"
    assert error == f"posekit predict: error: {expected}"
    with pytest.raises(ValueError, match=r"a_file: cannot write results there \(it is a file, not a folder\)"):
        predict([str(folder)], PredictOptions(out=blocker), estimator=FixedPoses())
    # predictions.csv cannot be replaced (a folder is in the way): one sentence, nothing half-written.
    out = tmp_path / "run"
    (out / "predictions.csv").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"predictions\.csv: cannot write the results file \(is a directory\)"):
        predict([str(folder)], PredictOptions(out=out, vis=False, output_format="csv"), estimator=FixedPoses())
    assert sorted(path.name for path in out.rglob("*")) == ["predictions.csv"]  # no temporary files left
    assert blocker.read_text() == ""


def test_read_only_out_folder_is_refused_before_any_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import posekit.inference.predict as predict_module

    # Tests may run as root, for whom every folder is writable: deny write access the way os.access would.
    monkeypatch.setattr(predict_module.os, "access", lambda path, mode: Path(path) != tmp_path)
    folder = tmp_path / "in"
    folder.mkdir()
    cv2.imwrite(str(folder / "black.png"), np.zeros((64, 64, 3), np.uint8))
    calls: list[int] = []

    class Counting(FixedPoses):
        def __call__(self, image: np.ndarray) -> PoseInstances:
            calls.append(1)
            return super().__call__(image)

    with pytest.raises(ValueError, match=rf"--out {tmp_path / 'run'}: .*no permission to write in {tmp_path}\)$"):
        predict([str(folder)], PredictOptions(out=tmp_path / "run"), estimator=Counting())
    assert calls == [] and not (tmp_path / "run").exists()
