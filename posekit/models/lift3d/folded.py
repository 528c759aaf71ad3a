"""VideoPose3D for inference only: BatchNorm folded into the convolutions, time-major matrix products.

Legend: ``B`` batch, ``T`` frames, ``J`` joints, ``C`` convolution channels.

:func:`fold_batchnorm` turns a trained :class:`~posekit.models.lift3d.videopose3d.TemporalModel`
(or its strided twin) into a :class:`FoldedTemporalModel` with the same outputs: BatchNorm folded
into the convolutions and the convolutions run as matrix products over time-major activations,
optionally in bfloat16 (``compute_dtype``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from posekit.models.lift3d.videopose3d import TemporalModel, TemporalModelOptimized1f, check_keypoints_2d

__all__ = ["FoldedTemporalModel", "fold_batchnorm"]


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
        check_keypoints_2d(keypoints_2d, self.num_joints_in, self.in_features, self.receptive_field())
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
    # Dilations of the equivalent dilated model: 1 for the expand conv, then per block the block's
    # dilation and 1 (the 1x1 conv); dense ablation models: 1 everywhere, their kernels already
    # span the window; 1 for the shrink conv.
    dilations = [1]
    for dilation in model.block_dilations[1:]:
        dilations += [1 if model.dense else dilation, 1]
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
