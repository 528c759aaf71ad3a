"""Tests of posekit.codecs.build_codec."""

from __future__ import annotations

import pytest

from posekit.codecs import (
    CODECS,
    IntegralRegression,
    MSRAHeatmap,
    RegressionLabel,
    UDPHeatmap,
    build_codec,
)


def test_build_each_codec() -> None:
    sizes = {"input_size": (192, 256), "heatmap_size": (48, 64)}
    msra = build_codec("msra", **sizes, sigma=3.0, unbiased=True)
    assert isinstance(msra, MSRAHeatmap) and msra.sigma == 3.0 and msra.unbiased
    assert isinstance(build_codec("UDP", **sizes, heatmap_type="combined"), UDPHeatmap)
    assert isinstance(build_codec("integral", **sizes, beta=2.0), IntegralRegression)
    assert isinstance(build_codec("regression", input_size=(192, 256)), RegressionLabel)
    assert sorted(CODECS) == ["integral", "msra", "regression", "udp"]


def test_unknown_name_and_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"unknown codec 'simcc'; expected one of \['integral', 'msra'"):
        build_codec("simcc", input_size=(192, 256))
    with pytest.raises(ValueError, match="bad arguments for codec 'regression'"):
        build_codec("regression", input_size=(192, 256), heatmap_size=(48, 64))
    with pytest.raises(ValueError, match="input_size"):
        build_codec("msra", input_size=(192,), heatmap_size=(48, 64))


def test_auto_needs_the_output_kind() -> None:
    sizes = {"input_size": (192, 256), "heatmap_size": (48, 64)}
    assert isinstance(build_codec("auto", output_kind="heatmap", **sizes), MSRAHeatmap)
    assert isinstance(build_codec("auto", output_kind="heatmap+coordinates", **sizes), IntegralRegression)
    assert isinstance(build_codec("auto", output_kind="coordinates", input_size=(192, 256)), RegressionLabel)
    with pytest.raises(ValueError, match="output kind"):
        build_codec("auto", **sizes)
