"""Lifter checkpoints: official .bin files, numpy random states, architecture from the weights, errors."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from support.lift3d import small_model

from posekit.models.lift3d import (
    Lifter,
    TemporalModel,
    TemporalModelOptimized1f,
    infer_temporal_architecture,
    load_lifter,
    load_lifter_checkpoint,
)


def save_official_checkpoint(path: Path, pose: TemporalModel, trajectory: TemporalModel | None) -> None:
    """A checkpoint with run.py's keys and value types (numpy random state, optimizer state)."""
    parameters = list(pose.parameters()) + (list(trajectory.parameters()) if trajectory is not None else [])
    optimizer = torch.optim.Adam(parameters, lr=0.001, amsgrad=True)
    optimizer.zero_grad()
    pose(torch.randn(2, pose.receptive_field(), 17, 2)).sum().backward()
    optimizer.step()
    random_state = np.random.RandomState(1234).get_state()
    checkpoint = {
        "epoch": 80,
        "lr": 0.001 * 0.95**79,
        "random_state": random_state,
        "optimizer": optimizer.state_dict(),
        "model_pos": pose.state_dict(),
        "model_traj": trajectory.state_dict() if trajectory is not None else None,
        "random_state_semi": random_state if trajectory is not None else None,
    }
    torch.save(checkpoint, path)


def test_load_official_format_checkpoint_with_trajectory(tmp_path: Path) -> None:
    pose = small_model([3, 5], seed=1)
    trajectory = small_model([3, 5], joints_out=1, seed=2)
    path = tmp_path / "epoch_80.bin"
    save_official_checkpoint(path, pose, trajectory)
    # Plain weights-only loading refuses the numpy random state; load_lifter allows just that.
    with pytest.raises(Exception, match="numpy"):
        torch.load(path, weights_only=True)
    lifter = load_lifter(path, num_joints=17)
    assert isinstance(lifter, Lifter)
    assert lifter.receptive_field == 15 and lifter.num_joints == 17 and not lifter.causal
    assert isinstance(lifter.pose_model, TemporalModel) and lifter.pose_model.filter_widths == [3, 5]
    assert lifter.pose_model.channels == 32
    assert lifter.trajectory is not None and lifter.trajectory.num_joints_out == 1
    inputs = torch.randn(2, 30, 17, 2)
    with torch.no_grad():
        torch.testing.assert_close(lifter(inputs), pose(inputs), rtol=0, atol=0)
        torch.testing.assert_close(lifter.forward_trajectory(inputs), trajectory(inputs), rtol=0, atol=0)
    checkpoint = load_lifter_checkpoint(path)
    assert checkpoint["epoch"] == 80
    assert checkpoint["random_state"][0] == "MT19937"
    assert checkpoint["random_state"][1].dtype == np.uint32 and checkpoint["random_state"][1].shape == (624,)


def test_load_checkpoint_written_with_numpy1_names(tmp_path: Path) -> None:
    """Official files date from numpy 1: arrays name numpy.core.multiarray._reconstruct."""
    pose = small_model([3, 3], seed=3)
    buffer = io.BytesIO()
    checkpoint = {
        "epoch": 1,
        "lr": 0.001,
        "random_state": np.random.RandomState(0).get_state(),
        "model_pos": pose.state_dict(),
    }
    torch.save(checkpoint, buffer, _use_new_zipfile_serialization=False)  # the pre-1.6 format of the official files
    raw = buffer.getvalue()
    assert b"numpy._core.multiarray\n_reconstruct" in raw or b"numpy.core.multiarray\n_reconstruct" in raw
    raw = raw.replace(b"numpy._core.multiarray\n_reconstruct", b"numpy.core.multiarray\n_reconstruct")
    path = tmp_path / "legacy.bin"
    path.write_bytes(raw)
    lifter = load_lifter(path)
    assert lifter.trajectory is None and lifter.receptive_field == 9
    inputs = torch.randn(1, 12, 17, 2)
    with torch.no_grad():
        assert torch.equal(lifter(inputs), pose(inputs))


def test_load_lifter_refuses_arbitrary_objects(tmp_path: Path) -> None:
    path = tmp_path / "evil.bin"
    torch.save({"model_pos": small_model().state_dict(), "payload": Path("x")}, path)
    with pytest.raises(ValueError, match="weights-only"):
        load_lifter(path)


def test_load_lifter_causal_argument_and_checkpoint_flag(tmp_path: Path) -> None:
    model = small_model([3, 3], causal=True)
    path = tmp_path / "causal.bin"
    torch.save({"model_pos": model.state_dict()}, path)
    assert not load_lifter(path).causal  # weights do not record causality: default False
    assert load_lifter(path, causal=True).causal
    flagged = tmp_path / "flagged.bin"
    torch.save({"model_pos": model.state_dict(), "causal": True}, flagged)
    assert load_lifter(flagged).causal


def test_load_lifter_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_lifter(tmp_path / "missing.bin")
    path = tmp_path / "sixteen.bin"
    torch.save({"model_pos": TemporalModel(16, 2, 16, [3, 3], channels=8).state_dict()}, path)
    with pytest.raises(ValueError, match="predicts 16 joints.*17 joints were requested"):
        load_lifter(path, num_joints=17)
    assert load_lifter(path).num_joints == 16
    other = tmp_path / "other.bin"
    torch.save({"state_dict": {"conv.weight": torch.zeros(3)}}, other)
    with pytest.raises(ValueError, match="model_pos"):
        load_lifter(other)
    broken = tmp_path / "broken.bin"
    state = small_model([3, 3]).state_dict()
    del state["layers_conv.1.weight"]
    torch.save({"model_pos": state}, broken)
    with pytest.raises(ValueError, match="missing keys"):
        load_lifter(broken)
    mismatched = tmp_path / "mismatched.bin"
    torch.save(
        {"model_pos": small_model([3, 3]).state_dict(), "model_traj": small_model([3, 5], joints_out=1).state_dict()},
        mismatched,
    )
    with pytest.raises(ValueError, match="receptive field"):
        load_lifter(mismatched)


def test_infer_architecture_from_weights() -> None:
    state = TemporalModel(15, 2, 15, [3, 5, 3], channels=24).state_dict()
    architecture = infer_temporal_architecture(state)
    assert architecture.filter_widths == (3, 5, 3)
    assert (architecture.num_joints_in, architecture.num_joints_out, architecture.channels) == (15, 15, 24)
    assert architecture.receptive_field() == 45
    dense = TemporalModel(17, 2, 17, [3, 3, 3], channels=8, dense=True).state_dict()
    assert infer_temporal_architecture(dense, dense=True).filter_widths == (3, 3, 3)
    strided = TemporalModelOptimized1f(17, 2, 1, [3, 3], channels=8).state_dict()
    assert infer_temporal_architecture(strided).num_joints_out == 1
    with pytest.raises(ValueError, match="expand_conv.weight"):
        infer_temporal_architecture({"shrink.weight": torch.zeros(3, 8, 1)})
