"""``posekit train CONFIG`` and the task dispatch, with a tiny regression task defined here."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from engine_problem import evaluate, loss_fn, make_loader, make_model  # noqa: E402

from posekit import tasks  # noqa: E402
from posekit.cli.main import main as posekit_main  # noqa: E402
from posekit.cli.train import main  # noqa: E402
from posekit.engine import TrainConfig, Trainer  # noqa: E402
from posekit.io.checkpoint import load_checkpoint, load_model_weights  # noqa: E402

TASK = "test_tiny_regression"


@dataclass(frozen=True)
class RegressionConfig:
    batch_size: int = 4
    dropout: float = 0.1
    train: TrainConfig = field(default_factory=TrainConfig)


def train_regression(config: RegressionConfig) -> dict[str, Any]:
    model = make_model(seed=config.train.seed, dropout=config.dropout)
    trainer = Trainer(
        model, make_loader(config.batch_size), loss_fn, config.train, evaluate_fn=evaluate, run_config=config
    )
    return trainer.fit()


def evaluate_regression(config: RegressionConfig, weights: str | None) -> dict[str, float]:
    model = make_model(dropout=config.dropout)
    load_model_weights(model, weights or str(Path(config.train.out_dir) / "best.pt"))
    model.eval()
    return evaluate(model)


@pytest.fixture
def regression_task() -> Iterator[str]:
    tasks.register_task(TASK, RegressionConfig, train_regression, evaluate_regression, "tiny MLP regression")
    yield TASK
    tasks._TASKS.pop(TASK, None)


def write_config(path: Path, **train: Any) -> Path:
    settings = {"epochs": 2, "lr": 0.01, "log_every": 3, "best_metric": "mse", "best_mode": "min", "curves": False}
    settings.update(train)
    path.write_text(json.dumps({"task": TASK, "batch_size": 6, "train": settings}))
    return path


def test_train_writes_the_run_and_resume_auto_continues(
    regression_task: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "recipe.json")
    out = tmp_path / "run"
    assert main([str(config), "--out", str(out), "--set", "train.seed=3", "--no-progress"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["epoch"] == 2 and summary["step"] == 8 and summary["best_metric"] == "mse"
    assert {path.name for path in out.iterdir()} == {"last.pt", "best.pt", "metrics.jsonl", "config.json"}
    saved = json.loads((out / "config.json").read_text())
    assert saved["batch_size"] == 6 and saved["train"]["seed"] == 3 and saved["train"]["out_dir"] == str(out)
    assert main([str(config), "--out", str(out), "--resume", "auto", "--set", "train.epochs=3"]) == 0
    assert load_checkpoint(out / "last.pt")["step"] == 12
    metrics = tasks.evaluate_config(config, str(out / "last.pt"), [f"train.out_dir={out}"])
    assert set(metrics) == {"mse"} and metrics["mse"] >= 0
    assert tasks.evaluate_config(config, None, [f"train.out_dir={out}"])["mse"] == pytest.approx(
        load_checkpoint(out / "best.pt")["best_value"]
    )


def test_errors_become_one_line_with_exit_status_2(
    regression_task: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "recipe.json")
    assert posekit_main(["train", str(config), "--set", "train.epochs=three"]) == 2
    error = capsys.readouterr().err
    assert error == "posekit train: error: --set train.epochs: expected int, got 'three'\n"
    (tmp_path / "unknown.json").write_text(json.dumps({"task": "pose9d", "train": {}}))
    assert posekit_main(["train", str(tmp_path / "unknown.json")]) == 2
    error = capsys.readouterr().err
    assert "unknown task 'pose9d'; expected one of:" in error and TASK in error and error.count("\n") == 1
    (tmp_path / "bad.json").write_text(json.dumps({"task": TASK, "batch_size": "big"}))
    assert posekit_main(["train", str(tmp_path / "bad.json")]) == 2
    assert f"{tmp_path / 'bad.json'}: batch_size: expected int, got 'big'" in capsys.readouterr().err
    assert posekit_main(["train", str(tmp_path / "missing.yaml")]) == 2
    assert "config file not found" in capsys.readouterr().err


def test_nan_loss_is_reported_as_one_line(
    regression_task: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "recipe.json", lr=1e30, optimizer="sgd", momentum=0.0)
    assert posekit_main(["train", str(config), "--out", str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("posekit train: error: loss is not finite at epoch ") and error.count("\n") == 1


def test_help_explains_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for option in ("--set", "--out", "--resume", "--no-progress", "torchrun"):
        assert option in text


def test_unknown_config_keys_suggest_the_closest_field(
    regression_task: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "recipe.json")
    assert posekit_main(["train", str(config), "--set", "train.lrr=0.1"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("posekit train: error: --set train.lrr: unknown key 'lrr'; did you mean 'lr'? (TrainConfig")
    (tmp_path / "typo.json").write_text(json.dumps({"task": TASK, "batch_sise": 4, "train": {"epoch": 1}}))
    assert posekit_main(["train", str(tmp_path / "typo.json")]) == 2
    error = capsys.readouterr().err
    assert "batch_sise: unknown key; did you mean 'batch_size'? (RegressionConfig has fields:" in error
    assert error.count("\n") == 1


def test_a_missing_dataset_says_which_command_makes_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "synthetic"
    data = {
        "train_annotations": str(root / "annotations" / "train.json"),
        "train_images": str(root / "images" / "train"),
        "val_annotations": str(root / "annotations" / "val.json"),
        "val_images": str(root / "images" / "val"),
    }
    config = tmp_path / "pose2d.json"
    config.write_text(json.dumps({"task": "pose2d", "model": {"name": "cpm_tiny_128x128"}, "data": data}))
    assert posekit_main(["train", str(config), "--no-progress"]) == 2
    error = capsys.readouterr().err
    assert f"annotation file '{root / 'annotations' / 'train.json'}' does not exist" in error
    assert f"render a synthetic dataset there with `posekit synth --out {root}`" in error and error.count("\n") == 1
