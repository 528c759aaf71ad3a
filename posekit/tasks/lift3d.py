"""The ``lift3d`` task: VideoPose3D training and evaluation (supervised and semi-supervised).

Pavllo, Feichtenhofer, Grangier, Auli, "3D human pose estimation in video with temporal
convolutions and semi-supervised training", CVPR 2019. Legend: ``B`` batch, ``T`` frames,
``K`` input keypoints, ``J`` joints; 3D in metres, camera space; errors reported in millimetres.

Data (``data.kind``):

* ``h36m`` / ``humaneva``: the official prepared ``.npz`` files (:mod:`posekit.data.h36m`,
  :mod:`posekit.data.humaneva`), 2D from ``data.keypoints`` (``gt``, ``cpn``, ``detectron`` or a
  ``file`` given by ``data.path_2d``);
* ``deepmimic``: the motion-capture clips shipped with pybullet, seen through random virtual
  cameras with detector-like 2D (:mod:`posekit.data.mocap_lifting`); ``deepmimic.validation_clips``
  are held out and rendered from fixed cameras for evaluation. This trains posekit's default
  lifter (``configs/videopose3d/deepmimic_default.yaml``).

Training follows ``run.py``: the strided :class:`~posekit.models.lift3d.TemporalModelOptimized1f`
trains on single-frame windows (:class:`~posekit.data.lift_windows.ChunkedWindows`, flip
augmentation) and shares its weights with the dilated :class:`~posekit.models.lift3d.TemporalModel`
used for evaluation; the loss is the MPJPE of root-relative joints; Adam with AMSGrad, the
learning rate multiplied by ``lr_decay`` after every epoch, BatchNorm momentum decayed from 0.1 to
0.001 (``m(e) = 0.1 * exp(-e / epochs * ln(0.1 / 0.001))`` during epoch ``e``).

Semi-supervised (``semi_supervised.subjects_unlabeled`` non-empty; Section 4 of the paper): each
batch holds labelled and unlabelled windows, run through the pose model together; a trajectory
model (same architecture, one output joint) predicts the root's camera-space position and is
trained on the labelled part with the MPJPE weighted by ``1 / z``; after ``warmup_epochs`` of
supervised training the unlabelled predictions plus their trajectory are projected back to 2D
with the unlabelled cameras' intrinsics (``projection``: ``nonlinear`` with the Human3.6M
distortion, or ``linear``) and compared with the input 2D (MPJPE in 2D), and the bone-length
term pulls the mean bone lengths predicted for the unlabelled part towards those of the
labelled part. (For causal models the 2D target frame is the window's last frame, aligned with
the prediction; ``run.py`` takes the centre frame in that case.)

Evaluation (:func:`evaluate`) is the official protocol: whole sequences padded at the edges,
optional flip test-time augmentation, Protocol 1 (MPJPE), 2 (P-MPJPE), 3 (N-MPJPE) and the
velocity error (MPJVE), per action (variants merged by the first word of the name:
``"Walking 1"`` counts as ``"Walking"``), each action the frame-weighted mean over its
sequences, and the average over actions; optionally per subject.
"""

from __future__ import annotations

import math
import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from posekit.data.lift_windows import ChunkedWindows, SemiSupervisedWindows
from posekit.data.lifting_dataset import LiftingDataset, LiftingSequence
from posekit.data.mocap_lifting import LiftingAugmentation, SyntheticLiftingWindows, render_lifting_sequences
from posekit.engine import TrainConfig, Trainer, unwrap_model
from posekit.engine.schedules import LRSchedule
from posekit.geometry import project_to_2d, project_to_2d_linear
from posekit.inference.lifting import lift_sequence
from posekit.losses.lifting import bone_length_loss, mpjpe, trajectory_depth_weights, weighted_mpjpe
from posekit.metrics import mpjpe as mpjpe_metric
from posekit.metrics import mpjve, n_mpjpe, p_mpjpe
from posekit.models.lift3d import Lifter, TemporalModel, TemporalModelOptimized1f, load_lifter, save_lifter
from posekit.skeletons import H36M, Skeleton
from posekit.tasks import register_task

__all__ = [
    "DeepMimicConfig",
    "Lift3DConfig",
    "Lift3DDataConfig",
    "Lift3DModelConfig",
    "LiftingData",
    "LiftingTrainModule",
    "SemiSupervisedConfig",
    "aggregate_errors",
    "bn_momentum",
    "build_lifting_data",
    "build_train_module",
    "evaluate",
    "evaluate_lifter",
    "export_lifter",
    "semi_supervised_loss",
    "supervised_loss",
    "train",
]

_KEYPOINT_FILES = {"gt": "gt", "cpn": "cpn_ft_h36m_dbb", "detectron": "detectron_pt_coco"}


# ------------------------------------------------------------------------------------------ config


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


# ---------------------------------------------------------------------------------------- data


@dataclass(eq=False)
class LiftingData:
    """What training and evaluation need, built from a config by :func:`build_lifting_data`.

    Attributes:
        train: the labelled training batches (an iterable with ``len`` and ``set_epoch``).
        test_sequences: whole sequences to evaluate on (camera-space 3D).
        keypoints_left, keypoints_right, joints_left, joints_right: flip indices.
        skeleton: the 3D skeleton (parents for the bone-length term).
        num_keypoints: input keypoints ``K``.
        semi: the zipped labelled/unlabelled batches when semi-supervised, else ``None``.
    """

    train: Any
    test_sequences: list[LiftingSequence]
    keypoints_left: tuple[int, ...]
    keypoints_right: tuple[int, ...]
    joints_left: tuple[int, ...]
    joints_right: tuple[int, ...]
    skeleton: Skeleton
    num_keypoints: int
    semi: SemiSupervisedWindows | None = None


def _load_dataset(config: Lift3DConfig) -> LiftingDataset:
    data = config.data
    if data.kind == "h36m":
        from posekit.data.h36m import load_h36m

        return load_h36m(data.path_3d, data.resolved_path_2d())
    from posekit.data.humaneva import load_humaneva

    return load_humaneva(data.path_3d, data.resolved_path_2d())


def _deepmimic_clips(config: Lift3DConfig) -> tuple[list[Any], list[Any]]:
    from posekit.data.mocap import load_deepmimic_clips

    clips = load_deepmimic_clips()
    names = [clip.name for clip in clips]
    unknown = sorted(set(config.deepmimic.validation_clips) - set(names))
    if unknown:
        raise ValueError(f"deepmimic.validation_clips {unknown} are not DeepMimic clips; available: {names}")
    held_out = set(config.deepmimic.validation_clips)
    return [clip for clip in clips if clip.name not in held_out], [clip for clip in clips if clip.name in held_out]


def build_lifting_data(config: Lift3DConfig, *, for_training: bool = True) -> LiftingData:
    """Load the dataset of ``config`` and build the training windows and the test sequences.

    Args:
        config: the task config.
        for_training: build the training batches too (``False``: evaluation only).
    """
    model = config.model
    pad = (model.receptive_field() - 1) // 2
    causal_shift = pad if model.causal else 0
    if config.data.kind == "deepmimic":
        train_clips, validation_clips = _deepmimic_clips(config)
        flips = H36M.flip_pair_indices
        left, right = tuple(a for a, _ in flips), tuple(b for _, b in flips)
        windows = (
            SyntheticLiftingWindows(
                train_clips,
                receptive_field=model.receptive_field(),
                batch_size=config.batch_size,
                batches_per_epoch=config.deepmimic.batches_per_epoch,
                causal=model.causal,
                augmentation=config.deepmimic.augmentation,
                seed=config.seed,
            )
            if for_training
            else None
        )
        test = render_lifting_sequences(
            validation_clips,
            views_per_clip=config.deepmimic.views_per_clip,
            seed=config.deepmimic.eval_seed,
            noise=config.deepmimic.eval_noise,
        )
        return LiftingData(windows, test, left, right, left, right, H36M, H36M.num_keypoints)
    dataset = _load_dataset(config)
    data = config.data
    actions = list(data.actions) or None
    test = dataset.sequences(data.subjects_test, actions, downsample=data.downsample)
    common: dict[str, Any] = {
        "keypoints_left": dataset.keypoints_left,
        "keypoints_right": dataset.keypoints_right,
        "joints_left": dataset.joints_left,
        "joints_right": dataset.joints_right,
    }
    train_windows = None
    semi = None
    if for_training:
        train_sequences = dataset.sequences(
            data.subjects_train, actions, subset=data.subset, downsample=data.downsample
        )
        if not train_sequences:
            raise ValueError(f"no training sequences for subjects {data.subjects_train} and actions {data.actions}")
        semi_config = config.semi_supervised
        train_windows = ChunkedWindows(
            [sequence.keypoints_2d for sequence in train_sequences],
            [sequence.positions_3d for sequence in train_sequences],  # type: ignore[misc]
            None,
            batch_size=config.batch_size,
            pad=pad,
            causal_shift=causal_shift,
            seed=config.seed,
            augment=config.flip_augment,
            **common,
        )
        if semi_config.enabled:
            if not dataset.supports_semi_supervised():
                raise ValueError(f"{dataset.name} has no camera intrinsics: semi-supervised training is not possible")
            unlabelled = dataset.sequences(
                semi_config.subjects_unlabeled, actions, with_3d=False, downsample=data.downsample
            )
            semi = SemiSupervisedWindows(
                train_windows,
                ChunkedWindows(
                    [sequence.keypoints_2d for sequence in unlabelled],
                    None,
                    [sequence.intrinsics for sequence in unlabelled],  # type: ignore[misc]
                    batch_size=config.batch_size,
                    pad=pad,
                    causal_shift=causal_shift,
                    seed=semi_config.seed,
                    augment=config.flip_augment,
                    endless=True,
                    **common,
                ),
            )
    return LiftingData(
        train_windows,
        test,
        skeleton=dataset.skeleton,
        num_keypoints=dataset.num_keypoints,
        semi=semi,
        **common,
    )


# ---------------------------------------------------------------------------------------- model


class LiftingTrainModule(nn.Module):
    """The models trained together: the pose model and (optionally) the trajectory model.

    Args:
        pose: maps ``(B, T, K, 2)`` to root-relative joints ``(B, T_out, J, 3)``.
        trajectory: maps ``(B, T, K, 2)`` to the root's camera position ``(B, T_out, 1, 3)``.
    """

    pose: TemporalModel | TemporalModelOptimized1f
    trajectory: TemporalModel | TemporalModelOptimized1f | None

    def __init__(
        self,
        pose: TemporalModel | TemporalModelOptimized1f,
        trajectory: TemporalModel | TemporalModelOptimized1f | None = None,
    ) -> None:
        super().__init__()
        self.pose = pose
        self.trajectory = trajectory

    def forward(self, keypoints_2d: torch.Tensor) -> torch.Tensor:
        """Root-relative 3D poses of the pose model."""
        return self.pose(keypoints_2d)  # type: ignore[no-any-return]


def _build_temporal(
    config: Lift3DModelConfig, num_keypoints: int, num_joints: int, *, training: bool, channels: int | None = None
) -> TemporalModel | TemporalModelOptimized1f:
    width = channels if channels is not None else config.channels
    if training and config.optimized_training and not config.dense:
        return TemporalModelOptimized1f(
            num_keypoints, 2, num_joints, list(config.filter_widths), config.causal, config.dropout, width
        )
    return TemporalModel(
        num_keypoints, 2, num_joints, list(config.filter_widths), config.causal, config.dropout, width, config.dense
    )


def build_train_module(config: Lift3DConfig, num_keypoints: int, num_joints: int) -> LiftingTrainModule:
    """The pose (and trajectory) training models of ``config``."""
    pose = _build_temporal(config.model, num_keypoints, num_joints, training=True)
    trajectory = None
    if config.model.trajectory or config.semi_supervised.enabled:
        trajectory = _build_temporal(
            config.model, num_keypoints, 1, training=True, channels=config.model.trajectory_channels
        )
    return LiftingTrainModule(pose, trajectory)


def bn_momentum(epoch: int, epochs: int, initial: float = 0.1, final: float = 0.001) -> float:
    """BatchNorm momentum during epoch ``epoch`` (0-based): ``initial * (final / initial) ** (epoch / epochs)``."""
    return float(initial * math.exp(-epoch / epochs * math.log(initial / final)))


def _set_bn_momentum(model: nn.Module, momentum: float) -> None:
    for module in model.modules():
        if isinstance(module, nn.BatchNorm1d):
            module.momentum = momentum


def _root_relative(positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, T, J, 3)`` camera-space joints -> (root-relative joints with root 0, root ``(B, T, 1, 3)``)."""
    trajectory = positions[:, :, :1]
    return positions - trajectory, trajectory


def supervised_loss(model: nn.Module, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Supervised VideoPose3D loss: MPJPE of root-relative joints (+ the trajectory loss).

    Args:
        model: a :class:`LiftingTrainModule` (possibly wrapped in DDP).
        batch: ``keypoints_2d (B, T, K, 2)``, ``positions_3d (B, L, J, 3)`` camera space.

    Returns:
        ``loss``, ``mpjpe`` (metres) and ``trajectory`` when there is a trajectory model.
    """
    module = unwrap_model(model)
    assert isinstance(module, LiftingTrainModule)
    target, trajectory_target = _root_relative(batch["positions_3d"])
    prediction = model(batch["keypoints_2d"])
    loss_3d = mpjpe(prediction, target)
    terms = {"loss": loss_3d, "mpjpe": loss_3d.detach()}
    if module.trajectory is not None:
        predicted_trajectory = module.trajectory(batch["keypoints_2d"])
        loss_trajectory = weighted_mpjpe(
            predicted_trajectory, trajectory_target, trajectory_depth_weights(trajectory_target)
        )
        terms["loss"] = loss_3d + loss_trajectory
        terms["trajectory"] = loss_trajectory.detach()
    return terms


def semi_supervised_loss(
    model: nn.Module,
    batch: Mapping[str, Mapping[str, torch.Tensor]],
    *,
    pad: int,
    causal_shift: int,
    parents: Sequence[int],
    warmup: bool,
    projection: Literal["nonlinear", "linear"] = "nonlinear",
    projection_term: bool = True,
    bone_length_term: bool = True,
    bone_length_weight: float = 1.0,
) -> dict[str, torch.Tensor]:
    """The semi-supervised loss of ``run.py`` for one labelled + unlabelled batch.

    Args:
        model: a :class:`LiftingTrainModule` with a trajectory model.
        batch: ``{"labelled": {keypoints_2d, positions_3d}, "unlabelled": {keypoints_2d, intrinsics}}``.
        pad: ``(receptive_field - 1) // 2``.
        causal_shift: ``pad`` for causal models, else 0.
        parents: parent of every 3D joint (bone-length term).
        warmup: supervised terms only (the first ``warmup_epochs``).
        projection: ``nonlinear`` (:func:`posekit.geometry.project_to_2d`) or ``linear``.
        projection_term: add the 2D reprojection MPJPE.
        bone_length_term: add the bone-length term.
        bone_length_weight: weight of the bone-length term.

    Returns:
        ``loss`` and every term: ``mpjpe``, ``trajectory``, ``projection``, ``bone_length``.
    """
    module = unwrap_model(model)
    assert isinstance(module, LiftingTrainModule) and module.trajectory is not None
    labelled, unlabelled = batch["labelled"], batch["unlabelled"]
    target, trajectory_target = _root_relative(labelled["positions_3d"])
    split = target.shape[0]
    inputs = labelled["keypoints_2d"]
    if not warmup:
        # (B_l, T, K, 2) + (B_u, T, K, 2) -> (B_l + B_u, T, K, 2): one pass through BatchNorm
        inputs = torch.cat([inputs, unlabelled["keypoints_2d"]], dim=0)
    predicted = model(inputs)
    loss_3d = mpjpe(predicted[:split], target)
    predicted_trajectory = module.trajectory(inputs)
    loss_trajectory = weighted_mpjpe(
        predicted_trajectory[:split], trajectory_target, trajectory_depth_weights(trajectory_target)
    )
    total = loss_3d + loss_trajectory
    zero = loss_3d.new_zeros(())
    terms = {"mpjpe": loss_3d.detach(), "trajectory": loss_trajectory.detach(), "projection": zero, "bone_length": zero}
    if not warmup:
        semi_2d = unlabelled["keypoints_2d"]
        frames = predicted.shape[1]
        # The 2D frames that the predictions are for: the window without its padding.
        target_2d = semi_2d[:, pad + causal_shift : pad + causal_shift + frames, :, :2]
        project = project_to_2d if projection == "nonlinear" else project_to_2d_linear
        reprojection = project(predicted[split:] + predicted_trajectory[split:], unlabelled["intrinsics"])
        loss_projection = mpjpe(reprojection, target_2d)
        terms["projection"] = loss_projection.detach()
        if projection_term:
            total = total + loss_projection
        if bone_length_term:
            penalty = bone_length_loss(predicted[:split], predicted[split:], parents)
            terms["bone_length"] = penalty.detach()
            total = total + bone_length_weight * penalty
    terms["loss"] = total
    return terms


# ----------------------------------------------------------------------------------- evaluation


def aggregate_errors(records: Sequence[Mapping[str, Any]], *, by_subject: bool = False) -> dict[str, float]:
    """Action-wise errors as the official evaluation (millimetres).

    Args:
        records: one per sequence: ``subject``, ``action``, ``frames`` (count) and per-frame
            arrays ``mpjpe``, ``p_mpjpe``, ``n_mpjpe`` (metres, ``(T,)``) and ``mpjve`` (the
            sequence's mean velocity error, metres; weighted by ``frames`` as ``run.py`` does).
        by_subject: also report ``"<subject>/<metric>"`` (action-wise averages per subject).

    Returns:
        ``mpjpe``, ``p_mpjpe``, ``n_mpjpe``, ``mpjve`` (averages over actions, where an action
        is the first word of the sequence's action name and its error the frame-weighted mean
        over its sequences), ``"<metric>/<action>"`` per action, and per subject on request.
    """
    metrics = ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve")

    def summarise(selected: Sequence[Mapping[str, Any]]) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        groups: dict[str, list[Mapping[str, Any]]] = {}
        for record in selected:
            groups.setdefault(str(record["action"]).split(" ")[0], []).append(record)
        per_action: dict[str, dict[str, float]] = {}
        for action, members in groups.items():
            frames = float(sum(int(record["frames"]) for record in members))
            values = {}
            for metric in metrics[:3]:
                values[metric] = float(sum(np.sum(record[metric]) for record in members) / frames) * 1000.0
            values["mpjve"] = (
                float(sum(record["mpjve"] * int(record["frames"]) for record in members) / frames) * 1000.0
            )
            per_action[action] = values
        averages = {metric: float(np.mean([values[metric] for values in per_action.values()])) for metric in metrics}
        return averages, per_action

    if not records:
        raise ValueError("aggregate_errors got no sequences")
    averages, per_action = summarise(records)
    result = dict(averages)
    for action, values in per_action.items():
        for metric in metrics:
            result[f"{metric}/{action}"] = values[metric]
    if by_subject:
        for subject in dict.fromkeys(str(record["subject"]) for record in records):
            subject_averages, _ = summarise([record for record in records if record["subject"] == subject])
            for metric in metrics:
                result[f"{subject}/{metric}"] = subject_averages[metric]
    return result


def evaluate_lifter(
    lifter: Lifter,
    sequences: Sequence[LiftingSequence],
    *,
    keypoints_left: Sequence[int],
    keypoints_right: Sequence[int],
    joints_left: Sequence[int],
    joints_right: Sequence[int],
    test_time_flip: bool = True,
    by_subject: bool = False,
) -> dict[str, float]:
    """Protocols 1-3 and MPJVE of a lifter on whole sequences (see :func:`aggregate_errors`).

    With a trajectory model, ``trajectory`` is also reported: the mean distance (mm) between
    the predicted and the true root positions in camera space.
    """
    records = []
    trajectory_errors: list[np.ndarray] = []
    flips: dict[str, Any] = {
        "flip_augment": test_time_flip,
        "keypoints_left": keypoints_left,
        "keypoints_right": keypoints_right,
        "joints_left": joints_left,
        "joints_right": joints_right,
    }
    for sequence in sequences:
        if sequence.positions_3d is None:
            raise ValueError(f"{sequence.subject}/{sequence.action} has no 3D ground truth to evaluate against")
        prediction = lift_sequence(lifter, sequence.keypoints_2d, **flips).astype(np.float64)  # (T, J, 3)
        positions = sequence.positions_3d.astype(np.float64)
        target = positions - positions[:, :1]
        records.append(
            {
                "subject": sequence.subject,
                "action": sequence.action,
                "frames": len(sequence),
                "mpjpe": mpjpe_metric(prediction, target, reduction="per_frame"),
                "p_mpjpe": p_mpjpe(prediction, target, reduction="per_frame"),
                "n_mpjpe": n_mpjpe(prediction, target, reduction="per_frame"),
                "mpjve": float(mpjve(prediction, target)) if len(sequence) > 1 else 0.0,
            }
        )
        if lifter.trajectory is not None:
            root = lift_sequence(lifter.trajectory, sequence.keypoints_2d, **flips)  # (T, 1, 3)
            trajectory_errors.append(np.linalg.norm(root[:, 0] - positions[:, 0], axis=-1))
    result = aggregate_errors(records, by_subject=by_subject)
    if trajectory_errors:
        result["trajectory"] = float(np.concatenate(trajectory_errors).mean()) * 1000.0
    return result


def _lifter_from_train_module(module: LiftingTrainModule, config: Lift3DModelConfig) -> Lifter:
    """Dilated evaluation models carrying the training models' weights."""
    pose = _build_temporal(config, module.pose.num_joints_in, module.pose.num_joints_out, training=False)
    pose.load_state_dict(module.pose.state_dict())
    trajectory = None
    if module.trajectory is not None:
        trajectory = _build_temporal(
            config, module.trajectory.num_joints_in, 1, training=False, channels=module.trajectory.channels
        )
        trajectory.load_state_dict(module.trajectory.state_dict())
    return Lifter(pose.eval(), trajectory.eval() if trajectory is not None else None).eval()  # type: ignore[arg-type]


def evaluate(config: Lift3DConfig, weights: str | None = None) -> dict[str, float]:
    """Evaluate ``weights`` (default: ``train.out_dir/<export_name>``, else ``last.pt``) as configured.

    Returns:
        Millimetres: ``mpjpe``, ``p_mpjpe``, ``n_mpjpe``, ``mpjve``, per action
        ``"<metric>/<action>"``, per subject with ``by_subject``, and ``trajectory`` when the
        weights hold a trajectory model.
    """
    if weights is None:
        out_dir = Path(config.train.out_dir)
        candidates = [out_dir / config.export_name, out_dir / "last.pt"]
        found = next((path for path in candidates if path.is_file()), None)
        if found is None:
            raise FileNotFoundError(f"no weights given and none found at {', '.join(map(str, candidates))}")
        weights = str(found)
    lifter = load_lifter(weights, causal=config.model.causal, dense=config.model.dense)
    data = build_lifting_data(config, for_training=False)
    return evaluate_lifter(
        lifter,
        data.test_sequences,
        keypoints_left=data.keypoints_left,
        keypoints_right=data.keypoints_right,
        joints_left=data.joints_left,
        joints_right=data.joints_right,
        test_time_flip=config.test_time_flip,
        by_subject=config.by_subject,
    )


# ------------------------------------------------------------------------------------- training


def export_lifter(
    module: LiftingTrainModule, path: str | os.PathLike[str], *, causal: bool, metadata: Mapping[str, Any]
) -> Path:
    """Write the trained models in the format :func:`posekit.models.lift3d.load_lifter` reads.

    The file is a weights-only ``torch.save`` dict (see :func:`posekit.models.lift3d.save_lifter`):
    ``format``, ``model_pos``, ``model_traj`` (or ``None``), ``causal`` and ``weights_info``
    (``metadata``: plain values only).
    """
    return save_lifter(path, module.pose, module.trajectory, causal=causal, weights_info=metadata)


def train(config: Lift3DConfig) -> dict[str, Any]:
    """Train as configured, evaluate the result and export it (see the module docstring).

    Returns:
        The trainer's summary plus ``evaluation`` (the final metrics in mm, flip test-time
        augmentation as configured) and ``exported`` (the lifter file).
    """
    data = build_lifting_data(config)
    num_joints = data.skeleton.num_keypoints
    module = build_train_module(config, data.num_keypoints, num_joints)
    pad = (config.model.receptive_field() - 1) // 2
    causal_shift = pad if config.model.causal else 0
    epochs = config.train.epochs
    parents = data.skeleton.parents
    if parents is None:
        raise ValueError(f"skeleton {data.skeleton.name!r} has no parents (needed for the bone-length term)")
    semi = config.semi_supervised

    def loss_fn(model: nn.Module, batch: Any) -> dict[str, torch.Tensor]:
        labelled = batch["labelled"] if semi.enabled else batch
        epoch = int(labelled["epoch"])
        _set_bn_momentum(model, bn_momentum(epoch, epochs, config.bn_momentum_initial, config.bn_momentum_final))
        if semi.enabled:
            return semi_supervised_loss(
                model,
                batch,
                pad=pad,
                causal_shift=causal_shift,
                parents=parents,
                warmup=epoch < semi.warmup_epochs,
                projection=semi.projection,
                projection_term=semi.projection_term,
                bone_length_term=semi.bone_length_term,
                bone_length_weight=semi.bone_length_weight,
            )
        return supervised_loss(model, batch)

    def evaluate_fn(model: nn.Module) -> dict[str, float]:
        trained = unwrap_model(model)
        assert isinstance(trained, LiftingTrainModule)
        metrics = evaluate_lifter(
            _lifter_from_train_module(trained, config.model),
            data.test_sequences,
            keypoints_left=data.keypoints_left,
            keypoints_right=data.keypoints_right,
            joints_left=data.joints_left,
            joints_right=data.joints_right,
            test_time_flip=False,
        )
        keep = ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve", "trajectory")
        return {name: value for name, value in metrics.items() if name in keep}

    optimizer = torch.optim.Adam(module.parameters(), lr=config.train.lr, amsgrad=config.amsgrad)
    scheduler = LRSchedule(
        optimizer,
        schedule="step",
        by="epoch",
        milestones=tuple(range(1, epochs)),
        gamma=config.lr_decay,
        total=epochs,
    )
    loader = data.semi if data.semi is not None else data.train
    trainer = Trainer(
        module,
        loader,
        loss_fn,
        config.train,
        evaluate_fn=evaluate_fn if config.evaluate_during_training else None,
        optimizer=optimizer,
        scheduler=scheduler,
        run_config=config,
    )
    summary = trainer.fit()
    if not trainer.is_main:
        return summary
    trained = unwrap_model(trainer.model)
    assert isinstance(trained, LiftingTrainModule)
    lifter = _lifter_from_train_module(trained.cpu(), config.model)
    evaluation = evaluate_lifter(
        lifter,
        data.test_sequences,
        keypoints_left=data.keypoints_left,
        keypoints_right=data.keypoints_right,
        joints_left=data.joints_left,
        joints_right=data.joints_right,
        test_time_flip=config.test_time_flip,
        by_subject=config.by_subject,
    )
    pose_parameters = sum(parameter.numel() for parameter in trained.pose.parameters())
    trajectory_parameters = (
        sum(parameter.numel() for parameter in trained.trajectory.parameters()) if trained.trajectory else 0
    )
    metadata = {
        "source": f"trained by posekit lift3d on {config.data.kind}",
        "training_command": "posekit train " + " ".join(shlex.quote(arg) for arg in sys.argv[2:])
        if len(sys.argv) > 2 and sys.argv[1] == "train"
        else "posekit.tasks.lift3d.train",
        "skeleton": data.skeleton.name,
        "input_skeleton": "h36m" if config.data.kind == "deepmimic" else f"{data.num_keypoints} keypoints",
        "receptive_field": config.model.receptive_field(),
        "filter_widths": list(config.model.filter_widths),
        "channels": config.model.channels,
        "causal": config.model.causal,
        "normalization": "2D: normalize_screen_coordinates(pixels, w, h) ([0, w] -> [-1, 1], aspect kept); "
        "3D: root-relative joints in metres, camera space (x right, y down, z forward)",
        "parameters": int(pose_parameters + trajectory_parameters),
        "metrics_mm": {name: float(value) for name, value in evaluation.items()},
        "test_time_flip": config.test_time_flip,
        "epochs": epochs,
    }
    if config.data.kind == "deepmimic":
        train_clips, validation_clips = _deepmimic_clips(config)
        metadata["train_clips"] = [clip.name for clip in train_clips]
        metadata["validation_clips"] = [clip.name for clip in validation_clips]
        metadata["evaluation"] = (
            f"held-out clips rendered from {config.deepmimic.views_per_clip} cameras each (seed "
            f"{config.deepmimic.eval_seed}), 2D noise {config.deepmimic.eval_noise}"
        )
    exported = export_lifter(
        trained, Path(config.train.out_dir) / config.export_name, causal=config.model.causal, metadata=metadata
    )
    summary["evaluation"] = evaluation
    summary["exported"] = str(exported)
    return summary


register_task(
    "lift3d",
    Lift3DConfig,
    train,
    evaluate,
    description="VideoPose3D 2D-to-3D lifting (Human3.6M, HumanEva, DeepMimic; supervised or semi-supervised)",
)
