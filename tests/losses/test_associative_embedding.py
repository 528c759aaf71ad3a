"""HigherHRNet losses against the official ``lib/core/loss.py`` (stored fixture) and hand-computed values."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from posekit.losses.associative_embedding import (
    AssociativeEmbeddingLoss,
    HeatmapLoss,
    MultiResolutionAELoss,
    total_loss,
)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures/official/higherhrnet_training.pt"


def _joints(*people: list[int]) -> torch.Tensor:
    """One image's ``(M, K, 2)`` rows from lists of flat indices (K = the longest list)."""
    width = max(len(person) for person in people)
    rows = torch.zeros((len(people), width, 2), dtype=torch.int32)
    for row, person in enumerate(people):
        for slot, index in enumerate(person):
            rows[row, slot] = torch.tensor([index, 1])
    return rows


def test_multi_resolution_loss_matches_the_official_factory() -> None:
    official = torch.load(FIXTURE, weights_only=True)["losses"]
    for loss_type in ("exp", "max"):
        loss = MultiResolutionAELoss(
            official["num_joints"],
            with_heatmaps_loss=(True, True),
            heatmaps_loss_factor=(1.0, 0.5),
            with_ae_loss=(True, False),
            push_loss_factor=(0.01, 0.001),
            pull_loss_factor=(0.1, 0.001),
            ae_loss_type=loss_type,
        )
        terms = loss(official["outputs"], official["heatmaps"], official["masks"], official["joints"])
        expected = official[loss_type]
        for ours, theirs in zip(terms.heatmaps, expected["heatmaps"], strict=True):
            assert ours is not None
            torch.testing.assert_close(ours, theirs, rtol=1e-6, atol=1e-9)
        assert terms.push[1] is None and terms.pull[1] is None
        assert terms.push[0] is not None and terms.pull[0] is not None
        torch.testing.assert_close(terms.push[0], expected["push"], rtol=1e-5, atol=1e-9)
        torch.testing.assert_close(terms.pull[0], expected["pull"], rtol=1e-5, atol=1e-9)
        assert float(expected["push"][2]) == 0.0 and float(expected["pull"][2]) == 0.0  # the image with nobody
        assert float(expected["push"][1]) == 0.0  # one person: no push


def test_ae_loss_by_hand() -> None:
    tags = torch.tensor([[0.0, 1.0, 3.0, 5.0, 0.5]])  # (B=1, 5) flat tag values
    joints = _joints([0, 1], [2, 3, 4])[None]  # person 0: tags 0, 1; person 1: 3, 5, 0.5
    push, pull = AssociativeEmbeddingLoss("exp")(tags, joints)
    mean0, mean1 = 0.5, 8.5 / 3
    pull0 = (0.25 + 0.25) / 2
    pull1 = ((3 - mean1) ** 2 + (5 - mean1) ** 2 + (0.5 - mean1) ** 2) / 3
    assert float(pull[0]) == pytest.approx((pull0 + pull1) / 2)
    # exp: sum over both ordered pairs, minus the diagonal, / (N (N - 1)) / 2
    assert float(push[0]) == pytest.approx(2 * math.exp(-((mean0 - mean1) ** 2)) / 2 * 0.5, rel=1e-5)
    push_max, _ = AssociativeEmbeddingLoss("max")(tags, _joints([0], [4])[None])  # tags 0 and 0.5
    assert float(push_max[0]) == pytest.approx(2 * 0.5 / 2 * 0.5)


def test_ae_loss_edge_cases_and_gradient() -> None:
    tags = torch.tensor([[0.0, 1.0, 3.0]], requires_grad=True)
    nobody = torch.zeros((1, 2, 3, 2), dtype=torch.int32)
    push, pull = AssociativeEmbeddingLoss()(tags.detach(), nobody)
    assert float(push[0]) == 0.0 and float(pull[0]) == 0.0
    one = _joints([0, 2])[None]
    push, pull = AssociativeEmbeddingLoss()(tags, one)
    assert float(push[0].detach()) == 0.0 and float(pull[0].detach()) == pytest.approx(2.25)  # tags 0 and 3 around 1.5
    pull.sum().backward()
    assert tags.grad is not None
    torch.testing.assert_close(tags.grad, torch.tensor([[-1.5, 0.0, 1.5]]))  # d/dt of mean (t - mean)^2
    with pytest.raises(ValueError, match="joint indices must lie in"):
        AssociativeEmbeddingLoss()(tags, _joints([7])[None])
    with pytest.raises(ValueError, match="ae_loss_type"):
        AssociativeEmbeddingLoss("abs")  # type: ignore[arg-type]


def test_heatmap_loss_and_total_by_hand() -> None:
    pred = torch.zeros((1, 2, 2, 2))
    gt = torch.ones((1, 2, 2, 2))
    mask = torch.tensor([[[1.0, 0.0], [1.0, 1.0]]])
    assert float(HeatmapLoss()(pred, gt, mask)[0]) == pytest.approx(0.75)
    loss = MultiResolutionAELoss(2, with_heatmaps_loss=(True,), heatmaps_loss_factor=(2.0,), with_ae_loss=(True,),
                                 push_loss_factor=(1.0,), pull_loss_factor=(1.0,))  # fmt: skip
    outputs = [torch.cat([pred, torch.zeros((1, 2, 2, 2))], dim=1)]  # heatmaps then 2 tag maps
    terms = total_loss(loss(outputs, [gt], [mask], [_joints([0, 5])[None]]))
    assert float(terms["heatmap_0"]) == pytest.approx(1.5)
    assert float(terms["loss"]) == pytest.approx(1.5) and float(terms["pull_0"]) == 0.0
    with pytest.raises(ValueError, match="one entry per supervised resolution"):
        loss(outputs * 2, [gt], [mask], [_joints([0])[None]])
    with pytest.raises(ValueError, match="mask must have shape"):
        HeatmapLoss()(pred, gt, mask[:, :1])
