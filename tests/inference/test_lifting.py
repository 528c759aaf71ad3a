"""Lifting inference: official checkpoints, architecture from weights, chunking, folding, flips."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch

from posekit.inference.lifting import (
    FoldedTemporalModel,
    Lifter,
    fold_batchnorm,
    infer_temporal_architecture,
    lift_sequence,
    load_lifter,
    load_lifter_checkpoint,
)
from posekit.models.lift3d.videopose3d import TemporalModel, TemporalModelOptimized1f

# Human3.6M left/right joints (as in the official skeleton definition).
JOINTS_LEFT = [4, 5, 6, 11, 12, 13]
JOINTS_RIGHT = [1, 2, 3, 14, 15, 16]


def randomize_batchnorm(model: torch.nn.Module, seed: int = 0) -> None:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                size = module.num_features
                assert module.running_mean is not None and module.running_var is not None
                module.running_mean.copy_(torch.rand(size, generator=generator) - 0.5)
                module.running_var.copy_(torch.rand(size, generator=generator) + 0.5)
                module.weight.copy_(torch.rand(size, generator=generator) + 0.5)
                module.bias.copy_(torch.rand(size, generator=generator) - 0.5)


def small_model(
    widths: list[int] | None = None,
    *,
    causal: bool = False,
    joints_out: int = 17,
    dtype: torch.dtype = torch.float32,
    seed: int = 0,
) -> TemporalModel:
    torch.manual_seed(seed)
    model = TemporalModel(17, 2, joints_out, widths or [3, 3, 3], causal=causal, channels=32)
    randomize_batchnorm(model, seed)
    return model.to(dtype).eval()


def official_evaluate(
    model: TemporalModel, keypoints: np.ndarray, *, causal: bool, flip: bool = False, trajectory: bool = False
) -> np.ndarray:
    """What the official run.py evaluate() + UnchunkedGenerator compute, restated for the test."""
    pad = (model.receptive_field() - 1) // 2
    shift = pad if causal else 0
    batch = np.expand_dims(np.pad(keypoints, ((pad + shift, pad - shift), (0, 0), (0, 0)), "edge"), axis=0)
    if flip:
        batch = np.concatenate((batch, batch), axis=0)
        batch[1, :, :, 0] *= -1
        batch[1, :, JOINTS_LEFT + JOINTS_RIGHT] = batch[1, :, JOINTS_RIGHT + JOINTS_LEFT]
    dtype = model.expand_conv.weight.dtype
    with torch.no_grad():
        predicted = model(torch.from_numpy(batch).to(dtype))
        if flip:
            predicted[1, :, :, 0] *= -1
            if not trajectory:
                predicted[1, :, JOINTS_LEFT + JOINTS_RIGHT] = predicted[1, :, JOINTS_RIGHT + JOINTS_LEFT]
            predicted = torch.mean(predicted, dim=0, keepdim=True)
    return predicted.squeeze(0).numpy()


def random_keypoints(num_frames: int, dtype: type = np.float64, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(scale=0.3, size=(num_frames, 17, 2)).astype(dtype)


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


@pytest.mark.parametrize("causal", [False, True])
def test_lift_sequence_equals_official_evaluation_float64(causal: bool) -> None:
    model = small_model(causal=causal, dtype=torch.float64)
    keypoints = random_keypoints(700)
    expected = official_evaluate(model, keypoints, causal=causal)
    assert expected.shape == (700, 17, 3)
    for chunk_size, batch_size in [(10**6, 1), (64, 1), (100, 3), (333, 2), (699, 4)]:
        actual = lift_sequence(model, keypoints, chunk_size=chunk_size, batch_size=batch_size)
        assert actual.dtype == np.float64
        np.testing.assert_array_equal(actual, expected, err_msg=f"chunk_size={chunk_size} batch_size={batch_size}")


def test_lift_sequence_chunked_equals_unchunked_folded_float32() -> None:
    folded = fold_batchnorm(small_model())
    keypoints = random_keypoints(900, np.float32)
    unchunked = lift_sequence(folded, keypoints, chunk_size=10**6)
    assert unchunked.dtype == np.float32
    for chunk_size, batch_size in [(128, 1), (300, 2), (899, 1)]:
        np.testing.assert_array_equal(
            lift_sequence(folded, keypoints, chunk_size=chunk_size, batch_size=batch_size), unchunked
        )


def test_lift_sequence_flip_augmentation_matches_official() -> None:
    model = small_model(dtype=torch.float64)
    keypoints = random_keypoints(200)
    expected = official_evaluate(model, keypoints, causal=False, flip=True)
    actual = lift_sequence(
        model, keypoints, chunk_size=50, flip_augment=True, keypoints_left=JOINTS_LEFT, keypoints_right=JOINTS_RIGHT
    )
    np.testing.assert_array_equal(actual, expected)
    trajectory = small_model(joints_out=1, dtype=torch.float64, seed=5)
    expected_trajectory = official_evaluate(trajectory, keypoints, causal=False, flip=True, trajectory=True)
    actual_trajectory = lift_sequence(
        trajectory,
        keypoints,
        chunk_size=64,
        flip_augment=True,
        keypoints_left=JOINTS_LEFT,
        keypoints_right=JOINTS_RIGHT,
    )
    np.testing.assert_array_equal(actual_trajectory, expected_trajectory)


def test_lift_sequence_causal_uses_only_past_frames() -> None:
    model = small_model(causal=True)
    keypoints = random_keypoints(300, np.float32)
    perturbed = keypoints.copy()
    perturbed[150:] += 1.0
    before = lift_sequence(model, keypoints, chunk_size=64)
    after = lift_sequence(model, perturbed, chunk_size=64)
    np.testing.assert_array_equal(before[:150], after[:150])
    assert np.abs(before[150:] - after[150:]).max() > 1e-3
    # The symmetric model looks (rf - 1) / 2 = 13 frames ahead.
    symmetric = small_model(causal=False)
    before = lift_sequence(symmetric, keypoints, chunk_size=64)
    after = lift_sequence(symmetric, perturbed, chunk_size=64)
    assert np.abs(before[137:150] - after[137:150]).max() > 1e-3
    np.testing.assert_array_equal(before[:137], after[:137])


def test_lift_sequence_without_padding() -> None:
    model = small_model(dtype=torch.float64)
    keypoints = random_keypoints(100)
    output = lift_sequence(model, keypoints, pad=None, chunk_size=30)
    assert output.shape == (74, 17, 3)
    with torch.no_grad():
        expected = model(torch.from_numpy(keypoints)[None])[0].numpy()
    np.testing.assert_array_equal(output, expected)
    with pytest.raises(ValueError, match="fewer than the receptive field of 27"):
        lift_sequence(model, keypoints[:20], pad=None)
    assert lift_sequence(model, keypoints[:20]).shape == (20, 17, 3)  # edge padding handles short tracks


def test_lift_sequence_with_lifter_and_torch_input(tmp_path: Path) -> None:
    lifter = Lifter(small_model(), small_model(joints_out=1, seed=4))
    keypoints = torch.from_numpy(random_keypoints(50, np.float32))
    poses = lift_sequence(lifter, keypoints)
    assert poses.shape == (50, 17, 3)
    assert lifter.trajectory is not None
    assert lift_sequence(lifter.trajectory, keypoints).shape == (50, 1, 3)


def test_lift_sequence_bad_inputs() -> None:
    model = small_model()
    keypoints = random_keypoints(40, np.float32)
    with pytest.raises(ValueError, match=r"\(T, 17, 2\)"):
        lift_sequence(model, keypoints[:, :16])
    with pytest.raises(ValueError, match=r"\(T, 17, 2\)"):
        lift_sequence(model, np.zeros((40, 17, 3), np.float32))
    with pytest.raises(ValueError, match=r"\(T, 17, 2\)"):
        lift_sequence(model, keypoints[0])
    bad = keypoints.copy()
    bad[7, 3, 0] = np.nan
    with pytest.raises(ValueError, match="NaN.*frame 7"):
        lift_sequence(model, bad)
    with pytest.raises(ValueError, match="chunk_size"):
        lift_sequence(model, keypoints, chunk_size=0)
    with pytest.raises(ValueError, match="keypoints_left"):
        lift_sequence(model, keypoints, flip_augment=True, keypoints_left=[17], keypoints_right=[1])
    with pytest.raises(ValueError, match="pair up"):
        lift_sequence(model, keypoints, flip_augment=True, keypoints_left=[1, 2], keypoints_right=[3])


@pytest.mark.parametrize("causal", [False, True])
def test_fold_batchnorm_matches_model(causal: bool) -> None:
    model = small_model([3, 5, 3], causal=causal)
    folded = fold_batchnorm(model)
    assert isinstance(folded, FoldedTemporalModel)
    assert folded.receptive_field() == model.receptive_field() and folded.causal == causal
    inputs = torch.randn(3, 80, 17, 2)
    with torch.no_grad():
        torch.testing.assert_close(folded(inputs), model(inputs), rtol=1e-5, atol=1e-5)
    model64 = small_model([3, 5, 3], causal=causal, dtype=torch.float64)
    with torch.no_grad():
        expected = model64(inputs.double())
        torch.testing.assert_close(fold_batchnorm(model64)(inputs.double()), expected, rtol=1e-12, atol=1e-12)


def test_fold_batchnorm_of_strided_and_dense_models() -> None:
    model = small_model([3, 3])
    strided = TemporalModelOptimized1f(17, 2, 17, [3, 3], channels=32)
    strided.load_state_dict(model.state_dict())
    inputs = torch.randn(2, 40, 17, 2)
    with torch.no_grad():
        torch.testing.assert_close(fold_batchnorm(strided)(inputs), model(inputs), rtol=1e-5, atol=1e-5)
    dense = TemporalModel(17, 2, 17, [3, 3], channels=16, dense=True)
    randomize_batchnorm(dense)
    dense.eval()
    with torch.no_grad():
        torch.testing.assert_close(fold_batchnorm(dense)(inputs), dense(inputs), rtol=1e-5, atol=1e-5)


def test_bfloat16_fold_is_close() -> None:
    model = small_model()
    folded = fold_batchnorm(model, compute_dtype=torch.bfloat16)
    inputs = torch.randn(1, 100, 17, 2)
    with torch.no_grad():
        expected, actual = model(inputs), folded(inputs)
    assert actual.dtype == torch.float32
    # bfloat16 keeps 8 mantissa bits: a few per mille of the output scale.
    assert (actual - expected).abs().max() < 0.02 * expected.abs().max()
    assert not torch.equal(actual, expected)


def test_lifter_folded_keeps_outputs() -> None:
    lifter = Lifter(small_model(), small_model(joints_out=1, seed=3))
    folded = lifter.folded()
    inputs = torch.randn(1, 60, 17, 2)
    with torch.no_grad():
        torch.testing.assert_close(folded(inputs), lifter(inputs), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(
            folded.forward_trajectory(inputs), lifter.forward_trajectory(inputs), rtol=1e-5, atol=1e-5
        )
    with pytest.raises(ValueError, match="already folded"):
        folded.folded()
    with pytest.raises(ValueError, match="no trajectory"):
        Lifter(small_model()).forward_trajectory(inputs)
