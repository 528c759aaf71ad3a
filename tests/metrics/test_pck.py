"""PCK, PCKh, AUC and EPE on hand-computed cases and the real MPII sample."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from posekit.metrics import MPII_SUMMARY_NAMES, auc, epe, format_pckh_table, pck, pck_box, pck_torso, pckh


def pck_case() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    target = np.zeros((3, 3, 2))
    predicted = np.zeros((3, 3, 2))
    predicted[0, 0] = [1, 2]  # / (10, 20) -> (0.1, 0.1): 0.1414
    predicted[0, 1] = [5, 0]  # -> 0.5
    predicted[0, 2] = [50, 50]  # invisible: does not count
    predicted[1, 0] = [0, 3]  # / (10, 10) -> 0.3
    predicted[1, 2] = [2, 0]  # -> 0.2
    predicted[2] = 100.0  # third instance has a zero normaliser: left out
    visible = np.array([[1, 1, 0], [1, 1, 1], [1, 1, 1]])
    normalizer = np.array([[10.0, 20.0], [10.0, 10.0], [0.0, 5.0]])
    return predicted, target, visible, normalizer


def test_pck_by_hand() -> None:
    predicted, target, visible, normalizer = pck_case()
    per_joint, mean, valid_count = pck(predicted, target, visible, 0.25, normalizer)
    np.testing.assert_allclose(per_joint, [0.5, 0.5, 1.0])
    assert mean == pytest.approx(2 / 3) and valid_count == 3
    # The comparison is strict (< threshold, as MMPose): a distance of exactly 0.5 is wrong.
    assert pck(predicted, target, visible, 0.5, normalizer).per_joint[1] == 0.5
    assert pck(predicted, target, visible, 0.5 + 1e-9, normalizer).per_joint[1] == 1.0


def test_pck_joint_without_valid_instance_is_minus_one() -> None:
    predicted, target, visible, normalizer = pck_case()
    visible = visible.copy()
    visible[:, 2] = 0
    result = pck(predicted, target, visible, 0.25, normalizer)
    np.testing.assert_allclose(result.per_joint, [0.5, 0.5, -1.0])
    assert result.mean == pytest.approx(0.5) and result.valid_count == 2
    nothing = pck(predicted, target, np.zeros_like(visible), 0.25, normalizer)
    assert nothing.mean == 0.0 and nothing.valid_count == 0


def test_pck_isotropic_normalizer_and_shape_errors() -> None:
    predicted, target, visible, _ = pck_case()
    sizes = np.array([10.0, 10.0, 10.0])
    isotropic = pck(predicted, target, visible, 0.25, sizes)
    np.testing.assert_allclose(
        isotropic.per_joint, pck(predicted, target, visible, 0.25, np.stack([sizes] * 2, 1)).per_joint
    )
    with pytest.raises(ValueError, match=r"normalizer must have shape \(3,\) or \(3, 2\), got \(2,\)"):
        pck(predicted, target, visible, 0.25, [1.0, 2.0])
    with pytest.raises(ValueError, match=r"visible must have shape \(3, 3\)"):
        pck(predicted, target, visible[:, :2], 0.25, sizes)
    with pytest.raises(ValueError, match="predicted must have the shape of target"):
        pck(predicted[:2], target, visible, 0.25, sizes)


def test_pck_box_uses_the_longer_side() -> None:
    target = np.zeros((2, 2, 2))
    predicted = np.array([[[9.0, 0.0], [11.0, 0.0]], [[0.0, 4.0], [0.0, 6.0]]])
    boxes = np.array([[0, 0, 100, 50], [10, 10, 30, 60]])  # sizes max(w, h) = 100 and 50
    result = pck_box(predicted, target, np.ones((2, 2)), boxes, threshold=0.1)  # 10 px and 5 px
    np.testing.assert_allclose(result.per_joint, [1.0, 0.0])
    with pytest.raises(ValueError, match=r"boxes must have shape \(2, 4\)"):
        pck_box(predicted, target, np.ones((2, 2)), boxes[:, :2])


def test_pck_torso() -> None:
    target = np.zeros((2, 3, 2))
    target[:, 1] = [30.0, 40.0]  # torso between keypoints 0 and 1: 50 px
    predicted = target.copy()
    predicted[:, 2] += [9.0, 0.0]  # 0.18 torso
    predicted[1, 2] += [2.0, 0.0]  # 0.22 torso
    result = pck_torso(predicted, target, np.ones((2, 3)), threshold=0.2, torso_indices=(0, 1))
    np.testing.assert_allclose(result.per_joint, [1.0, 1.0, 0.5])
    visible = np.ones((2, 3))
    visible[1, 0] = 0  # no torso for the second person: left out entirely
    hidden = pck_torso(predicted, target, visible, threshold=0.2, torso_indices=(0, 1))
    np.testing.assert_allclose(hidden.per_joint, [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="torso_indices"):
        pck_torso(predicted, target, visible, torso_indices=(0, 7))


def test_auc_by_hand() -> None:
    target = np.zeros((4, 5, 2))
    predicted = target + np.array([9.3, 0.0])  # 0.31 of 30 px
    # Correct at thresholds i / 20 > 0.31, i.e. i = 7 ... 19: 13 of 20.
    assert auc(predicted, target, np.ones((4, 5)), 30.0) == pytest.approx(13 / 20)
    assert auc(predicted, target, np.ones((4, 5)), np.full(4, 30.0), num_thresholds=10) == pytest.approx(6 / 10)
    assert auc(target, target, np.ones((4, 5))) == pytest.approx(19 / 20)  # 0 < 0 fails at threshold 0


def test_epe_by_hand() -> None:
    target = np.zeros((2, 2, 2))
    predicted = np.array([[[3.0, 4.0], [0.0, 1.0]], [[6.0, 8.0], [100.0, 0.0]]])
    visible = np.array([[1, 1], [1, 0]])
    assert epe(predicted, target, visible) == pytest.approx((5 + 1 + 10) / 3)
    assert epe(predicted, target, np.zeros((2, 2))) == 0.0


MPII = {  # MPII joint order: r ankle ... l wrist
    name: index
    for index, name in enumerate(
        ["r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle", "pelvis", "thorax"]
        + ["upper_neck", "head_top", "r_wrist", "r_elbow", "r_shoulder", "l_shoulder", "l_elbow", "l_wrist"]
    )
}


def test_pckh_by_hand() -> None:
    rng = np.random.default_rng(0)
    target = rng.uniform(0, 500, size=(2, 16, 2))
    fraction = np.full((2, 16), 0.2)  # displacement in head sizes
    fraction[0, MPII["l_wrist"]] = 0.7
    fraction[0, MPII["pelvis"]] = 0.9  # wrong, but pelvis is not in the mean
    fraction[1, MPII["head_top"]] = 0.5  # exactly the threshold: correct (<=, as MPII)
    fraction[1, MPII["r_knee"]] = 0.55
    fraction[:, MPII["r_shoulder"]] = 0.05
    visible = np.ones((2, 16))
    visible[1, MPII["r_ankle"]] = 0
    head_sizes = np.array([30.0, 40.0])
    predicted = target.copy()
    predicted[..., 0] += fraction * head_sizes[:, None]
    result = pckh(predicted, target, visible, head_sizes=head_sizes)
    expected = np.full(16, 100.0)
    expected[[MPII["l_wrist"], MPII["pelvis"], MPII["r_knee"]]] = 50.0
    np.testing.assert_allclose(result.per_joint, expected)
    np.testing.assert_array_equal(result.count, np.where(np.arange(16) == MPII["r_ankle"], 1, 2))
    # Mean over visible joints without pelvis and thorax: 27 visible, 25 correct.
    assert result.mean == pytest.approx(100 * 25 / 27)
    summary = result.summary
    assert list(summary) == list(MPII_SUMMARY_NAMES)
    assert summary["Head"] == 100.0
    assert summary["Wrist"] == pytest.approx(75.0) and summary["Knee"] == pytest.approx(75.0)
    assert summary["Ankle"] == 100.0 and summary["Shoulder"] == 100.0
    assert summary["Mean"] == result.mean
    assert summary["Mean@0.1"] == pytest.approx(100 * 2 / 27)  # only the right shoulders are within 0.1
    table = format_pckh_table(summary)
    assert "Shoulder" in table and "Mean@0.1" in table and "92.59" in table


def test_pckh_head_boxes() -> None:
    target = np.zeros((1, 16, 2))
    predicted = target + [0.0, 14.0]
    boxes = np.array([[10.0, 10.0, 40.0, 50.0]])  # diagonal 50 -> head size 0.6 * 50 = 30
    assert pckh(predicted, target, np.ones((1, 16)), head_boxes=boxes).mean == 100.0  # 14 / 30 < 0.5
    assert pckh(predicted + [0.0, 2.0], target, np.ones((1, 16)), head_boxes=boxes).mean == 0.0  # 16 / 30
    with pytest.raises(ValueError, match="exactly one of head_boxes"):
        pckh(predicted, target, np.ones((1, 16)))
    with pytest.raises(ValueError, match="head sizes must be positive"):
        pckh(predicted, target, np.ones((1, 16)), head_sizes=[0.0])
    other = pckh(np.zeros((1, 5, 2)), np.zeros((1, 5, 2)), np.ones((1, 5)), head_sizes=[1.0])
    assert other.summary == {} and other.mean == 100.0  # not MPII-16: no table


def test_pckh_real_mpii_sample(shared_data: Path) -> None:
    people = json.loads((shared_data / "mpii" / "test_mpii.json").read_text())
    target = np.array([person["joints"] for person in people], dtype=np.float64)
    visible = np.array([person["joints_vis"] for person in people])
    assert target.shape == (5, 16, 2) and visible.sum() < 80  # some joints are missing (-1, -1)
    # The sample has no head boxes; the annotated upper-neck to head-top segment stands in for the head.
    head_sizes = np.linalg.norm(target[:, MPII["head_top"]] - target[:, MPII["upper_neck"]], axis=1)
    perfect = pckh(target, target, visible, head_sizes=head_sizes)
    assert perfect.mean == 100.0 and all(value == 100.0 for value in perfect.summary.values())
    direction = np.array([0.6, 0.8])
    near = target + 0.45 * head_sizes[:, None, None] * direction
    far = target + 0.55 * head_sizes[:, None, None] * direction
    assert pckh(near, target, visible, head_sizes=head_sizes).mean == 100.0
    assert pckh(far, target, visible, head_sizes=head_sizes).mean == 0.0
    assert pckh(far, target, visible, head_sizes=head_sizes, threshold=0.6).mean == 100.0
