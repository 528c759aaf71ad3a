"""The ``lift3d`` task's data: training windows and whole test sequences built from the config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from posekit.data.lift_windows import ChunkedWindows, SemiSupervisedWindows
from posekit.data.lifting_dataset import LiftingDataset, LiftingSequence
from posekit.data.mocap_lifting import SyntheticLiftingWindows, render_lifting_sequences
from posekit.skeletons import H36M, Skeleton
from posekit.tasks.lift3d.config import Lift3DConfig

__all__ = ["LiftingData", "build_lifting_data", "deepmimic_clips"]


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


def deepmimic_clips(config: Lift3DConfig) -> tuple[list[Any], list[Any]]:
    """The DeepMimic clips split into (training clips, ``deepmimic.validation_clips``)."""
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
        train_clips, validation_clips = deepmimic_clips(config)
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
