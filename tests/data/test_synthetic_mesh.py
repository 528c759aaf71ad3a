"""The synthetic mesh dataset: body-model people rendered with the mesh rasteriser, with exact labels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from posekit.data.synthetic import SynthesisConfig
from posekit.data.synthetic_mesh import (
    MeshSynthesisConfig,
    face_vertex_ids,
    generate_mesh_dataset,
    keypoint_tolerances,
)
from posekit.data.synthetic_mesh_dataset import SyntheticMeshDataset
from posekit.viz.mesh_render import rasterize

pytest.importorskip("pybullet_data", reason="the DeepMimic clips come with the pybullet wheel (posekit[synth])")

BASE = SynthesisConfig(
    image_size=(64, 48), people_per_image=(2, 2), use_sample_pictures=False, occluder_probability=0.0
)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mesh")
    config = MeshSynthesisConfig(base=BASE, sequence_length=3, frame_step=2)
    generate_mesh_dataset(out, 1, 1, rasterize, seed=3, config=config)
    return out


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    from posekit.bodymodels import load_body_model

    return load_body_model("open", dtype=torch.float64)


def test_parameters_reproduce_vertices_and_joints_in_camera_space(dataset: Path, model) -> None:  # type: ignore[no-untyped-def]
    frames = SyntheticMeshDataset(dataset, "train")
    assert len(frames) == 3 and frames.sequences() == [[0, 1, 2]]
    for frame in frames:
        people = frame.people
        output = model(
            global_orient=torch.as_tensor(people.global_orient),
            body_pose=torch.as_tensor(people.body_pose.reshape(len(people), -1)),
            betas=torch.as_tensor(people.betas),
            transl=torch.as_tensor(people.transl),
        )
        assert people.vertices is not None
        assert np.abs(output.vertices.numpy() - people.vertices).max() < 1e-5
        assert np.abs(output.joints.numpy() - people.joints_3d).max() < 1e-5
        projected = people.joints_3d[..., :2] / people.joints_3d[..., 2:] * frame.focal + frame.center
        assert np.allclose(projected, people.joints_2d, atol=1e-6)
        assert frame.image.shape == (48, 64, 3) and frame.iuv.shape == (48, 64, 3)


def test_masks_iuv_and_depth_agree(dataset: Path) -> None:
    frame = SyntheticMeshDataset(dataset, "train")[0]
    mask = frame.instance_mask
    assert set(np.unique(mask)) <= {0, 1, 2} and (mask > 0).any()
    assert np.array_equal(frame.iuv[..., 0] > 0, mask > 0)  # part index exactly where a person is visible
    assert frame.iuv[..., 0].max() <= 24 and 0.0 <= frame.iuv[..., 1:].min() and frame.iuv[..., 1:].max() <= 1.0
    assert np.all(np.isinf(frame.depth[mask == 0])) and np.all(frame.depth[mask > 0] > 0)
    for person in range(len(frame.people)):
        visible = mask == person + 1
        assert np.all(frame.people.silhouettes[person][visible])  # visible part within the amodal silhouette
    # where two silhouettes overlap the nearer person wins
    both = frame.people.silhouettes[0] & frame.people.silhouettes[1]
    assert np.all(mask[both] > 0)


def test_sequence_moves_one_clip_and_keeps_shape_and_camera(dataset: Path) -> None:
    frames = list(SyntheticMeshDataset(dataset, "val"))
    assert [frame.frame_in_sequence for frame in frames] == [0, 1, 2]
    for person in range(2):
        assert all(np.array_equal(frames[0].people.betas[person], f.people.betas[person]) for f in frames)
        assert all(np.array_equal(frames[0].people.R[person], f.people.R[person]) for f in frames)
    clips = {m["clip"] for f in frames for m in f.motion}
    assert clips <= {"dance_b", "jump", "punch"}  # held-out clips only in val
    first = [m["frame"] for m in frames[0].motion]
    assert [m["frame"] for m in frames[2].motion] == [value + 4 for value in first]


def test_coco_annotations_match_the_label_files(dataset: Path) -> None:
    document = json.loads((dataset / "annotations" / "train.json").read_text())
    assert [image["file_name"] for image in document["images"]] == [f"00000001_00{t}.jpg" for t in range(3)]
    frames = SyntheticMeshDataset(dataset, "train")
    for annotation in document["annotations"]:
        frame = frames[annotation["image_id"] - 1]
        index = annotation["motion"]["person_index"]
        flat = np.asarray(annotation["keypoints"], dtype=np.float64).reshape(17, 3)
        labels = frame.people.keypoints_coco[index]
        assert np.array_equal(flat[:, 2], labels[:, 2])
        shown = labels[:, 2] > 0
        assert np.allclose(flat[shown, :2], labels[shown, :2], atol=0.01)
        assert annotation["area"] == int(np.count_nonzero(frame.instance_mask == index + 1))


def test_same_seed_same_files(tmp_path: Path) -> None:
    config = MeshSynthesisConfig(base=SynthesisConfig(image_size=(32, 32), use_sample_pictures=False))
    for name in ("a", "b"):
        generate_mesh_dataset(tmp_path / name, 1, 0, rasterize, seed=5, config=config)
    assert (tmp_path / "a/annotations/train.json").read_bytes() == (tmp_path / "b/annotations/train.json").read_bytes()
    first, second = (np.load(tmp_path / f"{name}/labels/train/000000000001.npz") for name in ("a", "b"))
    assert all(np.array_equal(first[key], second[key]) for key in first.files)


def test_face_picks_and_tolerances_on_the_open_model(model) -> None:  # type: ignore[no-untyped-def]
    from posekit.bodymodels.loading import read_body_model_file, resolve_body_model_path

    data = read_body_model_file(resolve_body_model_path("open"))
    ids = face_vertex_ids(data.v_template, data.extras["part_labels"])
    points = {name: data.v_template[index] for name, index in ids.items()}
    assert points["left_eye"][0] > 0 > points["right_eye"][0] and points["left_ear"][0] > 0 > points["right_ear"][0]
    assert points["nose"][2] > points["left_eye"][2] > points["left_ear"][2]  # forward to back
    tolerances = keypoint_tolerances(data.v_template, model().joints[0].numpy())
    assert tolerances.shape == (17,) and np.all((0.03 < tolerances) & (tolerances < 0.3))


def test_bad_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sequence_length"):
        MeshSynthesisConfig(sequence_length=0)
    with pytest.raises(ValueError, match="frames a sequence"):
        generate_mesh_dataset(tmp_path, 1, 0, rasterize, config=MeshSynthesisConfig(base=BASE, sequence_length=900))
    assert not (tmp_path / "annotations" / "train.json").exists()
    with pytest.raises(FileNotFoundError, match="no body-model file"):
        generate_mesh_dataset(tmp_path, 1, 0, rasterize, config=MeshSynthesisConfig(body_model=str(tmp_path / "x.npz")))
