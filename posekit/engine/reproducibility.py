"""Seeds, determinism switches and random-number-generator states that fit in a checkpoint.

The RNG states are stored as plain Python values and tensors so that a checkpoint holding them
loads with ``torch.load(weights_only=True)`` (numpy arrays are not allowed there, so numpy's
Mersenne-Twister key is kept as an int64 tensor).
"""

from __future__ import annotations

import os
import random
from typing import Any

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, numpy's global generator and torch (CPU and every CUDA device).

    Args:
        seed: a non-negative integer below 2**32.
    """
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - the global generator is what code without its own uses
    torch.manual_seed(seed)  # also seeds every CUDA device


def configure_determinism(deterministic: bool) -> None:
    """Choose between reproducible and fast kernels.

    ``deterministic=True`` asks torch for deterministic algorithms (``warn_only``: an operation
    without a deterministic implementation, such as CUDA's nearest-upsampling backward, warns
    instead of failing), turns cuDNN autotuning off and sets ``CUBLAS_WORKSPACE_CONFIG`` (which
    must happen before the first cuBLAS call). ``False`` lets cuDNN benchmark convolution
    algorithms, which is faster for fixed input sizes but not bit-reproducible.
    """
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(deterministic, warn_only=True)
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = not deterministic


def get_rng_state(device: torch.device | None = None) -> dict[str, Any]:
    """Capture the Python, numpy, torch CPU and (for a CUDA ``device``) CUDA generator states.

    Returns:
        A dict of plain values and tensors (weights-only loadable) for :func:`set_rng_state`.
    """
    numpy_state = np.random.get_state(legacy=False)  # noqa: NPY002
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {
            "key": torch.from_numpy(numpy_state["state"]["key"].astype(np.int64)),
            "pos": int(numpy_state["state"]["pos"]),
            "has_gauss": int(numpy_state["has_gauss"]),
            "gauss": float(numpy_state["gauss"]),
        },
        "torch": torch.get_rng_state(),
    }
    if device is not None and device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict[str, Any], device: torch.device | None = None) -> None:
    """Restore the states captured by :func:`get_rng_state`."""
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    numpy_state = state["numpy"]
    np.random.set_state(  # noqa: NPY002
        {
            "bit_generator": "MT19937",
            "state": {"key": numpy_state["key"].numpy().astype(np.uint32), "pos": int(numpy_state["pos"])},
            "has_gauss": int(numpy_state["has_gauss"]),
            "gauss": float(numpy_state["gauss"]),
        }
    )
    torch.set_rng_state(state["torch"].to(torch.uint8).cpu())
    if device is not None and device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"].to(torch.uint8).cpu(), device)
