import json
from pathlib import Path

import numpy as np
import pytest

from posekit.cli import main as cli_main
from posekit.cli.synth import main

pytest.importorskip("pybullet_data", reason="the DeepMimic clips come with the pybullet wheel (posekit[synth])")


def test_synth_writes_a_coco_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "synthetic"
    status = main(
        [
            "--out",
            str(out),
            "--num-train",
            "2",
            "--num-val",
            "1",
            "--seed",
            "7",
            "--image-size",
            "80",
            "64",
            "--people-per-image",
            "2",
            "2",
            "--no-sample-pictures",
            "--quiet",
        ]
    )
    assert status == 0
    printed = capsys.readouterr().out
    assert "3 images" in printed and "images/s" in printed
    train = json.loads((out / "annotations" / "train.json").read_text())
    val = json.loads((out / "annotations" / "val.json").read_text())
    assert [image["file_name"] for image in train["images"]] == ["000000000001.jpg", "000000000002.jpg"]
    assert all((image["width"], image["height"]) == (80, 64) for image in train["images"] + val["images"])
    assert (out / "images" / "val" / val["images"][0]["file_name"]).is_file()
    assert train["info"]["seed"] == 7 and train["info"]["config"]["people_per_image"] == [2, 2]
    assert {annotation["motion"]["clip"] for annotation in val["annotations"]} <= {"dance_b", "jump", "punch"}


def test_synth_bad_arguments_raise_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="people_per_image"):
        main(["--out", str(tmp_path), "--num-train", "1", "--num-val", "0", "--people-per-image", "3", "1"])
    with pytest.raises(ValueError, match="at least one image"):
        main(["--out", str(tmp_path), "--num-train", "0", "--num-val", "0"])


def test_synth_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    for option in ("--out", "--num-train", "--num-val", "--seed", "--image-size", "--people-per-image", "--workers"):
        assert option in help_text


@pytest.mark.skipif("synth" not in cli_main.COMMANDS, reason="`synth` is not yet listed in posekit.cli.main.COMMANDS")
def test_dispatcher_turns_bad_input_into_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["synth", "--out", str(tmp_path), "--num-train", "0", "--num-val", "0"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "at least one image" in error


def test_synth_mesh_writes_sequences_with_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "mesh"
    argv = ["--out", str(out), "--num-train", "1", "--num-val", "0", "--image-size", "40", "32", "--mesh"]
    status = main([*argv, "--sequence-length", "2", "--no-sample-pictures", "--no-vertices", "--quiet"])
    assert status == 0
    assert "2 images" in capsys.readouterr().out
    assert sorted(path.name for path in (out / "labels" / "train").iterdir()) == [
        "00000001_000.npz",
        "00000001_001.npz",
    ]
    with np.load(out / "labels" / "train" / "00000001_000.npz") as labels:
        assert "vertices" not in labels.files and labels["betas"].shape[1] == 16


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--mesh", "--sequence-length", "0"], "sequence_length must be at least 1"),
        (["--sequence-length", "3"], "need --mesh"),
        (["--mesh", "--workers", "2"], "--workers 2"),
        (["--mesh", "--body-model", "/nonexistent/model.npz"], "no body-model file"),
    ],
)
def test_synth_mesh_bad_options_exit_with_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    status = cli_main.main(["synth", "--out", str(tmp_path / "x"), "--num-train", "1", "--num-val", "0", *extra])
    assert status != 0
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
