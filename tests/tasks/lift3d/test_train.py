"""The lift3d task's training: supervised training exports a lifter that evaluates; the BatchNorm schedule."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from posekit.data.h36m import h36m_cameras
from posekit.engine import TrainConfig
from posekit.models.lift3d import load_lifter
from posekit.tasks.lift3d import Lift3DConfig, Lift3DDataConfig, Lift3DModelConfig, bn_momentum, evaluate, train


def _write_fake_h36m(folder: Path, frames: int = 24) -> Path:
    """Official-format files for S1 and S9: a swaying 32-joint body, ground-truth 2D projections."""
    rng = np.random.default_rng(0)
    template = rng.uniform([-0.3, -0.2, 0.1], [0.3, 0.2, 1.7], size=(32, 3))
    positions_3d: dict[str, dict[str, np.ndarray]] = {}
    positions_2d: dict[str, dict[str, list[np.ndarray]]] = {}
    for subject in ("S1", "S9"):
        positions_3d[subject], positions_2d[subject] = {}, {}
        for action_index, action in enumerate(("Walking", "Eating 1")):
            phase = np.linspace(0, 2 * np.pi, frames)[:, None] + action_index
            sway = 0.15 * np.stack([np.sin(phase), np.cos(phase), 0.2 * np.sin(2 * phase)], axis=-1)  # (T, 1, 3)
            world = (template[None] + sway * np.linspace(0.2, 1.0, 32)[None, :, None]).astype(np.float32)
            positions_3d[subject][action] = world
            cameras = h36m_cameras(subject)
            positions_2d[subject][action] = [
                camera.project(camera.world_to_camera(world.astype(np.float64)))[:, list(range(32))].astype(np.float32)
                for camera in cameras
            ]
    kept = [0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27]
    for subject in positions_2d:
        for action in positions_2d[subject]:
            positions_2d[subject][action] = [keypoints[:, kept] for keypoints in positions_2d[subject][action]]
    metadata = {"num_joints": 17, "keypoints_symmetry": [[4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]]}
    np.savez_compressed(folder / "data_3d_h36m.npz", positions_3d=positions_3d)
    np.savez_compressed(folder / "data_2d_h36m_gt.npz", positions_2d=positions_2d, metadata=metadata)
    return folder / "data_3d_h36m.npz"


def test_supervised_training_decreases_loss_and_evaluates(tmp_path: Path) -> None:
    path_3d = _write_fake_h36m(tmp_path)
    config = Lift3DConfig(
        data=Lift3DDataConfig(
            kind="h36m", path_3d=str(path_3d), keypoints="gt", subjects_train=("S1",), subjects_test=("S9",)
        ),
        model=Lift3DModelConfig(filter_widths=(3, 3), channels=32, dropout=0.0),
        train=TrainConfig(
            epochs=2, lr=3e-3, out_dir=str(tmp_path / "run"), log_every=1, progress=False, curves=False, seed=0
        ),
        batch_size=32,
        lr_decay=0.5,
        evaluate_during_training=False,
    )
    summary = train(config)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    losses = [record["loss"] for record in records if record["event"] == "train"]
    assert len(losses) == 2 * 12  # 2 epochs of ceil(2 actions * 4 cameras * 24 frames * 2 flips / 32) steps
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])
    lrs = sorted({record["lr"] for record in records if record["event"] == "train"})
    assert lrs == pytest.approx([1.5e-3, 3e-3])  # lr_decay after the first epoch
    lifter = load_lifter(summary["exported"])
    assert lifter.receptive_field == 9 and lifter.trajectory is None
    metrics = evaluate(config, summary["exported"])
    assert {"mpjpe", "p_mpjpe", "n_mpjpe", "mpjve", "mpjpe/Walking", "mpjpe/Eating"} <= set(metrics)
    assert metrics["mpjpe"] == pytest.approx(summary["evaluation"]["mpjpe"], rel=1e-5)
    assert metrics["p_mpjpe"] <= metrics["mpjpe"] + 1e-6
    trained_checkpoint = evaluate(config, str(tmp_path / "run" / "last.pt"))
    assert trained_checkpoint["mpjpe"] == pytest.approx(metrics["mpjpe"], rel=1e-5)


def test_bn_momentum_schedule() -> None:
    assert bn_momentum(0, 60) == pytest.approx(0.1)
    assert bn_momentum(60, 60) == pytest.approx(0.001)
    assert bn_momentum(30, 60) == pytest.approx(0.01)
