"""Atomic file writes: write to a temporary file beside the target, then rename over it.

An interrupted run therefore leaves either the old file or the new one, never half of one.
Every file posekit writes (checkpoints, results JSON, ``.npz``, videos) goes through here.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success rename it to ``path``.

    The temporary name keeps the target's suffix (or ``suffix``) so that writers which pick a
    format by extension (``cv2.imwrite``, ``np.savez``, video writers) behave as for the target.
    On any exception the temporary file is removed and the target is left untouched.

    Args:
        path: final file path; its parent folder is created if needed.
        suffix: suffix for the temporary file; defaults to the target's suffix.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # The temporary name starts with "." and keeps the suffix: ".name.XXXX.ext".
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=suffix if suffix is not None else target.suffix, dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file normal permissions
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (fsynced before the rename). Returns the path."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically. Returns the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any, indent: int | None = None) -> Path:
    """Serialise ``obj`` as JSON and write it to ``path`` atomically. Returns the path."""
    return atomic_write_text(path, json.dumps(obj, indent=indent))
