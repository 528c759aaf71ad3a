"""Typed configs: dataclasses from YAML/JSON, typed --set overrides, errors naming file and field."""

from __future__ import annotations

import dataclasses
import enum
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from posekit.config import config_to_dict, load_config, read_config_file
from posekit.engine import TrainConfig


class Flip(enum.Enum):
    NONE = "none"
    HORIZONTAL = "horizontal"


@dataclass(frozen=True)
class ModelConfig:
    name: str
    num_stages: int = 2
    widths: tuple[int, ...] = (32, 64)
    input_size: tuple[int, int] = (192, 256)
    dropout: float | None = None


@dataclass(frozen=True)
class RecipeConfig:
    model: ModelConfig
    train: TrainConfig = field(default_factory=TrainConfig)
    flip: Flip = Flip.HORIZONTAL
    codec: Literal["gaussian", "udp"] = "gaussian"
    weights: Path | None = None
    extra: dict[str, float] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)


YAML_TEXT = """
model:
  name: hrnet
  num_stages: 3
  widths: [16, 32, 64]
  input_size: [288, 384]
train:
  epochs: 210
  lr: 5e-4            # PyYAML reads this (no dot) as a string; float fields accept it
  milestones: [170, 200]
  warmup_iters: 500
  grad_clip: null
flip: horizontal
codec: udp
weights: /tmp/w.pt
extra: {sigma: 2}
tags: [a, b]
"""


@pytest.fixture
def yaml_file(tmp_path: Path) -> Path:
    pytest.importorskip("yaml")
    path = tmp_path / "recipe.yaml"
    path.write_text(YAML_TEXT)
    return path


def test_nested_config_from_yaml(yaml_file: Path) -> None:
    config = load_config(yaml_file, RecipeConfig)
    assert config.model == ModelConfig(name="hrnet", num_stages=3, widths=(16, 32, 64), input_size=(288, 384))
    assert config.train.epochs == 210 and config.train.lr == 5e-4 and config.train.milestones == (170, 200)
    assert config.train.optimizer == "adam" and config.train.grad_clip is None  # defaults kept
    assert config.flip is Flip.HORIZONTAL and config.codec == "udp" and config.weights == Path("/tmp/w.pt")
    assert config.extra == {"sigma": 2.0} and isinstance(config.extra["sigma"], float) and config.tags == ["a", "b"]


def test_configs_are_frozen_and_must_be_frozen_dataclasses(yaml_file: Path) -> None:
    config = load_config(yaml_file, RecipeConfig)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.train = TrainConfig()  # type: ignore[misc]

    @dataclass
    class Mutable:
        value: int = 1

    with pytest.raises(TypeError, match="must be a frozen dataclass"):
        load_config({}, Mutable)


def test_round_trip_through_config_to_dict_and_json(yaml_file: Path, tmp_path: Path) -> None:
    config = load_config(yaml_file, RecipeConfig)
    plain = config_to_dict(config)
    assert plain["model"]["widths"] == [16, 32, 64] and plain["flip"] == "horizontal"
    assert plain["weights"] == "/tmp/w.pt"
    (tmp_path / "saved.json").write_text(json.dumps(plain))
    assert load_config(tmp_path / "saved.json", RecipeConfig) == config


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model: {name: x, num_stages: three}", "model.num_stages: expected int, got 'three'"),
        ("model: {name: x, num_stages: 2.5}", "model.num_stages: expected int, got 2.5"),
        ("model: {name: x, num_stages: true}", "model.num_stages: expected int, got True"),
        ("model: {name: x, layers: 3}", "model.layers: unknown key; ModelConfig has fields: name, num_stages"),
        ("model: {num_stages: 3}", r"model.name: required field missing \(type str\)"),
        ("model: {name: x}\ncodec: dark", "codec: expected one of 'gaussian', 'udp', got 'dark'"),
        ("model: {name: x}\nflip: vertical", "flip: expected one of 'none', 'horizontal', got 'vertical'"),
        ("model: {name: x, input_size: [1, 2, 3]}", "model.input_size: expected 2 items"),
        ("model: {name: x, widths: [1, x]}", r"model.widths\[1\]: expected int, got 'x'"),
        ("model: {name: x}\ntrain: {progress: maybe}", "train.progress: expected bool, got 'maybe'"),
        ("model: {name: x}\ntrain: {epochs: 0}", "train: epochs must be >= 1, got 0"),
        ("model: {name: x}\ntrain: {optimizer: lion}", "train.optimizer: expected one of 'adam', 'adamw', 'sgd'"),
        ("model: [1, 2]", "model: expected a mapping for ModelConfig"),
    ],
)
def test_errors_name_the_file_and_the_field(tmp_path: Path, text: str, message: str) -> None:
    pytest.importorskip("yaml")
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=f"^{path}: {message}"):
        load_config(path, RecipeConfig)


def test_typed_overrides() -> None:
    data = {"model": {"name": "x"}}
    overrides = [
        "model.num_stages=4",
        "model.widths=8,16",
        "model.input_size=[96, 128]",
        "model.dropout=0.5",
        "train.lr=1e-3",
        "train.milestones=()",
        "train.grad_clip=none",
        "train.progress=off",
        "train.amp=bf16",
        "train.resume=auto",
        "flip=NONE",
        "codec=udp",
        'extra={"sigma": 3}',
        "tags=a,b,c",
        "weights=runs/x.pt",
    ]
    config = load_config(data, RecipeConfig, overrides)
    assert config.model.num_stages == 4 and config.model.widths == (8, 16) and config.model.input_size == (96, 128)
    assert config.model.dropout == 0.5 and config.train.lr == 1e-3 and config.train.milestones == ()
    assert config.train.grad_clip is None and config.train.progress is False and config.train.amp == "bf16"
    assert config.train.resume == "auto" and config.flip is Flip.NONE and config.codec == "udp"
    assert config.extra == {"sigma": 3.0} and config.tags == ["a", "b", "c"] and config.weights == Path("runs/x.pt")
    later = load_config(data, RecipeConfig, ["model.num_stages=4", "model.num_stages=5"])
    assert later.model.num_stages == 5  # applied in order
    assert data == {"model": {"name": "x"}}  # the caller's mapping is not modified


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.num_stages=three", "--set model.num_stages: expected int, got 'three'"),
        ("model.layers=3", "--set model.layers: unknown key 'layers'; ModelConfig has fields"),
        ("model=resnet", r"--set model: is a section \(ModelConfig\); set its fields as model.FIELD=VALUE"),
        ("model.name.first=x", "--set model.name.first: model.name is not a section"),
        ("train.progress=maybe", r"--set train.progress: expected bool \(true/false\), got 'maybe'"),
        ("codec=dark", "--set codec: expected one of 'gaussian', 'udp', got 'dark'"),
        ("model.input_size=1,2,3", "--set model.input_size: expected 2 comma-separated items"),
        ("train.lr", "override 'train.lr': expected KEY=VALUE"),
        ("train.epochs=0", "<config>: train: epochs must be >= 1"),
    ],
)
def test_override_errors_name_the_field(override: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_config({"model": {"name": "x"}}, RecipeConfig, [override])


def test_read_config_file_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="config file not found"):
        read_config_file(tmp_path / "missing.yaml")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"list\.json: the top level of a config must be a mapping, got list"):
        read_config_file(tmp_path / "list.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ValueError, match=r"broken\.json: invalid JSON"):
        read_config_file(tmp_path / "broken.json")
    (tmp_path / "empty.json").write_text("null")
    assert read_config_file(tmp_path / "empty.json") == {}


def test_yaml_never_constructs_python_objects(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    path = tmp_path / "evil.yaml"
    path.write_text("model: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(ValueError, match=r"evil\.yaml: invalid YAML"):
        read_config_file(path)
