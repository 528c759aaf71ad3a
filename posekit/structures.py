"""Typed containers for poses that cross module boundaries: :class:`PoseInstances`, :class:`PoseSequence`.

Legend: ``N`` instances, ``T`` time steps, ``K`` keypoints, ``D`` coordinate dimensions (2 or 3).
Keypoints are float32 image pixels (centre of the top-left pixel at ``(0, 0)``) for 2D, metres in
camera space for 3D; a missing joint has score 0 (keypoint values must stay finite). Boxes are
``xyxy`` pixels inside the containers and ``xywh`` in COCO files.

Every per-row field shares the leading dimension, so indexing, masking and concatenation act on all
of them together. Their ``.npz`` files are written and read by :mod:`posekit.io.poses`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from posekit.skeletons import Skeleton, convert_keypoints_and_scores, get_skeleton

__all__ = ["PoseInstances", "PoseSequence"]

IndexLike = int | np.integer | slice | Sequence[int] | Sequence[bool] | np.ndarray


# ------------------------------------------------------------------------------------------ helpers
def _as_array(value: Any, dtype: type, name: str, shape: tuple[int | None, ...], expected: str) -> np.ndarray:
    """Convert ``value`` to ``dtype`` and check its shape against ``shape`` (``None`` = any size)."""
    try:
        array: np.ndarray = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a numeric array of shape {expected}: {error}") from None
    if array.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, array.shape, strict=False)):
        raise ValueError(f"{name} must have shape {expected}, got {tuple(array.shape)}")
    return array


def _check_finite(array: np.ndarray, name: str) -> None:
    if not np.isfinite(array).all():
        bad = np.argwhere(~np.isfinite(array))[0].tolist()
        raise ValueError(f"{name} contain NaN or inf (first at index {bad}); mark missing joints with score 0 instead")


def _row_index(index: IndexLike, length: int, what: str) -> np.ndarray:
    """Turn an int / slice / bool mask / int array into an int array of row positions."""
    if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
        position = int(index)
        if not -length <= position < length:
            raise IndexError(f"index {position} out of range for {what} of length {length}")
        return np.array([position % length], dtype=np.int64)
    if isinstance(index, slice):
        return np.arange(length, dtype=np.int64)[index]
    array = np.asarray(index)
    if array.dtype == bool:
        if array.shape != (length,):
            raise ValueError(f"boolean mask must have shape ({length},), got {tuple(array.shape)}")
        return np.flatnonzero(array).astype(np.int64)
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{what} index must be an int, slice, 1D bool mask or 1D int array, got {array!r}")
    if ((array < -length) | (array >= length)).any():
        raise IndexError(f"indices {array.tolist()} out of range for {what} of length {length}")
    return np.where(array < 0, array + length, array).astype(np.int64)


def _take(array: np.ndarray | None, rows: np.ndarray) -> np.ndarray | None:
    return None if array is None else array[rows]


def _cat_optional(arrays: list[np.ndarray | None], name: str) -> np.ndarray | None:
    present = [a is not None for a in arrays]
    if not any(present):
        return None
    if not all(present):
        raise ValueError(f"cannot concatenate: {name} is set on some items and None on others")
    return np.concatenate([a for a in arrays if a is not None], axis=0)


def _skeleton_name(skeleton: str | Skeleton) -> str:
    return get_skeleton(skeleton).name


# -------------------------------------------------------------------------------------- instances
@dataclass(frozen=True, eq=False, kw_only=True)
class PoseInstances:
    """The people found in one image.

    Attributes:
        keypoints: ``(N, K, D)`` float32, ``D`` in {2, 3}; pixels for 2D.
        scores: ``(N, K)`` float32 per-keypoint confidences (0 = missing).
        skeleton: keypoint format name (any alias or a :class:`Skeleton` is accepted and stored
            as the registered name).
        boxes: ``(N, 4)`` float32 ``xyxy`` pixels, or ``None``.
        instance_scores: ``(N,)`` float32 detection/pose scores, or ``None``.
        track_ids: ``(N,)`` int64 track identities, or ``None``.
        landmarks: ``(N, L, 5)`` float32, the estimator's own full landmark set, independent of
            ``skeleton`` (BlazePose: its 33 landmarks in MediaPipe order, each ``x, y`` image pixels,
            ``z`` (depth relative to the hips, pixel scale of x), visibility, presence), or ``None``.
            Unlike ``keypoints`` they may be NaN (a landmark the model could not place).
        world_landmarks: ``(N, L, 3)`` float32 metres (BlazePose: hip-centred world landmarks), or
            ``None``; set together with ``landmarks``.

    ``landmarks`` and ``world_landmarks`` are kept only when asked for (e.g.
    ``BlazePoseEstimator(keep_landmarks=True)``); :meth:`convert` carries them unchanged, and
    selection and concatenation treat them like every other per-row field.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    skeleton: str
    boxes: np.ndarray | None = None
    instance_scores: np.ndarray | None = None
    track_ids: np.ndarray | None = None
    landmarks: np.ndarray | None = None
    world_landmarks: np.ndarray | None = None

    def __post_init__(self) -> None:
        skeleton = get_skeleton(self.skeleton)
        num = skeleton.num_keypoints
        keypoints = _as_array(self.keypoints, np.float32, "keypoints", (None, None, None), f"(N, {num}, 2|3)")
        if keypoints.shape[1:] not in ((num, 2), (num, 3)):
            raise ValueError(
                f"keypoints must have shape (N, {num}, 2) or (N, {num}, 3) for skeleton {skeleton.name!r}, "
                f"got {tuple(keypoints.shape)}"
            )
        _check_finite(keypoints, "keypoints")
        count = keypoints.shape[0]
        set_field = object.__setattr__
        set_field(self, "skeleton", skeleton.name)
        set_field(self, "keypoints", keypoints)
        set_field(self, "scores", _as_array(self.scores, np.float32, "scores", (count, num), f"({count}, {num})"))
        if self.boxes is not None:
            boxes = _as_array(self.boxes, np.float32, "boxes", (count, 4), f"({count}, 4) xyxy")
            set_field(self, "boxes", boxes)
        if self.instance_scores is not None:
            values = _as_array(self.instance_scores, np.float32, "instance_scores", (count,), f"({count},)")
            set_field(self, "instance_scores", values)
        if self.track_ids is not None:
            set_field(self, "track_ids", _as_array(self.track_ids, np.int64, "track_ids", (count,), f"({count},)"))
        if (self.landmarks is None) != (self.world_landmarks is None):
            raise ValueError("landmarks and world_landmarks must be set together (or both be None)")
        if self.landmarks is not None and self.world_landmarks is not None:
            landmarks = _as_array(self.landmarks, np.float32, "landmarks", (count, None, 5), f"({count}, L, 5)")
            num_landmarks = landmarks.shape[1]
            world = _as_array(
                self.world_landmarks,
                np.float32,
                "world_landmarks",
                (count, num_landmarks, 3),
                f"({count}, {num_landmarks}, 3)",
            )
            set_field(self, "landmarks", landmarks)
            set_field(self, "world_landmarks", world)

    # ----------------------------------------------------------------- basic protocol
    def __len__(self) -> int:
        return int(self.keypoints.shape[0])

    @property
    def num_keypoints(self) -> int:
        """Number of keypoints ``K``."""
        return int(self.keypoints.shape[1])

    @property
    def dims(self) -> int:
        """Coordinate dimensions ``D`` (2 or 3)."""
        return int(self.keypoints.shape[2])

    @property
    def skeleton_definition(self) -> Skeleton:
        """The :class:`Skeleton` named by ``skeleton``."""
        return get_skeleton(self.skeleton)

    def __getitem__(self, index: IndexLike) -> PoseInstances:
        """Select instances: an int gives a length-1 set; also slices, bool masks ``(N,)`` and int arrays."""
        rows = _row_index(index, len(self), "PoseInstances")
        return PoseInstances(
            keypoints=self.keypoints[rows],
            scores=self.scores[rows],
            skeleton=self.skeleton,
            boxes=_take(self.boxes, rows),
            instance_scores=_take(self.instance_scores, rows),
            track_ids=_take(self.track_ids, rows),
            landmarks=_take(self.landmarks, rows),
            world_landmarks=_take(self.world_landmarks, rows),
        )

    def __repr__(self) -> str:
        optional = [f.name for f in fields(self) if f.name not in ("keypoints", "scores", "skeleton")]
        present = [name for name in optional if getattr(self, name) is not None]
        return f"PoseInstances(n={len(self)}, skeleton={self.skeleton!r}, dims={self.dims}, fields={present})"

    @classmethod
    def empty(cls, skeleton: str | Skeleton, dims: int = 2) -> PoseInstances:
        """A set with zero instances of ``skeleton`` (``dims`` coordinates per keypoint)."""
        num = get_skeleton(skeleton).num_keypoints
        return cls(
            keypoints=np.zeros((0, num, dims), dtype=np.float32),
            scores=np.zeros((0, num), dtype=np.float32),
            skeleton=_skeleton_name(skeleton),
        )

    @classmethod
    def cat(cls, items: Sequence[PoseInstances], skeleton: str | Skeleton | None = None) -> PoseInstances:
        """Concatenate instance sets of one skeleton and one ``D``.

        Args:
            items: the sets; optional fields must be set on all of them or on none.
            skeleton: needed only when ``items`` is empty.
        """
        if len(items) == 0:
            if skeleton is None:
                raise ValueError("cannot concatenate an empty list of PoseInstances without a skeleton")
            return cls.empty(skeleton)
        names = {item.skeleton for item in items}
        if len(names) != 1:
            raise ValueError(f"cannot concatenate PoseInstances of different skeletons: {sorted(names)}")
        dims = {item.dims for item in items}
        if len(dims) != 1:
            raise ValueError(f"cannot concatenate PoseInstances with different keypoint dims: {sorted(dims)}")
        return cls(
            keypoints=np.concatenate([item.keypoints for item in items], axis=0),
            scores=np.concatenate([item.scores for item in items], axis=0),
            skeleton=items[0].skeleton,
            boxes=_cat_optional([item.boxes for item in items], "boxes"),
            instance_scores=_cat_optional([item.instance_scores for item in items], "instance_scores"),
            track_ids=_cat_optional([item.track_ids for item in items], "track_ids"),
            landmarks=_cat_optional([item.landmarks for item in items], "landmarks"),
            world_landmarks=_cat_optional([item.world_landmarks for item in items], "world_landmarks"),
        )

    # ----------------------------------------------------------------- conversion
    def convert(self, skeleton: str | Skeleton) -> PoseInstances:
        """Convert to another keypoint format by joint name (:func:`posekit.skeletons.convert_keypoints`).

        Derived joints get the minimum score of their sources; joints that cannot be derived (or
        whose sources are missing) get score 0 and keypoint 0.
        """
        keypoints, scores, _ = convert_keypoints_and_scores(self.keypoints, self.scores, self.skeleton, skeleton)
        return PoseInstances(
            keypoints=keypoints,
            scores=scores,
            skeleton=_skeleton_name(skeleton),
            boxes=self.boxes,
            instance_scores=self.instance_scores,
            track_ids=self.track_ids,
            landmarks=self.landmarks,
            world_landmarks=self.world_landmarks,
        )

    def to_coco_results(
        self, image_id: int | str, category_id: int = 1, extra: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Entries in COCO keypoint results format, one per instance.

        Each entry has ``image_id``, ``category_id``, ``keypoints`` (flat ``[x, y, score, ...]`` with
        the first two coordinates), ``score`` (the instance score, or the mean keypoint score when
        ``instance_scores`` is None), ``bbox`` (``[x, y, w, h]``, only when boxes are set),
        ``track_id`` (only when track ids are set) and the items of ``extra`` (e.g. ``file_name``,
        ``frame``).
        """
        results = []
        for row in range(len(self)):
            flat = np.concatenate([self.keypoints[row, :, :2], self.scores[row, :, None]], axis=1)  # (K, 3)
            entry: dict[str, Any] = {
                "image_id": image_id,
                "category_id": int(category_id),
                "keypoints": [float(v) for v in flat.reshape(-1)],  # (K, 3) -> (K*3,)
                "score": float(
                    self.instance_scores[row] if self.instance_scores is not None else self.scores[row].mean()
                ),
            }
            if self.boxes is not None:
                x1, y1, x2, y2 = (float(v) for v in self.boxes[row])
                entry["bbox"] = [x1, y1, x2 - x1, y2 - y1]
            if self.track_ids is not None:
                entry["track_id"] = int(self.track_ids[row])
            if extra:
                entry.update(extra)
            results.append(entry)
        return results

    @classmethod
    def from_coco(cls, annotations: Sequence[Mapping[str, Any]], skeleton: str | Skeleton) -> PoseInstances:
        """Read COCO ground-truth annotations or results entries.

        ``keypoints`` is flat ``[x, y, v, ...]``; ``v`` becomes the score as is (ground-truth
        visibility 0/1/2 or a predicted confidence). ``bbox`` (``xywh``), ``score`` and ``track_id``
        fill boxes, instance scores and track ids when every entry has them.
        """
        name = _skeleton_name(skeleton)
        if len(annotations) == 0:
            return cls.empty(name)
        num = get_skeleton(name).num_keypoints
        rows = []
        for position, annotation in enumerate(annotations):
            values = np.asarray(annotation.get("keypoints", ()), dtype=np.float32)
            if values.shape != (num * 3,):
                raise ValueError(
                    f"annotation {position}: 'keypoints' must be a flat list of {num * 3} values "
                    f"(x, y, v for {num} keypoints of {name!r}), got {values.size}"
                )
            rows.append(values.reshape(num, 3))  # (K*3,) -> (K, 3)
        stacked = np.stack(rows)  # (N, K, 3)

        def optional(key: str) -> list[Any] | None:
            present = [key in annotation for annotation in annotations]
            if not any(present):
                return None
            if not all(present):
                missing = present.index(False)
                raise ValueError(f"annotation {missing} has no {key!r} while others do")
            return [annotation[key] for annotation in annotations]

        boxes = optional("bbox")
        boxes_xyxy = None
        if boxes is not None:
            xywh = _as_array(boxes, np.float32, "bbox", (len(annotations), 4), "(N, 4) xywh")
            boxes_xyxy = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
        instance_scores = optional("score")
        track_ids = optional("track_id")
        return cls(
            keypoints=stacked[:, :, :2],
            scores=stacked[:, :, 2],
            skeleton=name,
            boxes=boxes_xyxy,
            instance_scores=None if instance_scores is None else np.asarray(instance_scores, dtype=np.float32),
            track_ids=None if track_ids is None else np.asarray(track_ids, dtype=np.int64),
        )


# --------------------------------------------------------------------------------------- sequence
@dataclass(frozen=True, eq=False, kw_only=True)
class PoseSequence:
    """One tracked person over time.

    Attributes:
        frames: ``(T,)`` int64 frame numbers, strictly increasing.
        keypoints: ``(T, K, D)`` float32 2D keypoints in pixels (``D`` = 2, or 3 when a third
            coordinate is carried).
        scores: ``(T, K)`` float32 confidences (0 = missing).
        skeleton: keypoint format of ``keypoints`` (stored as the registered name).
        track_id: the track identity.
        timestamps: ``(T,)`` float64 seconds, or ``None``.
        boxes: ``(T, 4)`` float32 ``xyxy`` pixels, or ``None``.
        keypoints_3d: ``(T, K3, 3)`` float32 metres (camera space, usually root-relative), or ``None``.
        skeleton_3d: keypoint format of ``keypoints_3d``; required when it is set.
        trajectory: ``(T, 3)`` float32 metres, root position in camera space, or ``None``.
    """

    frames: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray
    skeleton: str
    track_id: int = 0
    timestamps: np.ndarray | None = None
    boxes: np.ndarray | None = None
    keypoints_3d: np.ndarray | None = None
    skeleton_3d: str | None = None
    trajectory: np.ndarray | None = None

    def __post_init__(self) -> None:
        skeleton = get_skeleton(self.skeleton)
        num = skeleton.num_keypoints
        set_field = object.__setattr__
        frames = _as_array(self.frames, np.int64, "frames", (None,), "(T,)")
        length = frames.shape[0]
        if length > 1 and not (np.diff(frames) > 0).all():
            raise ValueError(f"frames must be strictly increasing, got {frames.tolist()[:20]}")
        keypoints = _as_array(self.keypoints, np.float32, "keypoints", (length, num, None), f"({length}, {num}, 2)")
        if keypoints.shape[2] not in (2, 3):
            raise ValueError(f"keypoints must have shape ({length}, {num}, 2) or (.., 3), got {keypoints.shape}")
        _check_finite(keypoints, "keypoints")
        set_field(self, "skeleton", skeleton.name)
        set_field(self, "frames", frames)
        set_field(self, "keypoints", keypoints)
        set_field(self, "scores", _as_array(self.scores, np.float32, "scores", (length, num), f"({length}, {num})"))
        set_field(self, "track_id", int(self.track_id))
        if self.timestamps is not None:
            values = _as_array(self.timestamps, np.float64, "timestamps", (length,), f"({length},)")
            set_field(self, "timestamps", values)
        if self.boxes is not None:
            set_field(self, "boxes", _as_array(self.boxes, np.float32, "boxes", (length, 4), f"({length}, 4) xyxy"))
        if self.keypoints_3d is not None:
            if self.skeleton_3d is None:
                raise ValueError("keypoints_3d needs skeleton_3d (the name of its keypoint format)")
            skeleton_3d = get_skeleton(self.skeleton_3d)
            num_3d = skeleton_3d.num_keypoints
            values = _as_array(
                self.keypoints_3d, np.float32, "keypoints_3d", (length, num_3d, 3), f"({length}, {num_3d}, 3)"
            )
            _check_finite(values, "keypoints_3d")
            set_field(self, "keypoints_3d", values)
            set_field(self, "skeleton_3d", skeleton_3d.name)
        elif self.skeleton_3d is not None:
            set_field(self, "skeleton_3d", _skeleton_name(self.skeleton_3d))
        if self.trajectory is not None:
            values = _as_array(self.trajectory, np.float32, "trajectory", (length, 3), f"({length}, 3)")
            _check_finite(values, "trajectory")
            set_field(self, "trajectory", values)

    def __len__(self) -> int:
        return int(self.frames.shape[0])

    @property
    def num_keypoints(self) -> int:
        """Number of 2D keypoints ``K``."""
        return int(self.keypoints.shape[1])

    def __repr__(self) -> str:
        span = f"{int(self.frames[0])}..{int(self.frames[-1])}" if len(self) else "empty"
        return (
            f"PoseSequence(track_id={self.track_id}, t={len(self)}, frames={span}, skeleton={self.skeleton!r}, "
            f"skeleton_3d={self.skeleton_3d!r})"
        )

    def _replace_rows(self, rows: np.ndarray) -> PoseSequence:
        return PoseSequence(
            frames=self.frames[rows],
            keypoints=self.keypoints[rows],
            scores=self.scores[rows],
            skeleton=self.skeleton,
            track_id=self.track_id,
            timestamps=_take(self.timestamps, rows),
            boxes=_take(self.boxes, rows),
            keypoints_3d=_take(self.keypoints_3d, rows),
            skeleton_3d=self.skeleton_3d,
            trajectory=_take(self.trajectory, rows),
        )

    def __getitem__(self, index: IndexLike) -> PoseSequence:
        """Select time steps by position: int (length-1 sequence), slice, bool mask ``(T,)`` or increasing ints."""
        return self._replace_rows(_row_index(index, len(self), "PoseSequence"))

    def between_frames(self, start: int, stop: int) -> PoseSequence:
        """The time steps with ``start <= frame < stop`` (frame numbers, not positions)."""
        return self._replace_rows(np.flatnonzero((self.frames >= start) & (self.frames < stop)))

    @classmethod
    def cat(cls, items: Sequence[PoseSequence]) -> PoseSequence:
        """Join pieces of one track; the result is sorted by frame and frames must not repeat."""
        if len(items) == 0:
            raise ValueError("cannot concatenate an empty list of PoseSequence")
        for attribute in ("skeleton", "skeleton_3d", "track_id"):
            values = {getattr(item, attribute) for item in items}
            if len(values) != 1:
                raise ValueError(
                    f"cannot concatenate PoseSequence with different {attribute}: {sorted(map(str, values))}"
                )
        frames = np.concatenate([item.frames for item in items])
        order = np.argsort(frames, kind="stable")
        if len(np.unique(frames)) != len(frames):
            raise ValueError("cannot concatenate PoseSequence pieces whose frames overlap")

        def joined(name: str) -> np.ndarray | None:
            array = _cat_optional([getattr(item, name) for item in items], name)
            return None if array is None else array[order]

        return cls(
            frames=frames[order],
            keypoints=np.concatenate([item.keypoints for item in items])[order],
            scores=np.concatenate([item.scores for item in items])[order],
            skeleton=items[0].skeleton,
            track_id=items[0].track_id,
            timestamps=joined("timestamps"),
            boxes=joined("boxes"),
            keypoints_3d=joined("keypoints_3d"),
            skeleton_3d=items[0].skeleton_3d,
            trajectory=joined("trajectory"),
        )

    @classmethod
    def from_instances(
        cls,
        items: Sequence[tuple[int, PoseInstances]],
        track_id: int | None = None,
        timestamps: Sequence[float] | np.ndarray | None = None,
    ) -> PoseSequence:
        """Build a track from ``(frame, instances)`` pairs, each ``instances`` holding exactly one row.

        Args:
            items: ``(frame, PoseInstances of length 1)`` pairs, in any order (sorted by frame).
            track_id: the identity; defaults to the instances' common ``track_ids`` value, else 0.
            timestamps: optional ``(T,)`` seconds, in the order of ``items``.
        """
        if len(items) == 0:
            raise ValueError("from_instances needs at least one (frame, PoseInstances) pair")
        for position, (_, instances) in enumerate(items):
            if len(instances) != 1:
                raise ValueError(f"item {position}: expected PoseInstances with one row, got {len(instances)}")
        merged = PoseInstances.cat([instances for _, instances in items])
        frames = np.asarray([frame for frame, _ in items], dtype=np.int64)
        if track_id is None:
            if merged.track_ids is not None and len(set(merged.track_ids.tolist())) == 1:
                track_id = int(merged.track_ids[0])
            elif merged.track_ids is not None:
                raise ValueError(f"instances carry different track_ids {sorted(set(merged.track_ids.tolist()))}")
            else:
                track_id = 0
        order = np.argsort(frames, kind="stable")
        if len(np.unique(frames)) != len(frames):
            raise ValueError("from_instances got the same frame more than once")
        times = None if timestamps is None else _as_array(timestamps, np.float64, "timestamps", (len(items),), "(T,)")
        return cls(
            frames=frames[order],
            keypoints=merged.keypoints[order],
            scores=merged.scores[order],
            skeleton=merged.skeleton,
            track_id=track_id,
            timestamps=None if times is None else times[order],
            boxes=_take(merged.boxes, order),
        )

    def to_instances(self) -> list[tuple[int, PoseInstances]]:
        """The inverse of :meth:`from_instances`: one ``(frame, PoseInstances)`` pair per time step."""
        return [
            (
                int(self.frames[t]),
                PoseInstances(
                    keypoints=self.keypoints[t : t + 1],
                    scores=self.scores[t : t + 1],
                    skeleton=self.skeleton,
                    boxes=None if self.boxes is None else self.boxes[t : t + 1],
                    track_ids=np.array([self.track_id], dtype=np.int64),
                ),
            )
            for t in range(len(self))
        ]
