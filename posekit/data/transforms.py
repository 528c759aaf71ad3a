"""Top-down training and evaluation transforms: augment, crop, normalise, encode.

Legend: ``K`` keypoints, input (crop) size ``(w, h)``, heatmap size ``(W, H)``. Keypoints are
pixels with the top-left pixel centre at ``(0, 0)`` (image pixels before the crop, crop pixels
after); images are ``(H, W, 3)`` uint8 RGB in, ``(3, h, w)`` float32 tensors out.

:class:`TopDownTransform` follows HRNet's ``JointsDataset.__getitem__`` (Sun et al. 2019;
``lib/dataset/JointsDataset.py``) step by step, in the same order and with the same random draws:

1. half body (``half_body_prob``, only when more than ``half_body_min_keypoints`` keypoints are
   labelled): the crop becomes the box of the upper or the lower body's labelled keypoints,
   enlarged 1.5 times; upper is chosen when a standard normal draw is ``< 0.5`` (HRNet's
   ``np.random.randn() < 0.5``, i.e. about 69 % of the time) and it has more than two keypoints;
2. scale: ``scale *= clip(1 + scale_factor * N(0, 1), 1 - scale_factor, 1 + scale_factor)``;
3. rotation, with probability ``rotation_prob``: ``clip(rotation_factor * N(0, 1), +-2 rotation_factor)``
   degrees;
4. horizontal flip (``flip_prob``): ``x -> image_width - 1 - x`` with left/right joints swapped by
   ``flip_indices`` and the crop centre mirrored (the flip is folded into the affine map instead of
   copying the flipped image: the result is the same pixel for pixel, since the mirror maps pixel
   centres onto pixel centres);
5. affine crop to the input size (:func:`posekit.geometry.get_warp_matrix`, or
   :func:`posekit.geometry.get_udp_warp_matrix` when ``use_udp``) with ``cv2.warpAffine``
   (bilinear, black border), keypoints moved by the same matrix;
6. colour jitter (not in HRNet; 0 by default): brightness, contrast, saturation factors drawn
   uniformly in ``[1 - f, 1 + f]``, applied in that order to the crop;
7. ImageNet normalisation (the input every posekit 2D model takes:
   :func:`posekit.models.pose2d.base.normalize_images`);
8. target encoding with the configured codec (:mod:`posekit.codecs`), weights multiplied by the
   skeleton's ``joint_weights`` when given.

Evaluation (``train=False``) runs only steps 5, 7 and 8.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np
import torch

from posekit.codecs import Codec
from posekit.codecs.targets import HeatmapTarget, IntegralTarget, RegressionTarget
from posekit.geometry import affine_transform_points, fix_aspect_ratio, get_udp_warp_matrix, get_warp_matrix

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "TopDownTransform",
    "adjust_colour",
    "collate",
    "flip_matrix",
    "flip_pose",
    "half_body_region",
    "normalize_image",
]

# Same statistics as posekit.models.pose2d.base (data does not import models).
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
# HRNet enlarges the half-body box 1.5 times.
HALF_BODY_PADDING = 1.5


def flip_pose(
    keypoints: np.ndarray, visible: np.ndarray, image_width: float, flip_indices: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Mirror keypoints inside an image and swap left/right joints (HRNet ``fliplr_joints``).

    Args:
        keypoints: ``(..., K, 2)`` image pixels.
        visible: ``(..., K)``.
        image_width: image width in pixels; ``x -> image_width - 1 - x``.
        flip_indices: permutation of ``range(K)``: ``flipped[k] = original[flip_indices[k]]``.

    Returns:
        flipped keypoints ``(..., K, 2)`` and visibility ``(..., K)`` (new arrays).
    """
    points = np.asarray(keypoints)
    if points.ndim < 2 or points.shape[-1] != 2:
        raise ValueError(f"keypoints must have shape (..., K, 2), got {points.shape}")
    order = list(flip_indices)
    if sorted(order) != list(range(points.shape[-2])):
        raise ValueError(f"flip_indices must be a permutation of range({points.shape[-2]}), got {tuple(flip_indices)}")
    weights = np.asarray(visible)
    if weights.shape != points.shape[:-1]:
        raise ValueError(f"visible must have shape {points.shape[:-1]}, got {weights.shape}")
    flipped = points[..., order, :].copy()
    flipped[..., 0] = (image_width - 1) - flipped[..., 0]
    return flipped, weights[..., order].copy()


def flip_matrix(image_width: float) -> np.ndarray:
    """``(2, 3)`` affine map of a horizontal mirror: ``(x, y) -> (image_width - 1 - x, y)``."""
    return np.array([[-1.0, 0.0, image_width - 1.0], [0.0, 1.0, 0.0]])


def _compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """``outer o inner`` for ``(2, 3)`` affine matrices."""
    return outer[:, :2] @ inner + np.concatenate([np.zeros((2, 2)), outer[:, 2:]], axis=1)


def half_body_region(
    keypoints: np.ndarray,
    visible: np.ndarray,
    upper_body_indices: Sequence[int],
    aspect_ratio: float,
    choose_upper: bool,
) -> tuple[np.ndarray, np.ndarray] | None:
    """The crop around half of the body (HRNet ``half_body_transform``).

    Args:
        keypoints: ``(K, 2)`` image pixels.
        visible: ``(K,)``; keypoints with ``visible > 0`` count.
        upper_body_indices: keypoints of the upper body; every other keypoint is lower body.
        aspect_ratio: ``w / h`` of the network input.
        choose_upper: take the upper body when it has more than two labelled keypoints; otherwise
            (or when False) the lower body if it has more than two, else the upper body.

    Returns:
        ``center (2,)`` and ``scale (2,)`` in pixels (the keypoints' box with the aspect ratio,
        times 1.5), or ``None`` when the chosen half has fewer than two labelled keypoints.
    """
    points = np.asarray(keypoints, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"keypoints must have shape (K, 2), got {points.shape}")
    labelled = np.asarray(visible) > 0
    is_upper = np.zeros(points.shape[0], dtype=bool)
    is_upper[list(upper_body_indices)] = True
    upper = points[labelled & is_upper]
    lower = points[labelled & ~is_upper]
    if choose_upper and len(upper) > 2:
        selected = upper
    else:
        selected = lower if len(lower) > 2 else upper
    if len(selected) < 2:
        return None
    center = selected.mean(axis=0)
    size = selected.max(axis=0) - selected.min(axis=0)
    scale = fix_aspect_ratio(size, aspect_ratio) * HALF_BODY_PADDING
    return center, scale


def adjust_colour(
    image: np.ndarray, brightness: float = 1.0, contrast: float = 1.0, saturation: float = 1.0
) -> np.ndarray:
    """Brightness, contrast and saturation of a uint8 RGB image (torchvision's definitions).

    ``brightness``: ``image * b``; ``contrast``: blend with the mean grey level,
    ``(image - mean) * c + mean``; ``saturation``: blend with the per-pixel grey image
    (``0.299 R + 0.587 G + 0.114 B``). A factor of 1 leaves the image unchanged.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.

    Returns:
        ``(H, W, 3)`` uint8 RGB.
    """
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must have shape (H, W, 3), got {image.shape}")
    if brightness == 1.0 and contrast == 1.0 and saturation == 1.0:
        return image
    values = image.astype(np.float32)
    grey_weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    if brightness != 1.0:
        values *= brightness
    if contrast != 1.0:
        mean = float((np.clip(values, 0, 255) @ grey_weights).mean())
        values = (values - mean) * contrast + mean
    if saturation != 1.0:
        grey = (np.clip(values, 0, 255) @ grey_weights)[..., None]  # (H, W, 3) -> (H, W, 1)
        values = (values - grey) * saturation + grey
    return np.clip(values + 0.5, 0, 255).astype(np.uint8)


def normalize_image(image: np.ndarray) -> torch.Tensor:
    """``(H, W, 3)`` uint8 RGB -> ``(3, H, W)`` float32 ``(image / 255 - mean) / std`` (ImageNet)."""
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must have shape (H, W, 3), got {image.shape}")
    scaled = (image.astype(np.float32) * np.float32(1.0 / 255.0) - IMAGENET_MEAN) / IMAGENET_STD
    return torch.from_numpy(np.ascontiguousarray(scaled.transpose(2, 0, 1)))  # (H, W, 3) -> (3, H, W)


class TopDownTransform:
    """Crop one person to the network input, augment (training), normalise and encode targets.

    Args:
        input_size: network input ``(w, h)``.
        codec: target encoder; its kind decides the sample's target keys (``None``: no targets).
        train: apply the random augmentations (else only the crop).
        flip_indices: left/right permutation of the skeleton (required when ``flip_prob > 0``).
        flip_prob: probability of a horizontal flip.
        scale_factor: scale jitter ``sf`` (HRNet COCO 0.35, MPII 0.25).
        rotation_factor: rotation jitter ``rf`` in degrees (HRNet 40 / MPII 30).
        rotation_prob: probability of rotating at all (HRNet: 0.6).
        half_body_prob: probability of a half-body crop (HRNet COCO 0.3, MPII 0).
        half_body_min_keypoints: half body only when more keypoints than this are labelled (8).
        upper_body_indices: upper-body keypoints for the half-body crop.
        brightness: brightness jitter (0: off).
        contrast: contrast jitter (0: off).
        saturation: saturation jitter (0: off).
        use_udp: crop with the unbiased (UDP) warp instead of HRNet's.
        joint_weights: ``(K,)`` per-keypoint loss weights multiplied into the target weights.
    """

    def __init__(
        self,
        input_size: tuple[int, int],
        codec: Codec | None,
        train: bool = False,
        flip_indices: Sequence[int] | None = None,
        flip_prob: float = 0.5,
        scale_factor: float = 0.35,
        rotation_factor: float = 40.0,
        rotation_prob: float = 0.6,
        half_body_prob: float = 0.3,
        half_body_min_keypoints: int = 8,
        upper_body_indices: Sequence[int] = (),
        brightness: float = 0.0,
        contrast: float = 0.0,
        saturation: float = 0.0,
        use_udp: bool = False,
        joint_weights: Sequence[float] | None = None,
    ) -> None:
        if len(input_size) != 2 or min(input_size) < 1:
            raise ValueError(f"input_size must be (w, h) with positive sides, got {input_size}")
        probabilities = {"flip_prob": flip_prob, "rotation_prob": rotation_prob, "half_body_prob": half_body_prob}
        for name, value in probabilities.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        for name, value in {"brightness": brightness, "contrast": contrast, "saturation": saturation}.items():
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value}")
        if not 0.0 <= scale_factor < 1.0:
            raise ValueError(f"scale_factor must be in [0, 1), got {scale_factor}")
        if rotation_factor < 0:
            raise ValueError(f"rotation_factor must be >= 0, got {rotation_factor}")
        if train and flip_prob > 0 and flip_indices is None:
            raise ValueError("flip_indices are required when flip_prob > 0 (use the skeleton's flip_indices)")
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.aspect_ratio = self.input_size[0] / self.input_size[1]
        self.codec = codec
        self.train = bool(train)
        self.flip_indices = None if flip_indices is None else tuple(int(index) for index in flip_indices)
        self.flip_prob = float(flip_prob)
        self.scale_factor = float(scale_factor)
        self.rotation_factor = float(rotation_factor)
        self.rotation_prob = float(rotation_prob)
        self.half_body_prob = float(half_body_prob)
        self.half_body_min_keypoints = int(half_body_min_keypoints)
        self.upper_body_indices = tuple(int(index) for index in upper_body_indices)
        self.brightness = float(brightness)
        self.contrast = float(contrast)
        self.saturation = float(saturation)
        self.use_udp = bool(use_udp)
        self.joint_weights = None if joint_weights is None else np.asarray(joint_weights, dtype=np.float32)

    def warp_matrix(self, center: np.ndarray, scale: np.ndarray, rotation: float) -> np.ndarray:
        """``(2, 3)`` image -> crop matrix of this transform (HRNet's or UDP's)."""
        if self.use_udp:
            return get_udp_warp_matrix(center, scale, rotation, self.input_size)
        return get_warp_matrix(center, scale, rotation, self.input_size)

    def __call__(
        self,
        image: np.ndarray,
        center: np.ndarray,
        scale: np.ndarray,
        keypoints: np.ndarray,
        visible: np.ndarray,
        rng: np.random.Generator | None = None,
    ) -> dict[str, Any]:
        """Transform one person.

        Args:
            image: ``(H, W, 3)`` uint8 RGB.
            center: ``(2,)`` crop centre in image pixels.
            scale: ``(2,)`` crop size ``(w, h)`` in image pixels (aspect ratio of the input).
            keypoints: ``(K, 2)`` image pixels.
            visible: ``(K,)`` labelled keypoints (> 0).
            rng: random generator (training); default a fresh unseeded one.

        Returns:
            ``image`` ``(3, h, w)`` float32 tensor; ``keypoints`` ``(K, 2)`` float32 crop pixels;
            ``visible`` ``(K,)`` float32 (after the flip's swap); ``target_weight`` ``(K,)``;
            ``heatmaps`` ``(C, H, W)`` (heatmap and integral codecs) and/or ``keypoint_labels``
            ``(K, 2)`` (regression and integral codecs) float32 tensors; meta: ``center`` ``(2,)``,
            ``scale`` ``(2,)`` (after augmentation), ``rotation`` (degrees), ``flipped`` (bool),
            ``warp_matrix`` ``(2, 3)`` image -> crop (float64 arrays).
        """
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image must be (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}")
        points = np.asarray(keypoints, dtype=np.float64)
        weights = np.asarray(visible, dtype=np.float32)
        if points.ndim != 2 or points.shape[1] != 2 or weights.shape != points.shape[:1]:
            raise ValueError(f"keypoints must be (K, 2) and visible (K,), got {points.shape} and {weights.shape}")
        crop_center = np.array(center, dtype=np.float64).reshape(2)
        crop_scale = np.array(scale, dtype=np.float64).reshape(2)
        rotation = 0.0
        flipped = False
        pre_warp = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        generator = rng if rng is not None else np.random.default_rng()
        if self.train:
            labelled = int(np.count_nonzero(weights > 0))
            if labelled > self.half_body_min_keypoints and generator.random() < self.half_body_prob:
                region = half_body_region(
                    points, weights, self.upper_body_indices, self.aspect_ratio, generator.standard_normal() < 0.5
                )
                if region is not None:
                    crop_center, crop_scale = region
            factor = self.scale_factor
            crop_scale = crop_scale * np.clip(generator.standard_normal() * factor + 1, 1 - factor, 1 + factor)
            if generator.random() <= self.rotation_prob:
                limit = 2 * self.rotation_factor
                rotation = float(np.clip(generator.standard_normal() * self.rotation_factor, -limit, limit))
            if self.flip_prob > 0 and generator.random() <= self.flip_prob:
                assert self.flip_indices is not None
                width = image.shape[1]
                points, weights = flip_pose(points, weights, width, self.flip_indices)
                crop_center = np.array([width - 1 - crop_center[0], crop_center[1]])
                pre_warp = flip_matrix(width)
                flipped = True
        matrix = self.warp_matrix(crop_center, crop_scale, rotation)
        crop = cv2.warpAffine(
            image,
            _compose(matrix, pre_warp),
            self.input_size,
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(0, 0, 0),
        )
        if self.train and (self.brightness or self.contrast or self.saturation):
            crop = adjust_colour(
                crop,
                brightness=generator.uniform(1 - self.brightness, 1 + self.brightness),
                contrast=generator.uniform(1 - self.contrast, 1 + self.contrast),
                saturation=generator.uniform(1 - self.saturation, 1 + self.saturation),
            )
        crop_points = affine_transform_points(points, matrix).astype(np.float32)  # (K, 2) crop pixels
        sample: dict[str, Any] = {
            "image": normalize_image(crop),
            "keypoints": torch.from_numpy(crop_points),
            "visible": torch.from_numpy(weights.astype(np.float32)),
            "center": crop_center,
            "scale": crop_scale,
            "rotation": rotation,
            "flipped": flipped,
            # The matrix of the original (unflipped) image: for back-projection at evaluation.
            "warp_matrix": _compose(matrix, pre_warp),
        }
        sample.update(self.encode(crop_points, weights))
        return sample

    def encode(self, keypoints: np.ndarray, visible: np.ndarray) -> dict[str, torch.Tensor]:
        """Targets of crop keypoints ``(K, 2)`` with visibility ``(K,)`` through the codec."""
        if self.codec is None:
            return {"target_weight": torch.from_numpy((np.asarray(visible) > 0).astype(np.float32))}
        target = self.codec.encode(keypoints[None].astype(np.float64), (np.asarray(visible) > 0)[None])
        targets: dict[str, torch.Tensor] = {}
        if isinstance(target, HeatmapTarget):
            targets["heatmaps"] = torch.from_numpy(np.ascontiguousarray(target.heatmaps, dtype=np.float32))
        elif isinstance(target, IntegralTarget):
            targets["heatmaps"] = torch.from_numpy(np.ascontiguousarray(target.heatmaps, dtype=np.float32))
            targets["keypoint_labels"] = torch.from_numpy(target.keypoint_labels[0].astype(np.float32))
        elif isinstance(target, RegressionTarget):
            targets["keypoint_labels"] = torch.from_numpy(target.keypoint_labels[0].astype(np.float32))
        weight = np.asarray(target.target_weights[0], dtype=np.float32)
        if self.joint_weights is not None:
            if self.joint_weights.shape != weight.shape:
                raise ValueError(f"joint_weights must have shape {weight.shape}, got {self.joint_weights.shape}")
            weight = weight * self.joint_weights
        targets["target_weight"] = torch.from_numpy(weight)
        return targets


def collate(samples: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Batch sample dicts: tensors and arrays are stacked, numbers and booleans become tensors.

    Args:
        samples: dicts with the same keys (as :class:`TopDownTransform` and
            :class:`posekit.data.keypoints2d.TopDownDataset` produce).

    Returns:
        ``{key: (B, ...) tensor}`` (numpy float64 arrays stay float64; strings become lists).
    """
    if not samples:
        raise ValueError("cannot collate an empty list of samples")
    keys = list(samples[0])
    batch: dict[str, Any] = {}
    for key in keys:
        values = [sample[key] for sample in samples]
        first = values[0]
        if isinstance(first, torch.Tensor):
            batch[key] = torch.stack(values)
        elif isinstance(first, np.ndarray):
            batch[key] = torch.from_numpy(np.stack(values))
        elif isinstance(first, (bool, np.bool_)):
            batch[key] = torch.tensor([bool(value) for value in values])
        elif isinstance(first, (int, np.integer)):
            batch[key] = torch.tensor([int(value) for value in values], dtype=torch.int64)
        elif isinstance(first, (float, np.floating)):
            batch[key] = torch.tensor([float(value) for value in values], dtype=torch.float64)
        else:
            batch[key] = list(values)
    return batch
