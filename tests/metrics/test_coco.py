"""COCO keypoint AP/AR parity with pycocotools, OKS by hand and against COCOeval, OKS-NMS."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from posekit.metrics import (
    COCO_METRIC_NAMES,
    coco_keypoint_eval,
    match_prediction_images,
    oks,
    oks_nms,
    pairwise_oks,
    soft_oks_nms,
)

# Written out here (not read from posekit.skeletons) so these tests check the metric on its own.
COCO_SIGMAS = (
    np.array([0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89])
    / 10.0
)
CROWDPOSE_SIGMAS = np.array([0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89, 0.79, 0.79]) / 10.0


def make_dataset(seed: int, num_keypoints: int, num_images: int = 8) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """COCO-format ground truth and results: perturbed truth, missed people, false positives, duplicates."""
    rng = np.random.default_rng(seed)
    images, annotations, results = [], [], []
    for image_id in range(1, num_images + 1):
        images.append({"id": image_id, "width": 640, "height": 480, "file_name": f"{image_id:06d}.jpg"})
        for _ in range(int(rng.integers(1, 5))):
            width, height = rng.uniform(25, 260), rng.uniform(40, 380)  # small, medium and large people
            x, y = rng.uniform(0, 350), rng.uniform(0, 90)
            points = np.stack([x + rng.uniform(0, width, num_keypoints), y + rng.uniform(0, height, num_keypoints)], 1)
            flags = rng.choice([0, 1, 2], size=num_keypoints, p=[0.2, 0.2, 0.6])
            if rng.random() < 0.08:
                flags[:] = 0  # an annotation without keypoints: COCOeval ignores it
            points[flags == 0] = 0
            keypoints = np.concatenate([points, flags[:, None]], 1).reshape(-1)
            annotation_id = len(annotations) + 1
            area = float(width * height * rng.uniform(0.5, 0.8))
            annotations.append(
                {
                    "id": annotation_id,
                    "image_id": image_id,
                    "category_id": 1,
                    "keypoints": [round(float(v), 2) for v in keypoints],
                    "num_keypoints": int(np.count_nonzero(flags)),
                    "bbox": [float(x), float(y), float(width), float(height)],
                    "area": area,
                    "iscrowd": 0,
                }
            )
            if rng.random() < 0.2:
                continue  # missed person
            for _copy in range(1 + int(rng.random() < 0.15)):  # sometimes a duplicate
                noise = rng.normal(scale=np.sqrt(area) * rng.uniform(0.01, 0.12), size=(num_keypoints, 2))
                guess = np.stack([x + width / 2, y + height / 2]) + np.zeros((num_keypoints, 2))
                predicted = np.where(flags[:, None] > 0, points + noise, guess + noise)
                confidence = rng.uniform(0.05, 1.0, size=(num_keypoints, 1))
                results.append(
                    {
                        "image_id": image_id,
                        "category_id": 1,
                        "keypoints": np.concatenate([predicted, confidence], 1).reshape(-1).tolist(),
                        "score": float(rng.uniform(0.2, 1.0)),
                    }
                )
        for _ in range(int(rng.integers(0, 3))):  # false positives
            centre = rng.uniform([50, 50], [590, 430])
            predicted = centre + rng.normal(scale=40, size=(num_keypoints, 2))
            confidence = rng.uniform(0.05, 1.0, size=(num_keypoints, 1))
            results.append(
                {
                    "image_id": image_id,
                    "category_id": 1,
                    "keypoints": np.concatenate([predicted, confidence], 1).reshape(-1).tolist(),
                    "score": float(rng.uniform(0.0, 0.9)),
                }
            )
    categories = [
        {"id": 1, "name": "person", "supercategory": "person", "keypoints": [f"k{i}" for i in range(num_keypoints)]}
    ]
    return {"images": images, "annotations": annotations, "categories": categories}, results


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data))
    return path


def pycocotools_stats(gt_path: Path, pred_path: Path, sigmas: np.ndarray) -> np.ndarray:
    """The official recipe, run directly: COCO, loadRes, COCOeval('keypoints') with the sigmas."""
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(str(gt_path))
        coco_dt = coco_gt.loadRes(str(pred_path))
        evaluator = COCOeval(coco_gt, coco_dt, "keypoints")
        evaluator.params.kpt_oks_sigmas = np.asarray(sigmas)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return np.asarray(evaluator.stats)


@pytest.mark.parametrize("seed", [0, 1])
def test_coco17_matches_pycocotools(tmp_path: Path, seed: int) -> None:
    ground_truth, results = make_dataset(seed, 17)
    gt_path, pred_path = write_json(tmp_path / "gt.json", ground_truth), write_json(tmp_path / "pred.json", results)
    reference = pycocotools_stats(gt_path, pred_path, COCO_SIGMAS)
    assert 0.05 < reference[0] < 0.95  # a non-trivial case: neither perfect nor empty
    assert all(value > -1 for value in reference)  # medium and large people are both present
    snapshot = json.loads(json.dumps([ground_truth, results]))
    from_files = coco_keypoint_eval(gt_path, pred_path, sigmas=COCO_SIGMAS)
    from_objects = coco_keypoint_eval(ground_truth, results, sigmas=COCO_SIGMAS)
    assert [ground_truth, results] == snapshot  # the caller's objects are left as they were
    assert list(from_files) == list(COCO_METRIC_NAMES)
    np.testing.assert_allclose([from_files[name] for name in COCO_METRIC_NAMES], reference, rtol=0, atol=1e-12)
    assert from_objects == from_files
    assert coco_keypoint_eval(str(gt_path), str(pred_path)) == from_files  # default skeleton "coco"


def test_crowdpose14_sigmas_match_pycocotools(tmp_path: Path) -> None:
    ground_truth, results = make_dataset(3, 14)
    gt_path, pred_path = write_json(tmp_path / "gt.json", ground_truth), write_json(tmp_path / "pred.json", results)
    reference = pycocotools_stats(gt_path, pred_path, CROWDPOSE_SIGMAS)
    metrics = coco_keypoint_eval(gt_path, pred_path, sigmas=CROWDPOSE_SIGMAS)
    np.testing.assert_allclose([metrics[name] for name in COCO_METRIC_NAMES], reference, rtol=0, atol=1e-12)
    assert coco_keypoint_eval(gt_path, pred_path, skeleton="crowdpose") == metrics
    wider = coco_keypoint_eval(gt_path, pred_path, sigmas=CROWDPOSE_SIGMAS * 2)
    assert wider["AP"] > metrics["AP"]  # larger sigmas forgive more


def test_box_area_option_matches_pycocotools_on_rewritten_areas(tmp_path: Path) -> None:
    ground_truth, results = make_dataset(4, 17)
    rewritten = json.loads(json.dumps(ground_truth))
    for annotation in rewritten["annotations"]:
        annotation["area"] = annotation["bbox"][2] * annotation["bbox"][3] * 0.53
    reference = pycocotools_stats(
        write_json(tmp_path / "gt.json", rewritten), write_json(tmp_path / "pred.json", results), COCO_SIGMAS
    )
    for annotation in ground_truth["annotations"]:
        del annotation["area"]
    with pytest.raises(ValueError, match="has no 'area'"):
        coco_keypoint_eval(ground_truth, results, sigmas=COCO_SIGMAS)
    metrics = coco_keypoint_eval(ground_truth, results, sigmas=COCO_SIGMAS, use_area=False)
    np.testing.assert_allclose([metrics[name] for name in COCO_METRIC_NAMES], reference, rtol=0, atol=1e-12)


def ground_truth_as_results(ground_truth: dict[str, Any], keep_empty: bool = True) -> list[dict[str, Any]]:
    return [
        {"image_id": a["image_id"], "category_id": a["category_id"], "keypoints": a["keypoints"], "score": 1.0}
        for a in ground_truth["annotations"]
        if keep_empty or any(v > 0 for v in a["keypoints"][2::3])
    ]


def test_real_ochuman_ground_truth_scores_one(shared_data: Path) -> None:
    path = shared_data / "ochuman" / "test_ochuman.json"
    ground_truth = json.loads(path.read_text())
    metrics = coco_keypoint_eval(path, ground_truth_as_results(ground_truth), skeleton="coco")
    assert metrics["AP"] == 1.0 and metrics["AR"] == 1.0 and metrics["APl"] == 1.0
    assert metrics["APm"] == -1.0  # every OCHuman person here is large


def test_real_crowdpose_ground_truth_scores_one(shared_data: Path) -> None:
    path = shared_data / "crowdpose" / "test_crowdpose.json"
    ground_truth = json.loads(path.read_text())
    # No 'area' in CrowdPose: box area x 0.53 as its toolkit. Plain pycocotools keeps the empty person's
    # all-zero prediction as a false positive, so leave it out here ...
    plain = coco_keypoint_eval(path, ground_truth_as_results(ground_truth, False), skeleton="crowdpose", use_area=False)
    assert plain["AP"] == 1.0 and plain["AR"] == 1.0
    # ... while the CrowdPose protocol drops all-zero predictions itself.
    protocol = coco_keypoint_eval(
        path,
        ground_truth_as_results(ground_truth, True),
        skeleton="crowdpose",
        use_area=False,
        iou_type="keypoints_crowd",
        drop_zero_confidence=True,
    )
    assert protocol["AP"] == 1.0
    assert protocol["APmedium"] == 1.0  # crowd indices 0.33 and 0.39
    assert protocol["APeasy"] == -1.0 and protocol["APhard"] == -1.0
    kept = coco_keypoint_eval(path, ground_truth_as_results(ground_truth, True), skeleton="crowdpose", use_area=False)
    assert kept["AP"] < 1.0


def test_empty_predictions_give_zero() -> None:
    ground_truth, _ = make_dataset(5, 17)
    metrics = coco_keypoint_eval(ground_truth, [], sigmas=COCO_SIGMAS)
    assert set(metrics) == set(COCO_METRIC_NAMES)
    assert all(value == 0.0 for value in metrics.values())


def test_input_errors_are_clear(tmp_path: Path) -> None:
    ground_truth, results = make_dataset(6, 17)
    stray = dict(results[0], image_id=987654)
    with pytest.raises(ValueError, match="image ids not in the ground truth: 987654"):
        coco_keypoint_eval(ground_truth, [*results, stray], sigmas=COCO_SIGMAS)
    with pytest.raises(ValueError, match="category ids not in the ground truth: 7"):
        coco_keypoint_eval(ground_truth, [dict(results[0], category_id=7)], sigmas=COCO_SIGMAS)
    with pytest.raises(ValueError, match="51 keypoint values"):
        coco_keypoint_eval(ground_truth, results, sigmas=COCO_SIGMAS[:14])
    short = dict(results[0], keypoints=results[0]["keypoints"][:-3])
    with pytest.raises(ValueError, match="prediction 0 has 48 keypoint values, expected 51"):
        coco_keypoint_eval(ground_truth, [short], sigmas=COCO_SIGMAS)
    with pytest.raises(ValueError, match="NaN"):
        coco_keypoint_eval(ground_truth, [dict(results[0], keypoints=[float("nan")] * 51)], sigmas=COCO_SIGMAS)
    with pytest.raises(ValueError, match="list of COCO results"):
        coco_keypoint_eval(ground_truth, {"image_id": 1}, sigmas=COCO_SIGMAS)  # type: ignore[arg-type]
    bad = tmp_path / "bad.json"
    bad.write_text("[{")
    with pytest.raises(ValueError, match="not valid JSON"):
        coco_keypoint_eval(ground_truth, bad, sigmas=COCO_SIGMAS)
    with pytest.raises(OSError, match="cannot read predictions file"):
        coco_keypoint_eval(ground_truth, tmp_path / "missing.json", sigmas=COCO_SIGMAS)
    with pytest.raises(ValueError, match="has no 'images'"):
        coco_keypoint_eval({"annotations": [], "categories": []}, results, sigmas=COCO_SIGMAS)


def test_missing_score_and_category() -> None:
    ground_truth, results = make_dataset(7, 17)
    no_category = [{key: value for key, value in r.items() if key != "category_id"} for r in results]
    assert coco_keypoint_eval(ground_truth, no_category, sigmas=COCO_SIGMAS) == coco_keypoint_eval(
        ground_truth, results, sigmas=COCO_SIGMAS
    )
    no_score = [{key: value for key, value in r.items() if key != "score"} for r in results]
    with pytest.raises(ValueError, match="prediction 0 has no 'score'"):
        coco_keypoint_eval(ground_truth, no_score, sigmas=COCO_SIGMAS)
    same_score = [dict(r, score=0.5) for r in results]
    assert coco_keypoint_eval(ground_truth, no_score, sigmas=COCO_SIGMAS, default_score=0.5) == coco_keypoint_eval(
        ground_truth, same_score, sigmas=COCO_SIGMAS
    )


def test_quiet_unless_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    ground_truth, results = make_dataset(8, 17)
    coco_keypoint_eval(ground_truth, results, sigmas=COCO_SIGMAS)
    assert capsys.readouterr().out == ""
    coco_keypoint_eval(ground_truth, results, sigmas=COCO_SIGMAS, verbose=True)
    assert "Average Precision" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------------
# OKS
# --------------------------------------------------------------------------------------------------


def test_oks_by_hand() -> None:
    sigmas = [0.1, 0.1, 0.1]  # variance (2 sigma)^2 = 0.04
    target = np.array([[[10.0, 10.0, 2], [20.0, 20.0, 1], [30.0, 30.0, 0]]])
    predicted = np.array([[[12.0, 10.0], [20.0, 20.0], [99.0, 99.0]]])  # d^2 = 4, 0, (invisible)
    # e = d^2 / 0.04 / area / 2 with area 100 -> 0.5 and 0; mean over the two visible keypoints.
    expected = (np.exp(-0.5) + 1.0) / 2
    value = oks(predicted, target, [100.0], sigmas)
    assert value.shape == (1, 1)
    assert value[0, 0] == pytest.approx(expected, rel=1e-12)
    visible_all = oks(predicted, target, [100.0], sigmas, target_visible=np.ones((1, 3)))
    far = np.exp(-(89.0**2 * 2) / 0.04 / 100 / 2)
    assert visible_all[0, 0] == pytest.approx((np.exp(-0.5) + 1.0 + far) / 3, rel=1e-12)
    # A target without visible keypoints: 0, or distance to its box tripled in size when boxes are given.
    hidden = target.copy()
    hidden[..., 2] = 0
    assert oks(predicted, hidden, [100.0], sigmas)[0, 0] == 0.0
    inside = oks(predicted, hidden, [100.0], sigmas, target_boxes_xywh=[[0.0, 0.0, 50.0, 50.0]])
    # Box [0, 0, 50, 50] -> accepted region [-50, 100]^2: the first two points are inside (d = 0),
    # (99, 99) too; so all three exp(0) = 1.
    assert inside[0, 0] == pytest.approx(1.0, rel=1e-12)


def test_oks_matches_cocoeval_ious() -> None:
    ground_truth, results = make_dataset(9, 17)
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = ground_truth
        coco_gt.createIndex()
        evaluator = COCOeval(coco_gt, coco_gt.loadRes(json.loads(json.dumps(results))), "keypoints")
        evaluator.params.kpt_oks_sigmas = COCO_SIGMAS
        evaluator.evaluate()
    compared = 0
    for (image_id, category_id), reference in evaluator.ious.items():
        if len(reference) == 0:
            continue
        detections = evaluator._dts[image_id, category_id]
        order = np.argsort([-d["score"] for d in detections], kind="mergesort")[:20]
        targets = evaluator._gts[image_id, category_id]
        value = oks(
            np.array([detections[i]["keypoints"] for i in order]).reshape(len(order), 17, 3),
            np.array([g["keypoints"] for g in targets]).reshape(len(targets), 17, 3),
            [g["area"] for g in targets],
            COCO_SIGMAS,
            target_boxes_xywh=[g["bbox"] for g in targets],
        )
        np.testing.assert_allclose(value, reference, rtol=0, atol=1e-12)
        compared += value.size
    assert compared > 20


def test_oks_shape_errors() -> None:
    with pytest.raises(ValueError, match=r"keypoints must have shape \(N, K, 2\) or \(N, K, 3\), got \(5, 17\)"):
        oks(np.zeros((5, 17)), np.zeros((1, 17, 3)), [1.0], COCO_SIGMAS)
    with pytest.raises(ValueError, match="sigmas must have K=17 entries, got 14"):
        oks(np.zeros((1, 17, 2)), np.zeros((1, 17, 3)), [1.0], CROWDPOSE_SIGMAS)


# --------------------------------------------------------------------------------------------------
# OKS-NMS
# --------------------------------------------------------------------------------------------------


def nms_scene() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(10)
    base = rng.uniform(100, 200, size=(17, 2))
    near = base + 1.0  # OKS with base close to 1
    far = base + 300.0
    keypoints = np.stack([near, base, far, base + 15.0])
    keypoints = np.concatenate([keypoints, np.ones((4, 17, 1))], axis=2)
    scores = np.array([0.8, 0.9, 0.7, 0.6])
    areas = np.full(4, 100.0 * 100.0)
    return keypoints, scores, areas


def test_oks_nms_keeps_the_best_of_each_person() -> None:
    keypoints, scores, areas = nms_scene()
    overlap = pairwise_oks(keypoints, areas, COCO_SIGMAS)
    assert overlap[0, 1] > 0.9 and overlap[1, 2] < 0.01 and 0.01 < overlap[1, 3] < 0.9
    np.testing.assert_allclose(overlap, overlap.T)
    assert oks_nms(keypoints, scores, areas, 0.9, COCO_SIGMAS).tolist() == [1, 2, 3]
    assert oks_nms(keypoints, scores, areas, 1.0, COCO_SIGMAS).tolist() == [1, 0, 2, 3]
    assert oks_nms(keypoints, scores, areas, overlap[1, 3] - 1e-9, COCO_SIGMAS).tolist() == [1, 2]
    assert oks_nms(keypoints[:0], scores[:0], areas[:0], 0.9, COCO_SIGMAS).tolist() == []
    # Pairwise OKS is the mean-area OKS of the two poses over all keypoints.
    single = oks(keypoints[[0]], keypoints[[1]], [areas[0]], COCO_SIGMAS, target_visible=np.ones((1, 17)))
    assert overlap[0, 1] == pytest.approx(single[0, 0], rel=1e-12)


def test_oks_nms_visibility_threshold() -> None:
    keypoints, scores, areas = nms_scene()
    keypoints[0, :, 2] = 0.1  # the near duplicate is unsure of every keypoint: nothing to compare
    overlap = pairwise_oks(keypoints, areas, COCO_SIGMAS, visibility_threshold=0.2)
    assert overlap[0, 1] == 0.0
    assert oks_nms(keypoints, scores, areas, 0.9, COCO_SIGMAS, visibility_threshold=0.2).tolist() == [1, 0, 2, 3]


def test_soft_oks_nms() -> None:
    keypoints, scores, areas = nms_scene()
    overlap = pairwise_oks(keypoints, areas, COCO_SIGMAS)
    # Gaussian decay: the duplicate falls to 0.8 * exp(-o^2 / 0.9) < 0.6, behind both other people.
    assert 0.8 * np.exp(-(overlap[1, 0] ** 2) / 0.9) < 0.6
    assert soft_oks_nms(keypoints, scores, areas, 0.9, 20, COCO_SIGMAS).tolist() == [1, 2, 3, 0]
    assert soft_oks_nms(keypoints, scores, areas, 0.9, 2, COCO_SIGMAS).tolist() == [1, 2]
    # Linear: only overlaps >= threshold decay, by (1 - o).
    linear = soft_oks_nms(keypoints, scores, areas, 0.5, 20, COCO_SIGMAS, method="linear")
    assert linear.tolist() == [1, 2, 3, 0]
    with pytest.raises(ValueError, match="method"):
        soft_oks_nms(keypoints, scores, areas, method="box")  # type: ignore[arg-type]


def test_predictions_are_matched_by_file_name_when_their_ids_are_not_the_ground_truths() -> None:
    ground_truth, results = make_dataset(7, 17)
    names = {image["id"]: image["file_name"] for image in ground_truth["images"]}
    expected = coco_keypoint_eval(ground_truth, results, sigmas=COCO_SIGMAS)
    # As `posekit predict` without --images-json writes them: full paths, ids counted in another order.
    order = {image_id: position + 1 for position, image_id in enumerate(sorted(names, key=lambda i: -i))}
    renumbered = [
        dict(result, image_id=order[result["image_id"]], file_name=f"/data/val/{names[result['image_id']]}")
        for result in results
    ]
    notes: list[str] = []
    assert coco_keypoint_eval(ground_truth, renumbered, sigmas=COCO_SIGMAS, report=notes.append) == expected
    assert len(notes) == 1 and notes[0].startswith(f"matched {len(results)} predictions to the ground truth by file")
    wrong = coco_keypoint_eval(ground_truth, [{**r, "file_name": None} for r in renumbered], sigmas=COCO_SIGMAS)
    assert wrong["AP"] < expected["AP"]  # the same ids without names score the wrong images
    # Ids that are not the ground truth's at all (strings), names relative to another root.
    by_name = [
        dict(result, image_id=f"x{result['image_id']}", file_name=f"images/{names[result['image_id']]}")
        for result in results
    ]
    assert coco_keypoint_eval(ground_truth, by_name, sigmas=COCO_SIGMAS, report=notes.append) == expected
    assert len(notes) == 2 and "not a ground-truth id" in notes[1]
    # Ids and names that agree: no note.
    agreeing = [dict(result, file_name=names[result["image_id"]]) for result in results]
    assert coco_keypoint_eval(ground_truth, agreeing, sigmas=COCO_SIGMAS, report=notes.append) == expected
    assert len(notes) == 2


def test_match_prediction_images_refuses_what_matches_neither_way() -> None:
    images = [
        {"id": 1, "file_name": "a/0001.jpg"},
        {"id": 2, "file_name": "b/0001.jpg"},
        {"id": 3, "file_name": "c.jpg"},
    ]
    # A base name shared by two images does not match; the relative path does.
    assert match_prediction_images([{"image_id": 9, "file_name": "/x/b/0001.jpg"}], images) == ([2], expected_note(1))
    with pytest.raises(ValueError, match=r"image ids not in the ground truth: 9 .*only 0 of 1 have a file_name"):
        match_prediction_images([{"image_id": 9, "file_name": "/x/0001.jpg"}], images)
    with pytest.raises(ValueError, match="they carry no file_name"):
        match_prediction_images([{"image_id": 9}, {"image_id": 1}], images)
    with pytest.raises(ValueError, match="ground truth's images have no file_name"):
        match_prediction_images([{"image_id": 9, "file_name": "c.jpg"}], [{"id": 1}])
    # Partial ids, partial names: refused, with the names that are not in the ground truth.
    with pytest.raises(ValueError, match=r"\(1 of 2 predictions\).*not in it: 'd.jpg'"):
        match_prediction_images([{"image_id": 9, "file_name": "c.jpg"}, {"image_id": 1, "file_name": "d.jpg"}], images)
    # Every id is known, some names are not and one contradicts its id: neither is trusted.
    with pytest.raises(ValueError, match="image ids and file names disagree"):
        match_prediction_images([{"image_id": 1, "file_name": "c.jpg"}, {"image_id": 2, "file_name": "d.jpg"}], images)
    # Every id is known and the names that match agree with them: the ids are used, silently.
    assert match_prediction_images(
        [{"image_id": 3, "file_name": "c.jpg"}, {"image_id": 2, "file_name": "d.jpg"}], images
    ) == ([3, 2], None)


def expected_note(count: int) -> str:
    return (
        f"matched {count} predictions to the ground truth by file name ({count} had an image_id that is not a "
        "ground-truth id; posekit predict numbers images in file order unless --images-json gives it the ground "
        "truth's ids)"
    )
