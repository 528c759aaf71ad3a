"""Lifter: a pose model and its trajectory model; folding keeps the outputs."""

from __future__ import annotations

import pytest
import torch
from support.lift3d import small_model

from posekit.models.lift3d import Lifter


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
