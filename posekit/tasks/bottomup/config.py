"""Configuration of the ``pose2d_bottomup`` task: the dataclasses a recipe file maps onto.

Defaults are the official HigherHRNet COCO recipe (``experiments/coco/higher_hrnet/w32_512_adam_lr1e-3.yaml``
of HRNet/HigherHRNet-Human-Pose-Estimation); values the model already fixes (``K``, the input size,
the output resolutions, which outputs carry tags) are derived from it, not written twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from posekit.engine import TrainConfig


@dataclass(frozen=True)
class ModelConfig:
    """The network.

    Attributes:
        name: a registered bottom-up model (``higherhrnet_w32_512``, ``higherhrnet_w16_256``, ...).
        kwargs: extra builder arguments.
        weights: a checkpoint (posekit or official) loaded strictly before training / for evaluation.
        pretrained: a checkpoint loaded non-strictly (matching names only: the ImageNet HRNet trunk).
    """

    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    weights: str | None = None
    pretrained: str | None = None


@dataclass(frozen=True)
class DataConfig:
    """Datasets and loaders (official ``DATASET`` keys in brackets).

    Attributes:
        train_annotations: COCO-format training file.
        train_images: folder of the training images.
        val_annotations: COCO-format validation file (every image is evaluated, as the official test set).
        val_images: folder of the validation images.
        skeleton: keypoint format (``coco``, ``crowdpose``); CrowdPose is evaluated with its protocol.
        mask: ``"auto"`` (``"crowd"`` for COCO-17, ``"none"`` for CrowdPose, as the official datasets),
            ``"crowd"`` (crowds and people without keypoints masked out of the loss) or ``"none"``.
        input_size: training input side ``S`` (``None``: the model's; ``INPUT_SIZE``).
        sigma: Gaussian sigma of the heatmap targets, one for every resolution (``SIGMA``; negative: ``R / 64``).
        max_num_people: people slots of the tag target (``MAX_NUM_PEOPLE``).
        batch_size: images per process per step (``TRAIN.IMAGES_PER_GPU``).
        workers: loader processes.
        missing_images: ``"skip"`` or ``"error"`` for missing training images.
        max_train_images: use only the first this many training images.
        max_val_images: evaluate only the first this many validation images.
    """

    train_annotations: str = ""
    train_images: str = ""
    val_annotations: str = ""
    val_images: str = ""
    skeleton: str = "coco"
    mask: Literal["auto", "crowd", "none"] = "auto"
    input_size: int | None = None
    sigma: float = 2.0
    max_num_people: int = 30
    batch_size: int = 12
    workers: int = 4
    missing_images: Literal["skip", "error"] = "skip"
    max_train_images: int | None = None
    max_val_images: int | None = None

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"data.batch_size must be >= 1, got {self.batch_size}")
        if self.workers < 0:
            raise ValueError(f"data.workers must be >= 0, got {self.workers}")
        if self.max_num_people < 1:
            raise ValueError(f"data.max_num_people must be >= 1, got {self.max_num_people}")


@dataclass(frozen=True)
class AugmentationConfig:
    """Training augmentation (:class:`posekit.data.bottomup.BottomUpTransform`; official ``DATASET`` keys)."""

    max_rotation: float = 30.0
    min_scale: float = 0.75
    max_scale: float = 1.5
    scale_type: Literal["short", "long"] = "short"
    max_translate: float = 40.0
    flip_prob: float = 0.5


@dataclass(frozen=True)
class LossConfig:
    """Loss terms per output resolution (official ``LOSS`` keys).

    Attributes:
        ae_loss_type: ``"exp"`` or ``"max"`` push.
        with_heatmaps_loss: per resolution (``None``: every resolution).
        heatmaps_loss_factor: per resolution (``None``: 1 each).
        with_ae_loss: per resolution (``None``: the resolutions whose outputs carry tags).
        push_loss_factor: per resolution (``None``: 0.001 each).
        pull_loss_factor: per resolution (``None``: 0.001 each).
    """

    ae_loss_type: Literal["exp", "max"] = "exp"
    with_heatmaps_loss: tuple[bool, ...] | None = None
    heatmaps_loss_factor: tuple[float, ...] | None = None
    with_ae_loss: tuple[bool, ...] | None = None
    push_loss_factor: tuple[float, ...] | None = None
    pull_loss_factor: tuple[float, ...] | None = None


@dataclass(frozen=True)
class EvalConfig:
    """Evaluation (official ``TEST`` keys): COCO AP through pycocotools on the validation images.

    Single-scale (the official default): ``scales: [1.0]``; the official multi-scale test:
    ``scales: [0.5, 1.0, 2.0]``. Flip test on in both.

    Attributes:
        scales: test scales (``SCALE_FACTOR``).
        flip_test: average with the mirrored image (``FLIP_TEST``).
        adjust: the quarter-pixel adjustment (``ADJUST``).
        refine: fill missing joints (``REFINE``).
        detection_threshold: ``DETECTION_THRESHOLD`` (0.1 in the HigherHRNet experiments).
        tag_threshold: ``TAG_THRESHOLD``.
        use_detection_val: ``USE_DETECTION_VAL``.
        ignore_too_much: ``IGNORE_TOO_MUCH``.
        nms_kernel: ``NMS_KERNEL``.
        nms_padding: ``NMS_PADDING``.
        max_num_people: people kept per image (``DATASET.MAX_NUM_PEOPLE``).
        use_area: COCO ``area`` as the OKS scale (``None``: yes, except for CrowdPose).
        results_file: also write the COCO results JSON here.
    """

    scales: tuple[float, ...] = (1.0,)
    flip_test: bool = True
    adjust: bool = True
    refine: bool = True
    detection_threshold: float = 0.1
    tag_threshold: float = 1.0
    use_detection_val: bool = True
    ignore_too_much: bool = False
    nms_kernel: int = 5
    nms_padding: int = 2
    max_num_people: int = 30
    use_area: bool | None = None
    results_file: str | None = None

    def __post_init__(self) -> None:
        if not self.scales or min(self.scales) <= 0:
            raise ValueError(f"eval.scales must be one or more positive scales, got {self.scales}")


@dataclass(frozen=True)
class BottomUpConfig:
    """Everything ``posekit train`` / ``posekit evaluate`` need for a bottom-up (HigherHRNet) recipe."""

    model: ModelConfig
    data: DataConfig
    augmentation: AugmentationConfig = field(default_factory=AugmentationConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
