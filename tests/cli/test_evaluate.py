"""``posekit evaluate``: COCO parity with pycocotools through the CLI, PCKh files, config form, errors."""

from __future__ import annotations

import contextlib
import io
import json
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from scipy.io import savemat

from posekit.cli.evaluate import main as evaluate_main
from posekit.cli.main import main as posekit_main
from posekit.metrics import pckh

KEYS = ["AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"]
COCO_SIGMAS = np.array([0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87])
COCO_SIGMAS = np.concatenate([COCO_SIGMAS, [0.89, 0.89]]) / 10.0


def write_coco_files(tmp_path: Path, seed: int = 0) -> tuple[Path, Path]:
    """Ground truth for 5 images and results: noisy truth, a missed person, false positives."""
    rng = np.random.default_rng(seed)
    images, annotations, results = [], [], []
    for image_id in range(1, 6):
        images.append({"id": image_id, "width": 640, "height": 480, "file_name": f"{image_id}.jpg"})
        for person in range(3):
            width, height = rng.uniform(40, 250, size=2)
            corner = rng.uniform(0, 300, size=2)
            points = corner + rng.uniform(0, 1, size=(17, 2)) * [width, height]
            flags = rng.choice([0, 2], size=17, p=[0.2, 0.8])
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": 1,
                    "keypoints": np.concatenate([points * (flags[:, None] > 0), flags[:, None]], 1).ravel().tolist(),
                    "num_keypoints": int(np.count_nonzero(flags)),
                    "bbox": [*corner.tolist(), float(width), float(height)],
                    "area": float(width * height * 0.6),
                    "iscrowd": 0,
                }
            )
            if image_id == 2 and person == 0:
                continue  # missed
            noisy = points + rng.normal(scale=rng.uniform(1, 12), size=points.shape)
            results.append(
                {
                    "image_id": image_id,
                    "category_id": 1,
                    "keypoints": np.concatenate([noisy, np.ones((17, 1))], 1).ravel().tolist(),
                    "score": float(rng.uniform(0.3, 1.0)),
                }
            )
        false_positive = rng.uniform(0, 480, size=(17, 2))
        results.append(
            {
                "image_id": image_id,
                "category_id": 1,
                "keypoints": np.concatenate([false_positive, np.ones((17, 1))], 1).ravel().tolist(),
                "score": float(rng.uniform(0.0, 0.8)),
            }
        )
    categories = [{"id": 1, "name": "person", "supercategory": "person"}]
    gt_path, pred_path = tmp_path / "gt.json", tmp_path / "results.json"
    gt_path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    pred_path.write_text(json.dumps(results))
    return gt_path, pred_path


def pycocotools_stats(gt_path: Path, pred_path: Path) -> list[float]:
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(str(gt_path))
        evaluator = COCOeval(coco_gt, coco_gt.loadRes(str(pred_path)), "keypoints")
        evaluator.params.kpt_oks_sigmas = COCO_SIGMAS
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return [float(value) for value in evaluator.stats]


def test_coco_json_equals_pycocotools(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gt_path, pred_path = write_coco_files(tmp_path)
    assert posekit_main(["evaluate", "coco", "--gt", str(gt_path), "--pred", str(pred_path), "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # exactly one JSON object
    metrics = json.loads(out)
    assert list(metrics) == KEYS
    reference = pycocotools_stats(gt_path, pred_path)
    assert 0.05 < reference[0] < 0.95
    np.testing.assert_allclose([metrics[key] for key in KEYS], reference, rtol=0, atol=1e-12)


def test_coco_table_and_verbose(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gt_path, pred_path = write_coco_files(tmp_path, seed=1)
    assert evaluate_main(["coco", "--gt", str(gt_path), "--pred", str(pred_path)]) == 0
    out = capsys.readouterr().out
    assert "Average Precision" not in out  # pycocotools stays quiet
    header, values = out.splitlines()[1:3]
    assert header.split() == KEYS
    assert values.split()[0] == f"{pycocotools_stats(gt_path, pred_path)[0]:.3f}"
    assert evaluate_main(["coco", "--gt", str(gt_path), "--pred", str(pred_path), "--json", "--verbose"]) == 0
    captured = capsys.readouterr()
    assert "Average Precision" in captured.err  # the official summary, kept off stdout
    assert list(json.loads(captured.out)) == KEYS


def test_crowdpose_protocol_on_real_sample(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gt_path = shared_data / "crowdpose" / "test_crowdpose.json"
    annotations = json.loads(gt_path.read_text())["annotations"]
    results = [{"image_id": a["image_id"], "keypoints": a["keypoints"], "score": 0.9} for a in annotations]
    pred_path = tmp_path / "crowdpose_results.json"
    pred_path.write_text(json.dumps(results))
    assert evaluate_main(["coco", "--gt", str(gt_path), "--pred", str(pred_path), "--crowdpose", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["AP"] == 1.0 and metrics["APmedium"] == 1.0 and metrics["AR"] == 1.0


def run_dispatcher(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert posekit_main(["evaluate", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("posekit evaluate: error: ")
    return captured.err


def test_bad_inputs_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gt_path, pred_path = write_coco_files(tmp_path)
    missing = str(tmp_path / "nope.json")
    assert "cannot read predictions file" in run_dispatcher(["coco", "--gt", str(gt_path), "--pred", missing], capsys)
    broken = tmp_path / "broken.json"
    broken.write_text('{"images": [')
    assert "is not valid JSON" in run_dispatcher(["coco", "--gt", str(broken), "--pred", str(pred_path)], capsys)
    results = json.loads(pred_path.read_text())
    short = tmp_path / "short.json"
    short.write_text(json.dumps([dict(results[0], keypoints=results[0]["keypoints"][:42])]))
    message = run_dispatcher(["coco", "--gt", str(gt_path), "--pred", str(short)], capsys)
    assert "prediction 0 has 42 keypoint values, expected 51" in message
    stray = tmp_path / "stray.json"
    stray.write_text(json.dumps([dict(results[0], image_id=4242)]))
    assert "4242" in run_dispatcher(["coco", "--gt", str(gt_path), "--pred", str(stray)], capsys)
    wrong_skeleton = ["coco", "--gt", str(gt_path), "--pred", str(pred_path), "--skeleton", "crowdpose"]
    assert "expected 42" in run_dispatcher(wrong_skeleton, capsys)
    assert "unknown skeleton" in run_dispatcher([*wrong_skeleton[:-1], "nosuch"], capsys)


def test_config_form_calls_evaluate_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, str | None, list[str]]] = []

    def evaluate_config(config_path: str, weights: str | None, overrides: list[str]) -> dict[str, float]:
        calls.append((config_path, weights, overrides))
        return {"AP": 0.5, "AR": 0.625}

    fake_tasks: Any = types.ModuleType("posekit.tasks")
    fake_tasks.evaluate_config = evaluate_config
    monkeypatch.setitem(sys.modules, "posekit.tasks", fake_tasks)
    config, weights = tmp_path / "hrnet.yaml", tmp_path / "model.pth"
    config.write_text("model: hrnet\n")
    weights.write_bytes(b"0")
    argv = [str(config), "--weights", str(weights), "--set", "data.batch_size=8", "--set", "seed=1", "--json"]
    assert evaluate_main(argv) == 0
    assert calls == [(str(config), str(weights), ["data.batch_size=8", "seed=1"])]
    assert json.loads(capsys.readouterr().out) == {"AP": 0.5, "AR": 0.625}
    assert evaluate_main([str(config)]) == 0
    assert calls[-1] == (str(config), None, [])
    assert capsys.readouterr().out.split() == ["AP", "0.5000", "AR", "0.6250"]
    assert "expects KEY=VALUE" in run_dispatcher([str(config), "--set", "batch_size"], capsys)
    assert "cannot read config file" in run_dispatcher([str(tmp_path / "missing.yaml")], capsys)
    assert "cannot read weights file" in run_dispatcher([str(config), "--weights", str(tmp_path / "x.pth")], capsys)


@pytest.mark.parametrize("form", [["coco"], ["pckh"], []])
def test_help(form: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        evaluate_main([*form, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert f"usage: posekit evaluate {form[0] if form else ''}".strip() in text
    if not form:
        assert "posekit evaluate coco" in text and "posekit evaluate CONFIG" in text


MPII_JOINTS = ["rank", "rkne", "rhip", "lhip", "lkne", "lank", "pelv", "thor"]
MPII_JOINTS += ["neck", "head", "rwri", "relb", "rsho", "lsho", "lelb", "lwri"]


def test_pckh_from_mat_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(3)
    joints = rng.uniform(100, 600, size=(6, 16, 2))
    missing = (rng.random((6, 16)) < 0.1).astype(np.uint8)
    corners = rng.uniform(100, 300, size=(6, 2))
    head_boxes = np.concatenate([corners, corners + rng.uniform(20, 60, size=(6, 2))], 1)  # (N, 4)
    predictions = joints + rng.normal(scale=8.0, size=joints.shape)
    savemat(
        tmp_path / "gt_valid.mat",
        {
            "dataset_joints": np.array([MPII_JOINTS], dtype=object),
            "jnt_missing": missing.T,  # (16, N)
            "pos_gt_src": joints.transpose(1, 2, 0),  # (N, 16, 2) -> (16, 2, N)
            "headboxes_src": head_boxes.reshape(6, 2, 2).transpose(1, 2, 0),  # (N, 4) -> (2 corners, 2 xy, N)
        },
    )
    savemat(tmp_path / "pred.mat", {"preds": predictions})
    argv = ["pckh", "--gt", str(tmp_path / "gt_valid.mat"), "--pred", str(tmp_path / "pred.mat"), "--json"]
    assert evaluate_main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    expected = pckh(predictions, joints, missing == 0, head_boxes=head_boxes).summary
    assert summary == pytest.approx(expected)
    assert 0 < summary["Mean"] < 100
    # The same data as JSON ground truth with head boxes, and JSON predictions.
    people = [
        {"joints": j.tolist(), "joints_vis": (1 - m).tolist(), "head_box": b.tolist()}
        for j, m, b in zip(joints, missing, head_boxes, strict=True)
    ]
    (tmp_path / "gt.json").write_text(json.dumps(people))
    (tmp_path / "pred.json").write_text(json.dumps([{"joints": p.tolist()} for p in predictions]))
    assert evaluate_main(["pckh", "--gt", str(tmp_path / "gt.json"), "--pred", str(tmp_path / "pred.json")]) == 0
    table = capsys.readouterr().out
    assert "Head" in table and f"{expected['Mean']:.2f}" in table
    too_few = tmp_path / "few.npy"
    np.save(too_few, predictions[:4])
    message = run_dispatcher(["pckh", "--gt", str(tmp_path / "gt.json"), "--pred", str(too_few)], capsys)
    assert "has 4 predictions but" in message


def test_pckh_needs_head_boxes(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gt_path = shared_data / "mpii" / "test_mpii.json"
    pred_path = tmp_path / "pred.json"
    pred_path.write_text(json.dumps([person["joints"] for person in json.loads(gt_path.read_text())]))
    assert "has no 'head_box'" in run_dispatcher(["pckh", "--gt", str(gt_path), "--pred", str(pred_path)], capsys)


def test_predict_without_images_json_on_ochuman_is_scored_by_file_name(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gt_path = shared_data / "ochuman" / "test_ochuman.json"
    images = [str(path) for path in sorted((shared_data / "ochuman").glob("*.jpg"))]
    assert posekit_main(["predict", *images, "--out", str(tmp_path / "out"), "--no-vis"]) == 0
    pred_path = tmp_path / "out" / "predictions.json"
    capsys.readouterr()
    assert evaluate_main(["coco", "--gt", str(gt_path), "--pred", str(pred_path), "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith("posekit evaluate: matched ") and "by file name" in captured.err
    by_name = json.loads(captured.out)
    # The same predictions given the ground truth's ids and no file names: the reference score.
    ids = {image["file_name"]: image["id"] for image in json.loads(gt_path.read_text())["images"]}
    results = json.loads(pred_path.read_text())
    for result in results:
        result["image_id"] = ids[Path(result.pop("file_name")).name]
    fixed_path = tmp_path / "fixed.json"
    fixed_path.write_text(json.dumps(results))
    assert evaluate_main(["coco", "--gt", str(gt_path), "--pred", str(fixed_path), "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and json.loads(captured.out) == by_name
    assert by_name["AP"] > 0.0


def test_sigmas_option_and_skeletons_without_sigmas(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gt_path, pred_path = write_coco_files(tmp_path, seed=2)
    assert evaluate_main(["coco", "--gt", str(gt_path), "--pred", str(pred_path), "--json"]) == 0
    default = json.loads(capsys.readouterr().out)
    given = ",".join(f"{value:.4f}" for value in COCO_SIGMAS)
    argv = ["coco", "--gt", str(gt_path), "--pred", str(pred_path), "--skeleton", "h36m"]
    assert evaluate_main([*argv, "--sigmas", given, "--json"]) == 0  # h36m has 17 keypoints and no sigmas
    assert json.loads(capsys.readouterr().out) == default
    wider = ",".join(f"{value * 2:.4f}" for value in COCO_SIGMAS)
    assert evaluate_main([*argv, "--sigmas", wider, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["AP"] > default["AP"]
    assert "give its 17 per-keypoint sigmas (posekit evaluate coco --sigmas S1,...,S17" in run_dispatcher(argv, capsys)
    assert "--sigmas has 2 values, but skeleton 'h36m' has 17" in run_dispatcher([*argv, "--sigmas", "0.1,0.2"], capsys)
    assert "--sigmas expects K comma-separated numbers" in run_dispatcher([*argv, "--sigmas", "0.1,a"], capsys)
