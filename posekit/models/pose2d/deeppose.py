"""DeepPose: cascaded coordinate regression (Toshev & Szegedy, "DeepPose: Human Pose Estimation via
Deep Neural Networks", CVPR 2014).

Legend: ``B`` batch, ``K`` keypoints, ``S`` stages, input ``(w, h)``, crop ``(c_w, c_h)`` input
pixels, patch ``(p_w, p_h)`` pixels. Coordinates are normalised ``(x / w, y / h)`` (the
:class:`posekit.codecs.RegressionLabel` labels).

Reading the paper top to bottom:

* Sec. 3.1: pose estimation as regression; a CNN ``psi`` maps the (box-normalised) image to the
  ``2K`` joint coordinates, trained with an L2 loss on normalised coordinates (Eq. 2).
  Here ``psi`` is a ResNet with global average pooling and a linear layer (the paper used AlexNet).
* Sec. 3.2, "cascade of pose regressors": stage 1 regresses every joint from the whole crop.
  Stage ``s >= 2`` refines each joint ``i`` separately: it cuts a sub-image of fixed size around
  the previous estimate ``y_i^{s-1}`` (the box ``b_i^{s-1}``), runs the stage's network on it and
  adds the predicted *displacement*, ``y_i^s = y_i^{s-1} + psi_i(N(x; b_i^{s-1}); theta_s)``
  (Eq. 5-6), where ``psi_i`` is the ``i``-th joint's pair of the network's ``2K`` outputs and the
  displacement is in units of the box size. The same network ``theta_s`` serves every joint of a
  stage; every stage has its own parameters.
* Training (Sec. 3.2, Eq. 7): stage by stage; stage ``s`` is trained on the estimates of stage
  ``s - 1`` and on simulated ones (the ground truth plus displacements drawn from the previous
  stage's error distribution). :meth:`DeepPose.refine` takes arbitrary estimates for that, and
  :meth:`DeepPose.stage_parameters` gives each stage's parameters to an optimiser.

Choices made here: the crop is a fixed box of ``crop_size`` input pixels (top-down crops are
already scaled to the person, which plays the role of the paper's ``sigma * diam(y)``), cut from
the network input with bilinear sampling (:func:`crop_patches`, ``grid_sample``) and resampled to
``patch_size``; the previous estimate is detached, so the loss on stage ``s`` trains stage ``s`` only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from posekit.models.backbones.resnet import resnet
from posekit.models.pose2d.base import Pose2DModel, Pose2DOutput, check_images
from posekit.models.pose2d.heads import init_normal_
from posekit.models.registry import register_model

__all__ = ["DeepPose", "RegressionNet", "crop_patches", "deeppose_res18_128x96", "deeppose_res50_220x220"]


def crop_patches(
    images: torch.Tensor,
    centres: torch.Tensor,
    crop_size: tuple[float, float],
    patch_size: tuple[int, int],
) -> torch.Tensor:
    """Cut an axis-aligned box around every centre and resample it (bilinear, zeros outside).

    Pixel-centre convention: input pixel ``x`` (integer = pixel centre) is normalised coordinate
    ``x / w``. The box of ``crop_size`` pixels is centred on the centre; patch pixel ``i`` samples
    input pixel ``centre_x + (i + 0.5 - p_w / 2) * c_w / p_w`` (likewise for ``y``).

    Args:
        images: ``(B, C, h, w)``.
        centres: ``(B, K, 2)`` box centres, normalised ``(x / w, y / h)``.
        crop_size: ``(c_w, c_h)`` box size in input pixels.
        patch_size: ``(p_w, p_h)`` output patch size in pixels.

    Returns:
        ``(B, K, C, p_h, p_w)`` patches (differentiable with respect to ``images`` and ``centres``).
    """
    if images.dim() != 4:
        raise ValueError(f"images must have shape (B, C, h, w), got {tuple(images.shape)}")
    if centres.dim() != 3 or centres.shape[0] != images.shape[0] or centres.shape[-1] != 2:
        raise ValueError(f"centres must have shape (B={images.shape[0]}, K, 2), got {tuple(centres.shape)}")
    batch, channels, height, width = images.shape
    num_keypoints = centres.shape[1]
    patch_width, patch_height = patch_size
    dtype, device = images.dtype, images.device
    # offsets of the patch pixel centres from the box centre, in input pixels
    offsets_x = (torch.arange(patch_width, dtype=dtype, device=device) + 0.5 - patch_width / 2) * (
        crop_size[0] / patch_width
    )
    offsets_y = (torch.arange(patch_height, dtype=dtype, device=device) + 0.5 - patch_height / 2) * (
        crop_size[1] / patch_height
    )
    centre_x = centres[..., 0] * width  # (B, K) input pixels
    centre_y = centres[..., 1] * height
    sample_x = centre_x[:, :, None, None] + offsets_x[None, None, None, :]  # (B, K, 1, p_w)
    sample_y = centre_y[:, :, None, None] + offsets_y[None, None, :, None]  # (B, K, p_h, 1)
    # input pixels -> grid_sample coordinates in [-1, 1] (align_corners=False: edges at -1 and 1)
    grid_x = (2 * sample_x + 1) / width - 1
    grid_y = (2 * sample_y + 1) / height - 1
    grid = torch.stack(torch.broadcast_tensors(grid_x, grid_y), dim=-1)  # (B, K, p_h, p_w, 2)
    grid = grid.reshape(batch, num_keypoints * patch_height, patch_width, 2)  # (B, K*p_h, p_w, 2)
    sampled = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    sampled = sampled.reshape(batch, channels, num_keypoints, patch_height, patch_width)  # (B, C, K, p_h, p_w)
    return sampled.permute(0, 2, 1, 3, 4)  # (B, K, C, p_h, p_w)


class RegressionNet(nn.Module):
    """``psi``: ResNet, global average pooling, linear layer to ``2K`` values (Sec. 3.1).

    Args:
        depth: ResNet depth.
        num_outputs: ``2K``.
        in_channels: input channels.
        initial_bias: initial value of the linear layer's bias (0.5 = image centre for stage 1,
            0 = no displacement for refinement stages); its weights start small.
    """

    def __init__(self, depth: int, num_outputs: int, in_channels: int = 3, initial_bias: float = 0.0) -> None:
        super().__init__()
        self.backbone = resnet(depth, in_channels=in_channels)
        self.head = nn.Linear(self.backbone.out_channels, num_outputs)
        init_normal_([self.head])
        nn.init.constant_(self.head.bias, initial_bias)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` -> ``(N, num_outputs)``."""
        features = self.backbone.forward_features(images).mean(dim=(-2, -1))  # (N, C5, h, w) -> (N, C5)
        return self.head(features)


class DeepPose(Pose2DModel):
    """A cascade of ``num_stages`` coordinate regressors (stage 1 global, then per-joint refinement).

    Args:
        num_keypoints: ``K``.
        input_size: ``(w, h)``.
        num_stages: ``S`` (3 in the paper).
        depth: ResNet depth of stage 1.
        refinement_depth: ResNet depth of stages ``>= 2`` (default: ``depth``).
        crop_size: ``(c_w, c_h)`` refinement box in input pixels.
        patch_size: ``(p_w, p_h)`` the box is resampled to (default: ``crop_size``, no resampling loss).
    """

    def __init__(
        self,
        num_keypoints: int,
        input_size: tuple[int, int],
        num_stages: int = 3,
        depth: int = 50,
        refinement_depth: int | None = None,
        crop_size: tuple[int, int] = (64, 64),
        patch_size: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(
            num_keypoints=num_keypoints,
            input_size=input_size,
            output_kind="coordinates",
            heatmap_size=None,
            num_stages=num_stages,
        )
        if min(crop_size) <= 0:
            raise ValueError(f"crop_size must be positive, got {crop_size}")
        self.crop_size: tuple[int, int] = (int(crop_size[0]), int(crop_size[1]))
        self.patch_size: tuple[int, int] = (
            self.crop_size if patch_size is None else (int(patch_size[0]), int(patch_size[1]))
        )
        refinement_depth = depth if refinement_depth is None else refinement_depth
        self.stages = nn.ModuleList(
            [RegressionNet(depth, 2 * num_keypoints, initial_bias=0.5)]
            + [RegressionNet(refinement_depth, 2 * num_keypoints) for _ in range(num_stages - 1)]
        )

    def stage_parameters(self, stage: int) -> list[nn.Parameter]:
        """Parameters of stage ``stage`` (0-based: 0 = the global regressor), for stage-wise training.

        Raises:
            ValueError: for a stage outside ``[0, num_stages)``.
        """
        if not 0 <= stage < self.num_stages:
            raise ValueError(f"stage must be in [0, {self.num_stages}), got {stage}")
        return list(self.stages[stage].parameters())

    def initial_estimate(self, images: torch.Tensor) -> torch.Tensor:
        """Stage 1: ``(B, 3, h, w)`` -> normalised coordinates ``(B, K, 2)`` from the whole crop."""
        check_images(images, self.input_size)
        return self.stages[0](images).reshape(images.shape[0], self.num_keypoints, 2)  # (B, 2K) -> (B, K, 2)

    def refine(self, images: torch.Tensor, coordinates: torch.Tensor, stage: int) -> torch.Tensor:
        """One refinement stage: crop around each joint's estimate, add the predicted displacement (Eq. 6).

        Args:
            images: ``(B, 3, h, w)``.
            coordinates: ``(B, K, 2)`` current normalised estimates (detached here).
            stage: 1-based refinement stage index in ``[1, num_stages)`` (0 is the global stage).

        Returns:
            ``(B, K, 2)`` refined normalised coordinates.
        """
        if not 1 <= stage < self.num_stages:
            raise ValueError(f"refinement stage must be in [1, {self.num_stages}), got {stage}")
        if coordinates.shape != (images.shape[0], self.num_keypoints, 2):
            raise ValueError(
                f"coordinates must have shape (B, K, 2) = {(images.shape[0], self.num_keypoints, 2)}, "
                f"got {tuple(coordinates.shape)}"
            )
        batch, num_keypoints = coordinates.shape[:2]
        previous = coordinates.detach()
        patches = crop_patches(images, previous, self.crop_size, self.patch_size)  # (B, K, 3, p_h, p_w)
        patch_width, patch_height = self.patch_size
        outputs = self.stages[stage](patches.reshape(batch * num_keypoints, 3, patch_height, patch_width))
        outputs = outputs.reshape(batch, num_keypoints, num_keypoints, 2)  # (B*K, 2K) -> (B, K patches, K joints, 2)
        joint_index = torch.arange(num_keypoints, device=outputs.device)
        displacement = outputs[:, joint_index, joint_index]  # psi_i on patch i: (B, K, 2), in box units
        scale = torch.tensor(
            [self.crop_size[0] / self.input_size[0], self.crop_size[1] / self.input_size[1]],
            dtype=displacement.dtype,
            device=displacement.device,
        )
        return previous + displacement * scale  # box units -> normalised input coordinates

    def forward_outputs(self, images: torch.Tensor) -> Pose2DOutput:
        """``(B, 3, h, w)`` -> the ``S`` stages' normalised coordinates ``(B, K, 2)``."""
        coordinates = self.initial_estimate(images)
        stage_coordinates = [coordinates]
        for stage in range(1, self.num_stages):
            coordinates = self.refine(images, coordinates, stage)
            stage_coordinates.append(coordinates)
        return Pose2DOutput(stage_coordinates=stage_coordinates)


@register_model("deeppose_res50_220x220")
def deeppose_res50_220x220(num_keypoints: int = 17, num_stages: int = 3) -> DeepPose:
    """DeepPose cascade, ResNet-50 stages, 220x220 input (the paper's size), 88x88 refinement boxes."""
    return DeepPose(num_keypoints, (220, 220), num_stages=num_stages, depth=50, crop_size=(88, 88))


@register_model("deeppose_res18_128x96")
def deeppose_res18_128x96(
    num_keypoints: int = 17,
    num_stages: int = 2,
    crop_size: tuple[int, int] = (64, 64),
    patch_size: tuple[int, int] | None = (32, 32),
) -> DeepPose:
    """Tiny CPU variant: ResNet-18 stages, 128x96 input, two stages, 64x64 refinement boxes read at 32x32.

    The box is half the input width: after a short schedule stage 1 is off by 20-25 input pixels,
    so a 32-pixel box (16 px either side) would often miss the joint (measured on the synthetic
    set, 126 steps: PCK@0.2 0.556 with 32x32 boxes, 0.640 with these).
    """
    return DeepPose(
        num_keypoints, (96, 128), num_stages=num_stages, depth=18, crop_size=crop_size, patch_size=patch_size
    )
