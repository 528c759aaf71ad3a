"""Model files: official chumpy pickles (no chumpy installed), smplx pkl/npz, bad files, malicious pickles."""

from __future__ import annotations

import importlib.util
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from support.bodymodel_files import write_official_pkl, write_smplx_npz, write_smplx_pkl

from posekit.bodymodels import BodyModelData, load_body_model, read_body_model_file, write_body_model_npz
from posekit.bodymodels.loading import OPEN_BODY_MODEL
from posekit.io.safe_pickle import UnsafePickleError


def _pose(batch: int = 3, seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {
        "global_orient": torch.randn(batch, 3, generator=generator, dtype=torch.float64),
        "body_pose": 0.4 * torch.randn(batch, 69, generator=generator, dtype=torch.float64),
        "betas": torch.randn(batch, 10, generator=generator, dtype=torch.float64),
        "transl": torch.randn(batch, 3, generator=generator, dtype=torch.float64),
    }


def test_chumpy_is_not_installed_and_not_imported() -> None:
    assert importlib.util.find_spec("chumpy") is None  # the official files load without it


@pytest.mark.parametrize(
    "layout", ["official", "official_python3_bytes", "official_protocol0_old_scipy", "smplx_pkl", "smplx_npz"]
)
def test_every_format_gives_the_same_model(tmp_path: Path, model_arrays: dict[str, np.ndarray], layout: str) -> None:
    if layout == "official":
        path = write_official_pkl(tmp_path / "basicModel_f_lbs_10_207_0_v1.0.0.pkl", model_arrays)
    elif layout == "official_python3_bytes":
        path = write_official_pkl(tmp_path / "py3.pkl", model_arrays, python2_style=False)
    elif layout == "official_protocol0_old_scipy":
        path = write_official_pkl(tmp_path / "old.pkl", model_arrays, protocol=0, old_scipy_paths=True)
    elif layout == "smplx_pkl":
        path = write_smplx_pkl(tmp_path / "SMPL_FEMALE.pkl", model_arrays)
    else:
        path = write_smplx_npz(tmp_path / "SMPL_FEMALE.npz", model_arrays)
    data = read_body_model_file(path)
    np.testing.assert_array_equal(data.v_template, model_arrays["v_template"])
    np.testing.assert_array_equal(data.shapedirs, model_arrays["shapedirs"])
    np.testing.assert_array_equal(data.posedirs, model_arrays["posedirs"])
    np.testing.assert_array_equal(data.J_regressor, model_arrays["J_regressor"])
    assert data.parents[0] == -1 and data.parents.tolist()[1:] == model_arrays["kintree_table"][0, 1:].tolist()
    model = load_body_model(path, dtype=torch.float64)
    assert (model.num_vertices, model.num_joints, model.num_betas) == (120, 24, 10)
    assert model.joint_names[0] == "pelvis" and model.faces.dtype == torch.int64
    output = model(**_pose())
    assert output.vertices.shape == (3, 120, 3) and output.joints.shape == (3, 24, 3)
    assert torch.isfinite(output.vertices).all()


def test_folder_and_gender(tmp_path: Path, model_arrays: dict[str, np.ndarray]) -> None:
    write_official_pkl(tmp_path / "basicmodel_m_lbs_10_207_0_v1.1.0.pkl", model_arrays)
    assert load_body_model(tmp_path, gender="male").name.startswith("basicmodel_m")
    with pytest.raises(
        FileNotFoundError, match=r"no female SMPL model file in .*found basicmodel_m.*smpl\.is\.tue\.mpg\.de"
    ):
        load_body_model(tmp_path, gender="female")


def test_missing_and_wrong_files(tmp_path: Path, model_arrays: dict[str, np.ndarray]) -> None:
    with pytest.raises(
        FileNotFoundError, match=r"no body-model file at .*SMPL_NEUTRAL\.pkl.*https://smpl\.is\.tue\.mpg\.de"
    ):
        load_body_model(tmp_path / "SMPL_NEUTRAL.pkl")
    text = tmp_path / "notes.pkl"
    text.write_text("not a model")
    with pytest.raises(ValueError, match=r"notes\.pkl: not a valid pickle"):
        load_body_model(text)
    partial = {key: value for key, value in model_arrays.items() if key != "weights"}
    np.savez(tmp_path / "partial.npz", **partial)
    with pytest.raises(ValueError, match=r"partial\.npz: missing weights; a body-model file needs .*smpl\.is\.tue"):
        load_body_model(tmp_path / "partial.npz")
    wrong = dict(model_arrays, posedirs=model_arrays["posedirs"][:, :, :100])
    np.savez(tmp_path / "wrong.npz", **wrong)
    with pytest.raises(
        ValueError, match=r"wrong\.npz: posedirs has shape \(120, 3, 100\); expected \(V, 3, 9\*\(J-1\)\)"
    ):
        load_body_model(tmp_path / "wrong.npz")


def test_open_model_missing_says_so() -> None:
    if OPEN_BODY_MODEL.is_file():
        assert load_body_model("open").name == "open"
    else:
        with pytest.raises(FileNotFoundError, match="open_body.npz is not in this installation"):
            load_body_model("open")


class _Exploit:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("touch /tmp/posekit_pwned",))


def test_pickle_with_code_is_refused_and_nothing_runs(tmp_path: Path, model_arrays: dict[str, np.ndarray]) -> None:
    marker = Path("/tmp/posekit_pwned")
    marker.unlink(missing_ok=True)
    path = tmp_path / "SMPL_NEUTRAL.pkl"
    path.write_bytes(pickle.dumps(dict(model_arrays, weights=_Exploit()), protocol=2))
    with pytest.raises(
        UnsafePickleError, match=r"SMPL_NEUTRAL\.pkl: refusing to unpickle the global (posix|os|nt)\.system"
    ):
        load_body_model(path)
    assert not marker.exists()


def test_open_layout_round_trip(tmp_path: Path, model64: object, official_pkl: Path) -> None:
    data = read_body_model_file(official_pkl)
    names = np.array([f"j{index}" for index in range(24)])
    extras = {
        "vt": np.zeros((5, 2)),
        "part_labels": np.arange(120) % 24,
        "joint_names": names,
        "licence": np.array("CC0"),
    }
    written = write_body_model_npz(
        tmp_path / "open_like.npz",
        BodyModelData(
            data.v_template,
            data.shapedirs,
            data.posedirs,
            data.J_regressor,
            data.weights,
            data.parents,
            data.faces,
            extras,
        ),
    )
    model = load_body_model(written)
    assert model.joint_names == tuple(names.tolist()) and str(model.extras["licence"]) == "CC0"
    assert model.extras["part_labels"].shape == (120,)
    assert model.v_template.dtype == torch.float32
