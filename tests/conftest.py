"""Shared test fixtures. Tests run on CPU in seconds and need no downloads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# One thread per test process: the suite's tensors are small, and on a 2-core machine a second
# OpenMP thread (spin-waiting) makes small convolutions many times slower, not faster.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REPO_ROOT = Path(__file__).resolve().parents[1]


def find_shared_data() -> Path | None:
    """Locate the real sample data (``../shared/data`` beside the checkout, or $POSEKIT_SHARED_DATA)."""
    candidates = [os.environ.get("POSEKIT_SHARED_DATA", ""), str(REPO_ROOT.parent / "shared" / "data")]
    for candidate in candidates:
        if candidate and Path(candidate, "README.md").is_file():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of the real sample data; skips the test with a reason when it is absent."""
    path = find_shared_data()
    if path is None:
        pytest.skip("real sample data not found: set POSEKIT_SHARED_DATA or place it at ../shared/data")
    return path


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread() -> None:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return
    torch.set_num_threads(1)
