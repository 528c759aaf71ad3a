"""The VideoPose3D zoo: one table, one builder, every variant in the registry."""

from __future__ import annotations

import pytest

from posekit.models.lift3d import TemporalModel, build_videopose3d
from posekit.models.registry import get_model, list_models


def test_registry_variants() -> None:
    expected = {"videopose3d_27": 27, "videopose3d_81": 81, "videopose3d_243": 243, "videopose3d_243_causal": 243}
    # Importing the module registers the variants (the registry imports it lazily too).
    for name, receptive_field in expected.items():
        assert name in list_models()
        model = get_model(name, channels=8)
        assert isinstance(model, TemporalModel)
        assert model.receptive_field() == receptive_field
        assert model.num_joints_in == 17 and model.num_joints_out == 17
        assert model.causal == name.endswith("causal")
    assert build_videopose3d("videopose3d_243").channels == 1024


def test_builder_overrides_and_refusals() -> None:
    assert build_videopose3d("videopose3d_27", causal=True, channels=8).causal
    with pytest.raises(ValueError, match="causal by definition"):
        get_model("videopose3d_243_causal", causal=False, channels=8)
    with pytest.raises(ValueError, match="unknown VideoPose3D variant"):
        build_videopose3d("videopose3d_9")
