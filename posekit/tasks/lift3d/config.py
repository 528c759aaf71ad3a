"""The ``lift3d`` task's config: what a ``task: lift3d`` file maps onto (see :mod:`posekit.config`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from posekit.data.mocap_lifting import LiftingAugmentation
from posekit.engine import TrainConfig

__all__ = ["DeepMimicConfig", "Lift3DConfig", "Lift3DDataConfig", "Lift3DModelConfig", "SemiSupervisedConfig"]

_KEYPOINT_FILES = {"gt": "gt", "cpn": "cpn_ft_h36m_dbb", "detectron": "detectron_pt_coco"}


@dataclass(frozen=True)
class Lift3DDataConfig:
    """Which data to train and evaluate on.

    Attributes:
        kind: ``h36m``, ``humaneva`` or ``deepmimic``.
        path_3d: ``data_3d_h36m.npz`` / ``data_3d_humaneva15.npz`` (not used by ``deepmimic``).
        keypoints: 2D source: ``gt``, ``cpn`` (``cpn_ft_h36m_dbb``), ``detectron``
            (``detectron_pt_coco``), or ``file`` (``path_2d``).
        path_2d: the 2D file; by default ``data_2d_<dataset>_<source>.npz`` beside ``path_3d``.
        subjects_train: labelled training subjects.
        subjects_test: evaluation subjects.
        actions: keep actions starting with one of these (empty: all).
        subset: fraction of every training video (official ``--subset``).
        downsample: keep every n-th frame (official ``--downsample``).
    """

    kind: Literal["h36m", "humaneva", "deepmimic"] = "h36m"
    path_3d: str = "data/data_3d_h36m.npz"
    keypoints: Literal["gt", "cpn", "detectron", "file"] = "cpn"
    path_2d: str | None = None
    subjects_train: tuple[str, ...] = ("S1", "S5", "S6", "S7", "S8")
    subjects_test: tuple[str, ...] = ("S9", "S11")
    actions: tuple[str, ...] = ()
    subset: float = 1.0
    downsample: int = 1

    def __post_init__(self) -> None:
        if not 0 < self.subset <= 1:
            raise ValueError(f"subset must be in (0, 1], got {self.subset}")
        if self.downsample < 1:
            raise ValueError(f"downsample must be >= 1, got {self.downsample}")
        if self.keypoints == "file" and not self.path_2d:
            raise ValueError("keypoints: file needs path_2d")

    def resolved_path_2d(self) -> str:
        """The 2D file: ``path_2d``, or the official name beside ``path_3d``."""
        if self.path_2d:
            return self.path_2d
        dataset = "h36m" if self.kind == "h36m" else "humaneva15"
        return str(Path(self.path_3d).parent / f"data_2d_{dataset}_{_KEYPOINT_FILES[self.keypoints]}.npz")


@dataclass(frozen=True)
class Lift3DModelConfig:
    """The VideoPose3D architecture.

    Attributes:
        filter_widths: convolution widths (product = receptive field; 3,3,3,3,3 -> 243).
        channels: convolution channels (1024 in the paper).
        dropout: dropout probability.
        causal: causal convolutions (real-time setting).
        dense: the dense-convolution ablation (trains the plain model).
        optimized_training: train with the strided single-frame model (official default).
        trajectory: also train a trajectory model in supervised training (always on in
            semi-supervised training).
        trajectory_channels: channels of the trajectory model (default: ``channels``).
    """

    filter_widths: tuple[int, ...] = (3, 3, 3)
    channels: int = 1024
    dropout: float = 0.25
    causal: bool = False
    dense: bool = False
    optimized_training: bool = True
    trajectory: bool = False
    trajectory_channels: int | None = None

    def receptive_field(self) -> int:
        """Product of the filter widths."""
        return int(np.prod(self.filter_widths))


@dataclass(frozen=True)
class SemiSupervisedConfig:
    """Semi-supervised training (enabled by listing unlabelled subjects).

    Attributes:
        subjects_unlabeled: subjects whose 2D is used without 3D.
        warmup_epochs: supervised-only epochs before the unsupervised terms start.
        projection: ``nonlinear`` (with distortion) or ``linear`` projection to 2D.
        projection_term: add the 2D reprojection loss (official ``--no-proj`` turns it off).
        bone_length_term: add the bone-length term.
        bone_length_weight: its weight (1 in ``run.py``).
        seed: seed of the unlabelled stream's shuffling (4321 in ``run.py``).
    """

    subjects_unlabeled: tuple[str, ...] = ()
    warmup_epochs: int = 1
    projection: Literal["nonlinear", "linear"] = "nonlinear"
    projection_term: bool = True
    bone_length_term: bool = True
    bone_length_weight: float = 1.0
    seed: int = 4321

    @property
    def enabled(self) -> bool:
        """Whether semi-supervised training is on."""
        return len(self.subjects_unlabeled) > 0


@dataclass(frozen=True)
class DeepMimicConfig:
    """Synthetic training from the DeepMimic clips (``data.kind: deepmimic``).

    Attributes:
        validation_clips: clips held out of training and rendered for evaluation.
        batches_per_epoch: training batches per epoch (each freshly drawn).
        views_per_clip: fixed evaluation cameras per held-out clip.
        eval_noise: 2D noise of the evaluation renderings (fraction of the box size).
        eval_seed: seed of the evaluation cameras.
        augmentation: the random cameras, bodies and 2D corruption of training windows.
    """

    validation_clips: tuple[str, ...] = ("dance_b", "getup_faceup", "kick")
    batches_per_epoch: int = 200
    views_per_clip: int = 6
    eval_noise: float = 0.0
    eval_seed: int = 0
    augmentation: LiftingAugmentation = field(default_factory=LiftingAugmentation)


def _default_train_config() -> TrainConfig:
    return TrainConfig(epochs=60, lr=1e-3, schedule="constant", out_dir="runs/videopose3d", curves=False)


@dataclass(frozen=True)
class Lift3DConfig:
    """Everything the ``lift3d`` task reads from a config file.

    Attributes:
        data, model, semi_supervised, deepmimic: see their classes.
        train: the engine's settings (epochs, lr, out_dir, seed...); its ``schedule`` is replaced
            by the per-epoch exponential decay ``lr_decay``.
        batch_size: windows per batch (1024 in the paper).
        lr_decay: learning-rate factor per epoch (0.95).
        bn_momentum_initial, bn_momentum_final: BatchNorm momentum at the first and after the
            last epoch (0.1 -> 0.001).
        flip_augment: train on horizontally flipped copies too.
        test_time_flip: average with the flipped input at evaluation.
        evaluate_during_training: evaluate (MPJPE, no flip) after every ``train.eval_every``
            epochs (the official ``--no-eval`` turns it off).
        by_subject: also report errors per subject.
        amsgrad: Adam's AMSGrad variant, as ``run.py``.
        seed: seed of the training windows' shuffling (1234 in ``run.py``).
        export_name: file written into ``train.out_dir`` after training: the lifter in the format
            :func:`posekit.models.lift3d.load_lifter` reads.
    """

    data: Lift3DDataConfig = field(default_factory=Lift3DDataConfig)
    model: Lift3DModelConfig = field(default_factory=Lift3DModelConfig)
    semi_supervised: SemiSupervisedConfig = field(default_factory=SemiSupervisedConfig)
    deepmimic: DeepMimicConfig = field(default_factory=DeepMimicConfig)
    train: TrainConfig = field(default_factory=_default_train_config)
    batch_size: int = 1024
    lr_decay: float = 0.95
    bn_momentum_initial: float = 0.1
    bn_momentum_final: float = 0.001
    flip_augment: bool = True
    test_time_flip: bool = True
    evaluate_during_training: bool = True
    by_subject: bool = False
    amsgrad: bool = True
    seed: int = 1234
    export_name: str = "lifter.pt"

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if not 0 < self.lr_decay <= 1:
            raise ValueError(f"lr_decay must be in (0, 1], got {self.lr_decay}")
        if not 0 < self.bn_momentum_final <= self.bn_momentum_initial <= 1:
            raise ValueError("need 0 < bn_momentum_final <= bn_momentum_initial <= 1")
        if self.semi_supervised.enabled and self.data.kind != "h36m":
            raise ValueError("semi-supervised training needs camera intrinsics: only data.kind h36m has them")
