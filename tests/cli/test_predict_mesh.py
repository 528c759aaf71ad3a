"""`posekit predict --mesh`: the one command from a video to mesh overlays and parameters; bad input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from posekit.cli.main import main as posekit_main
from posekit.cli.predict import build_parser, options_from_args


@pytest.fixture(autouse=True)
def keep_torch_threads() -> Iterator[None]:
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_mesh_flags_reach_the_options() -> None:
    args = build_parser().parse_args(
        ["v.mp4", "--mesh", "--body-model", "SMPL_MALE.pkl", "--gender", "male", "--mesh-steps", "50", "--side-view"]
    )
    options = options_from_args(args)
    assert options.mesh and options.lift  # --mesh implies --lift
    assert (options.body_model, options.gender, options.mesh_steps, options.side_view, options.save_obj) == (
        "SMPL_MALE.pkl",
        "male",
        50,
        True,
        False,
    )


def test_wrong_smpl_file_is_one_sentence_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = tmp_path / "missing_person.png"
    status = posekit_main(
        ["predict", str(image), "--mesh", "--body-model", str(tmp_path / "SMPL_NEUTRAL.pkl"), "--out", str(tmp_path)]
    )
    captured = capsys.readouterr()
    assert status == 2
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and "SMPL_NEUTRAL.pkl" in lines[0]


def test_mesh_option_without_mesh_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = posekit_main(["predict", str(tmp_path), "--save-obj"])
    assert status == 2
    assert "--save-obj needs --mesh" in capsys.readouterr().err


def test_demo_mesh_draws_the_open_body_model_over_the_photo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("skimage")
    assert posekit_main(["demo", "--mesh", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "vis" / "astronaut_mesh.jpg").is_file()
    assert list((tmp_path / "mesh").glob("astronaut_track*.npz"))
    assert "astronaut_mesh.jpg" in capsys.readouterr().out
