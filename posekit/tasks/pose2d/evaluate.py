"""Prediction and evaluation of the ``pose2d`` task: crops, flip test, decoding, COCO AP / PCKh / PCK.

Legend: ``N`` people, ``B`` batch, ``K`` keypoints, input ``(w, h)``, heatmaps ``(W, H)``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from posekit.codecs import Codec, IntegralRegression, MSRAHeatmap, UDPHeatmap, flip_coordinates, flip_heatmaps
from posekit.data.keypoints2d import PersonRecords, TopDownDataset
from posekit.data.transforms import collate
from posekit.engine.trainer import resolve_device
from posekit.geometry import affine_transform_points, invert_affine
from posekit.inference.model_estimator import rescore_instances
from posekit.io.atomic import atomic_write_json
from posekit.metrics import coco_keypoint_eval, oks_nms, pck_box, pckh
from posekit.metrics.pck import epe
from posekit.models.pose2d.base import Pose2DModel
from posekit.skeletons import get_skeleton
from posekit.tasks import default_weights
from posekit.tasks.pose2d.config import EvalConfig, Pose2DConfig
from posekit.tasks.pose2d.data import build_codec_for_model, build_model, eval_transform, load_records


@torch.no_grad()
def predict_records(
    model: Pose2DModel,
    records: PersonRecords,
    codec: Codec,
    flip_test: bool = True,
    shift_heatmap: bool = True,
    use_udp: bool = False,
    batch_size: int = 64,
    workers: int = 0,
    device: torch.device | str = "cpu",
) -> tuple[np.ndarray, np.ndarray]:
    """Predict every record's keypoints in image pixels.

    Args:
        model: a 2D model (put in eval mode here).
        records: the people (crops at their centres and scales).
        codec: decodes heatmaps (heatmap models; hybrids use their coordinates).
        flip_test: average with the mirrored crop's prediction mapped back.
        shift_heatmap: HRNet's one-pixel shift of mirrored heatmaps.
        use_udp: crop with the UDP warp (as in training).
        batch_size: crops per forward pass.
        workers: loader workers.
        device: where the model runs.

    Returns:
        keypoints ``(N, K, 2)`` float32 in image pixels and scores ``(N, K)`` float32 (heatmap maxima,
        soft-argmax window masses for hybrids, 1 for pure regression).
    """
    skeleton_flip = get_skeleton(records.skeleton).flip_indices
    dataset = TopDownDataset(records, eval_transform(model, use_udp), missing_images="error")
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=workers, collate_fn=collate)
    was_training = model.training
    model.eval()
    model.to(device)
    width = model.input_size[0]
    all_keypoints, all_scores = [], []
    try:
        for batch in loader:
            images = batch["image"].to(device)
            if model.output_kind == "heatmap":
                heatmaps = model(images)  # (B, K, H, W)
                if flip_test:
                    mirrored = model(images.flip(-1))
                    heatmaps = 0.5 * (heatmaps + flip_heatmaps(mirrored, skeleton_flip, shift_heatmap))
                crop_points, scores = _decode_heatmaps(codec, heatmaps)
            else:
                outputs = model.forward_outputs(images)
                coordinates = outputs.coordinates
                assert coordinates is not None
                if flip_test:
                    mirrored_outputs = model.forward_outputs(images.flip(-1))
                    assert mirrored_outputs.coordinates is not None
                    coordinates = 0.5 * (
                        coordinates + flip_coordinates(mirrored_outputs.coordinates, skeleton_flip, width)
                    )
                size = torch.tensor(model.input_size, dtype=coordinates.dtype, device=coordinates.device)
                crop_points = (coordinates * size).cpu().numpy()
                if outputs.heatmaps is not None and isinstance(codec, IntegralRegression):
                    _, score_tensor = codec.decode_torch(outputs.heatmaps[:, : model.num_keypoints])
                    scores = score_tensor.cpu().numpy()
                else:
                    scores = np.ones(crop_points.shape[:2], dtype=np.float32)
            to_image = invert_affine(batch["warp_matrix"].numpy())  # (B, 2, 3) crop -> image
            all_keypoints.append(affine_transform_points(crop_points.astype(np.float64), to_image).astype(np.float32))
            all_scores.append(np.asarray(scores, dtype=np.float32))
    finally:
        model.train(was_training)
    num_keypoints = model.num_keypoints
    if not all_keypoints:
        return np.zeros((0, num_keypoints, 2), np.float32), np.zeros((0, num_keypoints), np.float32)
    return np.concatenate(all_keypoints), np.concatenate(all_scores)


def _decode_heatmaps(codec: Codec, heatmaps: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    maps = heatmaps.float().cpu().numpy()
    if isinstance(codec, (MSRAHeatmap, UDPHeatmap)):
        return codec.decode(maps)
    if isinstance(codec, IntegralRegression):
        return codec.heatmap_codec.decode(maps)
    raise ValueError(f"cannot decode heatmaps with {type(codec).__name__}")


def compute_metrics(
    records: PersonRecords,
    keypoints: np.ndarray,
    scores: np.ndarray,
    eval_config: EvalConfig,
    annotation_file: str | None = None,
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Metrics of predictions ``keypoints (N, K, 2)``, ``scores (N, K)`` on ``records``.

    Returns:
        ``(metrics, results)``: the metric dict (``coco_ap``: the ten COCO numbers; ``pckh``:
        ``PCKh`` and the MPII table; ``pck``: ``PCK`` and ``EPE`` in pixels) and the per-person
        COCO results (after rescoring and OKS-NMS for ``coco_ap``).
    """
    results = _coco_results(records, keypoints, scores, eval_config)
    metric = eval_config.metric
    if metric == "coco_ap":
        if annotation_file is None:
            raise ValueError("metric coco_ap needs the annotation file")
        crowdpose = records.skeleton == "crowdpose"  # its official evaluation: box scale, easy/medium/hard AP
        use_area = eval_config.use_area if eval_config.use_area is not None else not crowdpose
        metrics = coco_keypoint_eval(
            annotation_file,
            results,
            skeleton=records.skeleton,
            use_area=use_area,
            iou_type="keypoints_crowd" if crowdpose else "keypoints",
            drop_zero_confidence=crowdpose,
        )
        return metrics, results
    if metric == "pckh":
        if records.head_boxes is None:
            raise ValueError("metric pckh needs head boxes: set data.head_boxes (MPII gt_valid.mat, .npz or .npy)")
        result = pckh(keypoints, records.keypoints, records.visible, head_boxes=records.head_boxes)
        metrics = {"PCKh": float(result.mean)}
        metrics.update({f"PCKh_{name}": float(value) for name, value in result.summary.items()})
        return metrics, results
    if np.all(records.visible == 0):
        raise ValueError("metric pck needs ground-truth keypoints (evaluate on ground-truth boxes, not detections)")
    pck_result = pck_box(keypoints, records.keypoints, records.visible, records.boxes, eval_config.pck_threshold)
    metrics = {"PCK": float(pck_result.mean), "EPE": epe(keypoints, records.keypoints, records.visible)}
    return metrics, results


def _coco_results(
    records: PersonRecords, keypoints: np.ndarray, scores: np.ndarray, eval_config: EvalConfig
) -> list[dict[str, Any]]:
    """Per-person COCO results, rescored and OKS-NMS filtered per image (HRNet ``COCODataset.evaluate``)."""
    person_scores = rescore_instances(scores, records.box_scores)  # (N,)
    areas = records.scales[:, 0] * records.scales[:, 1]  # HRNet: the crop area, np.prod(s * 200)
    results: list[dict[str, Any]] = []
    skeleton = records.skeleton
    sigmas = get_skeleton(skeleton).sigmas
    for image_id in np.unique(records.image_ids):
        members = np.flatnonzero(records.image_ids == image_id)
        points = np.concatenate([keypoints[members], scores[members, :, None]], axis=-1)  # (n, K, 3)
        keep = members
        if eval_config.metric == "coco_ap" and sigmas is not None and len(members) > 1:
            kept = oks_nms(points, person_scores[members], areas[members], eval_config.oks_nms_threshold, sigmas=sigmas)
            keep = members[kept]
        for index in keep:
            flat = np.concatenate([keypoints[index], scores[index, :, None]], axis=-1).reshape(-1)  # (K, 3) -> (3K,)
            results.append(
                {
                    "image_id": int(image_id),
                    "category_id": 1,
                    "keypoints": [round(float(value), 3) for value in flat],
                    "score": float(person_scores[index]),
                }
            )
    return results


def evaluate_model(
    config: Pose2DConfig, model: Pose2DModel, codec: Codec, records: PersonRecords, device: torch.device
) -> dict[str, float]:
    keypoints, scores = predict_records(
        model,
        records,
        codec,
        flip_test=config.eval.flip_test,
        shift_heatmap=config.eval.shift_heatmap,
        use_udp=config.augmentation.use_udp,
        batch_size=config.data.val_batch_size,
        workers=0,
        device=device,
    )
    metrics, results = compute_metrics(records, keypoints, scores, config.eval, config.data.val_annotations)
    if config.eval.results_file:
        atomic_write_json(config.eval.results_file, results)
    return {name: value for name, value in metrics.items() if math.isfinite(value)}


def evaluate(config: Pose2DConfig, weights: str | None = None) -> dict[str, float]:
    """Evaluate ``weights`` (default ``train.out_dir/best.pt``, else ``last.pt``) on the validation set.

    Raises:
        FileNotFoundError: no weights given and none in ``train.out_dir``.
        ValueError: the weights do not match the model, or the metric cannot be computed.
    """
    if weights is None:
        weights = default_weights(config.train.out_dir)
    config = dataclasses.replace(config, model=dataclasses.replace(config.model, weights=weights, pretrained=None))
    model = build_model(config)
    codec = build_codec_for_model(model, config.data)
    records = load_records(config, "val", model.input_size)
    device = resolve_device(config.train.device)
    return evaluate_model(config, model, codec, records, device)
