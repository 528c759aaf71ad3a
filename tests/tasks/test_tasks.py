"""The task registry behind ``posekit train`` / ``posekit evaluate CONFIG``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from posekit import tasks


@dataclass(frozen=True)
class EchoConfig:
    value: int = 1
    name: str = "x"


def echo_train(config: EchoConfig) -> dict[str, Any]:
    return {"value": config.value, "name": config.name}


def echo_evaluate(config: EchoConfig, weights: str | None) -> dict[str, float]:
    return {"value": float(config.value), "has_weights": float(weights is not None)}


@pytest.fixture
def echo_task() -> Iterator[str]:
    tasks.register_task("test_echo", EchoConfig, echo_train, echo_evaluate)
    yield "test_echo"
    tasks._TASKS.pop("test_echo", None)


def test_config_file_picks_the_task_and_overrides_apply(echo_task: str, tmp_path: Path) -> None:
    path = tmp_path / "echo.json"
    path.write_text(json.dumps({"task": echo_task, "value": 2}))
    assert tasks.train_config(path, ["name=y"]) == {"value": 2, "name": "y"}
    assert tasks.evaluate_config(path, "w.pt", ["value=5"]) == {"value": 5.0, "has_weights": 1.0}
    task, config = tasks.load_task_config(path)
    assert task.name == echo_task and config == EchoConfig(value=2)
    assert echo_task in tasks.list_tasks()


def test_registry_errors(echo_task: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown task 'nope'; expected one of: .*test_echo"):
        tasks.get_task("nope")
    with pytest.raises(ValueError, match="already registered"):
        tasks.register_task(echo_task, EchoConfig, echo_train, lambda config, weights: {})
    tasks.register_task(echo_task, EchoConfig, echo_train, echo_evaluate)  # the same registration again is fine
    with pytest.raises(ValueError, match="task names are letters"):
        tasks.register_task("bad name", EchoConfig, echo_train, echo_evaluate)
    path = tmp_path / "no_task.json"
    path.write_text(json.dumps({"value": 2}))
    with pytest.raises(ValueError, match=r"no_task\.json: the config must name its task at the top level"):
        tasks.train_config(path)
    path.write_text(json.dumps({"task": echo_task, "value": 2, "colour": "red"}))
    with pytest.raises(ValueError, match=r"no_task\.json: colour: unknown key; EchoConfig has fields: value, name"):
        tasks.train_config(path)
