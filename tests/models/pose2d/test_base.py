"""The 2D model contract helpers: normalisation, coordinate scaling, CPM background targets."""

from __future__ import annotations

import pytest
import torch

from posekit.codecs import RegressionLabel
from posekit.models.pose2d.base import (
    Pose2DModel,
    Pose2DOutput,
    append_background_channel,
    check_images,
    coordinates_to_pixels,
    denormalize_images,
    normalize_images,
    pixels_to_coordinates,
)


def test_normalize_round_trip_and_known_value() -> None:
    images = torch.rand(2, 3, 4, 5)
    torch.testing.assert_close(denormalize_images(normalize_images(images)), images)
    grey = torch.full((1, 3, 1, 1), 0.485)
    assert normalize_images(grey)[0, 0, 0, 0].abs() < 1e-6  # the red mean maps to 0
    with pytest.raises(ValueError, match=r"shape \(B, 3, H, W\), got \(3, 4, 5\)"):
        normalize_images(torch.rand(3, 4, 5))


def test_check_images_names_the_problem() -> None:
    with pytest.raises(ValueError, match="floating"):
        check_images(torch.zeros(1, 3, 4, 4, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"\(B, 3, 8, 6\) for input size \(w, h\) = \(6, 8\), got \(1, 3, 6, 8\)"):
        check_images(torch.zeros(1, 3, 6, 8), (6, 8))


def test_coordinates_match_the_regression_label_codec() -> None:
    pixels = torch.tensor([[[0.0, 0.0], [95.0, 127.0], [47.5, 10.25]]])
    codec = RegressionLabel((96, 128))
    labels = codec.encode(pixels.numpy()).keypoint_labels
    torch.testing.assert_close(pixels_to_coordinates(pixels, (96, 128)), torch.from_numpy(labels))
    torch.testing.assert_close(coordinates_to_pixels(torch.from_numpy(labels), (96, 128)), pixels)


def test_background_channel_is_one_minus_max() -> None:
    heatmaps = torch.zeros(1, 2, 2, 2)
    heatmaps[0, 0, 0, 0] = 1.0
    heatmaps[0, 1, 1, 1] = 0.25
    targets = append_background_channel(heatmaps)
    assert targets.shape == (1, 3, 2, 2)
    torch.testing.assert_close(targets[0, 2], torch.tensor([[0.0, 1.0], [1.0, 0.75]]))


class _Constant(Pose2DModel):
    def __init__(self) -> None:
        super().__init__(2, (8, 8), "heatmap", (4, 4), 2, background_channel=True)

    def forward_outputs(self, images: torch.Tensor) -> Pose2DOutput:
        first = torch.zeros(images.shape[0], 3, 4, 4)
        return Pose2DOutput(stage_heatmaps=[first, first + 1])


def test_forward_returns_final_stage_without_background() -> None:
    model = _Constant()
    assert len(model.forward_stages(torch.zeros(1, 3, 8, 8))) == 2
    final = model(torch.zeros(1, 3, 8, 8))
    assert final.shape == (1, 2, 4, 4) and bool((final == 1).all())
    with pytest.raises(ValueError, match="heatmap_size must be None exactly for coordinate models"):
        Pose2DModel.__init__(_Constant(), 2, (8, 8), "coordinates", (4, 4), 1)
