"""Pose results as CSV: one row per person and image (or video frame), written atomically.

The rows are the entries of ``predictions.json`` (COCO keypoint results with ``file_name`` and, for
videos, ``frame``, ``timestamp`` and ``track_id``; :func:`posekit.inference.predict.predict`), so
every value in the CSV is the value of the JSON entry, written with Python's shortest round-trip
float text. Columns, in order:

* ``file_name, image_id, frame, timestamp, track_id, score, bbox_x, bbox_y, bbox_w, bbox_h``
  (``frame``, ``timestamp`` and ``track_id`` are empty for images; the box is ``x, y, w, h`` pixels);
* ``<joint>_x, <joint>_y, <joint>_score`` for every keypoint of the results' skeleton, in its
  order (image pixels);
* with 3D (``skeleton_3d``): ``<joint>_x3d, <joint>_y3d, <joint>_z3d`` for every joint of that
  skeleton (metres, camera frame, root-relative) and ``trajectory_x, trajectory_y, trajectory_z``
  (the root in camera space, metres); empty for people without 3D.

Legend: ``K`` keypoints of the 2D skeleton, ``K3`` joints of the 3D one.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from posekit.io.atomic import atomic_write_text
from posekit.skeletons import Skeleton, get_skeleton

__all__ = ["RESULTS_CSV_COLUMNS", "read_results_csv", "results_csv_header", "results_csv_text", "write_results_csv"]

# The per-entry columns before the keypoints.
RESULTS_CSV_COLUMNS = (
    "file_name",
    "image_id",
    "frame",
    "timestamp",
    "track_id",
    "score",
    "bbox_x",
    "bbox_y",
    "bbox_w",
    "bbox_h",
)
_TRAJECTORY_COLUMNS = ("trajectory_x", "trajectory_y", "trajectory_z")


def results_csv_header(skeleton: str | Skeleton, skeleton_3d: str | Skeleton | None = None) -> list[str]:
    """The column names for results in ``skeleton`` (and 3D in ``skeleton_3d``), see the module docstring."""
    names = get_skeleton(skeleton).keypoint_names
    header = list(RESULTS_CSV_COLUMNS)
    header += [f"{name}_{part}" for name in names for part in ("x", "y", "score")]
    if skeleton_3d is not None:
        header += [f"{name}_{axis}3d" for name in get_skeleton(skeleton_3d).keypoint_names for axis in "xyz"]
        header += list(_TRAJECTORY_COLUMNS)
    return header


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _row(entry: Mapping[str, Any], position: int, num_keypoints: int, num_3d: int | None) -> list[str]:
    keypoints = entry.get("keypoints")
    if not isinstance(keypoints, Sequence) or len(keypoints) != num_keypoints * 3:
        count = len(keypoints) if isinstance(keypoints, Sequence) else "no"
        raise ValueError(
            f"results entry {position}: 'keypoints' must hold {num_keypoints * 3} values (x, y, score for "
            f"{num_keypoints} keypoints), got {count}"
        )
    bbox = entry.get("bbox")
    box: Sequence[Any] = bbox if isinstance(bbox, Sequence) and len(bbox) == 4 else (None,) * 4
    cells = [_cell(entry.get(column)) for column in RESULTS_CSV_COLUMNS[:6]] + [_cell(value) for value in box]
    cells += [_cell(value) for value in keypoints]
    if num_3d is not None:
        values_3d = entry.get("keypoints_3d")
        trajectory = entry.get("trajectory")
        if values_3d is None or trajectory is None:
            cells += [""] * (num_3d * 3 + 3)
        else:
            if len(values_3d) != num_3d * 3 or len(trajectory) != 3:
                raise ValueError(
                    f"results entry {position}: 'keypoints_3d' must hold {num_3d * 3} values and 'trajectory' 3, "
                    f"got {len(values_3d)} and {len(trajectory)}"
                )
            cells += [_cell(value) for value in values_3d] + [_cell(value) for value in trajectory]
    return cells


def results_csv_text(
    entries: Sequence[Mapping[str, Any]], skeleton: str | Skeleton, skeleton_3d: str | Skeleton | None = None
) -> str:
    """The CSV text of ``entries`` (header row, then one row per entry)."""
    num_keypoints = get_skeleton(skeleton).num_keypoints
    num_3d = None if skeleton_3d is None else get_skeleton(skeleton_3d).num_keypoints
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(results_csv_header(skeleton, skeleton_3d))
    for position, entry in enumerate(entries):
        writer.writerow(_row(entry, position, num_keypoints, num_3d))
    return buffer.getvalue()


def write_results_csv(
    path: str | os.PathLike[str],
    entries: Sequence[Mapping[str, Any]],
    skeleton: str | Skeleton,
    skeleton_3d: str | Skeleton | None = None,
) -> Path:
    """Write results entries as CSV, atomically (all rows or, on any error, no file). Returns the path.

    Args:
        path: the ``.csv`` file; its folder is created if needed.
        entries: COCO keypoint results entries (``keypoints`` flat ``x, y, score`` in ``skeleton``
            order; optional ``bbox``, ``file_name``, ``frame``, ``timestamp``, ``track_id``,
            ``keypoints_3d`` and ``trajectory``).
        skeleton: keypoint format of ``keypoints`` (gives the column names).
        skeleton_3d: keypoint format of ``keypoints_3d``; ``None``: no 3D columns.

    Raises:
        ValueError: an entry whose keypoints do not match the skeleton.
        OSError: the file cannot be written (nothing is left behind).
    """
    return atomic_write_text(path, results_csv_text(entries, skeleton, skeleton_3d))


def read_results_csv(path: str | os.PathLike[str]) -> tuple[list[str], list[dict[str, str]]]:
    """The header and rows (column name to cell text; empty cells are ``""``) of a results CSV."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        return list(reader.fieldnames or []), rows
