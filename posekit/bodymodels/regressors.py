"""Keypoints from body meshes, named as posekit skeletons, so keypoint metrics score meshes directly.

Each :class:`MeshKeypoints` says, per output keypoint, where it comes from: one of the model's
kinematic joints (``BodyModelOutput.joints``), one mesh vertex, or one row of a regressor applied to
the posed vertices. The sets follow what SPIN (Kolotouros et al., ICCV 2019) and VIBE (Kocabas et al.,
CVPR 2020) build in their SMPL wrappers (``JOINT_MAP`` over smplx's 45 joints plus the 9 rows of
``J_regressor_extra.npy``):

* :func:`smpl_keypoints`: the 24 SMPL joints (posekit's ``smpl`` skeleton);
* :func:`h36m_keypoints`: Human3.6M-17 from ``J_regressor_h36m.npy`` ``(17, 6890)`` in posekit's ``h36m``
  (VideoPose3D) order - what VIBE's evaluation regresses. The file's rows are NOT in VideoPose3D's
  order: its rows 1-3 are the LEFT leg and rows 4-6 the right leg (see :data:`H36M_REGRESSOR_ROWS`);
  :func:`h36m_keypoints` reorders them so every name is the joint it says;
* :func:`extra_keypoints`: the 9 rows of ``J_regressor_extra.npy`` ``(9, 6890)``;
* :func:`coco_keypoints`: COCO-17: face points from SMPL vertices (smplx's ``smplh`` vertex ids),
  shoulders / elbows / wrists / knees / ankles from SMPL joints, hips from ``J_regressor_extra``;
* :func:`lsp_keypoints`: the 14 LSP joints of SPIN/VIBE (``JOINT_NAMES[25:39]``, posekit's ``lsp``
  skeleton): SMPL joints plus hips, neck and head top from ``J_regressor_extra``;
* :func:`lsp_keypoints_from_h36m`: the 14 joints VIBE's 3DPW evaluation uses (``H36M_TO_J14`` rows of
  the Human3.6M regressor).

Regressor files are loaded from paths the user gives (they come with SPIN/VIBE's data); nothing is
downloaded. Output: ``(B, K, 3)`` in the mesh's units (metres).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from posekit.bodymodels.base import BodyModelOutput
from posekit.bodymodels.lbs import vertices_to_joints
from posekit.skeletons.definitions import COCO, H36M, LSP, SMPL

__all__ = [
    "EXTRA_JOINT_NAMES",
    "H36M_REGRESSOR_ROWS",
    "H36M_TO_LSP14",
    "LSP_NAMES",
    "SMPL_VERTEX_IDS",
    "MeshKeypoints",
    "coco_keypoints",
    "extra_keypoints",
    "h36m_keypoints",
    "load_regressor",
    "lsp_keypoints",
    "lsp_keypoints_from_h36m",
    "smpl_keypoints",
]

# Vertex ids of surface points on SMPL's 6,890-vertex mesh (smplx ``vertex_ids.py``, ``smplh`` table).
SMPL_VERTEX_IDS: dict[str, int] = {
    "nose": 332,
    "right_eye": 6260,
    "left_eye": 2800,
    "right_ear": 4071,
    "left_ear": 583,
    "left_big_toe": 3216,
    "left_small_toe": 3226,
    "left_heel": 3387,
    "right_big_toe": 6617,
    "right_small_toe": 6624,
    "right_heel": 6787,
}
# Rows of SPIN/VIBE's J_regressor_extra.npy (smplx joint indices 45..53 in their JOINT_MAP).
EXTRA_JOINT_NAMES = (
    "right_hip",  # 'Right Hip'
    "left_hip",  # 'Left Hip'
    "neck",  # 'Neck (LSP)'
    "head_top",  # 'Top of Head (LSP)'
    "pelvis",  # 'Pelvis (MPII)'
    "thorax",  # 'Thorax (MPII)'
    "spine",  # 'Spine (H36M)'
    "jaw",  # 'Jaw (H36M)'
    "head",  # 'Head (H36M)'
)
# The 14 LSP joints in SPIN/VIBE's order (their JOINT_NAMES[25:39], get_common_joint_names): posekit's `lsp`.
LSP_NAMES = LSP.keypoint_names
# SPIN/VIBE H36M_TO_J14: rows of the Human3.6M regressor giving the 14 LSP joints.
H36M_TO_LSP14 = (6, 5, 4, 1, 2, 3, 16, 15, 14, 11, 12, 13, 8, 10)
# The row of J_regressor_h36m.npy that gives each joint of posekit's h36m skeleton (VideoPose3D order).
#
# The left/right question, settled from the code (SPIN 2476c43, VIBE 851f779, VideoPose3D 1afb1ca):
# * VideoPose3D's h36m skeleton (common/h36m_dataset.py) has joints_right = [1, 2, 3, ...] of the raw 32
#   Human3.6M joints and keeps raw 1, 2, 3 as its indices 1-3: its 1-3 are the RIGHT leg (posekit follows it).
# * SPIN's constants.py (copied by VIBE's lib/models/smpl.py) maps the regressor's rows with
#   H36M_TO_J17 = [6, 5, 4, 1, 2, 3, ...] onto 'Right Ankle', 'Right Knee', 'Right Hip', 'Left Hip',
#   'Left Knee', 'Left Ankle': regressor rows 1-3 are the LEFT leg, 4-6 the right leg; rows 11-13 the
#   left arm and 14-16 the right arm (as in VideoPose3D).
# * That labelling is what SPIN's numbers rest on: eval.py scores Human3.6M by comparing regressor rows
#   H36M_TO_J14 with the ground-truth 'S' joints, which datasets/preprocess/h36m_train.py fills with
#   raw joints 1-3 as 'Right Hip/Knee/Ankle' and raw 6-8 as 'Left ...' (h36m_idx / global_idx). A swapped
#   leg pair would add a large error to every frame; SPIN reports PA-MPJPE 41 mm. So rows 1-3 of the
#   regressor regress the left leg (Human3.6M's raw 6-8), and taking the file's rows in order under
#   VideoPose3D's names (what posekit did before) put the left leg under the right_* names.
# The torso rows 7-10 (spine, thorax, neck/nose, head) and the arm rows keep their positions. VIBE's 3DPW
# evaluation through H36M_TO_LSP14 (and regress_common14) was right either way: it names rows, not positions.
H36M_REGRESSOR_ROWS = (0, 4, 5, 6, 1, 2, 3, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)

Source = tuple[str, int]  # ("joint", index) | ("vertex", vertex id) | ("regressor", row)


def load_regressor(path: str | os.PathLike[str], rows: int | None = None, what: str = "joint regressor") -> np.ndarray:
    """Read a ``(K, V)`` regressor ``.npy`` (no pickles), checking the row count.

    Raises:
        FileNotFoundError: no file (the message says where such files come from).
        ValueError: not a 2-D numeric array with ``rows`` rows.
    """
    file_path = Path(path)
    if not file_path.is_file():
        raise FileNotFoundError(
            f"no {what} file at {file_path}; J_regressor_h36m.npy and J_regressor_extra.npy come with the SPIN / "
            "VIBE data (posekit does not ship or download them)"
        )
    try:
        matrix = np.load(file_path, allow_pickle=False)
    except ValueError as error:
        raise ValueError(f"{file_path}: not a numeric .npy array ({error})") from None
    if matrix.ndim != 2 or (rows is not None and matrix.shape[0] != rows) or not np.issubdtype(matrix.dtype, np.number):
        expected = f"({rows}, V)" if rows is not None else "(K, V)"
        raise ValueError(f"{file_path}: {what} has shape {matrix.shape} and dtype {matrix.dtype}; expected {expected}")
    return np.asarray(matrix, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class MeshKeypoints:
    """Keypoints of a posekit skeleton computed from a body-model output.

    Attributes:
        skeleton: name of the posekit skeleton the keypoints follow (``"smpl"``, ``"h36m"``, ``"coco"``,
            ``"lsp"``, ``"spin_extra"``).
        keypoint_names: ``K`` names.
        sources: per keypoint ``("joint", i)``, ``("vertex", v)`` or ``("regressor", r)``.
        regressor: ``(R, V)`` regressor applied to posed vertices (for ``"regressor"`` sources), or None.
    """

    skeleton: str
    keypoint_names: tuple[str, ...]
    sources: tuple[Source, ...]
    regressor: np.ndarray | None = None

    def __call__(self, output: BodyModelOutput) -> Tensor:
        """``(B, K, 3)`` keypoints of ``output`` (differentiable)."""
        vertices = output.vertices
        num_vertices = vertices.shape[1]
        columns: list[Tensor] = []
        regressed: Tensor | None = None
        if self.regressor is not None:
            if self.regressor.shape[1] != num_vertices:
                raise ValueError(
                    f"the {self.skeleton} regressor has {self.regressor.shape[1]} columns; the mesh has {num_vertices} "
                    "vertices (SPIN/VIBE regressors are for SMPL's 6,890-vertex mesh)"
                )
            matrix = torch.as_tensor(self.regressor, dtype=vertices.dtype, device=vertices.device)
            regressed = vertices_to_joints(matrix, vertices)  # (B, R, 3)
        for (kind, index), name in zip(self.sources, self.keypoint_names, strict=True):
            if kind == "joint":
                if index >= output.joints.shape[1]:
                    raise ValueError(f"{self.skeleton} keypoint {name} needs model joint {index}; the model has fewer")
                columns.append(output.joints[:, index])
            elif kind == "vertex":
                if index >= num_vertices:
                    raise ValueError(
                        f"{self.skeleton} keypoint {name} is vertex {index}; the mesh has {num_vertices} vertices "
                        "(the default vertex ids are SMPL's; pass vertex_ids for another mesh)"
                    )
                columns.append(vertices[:, index])
            else:
                assert regressed is not None
                columns.append(regressed[:, index])
        return torch.stack(columns, dim=1)  # K x (B, 3) -> (B, K, 3)


def _smpl_joint(name: str) -> Source:
    return ("joint", SMPL.keypoint_names.index(name))


def smpl_keypoints() -> MeshKeypoints:
    """The 24 SMPL kinematic joints (posekit's ``smpl`` skeleton)."""
    return MeshKeypoints("smpl", SMPL.keypoint_names, tuple(("joint", index) for index in range(SMPL.num_keypoints)))


def h36m_keypoints(regressor_path: str | os.PathLike[str]) -> MeshKeypoints:
    """Human3.6M-17 joints from ``J_regressor_h36m.npy`` in posekit's ``h36m`` (VideoPose3D) order.

    The file's rows 1-3 are the left leg and 4-6 the right leg (SPIN/VIBE's ``H36M_TO_J17``); output
    keypoint ``i`` is row ``H36M_REGRESSOR_ROWS[i]``, so ``right_hip`` is row 4 and ``left_hip`` row 1
    (the evidence is with :data:`H36M_REGRESSOR_ROWS`).
    """
    matrix = load_regressor(regressor_path, 17, "Human3.6M regressor")
    sources = tuple(("regressor", row) for row in H36M_REGRESSOR_ROWS)
    return MeshKeypoints("h36m", H36M.keypoint_names, sources, matrix)


def lsp_keypoints_from_h36m(regressor_path: str | os.PathLike[str]) -> MeshKeypoints:
    """The 14 LSP joints VIBE's 3DPW evaluation uses: ``H36M_TO_J14`` rows of ``J_regressor_h36m.npy``."""
    matrix = load_regressor(regressor_path, 17, "Human3.6M regressor")
    return MeshKeypoints("lsp", LSP.keypoint_names, tuple(("regressor", row) for row in H36M_TO_LSP14), matrix)


def extra_keypoints(extra_regressor_path: str | os.PathLike[str]) -> MeshKeypoints:
    """The 9 joints of SPIN/VIBE's ``J_regressor_extra.npy`` (names in :data:`EXTRA_JOINT_NAMES`)."""
    matrix = load_regressor(extra_regressor_path, 9, "J_regressor_extra")
    return MeshKeypoints("spin_extra", EXTRA_JOINT_NAMES, tuple(("regressor", row) for row in range(9)), matrix)


def coco_keypoints(
    extra_regressor_path: str | os.PathLike[str],
    vertex_ids: dict[str, int] | None = None,
) -> MeshKeypoints:
    """COCO-17 as SPIN/VIBE build them (face vertices, SMPL limb joints, ``J_regressor_extra`` hips).

    Args:
        extra_regressor_path: ``J_regressor_extra.npy`` ``(9, V)``.
        vertex_ids: ``nose``, ``left_eye``, ``right_eye``, ``left_ear``, ``right_ear`` vertex ids (default
            :data:`SMPL_VERTEX_IDS`, valid for SMPL's mesh).
    """
    matrix = load_regressor(extra_regressor_path, 9, "J_regressor_extra")
    ids = dict(SMPL_VERTEX_IDS if vertex_ids is None else vertex_ids)
    sources: list[Source] = []
    for name in COCO.keypoint_names:
        if name in ("nose", "left_eye", "right_eye", "left_ear", "right_ear"):
            if name not in ids:
                raise ValueError(f"vertex_ids has no {name!r}; expected ids for nose, eyes and ears")
            sources.append(("vertex", int(ids[name])))
        elif name.endswith("_hip"):
            sources.append(("regressor", EXTRA_JOINT_NAMES.index(name)))
        else:
            sources.append(_smpl_joint(name))
    return MeshKeypoints("coco", COCO.keypoint_names, tuple(sources), matrix)


def lsp_keypoints(extra_regressor_path: str | os.PathLike[str]) -> MeshKeypoints:
    """The 14 LSP joints of SPIN/VIBE's 49-joint output (``JOINT_NAMES[25:39]``)."""
    matrix = load_regressor(extra_regressor_path, 9, "J_regressor_extra")
    sources: list[Source] = []
    for name in LSP.keypoint_names:
        if name in ("right_hip", "left_hip", "neck", "head_top"):
            sources.append(("regressor", EXTRA_JOINT_NAMES.index(name)))
        else:
            sources.append(_smpl_joint(name))
    return MeshKeypoints("lsp", LSP.keypoint_names, tuple(sources), matrix)
