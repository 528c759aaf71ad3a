"""Reading JSON files with one clear sentence for every failure.

Every JSON file posekit reads (COCO annotations and results, detections, MPII annotations,
prediction files) goes through :func:`load_json`, so a missing or broken file is reported the same
way everywhere: what the file was for, its path and what went wrong.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["load_json"]


def load_json(path: str | os.PathLike[str], what: str) -> Any:
    """Read a JSON file, turning every failure into one clear sentence.

    Args:
        path: the file.
        what: what the file is, for the messages (``"ground-truth"``, ``"detections"``, ...).

    Returns:
        The decoded JSON value.

    Raises:
        FileNotFoundError: the file does not exist (an ``OSError``).
        OSError: the file cannot be read.
        ValueError: the file is not UTF-8 text or not valid JSON.
    """
    file_path = Path(path)
    try:
        text = file_path.read_text(encoding="utf-8")
    except OSError as error:
        reason = error.strerror or type(error).__name__
        message = f"cannot read {what} file {str(file_path)!r}: {reason}"
        if isinstance(error, FileNotFoundError):
            raise FileNotFoundError(message) from error
        raise OSError(message) from error
    except UnicodeDecodeError as error:
        raise ValueError(f"{what} file {str(file_path)!r} is not UTF-8 text: {error.reason}") from error
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{what} file {str(file_path)!r} is not valid JSON ({error.msg} at line {error.lineno})"
        ) from error
