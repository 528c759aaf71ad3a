"""Body meshes of the people ``posekit predict`` found: fit a body model to each track, render, export.

The library behind ``posekit predict --mesh``. For every lifted track (a
:class:`~posekit.structures.PoseSequence` with Human3.6M-17 2D keypoints, ``keypoints_3d`` and
``trajectory``, as :mod:`posekit.inference.lift3d` gives them) or a 2D-only track (any registered
skeleton, with a pinhole camera guess), :class:`MeshFitter` runs
:func:`~posekit.bodymodels.fitting.fit_to_keypoints` batched over the track's frames, with one shared
shape and a temporal smoothness term, and returns a :class:`MeshTrack` of body-model parameters.

Targets: the 2D keypoints (pixels, scores as weights) through the camera ``focal`` (default
:func:`~posekit.inference.lift3d.tracks.default_focal_length`, the same guess the lifter's
trajectory fallback uses) with the principal point at the image centre, plus, when the track was
lifted, the lifted 3D joints (``keypoints_3d``, root-relative metres) placed in camera space at the
translation that best reprojects them onto the 2D keypoints (:func:`anchor_translation`, a weighted
linear least squares per frame, as SPIN's ``estimate_translation``; the lifter's own ``trajectory``
is used only where too few keypoints are visible): on the shared street video the lifter's trajectory
projected 17-203 px (mean per track) away from the 2D keypoints, so fitting to it pulled the mesh
off the people. Keypoints are matched
to the body model's 24 SMPL-order joints by name (:data:`MESH_JOINTS`: hips, knees, ankles,
shoulders, elbows, wrists, the pelvis, and Human3.6M's thorax as SMPL's neck); face keypoints and
Human3.6M's spine and head have no SMPL joint at the same place and are not used.

Speed: the fit only needs the model's joints, which depend on the shape (regressed from the shaped
rest mesh) and the kinematic chain, never on the skinned vertices; :func:`joints_only_model` builds a
24-"vertex" model whose output joints equal the full model's exactly, so a few hundred optimisation
steps over a whole track cost milliseconds per frame. Vertices are made from the parameters only
when a mesh is drawn or written (:meth:`MeshFitter.vertices`); a :class:`MeshTrack` keeps parameters
(about 90 floats per frame), never vertices.

Camera space: x right, y down, z forward, metres. torch is imported with this module (it is used
only with ``--mesh``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from posekit.bodymodels import SMPL, load_body_model
from posekit.bodymodels.fitting import FittingConfig, fit_to_keypoints
from posekit.bodymodels.regressors import MeshKeypoints
from posekit.geometry.camera import Camera
from posekit.inference.lift3d.tracks import default_focal_length
from posekit.io.mesh import export_obj_sequence, save_body_parameters
from posekit.skeletons import get_skeleton
from posekit.structures import PoseSequence
from posekit.viz.mesh_render import Mesh, render_meshes, render_side_view, write_mesh_video

__all__ = [
    "DEFAULT_MESH_STEPS",
    "GENDERS",
    "MESH_JOINTS",
    "MIN_MESH_JOINTS",
    "MeshFitter",
    "MeshTrack",
    "anchor_translation",
    "joints_only_model",
    "load_mesh_body_model",
    "mesh_camera",
    "render_mesh_image",
    "write_mesh_obj",
    "write_mesh_parameters",
    "write_mesh_video_file",
]

# Keypoint name (any posekit skeleton) -> the SMPL joint at the same place.
MESH_JOINTS: dict[str, str] = {
    "pelvis": "pelvis",
    "left_hip": "left_hip",
    "right_hip": "right_hip",
    "left_knee": "left_knee",
    "right_knee": "right_knee",
    "left_ankle": "left_ankle",
    "right_ankle": "right_ankle",
    "thorax": "neck",
    "left_shoulder": "left_shoulder",
    "right_shoulder": "right_shoulder",
    "left_elbow": "left_elbow",
    "right_elbow": "right_elbow",
    "left_wrist": "left_wrist",
    "right_wrist": "right_wrist",
}
# A skeleton must name at least this many of MESH_JOINTS to pin a body down (limbs of both sides).
MIN_MESH_JOINTS = 8
DEFAULT_MESH_STEPS = 300
GENDERS = ("neutral", "male", "female")
_VERTEX_CHUNK = 32  # frames whose vertices are made at once (memory: 32 x V x 3 floats plus LBS temporaries)


@dataclass
class MeshTrack:
    """Fitted body-model parameters of one person over the frames of a track (``T`` frames).

    Attributes:
        file_name: the input (file path or label) the track comes from.
        track_id: the track id (image people: their row).
        frames: ``(T,)`` int64 frame numbers (0 for an image).
        global_orient: ``(T, 3)`` axis-angle, camera space.
        body_pose: ``(T, (J-1)*3)`` axis-angle of the 23 body joints.
        betas: ``(T, S)`` shape coefficients (one shape per track: every row equal).
        transl: ``(T, 3)`` metres, camera space.
        reprojection_error: ``(T,)`` mean pixel distance of the fitted joints to the 2D keypoints.
        joints_3d_error: ``(T,)`` mean distance to the lifted 3D joints in metres (NaN without 3D).
        model: the body model's name (``"open"`` or the SMPL file's stem).
    """

    file_name: str
    track_id: int
    frames: np.ndarray
    global_orient: np.ndarray
    body_pose: np.ndarray
    betas: np.ndarray
    transl: np.ndarray
    reprojection_error: np.ndarray
    joints_3d_error: np.ndarray
    model: str

    def __len__(self) -> int:
        return len(self.frames)

    def parameters(self) -> dict[str, np.ndarray]:
        """The named arrays of :func:`posekit.io.mesh.save_body_parameters` (plus ``frame_indices``, errors)."""
        return {
            "global_orient": self.global_orient,
            "body_pose": self.body_pose,
            "betas": self.betas,
            "transl": self.transl,
            "frame_indices": self.frames,
            "reprojection_error": np.nan_to_num(self.reprojection_error, nan=-1.0),
            "joints_3d_error": np.nan_to_num(self.joints_3d_error, nan=-1.0),
        }


def load_mesh_body_model(source: str | os.PathLike[str] = "open", gender: str = "neutral") -> SMPL:
    """The body model of ``--body-model`` (``"open"``, an SMPL file or a folder of them), float32, CPU.

    Raises:
        ValueError: one sentence naming the file and what was expected (a missing file included).
    """
    if gender not in GENDERS:
        raise ValueError(f"--gender must be one of {', '.join(GENDERS)}, got {gender!r}")
    try:
        return load_body_model(source, gender=gender)
    except (FileNotFoundError, ValueError) as error:
        text = " ".join(str(error).split())
        raise ValueError(text if str(source) in text else f"--body-model {source}: {text}") from None


def joints_only_model(model: SMPL) -> SMPL:
    """A model whose 24 "vertices" are ``model``'s joints: same ``joints`` output, no skinned mesh.

    SMPL's joints are regressed from the shaped rest mesh (before pose blend shapes) and posed by the
    kinematic chain; this model's template is ``J_regressor @ v_template``, its shape directions
    ``J_regressor @ shapedirs``, each "vertex" skinned fully to its own joint. Its ``joints`` equal
    ``model``'s (up to float rounding) at a fraction of the cost, for fitting.
    """
    regressor = model.J_regressor.double().numpy()  # (J, V)
    num_joints = regressor.shape[0]
    template = regressor @ model.v_template.double().numpy()  # (J, 3)
    shapedirs = np.einsum("jv,vcs->jcs", regressor, model.shapedirs.double().numpy())  # (J, 3, S)
    return SMPL(
        v_template=template,
        shapedirs=shapedirs,
        posedirs=np.zeros((num_joints, 3, 9 * (num_joints - 1))),
        J_regressor=np.eye(num_joints),
        weights=np.eye(num_joints),
        parents=model.parents,
        faces=np.array([[0, 1, 2]]),
        joint_names=model.joint_names,
        dtype=model.dtype,
        name=f"{model.name}-joints",
    )


def anchor_translation(
    joints_3d: np.ndarray,
    keypoints_2d: np.ndarray,
    scores: np.ndarray,
    camera: Camera,
    fallback: np.ndarray,
    min_depth: float = 0.5,
) -> np.ndarray:
    """``(T, 3)`` translations ``t`` that make ``joints_3d + t`` project onto ``keypoints_2d``.

    Per frame, the weighted linear least squares of ``fx (X + tx) = (u - cx)(Z + tz)`` and
    ``fy (Y + ty) = (v - cy)(Z + tz)`` over the keypoints (weights ``scores``).

    Args:
        joints_3d: ``(T, K, 3)`` root-relative metres (NaN = missing).
        keypoints_2d: ``(T, K, 2)`` pixels, the same joints.
        scores: ``(T, K)`` weights (0 = missing).
        camera: focal and principal point.
        fallback: ``(T, 3)`` used where fewer than 3 keypoints are visible or the solution is not
            at least ``min_depth`` metres in front of the camera.
    """
    fx, fy = (float(value) for value in camera.focal)
    cx, cy = (float(value) for value in camera.center)
    valid = (scores > 0) & np.isfinite(joints_3d).all(axis=-1) & np.isfinite(keypoints_2d).all(axis=-1)
    weights = np.where(valid, scores, 0.0)[..., None]  # (T, K, 1)
    points = np.where(valid[..., None], joints_3d, 0.0).astype(np.float64)
    pixels = np.where(valid[..., None], keypoints_2d, 0.0).astype(np.float64)
    du, dv = pixels[..., 0] - cx, pixels[..., 1] - cy  # (T, K)
    zeros = np.zeros_like(du)
    # Rows [fx, 0, -du] t = du Z - fx X and [0, fy, -dv] t = dv Z - fy Y.
    rows_u = np.stack([np.full_like(du, fx), zeros, -du], axis=-1)  # (T, K, 3)
    rows_v = np.stack([zeros, np.full_like(dv, fy), -dv], axis=-1)
    rhs_u = du * points[..., 2] - fx * points[..., 0]
    rhs_v = dv * points[..., 2] - fy * points[..., 1]
    matrix = np.concatenate([rows_u, rows_v], axis=1) * np.concatenate([weights, weights], axis=1)
    rhs = np.concatenate([rhs_u, rhs_v], axis=1) * np.concatenate([weights, weights], axis=1)[..., 0]
    normal = np.einsum("tki,tkj->tij", matrix, matrix)
    target = np.einsum("tki,tk->ti", matrix, rhs)
    enough = valid.sum(axis=1) >= 3
    solved = np.asarray(fallback, np.float64).copy()
    if enough.any():
        solution = np.linalg.solve(normal[enough] + 1e-9 * np.eye(3), target[enough][..., None])[..., 0]
        good = np.isfinite(solution).all(axis=-1) & (solution[:, 2] >= min_depth)
        rows = np.flatnonzero(enough)[good]
        solved[rows] = solution[good]
    return solved


def mesh_camera(image_size: tuple[int, int], focal: float | None = None) -> Camera:
    """The pinhole camera guess of a ``(w, h)`` image: ``focal`` (default 1.15 x w) and the image centre."""
    width, height = image_size
    length = default_focal_length(image_size) if focal is None else float(focal)
    return Camera(
        focal=np.array([length, length]),
        center=np.array([width / 2.0, height / 2.0]),
        image_size=(int(width), int(height)),
    )


class MeshFitter:
    """Fits a body model to tracks of keypoints (see the module docstring).

    Args:
        body_model: ``"open"`` (shipped), an SMPL file or folder, or a loaded :class:`~posekit.bodymodels.SMPL`.
        gender: which file of an SMPL folder.
        steps: optimisation steps per track (the first fifth move only translation and orientation).
        smoothness_weight: temporal smoothness (``FittingConfig.smoothness_weight``; 0.01: a 1 cm joint
            jump between frames costs as much as 0.1 px of reprojection error: it damps jitter, not motion).
    """

    def __init__(
        self,
        body_model: str | os.PathLike[str] | SMPL = "open",
        *,
        gender: str = "neutral",
        steps: int = DEFAULT_MESH_STEPS,
        smoothness_weight: float = 0.01,
    ) -> None:
        if steps < 1:
            raise ValueError(f"--mesh-steps must be >= 1, got {steps}")
        self.model = body_model if isinstance(body_model, SMPL) else load_mesh_body_model(body_model, gender)
        self.joint_model = joints_only_model(self.model)
        self.config = FittingConfig(
            steps=steps,
            camera_steps=max(1, steps // 5) if steps > 1 else 0,
            smoothness_weight=smoothness_weight,
            shared_betas=True,
        )
        self.faces = self.model.faces.numpy()

    @property
    def name(self) -> str:
        return self.model.name

    def _targets(self, sequence: PoseSequence, camera: Camera) -> tuple[MeshKeypoints, np.ndarray, np.ndarray | None]:
        """The model keypoints, ``(T, K, 3)`` 2D targets with scores and ``(T, K, 4)`` camera-space 3D
        targets with weights (or None)."""
        names_2d = get_skeleton(sequence.skeleton).keypoint_names
        names_3d: tuple[str, ...] = ()
        lifted = sequence.keypoints_3d is not None and sequence.trajectory is not None
        if lifted:
            assert sequence.skeleton_3d is not None
            names_3d = get_skeleton(sequence.skeleton_3d).keypoint_names
        used = [name for name in MESH_JOINTS if name in names_2d or name in names_3d]
        if len(used) < MIN_MESH_JOINTS:
            raise ValueError(
                f"track {sequence.track_id}: its {sequence.skeleton} keypoints name {len(used)} of the body joints "
                f"a mesh is fitted to; expected at least {MIN_MESH_JOINTS} of {', '.join(MESH_JOINTS)}"
            )
        joint_names = self.model.joint_names
        missing = [MESH_JOINTS[name] for name in used if MESH_JOINTS[name] not in joint_names]
        if missing:
            raise ValueError(f"body model {self.name} has no joints named {', '.join(missing)}; expected SMPL's 24")
        keypoints = MeshKeypoints(
            "smpl", tuple(used), tuple(("joint", joint_names.index(MESH_JOINTS[name])) for name in used)
        )
        frames = len(sequence.frames)
        target_2d = np.zeros((frames, len(used), 3), np.float64)
        for column, name in enumerate(used):
            if name in names_2d:
                index = names_2d.index(name)
                target_2d[:, column, :2] = sequence.keypoints[:, index, :2]
                target_2d[:, column, 2] = sequence.scores[:, index]
        target_3d = None
        if lifted:
            assert sequence.keypoints_3d is not None and sequence.trajectory is not None
            target_3d = np.zeros((frames, len(used), 4), np.float64)
            for column, name in enumerate(used):
                if name in names_3d:
                    index = names_3d.index(name)
                    target_3d[:, column, :3] = sequence.keypoints_3d[:, index]
                    target_3d[:, column, 3] = np.isfinite(sequence.keypoints_3d[:, index]).all(axis=-1)
            relative = np.where(target_3d[..., 3:] > 0, target_3d[..., :3], np.nan)
            scores = np.where(target_3d[..., 3] > 0, target_2d[..., 2], 0.0)
            offset = anchor_translation(relative, target_2d[..., :2], scores, camera, sequence.trajectory)
            target_3d[..., :3] += offset[:, None, :]
        return keypoints, target_2d, target_3d

    def fit(
        self,
        sequence: PoseSequence,
        image_size: tuple[int, int],
        *,
        focal: float | None = None,
        file_name: str = "",
    ) -> MeshTrack:
        """Fit the body model to ``sequence`` (all its frames at once) seen by :func:`mesh_camera`.

        Raises:
            ValueError: the track's skeleton names too few body joints, or the model lacks SMPL's joints.
        """
        camera = mesh_camera(image_size, focal)
        keypoints, target_2d, target_3d = self._targets(sequence, camera)
        if not (target_2d[..., 2] > 0).any() and target_3d is None:
            raise ValueError(f"track {sequence.track_id}: no visible keypoint in any frame; nothing to fit a mesh to")
        intrinsics = np.array(
            [[camera.focal[0], 0.0, camera.center[0]], [0.0, camera.focal[1], camera.center[1]], [0.0, 0.0, 1.0]]
        )
        with torch.enable_grad():
            result = fit_to_keypoints(
                self.joint_model, target_2d, intrinsics, target_3d, keypoints=keypoints, config=self.config
            )

        def array(value: torch.Tensor) -> np.ndarray:
            return value.detach().cpu().numpy().astype(np.float32)

        return MeshTrack(
            file_name=file_name,
            track_id=int(sequence.track_id),
            frames=np.asarray(sequence.frames, np.int64).copy(),
            global_orient=array(result.global_orient),
            body_pose=array(result.body_pose),
            betas=array(result.betas),
            transl=array(result.transl),
            reprojection_error=array(result.reprojection_error),
            joints_3d_error=array(result.joints_3d_error),
            model=self.name,
        )

    def vertices(self, track: MeshTrack, rows: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
        """``(R, V, 3)`` float32 camera-space vertices of ``track`` at positions ``rows`` (default: all)."""
        picked = np.arange(len(track)) if rows is None else np.asarray(rows, np.int64)
        chunks = []
        dtype = self.model.dtype
        with torch.no_grad():
            for start in range(0, len(picked), _VERTEX_CHUNK):
                part = picked[start : start + _VERTEX_CHUNK]

                def tensor(values: np.ndarray, part: np.ndarray = part) -> torch.Tensor:
                    return torch.as_tensor(values[part], dtype=dtype)

                output = self.model(
                    global_orient=tensor(track.global_orient),
                    body_pose=tensor(track.body_pose),
                    betas=tensor(track.betas),
                    transl=tensor(track.transl),
                )
                chunks.append(output.vertices.numpy().astype(np.float32))
        if not chunks:
            return np.zeros((0, self.model.num_vertices, 3), np.float32)
        return np.concatenate(chunks)

    def meshes_at(self, tracks: Sequence[MeshTrack], frame: int) -> list[Mesh]:
        """The meshes of the tracks present at ``frame`` (vertices made now, one batch per track)."""
        meshes = []
        for track in tracks:
            rows = np.flatnonzero(track.frames == frame)
            if len(rows):
                meshes.append(Mesh(self.vertices(track, rows[:1])[0], self.faces, track.track_id))
        return meshes


def write_mesh_parameters(path: str | os.PathLike[str], track: MeshTrack) -> Path:
    """``track``'s parameters as a named ``.npz`` (:func:`posekit.io.mesh.save_body_parameters`), atomically."""
    metadata = {"model": track.model, "file_name": track.file_name, "track_id": str(track.track_id)}
    metadata["rotation"] = "axis_angle"
    return save_body_parameters(path, track.parameters(), metadata=metadata)


def write_mesh_obj(folder: str | os.PathLike[str], fitter: MeshFitter, tracks: Sequence[MeshTrack]) -> list[Path]:
    """``folder/track_<id>/frame_<n>.obj`` per track and frame (each file atomic), a chunk of frames at a time."""
    model = fitter.model
    uvs, uv_faces = model.extras.get("vt"), model.extras.get("ft")
    written: list[Path] = []
    for track in tracks:
        for start in range(0, len(track), _VERTEX_CHUNK):
            rows = np.arange(start, min(start + _VERTEX_CHUNK, len(track)))
            vertices = fitter.vertices(track, rows)
            written += export_obj_sequence(
                folder,
                [{track.track_id: vertices[position]} for position in range(len(rows))],
                fitter.faces,
                by="track",
                uvs=None if uvs is None else np.asarray(uvs),
                uv_faces=None if uv_faces is None else np.asarray(uv_faces),
                frame_indices=track.frames[rows].tolist(),
            )
    return written


def render_mesh_image(
    image: np.ndarray,
    fitter: MeshFitter,
    tracks: Sequence[MeshTrack],
    camera: Camera,
    *,
    frame: int = 0,
    side_view: bool = False,
) -> np.ndarray:
    """``image`` (``(H, W, 3)`` uint8 RGB) with the tracks' meshes at ``frame`` drawn over it (and a side view)."""
    meshes = fitter.meshes_at(tracks, frame)
    picture = render_meshes(image, meshes, camera)
    if side_view:
        view = render_side_view(meshes, camera, (image.shape[1], image.shape[0]))
        picture = np.concatenate([picture, view], axis=1)
    return picture


def write_mesh_video_file(
    path: str | os.PathLike[str],
    frames: Iterable[tuple[int, np.ndarray]],
    fitter: MeshFitter,
    tracks: Sequence[MeshTrack],
    camera: Camera,
    fps: float,
    *,
    side_view: bool = False,
) -> int:
    """An MP4 of the tracks' meshes over ``frames`` (``(index, image)``), atomically; returns the frames written."""
    current: list[int] = []

    def images() -> Iterator[np.ndarray]:
        for index, image in frames:
            current[:] = [index]
            yield image

    def meshes() -> Iterator[list[Mesh]]:
        while True:  # drawn in step with images(): write_mesh_video takes one mesh list per frame it got
            yield fitter.meshes_at(tracks, current[0])

    return write_mesh_video(path, images(), meshes(), camera, fps, side_view=side_view)
