"""End-to-end tests of the Trainer on the tiny regression problem of ``engine_problem``."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import torch
from engine_problem import evaluate, loss_fn, make_loader, make_model
from torch import nn

from posekit.engine import NonFiniteLossError, TrainConfig, Trainer, lr_factor
from posekit.engine.logger import read_jsonl
from posekit.io.checkpoint import load_checkpoint

STEPS_PER_EPOCH = 6  # 24 samples, batch 4


def config(out_dir: Path, **changes: Any) -> TrainConfig:
    base = TrainConfig(epochs=2, lr=0.01, out_dir=str(out_dir), log_every=2, progress=False, device="cpu", curves=False)
    return dataclasses.replace(base, **changes)


LossFunction = Callable[[nn.Module, Any], Mapping[str, torch.Tensor]]


def train(out_dir: Path, loss: LossFunction = loss_fn, **changes: Any) -> Trainer:
    trainer = Trainer(make_model(), make_loader(), loss, config(out_dir, **changes), evaluate_fn=evaluate)
    trainer.fit()
    return trainer


def assert_same_state(first: Any, second: Any, path: str = "") -> None:
    """Recursively compare state dicts (tensors bit for bit)."""
    if isinstance(first, torch.Tensor):
        assert isinstance(second, torch.Tensor) and torch.equal(first, second), path
    elif isinstance(first, Mapping):
        assert isinstance(second, Mapping) and set(first) == set(second), path
        for key in first:
            assert_same_state(first[key], second[key], f"{path}.{key}")
    elif isinstance(first, (list, tuple)):
        assert len(first) == len(second), path
        for index, (item, other) in enumerate(zip(first, second, strict=True)):
            assert_same_state(item, other, f"{path}[{index}]")
    else:
        assert first == second, path


def assert_same_run(first: Trainer, second: Trainer) -> None:
    assert_same_state(first.model.state_dict(), second.model.state_dict(), "model")
    assert_same_state(first.optimizer.state_dict(), second.optimizer.state_dict(), "optimizer")
    assert first.step == second.step and first.epoch == second.epoch
    assert first.optimizer.param_groups[0]["lr"] == second.optimizer.param_groups[0]["lr"]


class FailAt:
    """A loss function that behaves like ``loss_fn`` but fails at call number ``at`` (1-based)."""

    def __init__(self, at: int, failure: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]) -> None:
        self.at = at
        self.failure = failure
        self.calls = 0

    def __call__(self, model: nn.Module, batch: Any) -> dict[str, torch.Tensor]:
        self.calls += 1
        terms = loss_fn(model, batch)
        return self.failure(terms) if self.calls == self.at else terms


def interrupt(terms: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    raise KeyboardInterrupt


def crash(terms: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    raise RuntimeError("data loading failed")


def make_nan(terms: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {**terms, "loss": terms["loss"] * float("nan")}


def test_same_seed_gives_identical_weights_and_another_seed_does_not(tmp_path: Path) -> None:
    first = train(tmp_path / "a")
    second = train(tmp_path / "b")
    assert_same_run(first, second)
    third = train(tmp_path / "c", seed=1)  # dropout masks, shuffling and augmentation noise change
    assert not torch.equal(first.model[0].weight, third.model[0].weight)


def test_resume_at_epoch_boundary_is_exact(tmp_path: Path) -> None:
    straight = train(tmp_path / "straight", epochs=3, warmup_iters=4, milestones=(1,))
    first_part = train(tmp_path / "resumed", epochs=1, warmup_iters=4, milestones=(1,))
    assert first_part.step == STEPS_PER_EPOCH
    # A fresh model with another initialisation: everything must come from the checkpoint.
    resumed = Trainer(
        make_model(seed=99),
        make_loader(),
        loss_fn,
        config(tmp_path / "resumed", epochs=3, warmup_iters=4, milestones=(1,), resume="auto"),
        evaluate_fn=evaluate,
    )
    resumed.fit()
    assert_same_run(straight, resumed)
    # The log of the resumed run equals the straight run's apart from timings.
    strip = [{k: v for k, v in r.items() if k not in ("time", "step_time")} for r in resumed.log.records]
    expected = [{k: v for k, v in r.items() if k not in ("time", "step_time")} for r in straight.log.records]
    assert strip == expected


def test_ctrl_c_saves_mid_epoch_and_resume_is_exact(tmp_path: Path) -> None:
    straight = train(tmp_path / "straight")
    interrupted_at = STEPS_PER_EPOCH + 3  # the 4th batch of epoch 2
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "run", loss=FailAt(interrupted_at, interrupt))
    checkpoint = load_checkpoint(tmp_path / "run" / "last.pt")
    assert (checkpoint["epoch"], checkpoint["step"], checkpoint["batch_in_epoch"]) == (1, interrupted_at - 1, 2)
    resumed = train(tmp_path / "run", resume=str(tmp_path / "run" / "last.pt"))
    assert_same_run(straight, resumed)


def test_max_steps_mid_epoch_then_resume_is_exact(tmp_path: Path) -> None:
    straight = train(tmp_path / "straight", schedule="cosine", warmup_iters=3)
    stopped = train(tmp_path / "run", max_steps=9, schedule="cosine", warmup_iters=3, save_every_steps=4)
    assert (stopped.step, stopped.epoch, stopped.batch_in_epoch) == (9, 1, 3)
    checkpoint = load_checkpoint(tmp_path / "run" / "last.pt")
    assert (checkpoint["step"], checkpoint["batch_in_epoch"]) == (9, 3)
    assert checkpoint["epoch_rng"][0] is not None  # the RNG state of the epoch's start, for the replay
    resumed = train(tmp_path / "run", schedule="cosine", warmup_iters=3, resume="auto")
    assert_same_run(straight, resumed)


def test_other_exception_keeps_last_checkpoint_loadable_and_resumable(tmp_path: Path) -> None:
    straight = train(tmp_path / "straight")
    with pytest.raises(RuntimeError, match="data loading failed"):
        train(tmp_path / "run", loss=FailAt(STEPS_PER_EPOCH + 2, crash))
    checkpoint = load_checkpoint(tmp_path / "run" / "last.pt")
    assert checkpoint["step"] == STEPS_PER_EPOCH and checkpoint["batch_in_epoch"] == 0
    resumed = train(tmp_path / "run", resume="auto")
    assert_same_run(straight, resumed)


def test_nan_loss_stops_with_a_clear_error_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with pytest.raises(NonFiniteLossError) as error_info:
        train(out, loss=FailAt(STEPS_PER_EPOCH + 2, make_nan))
    message = str(error_info.value)
    assert "epoch 2 step 8" in message and "loss=nan" in message and "mse=" in message and "l1=" in message
    assert str(out / "last.pt") in message
    assert isinstance(error_info.value, ValueError)  # the CLI turns it into one line
    checkpoint = load_checkpoint(out / "last.pt")
    assert checkpoint["step"] == STEPS_PER_EPOCH
    assert all(torch.isfinite(tensor).all() for tensor in checkpoint["model"].values())
    # No temporary files, no best.pt (no best_metric), no curves (curves=False in these tests).
    assert sorted(path.name for path in out.iterdir()) == ["config.json", "last.pt", "metrics.jsonl"]


def test_nan_before_any_checkpoint_says_so(tmp_path: Path) -> None:
    with pytest.raises(NonFiniteLossError, match=r"epoch 1 step 1 .*no checkpoint was written yet"):
        train(tmp_path / "run", loss=FailAt(1, make_nan))
    assert not (tmp_path / "run" / "last.pt").exists()


@pytest.mark.parametrize(("mode", "values", "best_epoch"), [("min", [3.0, 1.0, 2.0], 2), ("max", [3.0, 1.0, 2.0], 1)])
def test_best_checkpoint_follows_the_metric(tmp_path: Path, mode: str, values: list[float], best_epoch: int) -> None:
    snapshots: list[dict[str, torch.Tensor]] = []

    def scripted(model: nn.Module) -> dict[str, float]:
        snapshots.append({key: value.clone() for key, value in model.state_dict().items()})
        return {"score": values[len(snapshots) - 1], "other": 0.0}

    trainer = Trainer(
        make_model(),
        make_loader(),
        loss_fn,
        config(tmp_path, epochs=3, best_metric="score", best_mode=mode),
        evaluate_fn=scripted,
    )
    summary = trainer.fit()
    assert summary["best_epoch"] == best_epoch and summary["best_value"] == values[best_epoch - 1]
    best = load_checkpoint(tmp_path / "best.pt")
    assert best["best_epoch"] == best_epoch and best["epoch"] == best_epoch
    assert_same_state(best["model"], snapshots[best_epoch - 1])
    last = load_checkpoint(tmp_path / "last.pt")
    assert last["epoch"] == 3 and last["metrics"] == {"score": values[2], "other": 0.0}


def test_best_metric_must_be_returned_by_the_evaluation(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="best_metric 'AP' is not among the evaluation metrics: mse"):
        train(tmp_path, best_metric="AP")
    with pytest.raises(ValueError, match="needs an evaluate_fn"):
        Trainer(make_model(), make_loader(), loss_fn, config(tmp_path, best_metric="AP"))


def test_jsonl_records_and_learning_rates_match_the_schedule(tmp_path: Path) -> None:
    trainer = train(
        tmp_path, epochs=3, log_every=1, optimizer="sgd", lr=0.1, warmup_iters=4, warmup_factor=0.1, milestones=(2,)
    )
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    train_records = [record for record in records if record["event"] == "train"]
    eval_records = [record for record in records if record["event"] == "eval"]
    assert [record["step"] for record in train_records] == list(range(1, 3 * STEPS_PER_EPOCH + 1))
    assert [record["epoch"] for record in eval_records] == [1, 2, 3]
    for record in train_records:
        assert set(record) == {"event", "epoch", "step", "lr", "time", "step_time", "loss", "mse", "l1"}
        step_index = record["step"] - 1
        epoch_index = step_index // STEPS_PER_EPOCH
        assert record["epoch"] == epoch_index + 1
        expected = 0.1 * lr_factor(step_index, epoch_index, milestones=(2,), warmup_iters=4, warmup_factor=0.1)
        assert math.isclose(record["lr"], expected, rel_tol=1e-12)
    # Hand values: warmup 0.1, 0.325, 0.55, 0.775, then 1; x0.1 from epoch index 2 (step 12).
    assert [round(r["lr"], 6) for r in train_records[:5]] == [0.01, 0.0325, 0.055, 0.0775, 0.1]
    assert train_records[12]["lr"] == pytest.approx(0.01)
    assert all(record["mse"] == record["loss"] for record in train_records)
    times = [record["time"] for record in records]
    assert times == sorted(times)
    assert trainer.log.records == records


def test_curves_png_is_a_valid_png(tmp_path: Path) -> None:
    import matplotlib.image

    train(tmp_path, curves=True)
    data = (tmp_path / "curves.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(tmp_path / "curves.png")
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 300


def test_config_json_and_checkpoint_hold_the_resolved_config(tmp_path: Path) -> None:
    train(tmp_path, milestones=(1,))
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["milestones"] == [1] and saved["out_dir"] == str(tmp_path)
    assert load_checkpoint(tmp_path / "last.pt")["config"] == saved


def test_gradient_clipping_limits_the_update_to_lr_times_max_norm(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    initial = [parameter.detach().clone() for parameter in model.parameters()]
    loader = make_loader(shuffle=False, augment=False)
    inputs, targets = next(iter(loader))
    # Gradient of the first batch, by hand.
    reference = nn.Linear(4, 2)
    reference.load_state_dict(model.state_dict())
    loss_fn(reference, (inputs, targets))["loss"].backward()
    gradients = [parameter.grad.clone() for parameter in reference.parameters() if parameter.grad is not None]
    gradient_norm = torch.sqrt(sum((gradient**2).sum() for gradient in gradients))
    max_norm = 0.05
    assert gradient_norm > 10 * max_norm  # the clip is active
    cfg = config(tmp_path, optimizer="sgd", momentum=0.0, lr=0.5, max_steps=1, grad_clip=max_norm, log_every=1)
    Trainer(model, loader, loss_fn, cfg).fit()
    for before, after, gradient in zip(initial, model.parameters(), gradients, strict=True):
        expected = before - 0.5 * gradient * (max_norm / gradient_norm)
        torch.testing.assert_close(after.detach(), expected, rtol=1e-5, atol=1e-6)
    record = read_jsonl(tmp_path / "metrics.jsonl")[0]
    assert record["grad_norm"] == pytest.approx(float(gradient_norm), rel=1e-5)


def test_bf16_autocast_on_cpu_when_asked_and_full_precision_by_default(tmp_path: Path) -> None:
    seen: list[torch.dtype] = []

    def recording_loss(model: nn.Module, batch: Any) -> dict[str, torch.Tensor]:
        seen.append(model(batch[0]).dtype)
        return loss_fn(model, batch)

    Trainer(make_model(), make_loader(), recording_loss, config(tmp_path / "bf16", amp="bf16", max_steps=2)).fit()
    assert seen == [torch.bfloat16, torch.bfloat16]
    seen.clear()
    Trainer(make_model(), make_loader(), recording_loss, config(tmp_path / "auto", max_steps=2)).fit()
    assert seen == [torch.float32, torch.float32]


def test_fp16_with_grad_scaler_resumes_exactly(tmp_path: Path) -> None:
    straight = train(tmp_path / "straight", amp="fp16")
    assert straight.scaler.is_enabled()
    train(tmp_path / "run", amp="fp16", epochs=1)
    scaler_state = load_checkpoint(tmp_path / "run" / "last.pt")["scaler"]
    assert scaler_state is not None and math.log2(scaler_state["scale"]).is_integer()  # (backed off by overflows)
    resumed = train(tmp_path / "run", amp="fp16", resume="auto")
    assert_same_run(straight, resumed)
    assert resumed.scaler.state_dict() == straight.scaler.state_dict()


def test_resume_rejects_a_plain_weights_file(tmp_path: Path) -> None:
    from posekit.io.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / "weights.pt", make_model().state_dict())
    with pytest.raises(ValueError, match="not a posekit training checkpoint"):
        train(tmp_path / "run", resume=str(tmp_path / "weights.pt"))
    with pytest.raises(FileNotFoundError, match="resume checkpoint not found"):
        train(tmp_path / "run", resume=str(tmp_path / "missing.pt"))


def test_resume_auto_without_checkpoint_starts_fresh_and_finished_run_does_nothing(tmp_path: Path) -> None:
    first = train(tmp_path, resume="auto")
    assert first.step == 2 * STEPS_PER_EPOCH
    before = (tmp_path / "last.pt").read_bytes()
    again = train(tmp_path, resume="auto")
    assert again.step == first.step
    assert (tmp_path / "last.pt").read_bytes() == before
    shutil.rmtree(tmp_path)


def test_loss_function_contract_is_checked(tmp_path: Path) -> None:
    def no_loss(model: nn.Module, batch: Any) -> dict[str, torch.Tensor]:
        return {"mse": loss_fn(model, batch)["mse"]}

    def per_sample(model: nn.Module, batch: Any) -> dict[str, torch.Tensor]:
        return {"loss": (model(batch[0]) - batch[1]).pow(2).mean(dim=1)}

    with pytest.raises(ValueError, match="'loss' entry"):
        train(tmp_path / "a", loss=no_loss)
    with pytest.raises(ValueError, match=r"loss term 'loss' must be a scalar tensor, got \(4,\)"):
        train(tmp_path / "b", loss=per_sample)


def test_train_config_checks_values() -> None:
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="milestones must be increasing"):
        TrainConfig(milestones=(5, 2))
    with pytest.raises(ValueError, match="warmup_factor"):
        TrainConfig(warmup_factor=0.0)


def test_progress_bar_only_on_a_terminal_and_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trainer = Trainer(make_model(), make_loader(), loss_fn, config(tmp_path, progress=True))
    assert trainer._progress_bar() is None  # pytest captures stderr: not a terminal
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    bar = trainer._progress_bar()
    assert bar is not None and bar.total == STEPS_PER_EPOCH
    bar.close()
    quiet = Trainer(make_model(), make_loader(), loss_fn, config(tmp_path, progress=False))
    assert quiet._progress_bar() is None
