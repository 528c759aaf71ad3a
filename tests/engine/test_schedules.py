"""Learning-rate schedules against hand values and torch's own schedulers."""

from __future__ import annotations

import math

import pytest
import torch

from posekit.engine.schedules import LRSchedule, build_optimizer, lr_factor


def test_linear_warmup_then_multistep_by_epoch_hand_values() -> None:
    # 3 steps per epoch; warmup 4 steps from 0.1; decay x0.1 at epochs 2 and 4 (MMPose-style).
    arguments = {"milestones": (2, 4), "gamma": 0.1, "warmup_iters": 4, "warmup_factor": 0.1}
    factors = [lr_factor(step, step // 3, **arguments) for step in range(15)]
    expected = [0.1, 0.325, 0.55, 0.775] + [1.0] * 2 + [0.1] * 6 + [0.01] * 3
    assert factors == pytest.approx(expected, rel=1e-12)


def test_warmup_multiplies_the_main_schedule() -> None:
    # A milestone inside the warmup: both factors apply (as chained MMEngine schedulers do).
    assert lr_factor(1, 1, milestones=(1,), gamma=0.5, warmup_iters=2, warmup_factor=0.2) == pytest.approx(0.5 * 0.6)


def test_cosine_by_step_and_by_epoch_hand_values() -> None:
    assert lr_factor(0, 0, schedule="cosine", by="step", total=10) == 1.0
    assert lr_factor(5, 0, schedule="cosine", by="step", total=10) == pytest.approx(0.5)
    assert lr_factor(10, 0, schedule="cosine", by="step", total=10) == pytest.approx(0.0)
    assert lr_factor(99, 0, schedule="cosine", by="step", total=10) == pytest.approx(0.0)  # stays at the floor
    assert lr_factor(5, 0, schedule="cosine", by="step", total=10, min_factor=0.1) == pytest.approx(0.55)
    assert lr_factor(7, 1, schedule="cosine", by="epoch", total=4) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    assert lr_factor(3, 3, schedule="constant", warmup_iters=0) == 1.0


def _torch_rates(scheduler_factory, steps: int, step_per: int) -> list[float]:  # type: ignore[no-untyped-def]
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=0.2)
    scheduler = scheduler_factory(optimizer)
    rates = []
    for step in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if (step + 1) % step_per == 0:
            scheduler.step()
    return rates


def test_parity_with_torch_multistep_and_cosine_schedulers() -> None:
    multistep = _torch_rates(lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [2, 3], gamma=0.3), 15, 3)
    ours = [0.2 * lr_factor(step, step // 3, milestones=(2, 3), gamma=0.3) for step in range(15)]
    assert ours == pytest.approx(multistep, rel=1e-12)
    cosine = _torch_rates(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=12, eta_min=0.02), 12, 1)
    ours = [0.2 * lr_factor(step, 0, schedule="cosine", by="step", total=12, min_factor=0.1) for step in range(12)]
    assert ours == pytest.approx(cosine, rel=1e-9)


def test_lr_schedule_sets_every_group_and_round_trips_its_base_rates() -> None:
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD([{"params": [model.weight], "lr": 0.1}, {"params": [model.bias], "lr": 0.01}])
    schedule = LRSchedule(optimizer, milestones=(1,), gamma=0.5, warmup_iters=2, warmup_factor=0.5)
    assert schedule.apply(0, 0) == pytest.approx([0.05, 0.005])
    assert schedule.apply(5, 1) == pytest.approx([0.05, 0.005])
    assert schedule.state_dict() == {"base_lrs": [0.1, 0.01]}
    other = LRSchedule(torch.optim.SGD(model.parameters(), lr=1.0))
    with pytest.raises(ValueError, match="2 parameter groups, the optimizer 1"):
        other.load_state_dict(schedule.state_dict())


def test_bad_schedule_arguments_are_rejected_early() -> None:
    optimizer = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1)
    with pytest.raises(ValueError, match="unknown schedule 'poly'"):
        LRSchedule(optimizer, schedule="poly")
    with pytest.raises(ValueError, match="'epoch' or 'step'"):
        lr_factor(0, 0, by="iteration")


def test_build_optimizer_kinds() -> None:
    model = torch.nn.Linear(3, 1)
    assert isinstance(build_optimizer(model, "adam", 1e-3), torch.optim.Adam)
    assert isinstance(build_optimizer(model, "adamw", 1e-3, weight_decay=0.01), torch.optim.AdamW)
    sgd = build_optimizer(model, "sgd", 0.1, momentum=0.8)
    assert isinstance(sgd, torch.optim.SGD) and sgd.param_groups[0]["momentum"] == 0.8
    with pytest.raises(ValueError, match="unknown optimizer 'lion'"):
        build_optimizer(model, "lion", 1e-3)
    model.requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        build_optimizer(model, "adam", 1e-3)
