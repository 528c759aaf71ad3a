"""posekit.data.mesh_annotations on small .npz files written here as SPIN's preprocessing writes them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from posekit.data.mesh_annotations import SPIN_JOINT_NAMES, load_mesh_annotations


def write_h36m_like(path: Path, rows: int = 3) -> dict[str, np.ndarray]:
    """Like SPIN's h36m_train.npz: imgname, center, scale, part, S, openpose (lists of rows, as np.savez gets them)."""
    rng = np.random.default_rng(0)
    data = {
        "imgname": [f"images/S1_Directions_1.54138969_{index + 1:06d}.jpg" for index in range(rows)],
        "center": [[500.0 + index, 400.0] for index in range(rows)],
        "scale": [1.5 + 0.1 * index for index in range(rows)],
        "part": rng.uniform(size=(rows, 24, 3)),
        "S": rng.normal(size=(rows, 24, 4)),
        "openpose": rng.uniform(size=(rows, 25, 3)),
    }
    np.savez(path, **data)
    return {key: np.asarray(value) for key, value in data.items()}


def test_reads_the_h36m_layout(tmp_path: Path) -> None:
    data = write_h36m_like(tmp_path / "h36m_train.npz")
    annotations = load_mesh_annotations(tmp_path / "h36m_train.npz")
    assert len(annotations) == 3
    assert annotations.image_names[2] == "images/S1_Directions_1.54138969_000003.jpg"
    assert annotations.keypoints_2d is not None and annotations.joints_3d is not None
    np.testing.assert_allclose(annotations.keypoints_2d, data["part"][..., :2], rtol=1e-6)
    np.testing.assert_allclose(annotations.keypoint_visibility, data["part"][..., 2], rtol=1e-6)
    np.testing.assert_allclose(annotations.joints_3d, data["S"][..., :3], rtol=1e-6)
    np.testing.assert_allclose(annotations.joint_confidence, data["S"][..., 3], rtol=1e-6)
    np.testing.assert_allclose(annotations.openpose_scores, data["openpose"][..., 2], rtol=1e-6)
    assert annotations.global_orient is None and annotations.has_smpl is not None
    assert not annotations.has_smpl.any()  # no pose: SPIN's loader sets has_smpl = 0
    record = annotations[1]
    assert record.scale == pytest.approx(1.6) and record.center.tolist() == [501.0, 400.0]
    assert record.betas is None and record.gender is None and not record.has_smpl
    np.testing.assert_allclose(annotations.boxes()[0], [350.0, 250.0, 650.0, 550.0])  # side 200 * 1.5
    keypoints, visibility = annotations.coco_keypoints()
    right_ankle = SPIN_JOINT_NAMES.index("right_ankle")
    np.testing.assert_allclose(keypoints[:, 16], data["part"][:, right_ankle, :2], rtol=1e-6)  # COCO 16
    assert visibility.shape == (3, 17)


def test_reads_smpl_and_strings_of_the_3dpw_layout(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    pose = rng.normal(size=(2, 72))
    np.savez(
        tmp_path / "3dpw_test.npz",
        imgname=["imageFiles/a/image_00000.jpg", "imageFiles/a/image_00001.jpg"],
        center=np.zeros((2, 2)),
        scale=np.ones(2),
        pose=pose,
        shape=rng.normal(size=(2, 10)),
        gender=["m", "f"],
    )
    annotations = load_mesh_annotations(tmp_path / "3dpw_test.npz")
    assert annotations.has_smpl is not None and annotations.has_smpl.all()
    assert annotations.body_pose is not None
    np.testing.assert_allclose(annotations.body_pose[1].reshape(69), pose[1, 3:], rtol=1e-6)
    np.testing.assert_allclose(annotations.global_orient, pose[:, :3], rtol=1e-6)
    assert annotations[1].gender == "f" and annotations[0].has_smpl
    np.savez(
        tmp_path / "mixed.npz",
        imgname=["x.jpg", "y.jpg"],
        center=np.zeros((2, 2)),
        scale=np.ones(2),
        pose=pose,
        shape=np.zeros((2, 10)),
        has_smpl=[1, 0],
    )
    assert load_mesh_annotations(tmp_path / "mixed.npz").has_smpl.tolist() == [True, False]  # type: ignore[union-attr]


def test_object_arrays_load_without_unsafe_pickle(tmp_path: Path) -> None:
    names = np.array(["a.jpg", "b.jpg"], dtype=object)  # some writers store names as objects
    np.savez(tmp_path / "objects.npz", imgname=names, center=np.zeros((2, 2)), scale=np.ones(2))
    assert load_mesh_annotations(tmp_path / "objects.npz").image_names.tolist() == ["a.jpg", "b.jpg"]


def test_bad_files_are_one_sentence(tmp_path: Path) -> None:
    np.savez(tmp_path / "no_scale.npz", imgname=["a.jpg"], center=np.zeros((1, 2)))
    with pytest.raises(ValueError, match=r"no_scale\.npz: missing key 'scale'; a SPIN/VIBE annotation file has"):
        load_mesh_annotations(tmp_path / "no_scale.npz")
    np.savez(
        tmp_path / "short.npz",
        imgname=["a.jpg", "b.jpg"],
        center=np.zeros((2, 2)),
        scale=np.ones(2),
        part=np.zeros((2, 17, 3)),
    )
    with pytest.raises(ValueError, match=r"'part' must have shape \(2, 24, 3\) for 2 rows, got \(2, 17, 3\)"):
        load_mesh_annotations(tmp_path / "short.npz")
    np.savez(
        tmp_path / "half.npz", imgname=["a.jpg"], center=np.zeros((1, 2)), scale=np.ones(1), pose=np.zeros((1, 72))
    )
    with pytest.raises(ValueError, match="has pose without the other"):
        load_mesh_annotations(tmp_path / "half.npz")
