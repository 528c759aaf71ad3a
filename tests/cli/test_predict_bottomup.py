"""``posekit predict --model higherhrnet_*``: bottom-up on images, folders and videos, tracking, --lift, workers.

The network is the small ``higherhrnet_w16_256`` with random weights, calibrated so that the grouping
finds people (:func:`support.bottomup.calibrated_higherhrnet`); its "people" are wherever the random
features peak, which is all these tests need: the same people as the library gives, in the same
files as the top-down path.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from support.bottomup import calibrated_higherhrnet, probe_weights, smooth_image

from posekit.cli.main import main as posekit_main
from posekit.cli.predict import build_parser, options_from_args
from posekit.io.checkpoint import save_checkpoint
from posekit.io.images import write_image

MODEL = "higherhrnet_w16_256"


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("weights") / "higherhrnet_w16_256.pt"
    save_checkpoint(path, {"model": calibrated_higherhrnet(MODEL).state_dict()})
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(5)
    write_image(folder / "wide.png", smooth_image(rng, 200, 150))
    write_image(folder / "tall.jpg", smooth_image(rng, 120, 170))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG" * 4)
    return folder


@pytest.fixture(scope="module")
def static_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MJPEG AVI of 4 identical frames (each frame decodes to the same pixels): the same people every frame."""
    path = tmp_path_factory.mktemp("video") / "static.avi"
    frame = cv2.cvtColor(smooth_image(np.random.default_rng(7), 160, 120), cv2.COLOR_RGB2BGR)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (160, 120))
    for _ in range(4):
        writer.write(frame)
    writer.release()
    return path


def run(argv: list[str], weights: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = posekit_main(["predict", *argv, "--model", MODEL, "--weights", str(weights), "--threads", "1"])
    return status, capsys.readouterr().err


def test_folder_of_images_with_a_bad_one(
    inputs: Path, weights: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    status, err = run([str(inputs), "--out", str(out), "--min-score", "0", "--max-people", "4"], weights, capsys)
    assert status == 1  # the broken image failed, the others were written
    errors = [line for line in err.splitlines() if line.strip()]
    assert len(errors) == 1 and "broken.jpg" in errors[0], err
    entries = json.loads((out / "predictions.json").read_text())
    by_file: dict[str, list[dict]] = {}
    for entry in entries:
        assert {"image_id", "category_id", "keypoints", "score", "bbox", "file_name"} <= set(entry)
        assert len(entry["keypoints"]) == 17 * 3 and len(entry["bbox"]) == 4
        by_file.setdefault(Path(entry["file_name"]).name, []).append(entry)
    assert sorted(by_file) == ["tall.jpg", "wide.png"]
    assert all(len(people) == 4 for people in by_file.values())
    assert sorted(path.name for path in (out / "vis").iterdir()) == ["tall.jpg", "wide.jpg"]

    # The same people as the library's estimator on the same image, best first.
    from posekit.inference.bottomup import build_bottomup_estimator
    from posekit.io.images import read_image

    estimator = build_bottomup_estimator(MODEL, weights, max_people=4)
    people = estimator(read_image(inputs / "wide.png"))
    found = by_file["wide.png"]
    assert [entry["score"] for entry in found] == pytest.approx(people.instance_scores.tolist(), abs=1e-4)
    flat = np.array([entry["keypoints"] for entry in found]).reshape(4, 17, 3)
    np.testing.assert_allclose(flat[:, :, :2], people.keypoints, atol=0.01)


def test_video_people_keep_their_track_ids_and_lift(
    static_video: Path, weights: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    argv = [str(static_video), "--out", str(out), "--min-score", "0", "--max-people", "3", "--lift"]
    status, err = run(argv, weights, capsys)
    assert status == 0, err
    entries = json.loads((out / "predictions.json").read_text())
    by_frame: dict[int, dict[int, dict]] = {}
    for entry in entries:
        by_frame.setdefault(entry["frame"], {})[entry["track_id"]] = entry
    assert sorted(by_frame) == [0, 1, 2, 3]
    tracks = sorted(by_frame[0])
    assert len(tracks) == 3
    for frame in by_frame.values():  # the same people in every frame keep their ids (and their keypoints)
        assert sorted(frame) == tracks
        for track in tracks:
            assert frame[track]["keypoints"] == pytest.approx(by_frame[0][track]["keypoints"], abs=1e-3)
            assert len(frame[track]["keypoints_3d"]) == 17 * 3 and len(frame[track]["trajectory"]) == 3
    assert (out / "poses3d.npz").is_file()
    assert sorted(path.name for path in (out / "vis").iterdir()) == ["static.mp4", "static_3d.mp4"]


def test_workers_give_the_results_of_one_process(
    inputs: Path, weights: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images = [str(inputs / "wide.png"), str(inputs / "tall.jpg")]
    common = ["--no-vis", "--min-score", "0", "--max-people", "2", "--no-flip"]
    one, two = tmp_path / "one", tmp_path / "two"
    assert run([*images, *common, "--out", str(one)], weights, capsys)[0] == 0
    status, err = run([*images, *common, "--out", str(two), "--workers", "2"], weights, capsys)
    assert status == 0, err
    assert json.loads((one / "predictions.json").read_text()) == json.loads((two / "predictions.json").read_text())


def test_scales_and_flip_change_the_prediction(inputs: Path, weights: Path) -> None:
    import posekit

    image = str(inputs / "wide.png")
    options = {"model": MODEL, "weights": str(weights), "min_score": 0.0, "max_people": 2, "threads": 1}
    default = posekit.predict(image, **options)[0].instances
    no_flip = posekit.predict(image, flip=False, **options)[0].instances
    multi = posekit.predict(image, scales=[0.5, 1, 2], **options)[0].instances
    assert len(default) == len(no_flip) == len(multi) == 2
    assert not np.allclose(default.keypoints, no_flip.keypoints) or not np.allclose(
        default.instance_scores, no_flip.instance_scores
    )
    assert not np.allclose(default.instance_scores, multi.instance_scores)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--scales", "0.5", "2"], "must include 1"),
        (["--scales", "0", "1"], "positive"),
    ],
)
def test_bad_scales_are_refused(
    argv: list[str], message: str, inputs: Path, weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, err = run([str(inputs / "wide.png"), *argv], weights, capsys)
    assert status == 2 and message in err


def test_scales_and_flip_need_a_fitting_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = str(tmp_path / "any.jpg")
    assert posekit_main(["predict", image, "--scales", "0.5", "1"]) == 2
    assert "--scales applies to bottom-up models" in capsys.readouterr().err
    assert posekit_main(["predict", image, "--no-flip"]) == 2
    assert "--no-flip applies to --model runs" in capsys.readouterr().err
    top_down = ["--model", "simplebaseline_res18_128x96", "--weights", str(tmp_path / "w.pt")]
    assert posekit_main(["predict", image, *top_down, "--scales", "1", "2"]) == 2
    assert "not to the top-down simplebaseline_res18_128x96" in capsys.readouterr().err


def test_flip_options_do_not_clash_with_the_lifter_flip_test() -> None:
    parser = build_parser()
    no_flip = options_from_args(parser.parse_args(["x", "--model", MODEL, "--weights", "w", "--no-flip"]))
    assert not no_flip.flip and no_flip.flip_test
    lifter = options_from_args(parser.parse_args(["x", "--lift", "--no-flip-test"]))
    assert lifter.flip and not lifter.flip_test
    scales = options_from_args(parser.parse_args(["x", "--model", MODEL, "--weights", "w", "--scales", "2", "1"]))
    assert scales.scales == (2.0, 1.0)


def test_detections_file_needs_a_top_down_model(
    inputs: Path, weights: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    boxes = tmp_path / "boxes.json"
    boxes.write_text("[]")
    status, err = run([str(inputs / "wide.png"), "--detections", str(boxes)], weights, capsys)
    assert status == 2 and "--detections needs a top-down estimator" in err


def test_crowdpose_people_lift_through_the_skeleton_conversion(tmp_path: Path) -> None:
    from support.bottomup import ProbeNetwork

    from posekit.inference.bottomup import BottomUpEstimator
    from posekit.inference.predict import PredictOptions, predict

    rng = np.random.default_rng(3)
    low, high = probe_weights(rng, 14, True)
    network = ProbeNetwork(low, high, skeleton="crowdpose", input_size=128, tag_per_joint=True)
    estimator = BottomUpEstimator(network, max_people=2)
    result = predict(
        [smooth_image(rng, 150, 100)], PredictOptions(skeleton="crowdpose", lift=True, threads=1), estimator=estimator
    )
    frame = result[0]
    assert frame.instances.skeleton == "crowdpose" and len(frame.instances) == 2
    assert frame.keypoints_3d is not None and np.isfinite(frame.keypoints_3d).all()
