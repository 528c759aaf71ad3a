"""Lifting 2D keypoint tracks to 3D with VideoPose3D: loading, fast inference, long sequences.

Legend: ``B`` batch, ``T`` frames, ``J`` joints, ``C`` convolution channels.

* :func:`load_lifter` reads an official VideoPose3D ``.bin`` checkpoint (or a posekit one in the
  same format), infers the architecture from the weights and returns a :class:`Lifter`.
* :func:`lift_sequence` runs a lifter over a whole sequence ``(T, J, 2)`` exactly like the official
  evaluation (edge padding of ``(receptive_field - 1) / 2`` frames on each side; all on the left
  when causal; optional flip test-time augmentation), in chunks that overlap by the receptive
  field, so any length runs in bounded memory with the same outputs as one unchunked pass.
* :func:`fold_batchnorm` turns a trained model into an inference-only
  :class:`FoldedTemporalModel`: BatchNorm folded into the convolutions and the convolutions run as
  matrix products over time-major activations, optionally in bfloat16 (``compute_dtype``).

Input 2D keypoints are *normalised* screen coordinates as in the paper (x, y scaled so that the
image width maps to [-1, 1]); outputs are root-relative 3D joints in metres (trajectory model:
root position in camera space).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from posekit.io.checkpoint import load_checkpoint
from posekit.models.lift3d.videopose3d import TemporalModel, TemporalModelOptimized1f

__all__ = [
    "FoldedTemporalModel",
    "Lifter",
    "TemporalArchitecture",
    "cpu_supports_fast_bf16",
    "fold_batchnorm",
    "infer_temporal_architecture",
    "lift_sequence",
    "load_lifter",
    "load_lifter_checkpoint",
]


# ---------------------------------------------------------------------------------------------
# Inference-only model with BatchNorm folded into the convolutions.


class FoldedTemporalModel(nn.Module):
    """VideoPose3D for inference: BatchNorm folded into convolution biases, no dropout.

    Activations are kept time-major ``(B, T, C)``; a temporal convolution of width ``W`` and
    dilation ``d`` is ``W`` matrix products of frame-shifted views with the ``W`` weight taps,
    accumulated in place (fp32), or one product with the taps concatenated along channels
    (bfloat16, where the oneDNN/AMX kernels are fastest). Outputs equal the unfolded model's
    to float32 rounding.

    With ``compute_dtype=torch.bfloat16`` the residual blocks run in bfloat16 while the first
    (expand) convolution, the residual sum and the last (shrink) convolution stay in float32.
    On a CPU with AMX/AVX512-BF16 that measured 2.7 times the official float32 model's speed,
    but bfloat16 keeps 8 mantissa bits, so each layer adds ~0.2% relative error: about 1 mm mean
    and 6-7 mm worst-case error on a 243-frame network with pose-scaled outputs
    (``benchmarks/bench_lifting.py``). Use float32 where sub-millimetre agreement matters.

    Args:
        weights: folded convolution weights in network order (expand, then two per residual
            block, then shrink), each ``(C_out, C_in, width)``.
        biases: folded biases, each ``(C_out,)``.
        dilations: dilation of each convolution (same length as ``weights``).
        num_joints_in: input joints ``J_in``; ``weights[0]`` must have ``J_in * in_features``
            input channels.
        in_features: features per input joint (2).
        causal: the residual crops align each output with the last frame of its window.
        compute_dtype: ``torch.float32`` (exact) or ``torch.bfloat16`` (fast, approximate).
    """

    def __init__(
        self,
        weights: Sequence[torch.Tensor],
        biases: Sequence[torch.Tensor],
        dilations: Sequence[int],
        *,
        num_joints_in: int,
        in_features: int = 2,
        causal: bool = False,
        compute_dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        if not (len(weights) == len(biases) == len(dilations)) or len(weights) < 2 or len(weights) % 2 != 0:
            raise ValueError(
                "weights, biases and dilations must have one entry per convolution (expand, two per "
                f"block, shrink: an even count >= 2), got {len(weights)}, {len(biases)}, {len(dilations)}"
            )
        if compute_dtype not in (torch.float32, torch.bfloat16):
            raise ValueError(f"compute_dtype must be torch.float32 or torch.bfloat16, got {compute_dtype}")
        if weights[0].shape[1] != num_joints_in * in_features:
            raise ValueError(
                f"the first convolution takes {weights[0].shape[1]} channels, expected "
                f"num_joints_in * in_features = {num_joints_in * in_features}"
            )
        if weights[-1].shape[0] % 3 != 0:
            raise ValueError(f"the last convolution must output J_out * 3 channels, got {weights[-1].shape[0]}")
        self.num_joints_in = num_joints_in
        self.in_features = in_features
        self.num_joints_out = weights[-1].shape[0] // 3
        self.causal = bool(causal)
        self.compute_dtype = compute_dtype
        self.kernel_sizes = [int(weight.shape[2]) for weight in weights]
        self.dilations = [int(dilation) for dilation in dilations]
        # pad[b]: frames consumed on each side by block b (0: the expand conv), as in TemporalModel.
        self.pad = [(self.kernel_sizes[0] - 1) * self.dilations[0] // 2]
        for conv_index in range(1, len(weights) - 1, 2):
            self.pad.append((self.kernel_sizes[conv_index] - 1) * self.dilations[conv_index] // 2)
        # Each weight as a matrix (C_out, width * C_in), tap-major: column block k is tap k.
        self.weight_matrices = nn.ParameterList(
            # (C_out, C_in, W) -> (C_out, W, C_in) -> (C_out, W*C_in)
            nn.Parameter(weight.detach().permute(0, 2, 1).reshape(weight.shape[0], -1).contiguous(), False)
            for weight in weights
        )
        self.biases = nn.ParameterList(nn.Parameter(bias.detach().clone(), False) for bias in biases)
        # Copies of the residual blocks' weights in the compute dtype (empty when float32).
        low_precision = compute_dtype != torch.float32
        self.block_weights_low = nn.ParameterList(
            nn.Parameter(matrix.detach().to(compute_dtype), False)
            for matrix in (self.weight_matrices[1:-1] if low_precision else [])
        )
        self.block_biases_low = nn.ParameterList(
            nn.Parameter(bias.detach().to(compute_dtype), False)
            for bias in (self.biases[1:-1] if low_precision else [])
        )

    def receptive_field(self) -> int:
        """Number of input frames that one output frame sees."""
        return 1 + 2 * sum(self.pad)

    def total_causal_shift(self) -> int:
        """Asymmetric padding offset: ``(receptive_field - 1) // 2`` when causal, else 0."""
        return sum(self.pad) if self.causal else 0

    def forward(self, keypoints_2d: torch.Tensor) -> torch.Tensor:
        """Lift 2D keypoint windows to 3D joints.

        Args:
            keypoints_2d: ``(B, T, J_in, in_features)``, ``T >= receptive_field``.

        Returns:
            ``(B, T - receptive_field + 1, J_out, 3)`` in the dtype of the float32 weights.
        """
        if keypoints_2d.ndim != 4 or keypoints_2d.shape[-2:] != (self.num_joints_in, self.in_features):
            raise ValueError(
                f"keypoints_2d must have shape (B, T, {self.num_joints_in}, {self.in_features}), "
                f"got {tuple(keypoints_2d.shape)}"
            )
        if keypoints_2d.shape[1] < self.receptive_field():
            raise ValueError(
                f"keypoints_2d has {keypoints_2d.shape[1]} frames, fewer than the receptive field of "
                f"{self.receptive_field()} frames"
            )
        batch_size, num_frames = keypoints_2d.shape[:2]
        full_dtype = self.weight_matrices[0].dtype
        # (B, T, J, F) -> (B, T, J*F)
        x = keypoints_2d.reshape(batch_size, num_frames, -1).to(full_dtype)
        x = torch.relu_(self._conv(x, self.weight_matrices[0], self.biases[0], 0))
        low_precision = len(self.block_weights_low) > 0 and self.block_weights_low[0].dtype != full_dtype
        for block_index in range(1, len(self.pad)):
            pad = self.pad[block_index]
            shift = pad if self.causal else 0
            residual = x[:, pad + shift : x.shape[1] - pad + shift]
            conv_index = 2 * block_index - 1
            if low_precision:
                y = x.to(self.block_weights_low[0].dtype)
                y = torch.relu_(
                    self._conv(
                        y, self.block_weights_low[conv_index - 1], self.block_biases_low[conv_index - 1], conv_index
                    )
                )
                y = torch.relu_(
                    self._conv(y, self.block_weights_low[conv_index], self.block_biases_low[conv_index], conv_index + 1)
                )
                x = residual + y.to(full_dtype)
            else:
                y = torch.relu_(self._conv(x, self.weight_matrices[conv_index], self.biases[conv_index], conv_index))
                y = torch.relu_(
                    self._conv(y, self.weight_matrices[conv_index + 1], self.biases[conv_index + 1], conv_index + 1)
                )
                x = y.add_(residual)
        x = self._conv(x, self.weight_matrices[-1], self.biases[-1], len(self.kernel_sizes) - 1)
        # (B, T_out, J_out*3) -> (B, T_out, J_out, 3)
        return x.reshape(batch_size, -1, self.num_joints_out, 3)

    def _conv(self, x: torch.Tensor, matrix: torch.Tensor, bias: torch.Tensor, conv_index: int) -> torch.Tensor:
        """Valid temporal convolution on time-major activations.

        Args:
            x: ``(B, T, C_in)``.
            matrix: ``(C_out, W*C_in)``, tap-major.
            bias: ``(C_out,)``.
            conv_index: which convolution (for its width and dilation).

        Returns:
            ``(B, T - (W - 1) * dilation, C_out)``.
        """
        width = self.kernel_sizes[conv_index]
        if width == 1:
            return F.linear(x, matrix, bias)
        dilation = self.dilations[conv_index]
        batch_size, num_frames, in_channels = x.shape
        out_frames = num_frames - (width - 1) * dilation
        if x.dtype != torch.float32 and x.dtype != torch.float64:
            # Low precision: one product with the frame-shifted views concatenated along channels,
            # (B, T_out, W*C_in), so the whole sum accumulates in float32 inside the kernel.
            stacked = torch.cat([x[:, tap * dilation : tap * dilation + out_frames] for tap in range(width)], dim=2)
            return F.linear(stacked, matrix, bias)
        # Full precision: accumulate the W taps in place, no concatenated copy.
        output = torch.baddbmm(bias, x[:, :out_frames], matrix[:, :in_channels].t().expand(batch_size, -1, -1))
        for tap in range(1, width):
            start = tap * dilation
            tap_matrix = matrix[:, tap * in_channels : (tap + 1) * in_channels].t()
            output.baddbmm_(x[:, start : start + out_frames], tap_matrix.expand(batch_size, -1, -1))
        return output


def fold_batchnorm(
    model: TemporalModel | TemporalModelOptimized1f,
    *,
    compute_dtype: torch.dtype = torch.float32,
) -> FoldedTemporalModel:
    """Fold every BatchNorm (running statistics) into the preceding convolution.

    ``BN(W * x) = (gamma / sqrt(var + eps)) * W * x + (beta - mean * gamma / sqrt(var + eps))``:
    the scale goes into the weights, the rest into a bias. Computed in float64, stored in the
    model's dtype. A strided :class:`TemporalModelOptimized1f` folds into the equivalent dilated
    model (their weights are interchangeable).

    Args:
        model: a trained VideoPose3D model (its training/eval mode does not matter: folding
            always uses the running statistics, i.e. evaluation behaviour).
        compute_dtype: ``torch.float32``, or ``torch.bfloat16`` for the fast approximate path.

    Returns:
        An inference-only :class:`FoldedTemporalModel` with the same outputs as ``model.eval()``.
    """
    if not isinstance(model, TemporalModel | TemporalModelOptimized1f):
        raise ValueError(
            f"fold_batchnorm expects a TemporalModel or TemporalModelOptimized1f, got {type(model).__name__}"
        )
    dtype = model.expand_conv.weight.dtype
    convs: list[nn.Conv1d] = [model.expand_conv, *[conv for conv in model.layers_conv if isinstance(conv, nn.Conv1d)]]
    norms: list[nn.BatchNorm1d] = [model.expand_bn, *[bn for bn in model.layers_bn if isinstance(bn, nn.BatchNorm1d)]]
    weights: list[torch.Tensor] = []
    biases: list[torch.Tensor] = []
    with torch.no_grad():
        for conv, norm in zip(convs, norms, strict=True):
            if norm.running_mean is None or norm.running_var is None:
                raise ValueError("fold_batchnorm needs BatchNorm running statistics (track_running_stats=True)")
            scale = norm.weight.double() / torch.sqrt(norm.running_var.double() + norm.eps)
            weights.append((conv.weight.double() * scale[:, None, None]).to(dtype))
            biases.append((norm.bias.double() - norm.running_mean.double() * scale).to(dtype))
        weights.append(model.shrink.weight.detach().clone())
        shrink_bias = model.shrink.bias
        biases.append(
            shrink_bias.detach().clone()
            if shrink_bias is not None
            else torch.zeros(model.shrink.out_channels, dtype=dtype)
        )
    # Dilations of the equivalent dilated model: 1 for the expand conv, then the product of the
    # widths so far (dense ablation models: 1 everywhere, their kernels already span the window).
    dilations = [1]
    next_dilation = model.filter_widths[0]
    for width in model.filter_widths[1:]:
        dilations += [1 if model.dense else next_dilation, 1]
        next_dilation *= width
    dilations.append(1)
    return FoldedTemporalModel(
        weights,
        biases,
        dilations,
        num_joints_in=model.num_joints_in,
        in_features=model.in_features,
        causal=model.causal,
        compute_dtype=compute_dtype,
    ).to(weights[0].device)


def cpu_supports_fast_bf16() -> bool:
    """Whether this CPU has native bfloat16 matrix units that oneDNN uses (AVX512-BF16 or AMX).

    Without them bfloat16 still runs, emulated and slower than float32.
    """
    if not torch.backends.mkldnn.is_available():
        return False
    checker = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    if checker is None:
        return False
    return bool(checker())


# ---------------------------------------------------------------------------------------------
# Reading checkpoints: architecture from the weights, numpy random states through io's allow-list.


@dataclass(frozen=True)
class TemporalArchitecture:
    """Architecture of a VideoPose3D model as read from its weights.

    Attributes:
        num_joints_in: input joints (``expand_conv`` input channels / ``in_features``).
        in_features: features per input joint (2: not recoverable from weights, given).
        num_joints_out: output joints (``shrink`` output channels / 3).
        filter_widths: convolution widths (expand conv, then the dilated conv of each block).
        channels: convolution channels.
        dense: the model uses undilated wide convolutions (given, not inferred).
    """

    num_joints_in: int
    in_features: int
    num_joints_out: int
    filter_widths: tuple[int, ...]
    channels: int
    dense: bool = False

    def receptive_field(self) -> int:
        """Product of the filter widths."""
        return int(np.prod(self.filter_widths))

    def build(self, *, causal: bool = False, dropout: float = 0.25) -> TemporalModel:
        """A :class:`TemporalModel` with this architecture (weights not loaded)."""
        return TemporalModel(
            self.num_joints_in,
            self.in_features,
            self.num_joints_out,
            list(self.filter_widths),
            causal=causal,
            dropout=dropout,
            channels=self.channels,
            dense=self.dense,
        )


def infer_temporal_architecture(
    state_dict: Mapping[str, torch.Tensor],
    *,
    in_features: int = 2,
    dense: bool = False,
) -> TemporalArchitecture:
    """Read a VideoPose3D architecture from a state dict's tensor shapes.

    ``expand_conv.weight`` is ``(C, J_in * in_features, W0)``; ``layers_conv.{2i}.weight`` is
    ``(C, C, W_i)`` (dense models: ``(C, C, (W_i - 1) * W0 * ... * W_{i-1} + 1)``);
    ``shrink.weight`` is ``(J_out * 3, C, 1)``. Causality leaves no trace in the weights, and
    whether a wide kernel is a dense ablation cannot be told apart from a wide dilated one, so
    both are arguments.

    Raises:
        ValueError: a missing key or a shape that fits no VideoPose3D model.
    """
    for key in ("expand_conv.weight", "shrink.weight"):
        if key not in state_dict:
            raise ValueError(f"not a VideoPose3D state dict: no {key!r} (keys: {', '.join(list(state_dict)[:8])}, ...)")
    expand = state_dict["expand_conv.weight"]
    shrink = state_dict["shrink.weight"]
    if expand.ndim != 3 or shrink.ndim != 3:
        raise ValueError(
            "expand_conv.weight and shrink.weight must be 3D conv weights, got "
            f"{tuple(expand.shape)} and {tuple(shrink.shape)}"
        )
    channels, input_channels, first_width = (int(size) for size in expand.shape)
    if input_channels % in_features != 0:
        raise ValueError(
            f"expand_conv.weight takes {input_channels} channels, not a multiple of in_features={in_features}"
        )
    if shrink.shape[0] % 3 != 0 or shrink.shape[1] != channels:
        raise ValueError(f"shrink.weight must be (J_out * 3, {channels}, 1), got {tuple(shrink.shape)}")
    widths = [first_width]
    dilation = first_width
    block = 0
    while f"layers_conv.{2 * block}.weight" in state_dict:
        kernel = state_dict[f"layers_conv.{2 * block}.weight"]
        if kernel.ndim != 3 or tuple(kernel.shape[:2]) != (channels, channels):
            raise ValueError(
                f"layers_conv.{2 * block}.weight must be ({channels}, {channels}, W), got {tuple(kernel.shape)}"
            )
        kernel_size = int(kernel.shape[2])
        if dense:
            if (kernel_size - 1) % dilation != 0:
                raise ValueError(
                    f"layers_conv.{2 * block}.weight has width {kernel_size}, which no dense block after a "
                    f"receptive field of {dilation} frames has"
                )
            width = (kernel_size - 1) // dilation + 1
        else:
            width = kernel_size
        widths.append(width)
        dilation *= width
        block += 1
    for width in widths:
        if width % 2 == 0:
            raise ValueError(f"VideoPose3D filter widths are odd, the weights give {widths}")
    return TemporalArchitecture(
        num_joints_in=input_channels // in_features,
        in_features=in_features,
        num_joints_out=int(shrink.shape[0]) // 3,
        filter_widths=tuple(widths),
        channels=channels,
        dense=dense,
    )


def load_lifter_checkpoint(path: str | os.PathLike[str], *, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a VideoPose3D checkpoint with weights-only unpickling.

    Official ``.bin`` files are dicts with ``model_pos``, optional ``model_traj`` (may be
    ``None``), ``epoch``, ``lr``, ``optimizer`` (an optimizer state dict), ``random_state`` and
    ``random_state_semi`` (numpy ``RandomState`` states). Only tensors, containers, numbers,
    strings and numeric numpy arrays are rebuilt; anything else is refused.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file cannot be read with weights-only semantics, or is not a dict.
    """
    return load_checkpoint(path, map_location=map_location, allow_numpy_arrays=True)


def _strip_prefix(state_dict: Mapping[str, torch.Tensor], prefix: str = "module.") -> dict[str, torch.Tensor]:
    if state_dict and all(key.startswith(prefix) for key in state_dict):
        return {key[len(prefix) :]: value for key, value in state_dict.items()}
    return dict(state_dict)


def _build_and_load(
    state_dict: Mapping[str, torch.Tensor],
    *,
    name: str,
    causal: bool,
    dense: bool,
    in_features: int,
) -> TemporalModel:
    state_dict = _strip_prefix(state_dict)
    architecture = infer_temporal_architecture(state_dict, in_features=in_features, dense=dense)
    model = architecture.build(causal=causal)
    expected = model.state_dict()
    missing = [key for key in expected if key not in state_dict and not key.endswith("num_batches_tracked")]
    unexpected = [key for key in state_dict if key not in expected]
    if missing or unexpected:
        raise ValueError(
            f"{name} does not match a VideoPose3D model with filter widths {list(architecture.filter_widths)}: "
            f"missing keys {missing[:6]}, unexpected keys {unexpected[:6]}"
        )
    for key, value in state_dict.items():
        if tuple(value.shape) != tuple(expected[key].shape):
            raise ValueError(f"{name}: {key} has shape {tuple(value.shape)}, expected {tuple(expected[key].shape)}")
    # Files from old PyTorch may lack num_batches_tracked; it only matters for momentum=None.
    filled = {key: state_dict.get(key, expected[key]) for key in expected}
    model.load_state_dict(filled, strict=True)
    return model.eval()


class Lifter(nn.Module):
    """A VideoPose3D pose model and its optional trajectory model, ready for inference.

    Args:
        pose_model: maps ``(B, T, J_in, 2)`` to root-relative joints ``(B, T - rf + 1, J, 3)``.
        trajectory: optional model with one output joint: the root position in camera space,
            ``(B, T - rf + 1, 1, 3)``; same receptive field as ``pose_model``.

    Attributes:
        receptive_field: frames one output sees (``rf``).
        num_joints: output joints ``J``; ``num_joints_in`` input joints.
        causal: whether outputs align with the last frame of their window.
    """

    def __init__(
        self,
        pose_model: TemporalModel | FoldedTemporalModel,
        trajectory: TemporalModel | FoldedTemporalModel | None = None,
    ) -> None:
        super().__init__()
        if trajectory is not None:
            if trajectory.receptive_field() != pose_model.receptive_field():
                raise ValueError(
                    f"the trajectory model's receptive field ({trajectory.receptive_field()}) differs from the "
                    f"pose model's ({pose_model.receptive_field()})"
                )
            if trajectory.num_joints_out != 1 or trajectory.num_joints_in != pose_model.num_joints_in:
                raise ValueError(
                    f"the trajectory model must map {pose_model.num_joints_in} joints to 1, "
                    f"got {trajectory.num_joints_in} -> {trajectory.num_joints_out}"
                )
        self.pose_model = pose_model
        self.trajectory = trajectory
        self.receptive_field = pose_model.receptive_field()
        self.num_joints = pose_model.num_joints_out
        self.num_joints_in = pose_model.num_joints_in
        self.in_features = pose_model.in_features
        self.causal = pose_model.causal

    def forward(self, keypoints_2d: torch.Tensor) -> torch.Tensor:
        """Root-relative 3D poses ``(B, T - rf + 1, J, 3)`` in metres from ``(B, T, J_in, 2)``."""
        return self.pose_model(keypoints_2d)

    def forward_trajectory(self, keypoints_2d: torch.Tensor) -> torch.Tensor:
        """Root positions ``(B, T - rf + 1, 1, 3)`` in camera space (metres) from ``(B, T, J_in, 2)``."""
        if self.trajectory is None:
            raise ValueError("this lifter has no trajectory model (the checkpoint held no 'model_traj')")
        return self.trajectory(keypoints_2d)

    def folded(self, *, compute_dtype: torch.dtype = torch.float32) -> Lifter:
        """A copy with BatchNorm folded (see :func:`fold_batchnorm`), for fast inference."""

        def fold(model: TemporalModel | FoldedTemporalModel) -> FoldedTemporalModel:
            if isinstance(model, FoldedTemporalModel):
                raise ValueError("this lifter is already folded")
            return fold_batchnorm(model, compute_dtype=compute_dtype)

        return Lifter(fold(self.pose_model), fold(self.trajectory) if self.trajectory is not None else None)


def load_lifter(
    path: str | os.PathLike[str],
    *,
    map_location: str | torch.device = "cpu",
    causal: bool | None = None,
    num_joints: int | None = None,
    dense: bool = False,
    in_features: int = 2,
) -> Lifter:
    """Load a VideoPose3D checkpoint (official ``.bin`` or posekit) as a :class:`Lifter`.

    The architecture (filter widths, channels, joints in and out) is read from the weights.
    Accepted contents: a dict with ``model_pos`` (and optionally ``model_traj``, which may be
    ``None``), or a bare ``model_pos`` state dict. A leading ``module.`` on every key (saved from
    ``DataParallel``) is removed.

    Args:
        path: checkpoint file.
        map_location: device for the tensors.
        causal: whether the model was trained causal. Weights do not record it: ``None`` uses
            the checkpoint's ``causal`` entry when present (posekit checkpoints write one) and
            otherwise ``False`` (official files; pass ``True`` for the official causal models).
        num_joints: when given, the number of output joints expected; another count raises.
        dense: the checkpoint is the paper's dense-convolution ablation.
        in_features: features per input joint (2).

    Returns:
        A :class:`Lifter` in evaluation mode.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: unreadable file, not a VideoPose3D checkpoint, keys or shapes that do not
            match, a trajectory model that does not fit the pose model, or ``num_joints``
            different from the checkpoint's.
    """
    checkpoint = load_lifter_checkpoint(path, map_location=map_location)
    if "model_pos" in checkpoint:
        pose_state = checkpoint["model_pos"]
        trajectory_state = checkpoint.get("model_traj")
    elif "expand_conv.weight" in checkpoint or "module.expand_conv.weight" in checkpoint:
        pose_state, trajectory_state = checkpoint, None
    else:
        raise ValueError(
            f"{os.fspath(path)!r} is not a VideoPose3D checkpoint: expected a 'model_pos' entry, got keys "
            f"{sorted(checkpoint)[:8]}"
        )
    if not isinstance(pose_state, Mapping):
        raise ValueError(f"{os.fspath(path)!r}: 'model_pos' must be a state dict, got {type(pose_state).__name__}")
    if causal is None:
        causal = bool(checkpoint.get("causal", False))
    pose_model = _build_and_load(
        pose_state, name=f"{os.fspath(path)!r} model_pos", causal=causal, dense=dense, in_features=in_features
    )
    if num_joints is not None and pose_model.num_joints_out != num_joints:
        raise ValueError(
            f"{os.fspath(path)!r} predicts {pose_model.num_joints_out} joints (shrink.weight has "
            f"{pose_model.num_joints_out * 3} outputs), but {num_joints} joints were requested"
        )
    trajectory_model = None
    if trajectory_state is not None:
        if not isinstance(trajectory_state, Mapping):
            raise ValueError(
                f"{os.fspath(path)!r}: 'model_traj' must be a state dict, got {type(trajectory_state).__name__}"
            )
        trajectory_model = _build_and_load(
            trajectory_state,
            name=f"{os.fspath(path)!r} model_traj",
            causal=causal,
            dense=dense,
            in_features=in_features,
        )
    return Lifter(pose_model, trajectory_model).eval()


# ---------------------------------------------------------------------------------------------
# Whole sequences: official evaluation padding, chunks overlapping by the receptive field.

SequenceModel = Lifter | TemporalModel | FoldedTemporalModel


def _model_facts(model: SequenceModel) -> tuple[nn.Module, int, bool, int, int, int]:
    """(callable module, receptive field, causal, J_in, in_features, J_out) of any lifting model."""
    if isinstance(model, Lifter):
        return (
            model.pose_model,
            model.receptive_field,
            model.causal,
            model.num_joints_in,
            model.in_features,
            model.num_joints,
        )
    if isinstance(model, TemporalModel | FoldedTemporalModel):
        return (
            model,
            model.receptive_field(),
            model.causal,
            model.num_joints_in,
            model.in_features,
            model.num_joints_out,
        )
    raise ValueError(f"expected a Lifter, TemporalModel or FoldedTemporalModel, got {type(model).__name__}")


def _check_flip_indices(name: str, indices: Sequence[int], num_joints: int) -> list[int]:
    values = [int(index) for index in indices]
    for index in values:
        if not 0 <= index < num_joints:
            raise ValueError(f"{name} must index joints 0..{num_joints - 1}, got {values}")
    return values


def _chunk_bounds(num_outputs: int, chunk_size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, num_outputs, chunk_size):
        yield start, min(start + chunk_size, num_outputs)


def _equal_chunks(num_outputs: int, chunk_size: int) -> tuple[int, list[tuple[int, int]]]:
    """Chunk length and (compute start, write start) of equal chunks covering ``num_outputs``.

    The outputs are split into ``ceil(num_outputs / chunk_size)`` chunks of one common length
    (at most ``chunk_size``); the last chunk is moved back to end at ``num_outputs`` and only
    writes the outputs that the previous ones did not (at most a few frames of overlap). Every
    forward pass then has the same shape, so none runs on a sliver of a few frames (where
    convolution backends switch to other kernels and summation orders).
    """
    count = -(-num_outputs // chunk_size)
    length = -(-num_outputs // count)
    return length, [
        (min(write_start, num_outputs - length), write_start) for write_start in range(0, num_outputs, length)
    ]


def lift_sequence(
    model: SequenceModel,
    keypoints_2d: np.ndarray | torch.Tensor,
    *,
    chunk_size: int = 8192,
    pad: Literal["edge"] | None = "edge",
    batch_size: int = 1,
    flip_augment: bool = False,
    keypoints_left: Sequence[int] = (),
    keypoints_right: Sequence[int] = (),
    joints_left: Sequence[int] | None = None,
    joints_right: Sequence[int] | None = None,
) -> np.ndarray:
    """Lift a whole 2D keypoint sequence to 3D, as the official evaluation does, in chunks.

    The official evaluation pads the sequence with copies of its first and last frames,
    ``(rf - 1) / 2`` on each side (causal models: ``rf - 1`` on the left, none on the right), and
    runs the model once over it. Here output frames are computed ``chunk_size`` at a time, each
    chunk reading its ``chunk_size + rf - 1`` input frames (edge indices clamped, no padded copy
    of the sequence is made), so memory is bounded whatever ``T``. Each output frame is computed
    from the same input window with the same weights as in the one-pass run; the results are
    bitwise equal wherever the convolution backend sums in the same order for both lengths (the
    tests check float64 models and float32 folded models), otherwise within a few float ulps.
    All chunks have the same length (at most ``chunk_size``; the last one may overlap its
    predecessor by a few frames). Each chunk recomputes ``rf - 1`` frames of context, so keep
    ``chunk_size`` well above the receptive field (about 3% extra work at 8192 for rf 243).

    Args:
        model: a :class:`Lifter` (its pose model is used), a :class:`TemporalModel` or a
            :class:`FoldedTemporalModel`; for trajectories pass ``lifter.trajectory``.
        keypoints_2d: ``(T, J_in, 2)`` normalised 2D keypoints, finite (interpolate missing
            detections first).
        chunk_size: most output frames per chunk; memory grows with ``chunk_size + rf - 1``
            (about 16 KiB per frame for 1024 channels in float32: 8192 -> about 130 MiB).
        pad: ``"edge"`` (official) for ``T`` outputs, or ``None`` for no padding and
            ``T - rf + 1`` outputs.
        batch_size: chunks run together in one forward pass.
        flip_augment: also run the horizontally mirrored sequence (x negated, left/right
            keypoints swapped), mirror its prediction back and average (official test-time
            augmentation).
        keypoints_left, keypoints_right: input joint indices swapped by the flip.
        joints_left, joints_right: output joint indices swapped back (default: the keypoint
            lists); not used for single-joint (trajectory) outputs.

    Returns:
        ``(T, J_out, 3)`` (``(T - rf + 1, J_out, 3)`` with ``pad=None``) in the model's float
        dtype, metres.

    Raises:
        ValueError: wrong shape, non-finite keypoints, too few frames for ``pad=None``, bad
            chunk/batch sizes or flip indices.
    """
    network, receptive_field, causal, num_joints_in, in_features, num_joints_out = _model_facts(model)
    keypoints = (
        keypoints_2d.detach().cpu().numpy() if isinstance(keypoints_2d, torch.Tensor) else np.asarray(keypoints_2d)
    )
    if keypoints.ndim != 3 or keypoints.shape[1:] != (num_joints_in, in_features):
        raise ValueError(
            f"keypoints_2d must have shape (T, {num_joints_in}, {in_features}), got {tuple(keypoints.shape)}"
        )
    if not np.issubdtype(keypoints.dtype, np.floating):
        raise ValueError(f"keypoints_2d must be floating point, got dtype {keypoints.dtype}")
    if chunk_size < 1 or batch_size < 1:
        raise ValueError(f"chunk_size and batch_size must be positive, got {chunk_size} and {batch_size}")
    if pad not in ("edge", None):
        raise ValueError(f"pad must be 'edge' or None, got {pad!r}")
    num_frames = keypoints.shape[0]
    if num_frames == 0:
        raise ValueError("keypoints_2d has no frames")
    for start, stop in _chunk_bounds(num_frames, 1 << 16):
        if not np.isfinite(keypoints[start:stop]).all():
            bad_frame = start + int(np.argmax(~np.isfinite(keypoints[start:stop]).all(axis=(1, 2))))
            raise ValueError(
                f"keypoints_2d holds NaN or infinite values (first at frame {bad_frame}); interpolate missing "
                "keypoints before lifting"
            )
    half = (receptive_field - 1) // 2
    if pad == "edge":
        left_pad = half + (half if causal else 0)
        num_outputs = num_frames
    else:
        left_pad = 0
        num_outputs = num_frames - receptive_field + 1
        if num_outputs < 1:
            raise ValueError(
                f"keypoints_2d has {num_frames} frames, fewer than the receptive field of {receptive_field}; "
                "use pad='edge'"
            )
    left_list: list[int] = []
    right_list: list[int] = []
    out_left: list[int] = []
    out_right: list[int] = []
    swap_in: list[int] = []
    swap_out: list[int] = []
    if flip_augment:
        left_list = _check_flip_indices("keypoints_left", keypoints_left, num_joints_in)
        right_list = _check_flip_indices("keypoints_right", keypoints_right, num_joints_in)
        if num_joints_out > 1:  # a single output joint (trajectory) has nothing to swap back
            out_left = _check_flip_indices(
                "joints_left", left_list if joints_left is None else joints_left, num_joints_out
            )
            out_right = _check_flip_indices(
                "joints_right", right_list if joints_right is None else joints_right, num_joints_out
            )
        if len(left_list) != len(right_list) or len(out_left) != len(out_right):
            raise ValueError(
                f"left and right joint lists must pair up, got {len(left_list)} and {len(right_list)} keypoints, "
                f"{len(out_left)} and {len(out_right)} joints"
            )
        swap_in = left_list + right_list
        swap_out = out_left + out_right

    parameter = next(network.parameters())
    dtype, device = parameter.dtype, parameter.device
    numpy_dtype = torch.empty((), dtype=dtype).numpy().dtype
    output = np.empty((num_outputs, num_joints_out, 3), dtype=numpy_dtype)
    was_training = network.training
    network.eval()
    try:
        with torch.inference_mode():
            length, chunks = _equal_chunks(num_outputs, chunk_size)
            for group_start in range(0, len(chunks), batch_size):
                group = chunks[group_start : group_start + batch_size]
                windows = []
                for compute_start, _ in group:
                    # Input frames of outputs [s, s + length): padded frames [s, s + length + rf - 1).
                    frame_indices = np.arange(
                        compute_start - left_pad, compute_start + length + receptive_field - 1 - left_pad
                    )
                    windows.append(keypoints[np.clip(frame_indices, 0, num_frames - 1)])
                # (G, length + rf - 1, J_in, F)
                inputs = torch.from_numpy(np.stack(windows).astype(numpy_dtype, copy=False)).to(device)
                if flip_augment:
                    flipped = inputs.clone()
                    flipped[..., 0] *= -1
                    flipped[:, :, swap_in] = flipped[:, :, right_list + left_list]
                    # (G, ...) -> (2G, ...): originals first, mirrored copies after
                    inputs = torch.cat([inputs, flipped], dim=0)
                # (G or 2G, length, J_out, 3)
                predictions = network(inputs)
                if flip_augment:
                    count = len(group)
                    mirrored = predictions[count:].clone()
                    mirrored[..., 0] *= -1
                    if num_joints_out > 1:
                        mirrored[:, :, swap_out] = mirrored[:, :, out_right + out_left]
                    # (2, G, length, J, 3) -> (G, length, J, 3): mean of the pair, as the official evaluation
                    predictions = torch.mean(torch.stack([predictions[:count], mirrored]), dim=0)
                for (compute_start, write_start), prediction in zip(group, predictions, strict=True):
                    output[write_start : compute_start + length] = (
                        prediction[write_start - compute_start :].cpu().numpy()
                    )
    finally:
        network.train(was_training)
    return output
