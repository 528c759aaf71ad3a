"""Small synthetic model files in each format posekit reads (writers in tests/support/bodymodel_files.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from support.bodymodel_files import make_model_arrays, write_official_pkl

from posekit.bodymodels import SMPL, load_body_model


@pytest.fixture(scope="session")
def model_arrays() -> dict[str, np.ndarray]:
    """A random 24-joint model, values exactly representable in float32 (smplx stores its buffers as float32)."""
    arrays = make_model_arrays(num_vertices=120, num_faces=200, seed=0)
    return {
        key: value.astype(np.float32).astype(np.float64) if value.dtype == np.float64 else value
        for key, value in arrays.items()
    }


@pytest.fixture(scope="session")
def official_pkl(tmp_path_factory: pytest.TempPathFactory, model_arrays: dict[str, np.ndarray]) -> Path:
    folder = tmp_path_factory.mktemp("smpl")
    return write_official_pkl(folder / "basicModel_neutral_lbs_10_207_0_v1.0.0.pkl", model_arrays)


@pytest.fixture(scope="session")
def model64(official_pkl: Path) -> SMPL:
    return load_body_model(official_pkl, dtype=torch.float64)
