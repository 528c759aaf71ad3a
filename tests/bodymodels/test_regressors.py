"""Mesh keypoints in posekit skeleton order, as SPIN/VIBE build them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from posekit.bodymodels import SMPL
from posekit.bodymodels.regressors import (
    coco_keypoints,
    extra_keypoints,
    h36m_keypoints,
    lsp_keypoints,
    lsp_keypoints_from_h36m,
    smpl_keypoints,
)
from posekit.skeletons.definitions import COCO, H36M


@pytest.fixture()
def regressor_files(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(1)
    h36m, extra = rng.random((17, 120)), rng.random((9, 120))
    np.save(tmp_path / "J_regressor_h36m.npy", h36m / h36m.sum(1, keepdims=True))
    np.save(tmp_path / "J_regressor_extra.npy", extra / extra.sum(1, keepdims=True))
    return tmp_path / "J_regressor_h36m.npy", tmp_path / "J_regressor_extra.npy"


def test_keypoint_sets(model64: SMPL, regressor_files: tuple[Path, Path]) -> None:
    h36m_path, extra_path = regressor_files
    output = model64(
        body_pose=0.3 * torch.randn(2, 69, dtype=torch.float64), transl=torch.ones(2, 3, dtype=torch.float64)
    )
    vertices, joints = output.vertices, output.joints
    torch.testing.assert_close(smpl_keypoints()(output), joints)
    h36m_matrix = torch.as_tensor(np.load(h36m_path))
    regressed = torch.einsum("kv,bvc->bkc", h36m_matrix, vertices)
    h36m = h36m_keypoints(h36m_path)
    assert h36m.keypoint_names == H36M.keypoint_names
    torch.testing.assert_close(h36m(output), regressed)
    lsp_h36m = lsp_keypoints_from_h36m(h36m_path)
    torch.testing.assert_close(lsp_h36m(output), regressed[:, [6, 5, 4, 1, 2, 3, 16, 15, 14, 11, 12, 13, 8, 10]])
    extra = torch.einsum("kv,bvc->bkc", torch.as_tensor(np.load(extra_path)), vertices)
    torch.testing.assert_close(extra_keypoints(extra_path)(output), extra)
    face = {"nose": 3, "left_eye": 4, "right_eye": 5, "left_ear": 6, "right_ear": 7}
    coco = coco_keypoints(extra_path, vertex_ids=face)(output)
    assert coco.shape == (2, 17, 3) and coco_keypoints(extra_path, face).keypoint_names == COCO.keypoint_names
    torch.testing.assert_close(coco[:, 0], vertices[:, 3])  # nose: a vertex
    torch.testing.assert_close(coco[:, 5], joints[:, 16])  # left_shoulder: SMPL joint 16
    torch.testing.assert_close(coco[:, 11], extra[:, 1])  # left_hip: J_regressor_extra row 1
    torch.testing.assert_close(coco[:, 16], joints[:, 8])  # right_ankle: SMPL joint 8
    lsp = lsp_keypoints(extra_path)(output)
    torch.testing.assert_close(lsp[:, 0], joints[:, 8])  # right_ankle
    torch.testing.assert_close(lsp[:, 2], extra[:, 0])  # right_hip
    torch.testing.assert_close(lsp[:, 13], extra[:, 3])  # head_top


def test_bad_regressors(model64: SMPL, tmp_path: Path, regressor_files: tuple[Path, Path]) -> None:
    with pytest.raises(FileNotFoundError, match="J_regressor_h36m.npy and J_regressor_extra.npy come with the SPIN"):
        h36m_keypoints(tmp_path / "absent.npy")
    np.save(tmp_path / "short.npy", np.zeros((16, 120)))
    with pytest.raises(ValueError, match=r"short\.npy: Human3\.6M regressor has shape \(16, 120\).*expected \(17, V\)"):
        h36m_keypoints(tmp_path / "short.npy")
    with pytest.raises(ValueError, match=r"keypoint nose is vertex 332; the mesh has 120 vertices"):
        coco_keypoints(regressor_files[1])(model64())
