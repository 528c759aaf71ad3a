"""load_json: the decoded value, and one clear sentence for a missing, non-UTF-8 or broken file."""

from __future__ import annotations

from pathlib import Path

import pytest

from posekit.io.json import load_json


def test_load_json_reads_and_explains_failures(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text('{"a": [1, 2]}', encoding="utf-8")
    assert load_json(good, "config") == {"a": [1, 2]}
    with pytest.raises(FileNotFoundError, match=r"cannot read detections file '.*missing\.json'"):
        load_json(tmp_path / "missing.json", "detections")
    with pytest.raises(OSError, match="cannot read ground-truth file"):
        load_json(tmp_path, "ground-truth")  # a folder
    (tmp_path / "latin.json").write_bytes(b'{"name": "\xe9"}')
    with pytest.raises(ValueError, match="is not UTF-8 text"):
        load_json(tmp_path / "latin.json", "predictions")
    (tmp_path / "broken.json").write_text('{"a": [1,', encoding="utf-8")
    with pytest.raises(ValueError, match=r"predictions file '.*broken\.json' is not valid JSON \(.* at line 1\)"):
        load_json(tmp_path / "broken.json", "predictions")
