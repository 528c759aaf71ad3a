"""Frames/s of posekit's numpy mesh renderer at 1280x720, one and five SMPL-sized meshes, against a naive loop.

Run: ``OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python benchmarks/bench_mesh_render.py``
(``--mesh FILE.npz`` with ``v_template (V, 3)`` and ``f (F, 3)`` renders that model instead; by default
the shipped open body model when ``posekit/assets/bodymodel/open_body.npz`` exists, else a synthetic
closed body-like mesh with SMPL's 6,890 vertices and 13,776 faces).

Prints, per case, the median wall time per frame (and CPU time, which a shared machine inflates
less), frames/s, covered pixels and faces drawn. The reference, measured in the same run, is the
textbook per-triangle numpy loop (bounding box, edge functions, depth test on the box slice), timed
on a subset of faces and scaled to the whole mesh; the ratio is reference time / posekit time for
the rasterisation of one mesh. The renderer runs on one thread (numpy), so the 2-core goal leaves a
core free.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from posekit.geometry.camera import Camera
from posekit.viz.mesh_render import Mesh, rasterize, render_meshes, render_side_view, silhouette_masks

WIDTH, HEIGHT = 1280, 720
OPEN_MODEL = Path(__file__).resolve().parents[1] / "posekit" / "assets" / "bodymodel" / "open_body.npz"


def synthetic_body(rows: int = 82, columns: int = 84, height: float = 1.7) -> tuple[np.ndarray, np.ndarray]:
    """A closed, perturbed, body-sized surface; the defaults give SMPL's 6,890 vertices and 13,776 faces.

    Returns:
        ``(V, 3)`` vertices in metres centred at the origin (y down) and ``(F, 3)`` outward-wound faces.
    """
    theta = np.linspace(0, np.pi, rows + 2)[1:-1]
    phi = np.linspace(0, 2 * np.pi, columns, endpoint=False)
    t, p = np.meshgrid(theta, phi, indexing="ij")  # (rows, columns)
    radius = 0.16 + 0.05 * np.sin(3 * t) + 0.02 * np.cos(5 * p) * np.sin(t) + 0.01 * np.sin(17 * t) * np.cos(3 * p)
    ring = np.stack(
        [1.4 * radius * np.sin(t) * np.cos(p), -np.cos(t) * height / 2, radius * np.sin(t) * np.sin(p)], axis=-1
    ).reshape(-1, 3)  # (rows * columns, 3)
    vertices = np.concatenate([[[0.0, -height / 2, 0.0]], ring, [[0.0, height / 2, 0.0]]])
    index = 1 + np.arange(rows * columns).reshape(rows, columns)
    right = np.roll(index, -1, axis=1)
    top = np.stack([np.zeros(columns, np.int64), right[0], index[0]], axis=1)
    quads_a = np.stack([index[:-1], right[:-1], index[1:]], axis=-1).reshape(-1, 3)
    quads_b = np.stack([right[:-1], right[1:], index[1:]], axis=-1).reshape(-1, 3)
    bottom = np.stack([np.full(columns, len(vertices) - 1), index[-1], right[-1]], axis=1)
    faces = np.concatenate([top, quads_a, quads_b, bottom])[:, ::-1].copy()  # outward winding
    triangles = vertices[faces]
    assert np.einsum("fi,fi->f", triangles[:, 0], np.cross(triangles[:, 1], triangles[:, 2])).sum() > 0
    return vertices, faces


def load_mesh(path: Path | None) -> tuple[np.ndarray, np.ndarray, str]:
    source = path if path is not None else (OPEN_MODEL if OPEN_MODEL.exists() else None)
    if source is None:
        vertices, faces = synthetic_body()
        return vertices, faces, "synthetic body-like mesh"
    with np.load(source, allow_pickle=False) as archive:
        vertices = np.asarray(archive["v_template"], dtype=np.float64)
        faces = np.asarray(archive["f"], dtype=np.int64)
    vertices = vertices - (vertices.min(axis=0) + vertices.max(axis=0)) / 2
    if np.ptp(vertices[:, 1]) < np.ptp(vertices[:, 2]):
        raise SystemExit(f"{source}: expected a standing body (tallest along y)")
    vertices[:, 1:] *= -1  # y up (SMPL) -> y down (camera): a 180-degree turn about x keeps the winding
    return vertices, faces, str(source)


def naive_rasterize(
    points: np.ndarray, depth: np.ndarray, faces: np.ndarray, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """The per-triangle loop: box slice, edge functions, ``np.where`` depth test (no culling)."""
    width, height = size
    zbuffer = np.full((height, width), np.inf)
    face_index = np.full((height, width), -1, np.int64)
    for index, (a, b, c) in enumerate(faces):
        corners = points[[a, b, c]]
        x_low, y_low = np.maximum(np.ceil(corners.min(axis=0)), 0).astype(int)
        x_high, y_high = np.minimum(np.floor(corners.max(axis=0)), [width - 1, height - 1]).astype(int)
        if x_high < x_low or y_high < y_low:
            continue
        ys, xs = np.mgrid[y_low : y_high + 1, x_low : x_high + 1]
        (x0, y0), (x1, y1), (x2, y2) = corners
        area = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
        if area == 0:
            continue
        b1 = ((xs - x0) * (y2 - y0) - (ys - y0) * (x2 - x0)) / area
        b2 = ((x1 - x0) * (ys - y0) - (y1 - y0) * (xs - x0)) / area
        b0 = 1 - b1 - b2
        inside = (b0 >= 0) & (b1 >= 0) & (b2 >= 0)
        z = 1.0 / (b0 / depth[a] + b1 / depth[b] + b2 / depth[c])
        window = zbuffer[y_low : y_high + 1, x_low : x_high + 1]
        nearer = inside & (z < window)
        window[nearer] = z[nearer]
        face_index[y_low : y_high + 1, x_low : x_high + 1][nearer] = index
    return face_index, zbuffer


def fragment_pass_inputs(points: np.ndarray, faces: np.ndarray) -> dict[str, np.ndarray]:
    """Per-face tables of posekit's candidate-pixel pass (front faces with a pixel centre in their box)."""
    corners = points[faces]  # (F, 3, 2)
    e1, e2 = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    area = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    low = np.maximum(np.ceil(corners.min(axis=1)), 0)
    high = np.minimum(np.floor(corners.max(axis=1)), [WIDTH - 1, HEIGHT - 1])
    keep = (area < 0) & np.all(high >= low, axis=1)
    corners, e1, e2, area, low, high = corners[keep], e1[keep], e2[keep], area[keep], low[keep], high[keep]
    a1, c1, a2, c2 = e2[:, 1] / area, -e2[:, 0] / area, -e1[:, 1] / area, e1[:, 0] / area
    offset = low - corners[:, 0]
    d1, d2 = a1 * offset[:, 0] + c1 * offset[:, 1], a2 * offset[:, 0] + c2 * offset[:, 1]
    width = (high[:, 0] - low[:, 0]).astype(np.int64) + 1
    return {
        "table": np.stack([a1, c1, d1, a2, c2, d2]).astype(np.float32),  # (6, F)
        "width": width,
        "count": width * ((high[:, 1] - low[:, 1]).astype(np.int64) + 1),
        "base": low[:, 1].astype(np.int64) * WIDTH + low[:, 0].astype(np.int64),
    }


def numpy_fragment_pass(inputs: dict[str, np.ndarray]) -> np.ndarray:
    """Candidate pixels, edge functions and the ``np.minimum.at`` z-buffer scatter, as posekit runs them."""
    table, width, count, base = inputs["table"], inputs["width"], inputs["count"], inputs["base"]
    face = np.repeat(np.arange(len(count)), count)  # (N,)
    within = np.arange(int(count.sum())) - np.take(np.cumsum(count) - count, face)
    widths = np.take(width, face)
    row = within // widths
    column = within - row * widths
    x, y = column.astype(np.float32), row.astype(np.float32)
    b1 = np.take(table[0], face) * x + np.take(table[1], face) * y + np.take(table[2], face)
    b2 = np.take(table[3], face) * x + np.take(table[4], face) * y + np.take(table[5], face)
    inside = np.flatnonzero((b1 >= 0) & (b2 >= 0) & (b1 + b2 <= 1))
    zbuffer = np.full(WIDTH * HEIGHT, np.iinfo(np.int64).max)
    np.minimum.at(zbuffer, np.take(base, face[inside]) + row[inside] * WIDTH + column[inside], face[inside])
    return zbuffer


def torch_fragment_pass(inputs: dict[str, object]) -> object:
    """The same pass in torch (``repeat_interleave``, ``scatter_reduce_(..., "amin")``)."""
    import torch

    table, width, count, base = (inputs[key] for key in ("table", "width", "count", "base"))
    assert isinstance(table, torch.Tensor) and isinstance(width, torch.Tensor)
    assert isinstance(count, torch.Tensor) and isinstance(base, torch.Tensor)
    face = torch.repeat_interleave(torch.arange(len(count)), count)
    within = torch.arange(int(count.sum())) - (torch.cumsum(count, 0) - count)[face]
    widths = width[face]
    row = torch.div(within, widths, rounding_mode="floor")
    column = within - row * widths
    x, y = column.float(), row.float()
    b1 = table[0][face] * x + table[1][face] * y + table[2][face]
    b2 = table[3][face] * x + table[4][face] * y + table[5][face]
    inside = torch.nonzero((b1 >= 0) & (b2 >= 0) & (b1 + b2 <= 1)).squeeze(1)
    zbuffer = torch.full((WIDTH * HEIGHT,), torch.iinfo(torch.int64).max)
    zbuffer.scatter_reduce_(0, base[face[inside]] + row[inside] * WIDTH + column[inside], face[inside], "amin")
    return zbuffer


def timed(function: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds per call."""
    function()  # warm-up
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return float(np.median(walls)), float(np.median(cpus))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mesh", type=Path, default=None, help="npz with v_template and f")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--reference-faces", type=int, default=1500, help="faces timed for the naive loop")
    parser.add_argument("--torch", action="store_true", help="also time the candidate-pixel pass in torch")
    args = parser.parse_args()
    body, faces, source = load_mesh(args.mesh)
    print(f"mesh: {source}: {len(body)} vertices, {len(faces)} faces; image {WIDTH}x{HEIGHT}")
    camera = Camera(focal=(1000.0, 1000.0), center=(WIDTH / 2, HEIGHT / 2))
    image = np.random.default_rng(0).integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    one = [Mesh(body + [0.0, 0.0, 3.5], faces, track_id=0)]  # 1.7 m at 3.5 m: ~490 px tall
    five = [
        Mesh(body + [x, 0.1 * index, z], faces, track_id=index)
        for index, (x, z) in enumerate([(-1.6, 5.0), (-0.7, 4.0), (0.0, 3.5), (0.6, 4.5), (1.5, 5.5)])
    ]  # five people side by side at 3.5 .. 5.5 m (they overlap in the 90-degree side view)
    for name, meshes in (("1 mesh", one), ("5 meshes", five)):
        coverage = silhouette_masks(meshes, camera, (WIDTH, HEIGHT)).sum()
        for what, function in (
            ("render_meshes (shaded overlay)", lambda meshes=meshes: render_meshes(image, meshes, camera)),
            ("silhouette_masks", lambda meshes=meshes: silhouette_masks(meshes, camera, (WIDTH, HEIGHT))),
            ("render_side_view (90 deg)", lambda meshes=meshes: render_side_view(meshes, camera, (WIDTH, HEIGHT))),
        ):
            wall, cpu = timed(function, args.repeats)
            print(
                f"{name:9s} {what:31s} {wall * 1e3:7.1f} ms/frame wall ({1 / wall:5.1f} fps), "
                f"{cpu * 1e3:6.1f} ms CPU ({1 / max(cpu, 1e-9):5.1f} fps); {coverage} px covered"
            )
    # Reference: rasterisation alone, posekit vs the per-triangle loop on the same mesh and camera.
    vertices = one[0].vertices
    ours_wall, ours_cpu = timed(
        lambda: rasterize(vertices, faces, camera.focal, camera.center, (WIDTH, HEIGHT), cull_back_faces=False),
        args.repeats,
    )
    points = vertices[:, :2] / vertices[:, 2:] * camera.focal + camera.center
    subset = faces[np.random.default_rng(1).permutation(len(faces))[: args.reference_faces]]
    loop_wall, loop_cpu = timed(lambda: naive_rasterize(points, vertices[:, 2], subset, (WIDTH, HEIGHT)), 3)
    scale = len(faces) / len(subset)
    ours_check = rasterize(vertices, subset, camera.focal, camera.center, (WIDTH, HEIGHT), cull_back_faces=False)
    loop_faces, _ = naive_rasterize(points, vertices[:, 2], subset, (WIDTH, HEIGHT))
    agreement = float(np.mean(ours_check.face_index == loop_faces))
    print(
        f"rasterize, 1 mesh, no culling: posekit {ours_wall * 1e3:.1f} ms wall / {ours_cpu * 1e3:.1f} ms CPU; "
        f"naive per-triangle loop {loop_wall * scale * 1e3:.0f} ms wall / {loop_cpu * scale * 1e3:.0f} ms CPU "
        f"(timed on {len(subset)} faces, scaled x{scale:.1f}); ratio {loop_cpu * scale / ours_cpu:.0f}x (CPU), "
        f"{loop_wall * scale / ours_wall:.0f}x (wall); face maps agree on {agreement:.4%} of pixels"
    )
    if args.torch:
        import torch

        inputs = fragment_pass_inputs(points, faces)
        numpy_wall, numpy_cpu = timed(lambda: numpy_fragment_pass(inputs), args.repeats)
        tensors: dict[str, object] = {key: torch.from_numpy(value) for key, value in inputs.items()}
        line = f"candidate-pixel pass ({int(inputs['count'].sum())} candidates): numpy {numpy_cpu * 1e3:.1f} ms CPU"
        for threads in (1, 2):
            torch.set_num_threads(threads)
            torch_wall, torch_cpu = timed(lambda: torch_fragment_pass(tensors), args.repeats)
            line += f"; torch {threads} thread(s) {torch_wall * 1e3:.1f} ms wall / {torch_cpu * 1e3:.1f} ms CPU"
        same = np.array_equal(numpy_fragment_pass(inputs), torch_fragment_pass(tensors).numpy())  # type: ignore[attr-defined]
        print(f"{line} (numpy {numpy_wall * 1e3:.1f} ms wall; same z-buffer: {same})")


if __name__ == "__main__":
    main()
