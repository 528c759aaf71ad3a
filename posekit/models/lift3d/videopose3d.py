"""VideoPose3D: 3D human pose from 2D keypoint tracks with dilated temporal convolutions.

Pavllo, Feichtenhofer, Grangier, Auli, "3D human pose estimation in video with temporal
convolutions and semi-supervised training", CVPR 2019 (Section 3, Figure 2).

Legend: ``B`` batch, ``T`` frames, ``J`` joints, ``C`` convolution channels.

The network lifts a window of 2D keypoints ``(B, T, J_in, 2)`` (normalised screen coordinates,
see the paper's Section 5) to root-relative 3D joints ``(B, T - receptive_field + 1, J_out, 3)``
(metres, camera space). It is a stack of 1D convolutions over time:

* an *expand* convolution of width ``W0`` from ``J_in * 2`` to ``C`` channels, then BatchNorm,
  ReLU and dropout;
* ``len(filter_widths) - 1`` residual blocks; block ``b`` holds a convolution of width ``W_b`` and
  dilation ``W0 * ... * W_{b-1}``, then a 1x1 convolution, each followed by BatchNorm, ReLU and
  dropout. The residual is the input cropped at both ends by the frames the dilated convolution
  consumed;
* a *shrink* 1x1 convolution from ``C`` to ``J_out * 3`` channels.

The receptive field is ``W0 * W1 * ... * W_last`` frames (243 for five widths of 3). With
``causal=True`` the residual crops are shifted so that each output aligns with the *last*
frame of its window; with a left padding of ``receptive_field - 1`` frames the prediction at
time ``t`` then uses frames ``<= t`` only (the paper's real-time setting).

Two implementations share parameter names, so one state dict loads into either:

* :class:`TemporalModel` (dilated convolutions) runs on sequences of any length; evaluation and
  inference use it on whole sequences.
* :class:`TemporalModelOptimized1f` (strided convolutions, stride = filter width) computes only
  the frames needed for one output per window of ``receptive_field`` frames; it is the
  training model for single-frame targets (the paper's Section 4, "optimized training").

Parameter and buffer names equal the official ``common/model.py`` (``expand_conv``,
``expand_bn``, ``layers_conv.{i}``, ``layers_bn.{i}``, ``shrink``), so the official ``.bin``
checkpoints' ``model_pos`` / ``model_traj`` state dicts load without remapping. The trajectory
model of the semi-supervised setting is the same network with ``num_joints_out=1`` (it predicts
the root position in camera space).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = [
    "TemporalModel",
    "TemporalModelOptimized1f",
    "block_dilations",
    "check_keypoints_2d",
    "check_temporal_architecture",
]


def check_temporal_architecture(
    num_joints_in: int, in_features: int, num_joints_out: int, filter_widths: Sequence[int], channels: int
) -> list[int]:
    """Check the sizes of a VideoPose3D network; return its filter widths as a list of ints.

    The one place these checks are written: the models, the folded model's builder and the
    architecture read from a checkpoint (:mod:`posekit.models.lift3d.loading`) all call it.

    Raises:
        ValueError: a non-positive size, no filter width, or an even or non-positive width.
    """
    if num_joints_in < 1 or num_joints_out < 1 or in_features < 1 or channels < 1:
        raise ValueError(
            "num_joints_in, num_joints_out, in_features and channels must be positive, got "
            f"{num_joints_in}, {num_joints_out}, {in_features}, {channels}"
        )
    widths = [int(width) for width in filter_widths]
    if len(widths) == 0:
        raise ValueError("filter_widths must name at least one convolution width, got an empty list")
    for width in widths:
        if width < 1 or width % 2 == 0:
            raise ValueError(f"filter_widths must be positive odd integers, got {widths}")
    return widths


def block_dilations(filter_widths: Sequence[int]) -> list[int]:
    """Dilation of each block's wide convolution: ``[1, W0, W0 * W1, ...]`` (block 0: the expand conv).

    Block ``b`` consumes ``(W_b - 1) * dilation_b / 2`` frames on each side, so the receptive
    field is ``W0 * W1 * ... * W_last``.
    """
    dilations = [1]
    for width in filter_widths[:-1]:
        dilations.append(dilations[-1] * int(width))
    return dilations


def check_keypoints_2d(keypoints_2d: torch.Tensor, num_joints_in: int, in_features: int, receptive_field: int) -> None:
    """Check a model input ``(B, T, J_in, in_features)`` with ``T >= receptive_field``.

    Raises:
        ValueError: wrong rank, joint count, feature count, or fewer frames than the receptive
            field.
    """
    if keypoints_2d.ndim != 4 or keypoints_2d.shape[-2:] != (num_joints_in, in_features):
        raise ValueError(
            f"keypoints_2d must have shape (B, T, {num_joints_in}, {in_features}), got {tuple(keypoints_2d.shape)}"
        )
    if keypoints_2d.shape[1] < receptive_field:
        raise ValueError(
            f"keypoints_2d has {keypoints_2d.shape[1]} frames, fewer than the receptive field of "
            f"{receptive_field} frames; pad the sequence (see posekit.inference.lift3d.sequence.lift_sequence)"
        )


class _TemporalModelBase(nn.Module):
    """What both implementations share: BatchNorm after the expand conv, the shrink conv, checks.

    Subclasses define ``expand_conv``, ``layers_conv``, ``layers_bn`` and ``causal_shift``; the
    strided model also overrides ``_residual``.
    """

    expand_conv: nn.Conv1d
    layers_conv: nn.ModuleList
    layers_bn: nn.ModuleList
    causal_shift: list[int]

    def __init__(
        self,
        num_joints_in: int,
        in_features: int,
        num_joints_out: int,
        filter_widths: Sequence[int],
        causal: bool,
        dropout: float,
        channels: int,
    ) -> None:
        super().__init__()
        self.filter_widths = check_temporal_architecture(
            num_joints_in, in_features, num_joints_out, filter_widths, channels
        )
        self.num_joints_in = num_joints_in
        self.in_features = in_features
        self.num_joints_out = num_joints_out
        self.causal = bool(causal)
        self.channels = channels

        self.drop = nn.Dropout(dropout)
        self.relu = nn.ReLU(inplace=True)

        # dilation[b]: dilation of block b's wide conv in the dilated model (block 0: the expand conv);
        # pad[b]: frames block b consumes on each side.
        self.block_dilations = block_dilations(self.filter_widths)
        self.pad = [
            (width - 1) * dilation // 2
            for width, dilation in zip(self.filter_widths, self.block_dilations, strict=True)
        ]
        self.expand_bn = nn.BatchNorm1d(channels, momentum=0.1)
        self.shrink = nn.Conv1d(channels, num_joints_out * 3, 1)

    def set_bn_momentum(self, momentum: float) -> None:
        """Set the momentum of every BatchNorm (the paper decays it from 0.1 to 0.001)."""
        self.expand_bn.momentum = momentum
        for batch_norm in self.layers_bn:
            if isinstance(batch_norm, nn.BatchNorm1d):
                batch_norm.momentum = momentum

    def receptive_field(self) -> int:
        """Number of input frames that one output frame sees: ``1 + 2 * sum(pad)``."""
        return 1 + 2 * sum(self.pad)

    def total_causal_shift(self) -> int:
        """Asymmetric offset of the input padding: 0, or ``(receptive_field - 1) // 2`` when causal.

        Evaluation pads ``pad + shift`` frames on the left and ``pad - shift`` on the right
        (``pad = (receptive_field - 1) // 2``), as the official ``run.py`` does. (The official
        method of this name multiplies the dilation in twice for the dilated model; ``run.py``
        does not call it.)
        """
        return sum(self.pad) if self.causal else 0

    def forward(self, keypoints_2d: torch.Tensor) -> torch.Tensor:
        """Lift 2D keypoint windows to root-relative 3D joints.

        Args:
            keypoints_2d: ``(B, T, J_in, in_features)`` normalised 2D keypoints, ``T`` at least
                the receptive field.

        Returns:
            ``(B, T_out, J_out, 3)`` 3D joints in metres; ``T_out = T - receptive_field + 1`` for
            :class:`TemporalModel`, ``1`` for :class:`TemporalModelOptimized1f` on a window of
            ``receptive_field`` frames.

        Raises:
            ValueError: wrong rank, joint count, feature count, or fewer frames than the
                receptive field.
        """
        check_keypoints_2d(keypoints_2d, self.num_joints_in, self.in_features, self.receptive_field())
        batch_size, num_frames = keypoints_2d.shape[:2]
        # (B, T, J, F) -> (B, J*F, T)
        x = keypoints_2d.reshape(batch_size, num_frames, -1).permute(0, 2, 1)
        x = self._forward_blocks(x)
        # (B, J_out*3, T_out) -> (B, T_out, J_out, 3)
        return x.permute(0, 2, 1).reshape(batch_size, -1, self.num_joints_out, 3)

    def _residual(self, x: torch.Tensor, block_index: int) -> torch.Tensor:
        """Frames of ``x`` that block ``block_index`` (1-based) keeps: ``pad`` cropped at each end.

        The dilated convolution consumes ``pad`` frames on each side; when causal the crop is
        shifted right by ``causal_shift`` so the residual aligns with the window's last frame.
        """
        pad = self.pad[block_index]
        shift = self.causal_shift[block_index]
        return x[:, :, pad + shift : x.shape[2] - pad + shift]

    def _forward_blocks(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, J_in*F, T) -> (B, C, T')
        x = self.drop(self.relu(self.expand_bn(self.expand_conv(x))))
        for block_index in range(1, len(self.pad)):
            residual = self._residual(x, block_index)
            conv_index = 2 * (block_index - 1)
            x = self.drop(self.relu(self.layers_bn[conv_index](self.layers_conv[conv_index](x))))
            x = residual + self.drop(self.relu(self.layers_bn[conv_index + 1](self.layers_conv[conv_index + 1](x))))
        # (B, C, T_out) -> (B, J_out*3, T_out)
        return self.shrink(x)


class TemporalModel(_TemporalModelBase):
    """The reference VideoPose3D network with dilated convolutions (any sequence length).

    Args:
        num_joints_in: input joints ``J_in`` (17 for Human3.6M).
        in_features: features per input joint (2 for 2D keypoints).
        num_joints_out: output joints ``J_out`` (17 for poses, 1 for the trajectory model).
        filter_widths: odd convolution widths, one per block; their product is the receptive
            field (``[3, 3, 3, 3, 3]`` -> 243 frames).
        causal: align each output with the last frame of its window (real-time setting).
        dropout: dropout probability after every ReLU.
        channels: convolution channels ``C`` (1024 in the paper).
        dense: ablation of the paper: plain (undilated) convolutions whose width covers the
            same span as the dilated ones.

    The positional order of the arguments follows the official constructor, so
    ``TemporalModel(17, 2, 17, filter_widths=[3, 3, 3])`` means the same in both.
    """

    def __init__(
        self,
        num_joints_in: int,
        in_features: int,
        num_joints_out: int,
        filter_widths: Sequence[int],
        causal: bool = False,
        dropout: float = 0.25,
        channels: int = 1024,
        dense: bool = False,
    ) -> None:
        super().__init__(num_joints_in, in_features, num_joints_out, filter_widths, causal, dropout, channels)
        self.dense = bool(dense)
        widths = self.filter_widths
        self.expand_conv = nn.Conv1d(num_joints_in * in_features, channels, widths[0], bias=False)

        self.causal_shift = [
            width // 2 * dilation if causal else 0 for width, dilation in zip(widths, self.block_dilations, strict=True)
        ]
        layers_conv: list[nn.Module] = []
        layers_bn: list[nn.Module] = []
        for width, dilation, pad in zip(widths[1:], self.block_dilations[1:], self.pad[1:], strict=True):
            layers_conv.append(
                nn.Conv1d(
                    channels,
                    channels,
                    2 * pad + 1 if dense else width,
                    dilation=1 if dense else dilation,
                    bias=False,
                )
            )
            layers_bn.append(nn.BatchNorm1d(channels, momentum=0.1))
            layers_conv.append(nn.Conv1d(channels, channels, 1, dilation=1, bias=False))
            layers_bn.append(nn.BatchNorm1d(channels, momentum=0.1))
        self.layers_conv = nn.ModuleList(layers_conv)
        self.layers_bn = nn.ModuleList(layers_bn)


class TemporalModelOptimized1f(_TemporalModelBase):
    """VideoPose3D with strided convolutions: one output per window of ``receptive_field`` frames.

    Same parameters (names and shapes) as :class:`TemporalModel` without ``dense``; each
    convolution has stride equal to its width and no dilation, so only the frames the single
    output needs are computed. Train with it, evaluate with :class:`TemporalModel`
    (``load_state_dict`` works both ways).

    Args:
        num_joints_in: input joints ``J_in``.
        in_features: features per input joint (2).
        num_joints_out: output joints ``J_out``.
        filter_widths: odd convolution widths, one per block.
        causal: align the output with the last frame of the window.
        dropout: dropout probability.
        channels: convolution channels ``C``.
    """

    def __init__(
        self,
        num_joints_in: int,
        in_features: int,
        num_joints_out: int,
        filter_widths: Sequence[int],
        causal: bool = False,
        dropout: float = 0.25,
        channels: int = 1024,
    ) -> None:
        super().__init__(num_joints_in, in_features, num_joints_out, filter_widths, causal, dropout, channels)
        self.dense = False
        widths = self.filter_widths
        self.expand_conv = nn.Conv1d(num_joints_in * in_features, channels, widths[0], stride=widths[0], bias=False)

        # In strided space one step is one frame of the previous block: no dilation factor.
        self.causal_shift = [width // 2 if causal else 0 for width in widths]
        layers_conv: list[nn.Module] = []
        layers_bn: list[nn.Module] = []
        for width in widths[1:]:
            layers_conv.append(nn.Conv1d(channels, channels, width, stride=width, bias=False))
            layers_bn.append(nn.BatchNorm1d(channels, momentum=0.1))
            layers_conv.append(nn.Conv1d(channels, channels, 1, dilation=1, bias=False))
            layers_bn.append(nn.BatchNorm1d(channels, momentum=0.1))
        self.layers_conv = nn.ModuleList(layers_conv)
        self.layers_bn = nn.ModuleList(layers_bn)

    def _residual(self, x: torch.Tensor, block_index: int) -> torch.Tensor:
        """Frame each strided window of block ``block_index`` keeps: its centre (causal: its last)."""
        width = self.filter_widths[block_index]
        return x[:, :, self.causal_shift[block_index] + width // 2 :: width]
