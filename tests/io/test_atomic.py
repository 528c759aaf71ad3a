import json
from pathlib import Path

import pytest

from posekit.io import atomic_path, atomic_write_json


def test_atomic_write_json_round_trip(tmp_path: Path) -> None:
    target = atomic_write_json(tmp_path / "sub" / "results.json", {"a": [1, 2]})
    assert json.loads(target.read_text()) == {"a": [1, 2]}
    assert [p.name for p in target.parent.iterdir()] == ["results.json"]


def test_interrupted_write_leaves_old_file(tmp_path: Path) -> None:
    target = tmp_path / "ckpt.pt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]


def test_temporary_keeps_suffix(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "video.mp4") as tmp:
        assert tmp.suffix == ".mp4" and tmp.parent == tmp_path
        tmp.write_bytes(b"x")
    assert (tmp_path / "video.mp4").read_bytes() == b"x"
