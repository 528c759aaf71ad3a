"""Reading a synthetic mesh dataset (torch-free): bad folders and files are named."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from posekit.data.synthetic_mesh_dataset import SyntheticMeshDataset


def _write(root: Path, labels: dict[str, np.ndarray]) -> None:
    (root / "annotations").mkdir(parents=True)
    (root / "labels" / "val").mkdir(parents=True)
    np.savez(root / "labels" / "val" / "a.npz", **labels)  # type: ignore[arg-type]
    document = {"images": [{"id": 1, "file_name": "a.jpg", "labels": "labels/val/a.npz"}], "annotations": []}
    (root / "annotations" / "val.json").write_text(json.dumps(document))


def test_missing_split_and_foreign_json_are_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="val.json: no annotation file"):
        SyntheticMeshDataset(tmp_path, "val")
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "train.json").write_text(json.dumps({"images": [{"id": 1, "file_name": "x.jpg"}]}))
    with pytest.raises(ValueError, match="not a synthetic mesh dataset"):
        SyntheticMeshDataset(tmp_path, "train")
    with pytest.raises(ValueError, match="split must be"):
        SyntheticMeshDataset(tmp_path, "test")


def test_label_file_missing_a_key_is_named(tmp_path: Path) -> None:
    _write(tmp_path, {"betas": np.zeros((1, 16))})
    dataset = SyntheticMeshDataset(tmp_path, "val")
    assert len(dataset) == 1 and dataset.sequences() == [[0]]
    with pytest.raises(ValueError, match=r"a.npz: label file lacks \['global_orient'"):
        dataset.labels(0)
    with pytest.raises(IndexError):
        dataset[1]


def test_reader_does_not_import_torch() -> None:
    code = "import sys, posekit.data.synthetic_mesh_dataset; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
