"""Mesh files: .obj round trips per frame and per track, body-parameter .npz, atomic failure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from posekit.io.mesh import (
    ObjMesh,
    export_obj_sequence,
    load_body_parameters,
    read_obj,
    save_body_parameters,
    write_obj,
)

VERTICES = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 1.0, 0.25]])
FACES = np.array([[0, 1, 2], [0, 2, 3]])
UVS = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.5, 0.5]])
UV_FACES = np.array([[0, 1, 4], [0, 4, 3]])


def test_obj_round_trip_with_and_without_uvs(tmp_path: Path) -> None:
    plain = read_obj(write_obj(tmp_path / "plain.obj", VERTICES, FACES))
    assert len(plain) == 1 and plain[0].uvs is None
    np.testing.assert_allclose(plain[0].vertices, VERTICES, atol=1e-6)
    np.testing.assert_array_equal(plain[0].faces, FACES)
    textured = read_obj(write_obj(tmp_path / "uv.obj", VERTICES, FACES, uvs=UVS, uv_faces=UV_FACES, name="person"))[0]
    assert textured.name == "person" and textured.uvs is not None and textured.uv_faces is not None
    np.testing.assert_allclose(textured.uvs[textured.uv_faces], UVS[UV_FACES], atol=1e-6)
    text = (tmp_path / "uv.obj").read_text().splitlines()
    assert "f 1/1 2/2 3/5" in text and "o person" in text  # 1-based, v/vt


def test_several_objects_in_one_file_keep_their_own_indices(tmp_path: Path) -> None:
    meshes = [ObjMesh(VERTICES, FACES, name="track_1"), ObjMesh(VERTICES + 5.0, FACES[:1], name="track_2")]
    back = read_obj(write_obj(tmp_path / "two.obj", meshes))
    assert [mesh.name for mesh in back] == ["track_1", "track_2"]
    np.testing.assert_allclose(back[1].vertices, VERTICES[:3] + 5.0, atol=1e-6)  # only the used vertices
    np.testing.assert_array_equal(back[1].faces, [[0, 1, 2]])


def test_sequence_export_per_frame_and_per_track(tmp_path: Path) -> None:
    frames = [{1: VERTICES, 4: VERTICES + 1.0}, {}, {4: VERTICES + 2.0}]
    paths = export_obj_sequence(tmp_path / "frames", frames, FACES, frame_indices=[10, 11, 12])
    assert [path.name for path in paths] == ["frame_000010.obj", "frame_000011.obj", "frame_000012.obj"]
    assert [mesh.name for mesh in read_obj(paths[0])] == ["track_1", "track_4"] and read_obj(paths[1]) == []
    tracks = export_obj_sequence(tmp_path / "tracks", frames, FACES, by="track", uvs=UVS, uv_faces=UV_FACES)
    assert [str(path.relative_to(tmp_path / "tracks")) for path in tracks] == [
        "track_1/frame_000000.obj",
        "track_4/frame_000000.obj",
        "track_4/frame_000002.obj",
    ]
    np.testing.assert_allclose(read_obj(tracks[2])[0].vertices, VERTICES + 2.0, atol=1e-6)


def test_bad_meshes_leave_nothing_behind(tmp_path: Path) -> None:
    broken = VERTICES.copy()
    broken[2, 0] = np.nan
    with pytest.raises(ValueError, match="frame 1 track 3: vertices contain NaN"):
        export_obj_sequence(tmp_path / "out", [{1: VERTICES}, {3: broken}], FACES)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    target = write_obj(tmp_path / "keep.obj", VERTICES, FACES)
    before = target.read_bytes()
    with pytest.raises(ValueError, match="faces index 1..10 but there are 4 vertices"):
        write_obj(target, VERTICES, FACES * 3 + 1)
    with pytest.raises(ValueError, match="uvs and uv_faces go together"):
        write_obj(target, VERTICES, FACES, uvs=UVS)
    assert target.read_bytes() == before and sorted(path.name for path in tmp_path.iterdir()) == ["keep.obj"]


def test_a_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "params.npz"
    save_body_parameters(target, {"global_orient": np.zeros((2, 3)), "body_pose": np.zeros((2, 69)),
                                  "betas": np.zeros((2, 10)), "transl": np.zeros((2, 3))})  # fmt: skip
    before = target.read_bytes()

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", fail)
    with pytest.raises(OSError, match="disk full"):
        save_body_parameters(target, {"betas": np.ones(10)})
    assert target.read_bytes() == before and sorted(path.name for path in tmp_path.iterdir()) == ["params.npz"]


def test_body_parameters_round_trip_by_name(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    parameters = {
        "global_orient": rng.normal(size=(5, 3)),
        "body_pose": rng.normal(size=(5, 23, 3)).astype(np.float32),
        "betas": rng.normal(size=(10,)),
        "transl": rng.normal(size=(5, 3)),
        "frame_indices": np.arange(5),
    }
    path = save_body_parameters(tmp_path / "p.npz", parameters, {"model": "open", "rotation": "axis_angle"})
    back, metadata = load_body_parameters(path)
    assert sorted(back) == sorted(parameters) and metadata == {"model": "open", "rotation": "axis_angle"}
    for name, value in parameters.items():
        np.testing.assert_array_equal(back[name], value)
        assert back[name].dtype == value.dtype
    with pytest.raises(ValueError, match=r"lacks the parameters \['transl'\]"):
        save_body_parameters(
            tmp_path / "q.npz", {key: parameters[key] for key in ("global_orient", "body_pose", "betas")}
        )
        load_body_parameters(tmp_path / "q.npz")
    with pytest.raises(ValueError, match="contains NaN"):
        save_body_parameters(tmp_path / "r.npz", {"betas": np.full(10, np.nan)})
    with pytest.raises(ValueError, match="must be an identifier"):
        save_body_parameters(tmp_path / "r.npz", {"meta_x": np.zeros(1)})
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="is not a readable .npz"):
        load_body_parameters(tmp_path / "junk.npz")
    assert not (tmp_path / "r.npz").exists()
