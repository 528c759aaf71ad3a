"""JSONL metrics log and the curves PNG."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.image

from posekit.engine.logger import MetricsLog, plot_curves, read_jsonl


def test_log_appends_parseable_lines_and_resume_drops_later_records(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    log = MetricsLog(path)
    for step in (1, 2, 3):
        log.write({"event": "train", "epoch": 1, "step": step, "loss": 1.0 / step, "lr": 0.1})
    log.write({"event": "eval", "epoch": 1, "step": 3, "AP": float("nan")})
    lines = path.read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2, 3, 3]
    assert json.loads(lines[-1])["AP"] == "nan"  # JSON has no NaN; the line stays valid JSON
    with open(path, "a") as handle:
        handle.write('{"event": "train", "step": 4, "lo')  # an interrupted write
    assert len(read_jsonl(path)) == 4
    resumed = MetricsLog(path, resume_step=2)
    assert [record["step"] for record in read_jsonl(path)] == [1, 2] == [r["step"] for r in resumed.records]
    fresh = MetricsLog(path)
    assert read_jsonl(path) == [] == fresh.records
    silent = MetricsLog(tmp_path / "other.jsonl", enabled=False)
    silent.write({"event": "train", "step": 1})
    assert not (tmp_path / "other.jsonl").exists()


def test_plot_curves_writes_a_png(tmp_path: Path) -> None:
    records = [{"event": "train", "epoch": 1, "step": s, "lr": 0.1, "loss": 1.0 / s, "l1": 0.5} for s in range(1, 6)]
    records += [{"event": "eval", "epoch": e, "step": 5 * e, "AP": 0.3 + 0.1 * e} for e in (1, 2)]
    path = plot_curves(records, tmp_path / "curves.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert matplotlib.image.imread(path).shape[2] in (3, 4)
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]  # no temporary file left
    plot_curves([], tmp_path / "empty.png")  # no records yet: still a valid (empty) figure
    assert (tmp_path / "empty.png").read_bytes()[:4] == b"\x89PNG"
