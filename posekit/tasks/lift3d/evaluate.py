"""The ``lift3d`` task's evaluation: the official protocols, per action, on whole sequences."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from posekit.data.lifting_dataset import LiftingSequence
from posekit.inference.lift3d.sequence import lift_sequence
from posekit.metrics import mpjpe as mpjpe_metric
from posekit.metrics import mpjve, n_mpjpe, p_mpjpe
from posekit.models.lift3d import Lifter, load_lifter
from posekit.tasks import default_weights
from posekit.tasks.lift3d.config import Lift3DConfig
from posekit.tasks.lift3d.data import LiftingData, build_lifting_data

__all__ = ["aggregate_errors", "evaluate", "evaluate_lifter"]


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


def evaluate_on_test_sequences(
    lifter: Lifter,
    data: LiftingData,
    config: Lift3DConfig,
    *,
    test_time_flip: bool | None = None,
    by_subject: bool | None = None,
) -> dict[str, float]:
    """:func:`evaluate_lifter` on the test sequences of ``data``; flip and grouping from the config unless given."""
    return evaluate_lifter(
        lifter,
        data.test_sequences,
        keypoints_left=data.keypoints_left,
        keypoints_right=data.keypoints_right,
        joints_left=data.joints_left,
        joints_right=data.joints_right,
        test_time_flip=config.test_time_flip if test_time_flip is None else test_time_flip,
        by_subject=config.by_subject if by_subject is None else by_subject,
    )


def evaluate(config: Lift3DConfig, weights: str | None = None) -> dict[str, float]:
    """Evaluate ``weights`` (default: ``train.out_dir/<export_name>``, else ``last.pt``) as configured.

    ``weights`` is anything :func:`posekit.models.lift3d.load_lifter` reads (an exported lifter, a
    ``lift3d`` training checkpoint, an official ``.bin``), built with the config's ``causal`` and
    ``dense``.

    Returns:
        Millimetres: ``mpjpe``, ``p_mpjpe``, ``n_mpjpe``, ``mpjve``, per action
        ``"<metric>/<action>"``, per subject with ``by_subject``, and ``trajectory`` when the
        weights hold a trajectory model.
    """
    if weights is None:
        weights = default_weights(config.train.out_dir, (config.export_name, "last.pt"))
    lifter = load_lifter(weights, causal=config.model.causal, dense=config.model.dense)
    data = build_lifting_data(config, for_training=False)
    return evaluate_on_test_sequences(lifter, data, config)
