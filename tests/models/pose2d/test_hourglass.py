"""Stacked Hourglass: intermediate supervision, stack merging, input convention."""

from __future__ import annotations

import torch

from posekit.models.pose2d.base import normalize_images
from posekit.models.pose2d.stacked_hourglass import Merge, StackedHourglass


def small(num_stacks: int = 2) -> StackedHourglass:
    return StackedHourglass(4, (64, 64), num_stacks=num_stacks, channels=16, depth=2, stem_channels=(8, 16))


def test_every_stack_predicts_heatmaps_at_stride_4() -> None:
    model = small(3).eval()
    stages = model.forward_stages(torch.randn(1, 3, 64, 64))
    assert [tuple(stage.shape) for stage in stages] == [(1, 4, 16, 16)] * 3
    assert len(model.merge_preds) == len(model.merge_features) == 2


def test_later_stacks_depend_on_earlier_predictions() -> None:
    torch.manual_seed(0)
    model = small().eval()
    images = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        before = model.forward_stages(images)
        merge = model.merge_preds[0]
        assert isinstance(merge, Merge)
        merge.conv.conv.weight.add_(1.0)
        after = model.forward_stages(images)
    torch.testing.assert_close(before[0], after[0])
    assert not torch.allclose(before[1], after[1])


def test_input_is_imagenet_normalised_and_undone_inside() -> None:
    torch.manual_seed(0)
    model = small().eval()
    images = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        expected = model.outs[0](model.features[0](model.hgs[0](model.pre(images))))
        torch.testing.assert_close(model.forward_stages(normalize_images(images))[0], expected, rtol=1e-4, atol=1e-4)


def test_untrained_heatmaps_start_near_zero() -> None:
    torch.manual_seed(0)
    model = StackedHourglass(17, (128, 128), num_stacks=2, channels=64, depth=3, stem_channels=(32, 64))
    with torch.no_grad():
        heatmaps = model.forward_outputs(torch.randn(2, 3, 128, 128)).stage_heatmaps
    assert all(0.0 < float(stack.abs().max()) < 0.2 for stack in heatmaps)
    assert all(float(output.conv.bias.detach().abs().max()) == 0.0 for output in model.outs)
