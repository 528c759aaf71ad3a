"""Mesh files: Wavefront ``.obj`` per frame or per track, and ``.npz`` files of named body-model parameters.

Legend: ``V`` vertices, ``F`` triangles, ``T`` UV vertices, ``N`` frames. Positions are written as
given (posekit's meshes: metres, camera space, y down); faces are 0-based in memory and 1-based in
the ``.obj`` text, as the format defines. Every file is written atomically
(:mod:`posekit.io.atomic`), and a sequence export checks every frame before it writes the first
file, so bad input leaves nothing behind.

Body-model parameters are stored by name (``global_orient``, ``body_pose``, ``betas``, ``transl``
and any other plain numeric array, e.g. ``frame_indices``), never as a packed vector; string
metadata (model name, rotation convention, licence) travels beside them as ``meta_<key>`` arrays.
Files are read back with ``allow_pickle=False``.

glTF/GLB animation is not written yet (no pip library was evaluated for it in this round); a
sequence exports as one ``.obj`` per frame instead.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from posekit.io.atomic import atomic_path, atomic_write_text

__all__ = [
    "BODY_PARAMETER_NAMES",
    "ObjMesh",
    "export_obj_sequence",
    "load_body_parameters",
    "read_obj",
    "save_body_parameters",
    "write_obj",
]

BODY_PARAMETER_NAMES = ("global_orient", "body_pose", "betas", "transl")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_META_PREFIX = "meta_"


@dataclass(frozen=True)
class ObjMesh:
    """One named triangle mesh of an ``.obj`` file.

    Attributes:
        vertices: ``(V, 3)`` float64 positions.
        faces: ``(F, 3)`` int64 0-based vertex indices.
        uvs: ``(T, 2)`` float64 texture coordinates, or None.
        uv_faces: ``(F, 3)`` int64 0-based indices into ``uvs``, or None.
        name: The object's name (``o`` line), or None.
    """

    vertices: np.ndarray
    faces: np.ndarray
    uvs: np.ndarray | None = None
    uv_faces: np.ndarray | None = None
    name: str | None = None


def _checked(mesh: ObjMesh, what: str) -> ObjMesh:
    vertices = np.asarray(mesh.vertices)
    if vertices.ndim != 2 or vertices.shape[1] != 3 or not np.issubdtype(vertices.dtype, np.number):
        raise ValueError(
            f"{what}: vertices must be a numeric (V, 3) array, got shape {vertices.shape} {vertices.dtype}"
        )
    if not np.all(np.isfinite(vertices)):
        raise ValueError(f"{what}: vertices contain NaN or infinite values; expected finite positions")
    faces = _checked_indices(mesh.faces, len(vertices), f"{what}: faces", "vertices")
    uvs, uv_faces = mesh.uvs, mesh.uv_faces
    if (uvs is None) != (uv_faces is None):
        raise ValueError(f"{what}: uvs and uv_faces go together; got only {'uvs' if uv_faces is None else 'uv_faces'}")
    if uvs is not None and uv_faces is not None:
        uvs = np.asarray(uvs)
        if (
            uvs.ndim != 2
            or uvs.shape[1] != 2
            or not np.issubdtype(uvs.dtype, np.number)
            or not np.all(np.isfinite(uvs))
        ):
            raise ValueError(f"{what}: uvs must be a finite numeric (T, 2) array, got shape {uvs.shape} {uvs.dtype}")
        uv_faces = _checked_indices(uv_faces, len(uvs), f"{what}: uv_faces", "uvs")
        if uv_faces.shape != faces.shape:
            raise ValueError(f"{what}: uv_faces must have one row per face ({len(faces)}), got {len(uv_faces)}")
        uvs = uvs.astype(np.float64)
    if mesh.name is not None and (not mesh.name or any(character.isspace() for character in mesh.name)):
        raise ValueError(f"{what}: name must be a non-empty word without spaces, got {mesh.name!r}")
    return ObjMesh(vertices.astype(np.float64), faces, uvs, uv_faces, mesh.name)


def _checked_indices(indices: np.ndarray, count: int, what: str, target: str) -> np.ndarray:
    array = np.asarray(indices)
    if array.ndim != 2 or array.shape[1] != 3 or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
        raise ValueError(f"{what} must be an integer (F, 3) array, got shape {array.shape} {array.dtype}")
    array = array.astype(np.int64)
    if array.size and (array.min() < 0 or array.max() >= count):
        raise ValueError(f"{what} index {int(array.min())}..{int(array.max())} but there are {count} {target}")
    return array


def _obj_text(meshes: Sequence[ObjMesh]) -> str:
    """The ``.obj`` text of already-checked meshes (one ``o`` block each, indices offset globally)."""
    out = io.StringIO()
    out.write("# written by posekit\n")
    vertex_offset = uv_offset = 1  # .obj indices are 1-based and global across objects
    for mesh in meshes:
        if mesh.name is not None:
            out.write(f"o {mesh.name}\n")
        np.savetxt(out, mesh.vertices, fmt="v %.6f %.6f %.6f")
        if mesh.uvs is not None and mesh.uv_faces is not None:
            np.savetxt(out, mesh.uvs, fmt="vt %.6f %.6f")
            corners = np.stack([mesh.faces + vertex_offset, mesh.uv_faces + uv_offset], axis=2).reshape(-1, 6)
            np.savetxt(out, corners, fmt="f %d/%d %d/%d %d/%d")  # (F, 3, 2) -> (F, 6)
            uv_offset += len(mesh.uvs)
        else:
            np.savetxt(out, mesh.faces + vertex_offset, fmt="f %d %d %d")
        vertex_offset += len(mesh.vertices)
    return out.getvalue()


def write_obj(
    path: str | os.PathLike[str],
    vertices: np.ndarray | Sequence[ObjMesh],
    faces: np.ndarray | None = None,
    *,
    uvs: np.ndarray | None = None,
    uv_faces: np.ndarray | None = None,
    name: str | None = None,
) -> Path:
    """Write one mesh, or several named meshes (people of one frame), to an ``.obj`` file atomically.

    Args:
        path: Target file.
        vertices: ``(V, 3)`` positions, or a sequence of :class:`ObjMesh` (then ``faces``, ``uvs``,
            ``uv_faces`` and ``name`` must be left out).
        faces: ``(F, 3)`` 0-based vertex indices.
        uvs: Optional ``(T, 2)`` texture coordinates (written as ``vt``).
        uv_faces: ``(F, 3)`` 0-based indices into ``uvs`` (written as ``f v/vt``), with ``uvs``.
        name: Optional object name.

    Returns:
        The path written.

    Raises:
        ValueError: For arrays of the wrong shape, non-finite values or indices out of range.
    """
    if isinstance(vertices, np.ndarray):
        if faces is None:
            raise ValueError("write_obj needs faces (F, 3) with a vertex array")
        meshes = [ObjMesh(vertices, faces, uvs, uv_faces, name)]
    else:
        if faces is not None or uvs is not None or uv_faces is not None or name is not None:
            raise ValueError("write_obj takes either arrays or a sequence of ObjMesh, not both")
        meshes = list(vertices)
    checked = [_checked(mesh, f"{os.fspath(path)} mesh {index}") for index, mesh in enumerate(meshes)]
    return atomic_write_text(path, _obj_text(checked))


def read_obj(path: str | os.PathLike[str]) -> list[ObjMesh]:
    """Read the triangles of an ``.obj`` file (``v``, ``vt``, ``f`` with ``a``, ``a/b``, ``a/b/c`` or ``a//c``, ``o``).

    Faces with more than three corners are fanned into triangles; normals and materials are ignored.

    Returns:
        One :class:`ObjMesh` per object, each with its own vertices, reindexed from 0 (UVs only when
        every face of the object has them).

    Raises:
        ValueError: When a line cannot be parsed or an index is out of range (naming the line).
    """
    positions: list[list[float]] = []
    texture: list[list[float]] = []
    objects: list[tuple[str | None, list[list[tuple[int, int | None]]]]] = [(None, [])]
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            parts = line.split()
            if not parts or parts[0].startswith("#"):
                continue
            try:
                if parts[0] == "v":
                    positions.append([float(value) for value in parts[1:4]])
                elif parts[0] == "vt":
                    texture.append([float(value) for value in parts[1:3]])
                elif parts[0] == "o":
                    objects.append((parts[1] if len(parts) > 1 else None, []))
                elif parts[0] == "f":
                    corners: list[tuple[int, int | None]] = []
                    for corner in parts[1:]:
                        fields = corner.split("/")
                        vertex = int(fields[0])
                        vertex = vertex - 1 if vertex > 0 else len(positions) + vertex
                        uv = int(fields[1]) if len(fields) > 1 and fields[1] else None
                        if uv is not None:
                            uv = uv - 1 if uv > 0 else len(texture) + uv
                        corners.append((vertex, uv))
                    if len(corners) < 3:
                        raise ValueError("a face needs three corners")
                    objects[-1][1].extend([corners[0], corners[k], corners[k + 1]] for k in range(1, len(corners) - 1))
            except (ValueError, IndexError) as error:
                raise ValueError(f"{os.fspath(path)} line {number}: cannot read {line.strip()!r} ({error})") from None
    all_positions = np.array(positions, dtype=np.float64).reshape(-1, 3)
    all_uvs = np.array(texture, dtype=np.float64).reshape(-1, 2)
    meshes = []
    for name, triangles in objects:
        if not triangles and name is None:
            continue
        vertex_index = np.array([[corner[0] for corner in triangle] for triangle in triangles], np.int64).reshape(-1, 3)
        if vertex_index.size and (vertex_index.min() < 0 or vertex_index.max() >= len(all_positions)):
            raise ValueError(f"{os.fspath(path)}: a face refers to a vertex that the file does not define")
        used, faces = np.unique(vertex_index, return_inverse=True)
        uvs = uv_faces = None
        if triangles and all(corner[1] is not None for triangle in triangles for corner in triangle):
            uv_index = np.array([[corner[1] for corner in triangle] for triangle in triangles], np.int64)
            if uv_index.min() < 0 or uv_index.max() >= len(all_uvs):
                raise ValueError(f"{os.fspath(path)}: a face refers to a texture coordinate the file does not define")
            used_uv, uv_faces_flat = np.unique(uv_index, return_inverse=True)
            uvs, uv_faces = all_uvs[used_uv], uv_faces_flat.reshape(-1, 3)
        meshes.append(ObjMesh(all_positions[used], faces.reshape(-1, 3), uvs, uv_faces, name))
    return meshes


def export_obj_sequence(
    folder: str | os.PathLike[str],
    frames: Sequence[Mapping[int, np.ndarray]],
    faces: np.ndarray,
    *,
    by: Literal["frame", "track"] = "frame",
    uvs: np.ndarray | None = None,
    uv_faces: np.ndarray | None = None,
    frame_indices: Sequence[int] | None = None,
) -> list[Path]:
    """Export the meshes of a video as ``.obj`` files, one per frame or one per track and frame.

    ``by="frame"``: ``folder/frame_000012.obj`` holds every person of frame 12 as an object
    ``track_<id>``. ``by="track"``: ``folder/track_<id>/frame_000012.obj`` holds one person.
    Every frame is checked before the first file is written.

    Args:
        folder: Output folder (created).
        frames: Per frame, ``{track_id: vertices (V, 3)}`` (empty for a frame without people).
        faces: ``(F, 3)`` shared vertex indices.
        by: ``"frame"`` or ``"track"``.
        uvs: Optional ``(T, 2)`` texture coordinates shared by every mesh.
        uv_faces: ``(F, 3)`` indices into ``uvs``, with ``uvs``.
        frame_indices: The frame number of each entry of ``frames`` (default ``0, 1, ...``).

    Returns:
        The paths written, in order.

    Raises:
        ValueError: For a bad ``by``, mismatched ``frame_indices`` or any malformed mesh.
    """
    if by not in ("frame", "track"):
        raise ValueError(f"by must be 'frame' or 'track', got {by!r}")
    numbers = list(range(len(frames))) if frame_indices is None else [int(value) for value in frame_indices]
    if len(numbers) != len(frames):
        raise ValueError(f"frame_indices has {len(numbers)} entries for {len(frames)} frames")
    root = Path(folder)
    planned: list[tuple[Path, list[ObjMesh]]] = []
    for number, people in zip(numbers, frames, strict=True):
        meshes = [
            _checked(ObjMesh(vertices, faces, uvs, uv_faces, f"track_{int(track)}"), f"frame {number} track {track}")
            for track, vertices in sorted(people.items())
        ]
        if by == "frame":
            planned.append((root / f"frame_{number:06d}.obj", meshes))
        else:
            planned.extend(
                (root / f"track_{int(track)}" / f"frame_{number:06d}.obj", [mesh])
                for track, mesh in zip(sorted(people), meshes, strict=True)
            )
    return [atomic_write_text(path, _obj_text(meshes)) for path, meshes in planned]


def save_body_parameters(
    path: str | os.PathLike[str], parameters: Mapping[str, np.ndarray], metadata: Mapping[str, str] | None = None
) -> Path:
    """Write named body-model parameters (and string metadata) to an ``.npz`` atomically.

    Args:
        path: Target ``.npz``.
        parameters: ``name -> array``; names are identifiers (``global_orient (N, 3)``,
            ``body_pose (N, 69)``, ``betas (N, 10)``, ``transl (N, 3)``, ``frame_indices (N,)``, ...);
            arrays numeric and finite.
        metadata: ``key -> text`` stored as ``meta_<key>`` (e.g. ``model``, ``rotation``).

    Returns:
        The path written.

    Raises:
        ValueError: For a bad name, a non-numeric or non-finite array, or non-text metadata.
    """
    arrays: dict[str, np.ndarray] = {}
    for name, value in parameters.items():
        if not isinstance(name, str) or not _KEY.match(name) or name.startswith(_META_PREFIX):
            raise ValueError(f"parameter name {name!r} must be an identifier not starting with {_META_PREFIX!r}")
        array = np.asarray(value)
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
            raise ValueError(f"parameter {name!r} must be a numeric array, got {array.dtype}")
        if np.issubdtype(array.dtype, np.inexact) and not np.all(np.isfinite(array)):
            raise ValueError(f"parameter {name!r} contains NaN or infinite values")
        arrays[name] = array
    for key, text in (metadata or {}).items():
        if not isinstance(key, str) or not _KEY.match(key) or not isinstance(text, str):
            raise ValueError(f"metadata {key!r} must map an identifier to a string, got {type(text).__name__}")
        arrays[_META_PREFIX + key] = np.array(text)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        # Writing through a handle keeps np.savez from appending ".npz" to the temporary name.
        np.savez(handle, **arrays)  # type: ignore[arg-type]
    return Path(path)


def load_body_parameters(
    path: str | os.PathLike[str], required: Sequence[str] = BODY_PARAMETER_NAMES
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read a file written by :func:`save_body_parameters` (``allow_pickle=False``).

    Args:
        path: The ``.npz``.
        required: Parameter names that must be present.

    Returns:
        ``(parameters, metadata)``.

    Raises:
        ValueError: When the file is not a readable ``.npz`` or lacks a required parameter (naming it).
    """
    try:
        with np.load(path, allow_pickle=False) as archive:
            data = {key: archive[key] for key in archive.files}
    except (OSError, ValueError) as error:
        raise ValueError(f"{os.fspath(path)} is not a readable .npz of body-model parameters ({error})") from None
    metadata = {key[len(_META_PREFIX) :]: str(value) for key, value in data.items() if key.startswith(_META_PREFIX)}
    parameters = {key: value for key, value in data.items() if not key.startswith(_META_PREFIX)}
    missing = [name for name in required if name not in parameters]
    if missing:
        raise ValueError(f"{os.fspath(path)} lacks the parameters {missing} (found {sorted(parameters)})")
    return parameters, metadata
