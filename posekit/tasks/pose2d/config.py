"""Configuration of the ``pose2d`` task: the dataclasses a recipe file (``configs/*.yaml``) maps onto.

:class:`Pose2DConfig` holds one dataclass per concern (model, data, augmentation, loss, the
training loop, evaluation, DeepPose cascades); every field is a plain typed value, so command-line
overrides (``--set data.sigma=3``) are checked against these types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from posekit.engine import TrainConfig


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
