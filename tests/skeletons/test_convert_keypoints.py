"""Tests for posekit.skeletons.convert: conversion by name, derived joints, flips, numpy/torch parity."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posekit.skeletons import (
    convert_keypoints,
    convert_keypoints_and_scores,
    flip_keypoints,
    get_skeleton,
    list_skeletons,
)

RNG = np.random.default_rng(0)


def _random(shape: tuple[int, ...]) -> np.ndarray:
    return RNG.uniform(0, 100, size=shape).astype(np.float32)


def _mmpose_coco_to_h36m(coco: np.ndarray) -> np.ndarray:
    """Independent re-statement of MMPose's COCO -> H36M keypoint conversion, by index."""
    out = np.zeros(coco.shape[:-2] + (17, coco.shape[-1]), dtype=coco.dtype)
    out[..., 0, :] = (coco[..., 11, :] + coco[..., 12, :]) / 2
    out[..., 8, :] = (coco[..., 5, :] + coco[..., 6, :]) / 2
    out[..., 7, :] = (out[..., 0, :] + out[..., 8, :]) / 2
    out[..., 10, :] = (coco[..., 1, :] + coco[..., 2, :]) / 2
    out[..., [1, 2, 3, 4, 5, 6, 9, 11, 12, 13, 14, 15, 16], :] = coco[
        ..., [12, 14, 16, 11, 13, 15, 0, 5, 7, 9, 6, 8, 10], :
    ]
    return out


def test_coco_to_h36m_matches_mmpose_convention() -> None:
    coco = _random((4, 3, 17, 2))
    h36m, valid = convert_keypoints(coco, "coco", "h36m")
    assert h36m.shape == (4, 3, 17, 2) and h36m.dtype == np.float32
    assert valid.all()
    np.testing.assert_allclose(h36m, _mmpose_coco_to_h36m(coco), rtol=1e-6, atol=1e-4)


def test_hand_checked_derived_values() -> None:
    coco = np.zeros((17, 2), dtype=np.float32)
    coco[5] = (10, 20)  # left_shoulder
    coco[6] = (30, 20)  # right_shoulder
    coco[11] = (12, 60)  # left_hip
    coco[12] = (28, 60)  # right_hip
    coco[1] = (18, 5)  # left_eye
    coco[2] = (22, 5)  # right_eye
    h36m, _ = convert_keypoints(coco, "coco", "h36m")
    h = get_skeleton("h36m")
    np.testing.assert_allclose(h36m[h.index("pelvis")], (20, 60))
    np.testing.assert_allclose(h36m[h.index("thorax")], (20, 20))
    np.testing.assert_allclose(h36m[h.index("spine")], (20, 40))
    np.testing.assert_allclose(h36m[h.index("head")], (20, 5))
    mpii, valid = convert_keypoints(coco, "coco", "mpii")
    m = get_skeleton("mpii")
    assert valid.all()
    # head_top = 4/3 head - 1/3 neck = 4/3 (20, 5) - 1/3 (20, 20) = (20, 0)
    np.testing.assert_allclose(mpii[m.index("head_top")], (20, 0), atol=1e-5)
    # upper_neck = 3/4 neck + 1/4 head_top = (20, 15)
    np.testing.assert_allclose(mpii[m.index("upper_neck")], (20, 15), atol=1e-5)
    crowdpose, valid = convert_keypoints(coco, "coco", "crowdpose")
    assert valid.all()
    np.testing.assert_allclose(crowdpose[-1], (20, 20))  # neck = mid-shoulders
    ntu, valid = convert_keypoints(coco, "coco", "ntu")
    n = get_skeleton("ntu")
    np.testing.assert_allclose(ntu[n.index("spine_base")], (20, 60))
    np.testing.assert_allclose(ntu[n.index("spine_mid")], (20, 40))
    np.testing.assert_allclose(ntu[n.index("spine_shoulder")], (20, 20))
    assert not valid[n.index("left_thumb")] and not valid[n.index("left_foot")]


def test_crowdpose_to_h36m_uses_neck_and_head_top() -> None:
    crowdpose = _random((5, 14, 2))
    h36m, valid = convert_keypoints(crowdpose, "crowdpose", "h36m")
    assert valid.all()
    neck, head_top = crowdpose[:, 13], crowdpose[:, 12]
    np.testing.assert_allclose(h36m[:, 9], (3 * neck + head_top) / 4, rtol=1e-5)
    np.testing.assert_allclose(h36m[:, 10], (5 * neck + 7 * head_top) / 12, rtol=1e-5)
    np.testing.assert_allclose(h36m[:, 8], (crowdpose[:, 0] + crowdpose[:, 1]) / 2, rtol=1e-5)


def test_coco_blazepose_round_trip_and_shared_joints() -> None:
    coco = _random((6, 17, 3))
    blaze, valid = convert_keypoints(coco, "coco", "blazepose")
    b = get_skeleton("blazepose")
    shared = [b.index(name) for name in get_skeleton("coco").keypoint_names]
    assert valid[:, shared].all()
    assert not valid[:, b.index("left_heel")].any()
    assert (blaze[:, b.index("left_heel")] == 0).all()
    back, back_valid = convert_keypoints(blaze, "blazepose", "coco", scores=valid.astype(np.float32))
    assert back_valid.all()
    np.testing.assert_array_equal(back, coco)


@pytest.mark.parametrize("name", ["coco", "mpii", "crowdpose", "h36m", "smpl", "ntu", "blazepose"])
def test_identity_conversion(name: str) -> None:
    skeleton = get_skeleton(name)
    keypoints = _random((2, skeleton.num_keypoints, 2))
    out, valid = convert_keypoints(keypoints, name, name)
    np.testing.assert_array_equal(out, keypoints)
    assert valid.all()


def test_invalid_sources_propagate_and_are_zero_filled() -> None:
    coco = _random((3, 17, 2))
    scores = np.ones((3, 17), dtype=np.float32)
    scores[0, 11] = 0.0  # left_hip missing in instance 0
    coco[1, 5] = np.nan  # left_shoulder NaN in instance 1
    h36m, valid = convert_keypoints(coco, "coco", "h36m", scores=scores)
    assert np.isfinite(h36m).all()
    h = get_skeleton("h36m")
    pelvis, spine, thorax, left_hip = (h.index(n) for n in ("pelvis", "spine", "thorax", "left_hip"))
    assert not valid[0, pelvis] and not valid[0, spine] and not valid[0, left_hip] and valid[0, thorax]
    assert (h36m[0, [pelvis, spine, left_hip]] == 0).all()
    assert not valid[1, thorax] and not valid[1, spine] and valid[1, pelvis]
    assert valid[2].all()


def test_per_element_fallback_to_a_later_recipe() -> None:
    coco = _random((2, 17, 2))
    scores = np.ones((2, 17), dtype=np.float32)
    scores[1, 0] = 0  # nose missing: neck_nose falls back to 3/4 neck + 1/4 head_top
    h36m, valid = convert_keypoints(coco, "coco", "h36m", scores=scores)
    assert valid.all()
    np.testing.assert_allclose(h36m[0, 9], coco[0, 0])
    neck = (coco[1, 5] + coco[1, 6]) / 2
    head = (coco[1, 1] + coco[1, 2]) / 2
    head_top = 4 / 3 * head - 1 / 3 * neck
    np.testing.assert_allclose(h36m[1, 9], 0.75 * neck + 0.25 * head_top, rtol=1e-5)


def test_scores_are_carried_with_minimum_for_derived_joints() -> None:
    coco = _random((17, 2))
    scores = np.linspace(0.1, 0.9, 17).astype(np.float32)
    scores[3] = 0.0
    h36m, h36m_scores, valid = convert_keypoints_and_scores(coco, scores, "coco", "h36m")
    assert h36m_scores[0] == pytest.approx(min(scores[11], scores[12]))
    assert h36m_scores[7] == pytest.approx(min(scores[[5, 6, 11, 12]]))
    assert h36m_scores[1] == pytest.approx(scores[12])
    _, blaze_scores, blaze_valid = convert_keypoints_and_scores(coco, scores, "coco", "blazepose")
    assert blaze_scores[7] == 0 and not blaze_valid[7]  # left_ear had score 0


@pytest.mark.parametrize("dst", ["h36m", "mpii", "ntu", "smpl", "crowdpose"])
def test_torch_matches_numpy_and_is_differentiable(dst: str) -> None:
    coco = _random((2, 4, 17, 3))
    scores = RNG.uniform(-0.2, 1, size=(2, 4, 17)).astype(np.float32)
    expected, expected_valid = convert_keypoints(coco, "coco", dst, scores=scores)
    tensor = torch.from_numpy(coco).requires_grad_(True)
    out, valid = convert_keypoints(tensor, "coco", dst, scores=torch.from_numpy(scores))
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(valid.numpy(), expected_valid)
    out.sum().backward()
    assert tensor.grad is not None and torch.isfinite(tensor.grad).all()
    _, torch_scores, _ = convert_keypoints_and_scores(tensor, torch.from_numpy(scores), "coco", dst)
    _, numpy_scores, _ = convert_keypoints_and_scores(coco, scores, "coco", dst)
    np.testing.assert_allclose(torch_scores.detach().numpy(), numpy_scores)


def test_every_pair_of_skeletons_converts() -> None:
    for src in list_skeletons():
        source = get_skeleton(src)
        keypoints = _random((source.num_keypoints, 2))
        for dst in list_skeletons():
            out, valid = convert_keypoints(keypoints, src, dst)
            assert out.shape == (get_skeleton(dst).num_keypoints, 2)
            assert np.isfinite(out).all()
            assert (out[~valid] == 0).all()
    # all H36M joints can be derived from every 2D detector format
    for src in ("coco", "mpii", "crowdpose", "blazepose", "ntu"):
        source = get_skeleton(src)
        _, valid = convert_keypoints(_random((source.num_keypoints, 2)), src, "h36m")
        assert valid.all(), src


def test_bad_shapes_raise() -> None:
    with pytest.raises(ValueError, match=r"must have shape \(\.\.\., 17, 2\).*'coco', got \(5, 16, 2\)"):
        convert_keypoints(np.zeros((5, 16, 2)), "coco", "h36m")
    with pytest.raises(ValueError, match=r"got \(17,\)"):
        convert_keypoints(np.zeros(17), "coco", "h36m")
    with pytest.raises(ValueError, match=r"got \(17, 4\)"):
        convert_keypoints(np.zeros((17, 4)), "coco", "h36m")
    with pytest.raises(ValueError, match="scores must have shape"):
        convert_keypoints(np.zeros((2, 17, 2)), "coco", "h36m", scores=np.ones((17,)))
    with pytest.raises(ValueError, match="unknown skeleton"):
        convert_keypoints(np.zeros((17, 2)), "coco", "openpose")
    with pytest.raises(ValueError, match="must have shape"):
        flip_keypoints(np.zeros((3, 16, 2)), "coco", 100)


def test_flip_keypoints() -> None:
    coco = np.zeros((1, 17, 2), dtype=np.float32)
    coco[0, 5] = (10, 20)  # left_shoulder
    coco[0, 6] = (30, 21)  # right_shoulder
    flipped = flip_keypoints(coco, "coco", image_width=100)
    np.testing.assert_allclose(flipped[0, 5], (99 - 30, 21))  # new left = mirrored old right
    np.testing.assert_allclose(flipped[0, 6], (99 - 10, 20))
    np.testing.assert_allclose(flipped[0, 0], (99, 0))
    assert coco[0, 5, 0] == 10  # input untouched
    keypoints_3d = _random((4, 5, 17, 3))
    twice = flip_keypoints(flip_keypoints(keypoints_3d, "h36m", 64), "h36m", 64)
    np.testing.assert_allclose(twice, keypoints_3d, atol=1e-4)
    once = flip_keypoints(keypoints_3d, "h36m", 64)
    np.testing.assert_array_equal(once[..., 1:], keypoints_3d[..., get_skeleton("h36m").flip_indices, 1:])
    tensor_flipped = flip_keypoints(torch.from_numpy(keypoints_3d), "h36m", 64)
    np.testing.assert_allclose(tensor_flipped.numpy(), once)
