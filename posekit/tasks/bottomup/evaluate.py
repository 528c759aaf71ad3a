"""Evaluation of the ``pose2d_bottomup`` task: COCO (or CrowdPose) AP of grouped people on whole images.

Legend: ``M`` people of an image, ``K`` keypoints.

As the official ``tools/valid.py`` + ``COCODataset.evaluate``: every image of the validation file
(with or without people) goes through the bottom-up estimator
(:class:`posekit.inference.bottomup.BottomUpEstimator`: the official resize rule, flip test,
multi-resolution aggregation, multi-scale, grouping, refinement and the transform back to the
image); each person becomes one COCO result with its ``(K, 3)`` keypoints ``x, y, score`` and the
person score, without rescoring or OKS-NMS (the official evaluation keeps all of them), scored by
pycocotools' ``COCOeval`` (:func:`posekit.metrics.coco_keypoint_eval`). CrowdPose (``skeleton:
crowdpose``) uses its protocol: box-based OKS scale and the easy/medium/hard split.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from posekit.data.bottomup import BottomUpRecords
from posekit.engine.trainer import resolve_device
from posekit.io.atomic import atomic_write_json
from posekit.io.images import read_image
from posekit.metrics import coco_keypoint_eval
from posekit.tasks import default_weights
from posekit.tasks.bottomup.config import BottomUpConfig
from posekit.tasks.bottomup.data import build_model, load_records

if TYPE_CHECKING:
    from posekit.inference.bottomup import BottomUpEstimator
    from posekit.models.bottomup.higher_hrnet import HigherHRNet


def build_estimator(config: BottomUpConfig, model: HigherHRNet, device: torch.device | str) -> BottomUpEstimator:
    """The official test pipeline with the ``eval`` settings."""
    from posekit.codecs.ae_grouping import GroupingConfig
    from posekit.inference.bottomup import BottomUpEstimator

    settings = config.eval
    grouping = GroupingConfig(
        num_joints=model.num_joints,
        max_num_people=settings.max_num_people,
        detection_threshold=settings.detection_threshold,
        tag_threshold=settings.tag_threshold,
        use_detection_val=settings.use_detection_val,
        ignore_too_much=settings.ignore_too_much,
        tag_per_joint=model.tag_per_joint,
        nms_kernel=settings.nms_kernel,
        nms_padding=settings.nms_padding,
    )
    return BottomUpEstimator(
        model,
        scales=settings.scales,
        flip_test=settings.flip_test,
        adjust=settings.adjust,
        refine=settings.refine,
        grouping=grouping,
        device=str(device),
    )


def predict_results(estimator: BottomUpEstimator, records: BottomUpRecords) -> list[dict[str, Any]]:
    """COCO results of every image: one per grouped person (``keypoints`` of ``3 K`` values, ``score``)."""
    results: list[dict[str, Any]] = []
    for entry in records.images:
        people, scores = estimator.predict_people(read_image(entry.file))  # (M, K, 3), (M,)
        people = np.asarray(people, dtype=np.float64)
        for person, score in zip(people, np.asarray(scores, dtype=np.float64), strict=True):
            flat = person[:, :3].reshape(-1)  # (K, 3) -> (3K,)
            results.append(
                {
                    "image_id": entry.image_id,
                    "category_id": 1,
                    "keypoints": [round(float(value), 3) for value in flat],
                    "score": float(score),
                }
            )
    return results


def compute_metrics(
    config: BottomUpConfig, records: BottomUpRecords, results: list[dict[str, Any]]
) -> dict[str, float]:
    """COCO (or CrowdPose) keypoint AP of ``results`` on the validation file, restricted to ``records``' images."""
    crowdpose = records.skeleton == "crowdpose"
    use_area = config.eval.use_area if config.eval.use_area is not None else not crowdpose
    ground_truth: Any = config.data.val_annotations
    if config.data.max_val_images is not None:
        from posekit.io.json import load_json

        data = dict(load_json(ground_truth, "annotation"))
        kept = {entry.image_id for entry in records.images}
        data["images"] = [image for image in data["images"] if int(image["id"]) in kept]
        data["annotations"] = [entry for entry in data["annotations"] if int(entry["image_id"]) in kept]
        ground_truth = data
    metrics = coco_keypoint_eval(
        ground_truth,
        results,
        skeleton=records.skeleton,
        use_area=use_area,
        iou_type="keypoints_crowd" if crowdpose else "keypoints",
        drop_zero_confidence=crowdpose,
    )
    return {name: float(value) for name, value in metrics.items() if math.isfinite(value)}


def evaluate_model(
    config: BottomUpConfig, model: HigherHRNet, records: BottomUpRecords, device: torch.device | str
) -> dict[str, float]:
    """Metrics of ``model`` on ``records`` (the model is put in eval mode and restored)."""
    was_training = model.training
    model.eval()
    try:
        estimator = build_estimator(config, model, device)
        with torch.no_grad():
            results = predict_results(estimator, records)
    finally:
        model.train(was_training)
    if config.eval.results_file:
        atomic_write_json(config.eval.results_file, results)
    return compute_metrics(config, records, results)


def evaluate(config: BottomUpConfig, weights: str | None = None) -> dict[str, float]:
    """Evaluate ``weights`` (default ``train.out_dir/best.pt``, else ``last.pt``) on the validation images.

    Raises:
        FileNotFoundError: no weights given and none in ``train.out_dir``.
        ValueError: the weights do not fit the model, or the metric cannot be computed.
    """
    if weights is None:
        weights = default_weights(config.train.out_dir)
    config = dataclasses.replace(config, model=dataclasses.replace(config.model, weights=weights, pretrained=None))
    model = build_model(config)
    device = resolve_device(config.train.device)
    model.to(device)
    records = load_records(config, "val")
    return evaluate_model(config, model, records, device)
