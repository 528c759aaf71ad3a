"""Training logs: one JSON object per line (``metrics.jsonl``) and a PNG of the curves.

Every record has ``event`` (``"train"`` or ``"eval"``), ``epoch`` (1-based), ``step`` (number of
optimisation steps done) and ``time`` (seconds of training so far, across resumes). Train
records add ``lr`` and the loss terms averaged over the logging window (and over processes);
eval records add the metrics that the evaluation returned. Lines are appended and flushed as
they come, so an interrupted run leaves at most an incomplete last line, which
:func:`read_jsonl` skips. The PNG is rewritten atomically.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from posekit.io.atomic import atomic_path, atomic_write_text

RESERVED_KEYS = ("event", "epoch", "step", "time", "lr", "step_time")


def read_jsonl(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Records of a JSONL log; a missing file gives ``[]`` and an incomplete line is skipped."""
    file_path = Path(path)
    if not file_path.is_file():
        return []
    records = []
    for line in file_path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # the tail of an interrupted write
        if isinstance(record, dict):
            records.append(record)
    return records


class MetricsLog:
    """Appends records to ``path`` and keeps them in memory for the curves.

    Args:
        path: the JSONL file.
        resume_step: when resuming, records after this step (written by the interrupted run after
            its last checkpoint) are dropped so that the log matches the restored state; ``None``
            starts a new log (an existing file is replaced).
        enabled: ``False`` on processes other than rank 0: nothing is written.
    """

    def __init__(self, path: str | os.PathLike[str], resume_step: int | None = None, enabled: bool = True) -> None:
        self.path = Path(path)
        self.enabled = enabled
        self.records: list[dict[str, Any]] = []
        if not enabled:
            return
        if resume_step is not None:
            self.records = [record for record in read_jsonl(self.path) if int(record.get("step", 0)) <= resume_step]
        text = "".join(json.dumps(record) + "\n" for record in self.records)
        atomic_write_text(self.path, text)

    def write(self, record: Mapping[str, Any]) -> None:
        """Append one record (values must be JSON numbers, strings or nested dicts of those)."""
        if not self.enabled:
            return
        clean = {key: _json_value(value) for key, value in record.items()}
        self.records.append(clean)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(clean) + "\n")
            handle.flush()


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN/inf; keep the line parseable
    if isinstance(value, Mapping):
        return {str(key): _json_value(item) for key, item in value.items()}
    return value


def plot_curves(records: Iterable[Mapping[str, Any]], path: str | os.PathLike[str]) -> Path:
    """Draw train loss terms and learning rate against step, and eval metrics against epoch.

    Args:
        records: records as written by :class:`MetricsLog`.
        path: the PNG to write (atomically).

    Returns:
        The path written.
    """
    from matplotlib.figure import Figure  # Figure renders with Agg without touching pyplot state

    train = [record for record in records if record.get("event") == "train"]
    evaluations = [record for record in records if record.get("event") == "eval"]
    loss_names = sorted({key for record in train for key in record if key not in RESERVED_KEYS})
    metric_names = sorted({key for record in evaluations for key in record if key not in RESERVED_KEYS})
    figure = Figure(figsize=(12, 3.6), dpi=100)
    loss_axes, lr_axes, metric_axes = figure.subplots(1, 3)
    for name in loss_names:
        points = [(record["step"], record[name]) for record in train if _is_number(record.get(name))]
        if points:
            steps, values = zip(*points, strict=True)
            loss_axes.plot(steps, values, label=name, linewidth=1.2)
    if loss_names and all(record[name] > 0 for record in train for name in loss_names if _is_number(record.get(name))):
        loss_axes.set_yscale("log")
    loss_axes.set(title="training losses", xlabel="step")
    lr_points = [(record["step"], record["lr"]) for record in train if _is_number(record.get("lr"))]
    if lr_points:
        steps, rates = zip(*lr_points, strict=True)
        lr_axes.plot(steps, rates, color="tab:purple", linewidth=1.2)
    lr_axes.set(title="learning rate", xlabel="step")
    for name in metric_names:
        points = [(record["epoch"], record[name]) for record in evaluations if _is_number(record.get(name))]
        if points:
            epochs, values = zip(*points, strict=True)
            metric_axes.plot(epochs, values, marker="o", label=name, linewidth=1.2)
    metric_axes.set(title="evaluation", xlabel="epoch")
    for axes, names in ((loss_axes, loss_names), (metric_axes, metric_names)):
        if names:
            axes.legend(fontsize=8)
        axes.grid(alpha=0.3)
    lr_axes.grid(alpha=0.3)
    figure.subplots_adjust(left=0.06, right=0.985, bottom=0.14, top=0.9, wspace=0.28)  # tight_layout is slow
    with atomic_path(path, suffix=".png") as temporary:
        figure.savefig(temporary, format="png")
    return Path(path)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
