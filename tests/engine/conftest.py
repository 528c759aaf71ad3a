"""Make ``engine_problem`` (the tiny regression problem shared with the DDP script) importable."""

from __future__ import annotations

import sys
from pathlib import Path

ENGINE_TESTS = str(Path(__file__).resolve().parent)
if ENGINE_TESTS not in sys.path:
    sys.path.insert(0, ENGINE_TESTS)
