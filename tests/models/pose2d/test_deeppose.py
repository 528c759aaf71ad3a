"""DeepPose: differentiable crops that follow the estimate, stage-wise parameters and gradients."""

from __future__ import annotations

import pytest
import torch

from posekit.models.pose2d.deeppose import crop_patches, deeppose_res18_128x96


def test_crop_equals_slicing_when_aligned_with_pixels() -> None:
    images = torch.arange(2 * 3 * 20 * 16, dtype=torch.float32).reshape(2, 3, 20, 16)
    # centre between pixels (7, 9) and (8, 10) -> an 8x8 box covers pixels 4..11 and 6..13 exactly
    centres = torch.tensor([[[7.5 / 16, 9.5 / 20]], [[2.5 / 16, 2.5 / 20]]])
    patches = crop_patches(images, centres, (8, 8), (8, 8))
    assert patches.shape == (2, 1, 3, 8, 8)
    torch.testing.assert_close(patches[0, 0], images[0, :, 6:14, 4:12])
    # the box covers pixels -1..6: its first row and column fall outside the image (zeros)
    torch.testing.assert_close(patches[1, 0, :, 0], torch.zeros(3, 8), atol=1e-2, rtol=0)
    torch.testing.assert_close(patches[1, 0, :, :, 0], torch.zeros(3, 8), atol=1e-2, rtol=0)
    torch.testing.assert_close(patches[1, 0, :, 1:, 1:], images[1, :, 0:7, 0:7])


def test_crop_follows_the_estimate() -> None:
    images = torch.zeros(1, 1, 40, 30)
    images[0, 0, 25, 11] = 1.0  # a bright pixel at (x, y) = (11, 25)
    for x, y in [(11, 25), (13, 22)]:
        centre = torch.tensor([[[x / 30, y / 40]]])
        patch = crop_patches(images, centre, (9, 9), (9, 9))[0, 0, 0]  # (9, 9), patch centre (4, 4)
        row, column = divmod(int(patch.argmax()), 9)
        assert (column - 4, row - 4) == (11 - x, 25 - y)


def test_refinement_crops_around_each_joint_and_trains_its_stage_only() -> None:
    torch.manual_seed(0)
    model = deeppose_res18_128x96(num_keypoints=3).train()
    images = torch.randn(1, 3, 128, 96)
    estimate = torch.tensor([[[0.2, 0.3], [0.5, 0.5], [0.8, 0.9]]])
    seen: list[torch.Tensor] = []
    handle = model.stages[1].register_forward_pre_hook(lambda module, inputs: seen.append(inputs[0].detach()))
    refined = model.refine(images, estimate, stage=1)
    handle.remove()
    expected = crop_patches(images, estimate, model.crop_size, model.patch_size).reshape(3, 3, 32, 32)
    torch.testing.assert_close(seen[0], expected)
    assert refined.shape == (1, 3, 2)
    displacement = (refined - estimate).abs().max()
    assert 0 < displacement < 0.1  # small initial displacements, in crop units scaled to the image

    outputs = model.forward_outputs(images)
    outputs.stage_coordinates[1].sum().backward()
    assert all(parameter.grad is None for parameter in model.stage_parameters(0))
    assert any(parameter.grad is not None for parameter in model.stage_parameters(1))
    first, second = (set(map(id, model.stage_parameters(stage))) for stage in (0, 1))
    assert not first & second and len(first | second) == len(list(model.parameters()))
    with pytest.raises(ValueError, match="stage must be in"):
        model.stage_parameters(2)
