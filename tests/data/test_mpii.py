"""MPII PCKh files: head boxes from .mat/.npz/.npy, gt_valid.mat and JSON ground truth, prediction files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.io import savemat

from posekit.data.mpii import load_head_boxes, load_mpii_ground_truth, load_mpii_predictions, load_pckh_files


def test_head_boxes_from_mat_npz_and_npy(tmp_path: Path) -> None:
    boxes = np.array([[10.0, 20.0, 40.0, 60.0], [0.0, 0.0, 5.0, 5.0]])
    corners = np.stack([boxes[:, :2].T, boxes[:, 2:].T])  # (2 corners, 2 xy, N) as gt_valid.mat
    savemat(tmp_path / "gt_valid.mat", {"headboxes_src": corners})
    np.testing.assert_allclose(load_head_boxes(tmp_path / "gt_valid.mat"), boxes)
    np.savez(tmp_path / "heads.npz", head_boxes=boxes)
    np.testing.assert_allclose(load_head_boxes(tmp_path / "heads.npz", expected=2), boxes)
    np.save(tmp_path / "heads.npy", boxes)
    np.testing.assert_allclose(load_head_boxes(tmp_path / "heads.npy"), boxes)
    with pytest.raises(ValueError, match="2 head boxes for 3 annotations"):
        load_head_boxes(boxes, expected=3)
    np.savez(tmp_path / "wrong.npz", boxes=boxes)
    with pytest.raises(ValueError, match=r"wrong\.npz: has no array 'head_boxes'"):
        load_head_boxes(tmp_path / "wrong.npz")
    with pytest.raises(FileNotFoundError, match="cannot read head-box file"):
        load_head_boxes(tmp_path / "missing.mat")


def test_ground_truth_and_predictions_from_mat_json_and_npy(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    joints = rng.uniform(100, 600, size=(3, 16, 2))
    missing = (rng.random((3, 16)) < 0.2).astype(np.uint8)
    head_boxes = np.tile([[10.0, 20.0, 40.0, 60.0]], (3, 1))
    savemat(
        tmp_path / "gt_valid.mat",
        {
            "jnt_missing": missing.T,  # (16, N)
            "pos_gt_src": joints.transpose(1, 2, 0),  # (N, 16, 2) -> (16, 2, N)
            "headboxes_src": head_boxes.reshape(3, 2, 2).transpose(1, 2, 0),  # (N, 4) -> (2, 2, N)
        },
    )
    loaded_joints, visible, loaded_boxes = load_mpii_ground_truth(tmp_path / "gt_valid.mat")
    np.testing.assert_allclose(loaded_joints, joints)
    np.testing.assert_array_equal(visible, missing == 0)
    np.testing.assert_allclose(loaded_boxes, head_boxes)
    people = [
        {"joints": j.tolist(), "joints_vis": (1 - m).tolist(), "head_box": b.tolist()}
        for j, m, b in zip(joints, missing, head_boxes, strict=True)
    ]
    (tmp_path / "gt.json").write_text(json.dumps(people))
    from_json = load_mpii_ground_truth(tmp_path / "gt.json")
    for part, expected in zip(from_json, (joints, missing == 0, head_boxes), strict=True):
        np.testing.assert_allclose(part, expected)
    scored = np.concatenate([joints, np.ones((3, 16, 1))], axis=-1)  # a score column is dropped
    np.save(tmp_path / "pred.npy", scored)
    np.testing.assert_allclose(load_mpii_predictions(tmp_path / "pred.npy"), joints)
    savemat(tmp_path / "pred.mat", {"preds": joints})
    predictions, *_ = load_pckh_files(tmp_path / "gt.json", tmp_path / "pred.mat")
    np.testing.assert_allclose(predictions, joints)
    np.save(tmp_path / "few.npy", joints[:2])
    with pytest.raises(ValueError, match="has 2 predictions but .*gt.json' has 3 people"):
        load_pckh_files(tmp_path / "gt.json", tmp_path / "few.npy")
    (tmp_path / "nobox.json").write_text(json.dumps([{"joints": joints[0].tolist()}]))
    with pytest.raises(ValueError, match="has no 'head_box'"):
        load_mpii_ground_truth(tmp_path / "nobox.json")
    with pytest.raises(FileNotFoundError, match="cannot read predictions file"):
        load_mpii_predictions(tmp_path / "missing.mat")
