"""Software rasteriser for the synthetic people dataset: numpy + OpenCV, no OpenGL.

Bodies are drawn as unions of spheres (shapes of :class:`BodyPart`): a *chain* part is a tapered
capsule through consecutive spheres (limbs, neck, head, hair), a *hull* part is the convex hull of
its spheres (torso, pelvis). Each part is rasterised inside its bounding box with, per pixel,

* a mask (inside the projected silhouette),
* the depth of the part's front surface in metres (camera ``z``), so parts composite through a
  z-buffer (drawn far to near, so ties resolve like the painter's algorithm),
* a surface normal (for Lambert shading) and
* local texture coordinates in metres along and across the part's projected axis, so a striped
  sleeve keeps its stripes across the arm at every distance.

Conventions (the package's): camera space in metres, x right, y down, z forward; pixel centres
at integer coordinates, the top-left pixel's centre at ``(0, 0)``; images ``(H, W, 3)`` uint8 RGB.
A sphere of radius ``r`` at depth ``Z`` is drawn as a disc of radius ``f r / Z`` (its exact
perspective image is a slightly elongated ellipse; the difference is below a pixel for bodies).

Also here: procedural materials (plain, stripes, checks, dots, value noise), cluttered
backgrounds (gradient, low-frequency noise, random shapes and lines, optional patches of
scikit-image's sample pictures), occluders and photometric effects (lighting, blur, noise, JPEG).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

__all__ = [
    "BACKGROUND_ID",
    "OCCLUDER_ID",
    "PATTERNS",
    "BodyPart",
    "Material",
    "PartRaster",
    "apply_photometric_effects",
    "composite_parts",
    "draw_occluder",
    "load_sample_pictures",
    "make_background",
    "random_color",
    "random_material",
    "rasterize_part",
    "shade_material",
]

BACKGROUND_ID = 0
OCCLUDER_ID = -1
PATTERNS = ("plain", "stripes", "checks", "dots", "noise")
_NOISE_GRID = 8


@dataclass(frozen=True, eq=False)
class Material:
    """A procedural surface: two colours and a pattern, in metres on the part's surface.

    Attributes:
        base_color: ``(3,)`` RGB in ``[0, 255]``.
        second_color: ``(3,)`` RGB of the pattern's other colour.
        pattern: one of :data:`PATTERNS`.
        period: pattern period in metres (stripe pair width, check size, dot spacing, noise cell).
        angle: pattern rotation in radians relative to the part's axis.
        grain: amplitude of per-pixel fabric/skin grain, a fraction of the colour (0 to 0.1).
        noise_grid: ``(G, G)`` values in ``[0, 1]`` for the ``noise`` pattern (tiled).
    """

    base_color: tuple[float, float, float]
    second_color: tuple[float, float, float]
    pattern: str = "plain"
    period: float = 0.05
    angle: float = 0.0
    grain: float = 0.03
    noise_grid: np.ndarray = field(default_factory=lambda: np.zeros((_NOISE_GRID, _NOISE_GRID), np.float32))

    def __post_init__(self) -> None:
        if self.pattern not in PATTERNS:
            raise ValueError(f"Material.pattern must be one of {PATTERNS}, got {self.pattern!r}")
        if not self.period > 0:
            raise ValueError(f"Material.period must be positive (metres), got {self.period}")


@dataclass(frozen=True, eq=False)
class BodyPart:
    """One rigid piece of a figure as spheres in camera space.

    Attributes:
        name: part name (``torso``, ``left_forearm``, ...), used by keypoint visibility.
        part_id: the id written into the id buffer (positive; 0 is background, -1 occluders).
        centers: ``(S, 3)`` sphere centres in camera space, metres (``z > 0``).
        radii: ``(S,)`` sphere radii in metres.
        material: the surface.
        kind: ``"chain"`` (tapered capsules through consecutive spheres) or ``"hull"`` (convex hull).
        axis: two sphere indices whose projections define the texture's "along" direction.
    """

    name: str
    part_id: int
    centers: np.ndarray
    radii: np.ndarray
    material: Material
    kind: str = "chain"
    axis: tuple[int, int] = (0, -1)

    def __post_init__(self) -> None:
        centers = np.asarray(self.centers, dtype=np.float64)
        radii = np.asarray(self.radii, dtype=np.float64)
        if centers.ndim != 2 or centers.shape[1] != 3 or centers.shape[0] == 0:
            raise ValueError(f"BodyPart.centers must have shape (S, 3) with S >= 1, got {centers.shape}")
        if radii.shape != (centers.shape[0],):
            raise ValueError(f"BodyPart.radii must have shape ({centers.shape[0]},), got {radii.shape}")
        if self.kind not in ("chain", "hull"):
            raise ValueError(f"BodyPart.kind must be 'chain' or 'hull', got {self.kind!r}")
        if self.part_id <= 0:
            raise ValueError(f"BodyPart.part_id must be positive (0 and -1 are reserved), got {self.part_id}")
        object.__setattr__(self, "centers", centers)
        object.__setattr__(self, "radii", radii)


@dataclass(frozen=True, eq=False)
class PartRaster:
    """A rasterised part inside its bounding box ``[y0:y1, x0:x1]`` of the image.

    Attributes:
        box: ``(x0, y0, x1, y1)`` integer pixel bounds (exclusive end), inside the image.
        mask: ``(h, w)`` bool, pixels inside the silhouette.
        depth: ``(h, w)`` float32 front-surface depth in metres (``inf`` outside the mask).
        normals: ``(h, w, 3)`` float32 unit normals in camera space (facing the camera: ``z < 0``).
        texture_coords: ``(h, w, 2)`` float32 (along, across) the part's axis in metres.
    """

    box: tuple[int, int, int, int]
    mask: np.ndarray
    depth: np.ndarray
    normals: np.ndarray
    texture_coords: np.ndarray


def random_color(
    rng: np.random.Generator, saturation: tuple[float, float] = (0.2, 1.0), value: tuple[float, float] = (0.15, 1.0)
) -> tuple[float, float, float]:
    """A random RGB colour in ``[0, 255]`` from uniform hue and the given saturation/value ranges."""
    hue = rng.uniform(0.0, 360.0)
    sat = rng.uniform(*saturation)
    val = rng.uniform(*value)
    chroma = val * sat
    sector = hue / 60.0
    second = chroma * (1.0 - abs(sector % 2.0 - 1.0))
    table = [
        (chroma, second, 0.0),
        (second, chroma, 0.0),
        (0.0, chroma, second),
        (0.0, second, chroma),
        (second, 0.0, chroma),
        (chroma, 0.0, second),
    ]
    red, green, blue = table[int(sector) % 6]
    offset = val - chroma
    return (255.0 * (red + offset), 255.0 * (green + offset), 255.0 * (blue + offset))


def random_material(
    rng: np.random.Generator,
    base_color: tuple[float, float, float] | None = None,
    patterns: Sequence[str] = PATTERNS,
    pattern_weights: Sequence[float] | None = None,
    period: tuple[float, float] = (0.02, 0.12),
    grain: tuple[float, float] = (0.01, 0.06),
) -> Material:
    """A random :class:`Material` (colours, pattern, period, angle, grain, noise grid)."""
    base = base_color if base_color is not None else random_color(rng)
    weights = np.asarray(pattern_weights if pattern_weights is not None else [1.0] * len(patterns), dtype=np.float64)
    pattern = str(patterns[int(rng.choice(len(patterns), p=weights / weights.sum()))])
    # The second colour: a darker/lighter shade of the base or an unrelated colour.
    if rng.uniform() < 0.5:
        factor = rng.uniform(0.35, 0.75) if rng.uniform() < 0.5 else rng.uniform(1.25, 1.8)
        second = (
            min(base[0] * factor + 10.0, 255.0),
            min(base[1] * factor + 10.0, 255.0),
            min(base[2] * factor + 10.0, 255.0),
        )
    else:
        second = random_color(rng)
    return Material(
        base_color=base,
        second_color=second,
        pattern=pattern,
        period=float(np.exp(rng.uniform(np.log(period[0]), np.log(period[1])))),
        angle=float(rng.choice([0.0, np.pi / 2, rng.uniform(0.0, np.pi)])),
        grain=float(rng.uniform(*grain)),
        noise_grid=rng.uniform(0.0, 1.0, size=(_NOISE_GRID, _NOISE_GRID)).astype(np.float32),
    )


def _pattern_weight(material: Material, coords: np.ndarray) -> np.ndarray:
    """Blend weight of the second colour, ``(n,)`` in ``[0, 1]``, for ``(n, 2)`` coordinates in metres."""
    cos, sin = np.cos(material.angle), np.sin(material.angle)
    along = (coords[:, 0] * cos + coords[:, 1] * sin) / material.period
    across = (-coords[:, 0] * sin + coords[:, 1] * cos) / material.period
    if material.pattern == "stripes":
        return (np.floor(along) % 2.0).astype(np.float32)
    if material.pattern == "checks":
        return ((np.floor(along) + np.floor(across)) % 2.0).astype(np.float32)
    if material.pattern == "dots":
        fraction_along = along - np.floor(along) - 0.5
        fraction_across = across - np.floor(across) - 0.5
        return (fraction_along**2 + fraction_across**2 < 0.09).astype(np.float32)
    if material.pattern == "noise":
        grid = material.noise_grid
        size = grid.shape[0]
        column, row = along % size, across % size
        column0, row0 = np.floor(column).astype(np.intp), np.floor(row).astype(np.intp)
        weight_column, weight_row = column - column0, row - row0
        column1, row1 = (column0 + 1) % size, (row0 + 1) % size
        top = grid[row0, column0] * (1 - weight_column) + grid[row0, column1] * weight_column
        bottom = grid[row1, column0] * (1 - weight_column) + grid[row1, column1] * weight_column
        return (top * (1 - weight_row) + bottom * weight_row).astype(np.float32)
    return np.zeros(coords.shape[0], dtype=np.float32)


def shade_material(
    material: Material, coords: np.ndarray, brightness: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Colours of ``n`` surface points.

    Args:
        material: the surface.
        coords: ``(n, 2)`` texture coordinates in metres.
        brightness: ``(n,)`` shading factor (1 = full light).
        rng: draws the per-pixel grain.

    Returns:
        ``(n, 3)`` float32 RGB in ``[0, 255]``.
    """
    weight = _pattern_weight(material, coords)[:, None]  # (n, 1)
    base = np.asarray(material.base_color, dtype=np.float32)
    second = np.asarray(material.second_color, dtype=np.float32)
    color = base * (1.0 - weight) + second * weight  # (n, 3)
    grain = 1.0 + np.float32(material.grain) * rng.standard_normal(coords.shape[0], dtype=np.float32)
    return np.clip(color * (brightness * grain)[:, None], 0.0, 255.0)


def _project(
    centers: np.ndarray, radii: np.ndarray, focal: float, center: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Disc centres ``(S, 2)`` in pixels and disc radii ``(S,)`` in pixels of spheres in camera space."""
    depth = centers[:, 2]
    pixels = focal * centers[:, :2] / depth[:, None] + np.asarray(center)  # (S, 2)
    return pixels, focal * radii / depth


def _pixel_grid(box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    x0, y0, x1, y1 = box
    columns = np.arange(x0, x1, dtype=np.float32)
    rows = np.arange(y0, y1, dtype=np.float32)
    return np.meshgrid(columns, rows)  # each (h, w)


def _gradient_2d(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column derivatives of a ``(h, w)`` array, as :func:`numpy.gradient` computes them.

    ``numpy.gradient`` needs at least two samples along an axis; a part clipped by the image
    border can leave a raster one pixel tall or wide, and along such an axis the derivative is
    taken as zero (nothing varies across a single sample).

    Returns:
        ``(gradient_rows, gradient_columns)``, each ``(h, w)`` like ``values``.
    """
    rows = np.gradient(values, axis=0) if values.shape[0] > 1 else np.zeros_like(values)
    columns = np.gradient(values, axis=1) if values.shape[1] > 1 else np.zeros_like(values)
    return rows, columns


def rasterize_part(
    part: BodyPart, focal: float, center: tuple[float, float], image_size: tuple[int, int]
) -> PartRaster | None:
    """Rasterise one part (see the module docstring); ``None`` when it misses the image.

    Args:
        part: the part, spheres in camera space (every ``z`` must exceed its radius).
        focal: focal length in pixels (square pixels).
        center: principal point ``(cx, cy)`` in pixels.
        image_size: ``(w, h)``.

    Returns:
        The :class:`PartRaster`, or ``None`` when the part is entirely outside the image.
    """
    width, height = image_size
    if np.any(part.centers[:, 2] <= part.radii):
        raise ValueError(f"part {part.name!r} reaches behind the camera (z <= radius): {part.centers[:, 2]}")
    discs, disc_radii = _project(part.centers, part.radii, focal, center)
    x0 = max(int(np.floor(np.min(discs[:, 0] - disc_radii))), 0)
    y0 = max(int(np.floor(np.min(discs[:, 1] - disc_radii))), 0)
    x1 = min(int(np.ceil(np.max(discs[:, 0] + disc_radii))) + 1, width)
    y1 = min(int(np.ceil(np.max(discs[:, 1] + disc_radii))) + 1, height)
    if x1 <= x0 or y1 <= y0:
        return None
    box = (x0, y0, x1, y1)
    grid_x, grid_y = _pixel_grid(box)
    shape = grid_x.shape
    depth = np.full(shape, np.inf, dtype=np.float32)
    normals = np.zeros(shape + (3,), dtype=np.float32)
    normals[..., 2] = -1.0

    def take(
        inside: np.ndarray,
        surface: np.ndarray,
        offset_x: np.ndarray,
        offset_y: np.ndarray,
        radius_px: np.ndarray,
        squared: np.ndarray,
    ) -> None:
        """Keep the nearer surface per pixel; record its normal."""
        nearer = inside & (surface < depth)
        depth[nearer] = surface[nearer]
        normals[nearer, 0] = (offset_x / radius_px)[nearer]
        normals[nearer, 1] = (offset_y / radius_px)[nearer]
        normals[nearer, 2] = -np.sqrt(np.maximum(1.0 - squared, 0.0))[nearer]

    count = len(part.radii)
    if part.kind == "chain" and count > 1:
        segments = [(i, i + 1) for i in range(count - 1)]
    else:
        segments = [(i, i) for i in range(count)]
    for start, end in segments:
        # Python floats keep the per-pixel arithmetic in float32.
        start_x, start_y = float(discs[start, 0]), float(discs[start, 1])
        delta_x, delta_y = float(discs[end, 0]) - start_x, float(discs[end, 1]) - start_y
        length_squared = delta_x * delta_x + delta_y * delta_y
        if length_squared > 1e-12:
            t = ((grid_x - start_x) * delta_x + (grid_y - start_y) * delta_y) / length_squared
            t = np.clip(t, 0.0, 1.0)
        else:
            t = np.zeros(shape, dtype=np.float32)
        offset_x = grid_x - (start_x + t * delta_x)
        offset_y = grid_y - (start_y + t * delta_y)
        radius_start, radius_end = float(disc_radii[start]), float(disc_radii[end])
        radius_px = radius_start + t * (radius_end - radius_start)
        squared = (offset_x**2 + offset_y**2) / radius_px**2
        inside = squared < 1.0
        depth_start, depth_end = float(part.centers[start, 2]), float(part.centers[end, 2])
        metres_start, metres_end = float(part.radii[start]), float(part.radii[end])
        axis_depth = depth_start + t * (depth_end - depth_start)
        radius_m = metres_start + t * (metres_end - metres_start)
        surface = axis_depth - radius_m * np.sqrt(np.maximum(1.0 - squared, 0.0))
        take(inside, surface, offset_x, offset_y, radius_px, squared)
    mask = np.isfinite(depth)
    if part.kind == "hull" and count > 2:
        # Silhouette = convex hull of the discs; hull pixels outside every disc get a flat surface
        # at the spheres' mean front depth.
        angles = np.linspace(0.0, 2.0 * np.pi, 16, endpoint=False)
        ring = np.stack([np.cos(angles), np.sin(angles)], axis=-1)  # (16, 2)
        outline = (discs[:, None, :] + disc_radii[:, None, None] * ring[None]).reshape(-1, 2)  # (S*16, 2)
        hull = cv2.convexHull(np.round((outline - [x0, y0]) * 16.0).astype(np.int32))
        hull_mask = np.zeros(shape, dtype=np.uint8)
        cv2.fillConvexPoly(hull_mask, hull, 1, lineType=cv2.LINE_8, shift=4)
        gap = hull_mask.astype(bool) & ~mask
        depth[gap] = float(np.mean(part.centers[:, 2] - part.radii))
        mask |= gap
        # Shade the hull as one smooth "pillow" (normals from its distance transform) instead of
        # showing the creases where its spheres intersect.
        distance = cv2.distanceTransform(np.pad(mask.astype(np.uint8), 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
        ratio = distance / max(float(distance.max()), 1e-6)
        gradient_y, gradient_x = _gradient_2d(distance)
        gradient_norm = np.maximum(np.hypot(gradient_x, gradient_y), 1e-6)
        normal_z = -np.sqrt(np.clip(1.0 - (1.0 - ratio) ** 2, 0.0, 1.0))
        side = np.sqrt(np.maximum(1.0 - normal_z**2, 0.0))
        normals[..., 0] = np.where(mask, -gradient_x / gradient_norm * side, 0.0)
        normals[..., 1] = np.where(mask, -gradient_y / gradient_norm * side, 0.0)
        normals[..., 2] = np.where(mask, normal_z, -1.0)
    if not mask.any():
        return None
    # Texture coordinates: pixels relative to the axis start, rotated onto the axis, in metres.
    start_px, end_px = discs[part.axis[0]], discs[part.axis[1]]
    axis_vector = end_px - start_px
    axis_length = float(np.hypot(*axis_vector))
    unit = axis_vector / axis_length if axis_length > 1e-6 else np.array([0.0, 1.0])
    metres_per_pixel = float(np.mean(part.centers[:, 2])) / focal
    relative_x, relative_y = grid_x - start_px[0], grid_y - start_px[1]
    along = (relative_x * unit[0] + relative_y * unit[1]) * metres_per_pixel
    across = (-relative_x * unit[1] + relative_y * unit[0]) * metres_per_pixel
    texture_coords = np.stack([along, across], axis=-1).astype(np.float32)  # (h, w, 2)
    return PartRaster(box=box, mask=mask, depth=depth, normals=normals, texture_coords=texture_coords)


def composite_parts(
    image: np.ndarray,
    depth_buffer: np.ndarray,
    id_buffer: np.ndarray,
    parts: Sequence[BodyPart],
    focal: float,
    center: tuple[float, float],
    light: np.ndarray,
    ambient: float,
    rng: np.random.Generator,
    coverage: dict[int, tuple[int, int, int, int]] | None = None,
) -> None:
    """Draw parts into ``image`` in place through the z-buffer, far parts first.

    Args:
        image: ``(H, W, 3)`` float32 RGB canvas, written in place.
        depth_buffer: ``(H, W)`` float32 depth in metres (``inf`` = empty), written in place.
        id_buffer: ``(H, W)`` int32 part ids, written in place.
        parts: the parts of every figure in the scene.
        focal: focal length in pixels.
        center: principal point ``(cx, cy)``.
        light: ``(3,)`` unit vector from the surface towards the light, camera space.
        ambient: ambient light fraction in ``[0, 1]``.
        rng: draws material grain.
        coverage: if given, ``coverage[part_id]`` receives the tight box ``(x0, y0, x1, y1)``
            (inclusive pixel indices) of the part's whole silhouette, occluded or not (amodal boxes).
    """
    height, width = depth_buffer.shape
    order = sorted(range(len(parts)), key=lambda i: -float(np.max(parts[i].centers[:, 2])))
    for index in order:
        part = parts[index]
        raster = rasterize_part(part, focal, center, (width, height))
        if raster is None:
            continue
        x0, y0, x1, y1 = raster.box
        if coverage is not None:
            rows = np.nonzero(raster.mask.any(axis=1))[0]
            columns = np.nonzero(raster.mask.any(axis=0))[0]
            coverage[part.part_id] = (
                x0 + int(columns[0]),
                y0 + int(rows[0]),
                x0 + int(columns[-1]),
                y0 + int(rows[-1]),
            )
        window = depth_buffer[y0:y1, x0:x1]
        drawn = raster.mask & (raster.depth < window)
        if not drawn.any():
            continue
        lambert = np.clip(raster.normals[drawn] @ light.astype(np.float32), 0.0, 1.0)
        brightness = ambient + (1.0 - ambient) * lambert
        colors = shade_material(part.material, raster.texture_coords[drawn], brightness, rng)
        image[y0:y1, x0:x1][drawn] = colors
        window[drawn] = raster.depth[drawn]
        id_buffer[y0:y1, x0:x1][drawn] = part.part_id


def draw_occluder(
    image: np.ndarray,
    depth_buffer: np.ndarray,
    id_buffer: np.ndarray,
    polygon: np.ndarray,
    material: Material,
    metres_per_pixel: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Fill a polygon in front of everything (depth 0) with a textured material.

    Args:
        image: ``(H, W, 3)`` float32 RGB, written in place.
        depth_buffer: ``(H, W)`` float32, set to 0 under the occluder.
        id_buffer: ``(H, W)`` int32, set to :data:`OCCLUDER_ID` under the occluder.
        polygon: ``(M, 2)`` vertices in pixels (pixel-centre convention), any simple polygon.
        material: its surface; texture coordinates are pixels times ``metres_per_pixel``.
        metres_per_pixel: texture scale.
        rng: draws material grain.

    Returns:
        ``(H, W)`` bool mask of the occluder.
    """
    polygon = np.asarray(polygon, dtype=np.float64)
    if polygon.ndim != 2 or polygon.shape[1] != 2 or polygon.shape[0] < 3:
        raise ValueError(f"occluder polygon must have shape (M, 2) with M >= 3, got {polygon.shape}")
    height, width = depth_buffer.shape
    canvas = np.zeros((height, width), dtype=np.uint8)
    cv2.fillPoly(canvas, [np.round(polygon * 16.0).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
    mask = canvas.astype(bool)
    if mask.any():
        rows, columns = np.nonzero(mask)
        coords = np.stack([columns, rows], axis=-1).astype(np.float32) * metres_per_pixel  # (n, 2)
        shade = 1.0 - 0.25 * (rows - rows.min()) / max(float(rows.max() - rows.min()), 1.0)
        image[mask] = shade_material(material, coords, shade.astype(np.float32), rng)
        depth_buffer[mask] = 0.0
        id_buffer[mask] = OCCLUDER_ID
    return mask


# Sample pictures of scikit-image (no people in them) used as background clutter.
_SAMPLE_PICTURES = (
    "brick",
    "grass",
    "gravel",
    "coffee",
    "chelsea",
    "rocket",
    "coins",
    "moon",
    "page",
    "text",
    "hubble_deep_field",
    "immunohistochemistry",
    "colorwheel",
    "clock",
    "cell",
)


@functools.lru_cache(maxsize=1)
def load_sample_pictures() -> tuple[np.ndarray, ...]:
    """scikit-image's bundled sample pictures without people, as ``(H, W, 3)`` uint8 RGB.

    Returns an empty tuple when scikit-image is not installed (it is optional); cached per process.
    """
    try:
        from skimage import data as sample_data
    except ImportError:
        return ()
    pictures = []
    for name in _SAMPLE_PICTURES:
        loader = getattr(sample_data, name, None)
        if loader is None:
            continue
        try:
            picture = np.asarray(loader())
        except (OSError, ValueError):  # a picture that would need a download
            continue
        if picture.dtype == bool:
            picture = picture.astype(np.uint8) * 255
        if picture.ndim == 2:
            picture = np.repeat(picture[:, :, None], 3, axis=2)
        pictures.append(np.ascontiguousarray(picture[:, :, :3].astype(np.uint8)))
    return tuple(pictures)


def _random_crop(picture: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A random crop of ``picture`` resized to ``size`` ``(w, h)``, float32."""
    width, height = size
    source_height, source_width = picture.shape[:2]
    fraction = rng.uniform(0.3, 1.0)
    crop_width = max(int(source_width * fraction), 8)
    crop_height = max(int(min(crop_width * height / width, source_height)), 8)
    crop_width = min(crop_width, source_width)
    left = int(rng.integers(0, source_width - crop_width + 1))
    top = int(rng.integers(0, source_height - crop_height + 1))
    crop = picture[top : top + crop_height, left : left + crop_width]
    if rng.uniform() < 0.5:
        crop = crop[:, ::-1]
    return cv2.resize(np.ascontiguousarray(crop), (width, height), interpolation=cv2.INTER_AREA).astype(np.float32)


def make_background(
    image_size: tuple[int, int], rng: np.random.Generator, pictures: Sequence[np.ndarray] = ()
) -> np.ndarray:
    """A cluttered background: gradient, low-frequency noise, shapes, lines, optional picture patches.

    Args:
        image_size: ``(w, h)``.
        rng: all randomness.
        pictures: ``(H, W, 3)`` uint8 pictures to crop patches from (may be empty).

    Returns:
        ``(h, w, 3)`` float32 RGB in ``[0, 255]``.
    """
    width, height = image_size
    rows, columns = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0.0, 2.0 * np.pi)
    ramp = (columns * np.cos(angle) + rows * np.sin(angle)) / float(max(width, height))
    ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
    first, second = np.asarray(random_color(rng)), np.asarray(random_color(rng))
    image = first * (1.0 - ramp[..., None]) + second * ramp[..., None]  # (h, w, 3)
    if pictures and rng.uniform() < 0.35:
        picture = pictures[int(rng.integers(len(pictures)))]
        weight = rng.uniform(0.5, 1.0)
        image = (1.0 - weight) * image + weight * _random_crop(picture, image_size, rng)
    cells = int(rng.integers(3, 9))
    noise = rng.standard_normal((cells, cells, 3)).astype(np.float32)
    image += rng.uniform(10.0, 45.0) * cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    image = np.ascontiguousarray(image, dtype=np.float32)
    scale = float(max(width, height))
    for _ in range(int(rng.integers(3, 14))):
        color = tuple(float(c) for c in random_color(rng))
        kind = rng.choice(["rectangle", "ellipse", "polygon", "capsule"])
        center = rng.uniform([0.0, 0.0], [width, height])
        size = rng.uniform(0.05, 0.45) * scale
        if kind == "rectangle":
            corner = center + rng.uniform(0.3, 1.0, size=2) * size
            cv2.rectangle(image, tuple(int(v) for v in center), tuple(int(v) for v in corner), color, -1)
        elif kind == "ellipse":
            axes = tuple(int(v) for v in rng.uniform(0.1, 0.5, size=2) * size)
            cv2.ellipse(
                image, tuple(int(v) for v in center), axes, rng.uniform(0, 180), 0, 360, color, -1, lineType=cv2.LINE_AA
            )
        elif kind == "polygon":
            count = int(rng.integers(3, 7))
            points = center + rng.uniform(-0.5, 0.5, size=(count, 2)) * size
            cv2.fillPoly(image, [np.round(points).astype(np.int32)], color, lineType=cv2.LINE_AA)
        else:  # a limb-like distractor
            end = center + rng.uniform(-0.5, 0.5, size=2) * size
            thickness = max(int(rng.uniform(0.02, 0.08) * scale), 2)
            cv2.line(
                image, tuple(int(v) for v in center), tuple(int(v) for v in end), color, thickness, lineType=cv2.LINE_AA
            )
    if pictures and rng.uniform() < 0.5:
        for _ in range(int(rng.integers(1, 3))):
            patch_width = int(rng.uniform(0.15, 0.5) * width) + 4
            patch_height = int(rng.uniform(0.15, 0.5) * height) + 4
            patch = _random_crop(pictures[int(rng.integers(len(pictures)))], (patch_width, patch_height), rng)
            left = int(rng.integers(-patch_width // 2, width - patch_width // 2))
            top = int(rng.integers(-patch_height // 2, height - patch_height // 2))
            source_left, source_top = max(-left, 0), max(-top, 0)
            right, bottom = min(left + patch_width, width), min(top + patch_height, height)
            target_top, target_left = top + source_top, left + source_left
            image[target_top:bottom, target_left:right] = patch[
                source_top : source_top + bottom - target_top, source_left : source_left + right - target_left
            ]
    for _ in range(int(rng.integers(0, 9))):
        start = rng.uniform([0.0, 0.0], [width, height])
        end = rng.uniform([0.0, 0.0], [width, height])
        cv2.line(
            image,
            tuple(int(v) for v in start),
            tuple(int(v) for v in end),
            tuple(float(c) for c in random_color(rng)),
            int(rng.integers(1, 4)),
            lineType=cv2.LINE_AA,
        )
    if rng.uniform() < 0.4:  # depth of field: a softer background than the people
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.6, 2.0))
    return np.clip(image, 0.0, 255.0).astype(np.float32)


def apply_photometric_effects(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Lighting jitter, colour cast, blur, motion blur, sensor noise and JPEG artefacts.

    Args:
        image: ``(H, W, 3)`` float32 RGB in ``[0, 255]``.
        rng: all randomness.

    Returns:
        ``(H, W, 3)`` uint8 RGB.
    """
    image = image * rng.uniform(0.7, 1.25) + rng.uniform(-25.0, 25.0)  # exposure and offset
    image = image * rng.uniform(0.9, 1.1, size=3).astype(np.float32)  # white balance
    mean = float(image.mean())
    image = (image - mean) * rng.uniform(0.75, 1.2) + mean  # contrast
    gamma = rng.uniform(0.8, 1.25)
    table = np.round(255.0 * (np.arange(256) / 255.0) ** gamma).astype(np.uint8)
    image = cv2.LUT(np.clip(np.round(image), 0, 255).astype(np.uint8), table).astype(np.float32)
    if rng.uniform() < 0.3:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.4, 1.2))
    if rng.uniform() < 0.1:
        length = int(rng.integers(3, 8))
        kernel = np.zeros((length, length), dtype=np.float32)
        kernel[length // 2, :] = 1.0 / length
        rotation = cv2.getRotationMatrix2D(((length - 1) / 2.0, (length - 1) / 2.0), rng.uniform(0, 180), 1.0)
        rotated = cv2.warpAffine(kernel, rotation, (length, length))
        normalized = (rotated / max(float(rotated.sum()), 1e-6)).astype(np.float32)
        image = cv2.filter2D(image, -1, normalized)
    image = image + np.float32(rng.uniform(0.0, 7.0)) * rng.standard_normal(image.shape, dtype=np.float32)
    result: np.ndarray = np.clip(np.round(image), 0, 255).astype(np.uint8)
    if rng.uniform() < 0.3:
        quality = int(rng.integers(25, 80))
        ok, encoded = cv2.imencode(".jpg", result, [cv2.IMWRITE_JPEG_QUALITY, quality])
        decoded = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED) if ok else None
        if decoded is not None:
            result = decoded
    return np.ascontiguousarray(result)
