"""Merge the ``predictions.json`` files of ``posekit predict`` runs over different inputs into one.

A batch too large for one machine is split by inputs (each video whole on one machine), each part
runs ``posekit predict PART... --out runs/part<i>``, and ``posekit merge`` joins the parts'
``predictions.json`` files in the order given. Each run counted its ``image_id`` from 1, so the
merged file renumbers them: every (run, image id) gets the next id, in the order the entries come,
so ids are unique and follow the order of the parts; entries of the same image or frame keep one
id between them. With ``images_json`` (the COCO file the runs were given with ``--images-json``)
images listed there keep their own ids, as in one run, and the others count up from the largest.
Everything else in the entries (keypoints, ``file_name``, ``frame``, ``track_id``, 3D) is kept
as it is; track ids are per video, and each video was processed whole by one run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from posekit.inference.box_file import match_file_name
from posekit.io.coco import load_coco_image_ids
from posekit.io.json import load_json

__all__ = ["merge_predictions"]


def merge_predictions(
    paths: Sequence[str | os.PathLike[str]], images_json: str | os.PathLike[str] | None = None
) -> list[dict[str, Any]]:
    """The entries of the ``predictions.json`` files ``paths``, in order, with unique image ids.

    Raises:
        FileNotFoundError, OSError: a file cannot be read.
        ValueError: a file is not a list of results entries with ``image_id`` and ``file_name``, or
            the same input appears in two files.
    """
    known = {} if images_json is None else {str(name): int(i) for name, i in load_coco_image_ids(images_json).items()}
    next_id = max(known.values(), default=0) + 1
    merged: list[dict[str, Any]] = []
    owner: dict[str, Path] = {}
    for path in paths:
        source = Path(path)
        entries = load_json(source, "predictions")
        if not isinstance(entries, list):
            raise ValueError(f"predictions file {source} must hold a list of results entries (posekit predict output)")
        new_ids: dict[Any, int] = {}
        for position, entry in enumerate(entries):
            if not isinstance(entry, Mapping) or "image_id" not in entry or "file_name" not in entry:
                raise ValueError(
                    f"predictions file {source}: entry {position} needs 'image_id' and 'file_name' "
                    "(posekit predict writes both)"
                )
            file_name = str(entry["file_name"])
            first = owner.setdefault(file_name, source)
            if first != source:
                raise ValueError(
                    f"{file_name} has results in both {first} and {source}: each input belongs to one part"
                )
            old_id = entry["image_id"]
            if old_id not in new_ids:
                matched = None if "frame" in entry else match_file_name(file_name, known)
                if matched is not None:
                    new_ids[old_id] = int(matched)
                else:
                    new_ids[old_id] = next_id
                    next_id += 1
            merged.append({**entry, "image_id": new_ids[old_id]})
    return merged
