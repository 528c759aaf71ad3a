"""Tests of posekit.cli.info: the bottom-up variants are listed under their own heading."""

from __future__ import annotations

import json

import pytest

from posekit.cli.info import main


def test_bottom_up_variants_have_their_own_heading(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    lines = capsys.readouterr().out.splitlines()
    models = next(line for line in lines if line.startswith("models "))
    bottom_up = next(line for line in lines if line.startswith("bottom-up "))
    assert "higherhrnet_w32_512" in bottom_up and "higherhrnet_w48_640_crowdpose" in bottom_up
    assert "higherhrnet" not in models and "hrnet_w32_256x192" in models
    assert main(["--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert "higherhrnet_w16_256" in info["bottomup_models"] and set(info["bottomup_models"]) <= set(info["models"])
