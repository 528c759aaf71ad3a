"""Mesh rasteriser and renderers: analytic coverage, barycentrics, depth order, silhouettes, UV maps, bad input."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from posekit.geometry.camera import Camera
from posekit.viz.draw import track_color
from posekit.viz.mesh_render import (
    Mesh,
    meshes_from_arrays,
    rasterize,
    render_iuv,
    render_meshes,
    render_side_view,
    rotate_meshes,
    silhouette_masks,
    uv_position_map,
    write_mesh_video,
)


def cube(centre: tuple[float, float, float], side: float) -> tuple[np.ndarray, np.ndarray]:
    """An axis-aligned cube, faces counter-clockwise seen from outside (checked by the signed volume)."""
    corners = np.array([[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)]) * side + centre
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    faces = np.array([tri for a, b, c, d in quads for tri in ((a, b, c), (a, c, d))])
    triangles = corners[faces]
    volume = np.einsum("fi,fi->f", triangles[:, 0], np.cross(triangles[:, 1], triangles[:, 2])).sum() / 6
    if volume < 0:
        faces = faces[:, ::-1].copy()
    return corners, faces


def sphere(rows: int = 24, columns: int = 32, radius: float = 0.5, z: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """A closed UV sphere, outward winding."""
    theta = np.linspace(0, np.pi, rows + 2)[1:-1]
    phi = np.linspace(0, 2 * np.pi, columns, endpoint=False)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    ring = np.stack([np.sin(t) * np.cos(p), -np.cos(t), np.sin(t) * np.sin(p)], axis=-1).reshape(-1, 3)
    vertices = np.concatenate([[[0, -1, 0]], ring, [[0, 1, 0]]]) * radius + [0, 0, z]

    def index(i: int, j: int) -> int:
        return 1 + i * columns + j % columns

    faces = [[0, index(0, j), index(0, j + 1)] for j in range(columns)]
    for i in range(rows - 1):
        for j in range(columns):
            faces += [
                [index(i, j), index(i + 1, j), index(i, j + 1)],
                [index(i, j + 1), index(i + 1, j), index(i + 1, j + 1)],
            ]
    last = len(vertices) - 1
    faces += [[last, index(rows - 1, j + 1), index(rows - 1, j)] for j in range(columns)]
    faces_array = np.array(faces)
    triangles = vertices[faces_array] - [0, 0, z]
    volume = np.einsum("fi,fi->f", triangles[:, 0], np.cross(triangles[:, 1], triangles[:, 2])).sum()
    assert volume > 0
    return vertices, faces_array


def test_single_triangle_coverage_and_barycentrics() -> None:
    # At Z = 1 with focal 100 and centre 0, pixel = 100 * (X, Y): corners (0.5, 0.5), (10.7, 0.5), (0.5, 10.7).
    pixels = np.array([[0.5, 0.5], [10.7, 0.5], [0.5, 10.7]])
    vertices = np.concatenate([pixels / 100.0, np.ones((3, 1))], axis=1)
    result = rasterize(vertices, np.array([[0, 1, 2]]), 100.0, (0.0, 0.0), (16, 16), cull_back_faces=False)
    rows, columns = np.nonzero(result.mask)
    # Pixel centres (x, y) with x >= 1, y >= 1, x + y <= 11: 10 + 9 + ... + 1.
    assert len(rows) == 55
    assert columns.min() == 1 and rows.min() == 1 and (rows + columns).max() == 11
    weights = result.barycentrics[rows, columns].astype(np.float64)  # (M, 3)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(weights @ pixels, np.stack([columns, rows], axis=1), atol=1e-4)
    np.testing.assert_allclose(
        weights[(rows == 4) & (columns == 3)][0], [1 - 6.0 / 10.2, 2.5 / 10.2, 3.5 / 10.2], atol=1e-5
    )
    np.testing.assert_allclose(result.depth[result.mask], 1.0, atol=1e-6)
    assert np.all(result.face_index[~result.mask] == -1) and np.all(np.isinf(result.depth[~result.mask]))


def test_barycentrics_are_perspective_correct() -> None:
    vertices = np.array([[-0.5, -0.4, 2.0], [0.6, -0.3, 4.0], [0.0, 0.7, 3.0]])
    focal, centre = np.array([300.0, 280.0]), np.array([64.0, 60.0])
    result = rasterize(vertices, np.array([[0, 1, 2]]), focal, centre, (128, 120), cull_back_faces=False)
    rows, columns = np.nonzero(result.mask)
    assert len(rows) > 500
    points = result.barycentrics[rows, columns].astype(np.float64) @ vertices  # (M, 3) surface point per pixel
    projected = points[:, :2] / points[:, 2:] * focal + centre
    np.testing.assert_allclose(projected, np.stack([columns, rows], axis=1), atol=2e-3)
    np.testing.assert_allclose(result.depth[rows, columns], points[:, 2], rtol=1e-5)


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_nearer_triangle_wins_where_two_overlap(order: tuple[int, int]) -> None:
    near = np.array([[-0.5, -0.5, 2.0], [0.5, -0.5, 2.0], [0.0, 0.5, 2.0]])
    far = np.array([[-0.2, -0.8, 3.0], [0.9, -0.8, 3.0], [0.3, 0.4, 3.0]])
    triangles = [near, far]
    vertices = np.concatenate([triangles[order[0]], triangles[order[1]]])
    faces = np.array([[0, 1, 2], [3, 4, 5]])
    result = rasterize(vertices, faces, 100.0, (50.0, 50.0), (100, 100), cull_back_faces=False)
    near_face = order.index(0)
    alone = [
        rasterize(triangle, faces[:1], 100.0, (50.0, 50.0), (100, 100), cull_back_faces=False).mask
        for triangle in triangles
    ]
    overlap = alone[0] & alone[1]
    assert overlap.sum() > 100
    assert np.all(result.face_index[overlap] == near_face)
    assert np.all(result.face_index[alone[1] & ~alone[0]] == 1 - near_face)
    np.testing.assert_allclose(result.depth[overlap], 2.0, rtol=1e-6)


def test_cube_silhouette_area_is_the_projected_front_face() -> None:
    vertices, faces = cube((0.0, 0.0, 2.2), 0.4)  # front face at Z = 2: 0.4 m -> 500 * 0.4 / 2 = 100 px
    camera = Camera(focal=(500.0, 500.0), center=(160.5, 120.5))  # edges fall between pixel centres
    for cull in (True, False):
        result = rasterize(vertices, faces, camera.focal, camera.center, (320, 240), cull_back_faces=cull)
        assert result.mask.sum() == 100 * 100
        np.testing.assert_allclose(result.depth[result.mask], 2.0, rtol=1e-6)
    masks = silhouette_masks([(vertices, faces)], camera, (320, 240))
    assert masks.shape == (1, 240, 320) and masks.sum() == 100 * 100


def test_back_face_culling_keeps_the_visible_surface_of_a_closed_mesh() -> None:
    vertices, faces = sphere()
    culled = rasterize(vertices, faces, 200.0, (64.0, 64.0), (128, 128))
    full = rasterize(vertices, faces, 200.0, (64.0, 64.0), (128, 128), cull_back_faces=False)
    assert culled.mask.sum() > 1000
    assert np.array_equal(culled.mask, full.mask)
    assert np.mean(culled.face_index[culled.mask] == full.face_index[full.mask]) > 0.99
    np.testing.assert_allclose(culled.depth[culled.mask], full.depth[full.mask], atol=1e-4)


def test_render_colours_blend_and_people_occlude_each_other() -> None:
    camera = Camera(focal=(400.0, 400.0), center=(80.0, 60.0))
    near = Mesh(*cube((-0.1, 0.0, 2.0), 0.4), track_id=3)
    far = Mesh(*cube((0.15, 0.0, 3.0), 0.6), track_id=5)
    image = np.full((120, 160, 3), 40, np.uint8)
    flat = render_meshes(image, [far, near], camera, alpha=1.0, ambient=1.0)
    masks = silhouette_masks([far, near], camera, (160, 120))
    assert masks[0].sum() > 0 and masks[1].sum() > 0 and not np.any(masks[0] & masks[1])
    assert np.all(flat[masks[1]] == track_color(3)) and np.all(flat[masks[0]] == track_color(5))
    assert np.all(flat[~(masks[0] | masks[1])] == 40)
    amodal = silhouette_masks([far, near], camera, (160, 120), visible_only=False)
    assert (amodal[0] & masks[1]).sum() > 0  # the far person continues behind the near one
    half = render_meshes(image, [near], camera, colors=[(240, 0, 100)], alpha=0.5, ambient=1.0)
    np.testing.assert_array_equal(half[masks[1]][0], [140, 20, 70])
    shaded = render_meshes(image, [near], camera, colors=[(200, 200, 200)], alpha=1.0)
    assert 0 < shaded[masks[1]].min() <= 200 and np.array_equal(image, np.full((120, 160, 3), 40, np.uint8))


def test_side_view_turns_about_the_centre() -> None:
    vertices, faces = cube((0.0, 0.0, 3.0), 0.5)
    turned = rotate_meshes([(vertices + [0.4, 0, 0], faces)], 90.0, centre=np.array([0.0, 0.0, 3.0]))[0]
    np.testing.assert_allclose(turned.vertices.mean(axis=0), [0.0, 0.0, 3.4], atol=1e-9)
    camera = Camera(focal=(300.0, 300.0), center=(64.0, 48.0))
    slab = (vertices * [1.0, 1.0, 0.1] + [0, 0, 2.7], faces)  # thin in depth: a narrow side view
    front = render_side_view([slab], camera, (128, 96), 0.0, background=(0, 0, 0))
    side = render_side_view([slab], camera, (128, 96), 90.0, background=(0, 0, 0))
    front_width = np.count_nonzero(front.any(axis=2).any(axis=0))
    side_width = np.count_nonzero(side.any(axis=2).any(axis=0))
    assert side_width > 0 and side_width * 4 < front_width


def test_uv_position_map_of_a_unit_quad() -> None:
    vertices = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    positions, mask = uv_position_map(vertices, faces, vertices[:, :2], faces, size=5)
    assert mask.all()
    rows, columns = np.mgrid[0:5, 0:5]
    expected = np.stack([columns / 4, 1 - rows / 4, np.zeros((5, 5))], axis=-1)
    np.testing.assert_allclose(positions, expected, atol=1e-6)
    half, half_mask = uv_position_map(vertices, faces[:1], vertices[:, :2], faces[:1], size=5)
    assert half_mask.sum() == 15 and np.all(half[~half_mask] == 0)


def test_iuv_image_of_a_quad_facing_the_camera() -> None:
    corners = np.array([[-0.5, -0.5, 2.0], [0.5, -0.5, 2.0], [0.5, 0.5, 2.0], [-0.5, 0.5, 2.0]])
    faces = np.array([[0, 2, 1], [0, 3, 2]])  # facing the camera
    uvs = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    camera = Camera(focal=(100.0, 100.0), center=(50.0, 50.0))
    iuv = render_iuv(corners, faces, camera, (100, 100), np.array([7, 2, 2, 7]), uvs, faces)
    covered = iuv[..., 0] > 0
    assert covered.sum() == 51 * 51  # pixel centres 25..75: the edges fall on centres and count
    assert set(np.unique(iuv[..., 0])) == {0.0, 3.0, 8.0}  # corner labels (7, 2, 2) -> part 2, (7, 7, 2) -> 7
    rows, columns = np.nonzero(covered)
    np.testing.assert_allclose(iuv[rows, columns, 1], (columns - 25) / 50, atol=1e-5)
    np.testing.assert_allclose(iuv[rows, columns, 2], (rows - 25) / 50, atol=1e-5)


def test_bad_input_is_refused_with_one_sentence() -> None:
    vertices, faces = cube((0.0, 0.0, 2.0), 0.5)
    with pytest.raises(ValueError, match=r"vertices must be a numeric array of shape \(V, 3\)"):
        rasterize(vertices[:, :2], faces, 100.0, (0, 0), (10, 10))
    with pytest.raises(ValueError, match=r"faces index vertices 0\.\.8 but there are 8 vertices"):
        rasterize(vertices, faces + np.array([0, 0, 1]), 100.0, (0, 0), (10, 10))
    with pytest.raises(ValueError, match="faces must be an integer array"):
        rasterize(vertices, faces.astype(float), 100.0, (0, 0), (10, 10))
    broken = vertices.copy()
    broken[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"contain NaN or infinite values \(1 of 8 rows\)"):
        render_meshes(np.zeros((10, 10, 3), np.uint8), [(broken, faces)], Camera(focal=(10, 10), center=(5, 5)))
    with pytest.raises(ValueError, match="image must be an"):
        render_meshes(np.zeros((10, 10), np.uint8), [(vertices, faces)], Camera(focal=(10, 10), center=(5, 5)))
    with pytest.raises(ValueError, match="colors must be one RGB triple"):
        render_meshes(
            np.zeros((10, 10, 3), np.uint8), [(vertices, faces)], Camera(focal=(10, 10), center=(5, 5)), [(1, 2)]
        )
    with pytest.raises(ValueError, match="image_size"):
        rasterize(vertices, faces, 100.0, (0, 0), (0, 10))
    with pytest.raises(ValueError, match="focal"):
        rasterize(vertices, faces, -1.0, (0, 0), (10, 10))


def test_vertices_behind_the_camera_are_clipped_not_fatal() -> None:
    vertices, faces = sphere(z=0.2)  # straddles the camera plane
    result = rasterize(vertices, faces, 100.0, (32.0, 32.0), (64, 64), cull_back_faces=False)
    assert np.all(result.depth[result.mask] > 0)
    behind = rasterize(vertices - [0, 0, 5.0], faces, 100.0, (32.0, 32.0), (64, 64))
    assert not behind.mask.any()
    image = np.zeros((64, 64, 3), np.uint8)
    assert np.array_equal(render_meshes(image, [], Camera(focal=(100, 100), center=(32, 32))), image)


def test_mesh_video_writes_every_frame(tmp_path: Path) -> None:
    camera = Camera(focal=(200.0, 200.0), center=(32.0, 24.0))
    frames = [np.full((48, 64, 3), value, np.uint8) for value in (10, 60, 110)]
    meshes = [[Mesh(*cube((0.1 * index, 0.0, 3.0), 0.5), track_id=1)] for index in range(3)]
    path = tmp_path / "mesh.mp4"
    assert write_mesh_video(path, frames, meshes, camera, fps=10.0, side_view=True) == 3
    capture = cv2.VideoCapture(str(path))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 3 and int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)) == 128
    capture.release()
    broken = tmp_path / "short.mp4"
    with pytest.raises(ValueError, match="meshes_per_frame ended at frame 2"):
        write_mesh_video(broken, frames, meshes[:2], camera, fps=10.0)
    assert not broken.exists() and sorted(item.name for item in tmp_path.iterdir()) == ["mesh.mp4"]


def test_meshes_from_a_batch_share_the_faces() -> None:
    vertices, faces = cube((0.0, 0.0, 3.0), 0.5)
    batch = np.stack([vertices, vertices + [0.5, 0, 0]])  # (2, V, 3)
    meshes = meshes_from_arrays(batch, faces, track_ids=[7, 9])
    assert [mesh.track_id for mesh in meshes] == [7, 9] and meshes[1].vertices[0, 0] == vertices[0, 0] + 0.5
    with pytest.raises(ValueError, match=r"track_ids has 1 entries for 2 meshes"):
        meshes_from_arrays(batch, faces, track_ids=[1])
    with pytest.raises(ValueError, match=r"vertices must have shape \(N, V, 3\)"):
        meshes_from_arrays(batch[..., :2], faces)
