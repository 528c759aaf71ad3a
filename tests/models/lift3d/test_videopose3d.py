"""VideoPose3D temporal models: shapes, receptive fields, causality, official names, 1f parity."""

from __future__ import annotations

import pytest
import torch
from support.lift3d import randomize_batchnorm

from posekit.models.lift3d.videopose3d import TemporalModel, TemporalModelOptimized1f


# Names derived by hand from the official common/model.py for filter_widths [3, 3, 3]:
# expand_conv (no bias), expand_bn, then per block i in 1..2 a dilated conv layers_conv.{2(i-1)}
# and a 1x1 conv layers_conv.{2(i-1)+1}, each with a BatchNorm layers_bn.{same}, then shrink.
def _bn(prefix: str) -> list[str]:
    return [f"{prefix}.{name}" for name in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")]


OFFICIAL_KEYS_333 = [
    *_bn("expand_bn"),
    "shrink.weight",
    "shrink.bias",
    "expand_conv.weight",
    "layers_conv.0.weight",
    "layers_conv.1.weight",
    "layers_conv.2.weight",
    "layers_conv.3.weight",
    *_bn("layers_bn.0"),
    *_bn("layers_bn.1"),
    *_bn("layers_bn.2"),
    *_bn("layers_bn.3"),
]


def test_state_dict_names_equal_official() -> None:
    model = TemporalModel(17, 2, 17, [3, 3, 3], channels=16)
    assert list(model.state_dict()) == OFFICIAL_KEYS_333
    strided = TemporalModelOptimized1f(17, 2, 17, [3, 3, 3], channels=16)
    assert list(strided.state_dict()) == OFFICIAL_KEYS_333
    shapes = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    assert shapes["expand_conv.weight"] == (16, 34, 3)
    assert shapes["layers_conv.0.weight"] == (16, 16, 3)
    assert shapes["layers_conv.1.weight"] == (16, 16, 1)
    assert shapes["shrink.weight"] == (51, 16, 1)
    assert model.layers_conv[0].dilation == (3,)
    assert model.layers_conv[2].dilation == (9,)


@pytest.mark.parametrize(
    ("widths", "receptive_field"), [([3, 3, 3], 27), ([3, 3, 3, 3], 81), ([3, 3, 3, 3, 3], 243), ([3, 5], 15), ([1], 1)]
)
def test_output_shape_and_receptive_field(widths: list[int], receptive_field: int) -> None:
    model = TemporalModel(17, 2, 17, widths, channels=8).eval()
    assert model.receptive_field() == receptive_field
    with torch.no_grad():
        output = model(torch.randn(2, receptive_field + 10, 17, 2))
    assert output.shape == (2, 11, 17, 3)


def test_trajectory_model_has_one_output_joint() -> None:
    model = TemporalModel(17, 2, 1, [3, 3], channels=8).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 20, 17, 2)).shape == (1, 12, 1, 3)


def test_causal_output_ignores_future_frames() -> None:
    torch.manual_seed(0)
    model = TemporalModel(17, 2, 17, [3, 3, 3], causal=True, channels=16).eval()
    randomize_batchnorm(model)
    receptive_field = model.receptive_field()
    inputs = torch.randn(1, 60, 17, 2)
    # Causal evaluation pads rf - 1 frames on the left: output t then sees padded frames
    # t .. t + rf - 1, i.e. original frames t - rf + 1 .. t.
    padded = torch.cat([inputs[:, :1].expand(-1, receptive_field - 1, -1, -1), inputs], dim=1)
    perturbed = padded.clone()
    changed_from = receptive_field - 1 + 40  # original frame 40 onwards
    perturbed[:, changed_from:] += torch.randn_like(perturbed[:, changed_from:])
    with torch.no_grad():
        before, after = model(padded), model(perturbed)
    assert before.shape == (1, 60, 17, 3)
    assert torch.equal(before[:, :40], after[:, :40])
    assert not torch.allclose(before[:, 40:], after[:, 40:])


def test_causal_shift_changes_residual_alignment() -> None:
    torch.manual_seed(0)
    symmetric = TemporalModel(17, 2, 17, [3, 3], causal=False, channels=8).eval()
    causal = TemporalModel(17, 2, 17, [3, 3], causal=True, channels=8).eval()
    causal.load_state_dict(symmetric.state_dict())
    assert symmetric.total_causal_shift() == 0 and causal.total_causal_shift() == 4
    assert causal.causal_shift == [1, 3]
    inputs = torch.randn(1, 20, 17, 2)
    with torch.no_grad():
        assert not torch.allclose(symmetric(inputs), causal(inputs))


def test_dense_ablation_uses_wide_undilated_kernels() -> None:
    model = TemporalModel(17, 2, 17, [3, 3, 3], dense=True, channels=8).eval()
    assert model.layers_conv[0].kernel_size == (7,) and model.layers_conv[0].dilation == (1,)
    assert model.layers_conv[2].kernel_size == (19,)
    with torch.no_grad():
        assert model(torch.randn(1, 30, 17, 2)).shape == (1, 4, 17, 3)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("widths", [[3, 3, 3], [3, 5], [5, 3, 3]])
def test_strided_1f_equals_dilated_on_windows(widths: list[int], causal: bool) -> None:
    torch.manual_seed(0)
    dilated = TemporalModel(17, 2, 17, widths, causal=causal, channels=16).double().eval()
    randomize_batchnorm(dilated)
    strided = TemporalModelOptimized1f(17, 2, 17, widths, causal=causal, channels=16).double().eval()
    strided.load_state_dict(dilated.state_dict())
    assert strided.receptive_field() == dilated.receptive_field()
    assert strided.total_causal_shift() == dilated.total_causal_shift()
    windows = torch.randn(5, dilated.receptive_field(), 17, 2, dtype=torch.float64)
    with torch.no_grad():
        expected = dilated(windows)
        actual = strided(windows)
    assert actual.shape == (5, 1, 17, 3)
    torch.testing.assert_close(actual, expected, rtol=1e-12, atol=1e-12)
    # And back: a state dict from the strided model loads into the dilated one.
    dilated.load_state_dict(strided.state_dict())


def test_set_bn_momentum() -> None:
    model = TemporalModel(17, 2, 17, [3, 3], channels=8)
    model.set_bn_momentum(0.01)
    momenta = {module.momentum for module in model.modules() if isinstance(module, torch.nn.BatchNorm1d)}
    assert momenta == {0.01}


def test_training_mode_runs_backward() -> None:
    model = TemporalModelOptimized1f(17, 2, 17, [3, 3], channels=8)
    output = model(torch.randn(4, 9, 17, 2))
    output.square().mean().backward()
    assert model.expand_conv.weight.grad is not None


def test_bad_inputs_raise_value_error() -> None:
    model = TemporalModel(17, 2, 17, [3, 3], channels=8)
    with pytest.raises(ValueError, match=r"\(B, T, 17, 2\)"):
        model(torch.randn(1, 20, 16, 2))
    with pytest.raises(ValueError, match=r"\(B, T, 17, 2\)"):
        model(torch.randn(1, 20, 17, 3))
    with pytest.raises(ValueError, match="receptive field of 9"):
        model(torch.randn(1, 8, 17, 2))
    with pytest.raises(ValueError, match="odd"):
        TemporalModel(17, 2, 17, [3, 4])
    with pytest.raises(ValueError, match="at least one"):
        TemporalModel(17, 2, 17, [])
