"""Bottom-up multi-person 2D pose on whole images: HigherHRNet with associative-embedding grouping.

:class:`BottomUpEstimator` is a :class:`~posekit.inference.estimator.PoseEstimator` that runs one
network over the whole image and groups the joints of every person by their tags. It follows the
official HigherHRNet test (``tools/valid.py`` with ``lib/core/inference.py``,
``lib/utils/transforms.py`` and ``lib/core/group.py``, Cheng et al., CVPR 2020, Sec. 3.3-3.4) step
by step, with the same floating-point operations in the same order, so that evaluation reproduces
the official results:

1. **Multi-scale sizes** (:func:`multi_scale_size`): at the smallest test scale the short side of
   the image becomes ``input_size x min_scale`` rounded up to a multiple of 64 and the long side
   keeps the aspect ratio, rounded up to a multiple of 64; every other scale ``s`` multiplies both
   by ``s / min_scale`` (truncated to whole pixels). The *base size* is the size at scale 1.
2. **Resize** (:func:`resize_align`): ``cv2.warpAffine`` (bilinear, constant-zero border) with the
   official affine matrix (:func:`official_affine_transform`, three float32 point pairs through
   ``cv2.getAffineTransform``) that maps the region ``scale x 200`` pixels wide around ``center``
   onto the resized image; then ``ToTensor`` + ImageNet ``Normalize`` (``(u8 / 255 - mean) / std``).
3. **Network outputs** (:func:`multi_stage_outputs`, the official ``get_multi_stage_outputs``): every
   output but the last is resized bilinearly (``align_corners=False``) to the last (highest)
   resolution; the heatmap channels of all outputs are averaged, the tag channels of the outputs
   that carry tags are kept; with the flip test the mirrored image goes through the network too, its
   outputs are resized, mirrored back, their channels swapped with the skeleton's flip index
   (heatmaps, and tags when there is one tag map per joint), giving a second heatmap average and
   more tag maps; every heatmap and tag map is then resized to the base size ("project to image").
4. **Aggregation** (:func:`aggregate_scales`, the official ``aggregate_results``): scales in
   decreasing order; per scale the two heatmap averages (original and mirrored) are averaged and
   summed over scales, then divided by the number of scales; the tag maps are stacked along a last
   axis, from scale 1 only when there are several scales: ``tags (K, H, W, L)``.
5. **Grouping** (:func:`posekit.codecs.ae_grouping.group_people`, the official ``HeatmapParser``:
   NMS, top-k, matching by tag, the quarter-pixel ``adjust`` and ``refine``).
6. **Back to the image** (:func:`final_predictions`, the official ``get_final_preds``) with the inverse
   affine matrix of the base size, using the ``center`` and ``scale`` of the last (smallest) scale.

Coordinate convention. The official numbers are kept unchanged: COCO AP computed from these
results is the official AP. They differ from posekit's convention (the centre of the top-left pixel
at ``(0, 0)``, used by the top-down estimators) by a fixed half heatmap pixel: the grouping returns a
peak at heatmap pixel ``(i, j)`` as ``(i + 0.5 +- 0.25, j + 0.5 +- 0.25)`` (the official decoder's
``+0.5``, which undoes the ``int()`` truncation of the training targets), while the input was warped
with OpenCV, whose pixel centres sit on whole numbers. With ``k = 200 x scale_w / base_w`` original
pixels per heatmap pixel (the heatmaps are projected to the base input size, so ``k`` is also the
original pixels per input pixel), an official keypoint ``x_official`` corresponds to
``x_posekit = x_official - 0.5 k`` (likewise ``y``). The centre of the resize is the official
``(int(w / 2 + 0.5), int(h / 2 + 0.5))``, not ``((w - 1) / 2, (h - 1) / 2)``. Both offsets are part
of what the released models were trained and evaluated with; they are below a pixel of the input.

Legend: ``M`` people, ``K`` joints, ``L`` stacked tag maps (tag outputs x flips), heatmaps ``(K, H, W)``
at the base size ``(W, H)``; images ``(H, W, 3)`` uint8 RGB; keypoints in original-image pixels
(official convention, see above); boxes ``xyxy``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from posekit.codecs.ae_grouping import GroupingConfig, group_people
from posekit.geometry import box_from_keypoints
from posekit.models.pose2d.base import normalize_images
from posekit.skeletons import get_skeleton
from posekit.structures import PoseInstances

__all__ = [
    "OFFICIAL_JOINT_ORDER",
    "MAX_INPUT_PIXELS",
    "AggregatedMaps",
    "BottomUpEstimator",
    "BottomUpNetwork",
    "BottomUpTimings",
    "aggregate_scales",
    "build_bottomup_estimator",
    "check_scales",
    "final_predictions",
    "multi_scale_size",
    "multi_stage_outputs",
    "official_affine_transform",
    "official_grouping_config",
    "resize_align",
]

# The official ``Params.joint_order`` (COCO order with the hips before the elbows and wrists, 0-based).
# ``match_by_tag`` visits ``joint_order[:num_joints]``, so CrowdPose-14 uses its first 14 entries
# (a permutation of 0..13).
OFFICIAL_JOINT_ORDER: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16)
# The official resize: the region is ``scale x PIXEL_STD`` pixels wide.
PIXEL_STD = 200.0
# The largest network input accepted (pixels, at the largest scale). The short side becomes the
# input size, so only a very elongated image gets near it (a 20 x 2000 strip: 512 x 51200 px, and
# heatmaps plus tags of 4 GB at that size); COCO's most elongated images need about 5 MP at scale 2.
MAX_INPUT_PIXELS = 32_000_000


class BottomUpNetwork(Protocol):
    """What the estimator needs of a bottom-up network (:class:`~posekit.models.bottomup.HigherHRNet`).

    Attributes:
        num_joints: ``K``.
        tag_per_joint: one tag map per joint (official ``MODEL.TAG_PER_JOINT``), else one in all.
        with_tags: per output resolution, whether that output carries tag channels after its ``K``
            heatmaps (official ``LOSS.WITH_AE_LOSS``).
        input_size: the test input size (short side at scale 1, e.g. 512).
        skeleton: keypoint format name (``"coco"``, ``"crowdpose"``).
    """

    num_joints: int
    tag_per_joint: bool
    with_tags: tuple[bool, ...]
    input_size: int
    skeleton: str

    def __call__(self, images: torch.Tensor) -> list[torch.Tensor]:
        """``(B, 3, H, W)`` normalised RGB -> outputs of increasing resolution ``(B, K (+T), h_i, w_i)``."""
        ...


@dataclass
class BottomUpTimings:
    """Seconds spent in one call, by stage (all scales and flips together).

    Attributes:
        preprocess: resizing the image and normalising it.
        network: the network's forward passes (synchronised on CUDA).
        aggregation: resizing, flipping back and averaging the outputs, stacking the tags, and
            moving the maps to the CPU.
        grouping: NMS, matching by tag, adjust and refine.
        postprocess: back to image coordinates, sorting and filtering the people.
    """

    preprocess: float = 0.0
    network: float = 0.0
    aggregation: float = 0.0
    grouping: float = 0.0
    postprocess: float = 0.0

    @property
    def total(self) -> float:
        """The whole call, in seconds."""
        return self.preprocess + self.network + self.aggregation + self.grouping + self.postprocess

    def as_dict(self) -> dict[str, float]:
        """The stages and the total, in seconds."""
        return {
            "preprocess": self.preprocess,
            "network": self.network,
            "aggregation": self.aggregation,
            "grouping": self.grouping,
            "postprocess": self.postprocess,
            "total": self.total,
        }


@dataclass
class AggregatedMaps:
    """The network's maps for one image after multi-resolution, flip and multi-scale aggregation.

    Attributes:
        heatmaps: ``(K, H, W)`` float32 at the base size ``(W, H)``.
        tags: ``(K', H, W, L)`` float32 (``K' = K`` with one tag map per joint, else 1).
        center: ``(2,)`` the official resize centre ``(int(w / 2 + 0.5), int(h / 2 + 0.5))``.
        scale: ``(2,)`` float64 the official resize scale (region width and height / 200) of the
            last scale processed.
        base_size: ``(W, H)`` the input size at scale 1.
        timings: the seconds spent so far (preprocess, network, aggregation).
    """

    heatmaps: torch.Tensor
    tags: torch.Tensor
    center: np.ndarray
    scale: np.ndarray
    base_size: tuple[int, int]
    timings: BottomUpTimings = field(default_factory=BottomUpTimings)


# ---------------------------------------------------------------------------------------------
# the official resize
# ---------------------------------------------------------------------------------------------


def _round_up_64(value: float) -> int:
    """``value`` rounded up to a multiple of 64 (the official ``int((v + 63) // 64 * 64)``)."""
    return int((value + 63) // 64 * 64)


def multi_scale_size(
    image_size: tuple[int, int], input_size: int, current_scale: float, min_scale: float
) -> tuple[tuple[int, int], np.ndarray, np.ndarray]:
    """The official multi-scale input size of an image (``lib/utils/transforms.py get_multi_scale_size``).

    At ``min_scale`` the short side is ``input_size x min_scale`` rounded up to a multiple of 64 and
    the long side keeps the aspect ratio, rounded up to a multiple of 64; at ``current_scale`` both
    are multiplied by ``current_scale / min_scale`` and truncated.

    Args:
        image_size: ``(w, h)`` of the original image.
        input_size: the network's test input size (short side at scale 1).
        current_scale: the scale to size.
        min_scale: the smallest test scale.

    Returns:
        ``((w_resized, h_resized), center, scale)``: the resized size, the resize centre ``(2,)``
        int64 ``(int(w / 2 + 0.5), int(h / 2 + 0.5))`` and the region size / 200 ``(2,)`` float64.
    """
    width, height = image_size
    center = np.array([int(width / 2.0 + 0.5), int(height / 2.0 + 0.5)])
    min_input_size = _round_up_64(min_scale * input_size)
    if width < height:
        resized_width = int(min_input_size * current_scale / min_scale)
        resized_height = int(_round_up_64(min_input_size / width * height) * current_scale / min_scale)
        scale_width = width / PIXEL_STD
        scale_height = resized_height / resized_width * width / PIXEL_STD
    else:
        resized_height = int(min_input_size * current_scale / min_scale)
        resized_width = int(_round_up_64(min_input_size / height * width) * current_scale / min_scale)
        scale_height = height / PIXEL_STD
        scale_width = resized_width / resized_height * height / PIXEL_STD
    return (resized_width, resized_height), center, np.array([scale_width, scale_height])


def official_affine_transform(
    center: np.ndarray, scale: np.ndarray, output_size: Sequence[int], *, inverse: bool = False
) -> np.ndarray:
    """The official ``get_affine_transform`` without rotation or shift, bit for bit.

    Three point pairs in float32 (the region centre to the output centre, the point half the region
    width above it to the point half the output width above the output centre, and a third point
    perpendicular to both) go through ``cv2.getAffineTransform``, as the official code does;
    :func:`posekit.geometry.get_warp_matrix` gives the same similarity in closed form, within float32
    rounding of the points, which is not enough for bit-identical resized images.

    Args:
        center: ``(2,)`` region centre ``(x, y)`` in image pixels.
        scale: ``(2,)`` region size / 200 (only the width sets the zoom).
        output_size: ``(W, H)`` of the output.
        inverse: the output-to-image matrix instead.

    Returns:
        ``(2, 3)`` float64, image -> output (output -> image when ``inverse``).
    """
    region_width = np.asarray(scale, dtype=np.float64)[0] * PIXEL_STD
    output_width, output_height = float(output_size[0]), float(output_size[1])
    source = np.zeros((3, 2), dtype=np.float32)
    target = np.zeros((3, 2), dtype=np.float32)
    source[0] = center
    source[1] = np.asarray(center) + np.array([0.0, region_width * -0.5])
    target[0] = [output_width * 0.5, output_height * 0.5]
    target[1] = np.array([output_width * 0.5, output_height * 0.5]) + np.array([0.0, output_width * -0.5])
    for points in (source, target):  # the third point: the first one turned 90 degrees about the second
        direction = points[0] - points[1]
        points[2] = points[1] + np.array([-direction[1], direction[0]], dtype=np.float32)
    if inverse:
        return cv2.getAffineTransform(target, source)
    return cv2.getAffineTransform(source, target)


def resize_align(
    image: np.ndarray, input_size: int, current_scale: float, min_scale: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The official ``resize_align_multi_scale``: the image warped to its size at ``current_scale``.

    Args:
        image: ``(h, w, 3)`` uint8 RGB.
        input_size, current_scale, min_scale: as :func:`multi_scale_size`.

    Returns:
        ``(resized (H_s, W_s, 3) uint8, center (2,), scale (2,))``.
    """
    height, width = image.shape[:2]
    size, center, scale = multi_scale_size((width, height), input_size, current_scale, min_scale)
    matrix = official_affine_transform(center, scale, size)
    return cv2.warpAffine(image, matrix, size), center, scale


def _image_tensor(image: np.ndarray, device: torch.device) -> torch.Tensor:
    """``(H, W, 3)`` uint8 RGB -> ``(1, 3, H, W)`` float32 as ``ToTensor`` + ImageNet ``Normalize``."""
    tensor = torch.from_numpy(np.ascontiguousarray(image)).to(device)
    tensor = tensor.permute(2, 0, 1).contiguous().float().div(255)  # (H, W, 3) -> (3, H, W), [0, 1]
    return normalize_images(tensor[None])


# ---------------------------------------------------------------------------------------------
# network outputs and their aggregation
# ---------------------------------------------------------------------------------------------


def _resize(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of ``(B, C, h, w)`` to ``size = (H, W)`` with ``align_corners=False``."""
    return F.interpolate(maps, size=size, mode="bilinear", align_corners=False)


def _split_outputs(
    outputs: Sequence[torch.Tensor],
    network: BottomUpNetwork,
    flip_index: Sequence[int] | None,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The heatmap average and the tag maps of one forward pass (``flip_index``: a mirrored pass).

    Every output but the last is resized to the last one's resolution; a mirrored pass is mirrored
    back after the resize and its channels are swapped with ``flip_index``.
    """
    num_joints = network.num_joints
    last_size = (int(outputs[-1].shape[2]), int(outputs[-1].shape[3]))
    heatmap_sum: torch.Tensor | None = None
    count = 0
    tags: list[torch.Tensor] = []
    for position, output in enumerate(outputs):
        if len(outputs) > 1 and position != len(outputs) - 1:
            output = _resize(output, last_size)
        if flip_index is not None:
            output = torch.flip(output, [3])
        heatmaps = output[:, :num_joints]
        if flip_index is not None:
            heatmaps = heatmaps[:, flip_index, :, :]
        heatmap_sum = heatmaps if heatmap_sum is None else heatmap_sum + heatmaps
        count += 1
        if network.with_tags[position]:
            tag_maps = output[:, num_joints:]
            if flip_index is not None and network.tag_per_joint:
                tag_maps = tag_maps[:, flip_index, :, :]
            tags.append(tag_maps)
    assert heatmap_sum is not None
    return heatmap_sum / count, tags


def multi_stage_outputs(
    network: BottomUpNetwork,
    images: torch.Tensor,
    *,
    flip_index: Sequence[int] | None,
    projected_size: tuple[int, int],
    timings: BottomUpTimings | None = None,
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Heatmaps and tags of one resized image (the official ``get_multi_stage_outputs``, PROJECT2IMAGE).

    Args:
        network: the bottom-up network.
        images: ``(1, 3, H_s, W_s)`` normalised RGB at one test scale.
        flip_index: the skeleton's flip index for the flip test, ``None`` for no flip test.
        projected_size: ``(W, H)`` the base size every map is resized to.
        timings: adds the forward passes to ``network`` and the rest to ``aggregation``.

    Returns:
        ``(heatmaps, tags)``: ``[(1, K, H, W)]`` (original, and mirrored with the flip test) and
        ``[(1, K', H, W)]`` (per tag output, then per tag output of the mirrored pass).
    """
    timings = BottomUpTimings() if timings is None else timings
    heatmaps: list[torch.Tensor] = []
    tags: list[torch.Tensor] = []
    passes = [None] if flip_index is None else [None, list(flip_index)]
    for pass_flip in passes:
        started = time.perf_counter()
        outputs = network(images if pass_flip is None else torch.flip(images, [3]))
        _synchronize(images.device)
        timings.network += time.perf_counter() - started
        started = time.perf_counter()
        average, tag_maps = _split_outputs(outputs, network, pass_flip)
        heatmaps.append(average)
        tags += tag_maps
        timings.aggregation += time.perf_counter() - started
    started = time.perf_counter()
    size = (projected_size[1], projected_size[0])
    heatmaps = [_resize(maps, size) for maps in heatmaps]
    tags = [_resize(maps, size) for maps in tags]
    _synchronize(images.device)
    timings.aggregation += time.perf_counter() - started
    return heatmaps, tags


def aggregate_scales(
    scale_results: Sequence[tuple[float, list[torch.Tensor], list[torch.Tensor]]], num_scales: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Heatmaps and tags over the test scales (the official ``aggregate_results`` + ``valid.py``).

    Args:
        scale_results: ``(scale, heatmaps, tags)`` of :func:`multi_stage_outputs`, in the order the
            scales were processed (decreasing).
        num_scales: the number of test scales.

    Returns:
        ``heatmaps (1, K, H, W)`` (per scale the mean of the original and mirrored averages, summed
        over scales and divided by ``num_scales``) and ``tags (1, K', H, W, L)`` (the tag maps of
        scale 1, or of the only scale, stacked on a last axis).
    """
    final: torch.Tensor | None = None
    tag_list: list[torch.Tensor] = []
    for scale, heatmaps, tags in scale_results:
        if scale == 1 or num_scales == 1:
            tag_list += [torch.unsqueeze(maps, dim=4) for maps in tags]
        average = (heatmaps[0] + heatmaps[1]) / 2.0 if len(heatmaps) == 2 else heatmaps[0]
        final = average if final is None else final + average
    if final is None or not tag_list:
        raise ValueError("aggregate_scales needs the results of at least one scale, one of them 1")
    return final / float(num_scales), torch.cat(tag_list, dim=4)


def final_predictions(
    people: np.ndarray, center: np.ndarray, scale: np.ndarray, heatmap_size: Sequence[int]
) -> np.ndarray:
    """People from heatmap to original-image pixels (the official ``get_final_preds``).

    Args:
        people: ``(M, K, D)`` float32 grouped joints ``x, y, score, tags...`` in heatmap pixels.
        center, scale: the official resize centre and scale.
        heatmap_size: ``(W, H)`` of the heatmaps.

    Returns:
        ``(M, K, D)`` float32, ``x, y`` in original-image pixels (official convention), the other
        columns unchanged.
    """
    result = np.array(people, dtype=np.float32, copy=True)
    if result.size == 0:
        return result
    matrix = official_affine_transform(center, scale, heatmap_size, inverse=True)
    # One np.dot per joint, as the official transform_preds: a batched product may round differently.
    for person in result:
        for joint in person:
            joint[0:2] = np.dot(matrix, np.array([joint[0], joint[1], 1.0]))[:2]
    return result


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ---------------------------------------------------------------------------------------------
# the estimator
# ---------------------------------------------------------------------------------------------


def check_scales(scales: Sequence[float]) -> tuple[float, ...]:
    """The test scales as a tuple, checked: positive finite numbers; 1 among them when there are several.

    Raises:
        ValueError: one sentence naming the scales and what was expected.
    """
    values = tuple(float(value) for value in scales)
    if not values:
        raise ValueError("scales must name at least one test scale (e.g. 1, or 0.5 1 2)")
    bad = [value for value in values if not (math.isfinite(value) and value > 0)]
    if bad:
        raise ValueError(f"scales must be positive numbers, got {list(values)}")
    if len(values) > 1 and 1.0 not in values:
        raise ValueError(
            f"scales {list(values)} must include 1 when there are several: the tags come from scale 1 "
            "(as in the official multi-scale test)"
        )
    return values


def official_grouping_config(num_joints: int, tag_per_joint: bool) -> GroupingConfig:
    """The official test settings of ``HeatmapParser`` (all released HigherHRNet configs).

    Detection threshold 0.1, tag threshold 1, 30 people, NMS kernel 5 with padding 2, detection
    values in the matching cost, and the official joint order (its first ``num_joints`` entries
    when those are a permutation, as for CrowdPose-14; else ``0..K-1``).
    """
    order = OFFICIAL_JOINT_ORDER[:num_joints]
    if sorted(order) != list(range(num_joints)):
        order = tuple(range(num_joints))
    return GroupingConfig(
        num_joints=num_joints,
        max_num_people=30,
        detection_threshold=0.1,
        tag_threshold=1.0,
        use_detection_val=True,
        ignore_too_much=False,
        tag_per_joint=tag_per_joint,
        nms_kernel=5,
        nms_padding=2,
        joint_order=order,
    )


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray):
        raise ValueError(f"image must be an (H, W, 3) uint8 RGB numpy array, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must have shape (H, W, 3) (RGB), got shape {tuple(image.shape)}")
    if image.dtype != np.uint8:
        raise ValueError(f"image must be uint8 RGB (0..255), got dtype {image.dtype}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"image is empty (shape {tuple(image.shape)}); expected at least 1 x 1 pixels")


class BottomUpEstimator:
    """Whole-image bottom-up pose estimation (HigherHRNet + associative embedding), the official test.

    Args:
        model: the network (:class:`~posekit.models.bottomup.HigherHRNet` or anything with the
            :class:`BottomUpNetwork` attributes); put in eval mode and moved to ``device``.
        scales: test scales (official ``TEST.SCALE_FACTOR``; ``(0.5, 1, 2)`` for the multi-scale test).
        flip_test: also run the mirrored image (official ``TEST.FLIP_TEST``, on in every config).
        adjust: the grouping's quarter-pixel offset (official ``TEST.ADJUST``).
        refine: fill missing joints of each person (official ``TEST.REFINE``).
        grouping: grouping settings (default :func:`official_grouping_config`).
        max_people: keep at most this many people per image (best first); ``None``: all (the grouping
            finds at most ``grouping.max_num_people``).
        min_score: drop people whose score (the mean of their joint scores) is below this.
        device: torch device of the network.

    Attributes:
        last_timings: :class:`BottomUpTimings` of the latest call (``None`` before the first).
    """

    def __init__(
        self,
        model: BottomUpNetwork,
        *,
        scales: Sequence[float] = (1.0,),
        flip_test: bool = True,
        adjust: bool = True,
        refine: bool = True,
        grouping: GroupingConfig | None = None,
        max_people: int | None = None,
        min_score: float = 0.0,
        device: str | torch.device = "cpu",
    ) -> None:
        if max_people is not None and max_people < 1:
            raise ValueError(f"max_people must be >= 1 or None, got {max_people}")
        if not math.isfinite(min_score):
            raise ValueError(f"min_score must be a number, got {min_score}")
        self.device = torch.device(device)
        if isinstance(model, torch.nn.Module):
            model = model.to(self.device).eval()
        self.model = model
        self.skeleton = get_skeleton(model.skeleton).name
        skeleton = get_skeleton(self.skeleton)
        if skeleton.num_keypoints != model.num_joints:
            raise ValueError(
                f"the network predicts {model.num_joints} joints but its skeleton {self.skeleton!r} has "
                f"{skeleton.num_keypoints}"
            )
        self.flip_index = tuple(int(index) for index in skeleton.flip_indices)
        self.scales = check_scales(scales)
        self.flip_test = bool(flip_test)
        self.adjust = bool(adjust)
        self.refine = bool(refine)
        self.grouping = (
            grouping if grouping is not None else official_grouping_config(model.num_joints, model.tag_per_joint)
        )
        if self.grouping.num_joints != model.num_joints:
            raise ValueError(
                f"grouping is set for {self.grouping.num_joints} joints, the network predicts {model.num_joints}"
            )
        self.max_people = max_people
        self.min_score = float(min_score)
        self.last_timings: BottomUpTimings | None = None

    def aggregate(self, image: np.ndarray) -> AggregatedMaps:
        """The aggregated heatmaps and tags of ``image`` (steps 1-4 of the module docstring).

        Args:
            image: ``(h, w, 3)`` uint8 RGB.

        Raises:
            ValueError: ``image`` is not a non-empty ``(H, W, 3)`` uint8 array, or is so elongated
                that the network input would exceed :data:`MAX_INPUT_PIXELS`.
        """
        _check_image(image)
        timings = BottomUpTimings()
        height, width = image.shape[:2]
        min_scale = min(self.scales)
        input_size = int(self.model.input_size)
        base_size, center, scale = multi_scale_size((width, height), input_size, 1.0, min_scale)
        largest = multi_scale_size((width, height), input_size, max(self.scales), min_scale)[0]
        if largest[0] * largest[1] > MAX_INPUT_PIXELS:
            raise ValueError(
                f"image of {width}x{height} px is too elongated: the network input at scale {max(self.scales):g} "
                f"would be {largest[0]}x{largest[1]} px; expected at most {MAX_INPUT_PIXELS // 1_000_000} megapixels "
                "(crop it, or pad it towards a less elongated shape)"
            )
        flip_index = self.flip_index if self.flip_test else None
        results: list[tuple[float, list[torch.Tensor], list[torch.Tensor]]] = []
        with torch.inference_mode():
            for current in sorted(self.scales, reverse=True):
                started = time.perf_counter()
                resized, center, scale = resize_align(image, input_size, current, min_scale)
                images = _image_tensor(resized, self.device)
                timings.preprocess += time.perf_counter() - started
                heatmaps, tags = multi_stage_outputs(
                    self.model, images, flip_index=flip_index, projected_size=base_size, timings=timings
                )
                results.append((current, heatmaps, tags))
            started = time.perf_counter()
            final_heatmaps, final_tags = aggregate_scales(results, len(self.scales))
            final_heatmaps = final_heatmaps[0].float().cpu()
            final_tags = final_tags[0].float().cpu()
            timings.aggregation += time.perf_counter() - started
        return AggregatedMaps(final_heatmaps, final_tags, center, scale, base_size, timings)

    def predict_people(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The official result for one image, in the grouping's order.

        Args:
            image: ``(h, w, 3)`` uint8 RGB.

        Returns:
            ``keypoints (M, K, 3)`` float32 ``x, y, score`` in original-image pixels (official
            convention, see the module docstring) and ``scores (M,)`` float32, the official person
            scores (mean joint score after ``adjust``, before ``refine``).
        """
        people, scores, _ = self._predict(image)
        return people[:, :, :3], scores

    def _predict(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, BottomUpTimings]:
        maps = self.aggregate(image)
        timings = maps.timings
        started = time.perf_counter()
        grouped, person_scores = group_people(
            maps.heatmaps.numpy(), maps.tags.numpy(), self.grouping, adjust=self.adjust, refine=self.refine
        )
        timings.grouping += time.perf_counter() - started
        started = time.perf_counter()
        num_joints = self.model.num_joints
        grouped = np.asarray(grouped, dtype=np.float32)
        if grouped.size == 0:
            grouped = np.zeros((0, num_joints, 3), np.float32)
        people = final_predictions(grouped, maps.center, maps.scale, maps.base_size)
        scores = np.asarray(person_scores, dtype=np.float32).reshape(len(people))
        timings.postprocess += time.perf_counter() - started
        return people, scores, timings

    def __call__(self, image: np.ndarray) -> PoseInstances:
        """The people in ``image``, best first.

        Args:
            image: ``(h, w, 3)`` uint8 RGB.

        Returns:
            ``M`` people of the network's skeleton: keypoints ``(M, K, 2)`` in original-image pixels
            (official convention), joint scores (heatmap values; 0 = missing), ``instance_scores``
            (official person scores), ``boxes`` around the joints with a score above 0; sorted by
            decreasing score, at most ``max_people``, none below ``min_score``. An image with
            nobody gives an empty set.

        Raises:
            ValueError: ``image`` is not a non-empty ``(H, W, 3)`` uint8 array.
        """
        people, scores, timings = self._predict(image)
        started = time.perf_counter()
        order = np.argsort(-scores, kind="stable")
        order = order[scores[order] >= self.min_score]
        if self.max_people is not None:
            order = order[: self.max_people]
        keypoints = people[order, :, :2]
        joint_scores = people[order, :, 2]
        instances = PoseInstances(
            keypoints=keypoints,
            scores=joint_scores,
            skeleton=self.skeleton,
            boxes=box_from_keypoints(keypoints, joint_scores > 0),
            instance_scores=scores[order],
        )
        timings.postprocess += time.perf_counter() - started
        self.last_timings = timings
        return instances


def build_bottomup_estimator(
    name: str,
    weights: str | os.PathLike[str] | None,
    *,
    scales: Sequence[float] = (1.0,),
    flip_test: bool = True,
    device: str = "cpu",
    max_people: int | None = None,
    min_score: float = 0.0,
) -> BottomUpEstimator:
    """A :class:`BottomUpEstimator` for a registered bottom-up model and its weights.

    Args:
        name: a registered bottom-up model (``higherhrnet_w32_512``, ...).
        weights: its checkpoint (posekit or official, detected by content); ``None`` only for tests
            and benchmarks (random weights).
        scales, flip_test, max_people, min_score: as :class:`BottomUpEstimator`.
        device: torch device.
    """
    from posekit.models.bottomup.loading import load_bottomup_model

    scales = check_scales(scales)  # bad scales are refused before the weights load
    model = load_bottomup_model(name, weights, device=device)
    return BottomUpEstimator(
        model, scales=scales, flip_test=flip_test, max_people=max_people, min_score=min_score, device=device
    )
