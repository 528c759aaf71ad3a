"""Task ``pose2d_bottomup``: train and evaluate bottom-up multi-person 2D models (HigherHRNet).

A config file (``configs/higherhrnet_*.yaml``) maps onto :class:`BottomUpConfig`::

    task: pose2d_bottomup
    model: {name: higherhrnet_w32_512, pretrained: models/imagenet/hrnet_w32-36af842e.pth}
    data: {train_annotations: data/coco/annotations/person_keypoints_train2017.json, ...}
    train: {epochs: 300, optimizer: adam, lr: 0.001, milestones: [200, 260]}
    eval: {scales: [1.0], flip_test: true}

Legend: ``B`` batch, ``K`` keypoints, ``S`` output resolutions, input side ``S_in``.

What is derived (never written twice): ``K``, the tag layout and the input side from the model,
the output resolutions ``S_in / 4 * 2^i`` from the model's outputs, the tag-loss resolutions from
the outputs that carry tags, the mask policy from the skeleton.

Training (:func:`train`): whole images through the official augmentation
(:class:`posekit.data.bottomup.BottomUpTransform`), targets from the
:class:`~posekit.codecs.associative_embedding.AssociativeEmbedding` codec, the official loss
(:mod:`posekit.losses.associative_embedding`), :class:`posekit.engine.Trainer` (DDP under ``torchrun``).

Evaluation (:func:`evaluate`): COCO AP of the grouped people through pycocotools, with the
official single-scale (``eval.scales: [1.0]``) or multi-scale (``[0.5, 1.0, 2.0]``) test and flip;
CrowdPose AP with its protocol when the skeleton is ``crowdpose``.
"""

from __future__ import annotations

from posekit.tasks import register_task
from posekit.tasks.bottomup.config import (
    AugmentationConfig,
    BottomUpConfig,
    DataConfig,
    EvalConfig,
    LossConfig,
    ModelConfig,
)
from posekit.tasks.bottomup.data import build_codec, build_model, load_records
from posekit.tasks.bottomup.evaluate import compute_metrics, evaluate, evaluate_model, predict_results
from posekit.tasks.bottomup.losses import build_loss, training_losses
from posekit.tasks.bottomup.train import train

__all__ = [
    "AugmentationConfig",
    "BottomUpConfig",
    "DataConfig",
    "EvalConfig",
    "LossConfig",
    "ModelConfig",
    "build_codec",
    "build_loss",
    "build_model",
    "compute_metrics",
    "evaluate",
    "evaluate_model",
    "load_records",
    "predict_results",
    "train",
    "training_losses",
]

register_task(
    "pose2d_bottomup",
    BottomUpConfig,
    train,
    evaluate,
    description="bottom-up multi-person 2D models (HigherHRNet with associative-embedding grouping)",
)
