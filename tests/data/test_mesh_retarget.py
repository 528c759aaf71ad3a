"""Retargeting mocap points onto the 24-joint body model by bone directions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posekit.data.mesh_retarget import SOLVED_BONES, retarget_errors, retarget_points


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    from posekit.bodymodels import load_body_model

    return load_body_model("open", dtype=torch.float64)


@pytest.fixture(scope="module")
def clips() -> list:
    pytest.importorskip("pybullet_data", reason="the DeepMimic clips come with the pybullet wheel (posekit[synth])")
    from posekit.data.mocap import load_deepmimic_clips

    return load_deepmimic_clips()


def _pose(model, result) -> np.ndarray:  # type: ignore[no-untyped-def]
    output = model(
        global_orient=torch.as_tensor(result.global_orient),
        body_pose=torch.as_tensor(result.body_pose.reshape(len(result.transl), -1)),
        transl=torch.as_tensor(result.transl),
    )
    return output.joints.numpy()


def test_posed_bones_follow_the_mocap_bones(model, clips: list) -> None:  # type: ignore[no-untyped-def]
    rest = model().joints[0].numpy()
    for clip in (clips[0], next(clip for clip in clips if clip.name == "crawl")):
        result = retarget_points(clip.point_names, clip.points[::7], rest, model.parents)
        joints = _pose(model, result)
        position, angles = retarget_errors(clip.point_names, clip.points[::7], joints)
        assert angles.shape == (len(joints), len(SOLVED_BONES))
        assert angles.max() < 0.05  # degrees: the solved bones point exactly along the mocap's
        assert np.abs(joints[:, 0] - clip.points[::7, 0]).max() < 1e-9  # pelvis on the root
        assert 0.0 < np.median(position) < 0.1  # only bone-length differences remain


def test_rest_points_give_identity_limbs(model) -> None:  # type: ignore[no-untyped-def]
    """Mocap points made from the model's own rest joints (turned to the mocap frame) retarget to ~rest."""
    rest = model().joints[0].numpy()
    names = model.joint_names
    turn = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])  # model +z forward -> mocap +x forward
    lookup = {name: rest[i] for i, name in enumerate(names)}
    mocap = {
        "root": lookup["pelvis"],
        "chest": lookup["spine3"],
        "head_center": lookup["head"],
        "nose": lookup["head"] + [0.0, 0.0, 0.1],
        "left_foot_index": lookup["left_foot"],
        "right_foot_index": lookup["right_foot"],
    }
    for name in ("hip", "knee", "ankle", "shoulder", "elbow", "wrist"):
        for side in ("left", "right"):
            mocap[f"{side}_{name}"] = lookup[f"{side}_{name}"]
    mocap["neck"] = lookup["neck"]
    point_names = tuple(mocap)
    points = (np.stack([mocap[name] for name in point_names]) @ turn.T)[None]
    result = retarget_points(point_names, points, rest, model.parents)
    assert np.allclose(np.linalg.norm(result.global_orient[0]), np.pi / 2, atol=0.05)
    limbs = [model.joint_names.index(n) - 1 for n in ("left_knee", "right_elbow", "left_hip", "right_shoulder")]
    assert np.abs(result.body_pose[0, limbs]).max() < 1e-6


def test_bad_points_are_refused(model) -> None:  # type: ignore[no-untyped-def]
    rest = model().joints[0].numpy()
    with pytest.raises(ValueError, match=r"shape \(T, 2, 3\)"):
        retarget_points(("root", "chest"), np.zeros((3, 3, 3)), rest, model.parents)
    with pytest.raises(ValueError, match="lack"):
        retarget_points(("root", "chest"), np.zeros((3, 2, 3)), rest, model.parents)
