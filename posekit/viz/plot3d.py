"""3D skeleton views drawn with OpenCV (headless, no OpenGL, no matplotlib), MP4 and GIF output.

Legend: ``N`` people, ``J`` joints; 3D points in metres, camera space (x right, y down, z forward);
images ``(H, W, 3)`` uint8 RGB.

:class:`SkeletonView3D` is a virtual perspective camera orbiting the scene: it looks at ``center``
from ``elevation`` degrees above the horizon (above = towards -y: the input camera is assumed
roughly level) and turns ``rotation_per_frame`` degrees about the vertical axis every frame
(azimuth 0 is the input camera's own direction). It draws a floor grid at ``floor_y`` (the lowest
foot level of the whole video by default) and every person's links coloured by body side (the
colours of :mod:`posekit.viz.draw`), people and links painted far to near. Projecting a few dozen
segments with numpy and drawing them with ``cv2.line`` takes well under a millisecond per person,
which is why it is preferred over matplotlib's 3D axes (tens of milliseconds per frame).

:func:`side_by_side` puts a frame with its 2D overlay beside the 3D view; :class:`LiftVideoWriter`
writes the composed frames to an MP4 (atomic, :class:`posekit.io.video.VideoWriter`) and/or an
animated GIF (Pillow, atomic, downscaled and frame-subsampled: GIFs of full-size video grow to
hundreds of MB).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

from posekit.io.atomic import atomic_path
from posekit.io.video import VideoWriter
from posekit.skeletons import Skeleton, get_skeleton
from posekit.structures import PoseInstances, PoseSequence
from posekit.viz.draw import CENTER_COLOR, LEFT_COLOR, RIGHT_COLOR, draw_poses, track_color

__all__ = [
    "LiftVideoWriter",
    "SkeletonView3D",
    "absolute_poses_by_frame",
    "render_lift_frame",
    "side_by_side",
    "write_gif",
]

_BACKGROUND = (24, 26, 32)
_GRID_COLOR = (70, 74, 84)


def _link_colors(skeleton: Skeleton) -> list[tuple[int, int, int]]:
    left = set(skeleton.groups.get("left", ()))
    right = set(skeleton.groups.get("right", ()))
    colors = []
    for link in skeleton.links:
        if all(name in left for name in link):
            colors.append(LEFT_COLOR)
        elif all(name in right for name in link):
            colors.append(RIGHT_COLOR)
        else:
            colors.append(CENTER_COLOR)
    return colors


def _nice_spacing(extent: float) -> float:
    """A grid spacing of 1, 2 or 5 times a power of ten giving about 4-10 lines over ``extent``."""
    raw = max(extent, 1e-3) / 6.0
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 5.0, 10.0):
        if raw <= factor * power:
            return factor * power
    return 10.0 * power


class SkeletonView3D:
    """An orbiting virtual camera that draws 3D skeletons (see the module docstring).

    Args:
        size: ``(w, h)`` of the rendered view, pixels.
        center: ``(3,)`` point looked at, metres (camera space of the input).
        radius: metres around ``center`` that must stay in view.
        elevation: degrees above the horizon.
        azimuth: degrees about the vertical axis at frame 0.
        rotation_per_frame: degrees added to the azimuth per frame (0: a fixed view).
        floor_y: y of the floor plane (metres, y down), or ``None`` for no grid.
        skeleton: the joints' format (links and sides).
        field_of_view: vertical field of view of the virtual camera, degrees.
    """

    def __init__(
        self,
        size: tuple[int, int] = (480, 480),
        center: Sequence[float] = (0.0, 0.0, 4.0),
        radius: float = 1.5,
        *,
        elevation: float = 15.0,
        azimuth: float = 0.0,
        rotation_per_frame: float = 1.0,
        floor_y: float | None = None,
        skeleton: str | Skeleton = "h36m",
        field_of_view: float = 40.0,
    ) -> None:
        width, height = (int(value) for value in size)
        if width < 8 or height < 8:
            raise ValueError(f"size must be (w, h) of at least 8 pixels each, got {size}")
        center_array = np.asarray(center, dtype=np.float64)
        if center_array.shape != (3,) or not np.isfinite(center_array).all():
            raise ValueError(f"center must be 3 finite numbers (metres), got {center}")
        if not (np.isfinite(radius) and radius > 0):
            raise ValueError(f"radius must be a positive number of metres, got {radius}")
        if not 1.0 <= field_of_view <= 150.0:
            raise ValueError(f"field_of_view must be in [1, 150] degrees, got {field_of_view}")
        self.size = (width, height)
        self.center = center_array
        self.radius = float(radius)
        self.elevation = float(elevation)
        self.azimuth = float(azimuth)
        self.rotation_per_frame = float(rotation_per_frame)
        self.floor_y = None if floor_y is None else float(floor_y)
        self.skeleton = get_skeleton(skeleton)
        half_angle = math.radians(field_of_view) / 2.0
        self.focal = (min(width, height) / 2.0) / math.tan(half_angle)
        self.distance = 1.15 * self.radius / math.sin(half_angle)
        self._links = np.asarray(self.skeleton.link_indices, dtype=np.int64).reshape(-1, 2)
        self._colors = _link_colors(self.skeleton)

    @classmethod
    def fit(
        cls,
        points: np.ndarray,
        size: tuple[int, int] = (480, 480),
        **kwargs: float | str | Skeleton | None,
    ) -> SkeletonView3D:
        """A view framing every finite point of ``points`` ``(..., 3)`` (e.g. all poses of a video).

        The centre is the middle of the points' range (2nd to 98th percentile per axis, robust to
        a few wild joints), the radius the largest distance from it, the floor the 99th percentile
        of y (the feet). Other keyword arguments go to the constructor.
        """
        values = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        values = values[np.isfinite(values).all(axis=1)]
        if len(values) == 0:
            return cls(size, **kwargs)  # type: ignore[arg-type]
        low = np.percentile(values, 2, axis=0)
        high = np.percentile(values, 98, axis=0)
        center = (low + high) / 2.0
        radius = float(np.linalg.norm((high - low) / 2.0)) + 0.2
        floor = float(np.percentile(values[:, 1], 99))
        options: dict[str, object] = {"floor_y": floor, **kwargs}
        return cls(size, center, max(radius, 0.5), **options)  # type: ignore[arg-type]

    def azimuth_at(self, frame_number: int) -> float:
        """The view's azimuth in degrees at ``frame_number``."""
        return self.azimuth + self.rotation_per_frame * frame_number

    def project(self, points: np.ndarray, frame_number: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Project ``(..., 3)`` camera-space points into the view at ``frame_number``.

        Returns:
            ``(pixels (..., 2), depth (..., 1))``; depth is along the virtual camera's axis (points
            closer than 5% of the viewing distance are clamped there).
        """
        values = np.asarray(points, dtype=np.float64)
        if values.shape[-1:] != (3,):
            raise ValueError(f"points must have shape (..., 3), got {values.shape}")
        relative = values - self.center
        azimuth = math.radians(self.azimuth_at(frame_number))
        elevation = math.radians(self.elevation)
        # Turn about the vertical (y) axis, then tilt about x so that far points rise on screen.
        x = relative[..., 0] * math.cos(azimuth) - relative[..., 2] * math.sin(azimuth)
        z = relative[..., 0] * math.sin(azimuth) + relative[..., 2] * math.cos(azimuth)
        y = relative[..., 1] * math.cos(elevation) - z * math.sin(elevation)
        z = relative[..., 1] * math.sin(elevation) + z * math.cos(elevation)
        depth = np.maximum(z + self.distance, 0.05 * self.distance)
        width, height = self.size
        pixels = np.stack([self.focal * x / depth + width / 2.0, self.focal * y / depth + height / 2.0], axis=-1)
        return pixels, depth[..., None]

    def _draw_floor(self, canvas: np.ndarray, frame_number: int, thickness: int) -> None:
        if self.floor_y is None:
            return
        extent = self.radius
        spacing = _nice_spacing(2.0 * extent)
        ticks = np.arange(math.floor(-extent / spacing), math.ceil(extent / spacing) + 1) * spacing
        segments = []
        for tick in ticks:
            segments.append(((tick, -extent), (tick, extent)))
            segments.append(((-extent, tick), (extent, tick)))
        for (x0, z0), (x1, z1) in segments:
            ends = np.array(
                [
                    [self.center[0] + x0, self.floor_y, self.center[2] + z0],
                    [self.center[0] + x1, self.floor_y, self.center[2] + z1],
                ]
            )
            pixels, _ = self.project(ends, frame_number)
            start, end = (tuple(int(round(v)) for v in np.clip(point, -1e4, 1e4)) for point in pixels)
            cv2.line(canvas, start, end, _GRID_COLOR, max(1, thickness // 2), cv2.LINE_AA)

    def render(
        self,
        poses: np.ndarray,
        track_ids: Sequence[int] | np.ndarray | None = None,
        frame_number: int = 0,
        title: str | None = None,
    ) -> np.ndarray:
        """Draw people in the view.

        Args:
            poses: ``(N, J, 3)`` absolute camera-space metres (root-relative pose + trajectory);
                non-finite joints are skipped.
            track_ids: ``(N,)`` ids, written beside each head in the track's colour.
            frame_number: sets the azimuth (rotation).
            title: text in the top-left corner.

        Returns:
            ``(h, w, 3)`` uint8 RGB.
        """
        values = np.asarray(poses, dtype=np.float64)
        num_joints = self.skeleton.num_keypoints
        if values.ndim == 2 and values.shape == (num_joints, 3):
            values = values[None]
        if values.ndim != 3 or values.shape[1:] != (num_joints, 3):
            raise ValueError(f"poses must have shape (N, {num_joints}, 3), got {values.shape}")
        if track_ids is not None and len(track_ids) != len(values):
            raise ValueError(f"track_ids must have one id per pose ({len(values)}), got {len(track_ids)}")
        width, height = self.size
        canvas = np.empty((height, width, 3), np.uint8)
        canvas[:] = _BACKGROUND
        thickness = max(1, round(min(width, height) / 180))
        self._draw_floor(canvas, frame_number, thickness)
        pixels, depth = self.project(values, frame_number)  # (N, J, 2), (N, J, 1)
        finite = np.asarray(np.isfinite(values).all(axis=-1))  # (N, J)
        person_depth = np.array([depth[i, finite[i], 0].mean() if finite[i].any() else 0.0 for i in range(len(values))])
        for person in np.argsort(-person_depth):
            if not finite[person].any():
                continue
            points = np.round(np.clip(np.nan_to_num(pixels[person]), -1e4, 1e4)).astype(np.int32)
            link_depth = depth[person, self._links, 0].mean(axis=1) if len(self._links) else np.zeros(0)
            for link_index in np.argsort(-link_depth):
                first, second = self._links[link_index]
                if finite[person, first] and finite[person, second]:
                    start = (int(points[first, 0]), int(points[first, 1]))
                    end = (int(points[second, 0]), int(points[second, 1]))
                    cv2.line(canvas, start, end, self._colors[link_index], thickness + 1, cv2.LINE_AA)
            for joint in np.flatnonzero(finite[person]):
                center = (int(points[joint, 0]), int(points[joint, 1]))
                cv2.circle(canvas, center, thickness + 1, (235, 235, 235), -1, cv2.LINE_AA)
            if track_ids is not None:
                top = int(np.argmin(np.where(finite[person], points[:, 1], np.iinfo(np.int32).max)))
                origin = (int(points[top, 0]) + 4, int(points[top, 1]) - 6)
                color = track_color(int(track_ids[person]))
                cv2.putText(
                    canvas, f"id {int(track_ids[person])}", origin, cv2.FONT_HERSHEY_SIMPLEX,
                    max(0.35, min(width, height) / 900), color, 1, cv2.LINE_AA,
                )  # fmt: skip
        if title:
            cv2.putText(
                canvas, title, (8, 20), cv2.FONT_HERSHEY_SIMPLEX, max(0.4, min(width, height) / 900),
                (220, 220, 220), 1, cv2.LINE_AA,
            )  # fmt: skip
        return canvas


def side_by_side(image: np.ndarray, view: np.ndarray) -> np.ndarray:
    """``image (H, W, 3)`` with ``view`` scaled to height ``H`` on its right: ``(H, W + w', 3)`` uint8."""
    for name, array in (("image", image), ("view", view)):
        if not isinstance(array, np.ndarray) or array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
            raise ValueError(
                f"{name} must be a (H, W, 3) uint8 RGB array, got shape {getattr(array, 'shape', None)} and dtype "
                f"{getattr(array, 'dtype', None)}"
            )
    height = image.shape[0]
    if view.shape[0] != height:
        new_width = max(1, round(view.shape[1] * height / view.shape[0]))
        view = cv2.resize(view, (new_width, height), interpolation=cv2.INTER_AREA)
    return np.concatenate([image, view], axis=1)


def absolute_poses_by_frame(sequences: Sequence[PoseSequence]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """``{frame: (track_ids (N,), poses (N, J, 3))}`` with poses = ``keypoints_3d + trajectory`` (metres).

    Sequences without ``keypoints_3d`` are skipped; a missing trajectory counts as zero.
    """
    gathered: dict[int, tuple[list[int], list[np.ndarray]]] = {}
    for sequence in sequences:
        if sequence.keypoints_3d is None:
            continue
        offsets = np.zeros((len(sequence), 3), np.float32) if sequence.trajectory is None else sequence.trajectory
        poses = sequence.keypoints_3d + offsets[:, None]  # (T, J, 3)
        for row, frame in enumerate(sequence.frames.tolist()):
            ids, items = gathered.setdefault(int(frame), ([], []))
            ids.append(sequence.track_id)
            items.append(poses[row])
    return {frame: (np.asarray(ids, np.int64), np.stack(items)) for frame, (ids, items) in gathered.items()}


def render_lift_frame(
    image: np.ndarray,
    instances: PoseInstances | None,
    view: SkeletonView3D,
    poses: np.ndarray | None,
    track_ids: np.ndarray | None,
    frame_number: int,
) -> np.ndarray:
    """The frame with its 2D overlay, beside the 3D view of ``poses (N, J, 3)`` (absolute metres).

    Returns:
        ``(H, W + w', 3)`` uint8 RGB (the view scaled to the frame's height).
    """
    overlay = image if instances is None else draw_poses(image, instances)
    num_joints = view.skeleton.num_keypoints
    people = np.zeros((0, num_joints, 3)) if poses is None else poses
    rendered = view.render(people, None if poses is None else track_ids, frame_number)
    return side_by_side(overlay, rendered)


def _gif_frame(image: np.ndarray, max_width: int) -> np.ndarray:
    if image.shape[1] <= max_width:
        return np.ascontiguousarray(image)
    height = max(1, round(image.shape[0] * max_width / image.shape[1]))
    return cv2.resize(image, (max_width, height), interpolation=cv2.INTER_AREA)


def write_gif(
    path: str | os.PathLike[str],
    frames: Iterable[np.ndarray],
    fps: float,
    *,
    max_width: int = 480,
) -> Path:
    """Write ``(H, W, 3)`` uint8 RGB frames as a looping animated GIF, atomically (Pillow).

    Args:
        path: target ``.gif``.
        frames: frames of one size (downscaled to ``max_width`` pixels wide when wider).
        fps: frames per second (GIF delays are whole hundredths of a second: 100 fps at most).
        max_width: widest frame written.

    Raises:
        ValueError: no frames, frames of different sizes, or a bad ``fps``.
    """
    from PIL import Image

    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps}")
    images: list[np.ndarray] = []
    for index, frame in enumerate(frames):
        if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"frame {index} must be a (H, W, 3) uint8 RGB array, got {getattr(frame, 'shape', None)}")
        small = _gif_frame(frame, max_width)
        if images and small.shape != images[0].shape:
            raise ValueError(f"frame {index} has shape {small.shape}, the first frame {images[0].shape}")
        images.append(small)
    if not images:
        raise ValueError(f"no frames to write to {os.fspath(path)}")
    pictures = [Image.fromarray(image) for image in images]
    duration = max(10, int(round(1000.0 / fps / 10.0)) * 10)  # milliseconds, in GIF's 10 ms steps
    with atomic_path(path, suffix=".gif") as tmp:
        pictures[0].save(tmp, format="GIF", save_all=True, append_images=pictures[1:], duration=duration, loop=0)
    return Path(path)


class LiftVideoWriter:
    """Write composed frames to an MP4 and/or a GIF; both files appear only on a clean close.

    Args:
        video_path: target ``.mp4``, or ``None``.
        gif_path: target ``.gif``, or ``None``.
        fps: frame rate of the input video.
        size: ``(w, h)`` of every composed frame (needed for the MP4).
        gif_fps: most GIF frames per second; every ``ceil(fps / gif_fps)``-th frame is kept.
        gif_width: widest GIF frame (downscaled).
    """

    def __init__(
        self,
        video_path: str | os.PathLike[str] | None,
        gif_path: str | os.PathLike[str] | None,
        fps: float,
        size: tuple[int, int],
        *,
        gif_fps: float = 12.5,
        gif_width: int = 480,
    ) -> None:
        if video_path is None and gif_path is None:
            raise ValueError("LiftVideoWriter needs a video_path, a gif_path or both")
        self.fps = float(fps)
        self.size = (int(size[0]), int(size[1]))
        self.gif_path = None if gif_path is None else Path(gif_path)
        self.gif_step = max(1, math.ceil(self.fps / gif_fps)) if gif_fps > 0 else 1
        self.gif_width = int(gif_width)
        self._gif_frames: list[np.ndarray] = []
        self._count = 0
        self._video = None if video_path is None else VideoWriter(video_path, self.fps, self.size)

    def write(self, frame: np.ndarray) -> None:
        """Append one ``(h, w, 3)`` uint8 RGB frame of ``size``."""
        if frame.ndim != 3 or frame.shape[2] != 3 or (frame.shape[1], frame.shape[0]) != self.size:
            raise ValueError(
                f"frame must have shape ({self.size[1]}, {self.size[0]}, 3), got {getattr(frame, 'shape', None)}"
            )
        if self._video is not None:
            self._video.write(frame)
        if self.gif_path is not None and self._count % self.gif_step == 0:
            self._gif_frames.append(_gif_frame(frame, self.gif_width))
        self._count += 1

    def close(self, error: BaseException | None = None) -> None:
        """Finish the files (or discard them when ``error`` is given)."""
        if self._video is not None:
            self._video.close(error)
            self._video = None
        if error is None and self.gif_path is not None and self._gif_frames:
            write_gif(self.gif_path, self._gif_frames, self.fps / self.gif_step, max_width=self.gif_width)
        self._gif_frames = []

    def __enter__(self) -> LiftVideoWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close(value)


def render_lift_image(image: np.ndarray, instances: PoseInstances, lifted: Sequence[PoseSequence]) -> np.ndarray:
    """One image's 2D overlay beside a 3D view of its lifted people (one-frame tracks, frame 0).

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        instances: the 2D people drawn on the image (any skeleton).
        lifted: the people's lifted one-frame sequences (:func:`posekit.inference.lift3d.video.lift_people`).

    Returns:
        ``(H, W + H, 3)`` uint8 RGB.
    """
    height = image.shape[0]
    by_frame = absolute_poses_by_frame(lifted)
    track_ids, poses = by_frame.get(0, (None, None))
    view = SkeletonView3D.fit(poses if poses is not None else np.zeros((0, 3)), (height, height))
    return render_lift_frame(image, instances, view, poses, track_ids, 0)


def render_lift_video(
    frames: Iterable[tuple[int, np.ndarray]],
    lifted: Sequence[PoseSequence],
    overlays: dict[int, PoseInstances],
    image_size: tuple[int, int],
    fps: float,
    video_path: str | os.PathLike[str] | None,
    gif_path: str | os.PathLike[str] | None = None,
) -> None:
    """A video's 2D overlay beside a rotating 3D view of its lifted tracks, as MP4 and/or GIF.

    The 3D view is fitted to every pose of every track and turns a full circle over the video (at
    least 360 frames per turn). Frames stop at the first one whose size differs from ``image_size``.

    Args:
        frames: ``(index, image)`` of the video's frames, ``(H, W, 3)`` uint8 RGB, in order.
        lifted: the lifted tracks (``keypoints_3d`` and ``trajectory`` set), at least one.
        overlays: the 2D people drawn on each frame, by frame index (frames missing: none drawn).
        image_size: ``(w, h)`` of the frames.
        fps: frame rate of the outputs.
        video_path: the MP4 to write (``None``: none).
        gif_path: the GIF to write (``None``: none).
    """
    width, height = image_size
    by_frame = absolute_poses_by_frame(lifted)
    everything = np.concatenate([poses.reshape(-1, 3) for _, poses in by_frame.values()])
    num_frames = max(by_frame) + 1
    view = SkeletonView3D.fit(everything, (height, height), rotation_per_frame=360.0 / max(num_frames, 360))
    with LiftVideoWriter(video_path, gif_path, fps, (width + height, height)) as writer:
        for index, image in frames:
            if (image.shape[1], image.shape[0]) != (width, height):
                break
            track_ids, poses = by_frame.get(index, (None, None))
            writer.write(render_lift_frame(image, overlays.get(index), view, poses, track_ids, index))
