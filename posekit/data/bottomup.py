"""Bottom-up (whole-image) 2D keypoint datasets: every person of an image, masks, HigherHRNet augmentation.

Legend: ``N`` people of an image, ``K`` keypoints, ``S`` side of the square network input, ``R`` side
of one square output resolution, ``M`` people slots of the tag-loss target. Joints are ``(N, K, 3)``
``x, y, v`` with the COCO visibility flag ``v`` (0 unlabelled, 1 occluded, 2 visible) and ``x, y``
in image pixels (then in the pixels of each output after the transform); images ``(H, W, 3)`` uint8
RGB in, ``(3, S, S)`` float32 ImageNet-normalised tensors out; masks ``(H, W)`` bool in (True where
the loss counts), ``(R, R)`` float32 out.

Following the official HigherHRNet code (Cheng et al., CVPR 2020; ``lib/dataset/COCOKeypoints.py``,
``CrowdPoseKeypoints.py`` and ``lib/dataset/transforms/transforms.py``):

* :func:`load_bottomup_coco` reads any COCO-format keypoint file (COCO, CrowdPose, posekit's
  synthetic renders): one entry per image; training drops images without any annotation. The
  people are the annotations with ``iscrowd == 0`` or ``num_keypoints > 0`` (in file order), their
  joints the raw ``keypoints``. The loss mask (``mask="crowd"``, COCO) is 0 on crowd regions and on
  people with ``num_keypoints == 0`` (their segmentations decoded with pycocotools; an annotation
  without a segmentation masks its box, where the official code would fail); CrowdPose's official
  dataset masks nothing (``mask="none"``).
* :class:`BottomUpTransform` is the official training chain ``RandomAffineTransform`` then
  ``RandomHorizontalFlip`` then normalisation: the crop is centred on the image centre moved by
  ``(dx, dy)``, integers uniform in ``[int(-t s), int(t s))`` with ``s`` the crop scale (side
  ``200 s`` pixels, ``s = aug_scale * short side / 200``, ``aug_scale`` uniform in
  ``[min_scale, max_scale)``), rotated by ``uniform(-1, 1) * max_rotation`` degrees; the image is
  warped to ``S x S`` and, separately for every output size ``R``, the mask (bilinear on a 0/255
  image, then ``> 0.5``) and the joints with the matrix of that size, so targets at each resolution
  come from their own affine map. With probability ``flip_prob`` everything is mirrored afterwards:
  ``x -> R - 1 - x`` for the joints of each resolution with the left/right joints swapped by the
  flip index, image and masks flipped left-right. The random draws come from a per-sample numpy
  generator in that order: scale, rotation, dx, dy, flip.
* :class:`BottomUpDataset` reads an image, builds its mask, transforms and encodes it with the
  :class:`~posekit.codecs.associative_embedding.AssociativeEmbedding` codec: the sample holds
  ``image``, and per resolution ``i`` ``heatmaps_i (K, R, R)``, ``masks_i (R, R)``, ``joints_i (M, K, 2)``.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from posekit.codecs.associative_embedding import AssociativeEmbedding
from posekit.data.keypoints2d import _missing_dataset_message, _require
from posekit.data.transforms import normalize_image
from posekit.io.images import read_image
from posekit.io.json import load_json
from posekit.skeletons import Skeleton, get_skeleton

__all__ = [
    "AffineParameters",
    "BottomUpDataset",
    "BottomUpImage",
    "BottomUpRecords",
    "BottomUpTransform",
    "bottomup_affine_matrix",
    "image_mask",
    "load_bottomup_coco",
]

# The official crop scale unit: a scale of 1 is 200 pixels.
PIXEL_STD = 200.0


@dataclass(frozen=True)
class BottomUpImage:
    """One image and its people.

    Attributes:
        file: image path.
        image_id: COCO ``image_id``.
        size: image ``(w, h)`` in pixels as the file says.
        joints: ``(N, K, 3)`` float64 ``x, y, v`` of the kept people, in image pixels.
        masked: the annotations whose regions the loss ignores (crowds, people without keypoints).
    """

    file: str
    image_id: int
    size: tuple[int, int]
    joints: np.ndarray
    masked: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class BottomUpRecords:
    """The images of one annotation file (in file order), with their skeleton and source file."""

    images: tuple[BottomUpImage, ...]
    skeleton: str
    source: str

    def __len__(self) -> int:
        return len(self.images)

    def select(self, indices: Sequence[int]) -> BottomUpRecords:
        """The records of ``indices`` only."""
        return BottomUpRecords(tuple(self.images[index] for index in indices), self.skeleton, self.source)


def load_bottomup_coco(
    annotation_file: str | os.PathLike[str],
    image_root: str | os.PathLike[str],
    skeleton: str | Skeleton = "coco",
    mask: Literal["crowd", "none"] = "crowd",
    remove_images_without_annotations: bool = False,
    category_id: int = 1,
) -> BottomUpRecords:
    """Read a COCO-format keypoint file into whole-image records (official ``CocoKeypoints``).

    Args:
        annotation_file: COCO JSON (``images`` with ``id``, ``file_name``, ``width``, ``height``;
            ``annotations`` with ``image_id``, ``keypoints``; optional ``iscrowd``,
            ``num_keypoints``, ``segmentation``, ``bbox``, ``category_id``).
        image_root: folder the ``file_name`` entries are relative to.
        skeleton: keypoint format (``K`` must match the file).
        mask: ``"crowd"`` (COCO: crowds and people without keypoints are masked out) or ``"none"``
            (CrowdPose's official dataset).
        remove_images_without_annotations: drop images with no annotation at all (training).
        category_id: the person category (other categories are ignored).

    Raises:
        FileNotFoundError: the annotation file does not exist (the message says how to make one).
        ValueError: a missing field or a keypoint count that does not match the skeleton.
    """
    if mask not in ("crowd", "none"):
        raise ValueError(f"mask must be 'crowd' or 'none', got {mask!r}")
    format_ = get_skeleton(skeleton)
    num_keypoints = format_.num_keypoints
    if not Path(annotation_file).exists():
        raise FileNotFoundError(_missing_dataset_message(annotation_file))
    data = load_json(annotation_file, "annotation")
    source = str(annotation_file)
    _require(data, ("images", "annotations"), source, "the top level")
    by_image: dict[int, list[Mapping[str, Any]]] = {}
    for position, annotation in enumerate(data["annotations"]):
        _require(annotation, ("image_id", "keypoints"), source, f"annotations[{position}]")
        if int(annotation.get("category_id", category_id)) != category_id:
            continue
        values = np.asarray(annotation["keypoints"], dtype=np.float64)
        if values.shape != (3 * num_keypoints,):
            raise ValueError(
                f"{source}: annotations[{position}] has {values.size} keypoint values; skeleton {format_.name!r} "
                f"needs {3 * num_keypoints} (x, y, v for {num_keypoints} keypoints)"
            )
        by_image.setdefault(int(annotation["image_id"]), []).append(annotation)
    root = Path(image_root)
    images: list[BottomUpImage] = []
    for position, image in enumerate(data["images"]):
        _require(image, ("id", "file_name", "width", "height"), source, f"images[{position}]")
        annotations = by_image.get(int(image["id"]), [])
        if remove_images_without_annotations and not annotations:
            continue
        people, masked = [], []
        for annotation in annotations:
            values = np.asarray(annotation["keypoints"], dtype=np.float64).reshape(num_keypoints, 3)  # (3K,) -> (K, 3)
            crowd = bool(annotation.get("iscrowd", 0))
            labelled = int(annotation.get("num_keypoints", np.count_nonzero(values[:, 2] > 0)))
            if mask == "crowd" and (crowd or labelled == 0):
                masked.append(annotation)
            if not crowd or labelled > 0:
                people.append(values)
        joints = np.asarray(people, dtype=np.float64).reshape(len(people), num_keypoints, 3)
        images.append(
            BottomUpImage(
                file=str(root / str(image["file_name"])),
                image_id=int(image["id"]),
                size=(int(image["width"]), int(image["height"])),
                joints=joints,
                masked=tuple(masked),
            )
        )
    return BottomUpRecords(tuple(images), format_.name, source)


def image_mask(entry: BottomUpImage, height: int | None = None, width: int | None = None) -> np.ndarray:
    """The loss mask of an image: ``(H, W)`` bool, False on its masked annotations' regions.

    Segmentations (polygons, RLE or uncompressed RLE) are decoded with pycocotools at the size the
    file gives (or ``height``, ``width``); an annotation without a segmentation masks its ``bbox``.
    """
    image_height = int(height if height is not None else entry.size[1])
    image_width = int(width if width is not None else entry.size[0])
    covered = np.zeros((image_height, image_width), dtype=np.float64)
    if entry.masked:
        from pycocotools import mask as mask_utils

        for annotation in entry.masked:
            segmentation = annotation.get("segmentation")
            if not segmentation:
                box = annotation.get("bbox")
                if box is None:
                    continue
                x, y, w, h = (float(value) for value in box)
                segmentation = [[x, y, x + w, y, x + w, y + h, x, y + h]]
            encoded = mask_utils.frPyObjects(segmentation, image_height, image_width)
            for rle in encoded if isinstance(encoded, list) else [encoded]:
                covered += mask_utils.decode(rle)
    return covered < 0.5


def bottomup_affine_matrix(center: np.ndarray, scale: float, size: int, rotation: float = 0.0) -> np.ndarray:
    """The official crop matrix: ``(2, 3)`` mapping image pixels to a ``size x size`` output.

    The square region of side ``200 * scale`` pixels centred on ``center (x, y)`` fills the output;
    ``rotation`` (degrees) turns the content about the output centre ``(size / 2, size / 2)``.
    """
    side = PIXEL_STD * scale
    matrix = np.zeros((3, 3))
    matrix[0, 0] = size / side
    matrix[1, 1] = size / side
    matrix[0, 2] = size * (-float(center[0]) / side + 0.5)
    matrix[1, 2] = size * (-float(center[1]) / side + 0.5)
    matrix[2, 2] = 1.0
    if rotation != 0:
        radians = -rotation * math.pi / 180.0
        sin, cos = math.sin(radians), math.cos(radians)
        turn = np.array([[cos, -sin, 0.0], [sin, cos, 0.0], [0.0, 0.0, 1.0]])
        to_origin = np.eye(3)
        to_origin[:2, 2] = -size / 2
        back = np.eye(3)
        back[:2, 2] = size / 2
        matrix = back @ (turn @ (to_origin @ matrix))
    return matrix[:2]


def _affine_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    flat = points.reshape(-1, 2)  # (N, K, 2) -> (N K, 2)
    homogeneous = np.concatenate([flat, np.ones_like(flat[:, :1])], axis=1)  # (N K, 3)
    return (homogeneous @ matrix.T).reshape(points.shape)


@dataclass(frozen=True)
class AffineParameters:
    """One draw of the training augmentation (see :class:`BottomUpTransform`)."""

    aug_scale: float = 1.0
    rotation: float = 0.0
    translate: tuple[int, int] = (0, 0)
    flip: bool = False


class BottomUpTransform:
    """The official HigherHRNet training augmentation of a whole image, its mask and joints, then the codec.

    Args:
        input_size: ``S`` (512 in the official recipe).
        output_sizes: ``R`` per supervised resolution (``(128, 256)``).
        flip_indices: joint ``k`` of the mirrored image is joint ``flip_indices[k]`` of the original.
        max_rotation: degrees (30).
        min_scale: smallest ``aug_scale`` (0.75).
        max_scale: largest ``aug_scale`` (1.5).
        scale_type: ``"short"`` or ``"long"``: the image side that ``aug_scale = 1`` fits to the crop.
        max_translate: ``t`` of the centre shift (40).
        flip_prob: probability of the horizontal flip (0.5).
        codec: encodes the targets (``None``: the sample has no targets).
    """

    def __init__(
        self,
        input_size: int,
        output_sizes: Sequence[int],
        flip_indices: Sequence[int],
        max_rotation: float = 30.0,
        min_scale: float = 0.75,
        max_scale: float = 1.5,
        scale_type: Literal["short", "long"] = "short",
        max_translate: float = 40.0,
        flip_prob: float = 0.5,
        codec: AssociativeEmbedding | None = None,
    ) -> None:
        if scale_type not in ("short", "long"):
            raise ValueError(f"scale_type must be 'short' or 'long', got {scale_type!r}")
        if not 0 < min_scale <= max_scale:
            raise ValueError(f"the scale range must satisfy 0 < min_scale <= max_scale, got {min_scale}, {max_scale}")
        if codec is not None and tuple(codec.output_sizes) != tuple(output_sizes):
            raise ValueError(f"the codec's output sizes {codec.output_sizes} differ from {tuple(output_sizes)}")
        self.input_size = int(input_size)
        self.output_sizes = tuple(int(size) for size in output_sizes)
        self.flip_indices = np.asarray(flip_indices, dtype=np.int64)
        self.max_rotation = float(max_rotation)
        self.min_scale = float(min_scale)
        self.max_scale = float(max_scale)
        self.scale_type = scale_type
        self.max_translate = float(max_translate)
        self.flip_prob = float(flip_prob)
        self.codec = codec
        self.train = True

    def _base_scale(self, height: int, width: int) -> float:
        side = min(height, width) if self.scale_type == "short" else max(height, width)
        return side / PIXEL_STD

    def sample(self, rng: np.random.Generator, height: int, width: int) -> AffineParameters:
        """Draw the augmentation of an image of ``height x width`` (scale, rotation, dx, dy, flip, in that order)."""
        aug_scale = rng.random() * (self.max_scale - self.min_scale) + self.min_scale
        rotation = (rng.random() * 2 - 1) * self.max_rotation
        translate = (0, 0)
        if self.max_translate > 0:
            scale = self._base_scale(height, width) * aug_scale
            low, high = int(-self.max_translate * scale), int(self.max_translate * scale)
            translate = (int(rng.integers(low, high)), int(rng.integers(low, high)))
        flip = bool(rng.random() < self.flip_prob)
        return AffineParameters(float(aug_scale), float(rotation), translate, flip)

    def apply(
        self, image: np.ndarray, mask: np.ndarray, joints: np.ndarray, parameters: AffineParameters
    ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
        """Warp ``image (H, W, 3)``, ``mask (H, W)`` and ``joints (N, K, 3)`` with ``parameters``.

        Returns:
            the ``(S, S, 3)`` uint8 input, per output size the ``(R, R)`` float32 mask and the
            ``(N, K, 3)`` float64 joints in that output's pixels.
        """
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image must be (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}")
        height, width = image.shape[:2]
        if mask.shape != (height, width):
            raise ValueError(f"mask must have the image's shape {(height, width)}, got {mask.shape}")
        center = np.array([width / 2, height / 2], dtype=np.float64)
        scale = self._base_scale(height, width) * parameters.aug_scale
        center[0] += parameters.translate[0]
        center[1] += parameters.translate[1]
        mask_bytes = (mask.astype(np.float64) * 255).astype(np.uint8)
        masks, joints_out = [], []
        for size in self.output_sizes:
            matrix = bottomup_affine_matrix(center, scale, size, parameters.rotation)
            warped = cv2.warpAffine(mask_bytes, matrix, (size, size)) / 255
            masks.append((warped > 0.5).astype(np.float32))
            moved = np.array(joints, dtype=np.float64, copy=True)
            moved[:, :, 0:2] = _affine_points(moved[:, :, 0:2], matrix)
            joints_out.append(moved)
        matrix = bottomup_affine_matrix(center, scale, self.input_size, parameters.rotation)
        warped_image = cv2.warpAffine(image, matrix, (self.input_size, self.input_size))
        if parameters.flip:
            warped_image = np.ascontiguousarray(warped_image[:, ::-1])
            for index, size in enumerate(self.output_sizes):
                masks[index] = np.ascontiguousarray(masks[index][:, ::-1])
                flipped = joints_out[index][:, self.flip_indices]
                flipped[:, :, 0] = size - flipped[:, :, 0] - 1
                joints_out[index] = flipped
        return warped_image, masks, joints_out

    def __call__(
        self, image: np.ndarray, mask: np.ndarray, joints: np.ndarray, rng: np.random.Generator | None
    ) -> dict[str, Any]:
        """Augment (when ``rng`` is given; otherwise only the centred crop at scale 1), normalise, encode."""
        height, width = image.shape[:2]
        parameters = self.sample(rng, height, width) if rng is not None else AffineParameters()
        warped, masks, joints_out = self.apply(image, mask, joints, parameters)
        sample: dict[str, Any] = {"image": normalize_image(warped)}
        for index, resolution_mask in enumerate(masks):
            sample[f"masks_{index}"] = torch.from_numpy(resolution_mask)
        if self.codec is not None:
            target = self.codec.encode_joints(joints_out)
            for index, (heatmaps, tags) in enumerate(zip(target.heatmaps, target.joints, strict=True)):
                sample[f"heatmaps_{index}"] = torch.from_numpy(heatmaps)
                sample[f"joints_{index}"] = torch.from_numpy(tags)
        return sample


class BottomUpDataset(Dataset[dict[str, Any]]):
    """A map-style dataset of whole images with their targets (official ``CocoKeypoints.__getitem__``).

    Random augmentation draws from a per-sample numpy generator seeded from torch's RNG (as
    :class:`posekit.data.keypoints2d.TopDownDataset`), so the trainer's seeding and exact resume
    cover it.

    Args:
        records: the images.
        transform: the augmentation and codec.
        missing_images: ``"error"`` or ``"skip"`` (drop them with one warning; count in :attr:`skipped`).
    """

    def __init__(
        self,
        records: BottomUpRecords,
        transform: BottomUpTransform,
        missing_images: Literal["error", "skip"] = "error",
    ) -> None:
        if missing_images not in ("error", "skip"):
            raise ValueError(f"missing_images must be 'error' or 'skip', got {missing_images!r}")
        missing = [index for index, entry in enumerate(records.images) if not Path(entry.file).is_file()]
        self.skipped = 0
        if missing:
            first = records.images[missing[0]].file
            if missing_images == "error":
                more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
                raise FileNotFoundError(f"image not found: {first}{more}, listed in {records.source}")
            self.skipped = len(missing)
            warnings.warn(f"{records.source}: skipped {len(missing)} missing images (first: {first})", stacklevel=2)
            gone = set(missing)
            records = records.select([index for index in range(len(records)) if index not in gone])
        self.records = records
        self.transform = transform

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < len(self.records):
            raise IndexError(f"index {index} out of range for a dataset of {len(self.records)} images")
        entry = self.records.images[index]
        image = read_image(entry.file)
        mask = image_mask(entry, image.shape[0], image.shape[1])
        rng = None
        if self.transform.train:
            rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, ()).item()))
        sample = self.transform(image, mask, entry.joints, rng)
        sample["index"] = index
        sample["image_id"] = entry.image_id
        return sample
