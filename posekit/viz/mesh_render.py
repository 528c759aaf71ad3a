"""Triangle meshes drawn without a display: a z-buffer rasteriser in numpy, shaded overlays, side views,
silhouettes, IUV images, UV position maps and overlay videos.

Legend: ``V`` vertices, ``F`` faces, ``T`` UV vertices, ``N`` meshes (people), ``H x W`` image rows and
columns, ``M`` covered pixels. 3D points in metres, camera space (x right, y down, z forward, as
:mod:`posekit.geometry.camera`); 2D points in image pixels with the centre of the top-left pixel at
``(0, 0)``; images ``(H, W, 3)`` uint8 RGB; sizes ``(w, h)``.

No OpenGL, EGL, OSMesa or X server is involved: everything here is numpy (plus OpenCV through the
video writer), so it runs on any machine that pip can install posekit on. The rasteriser
(:func:`rasterize`) works in three vectorised passes:

1. project the vertices with the pinhole model ``u = fx X / Z + cx``, drop faces that are behind the
   near plane (any vertex with ``Z < near``: such faces are culled, not split), facing away from the
   camera (``cull_back_faces``), outside the image or so small that no pixel centre falls in their
   bounding box;
2. enumerate the pixel centres in every remaining face's bounding box, evaluate the face's
   barycentric coordinates there as affine functions of the pixel (three coefficients each, computed
   once per face), and keep the pixels inside;
3. resolve visibility with one ``np.minimum.at`` over a ``(H * W,)`` int64 buffer whose keys pack the
   quantised depth (from ``1 / Z``, which is affine in screen space) above the face index, so the
   nearest face wins every pixel; the winners' barycentrics are then recomputed and corrected for
   perspective (``b_i / Z_i`` renormalised).

A pixel belongs to a face when its centre lies inside the triangle or on its edge (a tolerance of
``1e-5`` in barycentric units closes the cracks between neighbours; a pixel on a shared edge goes to
the nearer face, either one at equal depth).

The same core, fed UV coordinates as 2D positions, paints 3D positions into UV space
(:func:`uv_position_map`, DenseBody: Yao et al., 2019), and with the body model's part labels and UVs
gives DensePose-style IUV images (:func:`render_iuv`, Güler et al., 2018).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from posekit.geometry.camera import Camera
from posekit.io.video import VideoWriter
from posekit.viz.draw import track_color

__all__ = [
    "Mesh",
    "Rasterization",
    "mesh_centre",
    "meshes_from_arrays",
    "rasterize",
    "rasterize_screen",
    "render_iuv",
    "render_meshes",
    "render_side_view",
    "rotate_meshes",
    "silhouette_masks",
    "uv_position_map",
    "write_mesh_video",
]

DEFAULT_ALPHA = 0.8  # opacity of the mesh over the image
DEFAULT_AMBIENT = 0.35  # ambient share of the Lambert shading
# Light direction (towards the light, camera space): from the camera, a little above (y is down).
DEFAULT_LIGHT = (0.0, -0.4, -1.0)
DEFAULT_NEAR = 1e-3  # metres; faces with a vertex nearer than this are culled
_EDGE_TOLERANCE = 1e-5  # barycentric units; a pixel centre on an edge belongs to the face
_MAX_FRAGMENTS = 1 << 21  # candidate pixels evaluated per chunk (bounds memory for huge faces)


@dataclass(frozen=True)
class Mesh:
    """One triangle mesh (a person).

    Attributes:
        vertices: ``(V, 3)`` float positions in metres (camera space, or the camera's world frame
            when the camera has extrinsics).
        faces: ``(F, 3)`` integer vertex indices.
        track_id: the person's track id (picks the colour, :func:`posekit.viz.draw.track_color`), or None.
    """

    vertices: np.ndarray
    faces: np.ndarray
    track_id: int | None = None


MeshLike = Mesh | tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Rasterization:
    """What the rasteriser saw at every pixel.

    Attributes:
        face_index: ``(H, W)`` int64 index of the visible face, ``-1`` where no face covers the pixel.
        barycentrics: ``(H, W, 3)`` float32 perspective-correct barycentric coordinates of the pixel
            centre in that face (summing to 1), zeros on the background.
        depth: ``(H, W)`` float32 camera-space ``Z`` of the visible surface in metres, ``inf`` on the
            background.
    """

    face_index: np.ndarray
    barycentrics: np.ndarray
    depth: np.ndarray

    @property
    def mask(self) -> np.ndarray:
        """``(H, W)`` bool: pixels covered by a face."""
        return self.face_index >= 0


@dataclass(frozen=True)
class _Fragments:
    """Visible surface samples, one per covered pixel (sparse form of :class:`Rasterization`).

    Attributes:
        pixels: ``(M,)`` int64 flat pixel indices ``row * W + column``, increasing.
        faces: ``(M,)`` int64 visible face per pixel.
        barycentrics: ``(M, 3)`` float32 perspective-correct barycentrics.
        depth: ``(M,)`` float32 depth (``Z`` for perspective input, the given depth otherwise).
    """

    pixels: np.ndarray
    faces: np.ndarray
    barycentrics: np.ndarray
    depth: np.ndarray


# --------------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------------


def _check_size(image_size: tuple[int, int]) -> tuple[int, int]:
    try:
        width, height = (int(value) for value in image_size)
    except (TypeError, ValueError) as error:
        raise ValueError(f"image_size must be (w, h) with positive integers, got {image_size!r}") from error
    if width <= 0 or height <= 0:
        raise ValueError(f"image_size must be (w, h) with positive integers, got {image_size!r}")
    return width, height


def _check_vertices(vertices: np.ndarray, name: str = "vertices", dims: int = 3) -> np.ndarray:
    array = np.asarray(vertices)
    if array.ndim != 2 or array.shape[1] != dims or not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{name} must be a numeric array of shape (V, {dims}), got shape {array.shape} {array.dtype}")
    array = array.astype(np.float64, copy=False)
    if not np.all(np.isfinite(array)):
        bad = int(np.count_nonzero(~np.all(np.isfinite(array), axis=1)))
        raise ValueError(
            f"{name} contain NaN or infinite values ({bad} of {len(array)} rows); expected finite positions"
        )
    return array


def _check_faces(faces: np.ndarray, num_vertices: int, name: str = "faces") -> np.ndarray:
    array = np.asarray(faces)
    if array.ndim != 2 or array.shape[1] != 3 or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
        raise ValueError(f"{name} must be an integer array of shape (F, 3), got shape {array.shape} {array.dtype}")
    array = array.astype(np.int64, copy=False)
    if array.size and (array.min() < 0 or array.max() >= num_vertices):
        raise ValueError(
            f"{name} index vertices {int(array.min())}..{int(array.max())} but there are {num_vertices} vertices "
            f"(expected indices in 0..{num_vertices - 1})"
        )
    return array


def _check_image(image: np.ndarray) -> np.ndarray:
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
        raise ValueError(f"image must be an (H, W, 3) uint8 RGB array, got shape {array.shape} {array.dtype}")
    return array


def _as_mesh(mesh: MeshLike, index: int) -> Mesh:
    if isinstance(mesh, Mesh):
        vertices, faces, track_id = mesh.vertices, mesh.faces, mesh.track_id
    elif isinstance(mesh, tuple) and len(mesh) == 2:
        (vertices, faces), track_id = mesh, None
    else:
        raise ValueError(f"meshes[{index}] must be a Mesh or a (vertices, faces) tuple, got {type(mesh).__name__}")
    vertices = _check_vertices(vertices, f"meshes[{index}] vertices")
    return Mesh(vertices, _check_faces(faces, len(vertices), f"meshes[{index}] faces"), track_id)


def _as_meshes(meshes: MeshLike | Sequence[MeshLike]) -> list[Mesh]:
    if isinstance(meshes, Mesh) or (
        isinstance(meshes, tuple) and len(meshes) == 2 and isinstance(meshes[0], np.ndarray) and meshes[0].ndim == 2
    ):
        meshes = [meshes]  # type: ignore[list-item]
    return [_as_mesh(mesh, index) for index, mesh in enumerate(meshes)]  # type: ignore[arg-type]


def meshes_from_arrays(vertices: np.ndarray, faces: np.ndarray, track_ids: Sequence[int] | None = None) -> list[Mesh]:
    """People sharing one topology (a body model's batch output) as a list of :class:`Mesh`.

    Args:
        vertices: ``(N, V, 3)`` positions in metres (e.g. ``BodyModelOutput.vertices`` as numpy), or ``(V, 3)``.
        faces: ``(F, 3)`` vertex indices shared by all.
        track_ids: One track id per mesh (colours), or None for ``0 .. N-1``.

    Returns:
        ``N`` checked meshes.
    """
    array = np.asarray(vertices)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"vertices must have shape (N, V, 3) or (V, 3), got {array.shape}")
    ids = list(range(len(array))) if track_ids is None else [int(track) for track in track_ids]
    if len(ids) != len(array):
        raise ValueError(f"track_ids has {len(ids)} entries for {len(array)} meshes")
    return [_as_mesh(Mesh(array[index], faces, ids[index]), index) for index in range(len(array))]


def _camera_space(vertices: np.ndarray, camera: Camera) -> np.ndarray:
    """Apply the camera's extrinsics ``X_cam = R X + t`` (a no-op for the identity default)."""
    if np.array_equal(camera.R, np.eye(3)) and not np.any(camera.t):
        return vertices
    return vertices @ camera.R.T + camera.t


# --------------------------------------------------------------------------------------------------
# Rasteriser
# --------------------------------------------------------------------------------------------------


def rasterize_screen(
    points: np.ndarray,
    depth: np.ndarray,
    faces: np.ndarray,
    image_size: tuple[int, int],
    *,
    perspective: bool = True,
    keep_faces: np.ndarray | None = None,
    cull_back_faces: bool = False,
) -> _Fragments:
    """Z-buffer rasterisation of triangles already placed on the screen (sparse output).

    Args:
        points: ``(V, 2)`` vertex positions in pixels.
        depth: ``(V,)`` positive vertex depths (camera ``Z`` in metres when ``perspective``; any
            positive value otherwise, e.g. ones for a flat UV layout). Smaller is nearer.
        faces: ``(F, 3)`` int64 vertex indices (checked by the caller).
        image_size: ``(w, h)``.
        perspective: Interpolate ``1 / depth`` (perspective-correct, as a pinhole projection needs);
            False interpolates ``depth`` and the barycentrics linearly in screen space.
        keep_faces: ``(F,)`` bool faces to draw (after culling by the caller), or None for all.
        cull_back_faces: Skip faces that are clockwise on the screen as seen by a viewer (negative
            doubled area ``e1 x e2`` with y down is front-facing): with a pinhole projection these
            are the faces of a counter-clockwise-from-outside mesh that face away from the camera.

    Returns:
        The visible fragments, one per covered pixel.
    """
    width, height = image_size
    empty = _Fragments(
        np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 3), np.float32), np.zeros(0, np.float32)
    )
    face_ids = np.arange(len(faces)) if keep_faces is None else np.flatnonzero(keep_faces)
    corner_index = np.take(faces, face_ids, axis=0)  # (F', 3)
    x0, x1, x2 = (np.take(points[:, 0], corner_index[:, k]) for k in range(3))  # (F',) each
    y0, y1, y2 = (np.take(points[:, 1], corner_index[:, k]) for k in range(3))
    # Doubled signed area; with y down, negative = clockwise as drawn = front-facing.
    area2 = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
    low_x = np.maximum(np.ceil(np.minimum(np.minimum(x0, x1), x2)), 0.0)  # first pixel centre in the box
    low_y = np.maximum(np.ceil(np.minimum(np.minimum(y0, y1), y2)), 0.0)
    high_x = np.minimum(np.floor(np.maximum(np.maximum(x0, x1), x2)), width - 1.0)
    high_y = np.minimum(np.floor(np.maximum(np.maximum(y0, y1), y2)), height - 1.0)
    visible = (high_x >= low_x) & (high_y >= low_y) & ((area2 < 0) if cull_back_faces else (area2 != 0))
    kept = np.flatnonzero(visible)
    if len(kept) == 0:
        return empty
    face_ids, corner_index, area2 = face_ids[kept], corner_index[kept], area2[kept]
    x0, x1, x2, y0, y1, y2 = (array[kept] for array in (x0, x1, x2, y0, y1, y2))
    low_x, low_y, high_x, high_y = low_x[kept], low_y[kept], high_x[kept], high_y[kept]
    # Barycentrics b1, b2 as affine functions of the pixel offset (x - low_x, y - low_y) inside the
    # face's box: b1 = cross(p - p0, e2) / cross(e1, e2), b2 = cross(e1, p - p0) / cross(e1, e2),
    # b0 = 1 - b1 - b2. Small arguments keep float32 evaluation within ~1e-7 barycentric units.
    inverse_area = 1.0 / area2
    a1, c1 = (y2 - y0) * inverse_area, -(x2 - x0) * inverse_area
    a2, c2 = -(y1 - y0) * inverse_area, (x1 - x0) * inverse_area
    d1 = a1 * (low_x - x0) + c1 * (low_y - y0)
    d2 = a2 * (low_x - x0) + c2 * (low_y - y0)
    # Depth is affine in screen space too: 1 / Z with perspective, Z without.
    corner_depth = np.take(depth, corner_index)  # (F', 3)
    values = 1.0 / corner_depth if perspective else corner_depth  # (F', 3)
    rise1, rise2 = values[:, 1] - values[:, 0], values[:, 2] - values[:, 0]
    a3, c3, d3 = a1 * rise1 + a2 * rise2, c1 * rise1 + c2 * rise2, values[:, 0] + d1 * rise1 + d2 * rise2
    table = np.stack([a1, c1, d1, a2, c2, d2], axis=0).astype(np.float32)  # (6, F')
    # Keys: quantised nearness above the face's row in these tables; the minimum key is the nearest face.
    value_low, value_high = float(values.min()), float(values.max())
    span = max(value_high - value_low, 1e-12)
    row_bits = max(1, int(len(kept)).bit_length())
    depth_steps = float((1 << (62 - row_bits)) - 1)
    # larger 1/Z is nearer (perspective); smaller Z is nearer otherwise
    key_scale = (-depth_steps if perspective else depth_steps) / span
    key_offset = value_high if perspective else value_low
    sentinel = np.iinfo(np.int64).max
    zbuffer = np.full(width * height, sentinel, dtype=np.int64)

    box_width = (high_x - low_x).astype(np.int64) + 1  # (F',) columns
    counts = box_width * ((high_y - low_y).astype(np.int64) + 1)  # (F',) candidate pixels
    pixel_base = low_y.astype(np.int64) * width + low_x.astype(np.int64)  # (F',) the box's first pixel
    # Chunks of faces with at most _MAX_FRAGMENTS candidate pixels (a single larger face is one chunk).
    ends = np.cumsum(counts)
    start = 0
    while start < len(kept):
        before = int(ends[start - 1]) if start else 0
        stop = max(int(np.searchsorted(ends, before + _MAX_FRAGMENTS, "right")), start + 1)
        chunk_counts = counts[start:stop]
        total = int(ends[stop - 1]) - before
        face_of = np.repeat(np.arange(start, stop), chunk_counts)  # (N,) row of each candidate's face
        within = np.arange(before, before + total) - np.take(ends - counts, face_of)  # (N,) index in the box
        widths = np.take(box_width, face_of)
        row = within // widths
        column = within - row * widths
        x, y = column.astype(np.float32), row.astype(np.float32)
        b1 = np.take(table[0], face_of) * x + np.take(table[1], face_of) * y + np.take(table[2], face_of)
        b2 = np.take(table[3], face_of) * x + np.take(table[4], face_of) * y + np.take(table[5], face_of)
        inside = np.flatnonzero(
            (b1 >= -_EDGE_TOLERANCE) & (b2 >= -_EDGE_TOLERANCE) & (b1 + b2 <= 1.0 + _EDGE_TOLERANCE)
        )
        face_of, x, y = face_of[inside], x[inside], y[inside]
        value = np.take(a3, face_of) * x + np.take(c3, face_of) * y + np.take(d3, face_of)  # float64
        quantised = np.clip((value - key_offset) * key_scale, 0.0, depth_steps).astype(np.int64)
        pixel = np.take(pixel_base, face_of) + row[inside] * width + column[inside]
        np.minimum.at(zbuffer, pixel, (quantised << row_bits) | face_of)
        start = stop

    pixels = np.flatnonzero(zbuffer != sentinel)
    if len(pixels) == 0:
        return empty
    row_of = np.take(zbuffer, pixels) & ((1 << row_bits) - 1)  # (M,) the winners' rows
    # Barycentrics of the winners at their pixel centres (float64), then perspective-corrected.
    x = pixels % width - np.take(low_x, row_of)
    y = pixels // width - np.take(low_y, row_of)
    b1 = np.clip(np.take(a1, row_of) * x + np.take(c1, row_of) * y + np.take(d1, row_of), 0.0, 1.0)
    b2 = np.clip(np.take(a2, row_of) * x + np.take(c2, row_of) * y + np.take(d2, row_of), 0.0, 1.0)
    b0 = np.clip(1.0 - b1 - b2, 0.0, 1.0)
    value = np.take(a3, row_of) * x + np.take(c3, row_of) * y + np.take(d3, row_of)
    if perspective:
        corner_values = np.take(values, row_of, axis=0)  # (M, 3) 1 / Z_i
        b0, b1, b2 = b0 * corner_values[:, 0], b1 * corner_values[:, 1], b2 * corner_values[:, 2]
        fragment_depth = 1.0 / np.maximum(value, 1e-300)
    else:
        fragment_depth = value
    total_weight = np.maximum(b0 + b1 + b2, 1e-300)
    barycentrics = np.empty((len(pixels), 3), dtype=np.float32)
    barycentrics[:, 0], barycentrics[:, 1], barycentrics[:, 2] = b0 / total_weight, b1 / total_weight, b2 / total_weight
    return _Fragments(pixels, np.take(face_ids, row_of), barycentrics, fragment_depth.astype(np.float32))


def _project(
    vertices: np.ndarray, faces: np.ndarray, focal: np.ndarray, center: np.ndarray, near: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pinhole projection: ``(V, 2)`` pixels, ``(V,)`` depth, ``(F,)`` bool faces in front of the near plane."""
    depth = vertices[:, 2]
    safe_depth = np.where(depth > near, depth, 1.0)
    points = vertices[:, :2] / safe_depth[:, None] * focal + center  # (V, 2)
    in_front = depth > near
    keep = in_front[faces[:, 0]] & in_front[faces[:, 1]] & in_front[faces[:, 2]]
    return points, depth, keep


def _rasterize_sparse(
    vertices: np.ndarray,
    faces: np.ndarray,
    focal: np.ndarray,
    center: np.ndarray,
    image_size: tuple[int, int],
    cull_back_faces: bool,
    near: float,
) -> _Fragments:
    points, depth, keep = _project(vertices, faces, focal, center, near)
    return rasterize_screen(
        points, depth, faces, image_size, perspective=True, keep_faces=keep, cull_back_faces=cull_back_faces
    )


def _pinhole(
    focal: float | Sequence[float] | np.ndarray, center: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    focal_array = np.broadcast_to(np.asarray(focal, dtype=np.float64), (2,)) if np.ndim(focal) <= 1 else None
    center_array = np.asarray(center, dtype=np.float64)
    if (
        focal_array is None
        or focal_array.shape != (2,)
        or not np.all(np.isfinite(focal_array))
        or np.any(focal_array <= 0)
    ):
        raise ValueError(f"focal must be a positive number or (fx, fy) in pixels, got {focal!r}")
    if center_array.shape != (2,) or not np.all(np.isfinite(center_array)):
        raise ValueError(f"center must be (cx, cy) in pixels, got {center!r}")
    return focal_array, center_array


def rasterize(
    vertices: np.ndarray,
    faces: np.ndarray,
    focal: float | Sequence[float] | np.ndarray,
    center: Sequence[float] | np.ndarray,
    image_size: tuple[int, int],
    *,
    cull_back_faces: bool = True,
    near: float = DEFAULT_NEAR,
) -> Rasterization:
    """Rasterise a triangle mesh seen by a pinhole camera: visible face, barycentrics and depth per pixel.

    Args:
        vertices: ``(V, 3)`` camera-space positions in metres (z forward).
        faces: ``(F, 3)`` integer vertex indices; counter-clockwise seen from outside (SMPL's and
            OBJ's convention) when ``cull_back_faces``.
        focal: ``fx`` (or ``(fx, fy)``) in pixels.
        center: ``(cx, cy)`` principal point in pixels.
        image_size: ``(w, h)`` of the output.
        cull_back_faces: Skip faces whose normal points away from the camera (closed, consistently
            wound meshes only; pass False for open or unoriented meshes).
        near: Faces with a vertex at ``Z <= near`` metres are culled (not split).

    Returns:
        The :class:`Rasterization` (``(H, W)`` maps).

    Raises:
        ValueError: For arrays of the wrong shape, non-finite vertices or out-of-range face indices.
    """
    width, height = _check_size(image_size)
    vertices = _check_vertices(vertices)
    faces = _check_faces(faces, len(vertices))
    focal_array, center_array = _pinhole(focal, center)
    fragments = _rasterize_sparse(vertices, faces, focal_array, center_array, (width, height), cull_back_faces, near)
    return _dense(fragments, (width, height))


def _dense(fragments: _Fragments, image_size: tuple[int, int]) -> Rasterization:
    width, height = image_size
    face_index = np.full(width * height, -1, dtype=np.int64)
    face_index[fragments.pixels] = fragments.faces
    barycentrics = np.zeros((width * height, 3), dtype=np.float32)
    barycentrics[fragments.pixels] = fragments.barycentrics
    depth = np.full(width * height, np.inf, dtype=np.float32)
    depth[fragments.pixels] = fragments.depth
    return Rasterization(
        face_index.reshape(height, width), barycentrics.reshape(height, width, 3), depth.reshape(height, width)
    )


# --------------------------------------------------------------------------------------------------
# Several meshes
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scene:
    """Meshes concatenated into one: ``vertices (V, 3)``, ``faces (F, 3)``, ``owner (F,)`` mesh index per face."""

    vertices: np.ndarray
    faces: np.ndarray
    owner: np.ndarray
    meshes: list[Mesh]


def _scene(meshes: Sequence[Mesh], camera: Camera) -> _Scene:
    vertex_offsets = np.cumsum([0] + [len(mesh.vertices) for mesh in meshes])
    if meshes:
        vertices = np.concatenate([_camera_space(mesh.vertices, camera) for mesh in meshes])
        faces = np.concatenate([mesh.faces + offset for mesh, offset in zip(meshes, vertex_offsets, strict=False)])
        owner = np.repeat(np.arange(len(meshes)), [len(mesh.faces) for mesh in meshes])
    else:
        vertices, faces, owner = np.zeros((0, 3)), np.zeros((0, 3), np.int64), np.zeros(0, np.int64)
    return _Scene(vertices, faces, owner, list(meshes))


def _scene_fragments(scene: _Scene, camera: Camera, image_size: tuple[int, int], cull_back_faces: bool) -> _Fragments:
    return _rasterize_sparse(
        scene.vertices, scene.faces, camera.focal, camera.center, image_size, cull_back_faces, DEFAULT_NEAR
    )


def _vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """``(V, 3)`` unit area-weighted vertex normals (zeros for unused vertices)."""
    corners = vertices[faces]  # (F, 3, 3)
    face_normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])  # (F, 3), |n| = 2 area
    normals = np.zeros_like(vertices)
    for column in range(3):
        for axis in range(3):
            normals[:, axis] += np.bincount(faces[:, column], face_normals[:, axis], minlength=len(vertices))
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return normals / np.maximum(length, 1e-12)


def _resolve_colors(meshes: Sequence[Mesh], colors: Sequence[Sequence[int]] | None) -> np.ndarray:
    if colors is None:
        return np.array(
            [track_color(index if mesh.track_id is None else mesh.track_id) for index, mesh in enumerate(meshes)],
            dtype=np.float64,
        ).reshape(-1, 3)
    array = np.asarray(colors, dtype=np.float64)
    if array.shape != (len(meshes), 3) or np.any(array < 0) or np.any(array > 255):
        raise ValueError(
            f"colors must be one RGB triple in 0..255 per mesh ({len(meshes)}, 3), got shape {array.shape}"
        )
    return array


def render_meshes(
    image: np.ndarray,
    meshes: MeshLike | Sequence[MeshLike],
    camera: Camera,
    colors: Sequence[Sequence[int]] | None = None,
    alpha: float = DEFAULT_ALPHA,
    *,
    light_direction: Sequence[float] = DEFAULT_LIGHT,
    ambient: float = DEFAULT_AMBIENT,
    cull_back_faces: bool = True,
) -> np.ndarray:
    """Draw shaded meshes over an image, nearest surface first (people occlude each other correctly).

    Shading is Lambert with an ambient term, interpolated from the vertices (Gouraud):
    ``colour * (ambient + (1 - ambient) * max(0, n . l))``; the result is blended over the image
    with opacity ``alpha`` where a mesh covers a pixel.

    Args:
        image: ``(H, W, 3)`` uint8 RGB frame (not modified).
        meshes: One :class:`Mesh` / ``(vertices, faces)`` or a sequence of them (``vertices (V, 3)``
            in metres in the camera's frame, ``faces (F, 3)``).
        camera: The pinhole camera (``focal``, ``center``; ``R``, ``t`` applied when set;
            distortion ignored).
        colors: One RGB colour per mesh; default :func:`posekit.viz.draw.track_color` of the mesh's
            track id (or of its position in the list).
        alpha: Mesh opacity in ``[0, 1]``.
        light_direction: ``(3,)`` direction towards the light in camera space.
        ambient: Ambient share of the light in ``[0, 1]``.
        cull_back_faces: See :func:`rasterize`.

    Returns:
        ``(H, W, 3)`` uint8 RGB: a new image.

    Raises:
        ValueError: For bad shapes, non-finite vertices, faces out of range or bad colours.
    """
    image = _check_image(image)
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    if not 0.0 <= float(ambient) <= 1.0:
        raise ValueError(f"ambient must be in [0, 1], got {ambient}")
    light = np.asarray(light_direction, dtype=np.float64)
    if light.shape != (3,) or not np.all(np.isfinite(light)) or not np.any(light):
        raise ValueError(f"light_direction must be a non-zero (3,) vector, got {light_direction!r}")
    light = light / np.linalg.norm(light)
    checked = _as_meshes(meshes)
    palette = _resolve_colors(checked, colors)
    height, width = image.shape[:2]
    output = image.copy()
    if not checked:
        return output
    scene = _scene(checked, camera)
    fragments = _scene_fragments(scene, camera, (width, height), cull_back_faces)
    if len(fragments.pixels) == 0:
        return output
    intensity = ambient + (1.0 - ambient) * np.clip(_vertex_normals(scene.vertices, scene.faces) @ light, 0.0, 1.0)
    corner_intensity = np.take(intensity.astype(np.float32), np.take(scene.faces, fragments.faces, axis=0))  # (M, 3)
    shade = np.einsum("mk,mk->m", corner_intensity, fragments.barycentrics)  # (M,)
    color = np.take((palette * alpha).astype(np.float32), np.take(scene.owner, fragments.faces), axis=0)  # (M, 3)
    flat = output.reshape(-1)  # (H * W * 3,)
    channels = (fragments.pixels * 3)[:, None] + np.arange(3)  # (M, 3) flat indices
    blended = np.take(flat, channels) * np.float32(1.0 - alpha) + color * shade[:, None] + np.float32(0.5)
    np.put(flat, channels, np.clip(blended, 0, 255).astype(np.uint8))
    return output


def mesh_centre(meshes: MeshLike | Sequence[MeshLike]) -> np.ndarray:
    """``(3,)`` centre of the meshes' joint bounding box (metres)."""
    checked = _as_meshes(meshes)
    if not checked:
        raise ValueError("mesh_centre needs at least one mesh")
    vertices = np.concatenate([mesh.vertices for mesh in checked])
    return (vertices.min(axis=0) + vertices.max(axis=0)) / 2.0


def rotate_meshes(
    meshes: MeshLike | Sequence[MeshLike], angle_degrees: float = 90.0, centre: np.ndarray | None = None
) -> list[Mesh]:
    """Turn meshes about the vertical (camera ``y``) axis through ``centre``.

    Args:
        meshes: As in :func:`render_meshes`.
        angle_degrees: Rotation angle; positive turns the side on the image's right (+x) away
            from the camera (+z), so at 90 the camera sees what was the image's left side (the
            view a second camera standing to the left would have).
        centre: ``(3,)`` pivot in metres, default :func:`mesh_centre`.

    Returns:
        New meshes with rotated vertices (faces and track ids kept).
    """
    checked = _as_meshes(meshes)
    if not checked:
        return []
    pivot = mesh_centre(checked) if centre is None else np.asarray(centre, dtype=np.float64).reshape(3)
    angle = math.radians(float(angle_degrees))
    cosine, sine = math.cos(angle), math.sin(angle)
    rotation = np.array([[cosine, 0.0, -sine], [0.0, 1.0, 0.0], [sine, 0.0, cosine]])  # about y
    return [Mesh((mesh.vertices - pivot) @ rotation.T + pivot, mesh.faces, mesh.track_id) for mesh in checked]


def render_side_view(
    meshes: MeshLike | Sequence[MeshLike],
    camera: Camera,
    image_size: tuple[int, int],
    angle_degrees: float = 90.0,
    *,
    background: Sequence[int] = (255, 255, 255),
    colors: Sequence[Sequence[int]] | None = None,
    centre: np.ndarray | None = None,
) -> np.ndarray:
    """Render the meshes turned ``angle_degrees`` about their centre, opaque, on a plain background.

    Args:
        meshes: As in :func:`render_meshes`.
        camera: The camera the meshes are seen with (the view keeps it).
        image_size: ``(w, h)`` of the view.
        angle_degrees: Turn about the vertical axis (see :func:`rotate_meshes`).
        background: RGB background colour.
        colors: As in :func:`render_meshes`.
        centre: Pivot, default the meshes' bounding-box centre.

    Returns:
        ``(H, W, 3)`` uint8 RGB.
    """
    width, height = _check_size(image_size)
    canvas = np.empty((height, width, 3), dtype=np.uint8)
    canvas[:] = np.asarray(background, dtype=np.uint8)
    checked = _as_meshes(meshes)
    if not checked:
        return canvas
    camera_meshes = [Mesh(_camera_space(mesh.vertices, camera), mesh.faces, mesh.track_id) for mesh in checked]
    turned = rotate_meshes(camera_meshes, angle_degrees, centre)
    intrinsics = Camera(focal=camera.focal, center=camera.center)
    palette = _resolve_colors(checked, colors)
    return render_meshes(canvas, turned, intrinsics, colors=palette.tolist(), alpha=1.0)


def silhouette_masks(
    meshes: MeshLike | Sequence[MeshLike], camera: Camera, image_size: tuple[int, int], *, visible_only: bool = True
) -> np.ndarray:
    """Per-mesh silhouette masks.

    Args:
        meshes: As in :func:`render_meshes`.
        camera: The pinhole camera.
        image_size: ``(w, h)``.
        visible_only: True: a pixel belongs to the nearest mesh only (instance masks with occlusion);
            False: each mesh's full silhouette, as if it were alone (amodal masks).

    Returns:
        ``(N, H, W)`` bool.
    """
    width, height = _check_size(image_size)
    checked = _as_meshes(meshes)
    masks = np.zeros((len(checked), height * width), dtype=bool)
    if visible_only:
        scene = _scene(checked, camera)
        fragments = _scene_fragments(scene, camera, (width, height), True)
        masks[scene.owner[fragments.faces], fragments.pixels] = True
    else:
        for index, mesh in enumerate(checked):
            fragments = _scene_fragments(_scene([mesh], camera), camera, (width, height), True)
            masks[index, fragments.pixels] = True
    return masks.reshape(len(checked), height, width)


def _face_parts(part_labels: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """``(F,)`` part of each face: the label two or three of its corners share, else its first corner's."""
    corner = part_labels[faces]  # (F, 3)
    return np.where(corner[:, 1] == corner[:, 2], corner[:, 1], corner[:, 0])


def _check_uv(uvs: np.ndarray, uv_faces: np.ndarray, num_faces: int) -> tuple[np.ndarray, np.ndarray]:
    uv_array = _check_vertices(uvs, "uvs", dims=2)
    uv_face_array = _check_faces(uv_faces, len(uv_array), "uv_faces")
    if len(uv_face_array) != num_faces:
        raise ValueError(f"uv_faces must have one row per face ({num_faces}), got {len(uv_face_array)}")
    return uv_array, uv_face_array


def render_iuv(
    vertices: np.ndarray,
    faces: np.ndarray,
    camera: Camera,
    image_size: tuple[int, int],
    part_labels: np.ndarray,
    uvs: np.ndarray,
    uv_faces: np.ndarray,
) -> np.ndarray:
    """A DensePose-style IUV image: body part index and surface UV at every pixel.

    The part of a face is the label its corners share (see the body model's ``part_labels``); U and
    V are the body model's texture coordinates (``vt``/``ft``) interpolated with perspective-correct
    barycentrics, so they follow the model's single UV atlas rather than DensePose's 24 per-part
    charts.

    Args:
        vertices: ``(V, 3)`` camera-space positions in metres.
        faces: ``(F, 3)`` vertex indices.
        camera: The pinhole camera.
        image_size: ``(w, h)``.
        part_labels: ``(V,)`` integer part per vertex, ``0..P-1``.
        uvs: ``(T, 2)`` texture coordinates in ``[0, 1]``.
        uv_faces: ``(F, 3)`` indices into ``uvs``, face for face with ``faces``.

    Returns:
        ``(H, W, 3)`` float32 ``[I, U, V]``: ``I = part + 1`` (0 on the background), ``U, V`` in
        ``[0, 1]`` (0 on the background).
    """
    width, height = _check_size(image_size)
    vertices = _check_vertices(vertices)
    faces = _check_faces(faces, len(vertices))
    labels = np.asarray(part_labels)
    if (
        labels.shape != (len(vertices),)
        or not np.issubdtype(labels.dtype, np.integer)
        or (labels.size and labels.min() < 0)
    ):
        raise ValueError(
            f"part_labels must be ({len(vertices)},) non-negative integers, got shape {labels.shape} {labels.dtype}"
        )
    uv_array, uv_face_array = _check_uv(uvs, uv_faces, len(faces))
    vertices = _camera_space(vertices, camera)
    fragments = _rasterize_sparse(vertices, faces, camera.focal, camera.center, (width, height), True, DEFAULT_NEAR)
    output = np.zeros((height * width, 3), dtype=np.float32)
    output[fragments.pixels, 0] = _face_parts(labels.astype(np.int64), faces)[fragments.faces] + 1
    corner_uv = uv_array[uv_face_array[fragments.faces]]  # (M, 3, 2)
    output[fragments.pixels, 1:] = np.einsum("mk,mkc->mc", fragments.barycentrics, corner_uv)
    return output.reshape(height, width, 3)


def uv_position_map(
    vertices: np.ndarray, faces: np.ndarray, uvs: np.ndarray, uv_faces: np.ndarray, size: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """Paint 3D vertex positions into UV space (a DenseBody "UV position map").

    Texel ``(row, column)`` has its centre at UV ``u = column / (size - 1)``, ``v = 1 - row / (size - 1)``
    (``v`` up, as in OBJ files; row 0 is ``v = 1``); its value interpolates the positions of the
    face whose UV triangle covers it, linearly in UV space.

    Args:
        vertices: ``(V, 3)`` positions (any frame, any unit; the map stores them as given).
        faces: ``(F, 3)`` vertex indices.
        uvs: ``(T, 2)`` texture coordinates in ``[0, 1]``.
        uv_faces: ``(F, 3)`` indices into ``uvs``, face for face with ``faces``.
        size: Side of the square map in texels.

    Returns:
        ``(size, size, 3)`` float32 positions (zeros outside the charts) and the ``(size, size)``
        bool mask of texels covered by a chart.
    """
    if int(size) < 2:
        raise ValueError(f"size must be at least 2 texels, got {size}")
    size = int(size)
    vertices = _check_vertices(vertices)
    faces = _check_faces(faces, len(vertices))
    uv_array, uv_face_array = _check_uv(uvs, uv_faces, len(faces))
    points = np.stack([uv_array[:, 0], 1.0 - uv_array[:, 1]], axis=1) * (size - 1)  # (T, 2) texel centres
    fragments = rasterize_screen(points, np.ones(len(uv_array)), uv_face_array, (size, size), perspective=False)
    positions = np.zeros((size * size, 3), dtype=np.float32)
    corner_positions = vertices[faces[fragments.faces]]  # (M, 3, 3)
    positions[fragments.pixels] = np.einsum("mk,mkc->mc", fragments.barycentrics, corner_positions)
    mask = np.zeros(size * size, dtype=bool)
    mask[fragments.pixels] = True
    return positions.reshape(size, size, 3), mask.reshape(size, size)


def write_mesh_video(
    path: str | os.PathLike[str],
    frames: Iterable[np.ndarray],
    meshes_per_frame: Iterable[Sequence[MeshLike]],
    camera: Camera,
    fps: float,
    *,
    alpha: float = DEFAULT_ALPHA,
    side_view: bool = False,
    side_angle_degrees: float = 90.0,
) -> int:
    """Write an MP4 of mesh overlays (optionally with a side view beside each frame), atomically.

    Args:
        path: Target ``.mp4``; it appears only when every frame was written.
        frames: ``(H, W, 3)`` uint8 RGB frames, all of one size.
        meshes_per_frame: For each frame, its meshes (as in :func:`render_meshes`; may be empty).
            Colours follow the meshes' track ids.
        camera: The pinhole camera of the video.
        fps: Frames per second.
        alpha: Mesh opacity.
        side_view: Put :func:`render_side_view` (same size) to the right of every frame.
        side_angle_degrees: Turn of the side view.

    Returns:
        The number of frames written.

    Raises:
        ValueError: When the frames and mesh lists differ in length or size, or a mesh is malformed.
    """
    writer: VideoWriter | None = None
    size: tuple[int, int] | None = None
    mesh_iterator = iter(meshes_per_frame)
    try:
        for index, frame in enumerate(frames):
            frame = _check_image(frame)
            try:
                meshes = next(mesh_iterator)
            except StopIteration:
                raise ValueError(f"meshes_per_frame ended at frame {index}; expected one mesh list per frame") from None
            frame_size = (frame.shape[1], frame.shape[0])
            if size is None:
                size = frame_size
                writer = VideoWriter(path, fps, (size[0] * (2 if side_view else 1), size[1]))
            elif frame_size != size:
                raise ValueError(
                    f"frame {index} is {frame_size[0]}x{frame_size[1]}, expected {size[0]}x{size[1]} like frame 0"
                )
            picture = render_meshes(frame, meshes, camera, alpha=alpha)
            if side_view:
                view = render_side_view(meshes, camera, frame_size, side_angle_degrees)
                picture = np.concatenate([picture, view], axis=1)
            assert writer is not None
            writer.write(picture)
    except BaseException as error:
        if writer is not None:
            writer.close(error)
        raise
    if writer is None:
        raise ValueError(f"no frames to write to {path}")
    writer.close()
    return writer.frames_written
