"""Shared test fixtures. Tests run on CPU in seconds and need no downloads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
