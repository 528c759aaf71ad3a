"""Folding BatchNorm: the folded model equals the trained one (dilated, strided, dense, bfloat16)."""

from __future__ import annotations

import pytest
import torch
from support.lift3d import randomize_batchnorm, small_model

from posekit.models.lift3d import FoldedTemporalModel, TemporalModel, TemporalModelOptimized1f, fold_batchnorm


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
