"""The contract every 2D single-person model of posekit follows.

Legend: ``B`` batch, ``K`` keypoints, ``S`` stages, input size ``(w, h)`` and heatmap size
``(W, H)`` (sizes are always ``(w, h)``).

Input
    ``images (B, 3, h, w)`` float32, RGB, normalised with the ImageNet statistics
    (``(pixel / 255 - IMAGENET_MEAN) / IMAGENET_STD``, see :func:`normalize_images`). Every model
    takes this input, including the families whose official code used another one (Stacked
    Hourglass works on ``[0, 1]`` images; it undoes the normalisation inside its ``forward`` so
    that official checkpoints still apply). ``h, w`` must equal ``model.input_size[::-1]`` for
    the coordinate models (DeepPose, IEF) and for CPM (its centre map); the other heatmap models
    are fully convolutional and accept other sizes that their architecture divides (multiples of
    32 for the ResNet and HRNet models, of ``4 * 2**depth`` for the hourglass).

Outputs
    * heatmaps ``(B, K, H, W)``: raw network outputs (no sigmoid/softmax). Heatmap pixel ``x``
      is input pixel ``x * w / W`` (pixel centres at integer coordinates, the convention of
      :class:`posekit.codecs.MSRAHeatmap`).
    * coordinates ``(B, K, 2)`` as ``(x / w, y / h)``, normalised to the input size, where ``x, y``
      are input pixels with the top-left pixel centre at ``(0, 0)`` -- exactly the labels of
      :class:`posekit.codecs.RegressionLabel` and the ``normalized=True`` output of
      :class:`posekit.codecs.IntegralRegression`. :func:`coordinates_to_pixels` maps them back.

Attributes of every model (:class:`Pose2DModel`)
    ``num_keypoints``, ``input_size (w, h)``, ``output_kind`` (``"heatmap"``, ``"coordinates"`` or
    ``"heatmap+coordinates"``), ``heatmap_size (W, H)`` or ``None`` for pure regression,
    ``num_stages`` (length of :meth:`~Pose2DModel.forward_stages`), and ``background_channel``
    (``True`` only for CPM: its stage outputs carry ``K + 1`` maps, the last one background).

Methods of every model
    * :meth:`~Pose2DModel.forward_outputs` ``(images) -> Pose2DOutput``: everything the model
      predicts, per stage: ``stage_heatmaps`` (list of ``(B, K or K+1, H, W)``) and
      ``stage_coordinates`` (list of ``(B, K, 2)``). A list is empty when the model does not
      predict that kind. Training code computes its losses from this one call.
    * :meth:`~Pose2DModel.forward_stages` ``(images) -> list[Tensor]``: the per-stage outputs of
      the *primary* kind (heatmaps for ``"heatmap"`` and ``"heatmap+coordinates"`` models,
      coordinates for ``"coordinates"`` models), ``num_stages`` tensors, last = final. Single-stage
      models return a list of one. CPM stages keep the background map (``K + 1`` channels).
    * ``forward(images) -> Tensor``: the final prediction of the primary kind, with exactly ``K``
      channels (CPM's background map dropped), so that inference and ONNX export are uniform.
      Hybrids (``"heatmap+coordinates"``) return heatmaps here; their coordinates come from
      ``forward_outputs(images).coordinates``.
    * optional ``remap_state_dict(state_dict) -> state_dict``: translates an official checkpoint's
      layer names (applied by :func:`posekit.io.checkpoint.load_model_weights`; idempotent on
      posekit's own names).

Family-specific training hooks (documented in their files): ``DeepPose.stage_parameters(stage)``,
``IterativeErrorFeedback.forward_corrections`` with :func:`posekit.models.pose2d.ief.ief_targets`,
:func:`append_background_channel` for CPM targets.

Registered builders (``posekit.models.get_model(name, num_keypoints=..., **options)``) all take
``num_keypoints: int`` (17 = COCO by default, 16 for the MPII variants) plus keyword options.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "OutputKind",
    "Pose2DModel",
    "Pose2DOutput",
    "add_backbone_prefix",
    "append_background_channel",
    "check_images",
    "coordinates_to_pixels",
    "denormalize_images",
    "normalize_images",
    "pixels_to_coordinates",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

OutputKind = Literal["heatmap", "coordinates", "heatmap+coordinates"]
_OUTPUT_KINDS = ("heatmap", "coordinates", "heatmap+coordinates")


def normalize_images(images: torch.Tensor) -> torch.Tensor:
    """Normalise RGB images in ``[0, 1]`` with the ImageNet mean and standard deviation.

    Args:
        images: ``(B, 3, H, W)`` float RGB in ``[0, 1]`` (divide uint8 images by 255 first).

    Returns:
        ``(B, 3, H, W)`` ``(images - IMAGENET_MEAN) / IMAGENET_STD`` (per channel).
    """
    check_images(images)
    mean = torch.tensor(IMAGENET_MEAN, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    return (images - mean) / std


def denormalize_images(images: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`normalize_images`: ``(B, 3, H, W)`` normalised -> RGB in ``[0, 1]``."""
    check_images(images)
    mean = torch.tensor(IMAGENET_MEAN, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    return images * std + mean


def check_images(images: torch.Tensor, input_size: tuple[int, int] | None = None) -> None:
    """Raise ``ValueError`` unless ``images`` is a floating ``(B, 3, H, W)`` tensor.

    Args:
        images: the tensor to check.
        input_size: when given, the required ``(w, h)``.
    """
    if not isinstance(images, torch.Tensor):
        raise ValueError(f"images must be a torch.Tensor of shape (B, 3, H, W), got {type(images).__name__}")
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"images must have shape (B, 3, H, W), got {tuple(images.shape)}")
    if not images.is_floating_point():
        raise ValueError(f"images must be a floating tensor (ImageNet-normalised RGB), got {images.dtype}")
    if input_size is not None:
        width, height = input_size
        if images.shape[2] != height or images.shape[3] != width:
            raise ValueError(
                f"images must have shape (B, 3, {height}, {width}) for input size (w, h) = {input_size}, "
                f"got {tuple(images.shape)}"
            )


def coordinates_to_pixels(coordinates: torch.Tensor, input_size: tuple[int, int]) -> torch.Tensor:
    """Normalised coordinates ``(..., 2)`` as ``(x / w, y / h)`` -> input pixels ``(..., 2)``."""
    if coordinates.shape[-1] != 2:
        raise ValueError(f"coordinates must have shape (..., 2), got {tuple(coordinates.shape)}")
    size = torch.tensor(input_size, dtype=coordinates.dtype, device=coordinates.device)
    return coordinates * size


def pixels_to_coordinates(pixels: torch.Tensor, input_size: tuple[int, int]) -> torch.Tensor:
    """Input pixels ``(..., 2)`` -> normalised coordinates ``(x / w, y / h)`` ``(..., 2)``."""
    if pixels.shape[-1] != 2:
        raise ValueError(f"pixels must have shape (..., 2), got {tuple(pixels.shape)}")
    size = torch.tensor(input_size, dtype=pixels.dtype, device=pixels.device)
    return pixels / size


def append_background_channel(heatmaps: torch.Tensor) -> torch.Tensor:
    """Add the background map of Convolutional Pose Machines to keypoint target heatmaps.

    The official CPM targets (Wei et al. 2016, Sec. 3; ``convolutional-pose-machines-release``
    data layer) carry one extra map, ``1 - max_k heatmap_k``, which is high away from every joint.

    Args:
        heatmaps: ``(B, K, H, W)`` target heatmaps with peaks of 1.

    Returns:
        ``(B, K + 1, H, W)``.
    """
    if heatmaps.dim() != 4:
        raise ValueError(f"heatmaps must have shape (B, K, H, W), got {tuple(heatmaps.shape)}")
    background = 1.0 - heatmaps.amax(dim=1, keepdim=True).clamp(0.0, 1.0)  # (B, 1, H, W)
    return torch.cat([heatmaps, background], dim=1)


@dataclass
class Pose2DOutput:
    """Everything a 2D model predicts, per stage (earliest first, last = final).

    Attributes:
        stage_heatmaps: list of ``(B, K, H, W)`` raw heatmaps (``K + 1`` channels for CPM, the last
            one background); empty for pure regression models.
        stage_coordinates: list of ``(B, K, 2)`` coordinates ``(x / w, y / h)`` normalised to the
            input size; empty for pure heatmap models.
    """

    stage_heatmaps: list[torch.Tensor] = field(default_factory=list)
    stage_coordinates: list[torch.Tensor] = field(default_factory=list)

    @property
    def heatmaps(self) -> torch.Tensor | None:
        """Final-stage heatmaps ``(B, K(+1), H, W)`` or ``None``."""
        return self.stage_heatmaps[-1] if self.stage_heatmaps else None

    @property
    def coordinates(self) -> torch.Tensor | None:
        """Final-stage coordinates ``(B, K, 2)`` (normalised) or ``None``."""
        return self.stage_coordinates[-1] if self.stage_coordinates else None


class Pose2DModel(nn.Module, abc.ABC):
    """Base class of every 2D single-person model (see the module docstring for the contract).

    Subclasses implement :meth:`forward_outputs`; :meth:`forward_stages` and :meth:`forward` follow.

    Args:
        num_keypoints: ``K``.
        input_size: network input ``(w, h)`` in pixels.
        output_kind: ``"heatmap"``, ``"coordinates"`` or ``"heatmap+coordinates"``.
        heatmap_size: ``(W, H)`` of the heatmaps, ``None`` for pure regression models.
        num_stages: number of supervised stages (length of :meth:`forward_stages`).
        background_channel: the heatmaps carry an extra background map (CPM).
    """

    def __init__(
        self,
        num_keypoints: int,
        input_size: tuple[int, int],
        output_kind: OutputKind,
        heatmap_size: tuple[int, int] | None,
        num_stages: int,
        background_channel: bool = False,
    ) -> None:
        super().__init__()
        if num_keypoints < 1:
            raise ValueError(f"num_keypoints must be >= 1, got {num_keypoints}")
        if len(input_size) != 2 or min(input_size) < 1:
            raise ValueError(f"input_size must be (w, h) with positive sides, got {input_size}")
        if output_kind not in _OUTPUT_KINDS:
            raise ValueError(f"output_kind must be one of {_OUTPUT_KINDS}, got {output_kind!r}")
        if (heatmap_size is None) != (output_kind == "coordinates"):
            raise ValueError(f"heatmap_size must be None exactly for coordinate models, got {heatmap_size}")
        if num_stages < 1:
            raise ValueError(f"num_stages must be >= 1, got {num_stages}")
        self.num_keypoints = int(num_keypoints)
        self.input_size: tuple[int, int] = (int(input_size[0]), int(input_size[1]))
        self.output_kind: OutputKind = output_kind
        self.heatmap_size: tuple[int, int] | None = (
            None if heatmap_size is None else (int(heatmap_size[0]), int(heatmap_size[1]))
        )
        self.num_stages = int(num_stages)
        self.background_channel = bool(background_channel)

    @abc.abstractmethod
    def forward_outputs(self, images: torch.Tensor) -> Pose2DOutput:
        """Every stage's heatmaps and/or coordinates for ``images (B, 3, h, w)``."""

    def forward_stages(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Per-stage outputs of the primary kind (heatmaps, or coordinates for regression models).

        Args:
            images: ``(B, 3, h, w)`` ImageNet-normalised RGB.

        Returns:
            ``num_stages`` tensors, earliest first: ``(B, K(+1), H, W)`` heatmaps or ``(B, K, 2)``
            normalised coordinates.
        """
        outputs = self.forward_outputs(images)
        if self.output_kind == "coordinates":
            return outputs.stage_coordinates
        return outputs.stage_heatmaps

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Final prediction: heatmaps ``(B, K, H, W)`` or normalised coordinates ``(B, K, 2)``."""
        final = self.forward_stages(images)[-1]
        if self.background_channel:
            final = final[:, : self.num_keypoints]  # (B, K + 1, H, W) -> (B, K, H, W)
        return final


def add_backbone_prefix(state_dict: dict[str, torch.Tensor], trunk_names: tuple[str, ...]) -> dict[str, torch.Tensor]:
    """Prefix official trunk parameter names with ``backbone.`` (names already prefixed stay as they are).

    Args:
        state_dict: parameter name -> tensor.
        trunk_names: name prefixes (with the trailing dot) that belong to the trunk.
    """
    return {
        (f"backbone.{name}" if name.startswith(trunk_names) else name): tensor for name, tensor in state_dict.items()
    }
