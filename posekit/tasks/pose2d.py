"""Task ``pose2d``: train and evaluate top-down 2D single-person models (every family).

A config file (``configs/*.yaml``) maps onto :class:`Pose2DConfig`::

    task: pose2d
    model: {name: simplebaseline_res18_128x96}
    data: {train_annotations: data/synthetic/annotations/train.json, train_images: data/synthetic/images/train,
           val_annotations: data/synthetic/annotations/val.json, val_images: data/synthetic/images/val}
    train: {epochs: 8, lr: 0.001, batch_size: ...}
    eval: {metric: pck}

Legend: ``B`` batch, ``K`` keypoints, ``S`` stages, input ``(w, h)``, heatmaps ``(W, H)``.

What the config derives (never written twice): ``K`` from the skeleton, the input size and heatmap
size from the model, the codec from the model's ``output_kind`` (``"auto"``: MSRA Gaussian heatmaps
for heatmap models, normalised labels for coordinate models, the integral codec, labels plus
Gaussian heatmaps, for hybrids).

Training (one step, :func:`training_losses`):

* heatmap models: :class:`~posekit.losses.heatmap.JointsMSELoss` (or OHKM) on every stage, summed
  (intermediate supervision: Stacked Hourglass, CPM; CPM's targets gain the background map);
* coordinate models: DeepPose, the L2 loss (``loss.coordinate``) on every stage's normalised
  coordinates, or only on stage ``stage`` when the config trains the cascade stage by stage (the
  paper's procedure, Sec. 3.2: that stage's parameters train, every other stage is frozen, in eval
  mode, and earlier stages provide its input estimates; start from the previous stage's
  checkpoint with ``model.weights``; with ``cascade.simulated_fraction`` the refinement stages
  are also fed simulated estimates, ground truth plus noise, as Sec. 3.2, Eq. 7); IEF, Fixed
  Path Consolidation: at every iteration the correction is regressed onto
  :func:`~posekit.models.pose2d.ief.ief_targets`, the bounded part
  of the remaining error (Carreira et al. 2016, Sec. 2.2), and the mean pose ``y_0`` is set from
  the training labels first;
* hybrids (integral, DS-CNN): the coordinate loss (L1 by default, Sun et al. 2018) plus
  ``loss.heatmap_weight`` times the heatmap loss on the same Gaussian targets.

Before each evaluation during training, ``eval.precise_bn_batches`` can recompute the BatchNorm
statistics with the current weights (:func:`recompute_batchnorm_statistics`): DeepPose and IEF
regress coordinates from globally pooled features, whose eval-mode output shifts with lagging
moving-average statistics.

Evaluation (:func:`predict_records` then :func:`compute_metrics`): crops at the records' boxes,
optional flip test (the image is mirrored, the prediction mirrored back with the skeleton's
flip pairs; heatmaps are shifted one pixel right as HRNet's ``TEST.SHIFT_HEATMAP``), keypoints
decoded with the codec (argmax + quarter offset, or DARK) and mapped back into the image with
the inverse crop matrix. Metrics: ``coco_ap`` (per-person results rescored by
``box score x mean of the keypoint scores above 0.2`` and filtered by OKS-NMS per image, as HRNet's
``COCODataset.evaluate``; pycocotools COCOeval), ``pckh`` (MPII, head boxes needed) or ``pck``
(PCK at ``eval.pck_threshold`` of the box size ``max(w, h)``, the synthetic set's metric).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from posekit.codecs import Codec, IntegralRegression, MSRAHeatmap, UDPHeatmap, flip_coordinates, flip_heatmaps
from posekit.data.keypoints2d import PersonRecords, TopDownDataset, load_coco_keypoints, load_mpii
from posekit.data.transforms import TopDownTransform, collate
from posekit.engine import TrainConfig, Trainer
from posekit.engine.trainer import resolve_device
from posekit.geometry import affine_transform_points, invert_affine
from posekit.inference.topdown_model import rescore_instances
from posekit.io.atomic import atomic_write_json
from posekit.losses.coordinate import KeypointL1Loss, KeypointMSELoss
from posekit.losses.heatmap import JointsMSELoss, JointsOHKMMSELoss, MultiStageLoss
from posekit.metrics import coco_keypoint_eval, oks_nms, pck_box, pckh
from posekit.metrics.pck import epe
from posekit.models.pose2d.base import Pose2DModel
from posekit.models.pose2d.loading import build_model_codec
from posekit.models.registry import get_model
from posekit.skeletons import Skeleton, get_skeleton
from posekit.tasks import register_task

__all__ = [
    "AugmentationConfig",
    "CascadeConfig",
    "DataConfig",
    "EvalConfig",
    "LossConfig",
    "ModelConfig",
    "Pose2DConfig",
    "Pose2DTrainingView",
    "build_codec_for_model",
    "build_model",
    "compute_metrics",
    "evaluate",
    "predict_records",
    "recompute_batchnorm_statistics",
    "train",
    "training_losses",
]


# ---------------------------------------------------------------------------------------------
# config
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelConfig:
    """The network.

    Attributes:
        name: a registered 2D model (``posekit info`` lists them).
        kwargs: extra builder arguments (``num_keypoints`` comes from the skeleton).
        weights: a checkpoint loaded strictly before training (e.g. the previous DeepPose stage).
        pretrained: a checkpoint loaded non-strictly (matching names only: ImageNet backbones).
    """

    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    weights: str | None = None
    pretrained: str | None = None


@dataclass(frozen=True)
class DataConfig:
    """Datasets, codec and loaders.

    Attributes:
        format: ``"coco"`` (any COCO-format file) or ``"mpii"`` (HRNet's MPII JSON).
        skeleton: keypoint format of the files (``coco``, ``crowdpose``, ``mpii``, ...).
        train_annotations: training annotation file.
        train_images: folder of the training images.
        val_annotations: validation annotation file.
        val_images: folder of the validation images.
        val_detections: person detections (COCO results) to evaluate on instead of ground-truth boxes.
        box_score_threshold: detections below this score are dropped.
        head_boxes: MPII head boxes for PCKh (``gt_valid.mat``, ``.npz`` or ``.npy``).
        codec: ``"auto"``, ``"msra"``, ``"udp"``, ``"integral"`` or ``"regression"``.
        sigma: Gaussian sigma in heatmap pixels.
        unbiased: DARK encoding and decoding (MSRA codec).
        batch_size: training batch per process.
        val_batch_size: evaluation batch.
        workers: loader worker processes.
        missing_images: ``"skip"`` or ``"error"`` for training images that are missing (evaluation
            always errors).
        max_train_samples: use only the first this many training people (quick runs).
        max_val_samples: evaluate on only the first this many people.
    """

    train_annotations: str = ""
    train_images: str = ""
    val_annotations: str = ""
    val_images: str = ""
    format: Literal["coco", "mpii"] = "coco"
    skeleton: str = "coco"
    val_detections: str | None = None
    box_score_threshold: float = 0.0
    head_boxes: str | None = None
    codec: Literal["auto", "msra", "udp", "integral", "regression"] = "auto"
    sigma: float = 2.0
    unbiased: bool = False
    batch_size: int = 32
    val_batch_size: int = 64
    workers: int = 2
    missing_images: Literal["skip", "error"] = "skip"
    max_train_samples: int | None = None
    max_val_samples: int | None = None

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.val_batch_size < 1:
            raise ValueError(f"batch sizes must be >= 1, got {self.batch_size} and {self.val_batch_size}")
        if self.workers < 0:
            raise ValueError(f"workers must be >= 0, got {self.workers}")
        if not self.sigma > 0:
            raise ValueError(f"sigma must be > 0, got {self.sigma}")


@dataclass(frozen=True)
class AugmentationConfig:
    """Training augmentation (see :class:`posekit.data.transforms.TopDownTransform`); HRNet COCO defaults."""

    flip_prob: float = 0.5
    scale_factor: float = 0.35
    rotation_factor: float = 40.0
    rotation_prob: float = 0.6
    half_body_prob: float = 0.3
    half_body_min_keypoints: int = 8
    brightness: float = 0.0
    contrast: float = 0.0
    saturation: float = 0.0
    use_udp: bool = False
    use_joint_weights: bool = False


@dataclass(frozen=True)
class LossConfig:
    """Loss terms.

    Attributes:
        heatmap: ``"mse"`` (HRNet JointsMSELoss) or ``"ohkm"`` (online hard keypoint mining).
        ohkm_topk: joints kept per sample by OHKM.
        use_target_weight: weight every term by the per-keypoint target weights.
        coordinate: ``"l1"``, ``"smooth_l1"`` or ``"mse"`` for coordinate outputs.
        smooth_beta: transition point of the smooth L1 loss (normalised units).
        heatmap_weight: factor of the heatmap term (hybrids; 1 for heatmap models).
        coordinate_weight: factor of the coordinate term.
        stage_weights: per-stage factors (``None``: every stage 1).
    """

    heatmap: Literal["mse", "ohkm"] = "mse"
    ohkm_topk: int = 8
    use_target_weight: bool = True
    coordinate: Literal["l1", "smooth_l1", "mse"] = "l1"
    smooth_beta: float = 0.05
    heatmap_weight: float = 1.0
    coordinate_weight: float = 1.0
    stage_weights: tuple[float, ...] | None = None


@dataclass(frozen=True)
class EvalConfig:
    """Evaluation.

    Attributes:
        metric: ``"coco_ap"``, ``"pckh"`` or ``"pck"``.
        flip_test: average with the prediction on the mirrored crop.
        shift_heatmap: shift mirrored heatmaps one pixel right (HRNet; off for UDP).
        oks_nms_threshold: OKS above which a lower-scored person is suppressed (``coco_ap``).
        pck_threshold: PCK threshold as a fraction of the box size.
        use_area: COCO ``area`` as the OKS scale (``None``: yes, except for CrowdPose, which uses
            the box as its official evaluation does).
        results_file: also write the predictions here (COCO results JSON).
        precise_bn_batches: during training, before each evaluation, recompute the BatchNorm
            running statistics as plain averages over this many training batches with the current
            weights (no gradient; "precise BN", Wu & Johnson 2021, Sec. 3); the checkpoints then
            carry these statistics. 0 keeps the exponential moving averages of training.
    """

    metric: Literal["coco_ap", "pckh", "pck"] = "coco_ap"
    flip_test: bool = True
    shift_heatmap: bool = True
    oks_nms_threshold: float = 0.9
    pck_threshold: float = 0.2
    use_area: bool | None = None
    results_file: str | None = None
    precise_bn_batches: int = 0

    def __post_init__(self) -> None:
        if self.precise_bn_batches < 0:
            raise ValueError(f"precise_bn_batches must be >= 0, got {self.precise_bn_batches}")


@dataclass(frozen=True)
class CascadeConfig:
    """DeepPose refinement-stage training (Toshev & Szegedy 2014, Sec. 3.2, Eq. 7).

    The paper trains stage ``s`` on the estimates of stage ``s - 1`` *and* on simulated ones: the
    ground truth moved by displacements drawn from the previous stage's error distribution. Here a
    fraction of the (sample, joint) pairs fed to each refinement stage during training is replaced
    by ``ground truth + N(0, (simulated_std * crop)^2)`` per axis (``crop`` the refinement box in input
    pixels), so the stage learns to localise a joint inside its box from the first step on, not only
    once stage 1 has become accurate.

    Attributes:
        simulated_fraction: fraction of joints fed a simulated estimate (0: only the previous stage's).
        simulated_std: standard deviation of the simulated displacement, a fraction of the box side.
    """

    simulated_fraction: float = 0.0
    simulated_std: float = 0.25

    def __post_init__(self) -> None:
        if not 0.0 <= self.simulated_fraction <= 1.0:
            raise ValueError(f"simulated_fraction must be in [0, 1], got {self.simulated_fraction}")
        if not self.simulated_std > 0:
            raise ValueError(f"simulated_std must be > 0, got {self.simulated_std}")


@dataclass(frozen=True)
class Pose2DConfig:
    """Everything ``posekit train`` / ``posekit evaluate`` need for a 2D single-person recipe.

    Attributes:
        model: the network.
        data: datasets, codec, loaders.
        augmentation: training augmentation.
        loss: loss terms.
        train: the training loop (:class:`posekit.engine.TrainConfig`).
        eval: evaluation.
        stage: DeepPose only: train only this 0-based cascade stage (``None``: every stage at once).
        cascade: DeepPose only: how the refinement stages are fed during training.
    """

    model: ModelConfig
    data: DataConfig
    augmentation: AugmentationConfig = field(default_factory=AugmentationConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    stage: int | None = None
    cascade: CascadeConfig = field(default_factory=CascadeConfig)


# ---------------------------------------------------------------------------------------------
# building blocks
# ---------------------------------------------------------------------------------------------


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


def _load_records(config: Pose2DConfig, split: Literal["train", "val"], input_size: tuple[int, int]) -> PersonRecords:
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


def _train_transform(config: Pose2DConfig, model: Pose2DModel, codec: Codec, skeleton: Skeleton) -> TopDownTransform:
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


def _eval_transform(model: Pose2DModel, use_udp: bool) -> TopDownTransform:
    return TopDownTransform(model.input_size, None, train=False, use_udp=use_udp)


# ---------------------------------------------------------------------------------------------
# training
# ---------------------------------------------------------------------------------------------


class Pose2DTrainingView(nn.Module):
    """The model as the trainer sees it: ``forward`` returns every stage's outputs.

    The view shares the model's submodules, parameters and buffers (same ``state_dict`` names, so
    its checkpoints load into the plain model with ``get_model(name, weights=...)``) and its
    ``forward`` is what the loss needs, so that ``DistributedDataParallel`` wraps the call that
    produces the gradients.

    ``forward(images)`` returns ``{"heatmaps": [S x (B, K(+1), H, W)], "coordinates": [S x (B, K, 2)]}``;
    for IEF ``{"estimates": [...], "corrections": [...]}`` (:meth:`forward_corrections`); for a
    DeepPose trained at stage ``s``, the coordinates of stages ``0..s``. ``forward(images, labels)``
    (DeepPose in training mode, ``cascade.simulated_fraction > 0``) feeds the refinement stages a
    mix of the previous stage's estimates and simulated ones (:class:`CascadeConfig`).

    Args:
        model: the 2D model.
        stage: DeepPose stage being trained (the others are frozen and kept in eval mode).
        cascade: DeepPose refinement feeding (default: the previous stage's estimates only).
    """

    def __init__(self, model: Pose2DModel, stage: int | None = None, cascade: CascadeConfig | None = None) -> None:
        super().__init__()
        from posekit.models.pose2d.deeppose import DeepPose

        if stage is not None:
            if not isinstance(model, DeepPose):
                raise ValueError(f"stage is for DeepPose cascades only, got a {type(model).__name__}")
            if not 0 <= stage < model.num_stages:
                raise ValueError(f"stage must be in [0, {model.num_stages}), got {stage}")
            for index, module in enumerate(model.stages):
                module.requires_grad_(index == stage)
        # Share (not copy) the model's registries: identical state_dict names, no "model." prefix.
        self.__dict__["pose_model"] = model
        self._modules = model._modules
        self._parameters = model._parameters
        self._buffers = model._buffers
        self._non_persistent_buffers_set = model._non_persistent_buffers_set
        self.stage = stage
        self.cascade = cascade if cascade is not None else CascadeConfig()

    @property
    def model(self) -> Pose2DModel:
        """The wrapped 2D model."""
        model: Pose2DModel = self.__dict__["pose_model"]
        return model

    def train(self, mode: bool = True) -> Pose2DTrainingView:
        """Set training mode on the model (frozen DeepPose stages stay in eval mode)."""
        super().train(mode)
        self.model.training = mode
        stages = getattr(self.model, "stages", None)
        if self.stage is not None and isinstance(stages, nn.ModuleList):
            for index, module in enumerate(stages):
                if index != self.stage:
                    module.eval()
        return self

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, list[torch.Tensor]]:
        """Every stage's outputs for ``images (B, 3, h, w)`` (see the class docstring).

        Args:
            images: ``(B, 3, h, w)`` network inputs.
            labels: ``(B, K, 2)`` normalised ground truth, used only to simulate DeepPose estimates.
        """
        from posekit.models.pose2d.deeppose import DeepPose
        from posekit.models.pose2d.ief import IterativeErrorFeedback

        model = self.model
        if isinstance(model, IterativeErrorFeedback):
            estimates, corrections = model.forward_corrections(images)
            return {"estimates": estimates, "corrections": corrections}
        simulate = self.training and labels is not None and self.cascade.simulated_fraction > 0
        if isinstance(model, DeepPose) and (self.stage is not None or simulate):
            last = self.stage if self.stage is not None else model.num_stages - 1
            coordinates = model.initial_estimate(images)
            stages = [coordinates]
            for stage in range(1, last + 1):
                fed = coordinates.detach()
                if simulate:
                    assert labels is not None
                    fed = self._simulated_estimates(model, fed, labels)
                coordinates = model.refine(images, fed, stage)
                stages.append(coordinates)
            return {"coordinates": stages}
        outputs = model.forward_outputs(images)
        return {"heatmaps": outputs.stage_heatmaps, "coordinates": outputs.stage_coordinates}

    def _simulated_estimates(self, model: Pose2DModel, estimates: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Replace a random ``simulated_fraction`` of ``estimates (B, K, 2)`` by jittered ``labels``."""
        if labels.shape != estimates.shape:
            raise ValueError(f"labels must have shape {tuple(estimates.shape)} (B, K, 2), got {tuple(labels.shape)}")
        crop_size = getattr(model, "crop_size", model.input_size)
        std = (
            torch.tensor(
                [crop_size[0] / model.input_size[0], crop_size[1] / model.input_size[1]],
                dtype=estimates.dtype,
                device=estimates.device,
            )
            * self.cascade.simulated_std
        )  # (2,) normalised units
        simulated = labels.to(estimates.dtype) + torch.randn_like(estimates) * std
        chosen = torch.rand(estimates.shape[:2], device=estimates.device) < self.cascade.simulated_fraction  # (B, K)
        return torch.where(chosen[..., None], simulated, estimates)


class _Losses:
    """The loss modules a :class:`LossConfig` describes."""

    def __init__(self, config: LossConfig) -> None:
        heatmap: nn.Module
        if config.heatmap == "ohkm":
            heatmap = JointsOHKMMSELoss(config.use_target_weight, topk=config.ohkm_topk)
        else:
            heatmap = JointsMSELoss(config.use_target_weight)
        coordinate: nn.Module
        if config.coordinate == "mse":
            coordinate = KeypointMSELoss(config.use_target_weight)
        else:
            beta = config.smooth_beta if config.coordinate == "smooth_l1" else None
            coordinate = KeypointL1Loss(config.use_target_weight, smooth_beta=beta)
        self.config = config
        self.heatmap = heatmap
        self.coordinate = coordinate


def training_losses(
    outputs: Mapping[str, Sequence[torch.Tensor]],
    batch: Mapping[str, Any],
    model: Pose2DModel,
    losses: _Losses,
    stage: int | None = None,
) -> dict[str, torch.Tensor]:
    """The loss terms of one batch.

    Args:
        outputs: :class:`Pose2DTrainingView` outputs.
        batch: collated samples: ``target_weight (B, K)``, ``heatmaps (B, K, H, W)`` and/or
            ``keypoint_labels (B, K, 2)``.
        model: the 2D model (for its flags: background channel, input size, IEF step bound).
        losses: the loss modules.
        stage: DeepPose stage being trained (loss on that stage only).

    Returns:
        ``{"loss": total, "heatmap": ..., "coordinate": ...}`` (terms present when computed).
    """
    config = losses.config
    weight = batch["target_weight"]
    terms: dict[str, torch.Tensor] = {}
    total: torch.Tensor | None = None
    heatmap_stages = list(outputs.get("heatmaps", []))
    if heatmap_stages and (config.heatmap_weight > 0 or model.output_kind == "heatmap"):
        target = batch["heatmaps"]
        heatmap_weight = weight
        if model.background_channel:
            from posekit.models.pose2d.base import append_background_channel

            target = append_background_channel(target)
            heatmap_weight = torch.cat([weight, torch.ones_like(weight[:, :1])], dim=1)  # (B, K) -> (B, K + 1)
        term = MultiStageLoss(losses.heatmap, config.stage_weights)(heatmap_stages, target, heatmap_weight)
        terms["heatmap"] = term
        factor = config.heatmap_weight if model.output_kind != "heatmap" else 1.0
        total = factor * term
    coordinate_stages = list(outputs.get("coordinates", []))
    if stage is not None:
        coordinate_stages = coordinate_stages[-1:]
    if coordinate_stages:
        stage_weights = config.stage_weights if stage is None else None
        term = MultiStageLoss(losses.coordinate, stage_weights)(coordinate_stages, batch["keypoint_labels"], weight)
        terms["coordinate"] = term
        total = config.coordinate_weight * term if total is None else total + config.coordinate_weight * term
    if "corrections" in outputs:
        from posekit.models.pose2d.ief import IterativeErrorFeedback, ief_targets

        assert isinstance(model, IterativeErrorFeedback)
        labels = batch["keypoint_labels"]
        term = torch.zeros((), device=labels.device)
        for estimate, correction in zip(outputs["estimates"], outputs["corrections"], strict=True):
            target = ief_targets(estimate, labels, model.max_step, model.input_size)
            term = term + losses.coordinate(correction, target, weight)
        terms["correction"] = term
        total = config.coordinate_weight * term if total is None else total + config.coordinate_weight * term
    if total is None:
        raise ValueError(f"{type(model).__name__}: no loss term applies (check loss.heatmap_weight/coordinate_weight)")
    return {"loss": total, **terms}


def _set_ief_mean_pose(model: nn.Module, records: PersonRecords, transform: TopDownTransform) -> None:
    from posekit.models.pose2d.ief import IterativeErrorFeedback

    if not isinstance(model, IterativeErrorFeedback):
        return
    matrices = np.stack(
        [
            transform.warp_matrix(center, scale, 0.0)
            for center, scale in zip(records.centers, records.scales, strict=True)
        ]
    )  # (N, 2, 3)
    crop = affine_transform_points(records.keypoints.astype(np.float64), matrices)  # (N, K, 2) crop pixels
    labels = torch.from_numpy(crop / np.asarray(model.input_size, dtype=np.float64)).float()
    model.set_mean_pose(labels, torch.from_numpy(records.visible))


def train(config: Pose2DConfig) -> dict[str, Any]:
    """Train the configured model; returns the :meth:`posekit.engine.Trainer.fit` summary.

    The trainer writes ``last.pt``, ``best.pt`` (by ``train.best_metric``, default the eval
    metric's headline number), ``metrics.jsonl``, ``curves.png`` and ``config.json`` into
    ``train.out_dir``.
    """
    model = build_model(config)
    skeleton = get_skeleton(config.data.skeleton)
    codec = build_codec_for_model(model, config.data)
    transform = _train_transform(config, model, codec, skeleton)
    records = _load_records(config, "train", model.input_size)
    dataset = TopDownDataset(records, transform, missing_images=config.data.missing_images)
    _set_ief_mean_pose(model, dataset.records, transform)
    batch_size = min(config.data.batch_size, len(dataset))
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        num_workers=config.data.workers,
        collate_fn=collate,
        drop_last=len(dataset) >= 2 * batch_size,
        persistent_workers=config.data.workers > 0,
    )
    view = Pose2DTrainingView(model, config.stage, config.cascade)
    losses = _Losses(config.loss)

    def loss_fn(wrapped: nn.Module, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        if config.cascade.simulated_fraction > 0 and "keypoint_labels" in batch:
            outputs = wrapped(batch["image"], batch["keypoint_labels"])
        else:
            outputs = wrapped(batch["image"])
        return training_losses(outputs, batch, model, losses, config.stage)

    train_config = config.train
    evaluate_fn: Callable[[nn.Module], dict[str, float]] | None = None
    if config.data.val_annotations:
        val_records = _load_records(config, "val", model.input_size)
        device = resolve_device(train_config.device)

        def evaluate_validation(trained: nn.Module) -> dict[str, float]:
            if config.eval.precise_bn_batches > 0:
                recompute_batchnorm_statistics(view, loader, config.eval.precise_bn_batches, device)
            return _evaluate_model(config, model, codec, val_records, device)

        evaluate_fn = evaluate_validation
        if train_config.best_metric is None:
            train_config = dataclasses.replace(train_config, best_metric=_headline_metric(config.eval.metric))
    elif train_config.best_metric is not None:
        raise ValueError("train.best_metric is set but data.val_annotations is empty: nothing to evaluate")
    trainer = Trainer(view, loader, loss_fn, train_config, evaluate_fn=evaluate_fn, run_config=config)
    return trainer.fit()


@torch.no_grad()
def recompute_batchnorm_statistics(
    model: nn.Module, loader: Iterable[Mapping[str, Any]], num_batches: int, device: torch.device | str = "cpu"
) -> int:
    """Recompute BatchNorm running statistics with the current weights ("precise BN").

    During training the running mean and variance are exponential moving averages over batches
    seen while the weights kept changing, so they lag the final weights; a network whose output
    depends on absolute feature levels (global pooling then a linear regressor, as DeepPose)
    then predicts differently in eval mode. Here every BatchNorm layer in training mode is reset
    and its statistics become the plain average over ``num_batches`` batches of ``loader``
    (Wu & Johnson, "Rethinking 'Batch' in BatchNorm", 2021, Sec. 3). Layers in eval mode (frozen
    DeepPose stages) keep theirs. Momentum and the training mode are restored afterwards.

    Args:
        model: called as ``model(batch["image"])``; put in training mode here.
        loader: yields batches with ``image (B, 3, h, w)``.
        num_batches: batches to average over (at least 1).
        device: where the images go.

    Returns:
        The number of batches used (fewer when the loader is shorter).
    """
    if num_batches < 1:
        raise ValueError(f"num_batches must be >= 1, got {num_batches}")
    was_training = model.training
    model.train()
    norms = [
        module
        for module in model.modules()
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.training and module.track_running_stats
    ]
    if not norms:
        model.train(was_training)
        return 0
    momenta = [module.momentum for module in norms]
    for module in norms:
        module.reset_running_stats()
        module.momentum = None  # cumulative average over the batches below
    used = 0
    try:
        for batch in loader:
            if used >= num_batches:
                break
            model(batch["image"].to(device))
            used += 1
    finally:
        for module, momentum in zip(norms, momenta, strict=True):
            module.momentum = momentum
        model.train(was_training)
    return used


def _headline_metric(metric: str) -> str:
    return {"coco_ap": "AP", "pckh": "PCKh", "pck": "PCK"}[metric]


# ---------------------------------------------------------------------------------------------
# prediction and evaluation
# ---------------------------------------------------------------------------------------------


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
    dataset = TopDownDataset(records, _eval_transform(model, use_udp), missing_images="error")
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


def _evaluate_model(
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
        out_dir = Path(config.train.out_dir)
        candidates = [out_dir / "best.pt", out_dir / "last.pt"]
        found = next((path for path in candidates if path.is_file()), None)
        if found is None:
            raise FileNotFoundError(f"no weights given and neither {candidates[0]} nor {candidates[1]} exists")
        weights = str(found)
    config = dataclasses.replace(config, model=dataclasses.replace(config.model, weights=weights, pretrained=None))
    model = build_model(config)
    codec = build_codec_for_model(model, config.data)
    records = _load_records(config, "val", model.input_size)
    device = resolve_device(config.train.device)
    return _evaluate_model(config, model, codec, records, device)


register_task(
    "pose2d",
    Pose2DConfig,
    train,
    evaluate,
    description="top-down 2D single-person models (DeepPose, IEF, CPM, Hourglass, SimpleBaseline, HRNet, hybrids)",
)
