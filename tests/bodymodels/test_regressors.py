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
from posekit.skeletons import convert_keypoints, get_skeleton
from posekit.skeletons.definitions import COCO, H36M, LSP


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
    # The file's rows 1-3 are the left leg and 4-6 the right (SPIN/VIBE H36M_TO_J17); posekit's h36m has the
    # right leg at 1-3 (VideoPose3D), so the rows are swapped by name; torso and arms keep their rows.
    got = h36m(output)
    torch.testing.assert_close(got[:, H36M.index("right_hip")], regressed[:, 4])
    torch.testing.assert_close(got[:, H36M.index("right_ankle")], regressed[:, 6])
    torch.testing.assert_close(got[:, H36M.index("left_hip")], regressed[:, 1])
    torch.testing.assert_close(got[:, H36M.index("left_ankle")], regressed[:, 3])
    keep = [0, *range(7, 17)]
    torch.testing.assert_close(got[:, keep], regressed[:, keep])
    # Named the same way as the LSP-14 rows SPIN/VIBE evaluate with: converting h36m -> lsp by name gives them.
    lsp_by_name, valid = convert_keypoints(got, "h36m", "lsp")
    lsp_rows = lsp_keypoints_from_h36m(h36m_path)(output)
    assert lsp_rows.shape == (2, 14, 3) and bool(valid.all())
    torch.testing.assert_close(lsp_by_name[:, :12], lsp_rows[:, :12])  # the limbs (neck, head_top are derived)
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
    assert lsp_keypoints(extra_path).keypoint_names == LSP.keypoint_names == get_skeleton("lsp14").keypoint_names
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
