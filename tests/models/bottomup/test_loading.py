"""Tests of posekit.models.bottomup.loading: official and posekit checkpoint layouts, and bad checkpoints.

The official layouts are those the official code writes (``tools/dist_train.py``, ``lib/utils/utils.py``):
a plain state dict (model zoo, ``model_best.pth.tar``, ``final_state*.pth.tar``), ``checkpoint.pth.tar``
with DDP ``module.`` prefixes under ``state_dict``, and the FP16 runs' ``1.`` prefix and half weights.
They are written here from a tiny posekit model renamed to the official names (the names themselves
are checked against the official network in ``tests/models/test_official_parity.py``).
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest
import torch

from posekit.io.checkpoint import CHECKPOINT_FORMAT
from posekit.models.bottomup import HigherHRNet, load_bottomup_model
from posekit.models.registry import get_model

TINY: dict[str, Any] = {"num_modules": (1, 1, 1), "num_blocks": 1, "stem_channels": 8, "num_basic_blocks": 1}


def tiny(name: str = "higherhrnet_w32_512", **overrides: Any) -> HigherHRNet:
    """A variant with a tiny trunk, random BatchNorm statistics (so that a wrong load shows), eval mode."""
    torch.manual_seed(0)
    model = get_model(name, **{"width": 8, **TINY, **overrides})
    assert isinstance(model, HigherHRNet)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                assert module.running_mean is not None and module.running_var is not None
                module.running_mean.normal_(0.0, 0.1)
                module.running_var.uniform_(0.5, 1.5)
            if isinstance(module, torch.nn.Conv2d | torch.nn.ConvTranspose2d):
                module.weight.normal_(0.0, 0.2)
    return model.eval()


def official_names(model: HigherHRNet) -> dict[str, torch.Tensor]:
    """The model's weights under the official names (the trunk at the top level)."""
    return {key.removeprefix("backbone."): tensor.clone() for key, tensor in model.state_dict().items()}


def outputs(model: HigherHRNet) -> list[torch.Tensor]:
    torch.manual_seed(1)
    with torch.no_grad():
        return list(model(torch.randn(1, 3, 64, 64)))


def assert_same_outputs(loaded: HigherHRNet, source: HigherHRNet, atol: float = 0.0) -> None:
    for mine, theirs in zip(outputs(loaded), outputs(source), strict=True):
        assert torch.allclose(mine, theirs, atol=atol, rtol=0.0)


def test_official_model_zoo_and_training_checkpoints(tmp_path: Path) -> None:
    source = tiny()
    zoo = tmp_path / "pose_higher_hrnet_w32_512.pth"
    torch.save(official_names(source), zoo)
    training = tmp_path / "checkpoint.pth.tar"
    torch.save(
        {
            "epoch": 300,
            "model": "pose_higher_hrnet",
            "state_dict": {f"module.{key}": tensor for key, tensor in official_names(source).items()},
            "best_state_dict": official_names(source),
            "perf": 299,
            "optimizer": torch.optim.Adam(source.parameters(), lr=1.5e-3).state_dict(),
        },
        training,
    )
    for path in (zoo, training):
        model = load_bottomup_model("higherhrnet_w32_512", path, width=8, **TINY)
        assert not model.training and model.skeleton == "coco"
        assert_same_outputs(model, source)
        assert_same_outputs(get_model("higherhrnet_w32_512", weights=str(path), width=8, **TINY).eval(), source)


def test_official_fp16_final_state_loads_in_float32(tmp_path: Path) -> None:
    source = tiny()
    # network_to_half: Sequential(tofp16(), model.half()) with BatchNorm kept in float32
    half = {f"1.{key}": tensor.half() if "bn" not in key else tensor for key, tensor in official_names(source).items()}
    path = tmp_path / "final_state0.pth.tar"
    torch.save(half, path)
    model = load_bottomup_model("higherhrnet_w32_512", path, width=8, **TINY)
    assert next(model.parameters()).dtype == torch.float32
    scale = max(float(output.abs().max()) for output in outputs(source))
    assert_same_outputs(model, source, atol=0.05 * scale)  # the weights were rounded to float16


class DynamicLossScaler:  # stands for the official fp16_utils.loss_scaler.DynamicLossScaler
    def __init__(self) -> None:
        self.cur_scale = 2.0**16


def test_official_fp16_training_checkpoint_names_the_weights_only_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = types.ModuleType("fp16_utils.loss_scaler")
    DynamicLossScaler.__module__ = "fp16_utils.loss_scaler"
    module.DynamicLossScaler = DynamicLossScaler  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fp16_utils", types.ModuleType("fp16_utils"))
    monkeypatch.setitem(sys.modules, "fp16_utils.loss_scaler", module)
    path = tmp_path / "checkpoint.pth.tar"
    torch.save({"state_dict": official_names(tiny()), "optimizer": {"loss_scaler": DynamicLossScaler()}}, path)
    with pytest.raises(ValueError, match="official FP16 training checkpoint.*model_best.pth.tar") as error:
        load_bottomup_model("higherhrnet_w32_512", path, width=8, **TINY)
    assert str(path) in str(error.value)


def test_posekit_checkpoint_carries_its_model_and_skeleton(tmp_path: Path) -> None:
    source = tiny("higherhrnet_w16_256", skeleton="crowdpose", width=16)
    kwargs = {"skeleton": "crowdpose", **TINY, "num_modules": [1, 1, 1]}
    path = tmp_path / "best.pt"
    torch.save(
        {
            "format": CHECKPOINT_FORMAT,
            "model": source.state_dict(),
            "config": {"model": {"name": "higherhrnet_w16_256", "kwargs": kwargs}, "data": {"skeleton": "crowdpose"}},
        },
        path,
    )
    model = load_bottomup_model("higherhrnet_w16_256", path)  # the architecture comes from the config
    assert model.num_joints == 14 and model.skeleton == "crowdpose"
    assert_same_outputs(model, source)
    with pytest.raises(ValueError, match="trained as 'higherhrnet_w16_256', not 'higherhrnet_w32_512'"):
        load_bottomup_model("higherhrnet_w32_512", path)


def test_wrong_joint_count_names_the_variant_to_use(tmp_path: Path) -> None:
    path = tmp_path / "pose_higher_hrnet_w32_512_crowdpose.pth"
    torch.save(official_names(tiny("higherhrnet_w32_512_crowdpose")), path)
    expected = "has 14 joints; higherhrnet_w32_512 expects 17 — use higherhrnet_w32_512_crowdpose"
    with pytest.raises(ValueError, match=expected) as error:
        load_bottomup_model("higherhrnet_w32_512", path, width=8, **TINY)
    assert str(error.value).startswith(f"{path}: ")
    with pytest.raises(ValueError, match=expected) as error:
        get_model("higherhrnet_w32_512", weights=str(path), width=8, **TINY)
    assert str(error.value).startswith(f"{path}: ")


def test_wrong_width_and_architecture_are_one_sentence(tmp_path: Path) -> None:
    wide = tmp_path / "w16.pth"
    torch.save(official_names(tiny("higherhrnet_w16_256", width=16)), wide)
    with pytest.raises(
        ValueError, match="has an HRNet-W16 trunk; higherhrnet_w32_512 expects W8 — use higherhrnet_w16_256"
    ):
        load_bottomup_model("higherhrnet_w32_512", wide, width=8, **TINY)
    torch.save(official_names(tiny("higherhrnet_w48_640_crowdpose", width=16)), wide)
    with pytest.raises(ValueError, match="has 14 joints and an HRNet-W16 trunk; .* expects 17 and W8 — build it with"):
        load_bottomup_model("higherhrnet_w32_512", wide, width=8, **TINY)
    top_down = tmp_path / "pose_hrnet_w32_256x192.pth"
    hrnet = get_model("hrnet_w16_128x96")
    torch.save({key.removeprefix("backbone."): tensor for key, tensor in hrnet.state_dict().items()}, top_down)
    with pytest.raises(ValueError, match="not a HigherHRNet checkpoint: .*top-down HRNet") as error:
        load_bottomup_model("higherhrnet_w32_512", top_down)
    assert str(error.value).startswith(f"{top_down}: ") and "\n" not in str(error.value)


def test_missing_and_unexpected_keys_are_listed(tmp_path: Path) -> None:
    state = official_names(tiny())
    del state["deconv_layers.0.1.0.conv2.weight"]
    state["deconv_layers.0.9.0.conv1.weight"] = torch.zeros(8, 8, 3, 3)
    path = tmp_path / "edited.pth"
    torch.save(state, path)
    with pytest.raises(
        ValueError, match=r"1 missing key\(s\): deconv_layers.0.1.0.conv2.weight; 1 unexpected"
    ) as error:
        load_bottomup_model("higherhrnet_w32_512", path, width=8, **TINY)
    assert str(error.value).startswith(f"{path}: weights do not match HigherHRNet")


def test_names_and_missing_files() -> None:
    with pytest.raises(ValueError, match="did you mean 'higherhrnet_w32_512'"):
        load_bottomup_model("higherhrnet_w32_51", None)
    with pytest.raises(ValueError, match="'hrnet_w32_256x192' is not a bottom-up model"):
        load_bottomup_model("hrnet_w32_256x192", None)
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        load_bottomup_model("higherhrnet_w16_256", "/nonexistent/pose_higher_hrnet.pth")
    model = load_bottomup_model("higherhrnet_w16_256", None, device="cpu")
    assert not model.training and model.skeleton == "coco"
