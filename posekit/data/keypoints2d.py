"""Top-down 2D keypoint datasets: one person per sample, from COCO-format files or MPII's JSON.

Legend: ``N`` people (samples), ``K`` keypoints. Keypoints are image pixels with the centre of the
top-left pixel at ``(0, 0)``; sizes are ``(w, h)``; boxes ``xyxy``; crop ``scale`` is the region
size in pixels (HRNet's ``scale * 200``).

Readers (each returns a :class:`PersonRecords`, one row per person):

* :func:`load_coco_keypoints` reads any COCO-format keypoint file: COCO-17, CrowdPose-14
  (``test_crowdpose.json`` style, no ``area``), OCHuman, posekit's synthetic set. Ground-truth boxes
  are cleaned and turned into crops as HRNet's ``COCODataset`` does (``lib/dataset/coco.py``:
  boxes clipped to the image, people without any labelled keypoint and crowd regions skipped,
  centre/scale from the box with the input aspect ratio and 1.25 padding). With a detections file
  (COCO results: ``image_id``, ``bbox`` xywh, ``score``; read by
  :func:`posekit.io.coco.load_coco_detections` as HRNet's ``_load_coco_person_detection_results``)
  the samples are the detected boxes of person category with ``score >= box_score_threshold`` and
  carry no keypoints.
* :func:`load_mpii` reads the MPII JSON of HRNet / MMPose (``image``, ``center``, ``scale`` in 200 px
  units, ``joints (16, 2)``, ``joints_vis``) with HRNet's adjustments (``center_y += 15 * scale``,
  ``scale *= 1.25``, 1-based MATLAB pixels -> 0-based). Head boxes for PCKh are not in that file:
  they come from the official ``gt_valid.mat`` (``headboxes_src``, as HRNet's
  ``MPIIDataset.evaluate``) or an ``.npz``/``.npy`` array, through
  :func:`posekit.data.mpii.load_head_boxes`. (The
  MMPose sample ``test_mpii_trb.json`` beside ``test_mpii.json`` in the shared data holds MPII-TRB
  contour keypoints, not head boxes.)

:class:`TopDownDataset` serves the records through a transform
(:class:`posekit.data.transforms.TopDownTransform`). Images that are missing when the dataset is
built are an error by default (``missing_images="error"``, the evaluation setting); training
configs may use ``"skip"``, which drops those people with one warning that gives the count (kept
in :attr:`TopDownDataset.skipped`). An image that exists but cannot be decoded always raises an
error naming the file: a corrupt file is worth stopping for.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch.utils.data import Dataset

from posekit.data.mpii import load_head_boxes
from posekit.geometry import box_xyxy_to_cs, fix_aspect_ratio
from posekit.io.coco import load_coco_detections
from posekit.io.images import read_image
from posekit.io.json import load_json
from posekit.skeletons import Skeleton, get_skeleton

__all__ = [
    "PersonRecords",
    "TopDownDataset",
    "load_coco_keypoints",
    "load_mpii",
]

# HRNet's crop padding around ground-truth and detected boxes (``_box2cs``: ``scale * 1.25``).
BOX_PADDING = 1.25
# HRNet's MPII crop padding (``s = s * 1.25``) and the downward centre shift in 200-px units.
MPII_PADDING = 1.25
MPII_CENTER_SHIFT = 15.0
PIXEL_STD = 200.0


@dataclass(frozen=True)
class PersonRecords:
    """One row per person sample; every array shares the leading dimension ``N``.

    Attributes:
        image_files: ``N`` image paths.
        image_ids: ``(N,)`` int64 image ids (COCO ``image_id``; MPII: the file name's digits).
        annotation_ids: ``(N,)`` int64 annotation ids (``-1`` for detections).
        centers: ``(N, 2)`` float64 crop centres ``(x, y)`` in pixels.
        scales: ``(N, 2)`` float64 crop sizes ``(w, h)`` in pixels, with the input aspect ratio and
            the padding applied.
        keypoints: ``(N, K, 2)`` float32 ground truth in pixels (zeros for detections).
        visible: ``(N, K)`` float32, 1 for labelled keypoints (COCO ``v > 0``, MPII ``joints_vis``), else 0.
        boxes: ``(N, 4)`` float64 person boxes ``xyxy`` (cleaned ground truth or detection).
        box_scores: ``(N,)`` float64 box scores (1 for ground-truth boxes).
        areas: ``(N,)`` float64 annotation areas (COCO ``area``, else box area).
        skeleton: name of the keypoint format.
        source: the annotation file.
        head_boxes: ``(N, 4)`` float64 head boxes ``xyxy`` for PCKh, or ``None``.
        image_sizes: ``(N, 2)`` int64 image ``(w, h)`` (0 when the file does not say).
    """

    image_files: tuple[str, ...]
    image_ids: np.ndarray
    annotation_ids: np.ndarray
    centers: np.ndarray
    scales: np.ndarray
    keypoints: np.ndarray
    visible: np.ndarray
    boxes: np.ndarray
    box_scores: np.ndarray
    areas: np.ndarray
    skeleton: str
    source: str
    head_boxes: np.ndarray | None = None
    image_sizes: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))

    def __post_init__(self) -> None:
        count = len(self.image_files)
        if self.image_sizes.shape == (0, 2) and count:
            object.__setattr__(self, "image_sizes", np.zeros((count, 2), dtype=np.int64))
        shapes = {
            "image_ids": (self.image_ids, (count,)),
            "annotation_ids": (self.annotation_ids, (count,)),
            "centers": (self.centers, (count, 2)),
            "scales": (self.scales, (count, 2)),
            "boxes": (self.boxes, (count, 4)),
            "box_scores": (self.box_scores, (count,)),
            "areas": (self.areas, (count,)),
            "image_sizes": (self.image_sizes, (count, 2)),
        }
        if self.head_boxes is not None:
            shapes["head_boxes"] = (self.head_boxes, (count, 4))
        for name, (array, shape) in shapes.items():
            if array.shape != shape:
                raise ValueError(f"PersonRecords.{name} must have shape {shape}, got {array.shape}")
        if self.keypoints.ndim != 3 or self.keypoints.shape[0] != count or self.keypoints.shape[2] != 2:
            raise ValueError(f"PersonRecords.keypoints must have shape ({count}, K, 2), got {self.keypoints.shape}")
        if self.visible.shape != self.keypoints.shape[:2]:
            raise ValueError(
                f"PersonRecords.visible must have shape {self.keypoints.shape[:2]}, got {self.visible.shape}"
            )

    def __len__(self) -> int:
        return len(self.image_files)

    @property
    def num_keypoints(self) -> int:
        """``K``."""
        return int(self.keypoints.shape[1])

    def select(self, indices: Sequence[int] | np.ndarray) -> PersonRecords:
        """The rows ``indices`` as new records (same skeleton and source)."""
        index = np.asarray(indices, dtype=np.int64)
        return PersonRecords(
            image_files=tuple(self.image_files[int(i)] for i in index),
            image_ids=self.image_ids[index],
            annotation_ids=self.annotation_ids[index],
            centers=self.centers[index],
            scales=self.scales[index],
            keypoints=self.keypoints[index],
            visible=self.visible[index],
            boxes=self.boxes[index],
            box_scores=self.box_scores[index],
            areas=self.areas[index],
            skeleton=self.skeleton,
            source=self.source,
            head_boxes=None if self.head_boxes is None else self.head_boxes[index],
            image_sizes=self.image_sizes[index],
        )

    def with_head_boxes(self, head_boxes: np.ndarray) -> PersonRecords:
        """These records with head boxes ``(N, 4)`` xyxy attached (for PCKh)."""
        boxes = np.asarray(head_boxes, dtype=np.float64)
        if boxes.shape != (len(self), 4):
            raise ValueError(f"head_boxes must have shape ({len(self)}, 4) as (x1, y1, x2, y2), got {boxes.shape}")
        return replace(self, head_boxes=boxes)


# ---------------------------------------------------------------------------------------------
# reading helpers
# ---------------------------------------------------------------------------------------------


def _require(entry: Any, fields: Sequence[str], file: str | os.PathLike[str], where: str) -> None:
    if not isinstance(entry, Mapping):
        raise ValueError(f"{file}: {where} must be a JSON object, got {type(entry).__name__}")
    for name in fields:
        if name not in entry:
            raise ValueError(f"{file}: {where} has no field {name!r}")


def _aspect_ratio(input_size: tuple[int, int] | None) -> float | None:
    if input_size is None:
        return None
    width, height = input_size
    if width <= 0 or height <= 0:
        raise ValueError(f"input_size must be (w, h) with positive sides, got {input_size}")
    return float(width) / float(height)


# ---------------------------------------------------------------------------------------------
# COCO format
# ---------------------------------------------------------------------------------------------


def _clean_box(box: Sequence[float], width: float, height: float) -> np.ndarray | None:
    """HRNet's box cleaning: clip the xywh box to the image; ``None`` when it is empty."""
    x, y, w, h = (float(value) for value in box)
    x1 = max(0.0, x)
    y1 = max(0.0, y)
    x2 = min(width - 1.0, x1 + max(0.0, w - 1.0))
    y2 = min(height - 1.0, y1 + max(0.0, h - 1.0))
    if x2 < x1 or y2 < y1:
        return None
    return np.array([x1, y1, x2, y2], dtype=np.float64)


def _missing_dataset_message(annotation_file: str | os.PathLike[str]) -> str:
    """What to do about a COCO-format annotation file that does not exist: which command makes one."""
    path = Path(annotation_file)
    message = f"annotation file {str(path)!r} does not exist"
    if path.parent.name == "annotations" and path.suffix == ".json":  # the layout `posekit synth` writes
        root = path.parent.parent
        return (
            f"{message}; render a synthetic dataset there with `posekit synth --out {root}` (COCO-format people "
            "from motion capture), or point the config's data paths at a downloaded COCO-format dataset"
        )
    return (
        f"{message}; point the config at a COCO-format dataset, or render a synthetic one with "
        "`posekit synth --out DIR` and use DIR/annotations/train.json and val.json"
    )


def load_coco_keypoints(
    annotation_file: str | os.PathLike[str],
    image_root: str | os.PathLike[str],
    skeleton: str | Skeleton = "coco",
    input_size: tuple[int, int] | None = None,
    padding: float = BOX_PADDING,
    detections: str | os.PathLike[str] | Sequence[Mapping[str, Any]] | None = None,
    box_score_threshold: float = 0.0,
    category_id: int = 1,
) -> PersonRecords:
    """Read a COCO-format keypoint file into top-down person samples.

    Args:
        annotation_file: COCO JSON with ``images`` (``id``, ``file_name``, ``width``, ``height``) and
            ``annotations`` (``image_id``, ``bbox`` xywh, ``keypoints`` of ``3 K`` values; optional
            ``category_id``, ``iscrowd``, ``area``, ``id``).
        image_root: folder the ``file_name`` entries are relative to.
        skeleton: keypoint format (``K`` must match the files).
        input_size: network input ``(w, h)``: crops get its aspect ratio (``None``: keep the box's).
        padding: crop size as a multiple of the box size (HRNet: 1.25).
        detections: a COCO results file or list (``image_id``, ``bbox`` xywh, ``score``, optional
            ``category_id``) whose boxes replace the ground-truth ones; ``None``: ground-truth boxes.
        box_score_threshold: detections scoring below this are dropped.
        category_id: the person category.

    Returns:
        :class:`PersonRecords`. With ground-truth boxes: one row per non-crowd person with at least
        one labelled keypoint and a non-empty box inside the image. With detections: one row per
        kept detection (keypoints and visibility zero).

    Raises:
        FileNotFoundError: the annotation (or detections) file does not exist (the message says
            which command makes a dataset: ``posekit synth``).
        ValueError: a missing field (naming the file and the field), a keypoint count that does
            not match the skeleton, or a detection on an image the file does not list.
    """
    format_ = get_skeleton(skeleton)
    num_keypoints = format_.num_keypoints
    aspect_ratio = _aspect_ratio(input_size)
    if not Path(annotation_file).exists():
        raise FileNotFoundError(_missing_dataset_message(annotation_file))
    data = load_json(annotation_file, "annotation")
    source = str(annotation_file)
    _require(data, ("images", "annotations"), source, "the top level")
    images: dict[int, Mapping[str, Any]] = {}
    for position, image in enumerate(data["images"]):
        _require(image, ("id", "file_name", "width", "height"), source, f"images[{position}]")
        images[int(image["id"])] = image
    root = Path(image_root)

    rows: dict[str, list[Any]] = {
        name: []
        for name in (
            "files",
            "image_ids",
            "annotation_ids",
            "keypoints",
            "visible",
            "boxes",
            "scores",
            "areas",
            "sizes",
        )
    }

    def add_row(
        image: Mapping[str, Any],
        annotation_id: int,
        keypoints: np.ndarray,
        visible: np.ndarray,
        box: np.ndarray,
        score: float,
        area: float,
    ) -> None:
        rows["files"].append(str(root / str(image["file_name"])))
        rows["image_ids"].append(int(image["id"]))
        rows["annotation_ids"].append(annotation_id)
        rows["keypoints"].append(keypoints)
        rows["visible"].append(visible)
        rows["boxes"].append(box)
        rows["scores"].append(score)
        rows["areas"].append(area)
        rows["sizes"].append((int(image["width"]), int(image["height"])))

    if detections is None:
        for position, annotation in enumerate(data["annotations"]):
            where = f"annotations[{position}]"
            _require(annotation, ("image_id", "bbox", "keypoints"), source, where)
            if int(annotation.get("category_id", category_id)) != category_id or annotation.get("iscrowd", 0):
                continue
            values = np.asarray(annotation["keypoints"], dtype=np.float64)
            if values.shape != (3 * num_keypoints,):
                raise ValueError(
                    f"{source}: {where} has {values.size} keypoint values; skeleton {format_.name!r} "
                    f"needs {3 * num_keypoints} (x, y, v for {num_keypoints} keypoints)"
                )
            if values.max(initial=0.0) <= 0:  # no labelled keypoint (HRNet: max(keypoints) == 0)
                continue
            image_id = int(annotation["image_id"])
            if image_id not in images:
                raise ValueError(f"{source}: {where} refers to image_id {image_id}, which 'images' does not list")
            image = images[image_id]
            box = _clean_box(annotation["bbox"], float(image["width"]), float(image["height"]))
            area = float(annotation.get("area", 0.0)) if "area" in annotation else None
            if box is None or (area is not None and area <= 0):
                continue
            if area is None:
                area = float((box[2] - box[0]) * (box[3] - box[1]))
            points = values.reshape(num_keypoints, 3)  # (3K,) -> (K, 3)
            add_row(
                image,
                int(annotation.get("id", position)),
                points[:, :2].astype(np.float32),
                (points[:, 2] > 0).astype(np.float32),
                box,
                1.0,
                area,
            )
    else:
        for entry in load_coco_detections(detections, category_id=category_id, box_score_threshold=box_score_threshold):
            image_id = int(entry["image_id"])
            if image_id not in images:
                raise ValueError(
                    f"detection on image_id {image_id}, which {source} does not list "
                    "(detections and annotations must come from the same split)"
                )
            x, y, w, h = (float(value) for value in entry["bbox"])
            add_row(
                images[image_id],
                -1,
                np.zeros((num_keypoints, 2), dtype=np.float32),
                np.zeros(num_keypoints, dtype=np.float32),
                np.array([x, y, x + w, y + h], dtype=np.float64),
                float(entry["score"]),
                w * h,
            )

    count = len(rows["files"])
    boxes = np.asarray(rows["boxes"], dtype=np.float64).reshape(count, 4)
    centers, scales = box_xyxy_to_cs(boxes, aspect_ratio=aspect_ratio, padding=padding)
    return PersonRecords(
        image_files=tuple(rows["files"]),
        image_ids=np.asarray(rows["image_ids"], dtype=np.int64).reshape(count),
        annotation_ids=np.asarray(rows["annotation_ids"], dtype=np.int64).reshape(count),
        centers=np.asarray(centers, dtype=np.float64),
        scales=np.asarray(scales, dtype=np.float64),
        keypoints=np.asarray(rows["keypoints"], dtype=np.float32).reshape(count, num_keypoints, 2),
        visible=np.asarray(rows["visible"], dtype=np.float32).reshape(count, num_keypoints),
        boxes=boxes,
        box_scores=np.asarray(rows["scores"], dtype=np.float64).reshape(count),
        areas=np.asarray(rows["areas"], dtype=np.float64).reshape(count),
        skeleton=format_.name,
        source=source,
        image_sizes=np.asarray(rows["sizes"], dtype=np.int64).reshape(count, 2),
    )


# ---------------------------------------------------------------------------------------------
# MPII
# ---------------------------------------------------------------------------------------------


def _digits_id(file_name: str, fallback: int) -> int:
    stem = Path(file_name).stem
    return int(stem) if stem.isdigit() else fallback


def load_mpii(
    annotation_file: str | os.PathLike[str],
    image_root: str | os.PathLike[str],
    input_size: tuple[int, int] | None = None,
    head_boxes: str | os.PathLike[str] | np.ndarray | None = None,
) -> PersonRecords:
    """Read MPII single-person annotations (HRNet / MMPose JSON) into top-down samples.

    Args:
        annotation_file: JSON list of ``{"image", "center", "scale", "joints", "joints_vis"}``
            (``scale`` in 200-pixel units of the person height, 1-based MATLAB pixel coordinates).
        image_root: folder of the ``image`` files.
        input_size: network input ``(w, h)``; the crop gets its aspect ratio (HRNet's MPII inputs are
            square, where this changes nothing).
        head_boxes: head boxes for PCKh in annotation order: see :func:`posekit.data.mpii.load_head_boxes`.

    Returns:
        :class:`PersonRecords` with skeleton ``"mpii"``, 0-based keypoints, crops as HRNet
        (``center_y + 15 * scale``, ``scale * 1.25``), boxes ``center -/+ scale / 2`` before the
        padding, and ``image_ids`` from the digits of the file names.
    """
    skeleton = get_skeleton("mpii")
    num_keypoints = skeleton.num_keypoints
    source = str(annotation_file)
    data = load_json(annotation_file, "MPII annotation")
    if not isinstance(data, list):
        raise ValueError(f"{source}: an MPII annotation file is a JSON list of people, got {type(data).__name__}")
    root = Path(image_root)
    files, image_ids, centers, scales, keypoints, visible = [], [], [], [], [], []
    for position, entry in enumerate(data):
        where = f"entry {position}"
        _require(entry, ("image", "center", "scale", "joints", "joints_vis"), source, where)
        joints = np.asarray(entry["joints"], dtype=np.float64)
        joints_vis = np.asarray(entry["joints_vis"], dtype=np.float64)
        if joints.shape != (num_keypoints, 2) or joints_vis.shape != (num_keypoints,):
            raise ValueError(
                f"{source}: {where} needs joints ({num_keypoints}, 2) and joints_vis ({num_keypoints},), "
                f"got {joints.shape} and {joints_vis.shape}"
            )
        center = np.asarray(entry["center"], dtype=np.float64)
        scale = float(entry["scale"])
        if center.shape != (2,) or not scale > 0:
            raise ValueError(
                f"{source}: {where} needs center [x, y] and a positive scale, got {entry['center']}, {scale}"
            )
        if center[0] != -1:
            center = center + np.array([0.0, MPII_CENTER_SHIFT * scale])
            scale = scale * MPII_PADDING
        files.append(str(root / str(entry["image"])))
        image_ids.append(_digits_id(str(entry["image"]), position))
        centers.append(center - 1.0)  # MATLAB 1-based -> 0-based
        scales.append(scale * PIXEL_STD)
        keypoints.append(joints - 1.0)
        visible.append((joints_vis > 0).astype(np.float32))
    count = len(files)
    center_array = np.asarray(centers, dtype=np.float64).reshape(count, 2)
    side = np.asarray(scales, dtype=np.float64).reshape(count)
    scale_array = np.stack([side, side], axis=-1)  # (N,) -> (N, 2) square regions
    aspect_ratio = _aspect_ratio(input_size)
    if aspect_ratio is not None:
        scale_array = fix_aspect_ratio(scale_array, aspect_ratio)
    unpadded = np.stack([side, side], axis=-1) / MPII_PADDING
    boxes = np.concatenate([center_array - unpadded / 2, center_array + unpadded / 2], axis=-1)
    records = PersonRecords(
        image_files=tuple(files),
        image_ids=np.asarray(image_ids, dtype=np.int64).reshape(count),
        annotation_ids=np.arange(count, dtype=np.int64),
        centers=center_array,
        scales=scale_array,
        keypoints=np.asarray(keypoints, dtype=np.float32).reshape(count, num_keypoints, 2),
        visible=np.asarray(visible, dtype=np.float32).reshape(count, num_keypoints),
        boxes=boxes,
        box_scores=np.ones(count, dtype=np.float64),
        areas=(unpadded[:, 0] * unpadded[:, 1]).astype(np.float64),
        skeleton=skeleton.name,
        source=source,
    )
    if head_boxes is not None:
        records = records.with_head_boxes(load_head_boxes(head_boxes, expected=count))
    return records


# ---------------------------------------------------------------------------------------------
# torch dataset
# ---------------------------------------------------------------------------------------------

SampleTransform = Callable[..., dict[str, Any]]


class TopDownDataset(Dataset[dict[str, Any]]):
    """A map-style dataset of person crops: reads the image of row ``i`` and applies ``transform``.

    The transform is called as ``transform(image, center=..., scale=..., keypoints=...,
    visible=..., rng=...)`` and returns a sample dict (see
    :class:`posekit.data.transforms.TopDownTransform`); the dataset adds ``index``, ``image_id``,
    ``box_score`` and ``area``. Random augmentation draws from a per-sample ``numpy`` generator
    seeded from torch's RNG, so that the :class:`posekit.engine.Trainer`'s seeding and exact resume
    cover it (with or without loader workers); a transform whose ``train`` attribute is false gets
    ``rng=None`` and consumes no random numbers.

    Args:
        records: the people.
        transform: the crop/augment/encode callable.
        missing_images: ``"error"`` (raise when an image file is missing) or ``"skip"`` (drop its
            people with one warning; the count is :attr:`skipped`).
    """

    def __init__(
        self,
        records: PersonRecords,
        transform: SampleTransform,
        missing_images: Literal["error", "skip"] = "error",
    ) -> None:
        if missing_images not in ("error", "skip"):
            raise ValueError(f"missing_images must be 'error' or 'skip', got {missing_images!r}")
        existing: dict[str, bool] = {}
        for file in set(records.image_files):
            existing[file] = Path(file).is_file()
        missing = sorted(file for file, present in existing.items() if not present)
        self.skipped = 0
        if missing:
            if missing_images == "error":
                more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
                raise FileNotFoundError(f"image not found: {missing[0]}{more}, listed in {records.source}")
            keep = [index for index, file in enumerate(records.image_files) if existing[file]]
            self.skipped = len(records) - len(keep)
            warnings.warn(
                f"{records.source}: skipped {self.skipped} people whose {len(missing)} images are missing "
                f"(first: {missing[0]})",
                stacklevel=2,
            )
            records = records.select(keep)
        self.records = records
        self.transform = transform

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict[str, Any]:
        records = self.records
        if not 0 <= index < len(records):
            raise IndexError(f"index {index} out of range for a dataset of {len(records)} people")
        image = read_image(records.image_files[index])
        rng = None
        if getattr(self.transform, "train", True):  # random augmentation: a generator seeded from torch
            rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, ()).item()))
        sample = self.transform(
            image,
            center=records.centers[index],
            scale=records.scales[index],
            keypoints=records.keypoints[index],
            visible=records.visible[index],
            rng=rng,
        )
        sample["index"] = index
        sample["image_id"] = int(records.image_ids[index])
        sample["box_score"] = float(records.box_scores[index])
        sample["area"] = float(records.areas[index])
        return sample
