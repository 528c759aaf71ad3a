"""posekit.data.threedpw on small sequence pickles written here in 3DPW's layout."""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from posekit.data.threedpw import (
    COMMON14_NAMES,
    H36M_TO_COMMON14,
    load_threedpw_sequence,
    load_threedpw_split,
    regress_common14,
    threedpw_sequence_files,
    vibe_keypoint_mask,
)
from posekit.io.safe_pickle import UnsafePickleError

FRAMES = 5


def sequence_data(seed: int = 0, people: int = 2) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    cam_poses = np.tile(np.eye(4), (FRAMES, 1, 1))
    cam_poses[:, :3, :3] = Rotation.from_rotvec(rng.normal(scale=0.5, size=(FRAMES, 3))).as_matrix()
    cam_poses[:, :3, 3] = rng.normal(size=(FRAMES, 3))
    poses2d = []
    for _ in range(people):
        keypoints = rng.uniform(0, 1000, size=(FRAMES, 3, 18))
        keypoints[:, 2] = rng.uniform(0, 1, size=(FRAMES, 18))
        poses2d.append(keypoints)
    return {
        "sequence": "downtown_walking_00",
        "genders": ["m", "f"][:people],
        "betas": [rng.normal(size=10) for _ in range(people)],
        "poses": [rng.normal(scale=0.4, size=(FRAMES, 72)) for _ in range(people)],
        "trans": [rng.normal(size=(FRAMES, 3)) for _ in range(people)],
        "jointPositions": [rng.normal(size=(FRAMES, 72)) for _ in range(people)],
        "poses2d": poses2d,
        "cam_poses": cam_poses,
        "cam_intrinsics": np.array([[1961.0, 0, 540], [0, 1969.0, 960], [0, 0, 1]]),
        "campose_valid": [np.array([1, 1, 0, 1, 1], dtype=np.uint8)] + [np.ones(FRAMES, dtype=bool)] * (people - 1),
        "img_frame_ids": np.arange(FRAMES) * 2,
    }


class Python2Pickler(pickle._Pickler):  # type: ignore[misc,name-defined]
    """Writes ``bytes`` as Python 2 ``str`` opcodes, as the Python 2 writer of 3DPW's files did.

    (Python 3 writes bytes at protocol 2 as a call to ``_codecs.encode``, which the restricted unpickler
    accepts for latin-1 text only; 3DPW's own files carry array data as plain Python 2 strings.)
    """

    dispatch = dict(pickle._Pickler.dispatch)  # type: ignore[attr-defined]

    def save_python2_str(self, value: bytes) -> None:
        if len(value) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(value)]) + value)
        else:
            self.write(pickle.BINSTRING + len(value).to_bytes(4, "little") + value)
        self.memoize(value)

    dispatch[bytes] = save_python2_str


def python2_pickle(data: Any) -> bytes:
    buffer = io.BytesIO()
    Python2Pickler(buffer, protocol=2).dump(data)
    return buffer.getvalue()


def write_sequence(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(python2_pickle(data))
    return path


def test_reads_people_cameras_and_keypoints(tmp_path: Path) -> None:
    data = sequence_data()
    sequence = load_threedpw_sequence(write_sequence(tmp_path / "sequenceFiles" / "test" / "seq.pkl", data))
    assert sequence.name == "downtown_walking_00" and sequence.split == "test" and len(sequence) == FRAMES
    assert sequence.image_names()[3] == "imageFiles/downtown_walking_00/image_00003.jpg"
    assert sequence.frame_ids.tolist() == [0, 2, 4, 6, 8]
    first, second = sequence.people
    assert (first.gender, second.gender) == ("male", "female")
    np.testing.assert_allclose(first.global_orient, data["poses"][0][:, :3], rtol=1e-6)
    np.testing.assert_allclose(first.body_pose.reshape(FRAMES, 69), data["poses"][0][:, 3:], rtol=1e-6)
    np.testing.assert_allclose(second.keypoints_2d[2, 7], data["poses2d"][1][2, :2, 7], rtol=1e-6)
    np.testing.assert_allclose(second.keypoint_scores[2, 7], data["poses2d"][1][2, 2, 7], rtol=1e-6)
    assert first.campose_valid.tolist() == [True, True, False, True, True]
    assert first.evaluation_mask().tolist() == [True, True, False, True, True]
    np.testing.assert_allclose(sequence.intrinsics, data["cam_intrinsics"])


def test_camera_space_joints_and_parameters(tmp_path: Path) -> None:
    data = sequence_data(seed=1, people=1)
    (person,) = load_threedpw_sequence(write_sequence(tmp_path / "seq.pkl", data)).people
    rotation, translation = data["cam_poses"][:, :3, :3], data["cam_poses"][:, :3, 3]
    world = data["jointPositions"][0].reshape(FRAMES, 24, 3)
    expected = np.stack([world[t] @ rotation[t].T + translation[t] for t in range(FRAMES)])
    np.testing.assert_allclose(person.joints_camera(), expected, rtol=1e-5, atol=1e-5)
    # VIBE/SPIN: R_root' = R_cam @ R_root.
    expected_orient = Rotation.from_matrix(rotation @ Rotation.from_rotvec(data["poses"][0][:, :3]).as_matrix())
    np.testing.assert_allclose(
        Rotation.from_rotvec(person.global_orient_camera()).as_matrix(), expected_orient.as_matrix(), atol=1e-5
    )
    # A body that rotates about its root joint j0 lands where the camera sees it.
    root_rest = np.array([0.01, -0.2, 0.03])
    points = np.random.default_rng(2).normal(size=(7, 3))
    new_orient = Rotation.from_rotvec(person.global_orient_camera().astype(np.float64)).as_matrix()
    new_transl = person.transl_camera(root_rest)
    for t in range(FRAMES):
        root = Rotation.from_rotvec(data["poses"][0][t, :3]).as_matrix()
        posed_world = (points - root_rest) @ root.T + root_rest + data["trans"][0][t]
        seen = posed_world @ rotation[t].T + translation[t]
        posed_camera = (points - root_rest) @ new_orient[t].T + root_rest + new_transl[t]
        np.testing.assert_allclose(posed_camera, seen, atol=1e-5)


def test_pose_sequence_by_name(tmp_path: Path) -> None:
    data = sequence_data(seed=3, people=1)
    (person,) = load_threedpw_sequence(write_sequence(tmp_path / "seq.pkl", data)).people
    sequence = person.to_pose_sequence()
    assert sequence.skeleton == "coco" and sequence.skeleton_3d == "smpl"
    # COCO joint 1 (left_eye) is 3DPW's joint 15; COCO 6 (right_shoulder) is joint 2.
    np.testing.assert_allclose(sequence.keypoints[:, 1], data["poses2d"][0][:, :2, 15], rtol=1e-6)
    np.testing.assert_allclose(sequence.keypoints[:, 6], data["poses2d"][0][:, :2, 2], rtol=1e-6)
    assert sequence.keypoints_3d is not None and sequence.keypoints_3d.shape == (FRAMES, 24, 3)


def test_official_split_folders(tmp_path: Path) -> None:
    for split in ("train", "validation", "test"):
        write_sequence(tmp_path / "sequenceFiles" / split / f"{split}_a.pkl", sequence_data())
    bad = sequence_data()
    del bad["campose_valid"]
    write_sequence(tmp_path / "sequenceFiles" / "test" / "test_b.pkl", bad)
    assert [path.name for path in threedpw_sequence_files(tmp_path, "validation")] == ["validation_a.pkl"]
    assert [path.name for path in threedpw_sequence_files(tmp_path / "sequenceFiles", "test")] == [
        "test_a.pkl",
        "test_b.pkl",
    ]
    folder = load_threedpw_split(tmp_path, "test")
    assert len(folder.sequences) == 1 and len(folder.people()) == 2
    ((path, reason),) = folder.skipped
    assert path.name == "test_b.pkl" and "missing key 'campose_valid'" in reason
    with pytest.raises(ValueError, match="split must be one of"):
        threedpw_sequence_files(tmp_path, "val")  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError, match="no sequenceFiles/train folder"):
        threedpw_sequence_files(tmp_path / "elsewhere", "train")


class _Executes:
    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return (os.getcwd, ())


def test_reads_a_file_resaved_by_python3_at_protocol_2(tmp_path: Path) -> None:
    # Loading a 3DPW file in Python 3 and saving it again at protocol 2 writes its bytes via _codecs.encode.
    data = sequence_data()
    path = tmp_path / "sequenceFiles" / "test" / "resaved.pkl"
    path.parent.mkdir(parents=True)
    path.write_bytes(pickle.dumps(data, protocol=2))
    assert b"_codecs" in path.read_bytes()
    sequence = load_threedpw_sequence(path)
    assert len(sequence) == FRAMES and sequence.name == "downtown_walking_00"


def test_pickles_with_other_globals_are_refused(tmp_path: Path) -> None:
    data = sequence_data()
    data["sequence"] = _Executes()
    path = tmp_path / "evil.pkl"
    path.write_bytes(python2_pickle(data))
    with pytest.raises(UnsafePickleError, match=r"refusing to unpickle the global posix\.getcwd|os\.getcwd"):
        load_threedpw_sequence(path)


def test_bad_shapes_name_the_file(tmp_path: Path) -> None:
    data = sequence_data()
    data["poses2d"][1] = data["poses2d"][1][:, :, :17]
    with pytest.raises(ValueError, match=r"seq\.pkl: 'poses2d' of person 1 must have shape \(5, 3, 18\)"):
        load_threedpw_sequence(write_sequence(tmp_path / "seq.pkl", data))
    data = sequence_data()
    data["trans"] = data["trans"][:1]
    with pytest.raises(ValueError, match=r"'trans' must hold one entry per person \(2\), got 1"):
        load_threedpw_sequence(write_sequence(tmp_path / "seq.pkl", data))


def test_protocol_helpers() -> None:
    vertices = np.random.default_rng(4).normal(size=(3, 17, 3))
    one_hot = np.eye(17)  # each H3.6M joint = one vertex
    joints = regress_common14(vertices, one_hot)
    assert joints.shape == (3, 14, 3) and len(COMMON14_NAMES) == 14
    np.testing.assert_array_equal(joints, vertices[:, list(H36M_TO_COMMON14)])
    with pytest.raises(ValueError, match=r"\(17, V\) regressor"):
        regress_common14(vertices, np.eye(16, 17))
    scores = np.zeros((3, 18))
    limbs = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]
    scores[0, limbs[:7]] = 0.9  # 7 of 12 limb joints: kept
    scores[1, limbs[:6]] = 0.9  # 6: not more than 6
    scores[2, [0, 1, 14, 15, 16, 17]] = 0.9  # face and neck only
    scores[2, limbs[:6]] = 0.9
    assert vibe_keypoint_mask(scores).tolist() == [True, False, False]
