"""Iterative Error Feedback (Carreira, Agrawal, Fragkiadaki, Malik, "Human Pose Estimation with
Iterative Error Feedback", CVPR 2016).

Legend: ``B`` batch, ``K`` keypoints, ``T`` iterations, input ``(w, h)``. Coordinates are
normalised ``(x / w, y / h)`` (the :class:`posekit.codecs.RegressionLabel` labels); step bounds are
in input pixels.

Reading the paper top to bottom:

* Sec. 2, Eq. 1-3: instead of predicting the pose in one shot, a network ``f`` predicts a
  *correction* ``eps_t = f(x_t)`` to the current estimate ``y_t`` from the input
  ``x_t = I (+) g(y_t)``: the image concatenated with a rendering ``g`` of the estimate, one 2D
  Gaussian channel per joint; then ``y_{t+1} = y_t + eps_t``. ``y_0`` is the mean pose of the
  training set; ``T = 4`` steps.
* Sec. 2.1: the network is a standard classification CNN (GoogLeNet there, ResNet here) whose
  first convolution takes ``3 + K`` channels and whose last layer regresses ``2K`` numbers.
* Sec. 2.2, "Fixed Path Consolidation": the target correction is *bounded*,
  ``e(y, y_t) = min(L, ||u||) * u / ||u||`` with ``u = y - y_t`` per joint (``L = 20`` px), so the
  network learns small, reliable steps (:func:`ief_targets`); the training loss is
  ``sum_t ||eps_t - e(y, y_t)||^2``, where ``y_t`` comes from the model's own earlier steps and is
  held fixed (detached). The model's corrections are bounded by the same ``L``
  (:func:`clip_correction_norm`).

Contract: ``forward_stages`` returns the estimate after every iteration, ``y_1 .. y_T``
(``num_stages = T``); :meth:`IterativeErrorFeedback.forward_corrections` returns the fed
estimates ``y_0 .. y_{T-1}`` and corrections ``eps_0 .. eps_{T-1}`` for the FPC loss. ``y_0`` is
the ``mean_pose`` buffer (saved with the weights); set it from training labels with
:meth:`IterativeErrorFeedback.set_mean_pose`.
"""

from __future__ import annotations

import torch
from torch import nn

from posekit.models.backbones.resnet import resnet
from posekit.models.pose2d.base import Pose2DModel, Pose2DOutput, check_images
from posekit.models.pose2d.heads import init_normal_
from posekit.models.registry import register_model

__all__ = [
    "IterativeErrorFeedback",
    "clip_correction_norm",
    "ief_res18_128x96",
    "ief_res50_224x224",
    "ief_targets",
    "render_gaussians",
]


def clip_correction_norm(corrections: torch.Tensor, max_step: float) -> torch.Tensor:
    """Bound each 2D vector's length by ``max_step``: ``v * min(1, max_step / ||v||)`` (Sec. 2.2).

    Args:
        corrections: ``(..., 2)`` vectors.
        max_step: bound ``L`` (same units as ``corrections``), > 0.

    Returns:
        ``(..., 2)`` vectors of length ``<= max_step``, unchanged when already shorter.
    """
    if corrections.shape[-1] != 2:
        raise ValueError(f"corrections must have shape (..., 2), got {tuple(corrections.shape)}")
    if not max_step > 0:
        raise ValueError(f"max_step must be > 0, got {max_step}")
    norms = corrections.norm(dim=-1, keepdim=True)  # (..., 1)
    return corrections * (max_step / norms.clamp_min(1e-12)).clamp(max=1.0)


def ief_targets(
    current: torch.Tensor, ground_truth: torch.Tensor, max_step: float, input_size: tuple[int, int] | None = None
) -> torch.Tensor:
    """Fixed Path Consolidation targets: the bounded part of the remaining error (Sec. 2.2, Eq. 4).

    Args:
        current: ``(..., K, 2)`` current estimates ``y_t``.
        ground_truth: ``(..., K, 2)`` targets ``y``.
        max_step: ``L``; in input pixels when ``input_size`` is given (coordinates normalised),
            else in the coordinates' own units.
        input_size: ``(w, h)`` when ``current`` and ``ground_truth`` are normalised ``(x / w, y / h)``.

    Returns:
        ``(..., K, 2)`` target corrections ``e(y, y_t)``, in the units of ``current``.
    """
    if current.shape != ground_truth.shape or current.shape[-1] != 2:
        raise ValueError(
            f"current and ground_truth must have the same shape (..., K, 2), got {tuple(current.shape)} "
            f"and {tuple(ground_truth.shape)}"
        )
    error = ground_truth - current
    if input_size is None:
        return clip_correction_norm(error, max_step)
    size = torch.tensor(input_size, dtype=error.dtype, device=error.device)
    return clip_correction_norm(error * size, max_step) / size


def render_gaussians(coordinates: torch.Tensor, input_size: tuple[int, int], sigma: float) -> torch.Tensor:
    """Render one Gaussian channel per joint, ``g(y)`` of Sec. 2 (differentiable in the coordinates).

    Args:
        coordinates: ``(B, K, 2)`` normalised ``(x / w, y / h)``.
        input_size: ``(w, h)`` of the rendering.
        sigma: Gaussian standard deviation in pixels.

    Returns:
        ``(B, K, h, w)`` maps with peak 1 at each joint (pixel centres at integer coordinates).
    """
    if coordinates.dim() != 3 or coordinates.shape[-1] != 2:
        raise ValueError(f"coordinates must have shape (B, K, 2), got {tuple(coordinates.shape)}")
    width, height = input_size
    xs = torch.arange(width, dtype=coordinates.dtype, device=coordinates.device)
    ys = torch.arange(height, dtype=coordinates.dtype, device=coordinates.device)
    centre_x = coordinates[..., 0, None] * width  # (B, K, 1) input pixels
    centre_y = coordinates[..., 1, None] * height
    gauss_x = torch.exp(-((xs - centre_x) ** 2) / (2 * sigma**2))  # (B, K, w)
    gauss_y = torch.exp(-((ys - centre_y) ** 2) / (2 * sigma**2))  # (B, K, h)
    return gauss_y[..., :, None] * gauss_x[..., None, :]  # (B, K, h, w)


class IterativeErrorFeedback(Pose2DModel):
    """``T`` steps of bounded corrections from image + rendered estimate.

    Args:
        num_keypoints: ``K``.
        input_size: ``(w, h)``.
        num_iterations: ``T`` (4 in the paper).
        depth: ResNet depth of ``f``.
        max_step: ``L``, the bound of each joint's correction per step, in input pixels (20 at 224).
        render_sigma: sigma of the rendered Gaussians in input pixels.
        mean_pose: ``(K, 2)`` normalised initial pose ``y_0``; default: every joint at the centre
            (replace it with :meth:`set_mean_pose`).
    """

    mean_pose: torch.Tensor

    def __init__(
        self,
        num_keypoints: int,
        input_size: tuple[int, int],
        num_iterations: int = 4,
        depth: int = 50,
        max_step: float = 20.0,
        render_sigma: float = 6.0,
        mean_pose: torch.Tensor | None = None,
    ) -> None:
        super().__init__(
            num_keypoints=num_keypoints,
            input_size=input_size,
            output_kind="coordinates",
            heatmap_size=None,
            num_stages=num_iterations,
        )
        if not max_step > 0 or not render_sigma > 0:
            raise ValueError(f"max_step and render_sigma must be > 0, got {max_step}, {render_sigma}")
        self.max_step = float(max_step)
        self.render_sigma = float(render_sigma)
        self.backbone = resnet(depth, in_channels=3 + num_keypoints)
        self.head = nn.Linear(self.backbone.out_channels, 2 * num_keypoints)
        init_normal_([self.head])
        initial = torch.full((num_keypoints, 2), 0.5) if mean_pose is None else self._check_pose(mean_pose)
        self.register_buffer("mean_pose", initial.clone())  # (K, 2), saved with the weights

    def _check_pose(self, pose: torch.Tensor) -> torch.Tensor:
        if pose.shape != (self.num_keypoints, 2):
            raise ValueError(f"mean_pose must have shape (K, 2) = ({self.num_keypoints}, 2), got {tuple(pose.shape)}")
        return pose.to(torch.float32)

    @torch.no_grad()
    def set_mean_pose(self, keypoints: torch.Tensor, visible: torch.Tensor | None = None) -> None:
        """Set ``y_0`` to the mean of training labels.

        Args:
            keypoints: ``(N, K, 2)`` normalised labels.
            visible: ``(N, K)`` weights (0 = ignore); ``None`` = all. Joints never visible keep 0.5.
        """
        if keypoints.dim() != 3 or keypoints.shape[1:] != (self.num_keypoints, 2):
            raise ValueError(f"keypoints must have shape (N, {self.num_keypoints}, 2), got {tuple(keypoints.shape)}")
        weights = torch.ones(keypoints.shape[:2]) if visible is None else visible.to(torch.float32)
        if weights.shape != keypoints.shape[:2]:
            raise ValueError(
                f"visible must have shape (N, K) = {tuple(keypoints.shape[:2])}, got {tuple(weights.shape)}"
            )
        total = weights.sum(dim=0)[:, None]  # (K, 1)
        mean = (keypoints.to(torch.float32) * weights[..., None]).sum(dim=0) / total.clamp_min(1e-12)
        self.mean_pose.copy_(torch.where(total > 0, mean, torch.full_like(mean, 0.5)))

    def correction(self, images: torch.Tensor, estimate: torch.Tensor) -> torch.Tensor:
        """``eps = f(I (+) g(y))`` bounded by ``max_step`` pixels: ``(B, 3, h, w), (B, K, 2) -> (B, K, 2)``."""
        rendering = render_gaussians(estimate, self.input_size, self.render_sigma)  # (B, K, h, w)
        features = self.backbone.forward_features(torch.cat([images, rendering], dim=1)).mean(dim=(-2, -1))
        raw = self.head(features).reshape(images.shape[0], self.num_keypoints, 2)  # (B, 2K) -> (B, K, 2)
        size = torch.tensor(self.input_size, dtype=raw.dtype, device=raw.device)
        return clip_correction_norm(raw * size, self.max_step) / size  # bounded in pixels, back to normalised

    def forward_corrections(
        self, images: torch.Tensor, initial: torch.Tensor | None = None
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Run the ``T`` steps, returning what the FPC loss needs.

        Args:
            images: ``(B, 3, h, w)``.
            initial: ``(B, K, 2)`` normalised ``y_0``; default the ``mean_pose``.

        Returns:
            ``(estimates, corrections)``: ``T`` fed estimates ``y_t`` (detached) and ``T``
            corrections ``eps_t``, each ``(B, K, 2)`` normalised; train with
            ``||eps_t - ief_targets(y_t, y, max_step, input_size)||^2``.
        """
        check_images(images, self.input_size)
        batch = images.shape[0]
        if initial is None:
            estimate = self.mean_pose.to(images.dtype).expand(batch, -1, -1)
        elif initial.shape != (batch, self.num_keypoints, 2):
            raise ValueError(
                f"initial must have shape (B, K, 2) = {(batch, self.num_keypoints, 2)}, got {tuple(initial.shape)}"
            )
        else:
            estimate = initial
        estimates, corrections = [], []
        for _ in range(self.num_stages):
            estimate = estimate.detach()
            step = self.correction(images, estimate)
            estimates.append(estimate)
            corrections.append(step)
            estimate = estimate + step
        return estimates, corrections

    def forward_outputs(self, images: torch.Tensor) -> Pose2DOutput:
        """``(B, 3, h, w)`` -> estimates after each of the ``T`` steps, ``(B, K, 2)`` normalised."""
        estimates, corrections = self.forward_corrections(images)
        return Pose2DOutput(stage_coordinates=[y + eps for y, eps in zip(estimates, corrections, strict=True)])


@register_model("ief_res50_224x224")
def ief_res50_224x224(
    num_keypoints: int = 17, num_iterations: int = 4, max_step: float = 20.0
) -> IterativeErrorFeedback:
    """IEF with a ResNet-50 ``f``, 224x224 input (the paper's size), ``T = 4``, ``L = 20`` px."""
    return IterativeErrorFeedback(
        num_keypoints, (224, 224), num_iterations=num_iterations, depth=50, max_step=max_step, render_sigma=6.0
    )


@register_model("ief_res18_128x96")
def ief_res18_128x96(
    num_keypoints: int = 17, num_iterations: int = 3, max_step: float = 12.0
) -> IterativeErrorFeedback:
    """Tiny CPU variant: ResNet-18 ``f``, 128x96 input, ``T = 3``, ``L = 12`` px, sigma 4 px."""
    return IterativeErrorFeedback(
        num_keypoints, (96, 128), num_iterations=num_iterations, depth=18, max_step=max_step, render_sigma=4.0
    )
