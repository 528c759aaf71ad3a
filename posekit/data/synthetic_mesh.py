"""Synthetic mesh people: the open body model posed by DeepMimic motion capture, rendered over clutter.

The mesh mode of ``posekit synth`` (``--mesh``). It reuses :mod:`posekit.data.synthetic` for
everything but the figures: the held-out clip split (:data:`~posekit.data.synthetic.VAL_CLIPS`),
pose augmentation (mirroring, limb jitter), camera sampling (:func:`~posekit.data.synthetic.place_person`,
placed on the posed mesh's vertices), backgrounds, occluders, photometric effects and the COCO
annotation writer. People are body-model meshes (default ``load_body_model("open")``) with random
betas (standard normal, clipped at 2.5), posed by :func:`posekit.data.mesh_retarget.retarget_points`
(bone directions), shaded per body part with the synthetic materials (texture coordinates = the
model's UVs), all people of an image rasterised into **one** z-buffer so they occlude each other.

The rasteriser is passed in (``rasterize=posekit.viz.mesh_render.rasterize``): ``data`` and ``viz`` are
sibling packages of layer 4 and may not import each other (tests/test_layers.py); the CLI (layer 7)
joins them.

Sequences: with ``sequence_length = L > 1`` every sample is ``L`` consecutive frames of one clip
per person (same betas, same static camera, background and occluders; photometric effects drawn per
frame), written as images ``<sample>_<t>.jpg``; ``L = 1`` writes single frames ``<sample>.jpg``.

Layout (``DIR`` = the output folder)::

    DIR/images/{train,val}/<name>.jpg          the rendered image
    DIR/labels/{train,val}/<name>.npz          per-pixel maps and per-person mesh labels (see below)
    DIR/annotations/{train,val}.json           COCO keypoints (+ keypoints_3d, camera, motion, mesh fields)

Each ``.npz`` (``N`` people, ``H x W`` image, ``V`` vertices), all camera space (x right, y down,
z forward, metres), ``X_cam = R X_world + t`` per person:

* ``global_orient (N, 3)``, ``body_pose (N, 23, 3)`` axis-angle, ``betas (N, S)``, ``transl (N, 3)``
  float64: camera-space parameters; the body model on them gives ``vertices`` and ``joints_3d``;
* ``vertices (N, V, 3)`` float32 (when ``store_vertices``), ``joints_3d (N, 24, 3)``,
  ``joints_2d (N, 24, 2)`` pixels (exact projections);
* ``keypoints_coco (N, 17, 3)`` ``x, y, v`` and ``keypoints_coco_3d (N, 17, 3)``: COCO-17 from the
  model (:func:`open_body_coco_keypoints`), visibility as in :mod:`posekit.data.synthetic`;
* ``focal (2,)``, ``center (2,)``, ``R (N, 3, 3)``, ``t (N, 3)``: the camera;
* ``instance_mask (H, W)`` uint8: 0 background or occluder, ``i + 1`` where person ``i`` is visible;
  ``silhouettes (N, H, W)`` bool: each person's whole (amodal) silhouette;
* ``iuv (H, W, 3)`` float32 ``[I, U, V]`` (``I`` = part label + 1 of the visible person's face, ``U, V``
  its texture coordinates; 0 on background and occluders), ``depth (H, W)`` float32 (``inf`` off the
  people, 0 on occluders).

COCO-17 from the open model: shoulders, elbows, wrists, hips, knees, ankles are the model's SMPL
joints (hips: SMPL's hip joints, which sit higher and more inward than COCO's annotated hips);
nose, eyes and ears are vertex picks on the rest template (:func:`face_vertex_ids`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from posekit.bodymodels import BodyModel, load_body_model
from posekit.bodymodels.regressors import MeshKeypoints
from posekit.data.mesh_retarget import retarget_points
from posekit.data.mocap import MotionClip, load_deepmimic_clips
from posekit.data.synthetic import (
    COCO_KEYPOINT_NAMES,
    VAL_CLIPS,
    SynthesisConfig,
    SyntheticPerson,
    SyntheticScene,
    _box_iou,
    _figure_box,
    _image_rng,
    _random_occluder,
    augment_pose,
    coco_categories,
    keypoint_visibility,
    place_person,
    scene_annotations,
    split_clips,
)
from posekit.data.synthetic_figure import visibility_tolerance
from posekit.data.synthetic_render import (
    Material,
    apply_photometric_effects,
    draw_occluder,
    load_sample_pictures,
    make_background,
    random_color,
    random_material,
    shade_material,
)
from posekit.geometry import Camera
from posekit.io.atomic import atomic_path, atomic_write_text
from posekit.io.images import write_image
from posekit.skeletons.definitions import SMPL

__all__ = [
    "MeshSynthesisConfig",
    "Rasterize",
    "face_vertex_ids",
    "generate_mesh_dataset",
    "open_body_coco_keypoints",
    "render_mesh_sample",
]

# Part labels (SMPL joint indices) grouped into garments: skin, upper-body cloth, lower-body cloth.
_SKIN_PARTS = frozenset({12, 15, 20, 21, 22, 23})
_LOWER_PARTS = frozenset({0, 1, 2, 4, 5, 7, 8, 10, 11})
_UV_METRES = 1.5  # texture coordinates -> pattern coordinates in metres


class Rasterize(Protocol):
    """The rasteriser signature of :func:`posekit.viz.mesh_render.rasterize`."""

    def __call__(
        self,
        vertices: np.ndarray,
        faces: np.ndarray,
        focal: float | Sequence[float] | np.ndarray,
        center: Sequence[float] | np.ndarray,
        image_size: tuple[int, int],
    ) -> Any: ...  # .face_index (H, W) int64, .barycentrics (H, W, 3), .depth (H, W)


@dataclass(frozen=True)
class MeshSynthesisConfig:
    """Mesh-mode settings on top of the shared :class:`~posekit.data.synthetic.SynthesisConfig`.

    Attributes:
        base: image size, people per image, cameras, occluders, augmentation (``height_scale`` is
            not used: the betas set the size).
        sequence_length: consecutive frames per sample (1 = single frames).
        frame_step: clip frames between consecutive output frames.
        body_model: ``"open"`` or a path to a body-model file (24 SMPL-order joints, with ``vt``, ``ft``,
            ``part_labels``).
        beta_std: standard deviation of the random betas (clipped at 2.5 of it).
        store_vertices: write ``vertices`` into the label files (the parameters reproduce them anyway).
    """

    base: SynthesisConfig = SynthesisConfig()
    sequence_length: int = 1
    frame_step: int = 1
    body_model: str = "open"
    beta_std: float = 1.0
    store_vertices: bool = True

    def __post_init__(self) -> None:
        if self.sequence_length < 1:
            raise ValueError(f"sequence_length must be at least 1 frame, got {self.sequence_length}")
        if self.frame_step < 1:
            raise ValueError(f"frame_step must be at least 1, got {self.frame_step}")
        if not 0.0 <= self.beta_std <= 3.0:
            raise ValueError(f"beta_std must be in [0, 3], got {self.beta_std}")


# ---------------------------------------------------------------------------------------- model
def face_vertex_ids(template: np.ndarray, part_labels: np.ndarray) -> dict[str, int]:
    """Vertex picks for COCO's face points on a rest template (y up, +z forward, left +x).

    nose = the most forward head vertex (part label 15) within 1.5 cm of the midline; eyes = the
    head vertex nearest to ``nose + (+-3.2, 3.5, -2.5) cm`` (x, y, z); ears = the head vertices
    furthest to each side in the band from the nose's height to 6 cm above it.

    Args:
        template: ``(V, 3)`` rest vertices.
        part_labels: ``(V,)`` SMPL joint index per vertex (15 = head).
    """
    template = np.asarray(template, dtype=np.float64)
    head = np.nonzero(np.asarray(part_labels) == SMPL.keypoint_names.index("head"))[0]
    if len(head) == 0:
        raise ValueError("the body model has no head vertices (part label 15); cannot place COCO face points")
    points = template[head]
    midline = np.abs(points[:, 0]) < 0.015
    nose = head[midline][int(np.argmax(points[midline, 2]))]
    nose_point = template[nose]
    ids = {"nose": int(nose)}
    for side, sign in (("left", 1.0), ("right", -1.0)):
        target = nose_point + np.array([sign * 0.032, 0.035, -0.025])
        ids[f"{side}_eye"] = int(head[int(np.argmin(np.linalg.norm(points - target, axis=1)))])
        band = (points[:, 1] > nose_point[1]) & (points[:, 1] < nose_point[1] + 0.06)
        ids[f"{side}_ear"] = int(head[band][int(np.argmax(sign * points[band, 0]))])
    return ids


def open_body_coco_keypoints(template: np.ndarray, part_labels: np.ndarray) -> MeshKeypoints:
    """COCO-17 from a 24-joint SMPL-order model: face vertex picks, the other 12 from SMPL joints."""
    ids = face_vertex_ids(template, part_labels)
    sources: list[tuple[str, int]] = []
    for name in COCO_KEYPOINT_NAMES:
        if name in ids:
            sources.append(("vertex", ids[name]))
        else:
            sources.append(("joint", SMPL.keypoint_names.index(name)))
    return MeshKeypoints("coco", COCO_KEYPOINT_NAMES, tuple(sources))


_CHILD = {"shoulder": "elbow", "elbow": "wrist", "wrist": "hand", "hip": "knee", "knee": "ankle", "ankle": "foot"}


def keypoint_tolerances(template: np.ndarray, rest_joints: np.ndarray) -> np.ndarray:
    """``(17,)`` metres the visible surface may lie in front of each COCO keypoint that still counts as visible.

    Face points (vertices on the surface): :func:`~posekit.data.synthetic_figure.visibility_tolerance`.
    Joints: 4 cm plus the limb's radius at the joint on this mesh: the median distance from the bone
    axis (joint -> child joint) of the rest vertices within 2 cm of the joint's cross-section plane
    and within 25 cm of the joint.
    """
    template = np.asarray(template, dtype=np.float64)
    tolerances = []
    for name in COCO_KEYPOINT_NAMES:
        part = name.split("_", 1)[-1]
        if part not in _CHILD:
            tolerances.append(visibility_tolerance(name, 1.0))
            continue
        side = name.split("_", 1)[0]
        joint = rest_joints[SMPL.keypoint_names.index(name)]
        child = rest_joints[SMPL.keypoint_names.index(f"{side}_{_CHILD[part]}")]
        axis = (child - joint) / max(float(np.linalg.norm(child - joint)), 1e-9)
        offsets = template - joint
        along = offsets @ axis
        radial = np.linalg.norm(offsets - along[:, None] * axis, axis=1)
        near = (np.abs(along) < 0.02) & (radial < 0.25)
        tolerances.append(0.04 + (float(np.median(radial[near])) if near.any() else 0.06))
    return np.asarray(tolerances)


@dataclass(frozen=True, eq=False)
class _Model:
    model: BodyModel
    faces: np.ndarray  # (F, 3)
    uvs: np.ndarray  # (T, 2)
    uv_faces: np.ndarray  # (F, 3)
    face_parts: np.ndarray  # (F,)
    coco: MeshKeypoints
    parents: tuple[int, ...]
    tolerances: np.ndarray  # (17,) metres


def _load_model(source: str) -> _Model:
    from posekit.bodymodels.loading import read_body_model_file, resolve_body_model_path

    model = load_body_model(source)
    if model.num_joints != 24:
        raise ValueError(f"the mesh dataset needs a 24-joint SMPL-order body model, got {model.num_joints} joints")
    data = read_body_model_file(resolve_body_model_path(source))
    extras = {name: data.extras.get(name) for name in ("vt", "ft", "part_labels")}
    missing = [name for name, value in extras.items() if value is None]
    if missing:
        raise ValueError(f"body model {source!r} has no {missing}; the mesh dataset needs UVs and part labels")
    faces = model.faces.cpu().numpy().astype(np.int64)
    labels = np.asarray(extras["part_labels"], dtype=np.int64)
    template = np.asarray(data.v_template, dtype=np.float64)
    return _Model(
        model=model,
        faces=faces,
        uvs=np.asarray(extras["vt"], dtype=np.float64),
        uv_faces=np.asarray(extras["ft"], dtype=np.int64),
        face_parts=labels[faces[:, 0]],
        coco=open_body_coco_keypoints(template, labels),
        parents=tuple(int(parent) for parent in model.parents),
        tolerances=keypoint_tolerances(template, np.asarray(data.J_regressor, dtype=np.float64) @ template),
    )


def _pose(model: _Model, betas: np.ndarray, names: Sequence[str], points: np.ndarray) -> dict[str, np.ndarray]:
    """Retarget ``points (T, P, 3)`` at ``betas (S,)``; world-frame parameters, vertices, joints, COCO points."""
    count = len(points)
    with torch.no_grad():
        beta_tensor = torch.as_tensor(betas[None], dtype=torch.float32)
        rest = model.model(betas=beta_tensor).joints[0].double().numpy()
        result = retarget_points(names, points, rest, model.parents)
        output = model.model(
            global_orient=torch.as_tensor(result.global_orient, dtype=torch.float32),
            body_pose=torch.as_tensor(result.body_pose.reshape(count, -1), dtype=torch.float32),
            betas=beta_tensor.expand(count, -1),
            transl=torch.as_tensor(result.transl, dtype=torch.float32),
        )
        coco = model.coco(output).double().numpy()
    return {
        "global_orient": result.global_orient,
        "body_pose": result.body_pose,
        "transl": result.transl,
        "root": rest[0],
        "vertices": output.vertices.double().numpy(),
        "joints": output.joints.double().numpy(),
        "coco": coco,
    }


def _to_camera(axis_angle: np.ndarray, transl: np.ndarray, root: np.ndarray, camera: Camera) -> tuple[Any, Any]:
    """Camera-space ``global_orient`` and ``transl`` reproducing ``R X + t`` of the world-frame mesh."""
    from posekit.geometry import axis_angle_to_matrix, matrix_to_axis_angle

    rotation = np.asarray(camera.R, dtype=np.float64)
    orient = matrix_to_axis_angle(rotation @ axis_angle_to_matrix(axis_angle))
    # pelvis at root + transl rotates about itself: X_cam = R (G (X - root) + root + transl) + t
    new_transl = (root + transl) @ rotation.T + np.asarray(camera.t, dtype=np.float64) - root
    return orient, new_transl


# --------------------------------------------------------------------------------------- sample
@dataclass(frozen=True, eq=False)
class _Person:
    pose: dict[str, np.ndarray]  # world frame, (L, ...) arrays
    betas: np.ndarray
    camera: Camera
    materials: tuple[Material, Material, Material]  # skin, upper, lower
    motion: dict[str, Any]


def _clip_frames(clip: MotionClip, length: int, step: int, rng: np.random.Generator) -> list[int]:
    span = (length - 1) * step + 1
    start = int(rng.integers(len(clip) - span + 1))
    return list(range(start, start + span, step))


def _sample_people(
    model: _Model, clips: Sequence[MotionClip], config: MeshSynthesisConfig, rng: np.random.Generator, focal: float
) -> list[_Person]:
    base = config.base
    span = (config.sequence_length - 1) * config.frame_step + 1
    usable = [clip for clip in clips if len(clip) >= span]
    if not usable:
        raise ValueError(f"no clip of this split has the {span} frames a sequence of {config.sequence_length} needs")
    count = int(rng.integers(base.people_per_image[0], base.people_per_image[1] + 1))
    people: list[_Person] = []
    boxes: list[np.ndarray] = []
    for number in range(count):
        clip = usable[int(rng.integers(len(usable)))]
        frames = _clip_frames(clip, config.sequence_length, config.frame_step, rng)
        mirrored = bool(rng.uniform() < base.mirror_probability)
        jitter_seed = int(rng.integers(2**31))
        points = np.stack(
            [
                augment_pose(
                    clip.point_names,
                    clip.points[frame],
                    np.random.default_rng(jitter_seed),  # the same limb jitter on every frame
                    mirror=mirrored,
                    limb_jitter_degrees=base.limb_jitter_degrees,
                    height_scale=1.0,
                )
                for frame in frames
            ]
        )
        # augment_pose centres each frame on its root; keep the clip's motion relative to the first frame
        root = clip.point_names.index("root")
        drift = clip.points[frames][:, root] - clip.points[frames[0], root]
        drift[:, 1] = 0.0
        if mirrored:
            drift[:, 2] *= -1.0
        points = points + drift[:, None, :]
        betas = np.clip(rng.standard_normal(model.model.num_betas) * config.beta_std, -2.5, 2.5) * (
            1.0 if config.beta_std > 0 else 0.0
        )
        pose = _pose(model, betas, clip.point_names, points)
        outline = pose["vertices"][:, ::25].reshape(-1, 3)  # (L * V / 25, 3) world points for the camera
        ranges = base.first_person_fill if number == 0 else base.other_person_fill
        for _ in range(1 if number == 0 else 10):
            fill = float(rng.uniform(*ranges))
            truncate = number > 0 or bool(rng.uniform() < base.truncation_probability)
            camera = place_person(outline, rng, base, focal, fill, allow_truncation=truncate)
            box = _figure_box(camera, outline, margin=0.0)
            if all(_box_iou(box, other) <= base.max_overlap for other in boxes):
                break
        else:
            continue
        boxes.append(box)
        skin = random_material(rng, base_color=random_color(rng, (0.2, 0.6), (0.3, 0.95)), patterns=("plain",))
        people.append(
            _Person(
                pose=pose,
                betas=betas,
                camera=camera,
                materials=(skin, random_material(rng), random_material(rng)),
                motion={"clip": clip.name, "frames": frames, "mirrored": mirrored},
            )
        )
    return people


@dataclass(frozen=True, eq=False)
class MeshFrame:
    """One rendered frame: the image, its COCO scene (for :func:`scene_annotations`) and its label arrays."""

    image: np.ndarray
    scene: SyntheticScene
    labels: dict[str, np.ndarray]


def render_mesh_sample(
    model: _Model,
    clips: Sequence[MotionClip],
    config: MeshSynthesisConfig,
    rng: np.random.Generator,
    rasterize: Rasterize,
    pictures: Sequence[np.ndarray] = (),
) -> list[MeshFrame]:
    """Render one sample (``sequence_length`` frames) of randomly posed, shaped and placed people."""
    base = config.base
    width, height = base.image_size
    background = make_background(base.image_size, rng, pictures).astype(np.float32)
    focal = height * float(np.exp(rng.uniform(*np.log(base.focal_range))))
    people = _sample_people(model, clips, config, rng, focal)
    if not people:
        raise RuntimeError("no person could be placed")  # the first person is always placed
    occluders = []
    if rng.uniform() < base.occluder_probability:
        for _ in range(int(rng.integers(1, 3))):
            target = people[int(rng.integers(len(people)))]
            box = _figure_box(target.camera, target.pose["joints"][0], 0.1)
            occluders.append(_random_occluder(box, rng, base.image_size))
    light = np.array([rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 0.3), rng.uniform(-1.5, -0.3)])
    light /= np.linalg.norm(light)
    ambient = float(rng.uniform(0.35, 0.65))
    camera0 = people[0].camera
    num_faces = len(model.faces)
    frames: list[MeshFrame] = []
    for step in range(config.sequence_length):
        camera_vertices = [
            person.camera.world_to_camera(person.pose["vertices"][step]) for person in people
        ]  # N x (V, 3)
        num_vertices = camera_vertices[0].shape[0]
        all_faces = np.concatenate([model.faces + i * num_vertices for i in range(len(people))])
        raster = rasterize(np.concatenate(camera_vertices), all_faces, camera0.focal, camera0.center, (width, height))
        face_index = np.asarray(raster.face_index).ravel()
        covered = np.nonzero(face_index >= 0)[0]
        faces_hit = face_index[covered]
        person_of = faces_hit // num_faces
        local_face = faces_hit % num_faces
        bary = np.asarray(raster.barycentrics, dtype=np.float64).reshape(-1, 3)[covered]  # (M, 3)
        uv = np.einsum("mk,mkc->mc", bary, model.uvs[model.uv_faces[local_face]])  # (M, 2)
        # shading: face normals in camera space
        stacked = np.concatenate(camera_vertices)
        corners = stacked[all_faces[faces_hit]]  # (M, 3, 3)
        normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
        normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
        brightness = (ambient + (1.0 - ambient) * np.clip(normals @ light, 0.0, 1.0)).astype(np.float32)  # Lambert
        pixels = background.copy().reshape(-1, 3)  # (H * W, 3)
        parts = model.face_parts[local_face]
        garment = np.where(np.isin(parts, list(_SKIN_PARTS)), 0, np.where(np.isin(parts, list(_LOWER_PARTS)), 2, 1))
        for number, person in enumerate(people):
            for kind in range(3):
                chosen = np.nonzero((person_of == number) & (garment == kind))[0]
                if len(chosen):
                    pixels[covered[chosen]] = shade_material(
                        person.materials[kind], uv[chosen] * _UV_METRES, brightness[chosen], rng
                    )
        image = pixels.reshape(height, width, 3)
        depth = np.asarray(raster.depth, dtype=np.float32).reshape(height, width).copy()
        ids = np.zeros(height * width, dtype=np.int32)
        ids[covered] = person_of + 1
        id_buffer = ids.reshape(height, width)  # 0 background, i + 1 person i
        iuv_flat = np.zeros((height * width, 3), dtype=np.float32)
        iuv_flat[covered, 0] = parts + 1
        iuv_flat[covered, 1:] = uv
        iuv = iuv_flat.reshape(height, width, 3)
        metres_per_pixel = 0.005 * 256.0 / max(height, 1)
        for occluder in occluders:
            draw_occluder(image, depth, id_buffer, occluder.polygon, occluder.material, metres_per_pixel, rng)
        iuv[id_buffer < 0] = 0.0
        final = apply_photometric_effects(image, rng)
        frames.append(
            _label_frame(model, people, step, final, depth, id_buffer, iuv, camera_vertices, rasterize, config)
        )
    return frames


def _label_frame(
    model: _Model,
    people: Sequence[_Person],
    step: int,
    image: np.ndarray,
    depth: np.ndarray,
    id_buffer: np.ndarray,
    iuv: np.ndarray,
    camera_vertices: Sequence[np.ndarray],
    rasterize: Rasterize,
    config: MeshSynthesisConfig,
) -> MeshFrame:
    width, height = config.base.image_size
    final = image
    labelled: list[SyntheticPerson] = []
    arrays: dict[str, list[np.ndarray]] = {key: [] for key in _PERSON_KEYS}
    tolerances = model.tolerances
    for number, person in enumerate(people):
        camera = person.camera
        orient, transl = _to_camera(
            person.pose["global_orient"][step], person.pose["transl"][step], person.pose["root"], camera
        )
        joints = camera.world_to_camera(person.pose["joints"][step])
        coco_3d = camera.world_to_camera(person.pose["coco"][step])
        coco_2d = camera.project(coco_3d, clip=False)
        visibility = keypoint_visibility(
            coco_2d, coco_3d[:, 2], [[number + 1]] * len(COCO_KEYPOINT_NAMES), tolerances, id_buffer, depth
        )
        silhouette = np.asarray(
            rasterize(camera_vertices[number], model.faces, camera.focal, camera.center, (width, height)).face_index
            >= 0
        )
        rows, columns = np.nonzero(silhouette)
        bbox = (
            np.array(
                [
                    columns.min() - 0.5,
                    rows.min() - 0.5,
                    columns.max() - columns.min() + 1.0,
                    rows.max() - rows.min() + 1.0,
                ]
            )
            if len(rows)
            else np.zeros(4)
        )
        labelled.append(
            SyntheticPerson(
                keypoints=coco_2d,
                visibility=visibility,
                keypoints_3d=coco_3d,
                camera=camera,
                bbox=bbox,
                area=int(np.count_nonzero(id_buffer == number + 1)),
                part_ids=(number + 1,),
                motion={
                    "clip": person.motion["clip"],
                    "frame": int(person.motion["frames"][step]),
                    "mirrored": person.motion["mirrored"],
                    "person_index": number,
                },
            )
        )
        arrays["global_orient"].append(orient)
        arrays["body_pose"].append(person.pose["body_pose"][step])
        arrays["betas"].append(person.betas)
        arrays["transl"].append(transl)
        arrays["vertices"].append(camera_vertices[number].astype(np.float32))
        arrays["joints_3d"].append(joints)
        arrays["joints_2d"].append(camera.project(joints, clip=False))
        arrays["keypoints_coco"].append(np.concatenate([coco_2d, visibility[:, None]], axis=1))
        arrays["keypoints_coco_3d"].append(coco_3d)
        arrays["R"].append(np.asarray(camera.R, dtype=np.float64))
        arrays["t"].append(np.asarray(camera.t, dtype=np.float64))
        arrays["silhouettes"].append(silhouette)
    labels = {key: np.stack(values) for key, values in arrays.items()}
    if not config.store_vertices:
        del labels["vertices"]
    labels.update(
        focal=np.asarray(people[0].camera.focal, dtype=np.float64),
        center=np.asarray(people[0].camera.center, dtype=np.float64),
        instance_mask=np.clip(id_buffer, 0, 255).astype(np.uint8),
        iuv=iuv,
        depth=depth,
    )
    scene = SyntheticScene(
        image=final, background=final, id_buffer=id_buffer, depth_buffer=depth, people=tuple(labelled)
    )
    return MeshFrame(image=final, scene=scene, labels=labels)


_PERSON_KEYS = (
    "global_orient",
    "body_pose",
    "betas",
    "transl",
    "vertices",
    "joints_3d",
    "joints_2d",
    "keypoints_coco",
    "keypoints_coco_3d",
    "R",
    "t",
    "silhouettes",
)


# -------------------------------------------------------------------------------------- dataset
def _names(index: int, length: int) -> list[str]:
    if length == 1:
        return [f"{index + 1:012d}"]
    return [f"{index + 1:08d}_{step:03d}" for step in range(length)]


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with atomic_path(path) as temporary:
        np.savez_compressed(temporary, **arrays)  # type: ignore[arg-type]


def generate_mesh_dataset(
    output_dir: str | os.PathLike[str],
    num_train: int,
    num_val: int,
    rasterize: Rasterize,
    seed: int = 0,
    config: MeshSynthesisConfig | None = None,
    clips: Sequence[MotionClip] | None = None,
    val_clips: Sequence[str] = VAL_CLIPS,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Path]:
    """Render a synthetic mesh dataset (layout in the module docstring).

    ``num_train`` / ``num_val`` count samples (each ``sequence_length`` images). Each split's JSON is
    deleted first and written last, atomically; images and label files are written atomically one by
    one. The same seed and config give the same files.

    Args:
        output_dir: the dataset folder (created).
        num_train: training samples (poses from all clips but ``val_clips``).
        num_val: validation samples (poses from ``val_clips`` only).
        rasterize: :func:`posekit.viz.mesh_render.rasterize`.
        seed: the random seed.
        config: the settings; default :class:`MeshSynthesisConfig()`.
        clips: motion clips; default :func:`posekit.data.mocap.load_deepmimic_clips`.
        val_clips: names of the held-out clips.
        progress: called as ``progress(split, done, total)`` after each sample.

    Returns:
        ``{"train": path, "val": path}`` of the annotation files written (empty splits skipped).
    """
    if num_train < 0 or num_val < 0 or num_train + num_val == 0:
        raise ValueError(f"need num_train >= 0, num_val >= 0 and at least one sample, got {num_train} and {num_val}")
    config = config if config is not None else MeshSynthesisConfig()
    clips = list(clips) if clips is not None else load_deepmimic_clips()
    split_sets = {split: split_clips(clips, split, val_clips) for split in ("train", "val")}
    model = _load_model(config.body_model)
    pictures = load_sample_pictures() if config.base.use_sample_pictures else ()
    output = Path(output_dir)
    written: dict[str, Path] = {}
    info = {
        "description": "posekit synthetic mesh people: DeepMimic motion on a body model (posekit.data.synthetic_mesh)",
        "seed": seed,
        "config": {**asdict(config), "base": asdict(config.base)},
        "num_vertices": model.model.num_vertices,
        "train_clips": sorted(clip.name for clip in split_sets["train"]),
        "val_clips": sorted(clip.name for clip in split_sets["val"]),
    }
    for split, total in (("train", num_train), ("val", num_val)):
        if total == 0:
            continue
        annotation_path = output / "annotations" / f"{split}.json"
        annotation_path.unlink(missing_ok=True)
        images: list[dict[str, Any]] = []
        annotations: list[dict[str, Any]] = []
        width, height = config.base.image_size
        for index in range(total):
            frames = render_mesh_sample(
                model, split_sets[split], config, _image_rng(seed, split, index), rasterize, pictures
            )
            for step, (name, frame) in enumerate(zip(_names(index, config.sequence_length), frames, strict=True)):
                image_id = len(images) + 1
                write_image(output / "images" / split / f"{name}.jpg", frame.image, quality=config.base.jpeg_quality)
                _write_npz(output / "labels" / split / f"{name}.npz", frame.labels)
                images.append(
                    {
                        "id": image_id,
                        "file_name": f"{name}.jpg",
                        "width": width,
                        "height": height,
                        "labels": f"labels/{split}/{name}.npz",
                        "sequence": index,
                        "frame_in_sequence": step,
                    }
                )
                for annotation in scene_annotations(frame.scene, image_id, 1):
                    annotations.append({**annotation, "id": len(annotations) + 1})
            if progress is not None:
                progress(split, index + 1, total)
        document = {
            "info": {**info, "split": split},
            "licenses": [],
            "images": images,
            "annotations": annotations,
            "categories": coco_categories(),
        }
        atomic_write_text(annotation_path, json.dumps(document, separators=(",", ":")))
        written[split] = annotation_path
    return written
