"""Tests of posekit.models.pose2d.loading: the codec sized by a model, and checkpoint metadata."""

from __future__ import annotations

import pytest

from posekit.codecs import IntegralRegression, MSRAHeatmap, RegressionLabel, UDPHeatmap
from posekit.io.checkpoint import CHECKPOINT_FORMAT
from posekit.models.pose2d.loading import (
    ModelMetadata,
    build_model_codec,
    default_skeleton_name,
    read_model_metadata,
)
from posekit.models.registry import get_model


def test_auto_codec_follows_the_output_kind_and_is_sized_by_the_model() -> None:
    heatmap_model = get_model("simplebaseline_res18_128x96")
    codec = build_model_codec(heatmap_model, sigma=3.0, unbiased=True)
    assert isinstance(codec, MSRAHeatmap) and codec.unbiased and codec.sigma == 3.0
    assert codec.input_size == (96, 128) and codec.heatmap_size == (24, 32)
    assert isinstance(build_model_codec(heatmap_model, "udp"), UDPHeatmap)
    assert isinstance(build_model_codec(get_model("integral_res18_128x96")), IntegralRegression)
    regression = build_model_codec(get_model("deeppose_res18_128x96"))
    assert isinstance(regression, RegressionLabel) and regression.heatmap_size is None
    with pytest.raises(ValueError, match="needs heatmaps"):
        build_model_codec(get_model("deeppose_res18_128x96"), "msra")


def test_metadata_of_a_posekit_config_and_of_nothing() -> None:
    checkpoint = {
        "format": CHECKPOINT_FORMAT,
        "config": {
            "model": {"name": "hrnet_w16_128x96", "kwargs": {"num_keypoints": 16, "num_blocks": 2}},
            "data": {"skeleton": "mpii", "codec": "auto", "sigma": 3.0},
            "augmentation": {"use_udp": True},
            "eval": {"flip_test": False},
        },
    }
    metadata = read_model_metadata(checkpoint)
    assert metadata.model_name == "hrnet_w16_128x96" and dict(metadata.model_kwargs or {}) == {"num_blocks": 2}
    assert (metadata.skeleton, metadata.codec, metadata.sigma, metadata.flip_test) == ("mpii", "udp", 3.0, False)
    assert read_model_metadata({}) == ModelMetadata()
    assert default_skeleton_name(17) == "coco"
    with pytest.raises(ValueError, match="no default skeleton"):
        default_skeleton_name(5)
