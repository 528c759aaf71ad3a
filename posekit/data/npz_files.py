"""Reading dataset ``.npz`` files safely, with one-sentence errors (shared by the AMASS and SPIN/VIBE readers).

Numeric and string members load with ``allow_pickle=False``; a member holding pickled objects
(an ``object`` array, as some writers store lists of names) goes through
:func:`posekit.io.safe_pickle.load_npz_objects`, which rebuilds numpy arrays and plain containers
and refuses anything else.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from posekit.io.safe_pickle import load_npz_objects

__all__ = ["read_npz", "require_keys"]


def read_npz(path: str | os.PathLike[str], what: str) -> dict[str, np.ndarray]:
    """Every member of an ``.npz`` archive as an array.

    Args:
        path: the archive.
        what: what the file should be, for messages (``"an AMASS motion file"``).

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: not an ``.npz`` archive, or a member that cannot be read safely.
    """
    file_path = Path(path)
    if not file_path.is_file():
        raise FileNotFoundError(f"{file_path}: no such file (expected {what}, an .npz archive)")
    if not zipfile.is_zipfile(file_path):
        raise ValueError(f"{file_path}: not an .npz archive (expected {what})")
    try:
        with np.load(file_path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except ValueError as error:
        if "allow_pickle" not in str(error) and "Object arrays" not in str(error):
            raise ValueError(f"{file_path}: unreadable .npz member ({error}); expected {what}") from None
    objects = load_npz_objects(file_path, unwrap_objects=False)
    return {key: np.asarray(value) for key, value in objects.items()}


def require_keys(arrays: dict[str, np.ndarray], keys: Sequence[str], path: str | os.PathLike[str], what: str) -> None:
    """Raise one sentence naming the file, the missing keys and what was found.

    Raises:
        ValueError: a key of ``keys`` is not in ``arrays``.
    """
    missing = [key for key in keys if key not in arrays]
    if missing:
        found = ", ".join(sorted(arrays)) or "no arrays"
        raise ValueError(
            f"{os.fspath(path)}: missing key{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}; "
            f"{what} has {', '.join(keys)} (found: {found})"
        )
