"""The lift3d task: supervised training, the semi-supervised loss by hand, per-action evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from posekit.config import load_config
from posekit.data.h36m import h36m_cameras
from posekit.engine import TrainConfig
from posekit.geometry import project_to_2d
from posekit.models.lift3d import TemporalModel, load_lifter
from posekit.skeletons import H36M
from posekit.tasks import load_task_config
from posekit.tasks.lift3d import (
    Lift3DConfig,
    Lift3DDataConfig,
    Lift3DModelConfig,
    LiftingTrainModule,
    aggregate_errors,
    bn_momentum,
    evaluate,
    semi_supervised_loss,
    train,
)

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "videopose3d"


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


def test_semi_supervised_loss_by_hand() -> None:
    torch.manual_seed(0)
    pose = TemporalModel(17, 2, 17, [3], dropout=0.0, channels=8).eval()
    trajectory = TemporalModel(17, 2, 1, [3], dropout=0.0, channels=8).eval()
    with torch.no_grad():
        trajectory.shrink.bias.copy_(torch.tensor([0.1, -0.2, 4.0]))  # roots in front of the camera
    module = LiftingTrainModule(pose, trajectory)
    labelled = {"keypoints_2d": torch.randn(2, 3, 17, 2) * 0.2, "positions_3d": torch.randn(2, 1, 17, 3) * 0.3}
    labelled["positions_3d"][:, :, 0] = torch.tensor([0.2, 0.1, 5.0])
    camera = torch.tensor(h36m_cameras("S9")[1].normalized_intrinsics(), dtype=torch.float32)
    unlabelled = {"keypoints_2d": torch.randn(3, 3, 17, 2) * 0.2, "intrinsics": camera.repeat(3, 1)}
    batch = {"labelled": labelled, "unlabelled": unlabelled}
    terms = semi_supervised_loss(module, batch, pad=1, causal_shift=0, parents=H36M.parents, warmup=False)

    inputs = torch.cat([labelled["keypoints_2d"], unlabelled["keypoints_2d"]])
    with torch.no_grad():
        predicted, root = pose(inputs).double(), trajectory(inputs).double()
    target = labelled["positions_3d"].double() - labelled["positions_3d"][:, :, :1].double()
    expected_3d = torch.linalg.norm(predicted[:2] - target, dim=-1).mean()
    true_root = labelled["positions_3d"][:, :, :1].double()
    expected_trajectory = (torch.linalg.norm(root[:2] - true_root, dim=-1) / true_root[..., 2]).mean()
    # Projection: posekit.geometry.project_to_2d, and the H36M distortion model written out here.
    reprojection = project_to_2d(predicted[2:] + root[2:], unlabelled["intrinsics"].double())
    points = (predicted[2:] + root[2:]).numpy()
    xy = np.clip(points[..., :2] / points[..., 2:], -1, 1)
    fx, fy, cx, cy, k1, k2, k3, p1, p2 = camera.double().numpy()
    r2 = (xy**2).sum(-1, keepdims=True)
    radial = 1 + k1 * r2 + k2 * r2**2 + k3 * r2**3
    tangential = p1 * xy[..., :1] + p2 * xy[..., 1:]
    by_hand = (xy * (radial + tangential) + np.array([p1, p2]) * r2) * np.array([fx, fy]) + np.array([cx, cy])
    np.testing.assert_allclose(reprojection.numpy(), by_hand, atol=1e-9)
    expected_projection = np.linalg.norm(by_hand - unlabelled["keypoints_2d"][:, 1:2].double().numpy(), axis=-1).mean()
    # Bone lengths: mean over the labelled / unlabelled predictions, absolute difference per bone.
    pose_numpy = predicted.numpy()
    bones = [
        np.linalg.norm(pose_numpy[:, :, j] - pose_numpy[:, :, p], axis=-1) for j, p in enumerate(H36M.parents) if p >= 0
    ]
    lengths = np.stack(bones, axis=-1).mean(axis=1)  # (B, 16)
    expected_bones = np.abs(lengths[:2].mean(0) - lengths[2:].mean(0)).mean()
    assert float(terms["mpjpe"]) == pytest.approx(float(expected_3d), rel=1e-5)
    assert float(terms["trajectory"]) == pytest.approx(float(expected_trajectory), rel=1e-5)
    assert float(terms["projection"]) == pytest.approx(float(expected_projection), rel=1e-5)
    assert float(terms["bone_length"]) == pytest.approx(float(expected_bones), rel=1e-4)
    total = expected_3d + expected_trajectory + expected_projection + expected_bones
    assert float(terms["loss"].detach()) == pytest.approx(float(total), rel=1e-5)
    terms["loss"].backward()
    assert pose.expand_conv.weight.grad is not None and trajectory.expand_conv.weight.grad is not None
    warm = semi_supervised_loss(module, batch, pad=1, causal_shift=0, parents=H36M.parents, warmup=True)
    assert float(warm["projection"]) == 0 and float(warm["loss"].detach()) == pytest.approx(
        float(expected_3d + expected_trajectory), rel=1e-4
    )


def test_action_aggregation_by_hand() -> None:
    metres = 1e-3
    records = [
        {"subject": "S9", "action": "Walking", "frames": 2, "mpjpe": np.array([1.0, 3.0]) * metres,
         "p_mpjpe": np.array([1.0, 1.0]) * metres, "n_mpjpe": np.array([2.0, 2.0]) * metres, "mpjve": 4 * metres},
        {"subject": "S11", "action": "Walking 1", "frames": 1, "mpjpe": np.array([5.0]) * metres,
         "p_mpjpe": np.array([4.0]) * metres, "n_mpjpe": np.array([2.0]) * metres, "mpjve": 1 * metres},
        {"subject": "S9", "action": "Eating 2", "frames": 2, "mpjpe": np.array([2.0, 2.0]) * metres,
         "p_mpjpe": np.array([1.0, 3.0]) * metres, "n_mpjpe": np.array([2.0, 2.0]) * metres, "mpjve": 2 * metres},
    ]  # fmt: skip
    result = aggregate_errors(records, by_subject=True)
    assert result["mpjpe/Walking"] == pytest.approx(3.0)  # (1 + 3 + 5) / 3 frames, variants merged
    assert result["mpjpe/Eating"] == pytest.approx(2.0)
    assert result["mpjpe"] == pytest.approx(2.5)  # mean over actions, not frames
    assert result["p_mpjpe/Walking"] == pytest.approx(2.0) and result["p_mpjpe"] == pytest.approx(2.0)
    assert result["mpjve/Walking"] == pytest.approx((4 * 2 + 1 * 1) / 3)  # weighted by frames as run.py
    assert result["S9/mpjpe"] == pytest.approx((2.0 + 2.0) / 2) and result["S11/mpjpe"] == pytest.approx(5.0)


def test_bn_momentum_schedule() -> None:
    assert bn_momentum(0, 60) == pytest.approx(0.1)
    assert bn_momentum(60, 60) == pytest.approx(0.001)
    assert bn_momentum(30, 60) == pytest.approx(0.01)


@pytest.mark.parametrize("name", sorted(path.name for path in CONFIGS.glob("*.yaml")))
def test_configs_load(name: str) -> None:
    task, config = load_task_config(CONFIGS / name)
    assert task.name == "lift3d" and isinstance(config, Lift3DConfig)
    assert load_config({"model": {"filter_widths": [3, 3, 3, 3, 3]}}, Lift3DConfig).model.receptive_field() == 243
