"""Trainable tasks: what ``posekit train CONFIG`` and ``posekit evaluate CONFIG`` run.

A config file names its task at the top level; the rest of the file maps onto the task's config
dataclass (see :mod:`posekit.config`)::

    task: pose2d_topdown          # picks the task
    model: {name: hrnet_w32_256x192}
    train: {epochs: 210, lr: 0.0005, milestones: [170, 200], warmup_iters: 500, out_dir: runs/hrnet}

A task is registered with :func:`register_task` by a module listed in ``_TASK_MODULES`` (imported
lazily, so ``import posekit`` stays cheap). Its ``train(config) -> dict`` builds the model, data and
loss from the config and runs :class:`posekit.engine.Trainer`; its ``evaluate(config, weights)``
returns metrics. By convention a task config has a ``train: TrainConfig`` field, which is where
the command line's ``--out`` and ``--resume`` go (``train.out_dir``, ``train.resume``).

Each task is a package with one file per concern, the pattern a new task (bottom-up, mesh) copies
(:mod:`posekit.tasks.pose2d`, :mod:`posekit.tasks.lift3d`):

* ``config.py``: the frozen config dataclasses (model, data, loss, eval, ``train: TrainConfig``);
* ``data.py``: datasets, transforms and the codec built from a config;
* ``losses.py``: the training step's loss composition (model outputs + codec targets -> named terms);
* ``train.py``: ``train(config)``: builds everything and runs :class:`posekit.engine.Trainer`;
* ``evaluate.py``: ``evaluate(config, weights)`` with the standard protocol's metrics;
* ``export.py`` (when the task ships weights): turning a checkpoint into a shipped file;
* ``__init__.py``: re-exports the public names and calls :func:`register_task`.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from posekit.config import load_config, read_config_file

# Modules whose import registers tasks; each trainable capability adds its module here
# (e.g. "posekit.tasks.pose2d", "posekit.tasks.lift3d").
_TASK_MODULES: tuple[str, ...] = ("posekit.tasks.pose2d", "posekit.tasks.lift3d", "posekit.tasks.bottomup")


@dataclass(frozen=True)
class Task:
    """A registered trainable task.

    Attributes:
        name: the value of ``task:`` in config files.
        config_cls: frozen dataclass the rest of the config file maps onto.
        train: ``train(config) -> summary dict`` (see :meth:`posekit.engine.Trainer.fit`).
        evaluate: ``evaluate(config, weights) -> {metric: value}``; ``weights`` is a checkpoint
            path or ``None`` (the task's default, typically ``train.out_dir/best.pt``).
        description: one line for listings.
    """

    name: str
    config_cls: type
    train: Callable[[Any], dict[str, Any]]
    evaluate: Callable[[Any, str | None], dict[str, float]]
    description: str = ""


_TASKS: dict[str, Task] = {}


def register_task(
    name: str,
    config_cls: type,
    train: Callable[[Any], dict[str, Any]],
    evaluate: Callable[[Any, str | None], dict[str, float]],
    description: str = "",
) -> Task:
    """Register a task under ``name`` (unique) and return it."""
    if not name or not name.replace("_", "").isalnum():
        raise ValueError(f"task names are letters, digits and underscores, got {name!r}")
    task = Task(name=name, config_cls=config_cls, train=train, evaluate=evaluate, description=description)
    existing = _TASKS.get(name)
    if existing is not None and existing != task:
        raise ValueError(f"task {name!r} is already registered")
    _TASKS[name] = task
    return task


def default_weights(out_dir: str | os.PathLike[str], names: Sequence[str] = ("best.pt", "last.pt")) -> str:
    """The first of ``out_dir/<name>`` that exists: the checkpoint a task evaluates when given none.

    Raises:
        FileNotFoundError: none of them exists (the message lists every path tried).
    """
    candidates = [Path(out_dir) / name for name in names]
    found = next((path for path in candidates if path.is_file()), None)
    if found is None:
        raise FileNotFoundError(f"no weights given and none found at {', '.join(map(str, candidates))}")
    return str(found)


def _import_task_modules() -> None:
    for module in _TASK_MODULES:
        importlib.import_module(module)


def list_tasks() -> list[str]:
    """Names of every registered task, sorted."""
    _import_task_modules()
    return sorted(_TASKS)


def get_task(name: str) -> Task:
    """The task registered as ``name``.

    Raises:
        ValueError: unknown name (the message lists the known ones).
    """
    _import_task_modules()
    if name not in _TASKS:
        raise ValueError(f"unknown task {name!r}; expected one of: {', '.join(sorted(_TASKS)) or '(none registered)'}")
    return _TASKS[name]


def load_task_config(path: str | os.PathLike[str], overrides: Sequence[str] = ()) -> tuple[Task, Any]:
    """Read a config file, pick its task from the top-level ``task:`` key and build its config.

    Raises:
        ValueError: no or unknown ``task``, or a config error (naming the file and the field).
        FileNotFoundError: the file does not exist.
    """
    data = read_config_file(path)
    name = data.pop("task", None)
    if not isinstance(name, str):
        known = ", ".join(list_tasks()) or "(none registered)"
        raise ValueError(f"{path}: the config must name its task at the top level (task: NAME); known tasks: {known}")
    try:
        task = get_task(name)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    config: Any = load_config(data, task.config_cls, overrides, source=str(path))
    return task, config


def train_config(path: str | os.PathLike[str], overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Train the task a config file describes; returns the task's training summary."""
    task, config = load_task_config(path, overrides)
    return task.train(config)


def evaluate_config(
    path: str | os.PathLike[str], weights: str | None = None, overrides: Sequence[str] = ()
) -> dict[str, float]:
    """Evaluate the task a config file describes with ``weights`` (or the task's default)."""
    task, config = load_task_config(path, overrides)
    return task.evaluate(config, weights)
