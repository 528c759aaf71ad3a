"""MPII files for PCKh: the official ``gt_valid.mat``, JSON ground truth with head boxes, prediction files.

Legend: ``N`` people, 16 MPII joints in the order of the official files (``rank, rkne, rhip, lhip,
lkne, lank, pelv, thor, neck, head, rwri, relb, rsho, lsho, lelb, lwri``), pixel coordinates of the
files (MPII's are 1-based: ground truth and predictions must share the convention, PCKh compares
distances only). Head boxes are ``xyxy``.

* :func:`load_head_boxes`: head boxes ``(N, 4)`` from an array, ``.npy``, ``.npz`` or ``gt_valid.mat``
  (``headboxes_src``, as HRNet's ``MPIIDataset.evaluate``), for :func:`posekit.data.keypoints2d.load_mpii`.
* :func:`load_mpii_ground_truth`: ``gt_valid.mat`` (``pos_gt_src``, ``jnt_missing``, ``headboxes_src``)
  or a JSON list of ``{joints (16x2), joints_vis (16), head_box [x1, y1, x2, y2]}``.
* :func:`load_mpii_predictions`: ``pred.mat`` with ``preds`` ``(N, 16, 2)`` (as HRNet writes it), a
  ``.npy`` array or a JSON list of ``{joints}`` or of 16x2 lists.
* :func:`load_pckh_files`: both, checked to hold the same people (what ``posekit evaluate pckh`` scores).

``.mat`` files are read with ``scipy.io.loadmat`` (no pickle).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from posekit.io.json import load_json

__all__ = ["load_head_boxes", "load_mpii_ground_truth", "load_mpii_predictions", "load_pckh_files"]

# Joint names of the official MPII evaluation files (``dataset_joints`` of gt_valid.mat).
_MAT_JOINTS = (
    "rank",
    "rkne",
    "rhip",
    "lhip",
    "lkne",
    "lank",
    "pelv",
    "thor",
    "neck",
    "head",
    "rwri",
    "relb",
    "rsho",
    "lsho",
    "lelb",
    "lwri",
)


def _require_file(path: str | os.PathLike[str], what: str) -> Path:
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"cannot read {what} file {str(file)!r}: no such file")
    return file


def _read_mat(path: str | os.PathLike[str], what: str) -> dict[str, Any]:
    from scipy.io import loadmat

    file = _require_file(path, what)
    try:
        return dict(loadmat(str(file)))
    except (ValueError, TypeError, NotImplementedError) as error:
        raise ValueError(f"{what} file {str(file)!r} is not a readable MATLAB file ({error})") from error


def _head_boxes_from_mat(content: dict[str, Any], file: str) -> np.ndarray:
    """``headboxes_src`` ``(2 corners, 2 xy, N)`` as ``(N, 4)`` xyxy."""
    if "headboxes_src" not in content:
        raise ValueError(f"{file}: has no field 'headboxes_src' (MPII gt_valid.mat format)")
    corners = np.asarray(content["headboxes_src"], dtype=np.float64)
    if corners.ndim != 3 or corners.shape[:2] != (2, 2):
        raise ValueError(f"{file}: headboxes_src must have shape (2, 2, N), got {corners.shape}")
    return np.concatenate([corners[0].T, corners[1].T], axis=-1)  # (2, N), (2, N) -> (N, 4)


def load_head_boxes(source: str | os.PathLike[str] | np.ndarray, expected: int | None = None) -> np.ndarray:
    """Head boxes for PCKh, ``(N, 4)`` ``xyxy``, in annotation order.

    Accepted sources: an array ``(N, 4)``; an ``.npy`` file of it; an ``.npz`` with ``head_boxes``
    ``(N, 4)``; or MPII's official ``gt_valid.mat``, whose ``headboxes_src`` is ``(2, 2, N)`` =
    (corner: top-left/bottom-right, x/y, person), as HRNet's ``MPIIDataset.evaluate`` reads it. Only
    the box diagonal matters for PCKh, so the 1-based MATLAB origin of that file needs no shift.

    Args:
        source: the array or file.
        expected: ``N`` to check against (the number of annotations).

    Raises:
        ValueError: an unknown suffix, a missing array or a wrong shape (naming the file).
        FileNotFoundError: a missing file.
    """
    name = "head_boxes"
    if isinstance(source, np.ndarray):
        boxes = source
    else:
        file = _require_file(source, "head-box")
        name = str(file)
        suffix = file.suffix.lower()
        if suffix == ".npy":
            boxes = np.load(file, allow_pickle=False)
        elif suffix == ".npz":
            with np.load(file, allow_pickle=False) as archive:
                if "head_boxes" not in archive.files:
                    raise ValueError(f"{file}: has no array 'head_boxes' (found: {', '.join(archive.files)})")
                boxes = archive["head_boxes"]
        elif suffix == ".mat":
            boxes = _head_boxes_from_mat(_read_mat(file, "head-box"), name)
        else:
            raise ValueError(f"{file}: head boxes must be a .npy, .npz or MPII .mat file")
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{name}: head boxes must have shape (N, 4) as (x1, y1, x2, y2), got {boxes.shape}")
    if expected is not None and boxes.shape[0] != expected:
        raise ValueError(f"{name}: {boxes.shape[0]} head boxes for {expected} annotations")
    return boxes


def load_mpii_ground_truth(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PCKh ground truth from ``gt_valid.mat`` or a JSON list of people with head boxes.

    Returns:
        ``joints (N, 16, 2)`` float64, ``visible (N, 16)`` bool and ``head_boxes (N, 4)`` float64 xyxy.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: a missing field, joints in another order or a wrong shape (naming the file).
    """
    path = os.fspath(path)
    if path.lower().endswith(".mat"):
        data = _read_mat(path, "ground-truth")
        missing = [key for key in ("pos_gt_src", "jnt_missing", "headboxes_src") if key not in data]
        if missing:
            raise ValueError(f"ground-truth file {path!r} has no {', '.join(missing)} (expected MPII gt_valid.mat)")
        if "dataset_joints" in data:
            names = tuple(str(np.squeeze(name)) for name in np.ravel(data["dataset_joints"]))
            if names != _MAT_JOINTS:
                raise ValueError(f"ground-truth file {path!r} has joints {names}, expected the MPII order")
        positions = np.asarray(data["pos_gt_src"], dtype=np.float64)  # (16, 2, N)
        missing_joints = np.asarray(data["jnt_missing"])  # (16, N)
        if positions.ndim != 3 or positions.shape[:2] != (16, 2):
            raise ValueError(f"pos_gt_src in {path!r} must have shape (16, 2, N), got {positions.shape}")
        joints = positions.transpose(2, 0, 1)  # (16, 2, N) -> (N, 16, 2)
        visible = (1 - missing_joints).T > 0  # (16, N) -> (N, 16)
        return joints, visible, _head_boxes_from_mat(data, path)
    data = load_json(path, "ground-truth")
    if not isinstance(data, list) or not data:
        raise ValueError(f"ground-truth file {path!r} must be a non-empty JSON list of people")
    joints_list, visible_list, boxes = [], [], []
    for index, person in enumerate(data):
        if not isinstance(person, dict) or "joints" not in person:
            raise ValueError(f"ground-truth person {index} in {path!r} has no 'joints'")
        box = person.get("head_box", person.get("headbox"))
        if box is None:
            raise ValueError(
                f"ground-truth person {index} in {path!r} has no 'head_box'; PCKh needs the MPII head boxes "
                "(use gt_valid.mat or add head_box [x1, y1, x2, y2])"
            )
        joints_list.append(np.asarray(person["joints"], dtype=np.float64))
        visible_list.append(np.asarray(person.get("joints_vis", np.ones(len(person["joints"]))), dtype=np.float64))
        boxes.append(np.asarray(box, dtype=np.float64).reshape(-1))
    try:
        joints, visible, head_boxes = np.stack(joints_list), np.stack(visible_list) > 0, np.stack(boxes)
    except ValueError as error:
        raise ValueError(
            f"ground-truth people in {path!r} do not all have 16 joints and a 4-number head box"
        ) from error
    if joints.shape[1:] != (16, 2) or head_boxes.shape[1] != 4:
        raise ValueError(f"ground truth in {path!r} must have 16 joints (x, y) per person, got {joints.shape[1:]}")
    return joints, visible, head_boxes


def load_mpii_predictions(path: str | os.PathLike[str]) -> np.ndarray:
    """PCKh predictions ``(N, 16, 2)`` float64 from ``pred.mat`` (``preds``), ``.npy`` or JSON.

    A third column (a score) is dropped.

    Raises:
        FileNotFoundError: the file does not exist.
        OSError: the file cannot be read.
        ValueError: a missing array or a wrong shape (naming the file).
    """
    path = os.fspath(path)
    lowered = path.lower()
    if lowered.endswith(".mat"):
        arrays = _read_mat(path, "predictions")
        if "preds" not in arrays:
            raise ValueError(f"predictions file {path!r} has no 'preds' array")
        predictions = np.asarray(arrays["preds"], dtype=np.float64)
    elif lowered.endswith(".npy"):
        try:
            predictions = np.load(path, allow_pickle=False)
        except OSError as error:
            raise OSError(f"cannot read predictions file {path!r}: {error}") from error
        except ValueError as error:
            raise ValueError(f"predictions file {path!r} is not a numeric .npy array") from error
    else:
        data = load_json(path, "predictions")
        if isinstance(data, list) and data and isinstance(data[0], dict):
            if any("joints" not in item for item in data):
                raise ValueError(f"every prediction in {path!r} needs 'joints'")
            data = [item["joints"] for item in data]
        try:
            predictions = np.asarray(data, dtype=np.float64)
        except ValueError as error:
            raise ValueError(f"predictions in {path!r} are not all 16 x 2 numbers") from error
    predictions = np.asarray(predictions, dtype=np.float64)
    if predictions.ndim == 3 and predictions.shape[-1] == 3:
        predictions = predictions[..., :2]  # drop a score column
    if predictions.ndim != 3 or predictions.shape[1:] != (16, 2):
        raise ValueError(f"predictions in {path!r} must have shape (N, 16, 2), got {predictions.shape}")
    return predictions


def load_pckh_files(
    ground_truth: str | os.PathLike[str], predictions: str | os.PathLike[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Predictions and ground truth for :func:`posekit.metrics.pckh`, one prediction per person.

    Args:
        ground_truth: see :func:`load_mpii_ground_truth`.
        predictions: see :func:`load_mpii_predictions`, in the ground truth's person order.

    Returns:
        ``predictions (N, 16, 2)``, ``joints (N, 16, 2)``, ``visible (N, 16)``, ``head_boxes (N, 4)``.

    Raises:
        ValueError: the two files do not hold the same number of people (or any error of the loaders).
    """
    joints, visible, head_boxes = load_mpii_ground_truth(ground_truth)
    predicted = load_mpii_predictions(predictions)
    if predicted.shape[0] != joints.shape[0]:
        raise ValueError(
            f"{os.fspath(predictions)!r} has {predicted.shape[0]} predictions but {os.fspath(ground_truth)!r} "
            f"has {joints.shape[0]} people"
        )
    return predicted, joints, visible, head_boxes
