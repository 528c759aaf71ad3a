"""COCO-format files that several layers read: detection results and the image listing.

* :func:`load_coco_detections` reads person detections in COCO results format
  (``[{"image_id", "category_id", "bbox": [x, y, w, h], "score"}, ...]``), as HRNet's
  ``_load_coco_person_detection_results`` does: the boxes of one category scoring at least a
  threshold. Used by :func:`posekit.data.keypoints2d.load_coco_keypoints` (top-down evaluation on detected
  boxes) and :class:`posekit.inference.box_file.BoxFileDetector` (``posekit predict --detections``).
* :func:`load_coco_image_ids` maps the ``file_name`` of every image of a COCO JSON to its ``id``.
* :func:`match_file_name` finds the entry of such a map for a path (longest trailing match), used by
  ``posekit predict --images-json`` / ``--detections`` and by ``posekit evaluate coco`` to match
  predictions to ground-truth images by file name.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from posekit.io.json import load_json

__all__ = ["load_coco_detections", "load_coco_image_ids", "match_file_name"]


def load_coco_detections(
    detections: str | os.PathLike[str] | Sequence[Mapping[str, Any]],
    category_id: int = 1,
    box_score_threshold: float = 0.0,
    default_score: float | None = None,
) -> list[Mapping[str, Any]]:
    """Read detections in COCO results format and keep the confident boxes of one category.

    Args:
        detections: a JSON file or the loaded list. The file holds a list of results, or a COCO
            JSON object whose ``annotations`` are used as the results. Each entry needs
            ``image_id`` and ``bbox`` (``[x, y, w, h]`` pixels), and ``score`` unless
            ``default_score`` is given; ``category_id`` is optional (default: ``category_id``).
        category_id: the category kept (1: person); entries of other categories are dropped.
        box_score_threshold: entries with ``score < box_score_threshold`` are dropped.
        default_score: score of entries without one; ``None`` makes a missing score an error.

    Returns:
        The kept entries, in file order; an entry that had no score is a copy with
        ``score = default_score``.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: not a list of results, an entry without a needed field or with a bbox that is
            not 4 numbers (naming the file and the entry).
    """
    if isinstance(detections, (str, os.PathLike)):
        source = str(detections)
        entries: Any = load_json(detections, "detections")
    else:
        source = "<detections>"
        entries = detections
    if isinstance(entries, Mapping) and "annotations" in entries:
        entries = entries["annotations"]
    if not isinstance(entries, list):
        raise ValueError(f"{source}: detections must be a JSON list of COCO results, got {type(entries).__name__}")
    kept: list[Mapping[str, Any]] = []
    for position, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or "image_id" not in entry or "bbox" not in entry:
            raise ValueError(f"{source}: entry {position} needs 'image_id' and 'bbox' (a COCO detection result)")
        if "score" not in entry:
            if default_score is None:
                raise ValueError(f"{source}: entry {position} has no field 'score'")
            entry = {**entry, "score": float(default_score)}
        if len(entry["bbox"]) != 4:
            raise ValueError(f"{source}: entry {position} bbox must be [x, y, w, h], got {entry['bbox']!r}")
        if int(entry.get("category_id", category_id)) != category_id:
            continue
        if float(entry["score"]) < box_score_threshold:
            continue
        kept.append(entry)
    return kept


def load_coco_image_ids(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``{file_name: image id}`` of the ``images`` of a COCO JSON (file names as POSIX paths).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not a COCO JSON with an ``images`` list of ``id`` and ``file_name``.
    """
    data = load_json(path, "images")
    listing = data.get("images") if isinstance(data, Mapping) else None
    if not isinstance(listing, list):
        raise ValueError(f"images file {os.fspath(path)} must be a COCO JSON with an 'images' list")
    ids: dict[str, Any] = {}
    for position, image in enumerate(listing):
        if not isinstance(image, Mapping) or "id" not in image or "file_name" not in image:
            raise ValueError(f"images file {os.fspath(path)}: images[{position}] needs 'id' and 'file_name'")
        ids[Path(str(image["file_name"])).as_posix()] = image["id"]
    return ids


def match_file_name(path: str | os.PathLike[str], ids_by_name: Mapping[str, Any]) -> Any:
    """The value for the longest trailing part of ``path`` that is a key of ``ids_by_name``.

    ``/data/posetrack/images/val/012834_mpii_test/000000.jpg`` matches the COCO ``file_name``
    ``images/val/012834_mpii_test/000000.jpg`` before a bare ``000000.jpg``; ``None`` when no
    trailing part matches.
    """
    parts = Path(path).as_posix().split("/")
    for start in range(len(parts)):
        candidate = "/".join(parts[start:])
        if candidate in ids_by_name:
            return ids_by_name[candidate]
    return None
