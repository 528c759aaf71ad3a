"""Custom 2D keypoint tracks for lifting: from ``posekit predict`` results or from ``.npz`` arrays.

Legend: ``T`` frames, ``K`` keypoints, ``B`` any leading (batch) dimensions.

A :class:`Track2D` is one person's keypoints over consecutive frames, in pixels, converted to
Human3.6M-17 (the lifters' input order) and with every gap filled:

* ``posekit predict`` writes COCO results with ``frame`` and ``track_id`` for videos
  (``predictions.json``); :func:`load_prediction_tracks` groups the entries by video file and
  ``track_id``, sorts them by frame, converts COCO-17 (or any registered skeleton) to
  Human3.6M-17 by joint name with :func:`posekit.skeletons.convert_keypoints_and_scores`
  (pelvis = mean of the hips, thorax = mean of the shoulders, ...), and treats frames absent
  between a track's first and last frame as fully missing;
* :func:`load_keypoints_npz` reads an array ``(T, K, 2)`` (optionally with scores ``(T, K)`` or
  a third channel) from an ``.npz`` file, without pickles.

Missing keypoints (NaN, score at or below ``min_score``, joints the conversion cannot derive,
frames without a detection) are filled by :func:`interpolate_missing`: linear interpolation in
time between the nearest valid frames of the same keypoint, and the nearest valid value held
at the start and the end of the track. They are never silently zero; ``Track2D.interpolated``
flags every filled value so callers can see (or down-weight) them. A keypoint that is never
valid in the whole track cannot be filled and raises ``ValueError``.

Length: a lifter sees ``receptive_field`` frames per output frame; :func:`posekit.inference.
lifting.lift_sequence` already pads the sequence ends with copies of the first and last frames,
``(receptive_field - 1) / 2`` on each side, as the official evaluation does, so a track of any
length (even one frame) gets one 3D pose per frame. For a track shorter than the receptive field
most of each window is then padding and the prediction degrades towards a single-frame lifter;
:func:`pad_to_length` makes that edge padding explicit when an exact window is needed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posekit.geometry import check_image_size, normalize_screen_coordinates
from posekit.io.json import load_json
from posekit.io.safe_pickle import load_npz_objects
from posekit.skeletons import convert_keypoints_and_scores, get_skeleton

__all__ = [
    "Track2D",
    "interpolate_missing",
    "load_keypoints_npz",
    "load_prediction_tracks",
    "pad_to_length",
]


def interpolate_missing(keypoints: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fill invalid keypoints by linear interpolation over time, holding the edge values.

    Works on every keypoint series independently and is vectorised over leading dimensions.

    Args:
        keypoints: ``(..., T, K, D)`` values (invalid entries may hold anything, NaN included).
        valid: ``(..., T, K)`` booleans; also false wherever ``keypoints`` is not finite.

    Returns:
        ``(filled (..., T, K, D) float, interpolated (..., T, K) bool)``: ``filled`` equals
        ``keypoints`` where valid; ``interpolated`` marks the entries that were filled.

    Raises:
        ValueError: mismatched shapes, or a keypoint series with no valid frame at all.
    """
    values = np.asarray(keypoints)
    mask = np.asarray(valid, dtype=bool)
    if values.ndim < 3 or mask.shape != values.shape[:-1]:
        raise ValueError(
            f"keypoints must have shape (..., T, K, D) and valid (..., T, K), got {values.shape} and {mask.shape}"
        )
    values = values.astype(np.float64 if values.dtype == np.float64 else np.float32, copy=True)
    mask = mask & np.isfinite(values).all(axis=-1)
    num_frames = values.shape[-3]
    has_any = mask.any(axis=-2)  # (..., K)
    if not has_any.all():
        missing = np.argwhere(~has_any)[0]
        raise ValueError(
            f"keypoint {int(missing[-1])} has no valid frame in its track (index {tuple(int(i) for i in missing)}); "
            "it cannot be interpolated"
        )
    if mask.all():
        return values, np.zeros(mask.shape, dtype=bool)
    frames = np.arange(num_frames).reshape((num_frames, 1))  # (T, 1) broadcasts against (..., T, K)
    # Index of the last valid frame at or before t, and of the first valid frame at or after t.
    previous = np.where(mask, frames, -1)
    previous = np.maximum.accumulate(previous, axis=-2)
    following = np.where(mask, frames, num_frames)
    following = np.flip(np.minimum.accumulate(np.flip(following, axis=-2), axis=-2), axis=-2)
    # Edge hold: before the first valid frame use it; after the last valid frame use it.
    previous_filled = np.where(previous < 0, following, previous)
    following_filled = np.where(following >= num_frames, previous_filled, following)
    span = (following_filled - previous_filled).astype(values.dtype)
    weight = np.where(span > 0, (frames - previous_filled) / np.where(span > 0, span, 1), 0.0).astype(values.dtype)
    before = np.take_along_axis(values, previous_filled[..., None], axis=-3)  # (..., T, K, D)
    after = np.take_along_axis(values, following_filled[..., None], axis=-3)
    filled = before + weight[..., None] * (after - before)
    result = np.where(mask[..., None], values, filled)
    return result, ~mask


def pad_to_length(keypoints: np.ndarray, length: int) -> tuple[np.ndarray, slice]:
    """Edge-pad a ``(T, ...)`` sequence symmetrically to at least ``length`` frames.

    Args:
        keypoints: ``(T, ...)`` sequence, ``T >= 1``.
        length: minimum number of frames (e.g. a lifter's receptive field).

    Returns:
        ``(padded (max(T, length), ...), slice)``; ``padded[slice]`` is the original sequence.
    """
    array = np.asarray(keypoints)
    if array.ndim < 1 or array.shape[0] < 1:
        raise ValueError(f"keypoints must have at least one frame, got shape {array.shape}")
    missing = max(0, int(length) - array.shape[0])
    left = missing // 2
    right = missing - left
    padding = [(left, right)] + [(0, 0)] * (array.ndim - 1)
    return np.pad(array, padding, mode="edge"), slice(left, left + array.shape[0])


@dataclass(frozen=True, eq=False)
class Track2D:
    """One person's 2D keypoints over consecutive frames, gaps filled (see the module docstring).

    Attributes:
        track_id: the track's id (``track_id`` of the results; 0 for single arrays).
        source: the video file name or array file the track comes from.
        frames: ``(T,)`` int frame indices, consecutive.
        keypoints: ``(T, K, 2)`` float32 pixels in the ``skeleton`` order, no NaN.
        scores: ``(T, K)`` float32 confidences (0 where filled).
        interpolated: ``(T, K)`` bool, true where a value was filled by interpolation.
        image_size: ``(w, h)`` of the video in pixels, for normalisation.
        skeleton: keypoint format name (``"h36m"``).
    """

    track_id: int
    source: str
    frames: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray
    interpolated: np.ndarray
    image_size: tuple[int, int]
    skeleton: str = "h36m"

    def __len__(self) -> int:
        return int(self.keypoints.shape[0])

    def normalized(self) -> np.ndarray:
        """``(T, K, 2)`` float32 keypoints in VideoPose3D's normalised screen coordinates."""
        width, height = self.image_size
        return np.asarray(normalize_screen_coordinates(self.keypoints, width, height), dtype=np.float32)


def _make_track(
    keypoints: np.ndarray,
    scores: np.ndarray,
    valid: np.ndarray,
    frames: np.ndarray,
    *,
    track_id: int,
    source: str,
    image_size: tuple[int, int],
    skeleton: str,
) -> Track2D:
    try:
        filled, interpolated = interpolate_missing(keypoints, valid)
    except ValueError as error:
        raise ValueError(f"{source} track {track_id}: {error}") from None
    return Track2D(
        track_id=track_id,
        source=source,
        frames=frames.astype(np.int64),
        keypoints=filled.astype(np.float32),
        scores=np.where(interpolated, 0.0, scores).astype(np.float32),
        interpolated=interpolated,
        image_size=image_size,
        skeleton=skeleton,
    )


def load_prediction_tracks(
    path: str | os.PathLike[str],
    image_size: tuple[int, int] | Mapping[str, tuple[int, int]],
    *,
    skeleton: str = "coco",
    target_skeleton: str = "h36m",
    min_score: float = 0.0,
    min_frames: int = 1,
) -> list[Track2D]:
    """Tracks from a ``posekit predict`` ``predictions.json`` of videos.

    Args:
        path: the results file (a JSON list of ``{keypoints, frame, track_id, file_name, ...}``).
        image_size: ``(w, h)`` of the videos, or ``{file_name: (w, h)}`` per video (the results
            do not record it).
        skeleton: the keypoint format of the results (``--skeleton`` of ``posekit predict``).
        target_skeleton: the format of the tracks (the lifter's input, ``h36m``).
        min_score: keypoints with a score at or below this count as missing.
        min_frames: leave out tracks spanning fewer frames.

    Returns:
        Tracks sorted by (file name, track id), each spanning its first to last frame.

    Raises:
        ValueError: not a list of video results (entries without ``frame``), keypoints of the
            wrong length, a keypoint never valid in a track, or no image size for a video.
    """
    file_path = Path(path)
    entries = load_json(file_path, "predictions")
    if not isinstance(entries, list):
        raise ValueError(f"{file_path}: expected a JSON list of keypoint results, got {type(entries).__name__}")
    source_skeleton = get_skeleton(skeleton)
    num_keypoints = source_skeleton.num_keypoints
    groups: dict[tuple[str, int], dict[int, np.ndarray]] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or "keypoints" not in entry:
            raise ValueError(f"{file_path}: entry {index} has no 'keypoints'")
        if "frame" not in entry:
            raise ValueError(
                f"{file_path}: entry {index} has no 'frame'; lifting needs video results (posekit predict on a video)"
            )
        flat = np.asarray(entry["keypoints"], dtype=np.float64)
        if flat.shape != (num_keypoints * 3,):
            raise ValueError(
                f"{file_path}: entry {index} has {flat.size} keypoint values, expected {num_keypoints * 3} "
                f"(x, y, score for the {num_keypoints} {source_skeleton.name} keypoints)"
            )
        key = (str(entry.get("file_name", "")), int(entry.get("track_id", 0)))
        frame = int(entry["frame"])
        frames = groups.setdefault(key, {})
        # Two detections of one track in one frame: keep the higher-scoring one.
        if frame not in frames or float(entry.get("score", 0.0)) > float(frames[frame][-1]):
            frames[frame] = np.append(flat, float(entry.get("score", 0.0)))
    tracks = []
    for (file_name, track_id), frames in sorted(groups.items()):
        first, last = min(frames), max(frames)
        if last - first + 1 < min_frames:
            continue
        if isinstance(image_size, Mapping):
            if file_name not in image_size:
                raise ValueError(f"{file_path}: no image size given for video {file_name!r}")
            size = check_image_size(image_size[file_name])
        else:
            size = check_image_size(image_size)
        frame_indices = np.arange(first, last + 1)
        raw = np.full((len(frame_indices), num_keypoints, 3), np.nan)
        for frame, values in frames.items():
            raw[frame - first] = values[:-1].reshape(num_keypoints, 3)  # (K*3,) -> (K, 3)
        present = np.isfinite(raw).all(axis=-1) & (np.nan_to_num(raw[..., 2], nan=0.0) > min_score)
        scores = np.where(present, np.nan_to_num(raw[..., 2], nan=0.0), 0.0)
        converted, converted_scores, converted_valid = convert_keypoints_and_scores(
            np.nan_to_num(raw[..., :2], nan=0.0), scores, source_skeleton, target_skeleton
        )
        tracks.append(
            _make_track(
                converted,
                converted_scores,
                converted_valid,
                frame_indices,
                track_id=track_id,
                source=file_name or str(file_path),
                image_size=size,
                skeleton=get_skeleton(target_skeleton).name,
            )
        )
    return tracks


def load_keypoints_npz(
    path: str | os.PathLike[str],
    image_size: tuple[int, int],
    *,
    key: str | None = None,
    skeleton: str = "h36m",
    target_skeleton: str = "h36m",
    min_score: float = 0.0,
) -> Track2D:
    """One track from an ``.npz`` array ``(T, K, 2)`` or ``(T, K, 3)`` (x, y, score) in pixels.

    Args:
        path: the ``.npz`` file (numeric arrays; pickled arrays are read safely, see
            :mod:`posekit.io.safe_pickle`).
        image_size: ``(w, h)`` of the video.
        key: the array's name; by default ``keypoints``, else the only array in the file.
        skeleton: the keypoint format of the array.
        target_skeleton: the format of the track.
        min_score: with scores (a third channel or a ``scores`` array ``(T, K)``), keypoints
            scoring at or below this count as missing. NaN entries are always missing.

    Raises:
        ValueError: no suitable array, wrong shape, or a keypoint never valid.
    """
    contents = load_npz_objects(path)
    name = key or ("keypoints" if "keypoints" in contents else None)
    if name is None:
        arrays = [item for item in contents if item != "scores"]
        if len(arrays) != 1:
            raise ValueError(
                f"{os.fspath(path)}: name the keypoint array with key=..., the file holds {sorted(contents)}"
            )
        name = arrays[0]
    if name not in contents:
        raise ValueError(f"{os.fspath(path)}: no array {name!r}; it holds {sorted(contents)}")
    array = np.asarray(contents[name], dtype=np.float64)
    source_skeleton = get_skeleton(skeleton)
    if array.ndim != 3 or array.shape[1] != source_skeleton.num_keypoints or array.shape[2] not in (2, 3):
        raise ValueError(
            f"{os.fspath(path)}: {name} must have shape (T, {source_skeleton.num_keypoints}, 2) or "
            f"(T, {source_skeleton.num_keypoints}, 3), got {array.shape}"
        )
    if array.shape[2] == 3:
        scores = array[..., 2]
    elif "scores" in contents:
        scores = np.asarray(contents["scores"], dtype=np.float64)
        if scores.shape != array.shape[:2]:
            raise ValueError(f"{os.fspath(path)}: scores must have shape {array.shape[:2]}, got {scores.shape}")
    else:
        scores = np.ones(array.shape[:2])
    present = np.isfinite(array[..., :2]).all(axis=-1) & np.isfinite(scores)
    if array.shape[2] == 3 or "scores" in contents:
        present &= np.nan_to_num(scores, nan=0.0) > min_score
    scores = np.where(present, np.nan_to_num(scores, nan=0.0), 0.0)
    converted, converted_scores, converted_valid = convert_keypoints_and_scores(
        np.nan_to_num(array[..., :2], nan=0.0), scores, source_skeleton, target_skeleton
    )
    return _make_track(
        converted,
        converted_scores,
        converted_valid,
        np.arange(array.shape[0]),
        track_id=0,
        source=os.fspath(path),
        image_size=check_image_size(image_size),
        skeleton=get_skeleton(target_skeleton).name,
    )
