"""Person boxes from a file: :class:`BoxFileDetector` and the file-name matching it uses.

:class:`BoxFileDetector` is a :class:`~posekit.inference.detections.PersonDetector` whose boxes come
from a COCO detection results file (``[{"image_id", "category_id", "bbox": [x, y, w, h], "score"},
...]``), looked up by image id or by file name. Its detections carry NaN alignment points, which
tells pose estimators to build the ROI from the box.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from posekit.inference.detections import PersonDetections, box_detections
from posekit.io.coco import load_coco_detections, load_coco_image_ids, match_file_name

__all__ = ["BoxFileDetector", "match_file_name"]


class BoxFileDetector:
    """Person boxes from a COCO detection results file.

    Args:
        path: JSON list of ``{"image_id", "category_id", "bbox": [x, y, w, h], "score"}`` (read by
            :func:`posekit.io.coco.load_coco_detections`; a COCO JSON's ``annotations`` also work);
            entries whose ``category_id`` is not 1 (person) are ignored, a missing score counts as 1.
        min_score: boxes scoring below this are ignored.
        images_path: optional COCO JSON with an ``images`` list (``id``, ``file_name``), e.g. the
            ground-truth annotations, to look boxes up by file name.

    Raises:
        OSError: a file is missing.
        ValueError: a file is not in the expected format.
    """

    def __init__(
        self, path: str | os.PathLike[str], min_score: float = 0.0, images_path: str | os.PathLike[str] | None = None
    ) -> None:
        self.path = Path(path)
        self.min_score = float(min_score)
        self._boxes: dict[Any, list[tuple[list[float], float]]] = defaultdict(list)
        for entry in load_coco_detections(self.path, box_score_threshold=self.min_score, default_score=1.0):
            self._boxes[entry["image_id"]].append(([float(value) for value in entry["bbox"]], float(entry["score"])))
        self._ids_by_name: dict[str, Any] = {} if images_path is None else load_coco_image_ids(images_path)

    def image_id(self, key: Any) -> Any:
        """The image id for ``key``: an image id, or a file path matched to the images file's ``file_name``
        (longest trailing match, :func:`match_file_name`), or a COCO-style numeric file stem."""
        if key in self._boxes:
            return key
        by_name = match_file_name(str(key), self._ids_by_name)
        if by_name is not None:
            return by_name
        if isinstance(key, str) and key.isdigit() and int(key) in self._boxes:
            return int(key)
        stem = Path(str(key)).stem
        if stem.isdigit() and int(stem) in self._boxes:  # COCO-style names: 000000000192.jpg -> 192
            return int(stem)
        return None

    def lookup(self, key: Any, image_size: tuple[int, int]) -> PersonDetections:
        """Detections for one image (empty when the file lists none for it).

        Args:
            key: image id or file name.
            image_size: ``(w, h)`` of the image.
        """
        image_id = self.image_id(key)
        items = self._boxes.get(image_id, []) if image_id is not None else []
        if not items:
            return PersonDetections.empty((int(image_size[0]), int(image_size[1])))
        xywh = np.asarray([bbox for bbox, _ in items], dtype=np.float32)  # (N, 4)
        boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)  # xywh -> xyxy
        return box_detections(boxes, np.asarray([score for _, score in items], np.float32), image_size)

    def __contains__(self, key: Any) -> bool:
        return self.image_id(key) is not None
