"""The one numpy/torch dispatch layer of posekit, so that each array function is written once.

Every helper takes arrays of one kind (all numpy or all torch) and returns the same kind. The
type variable ``ArrayT`` is constrained to ``np.ndarray`` and ``torch.Tensor``; mypy checks every
function that uses it once per kind. Used by :mod:`posekit.geometry`, :mod:`posekit.metrics` and
:mod:`posekit.codecs` (import it as ``from posekit.geometry import array_api as xp``). torch is
imported only when a caller has already imported it or passes tensors (see ``_LazyTorch``).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

if TYPE_CHECKING:
    import torch
else:

    class _NeverATensor:
        """Stands in for ``torch.Tensor`` while torch is not imported: nothing is an instance."""

    class _LazyTorch:
        """``torch``, imported on first real use.

        ``posekit.geometry`` serves numpy-only callers (the image and video CLI) that should not pay
        torch's import time. Until some other code has imported torch no value can be a tensor, so
        ``torch.Tensor`` checks answer without importing it; any other attribute imports torch.
        """

        def __getattr__(self, name: str) -> Any:
            module = sys.modules.get("torch")
            if name == "Tensor" and module is None:
                return _NeverATensor
            return getattr(module if module is not None else importlib.import_module("torch"), name)

    torch = _LazyTorch()

ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)


def is_tensor(value: object) -> bool:
    """True when ``value`` is a torch tensor."""
    return isinstance(value, torch.Tensor)


def as_float_array(value: ArrayT) -> ArrayT:
    """Return ``value`` as a floating array of its own kind.

    numpy: array-likes (lists, tuples, scalars) become ndarrays; integer and boolean arrays become
    float64; float16/32/64 are kept. torch: integer and boolean tensors become the default float
    dtype; floating tensors are returned unchanged (same object, so gradients flow).
    """
    if isinstance(value, torch.Tensor):
        if value.is_floating_point():
            return value
        return value.to(torch.get_default_dtype())
    array = np.asarray(value)
    if not np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float64)
    return array


def like(values: Any, reference: ArrayT) -> ArrayT:
    """Constant array built from ``values`` with the kind, dtype and device of ``reference``."""
    if isinstance(reference, torch.Tensor):
        if isinstance(values, torch.Tensor):
            return values.to(dtype=reference.dtype, device=reference.device)
        array = np.asarray(values)
        if not array.flags.writeable:  # torch warns on read-only buffers (e.g. Camera fields)
            array = array.copy()
        return torch.as_tensor(array, dtype=reference.dtype, device=reference.device)
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=reference.dtype)


def same_kind(values: Any, reference: ArrayT) -> ArrayT:
    """``values`` as an array of the kind (and device) of ``reference``, keeping its own dtype."""
    if isinstance(reference, torch.Tensor):
        if isinstance(values, torch.Tensor):
            return values.to(device=reference.device)
        return torch.as_tensor(np.asarray(values), device=reference.device)
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    return np.asarray(values)


def stack(arrays: Sequence[ArrayT], axis: int) -> ArrayT:
    """``np.stack`` / ``torch.stack``."""
    first = arrays[0]
    if isinstance(first, torch.Tensor):
        return torch.stack(list(arrays), dim=axis)
    return np.stack(arrays, axis=axis)


def concatenate(arrays: Sequence[ArrayT], axis: int) -> ArrayT:
    """``np.concatenate`` / ``torch.cat``."""
    first = arrays[0]
    if isinstance(first, torch.Tensor):
        return torch.cat(list(arrays), dim=axis)
    return np.concatenate(arrays, axis=axis)


def sqrt(value: ArrayT) -> ArrayT:
    """Element-wise square root."""
    if isinstance(value, torch.Tensor):
        return torch.sqrt(value)
    return np.sqrt(value)


def sin(value: ArrayT) -> ArrayT:
    """Element-wise sine."""
    if isinstance(value, torch.Tensor):
        return torch.sin(value)
    return np.sin(value)


def cos(value: ArrayT) -> ArrayT:
    """Element-wise cosine."""
    if isinstance(value, torch.Tensor):
        return torch.cos(value)
    return np.cos(value)


def atan2(y: ArrayT, x: ArrayT) -> ArrayT:
    """Element-wise ``atan2(y, x)``."""
    if isinstance(y, torch.Tensor):
        return torch.atan2(y, x)
    return np.arctan2(y, x)


def clip(value: ArrayT, minimum: float | None = None, maximum: float | None = None) -> ArrayT:
    """Clamp to ``[minimum, maximum]`` (either bound may be None)."""
    if isinstance(value, torch.Tensor):
        return torch.clamp(value, min=minimum, max=maximum)
    return np.clip(value, minimum, maximum)


def where(condition: ArrayT, if_true: ArrayT, if_false: ArrayT) -> ArrayT:
    """Element-wise select (all three broadcast)."""
    if isinstance(if_true, torch.Tensor):
        return torch.where(condition, if_true, if_false)
    return np.where(condition, if_true, if_false)


def cross(a: ArrayT, b: ArrayT) -> ArrayT:
    """Cross product over the last axis (broadcasting)."""
    if isinstance(a, torch.Tensor):
        a, b = torch.broadcast_tensors(a, b)
        return torch.linalg.cross(a, b, dim=-1)
    return np.cross(a, b, axis=-1)


def mean(value: ArrayT, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> ArrayT:
    """Mean over ``axis`` (``None``: everything); numpy gives a 0-d array, not a numpy scalar."""
    if isinstance(value, torch.Tensor):
        return value.mean() if axis is None else value.mean(dim=axis, keepdim=keepdims)
    return np.asarray(value.mean(axis=axis, keepdims=keepdims))


def diff(value: ArrayT, axis: int) -> ArrayT:
    """First difference along ``axis``."""
    if isinstance(value, torch.Tensor):
        return torch.diff(value, dim=axis)
    return np.diff(value, axis=axis)


def scalar_like(number: float, reference: ArrayT) -> ArrayT:
    """0-d array holding ``number`` with the kind, dtype and device of ``reference``."""
    if isinstance(reference, torch.Tensor):
        return torch.full((), number, dtype=reference.dtype, device=reference.device)
    return np.asarray(number, dtype=reference.dtype)


def mask_like(mask: Any, reference: ArrayT) -> ArrayT:
    """Boolean mask (``mask > 0`` unless already boolean tensors) of the kind and device of ``reference``."""
    if isinstance(reference, torch.Tensor):
        if isinstance(mask, torch.Tensor):
            return mask.to(device=reference.device).bool()
        return torch.as_tensor(np.asarray(mask) > 0, device=reference.device)
    if isinstance(mask, torch.Tensor):
        mask = mask.detach().cpu().numpy()
    return np.asarray(mask) > 0


def to_numpy(value: Any) -> np.ndarray:
    """``value`` as a numpy array (tensors are detached and moved to the CPU)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def sum_(value: ArrayT, axis: int | tuple[int, ...], keepdims: bool = False) -> ArrayT:
    """Sum over ``axis``."""
    if isinstance(value, torch.Tensor):
        return torch.sum(value, dim=axis, keepdim=keepdims)
    return np.sum(value, axis=axis, keepdims=keepdims)


def norm(value: ArrayT, keepdims: bool = False) -> ArrayT:
    """Euclidean norm over the last axis."""
    if isinstance(value, torch.Tensor):
        return torch.linalg.vector_norm(value, dim=-1, keepdim=keepdims)
    return np.linalg.norm(value, axis=-1, keepdims=keepdims)


def swap_last(value: ArrayT) -> ArrayT:
    """Transpose the last two axes: ``(..., a, b) -> (..., b, a)``."""
    if isinstance(value, torch.Tensor):
        return value.transpose(-1, -2)
    return np.swapaxes(value, -1, -2)


def broadcast_to(value: ArrayT, shape: tuple[int, ...]) -> ArrayT:
    """Broadcast (a view) to ``shape``."""
    if isinstance(value, torch.Tensor):
        return torch.broadcast_to(value, shape)
    return np.broadcast_to(value, shape)


def broadcast_shapes(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    """Shape that ``shapes`` broadcast to; raises ValueError when they do not."""
    return tuple(np.broadcast_shapes(*shapes))


def eye(size: int, reference: ArrayT) -> ArrayT:
    """Identity matrix with the kind, dtype and device of ``reference``."""
    if isinstance(reference, torch.Tensor):
        return torch.eye(size, dtype=reference.dtype, device=reference.device)
    return np.eye(size, dtype=reference.dtype)


def zeros_like(value: ArrayT) -> ArrayT:
    """Zeros with the shape, dtype (and device) of ``value``."""
    if isinstance(value, torch.Tensor):
        return torch.zeros_like(value)
    return np.zeros_like(value)


def ones_like(value: ArrayT) -> ArrayT:
    """Ones with the shape, dtype (and device) of ``value``."""
    if isinstance(value, torch.Tensor):
        return torch.ones_like(value)
    return np.ones_like(value)


def isfinite(value: ArrayT) -> ArrayT:
    """Element-wise finiteness test."""
    if isinstance(value, torch.Tensor):
        return torch.isfinite(value)
    return np.isfinite(value)


def all_(value: ArrayT, axis: int) -> ArrayT:
    """Logical AND over ``axis``."""
    if isinstance(value, torch.Tensor):
        return torch.all(value, dim=axis)
    return np.all(value, axis=axis)


def any_(value: ArrayT, axis: int) -> ArrayT:
    """Logical OR over ``axis``."""
    if isinstance(value, torch.Tensor):
        return torch.any(value, dim=axis)
    return np.any(value, axis=axis)


def amax(value: ArrayT, axis: int, keepdims: bool = False) -> ArrayT:
    """Maximum over ``axis``."""
    if isinstance(value, torch.Tensor):
        return torch.amax(value, dim=axis, keepdim=keepdims)
    return np.amax(value, axis=axis, keepdims=keepdims)


def amin(value: ArrayT, axis: int, keepdims: bool = False) -> ArrayT:
    """Minimum over ``axis``."""
    if isinstance(value, torch.Tensor):
        return torch.amin(value, dim=axis, keepdim=keepdims)
    return np.amin(value, axis=axis, keepdims=keepdims)


def maximum(a: ArrayT, b: ArrayT) -> ArrayT:
    """Element-wise maximum."""
    if isinstance(a, torch.Tensor):
        return torch.maximum(a, b)
    return np.maximum(a, b)


def minimum(a: ArrayT, b: ArrayT) -> ArrayT:
    """Element-wise minimum."""
    if isinstance(a, torch.Tensor):
        return torch.minimum(a, b)
    return np.minimum(a, b)


def argmax(value: ArrayT, axis: int) -> ArrayT:
    """Index of the maximum over ``axis``."""
    if isinstance(value, torch.Tensor):
        return torch.argmax(value, dim=axis)
    return np.argmax(value, axis=axis)


def det(matrix: ArrayT) -> ArrayT:
    """Determinant of ``(..., n, n)`` matrices."""
    if isinstance(matrix, torch.Tensor):
        return torch.linalg.det(matrix)
    return np.linalg.det(matrix)


def svd(matrix: ArrayT) -> tuple[ArrayT, ArrayT, ArrayT]:
    """Batched SVD ``matrix = U @ diag(S) @ Vh``; returns ``(U, S, Vh)``."""
    if isinstance(matrix, torch.Tensor):
        u, s, vh = torch.linalg.svd(matrix)
        return u, s, vh
    u_np, s_np, vh_np = np.linalg.svd(matrix)
    return u_np, s_np, vh_np


def sign(value: ArrayT) -> ArrayT:
    """Element-wise sign."""
    if isinstance(value, torch.Tensor):
        return torch.sign(value)
    return np.sign(value)


def cast_to(value: ArrayT, reference: ArrayT) -> ArrayT:
    """``value`` converted to the dtype (and device) of ``reference``."""
    if isinstance(value, torch.Tensor):
        return value.to(dtype=reference.dtype, device=reference.device)
    return value.astype(reference.dtype, copy=False)


def shape_text(value: Any) -> str:
    """Shape of ``value`` for error messages: ``(5, 17)``; ``scalar`` for 0-d or plain numbers."""
    shape = getattr(value, "shape", None)
    if shape is None:
        shape = np.shape(value)
    shape = tuple(int(size) for size in shape)
    return str(shape) if shape else "scalar"


def check_last_dims(value: Any, name: str, last: tuple[int, ...], expected: str, min_ndim: int | None = None) -> None:
    """Raise ValueError unless ``value.shape`` ends with ``last`` (and has ``min_ndim`` dims).

    Args:
        value: The array to check.
        name: Argument name used in the message.
        last: Required trailing dimensions, e.g. ``(2, 3)``.
        expected: Human-readable expected shape, e.g. ``"(..., 2, 3)"``.
        min_ndim: Minimum number of dimensions (defaults to ``len(last)``).
    """
    shape = tuple(getattr(value, "shape", np.shape(value)))
    needed = len(last) if min_ndim is None else min_ndim
    if len(shape) < needed or tuple(shape[len(shape) - len(last) :]) != last:
        raise ValueError(f"{name} must have shape {expected}, got {shape_text(value)}")
