"""Data building for the ``pose2d_bottomup`` task: the model, its codec and the training images a config describes.

What is derived (never written twice): ``K`` and the tag layout from the model, the input side from
the model (or ``data.input_size``), the output resolutions ``S / 4 * 2^i``, one per model output (the
official ``OUTPUT_SIZE`` ``[128, 256]`` for 512), the mask policy from the skeleton (COCO masks crowds
and people without keypoints; the official CrowdPose dataset masks nothing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from posekit.codecs.associative_embedding import AssociativeEmbedding
from posekit.data.bottomup import BottomUpRecords, BottomUpTransform, load_bottomup_coco
from posekit.skeletons import get_skeleton
from posekit.tasks.bottomup.config import BottomUpConfig

if TYPE_CHECKING:
    from posekit.models.bottomup.higher_hrnet import HigherHRNet


def build_model(config: BottomUpConfig) -> HigherHRNet:
    """The configured bottom-up model, weights loaded when configured; ``K`` checked against the skeleton."""
    from posekit.models.bottomup.loading import load_bottomup_model

    model = load_bottomup_model(config.model.name, config.model.weights, **dict(config.model.kwargs))
    skeleton = get_skeleton(config.data.skeleton)
    if model.num_joints != skeleton.num_keypoints:
        raise ValueError(
            f"model {config.model.name!r} predicts {model.num_joints} joints but data.skeleton "
            f"{skeleton.name!r} has {skeleton.num_keypoints}; pick the variant of that skeleton"
        )
    if config.model.pretrained is not None:
        from posekit.io.checkpoint import load_model_weights

        load_model_weights(model, config.model.pretrained, strict=False)
    return model


def input_size(config: BottomUpConfig, model: HigherHRNet) -> int:
    """The training input side ``S``."""
    return int(config.data.input_size if config.data.input_size is not None else model.input_size)


def output_sizes(config: BottomUpConfig, model: HigherHRNet) -> tuple[int, ...]:
    """The output sides, one per model output: ``S / 4``, ``S / 2``, ..."""
    side = input_size(config, model)
    if side % 4:
        raise ValueError(f"the input size must be a multiple of 4 (outputs at 1/4 and 1/2), got {side}")
    return tuple(side // 4 * 2**index for index in range(len(model.with_tags)))


def build_codec(config: BottomUpConfig, model: HigherHRNet) -> AssociativeEmbedding:
    """The associative-embedding codec sized by the model and ``data``."""
    return AssociativeEmbedding(
        input_size(config, model),
        output_sizes(config, model),
        model.num_joints,
        sigma=config.data.sigma,
        max_num_people=config.data.max_num_people,
        tag_per_joint=model.tag_per_joint,
    )


def mask_policy(config: BottomUpConfig) -> Literal["crowd", "none"]:
    """``data.mask``, with ``"auto"`` resolved by the skeleton (the official datasets' choice)."""
    if config.data.mask != "auto":
        return config.data.mask
    return "none" if get_skeleton(config.data.skeleton).name == "crowdpose" else "crowd"


def load_records(config: BottomUpConfig, split: Literal["train", "val"]) -> BottomUpRecords:
    """The images of a split (training drops images without annotations, as the official loader)."""
    data = config.data
    annotations = data.train_annotations if split == "train" else data.val_annotations
    images = data.train_images if split == "train" else data.val_images
    if not annotations:
        raise ValueError(f"data.{split}_annotations is not set")
    records = load_bottomup_coco(
        annotations,
        images,
        data.skeleton,
        mask=mask_policy(config),
        remove_images_without_annotations=split == "train",
    )
    limit = data.max_train_images if split == "train" else data.max_val_images
    if limit is not None and limit < len(records):
        records = records.select(range(limit))
    if len(records) == 0:
        raise ValueError(f"{annotations}: no {split} images")
    return records


def train_transform(config: BottomUpConfig, model: HigherHRNet, codec: AssociativeEmbedding) -> BottomUpTransform:
    """The official training augmentation with the codec."""
    augmentation = config.augmentation
    return BottomUpTransform(
        input_size(config, model),
        codec.output_sizes,
        get_skeleton(config.data.skeleton).flip_indices,
        max_rotation=augmentation.max_rotation,
        min_scale=augmentation.min_scale,
        max_scale=augmentation.max_scale,
        scale_type=augmentation.scale_type,
        max_translate=augmentation.max_translate,
        flip_prob=augmentation.flip_prob,
        codec=codec,
    )
