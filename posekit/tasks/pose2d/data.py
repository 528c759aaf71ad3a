"""Data building for the ``pose2d`` task: the model and codec a config describes, person records, crop transforms.

What the config derives (never written twice): ``K`` from the skeleton, the input size and heatmap
size from the model, the codec from the model's ``output_kind`` (see
:func:`posekit.models.pose2d.loading.build_model_codec`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from posekit.codecs import Codec
from posekit.data.keypoints2d import PersonRecords, load_coco_keypoints, load_mpii
from posekit.data.transforms import TopDownTransform
from posekit.models.pose2d.base import Pose2DModel
from posekit.models.pose2d.loading import build_model_codec
from posekit.models.registry import get_model
from posekit.skeletons import Skeleton, get_skeleton
from posekit.tasks.pose2d.config import DataConfig, Pose2DConfig


def build_model(config: Pose2DConfig) -> Pose2DModel:
    """The configured 2D model with ``K`` from the skeleton, weights loaded when configured."""
    skeleton = get_skeleton(config.data.skeleton)
    kwargs = dict(config.model.kwargs)
    kwargs["num_keypoints"] = skeleton.num_keypoints
    model = get_model(config.model.name, weights=config.model.weights, **kwargs)
    if not isinstance(model, Pose2DModel):
        raise ValueError(f"model {config.model.name!r} is not a 2D single-person model (posekit Pose2DModel)")
    if config.model.pretrained is not None:
        from posekit.io.checkpoint import load_model_weights

        load_model_weights(model, config.model.pretrained, strict=False)
    return model


def build_codec_for_model(model: Pose2DModel, data: DataConfig) -> Codec:
    """The codec ``data.codec`` names (``"auto"``: by the model's output kind), sized by the model."""
    return build_model_codec(model, data.codec, sigma=data.sigma, unbiased=data.unbiased)


def load_records(config: Pose2DConfig, split: Literal["train", "val"], input_size: tuple[int, int]) -> PersonRecords:
    data = config.data
    annotations = data.train_annotations if split == "train" else data.val_annotations
    images = data.train_images if split == "train" else data.val_images
    if not annotations:
        raise ValueError(f"data.{split}_annotations is not set")
    if data.format == "mpii":
        records = load_mpii(annotations, images, input_size, head_boxes=data.head_boxes if split == "val" else None)
    else:
        detections = data.val_detections if split == "val" else None
        records = load_coco_keypoints(
            annotations,
            images,
            data.skeleton,
            input_size,
            detections=detections,
            box_score_threshold=data.box_score_threshold,
        )
    limit = data.max_train_samples if split == "train" else data.max_val_samples
    if limit is not None and limit < len(records):
        records = records.select(np.arange(limit))
    if len(records) == 0:
        raise ValueError(f"{annotations}: no {split} samples (no person with a labelled keypoint or a kept box)")
    return records


def train_transform(config: Pose2DConfig, model: Pose2DModel, codec: Codec, skeleton: Skeleton) -> TopDownTransform:
    augmentation = config.augmentation
    return TopDownTransform(
        model.input_size,
        codec,
        train=True,
        flip_indices=skeleton.flip_indices,
        flip_prob=augmentation.flip_prob,
        scale_factor=augmentation.scale_factor,
        rotation_factor=augmentation.rotation_factor,
        rotation_prob=augmentation.rotation_prob,
        half_body_prob=augmentation.half_body_prob,
        half_body_min_keypoints=augmentation.half_body_min_keypoints,
        upper_body_indices=skeleton.upper_body_indices,
        brightness=augmentation.brightness,
        contrast=augmentation.contrast,
        saturation=augmentation.saturation,
        use_udp=augmentation.use_udp,
        joint_weights=skeleton.joint_weights if augmentation.use_joint_weights else None,
    )


def eval_transform(model: Pose2DModel, use_udp: bool) -> TopDownTransform:
    return TopDownTransform(model.input_size, None, train=False, use_udp=use_udp)
