"""The lift3d task's config: every shipped config file loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from posekit.config import load_config
from posekit.tasks import load_task_config
from posekit.tasks.lift3d import Lift3DConfig

CONFIGS = Path(__file__).resolve().parents[3] / "configs" / "videopose3d"


@pytest.mark.parametrize("name", sorted(path.name for path in CONFIGS.glob("*.yaml")))
def test_configs_load(name: str) -> None:
    task, config = load_task_config(CONFIGS / name)
    assert task.name == "lift3d" and isinstance(config, Lift3DConfig)
    assert load_config({"model": {"filter_widths": [3, 3, 3, 3, 3]}}, Lift3DConfig).model.receptive_field() == 243
