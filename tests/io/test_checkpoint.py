"""Checkpoint saving/loading (weights only) and loading weights into models."""

from __future__ import annotations

import collections
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from posekit.io.checkpoint import extract_state_dict, load_checkpoint, load_model_weights, save_checkpoint


class Payload:
    """A custom class: torch.save pickles it, weights-only loading must refuse it."""

    def __init__(self) -> None:
        self.value = 3


class SmallNet(nn.Module):
    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3)
        self.bn = nn.BatchNorm2d(width)
        self.head = nn.Linear(width, 2)


class RenamedNet(SmallNet):
    """Translates an 'official' checkpoint whose layers are called backbone.* and fc.*."""

    def remap_state_dict(self, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        renames = {"backbone.": "conv.", "norm.": "bn.", "fc.": "head."}
        result = {}
        for name, tensor in state_dict.items():
            for old, new in renames.items():
                if name.startswith(old):
                    name = new + name[len(old) :]
            result[name] = tensor
        return result


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    state = {"model": SmallNet().state_dict(), "epoch": 3, "metrics": {"AP": 0.5}, "milestones": (1, 2), "note": None}
    save_checkpoint(tmp_path / "run" / "ckpt.pt", state)
    loaded = load_checkpoint(tmp_path / "run" / "ckpt.pt")
    assert loaded["epoch"] == 3 and loaded["metrics"] == {"AP": 0.5} and loaded["note"] is None
    for name, tensor in state["model"].items():
        assert torch.equal(loaded["model"][name], tensor)
    assert [path.name for path in (tmp_path / "run").iterdir()] == ["ckpt.pt"]


def test_failed_save_keeps_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"step": 1})
    before = path.read_bytes()
    with pytest.raises(Exception):  # noqa: B017 - whatever pickling raises for a lambda
        save_checkpoint(path, {"step": 2, "bad": lambda: None})
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_load_refuses_pickled_custom_objects(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"model": {"w": torch.ones(1)}, "payload": Payload()}, path)
    with pytest.raises(ValueError, match="not a weights-only checkpoint: it holds a pickled object of class") as error:
        load_checkpoint(path)
    assert f"class {Payload.__module__}.Payload, which posekit will not unpickle" in str(error.value)
    assert "allowlist" not in str(error.value) and "not a PyTorch" not in str(error.value)  # not torch's advice
    torch.save({"random_state": np.random.RandomState(0).get_state()[1]}, tmp_path / "numpy.pt")
    with pytest.raises(ValueError, match=r"class numpy\..*allow_numpy_arrays=True"):
        load_checkpoint(tmp_path / "numpy.pt")
    assert load_checkpoint(tmp_path / "numpy.pt", allow_numpy_arrays=True)["random_state"].shape == (624,)
    with pytest.raises(ValueError, match="evil.pt"):
        load_model_weights(nn.Linear(1, 1), path)


def test_load_reports_corrupt_truncated_foreign_and_missing_files(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "good.pt", {"w": torch.ones(1000)})
    data = (tmp_path / "good.pt").read_bytes()
    (tmp_path / "truncated.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"truncated\.pt: not a readable PyTorch checkpoint \(corrupt or truncated"):
        load_checkpoint(tmp_path / "truncated.pt")
    (tmp_path / "notes.pt").write_text("hello, not a checkpoint")
    with pytest.raises(ValueError, match=r"notes\.pt: not a"):
        load_checkpoint(tmp_path / "notes.pt")
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.pt: not a"):
        load_checkpoint(tmp_path / "empty.pt")
    torch.save(torch.ones(2), tmp_path / "tensor.pt")
    with pytest.raises(ValueError, match="expected a checkpoint dict, got Tensor"):
        load_checkpoint(tmp_path / "tensor.pt")
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "missing.pt")


def test_extract_state_dict_finds_nested_weights_and_strips_wrapper_prefixes() -> None:
    weights = {"a.weight": torch.ones(2), "a.bias": torch.zeros(2)}
    assert extract_state_dict(weights).keys() == weights.keys()
    assert extract_state_dict({"state_dict": weights, "epoch": 4}).keys() == weights.keys()  # HRNet/MMPose
    prefixed = collections.OrderedDict((f"module.{k}", v) for k, v in weights.items())  # DataParallel
    assert list(extract_state_dict({"model": prefixed})) == ["a.weight", "a.bias"]
    video_pose = {"epoch": 80, "lr": 1e-3, "model_pos": weights, "model_traj": {"t.weight": torch.ones(1)}}
    assert extract_state_dict(video_pose).keys() == weights.keys()  # VideoPose3D .bin
    assert list(extract_state_dict(video_pose, key="model_traj")) == ["t.weight"]
    assert extract_state_dict({"gen_state_dict": weights, "disc_motion_state_dict": {}}).keys() == weights.keys()
    compiled = {f"_orig_mod.{k}": v for k, v in weights.items()}
    assert extract_state_dict(compiled).keys() == weights.keys()
    mixed = {"module.a": torch.ones(1), "b": torch.ones(1)}  # not all prefixed: left alone
    assert set(extract_state_dict(mixed)) == {"module.a", "b"}
    with pytest.raises(ValueError, match="no model weights found .* its keys: epoch, optimizer"):
        extract_state_dict({"epoch": 1, "optimizer": {"state": {}}})
    with pytest.raises(ValueError, match="no key 'ema'"):
        extract_state_dict({"model": weights}, key="ema")


def test_load_model_weights_copies_values_from_a_posekit_checkpoint(tmp_path: Path) -> None:
    source = SmallNet()
    with torch.no_grad():
        source.head.weight.fill_(0.25)
    save_checkpoint(tmp_path / "best.pt", {"format": "posekit-checkpoint", "model": source.state_dict(), "epoch": 2})
    target = SmallNet()
    report = load_model_weights(target, tmp_path / "best.pt")
    assert report.ok
    for name, tensor in source.state_dict().items():
        assert torch.equal(target.state_dict()[name], tensor)


def test_load_model_weights_lists_missing_unexpected_and_mismatched_keys(tmp_path: Path) -> None:
    state = SmallNet(width=8).state_dict()  # conv/bn/head shapes differ from width 4
    del state["head.bias"]
    state["extra.weight"] = torch.ones(3)
    save_checkpoint(tmp_path / "other.pt", {"state_dict": state})
    with pytest.raises(ValueError) as error_info:
        load_model_weights(SmallNet(width=4), tmp_path / "other.pt")
    message = str(error_info.value)
    assert message.startswith(f"{tmp_path / 'other.pt'}: weights do not match SmallNet: ")
    assert "1 missing key(s): head.bias" in message
    assert "1 unexpected key(s): extra.weight" in message
    assert "conv.weight (checkpoint (8, 3, 3, 3) vs model (4, 3, 3, 3))" in message
    assert "7 shape mismatch(es)" in message and "head.weight (checkpoint (2, 8) vs model (2, 4))" in message
    assert message.count("\n") == 0


def test_long_key_lists_are_truncated() -> None:
    model = nn.Sequential(*[nn.Linear(1, 1) for _ in range(12)])
    with pytest.raises(ValueError, match=r"24 missing key\(s\): 0.weight, .*, 3.bias, \.\.\. and 16 more"):
        load_model_weights(model, {"model": {"unrelated": torch.ones(1)}})


def test_non_strict_loading_loads_what_matches_and_reports_the_rest() -> None:
    source = SmallNet()
    state = source.state_dict()
    state["head.weight"] = torch.ones(5, 4)
    target = SmallNet()
    with pytest.warns(UserWarning, match="shape mismatch"):
        report = load_model_weights(target, state, strict=False)
    assert [name for name, _, _ in report.mismatched] == ["head.weight"]
    assert torch.equal(target.conv.weight, source.conv.weight)
    assert not torch.equal(target.head.weight[:2], torch.ones(2, 4))


def test_remap_hook_translates_official_names_and_old_bn_counters_are_optional() -> None:
    source = SmallNet()
    official = {
        name.replace("conv.", "backbone.").replace("bn.", "norm.").replace("head.", "fc."): tensor
        for name, tensor in source.state_dict().items()
        if not name.endswith("num_batches_tracked")
    }
    target = RenamedNet()
    assert load_model_weights(target, {"state_dict": official}).ok
    assert torch.equal(target.conv.weight, source.conv.weight) and torch.equal(target.head.bias, source.head.bias)
    with pytest.raises(ValueError, match="unexpected key"):
        load_model_weights(SmallNet(), {"state_dict": official})  # without the hook the names do not match


def test_registry_get_model_loads_weights(tmp_path: Path) -> None:
    from posekit.models import registry

    source = SmallNet()
    save_checkpoint(tmp_path / "w.pt", {"model": source.state_dict()})
    registry.register_model("_test_checkpoint_small_net")(SmallNet)
    try:
        model = registry.get_model("_test_checkpoint_small_net", weights=str(tmp_path / "w.pt"))
        assert isinstance(model, SmallNet) and torch.equal(model.head.weight, source.head.weight)
        with pytest.raises(ValueError, match="shape mismatch"):
            registry.get_model("_test_checkpoint_small_net", weights=str(tmp_path / "w.pt"), width=6)
    finally:
        registry._REGISTRY.pop("_test_checkpoint_small_net", None)
