"""Read a synthetic mesh dataset written by ``posekit synth --mesh`` (torch-free).

Layout and array meanings: :mod:`posekit.data.synthetic_mesh`. Legend: ``N`` people, ``V`` vertices,
``S`` betas, ``H x W`` image; camera space (x right, y down, z forward), metres, pixels with the
centre of the top-left pixel at ``(0, 0)``.

::

    dataset = SyntheticMeshDataset("synth_mesh", "val")
    frame = dataset[0]                  # MeshFrameRecord: image, people, masks, IUV
    for clip in dataset.sequences():    # the frame indices of each sample, in time order
        ...
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from posekit.io.images import read_image
from posekit.io.json import load_json

__all__ = ["MeshFrameRecord", "MeshPeople", "SyntheticMeshDataset"]

_PEOPLE_KEYS = (
    "global_orient",
    "body_pose",
    "betas",
    "transl",
    "joints_3d",
    "joints_2d",
    "keypoints_coco",
    "keypoints_coco_3d",
    "R",
    "t",
    "silhouettes",
)
_FRAME_KEYS = ("focal", "center", "instance_mask", "iuv", "depth")


@dataclass(frozen=True, eq=False)
class MeshPeople:
    """The people of one frame (fields share the leading ``N``).

    Attributes:
        global_orient: ``(N, 3)`` axis-angle, camera space; body_pose: ``(N, 23, 3)``; betas: ``(N, S)``;
            transl: ``(N, 3)`` metres: the body model on these gives ``vertices`` and ``joints_3d``.
        vertices: ``(N, V, 3)`` float32 or None (written without vertices).
        joints_3d: ``(N, 24, 3)`` SMPL-order joints; joints_2d: ``(N, 24, 2)`` their projections.
        keypoints_coco: ``(N, 17, 3)`` COCO ``x, y, v``; keypoints_coco_3d: ``(N, 17, 3)``.
        R: ``(N, 3, 3)``, t: ``(N, 3)``: each person's world -> camera transform.
        silhouettes: ``(N, H, W)`` bool amodal masks.
    """

    global_orient: np.ndarray
    body_pose: np.ndarray
    betas: np.ndarray
    transl: np.ndarray
    vertices: np.ndarray | None
    joints_3d: np.ndarray
    joints_2d: np.ndarray
    keypoints_coco: np.ndarray
    keypoints_coco_3d: np.ndarray
    R: np.ndarray  # noqa: N815 - the camera's name
    t: np.ndarray
    silhouettes: np.ndarray

    def __len__(self) -> int:
        return int(self.global_orient.shape[0])


@dataclass(frozen=True, eq=False)
class MeshFrameRecord:
    """One image with its labels.

    Attributes:
        image: ``(H, W, 3)`` uint8 RGB.
        people: :class:`MeshPeople`.
        focal: ``(2,)``, center: ``(2,)`` pixels (shared by the people).
        instance_mask: ``(H, W)`` uint8, ``i + 1`` where person ``i`` is visible.
        iuv: ``(H, W, 3)`` float32 ``[part + 1, u, v]``; depth: ``(H, W)`` float32 metres.
        sequence: the sample this frame belongs to; frame_in_sequence: its time index.
        motion: per person the source ``clip``, ``frame`` and ``mirrored`` (from the COCO file).
        file_name: the image's file name.
    """

    image: np.ndarray
    people: MeshPeople
    focal: np.ndarray
    center: np.ndarray
    instance_mask: np.ndarray
    iuv: np.ndarray
    depth: np.ndarray
    sequence: int
    frame_in_sequence: int
    motion: tuple[dict[str, Any], ...]
    file_name: str


class SyntheticMeshDataset:
    """The frames of one split of a synthetic mesh dataset.

    Args:
        root: the dataset folder (``posekit synth --mesh --out ROOT``).
        split: ``"train"`` or ``"val"``.

    Raises:
        FileNotFoundError: the split's annotation file is missing.
        ValueError: the file is not a mesh dataset's (it has no ``labels`` per image).
    """

    def __init__(self, root: str | os.PathLike[str], split: str) -> None:
        if split not in ("train", "val"):
            raise ValueError(f"split must be 'train' or 'val', got {split!r}")
        self.root = Path(root)
        self.split = split
        path = self.root / "annotations" / f"{split}.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no annotation file (write the dataset with posekit synth --mesh)")
        document = load_json(path, "synthetic mesh annotations")
        images = document.get("images") if isinstance(document, dict) else None
        if not isinstance(images, list) or not all(isinstance(image, dict) and "labels" in image for image in images):
            raise ValueError(f"{path}: not a synthetic mesh dataset (every image needs a 'labels' file)")
        self.images: list[dict[str, Any]] = images
        self.info: dict[str, Any] = dict(document.get("info", {}))
        self._motion: dict[int, list[dict[str, Any]]] = {}
        for annotation in document.get("annotations", []):
            self._motion.setdefault(int(annotation["image_id"]), []).append(dict(annotation.get("motion", {})))

    def __len__(self) -> int:
        return len(self.images)

    def labels(self, index: int) -> dict[str, np.ndarray]:
        """The raw arrays of frame ``index`` (no image read)."""
        path = self.root / self.images[index]["labels"]
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
        missing = [key for key in (*_PEOPLE_KEYS, *_FRAME_KEYS) if key not in arrays]
        if missing:
            raise ValueError(f"{path}: label file lacks {missing}")
        return arrays

    def __getitem__(self, index: int) -> MeshFrameRecord:
        if not -len(self) <= index < len(self):
            raise IndexError(f"frame {index} of a split with {len(self)} frames")
        index %= len(self)
        record = self.images[index]
        arrays = self.labels(index)
        people = MeshPeople(
            **{key: arrays[key] for key in _PEOPLE_KEYS},
            vertices=arrays.get("vertices"),
        )
        motion = sorted(self._motion.get(int(record["id"]), []), key=lambda item: int(item.get("person_index", 0)))
        return MeshFrameRecord(
            image=read_image(self.root / "images" / self.split / record["file_name"]),
            people=people,
            focal=arrays["focal"],
            center=arrays["center"],
            instance_mask=arrays["instance_mask"],
            iuv=arrays["iuv"],
            depth=arrays["depth"],
            sequence=int(record.get("sequence", index)),
            frame_in_sequence=int(record.get("frame_in_sequence", 0)),
            motion=tuple(motion),
            file_name=str(record["file_name"]),
        )

    def sequences(self) -> list[list[int]]:
        """Frame indices of each sample, in time order (one index each for single frames)."""
        groups: dict[int, list[tuple[int, int]]] = {}
        for index, record in enumerate(self.images):
            groups.setdefault(int(record.get("sequence", index)), []).append(
                (int(record.get("frame_in_sequence", 0)), index)
            )
        return [[index for _, index in sorted(group)] for _, group in sorted(groups.items())]

    def __iter__(self) -> Iterator[MeshFrameRecord]:
        for index in range(len(self)):
            yield self[index]
