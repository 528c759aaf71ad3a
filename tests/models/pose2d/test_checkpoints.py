"""Official checkpoint formats load through get_model(name, weights=PATH); mismatches give clear errors.

The checkpoints are made here, in the official formats and with the official key names (the
trunk at the top level for HRNet / SimpleBaseline, ``model.module.`` prefixes and always-present
``skip_layer`` weights for the hourglass), from a randomly initialised posekit model.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import torch

from posekit.models.pose2d.base import Pose2DModel
from posekit.models.registry import get_model

for _module in ("simplebaseline", "hrnet", "stacked_hourglass"):
    importlib.import_module(f"posekit.models.pose2d.{_module}")


def randomised(name: str) -> Pose2DModel:
    torch.manual_seed(1)
    model = get_model(name)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.1)  # type: ignore[union-attr]
                module.running_var.uniform_(0.5, 1.5)  # type: ignore[union-attr]
                module.bias.normal_(0, 0.1)
    assert isinstance(model, Pose2DModel)
    return model.eval()


def official_names(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """posekit HRNet / SimpleBaseline names -> official names (trunk at the top level)."""
    return {name.removeprefix("backbone."): tensor for name, tensor in state.items()}


def outputs_equal(first: torch.nn.Module, second: torch.nn.Module, input_size: tuple[int, int]) -> None:
    images = torch.randn(1, 3, input_size[1], input_size[0])
    with torch.no_grad():
        torch.testing.assert_close(first(images), second.eval()(images), rtol=0, atol=0)


@pytest.mark.parametrize("name", ["hrnet_w16_128x96", "simplebaseline_res18_128x96"])
def test_official_plain_and_training_checkpoints_load(name: str, tmp_path: Path) -> None:
    source = randomised(name)
    official = official_names(source.state_dict())
    assert "conv1.weight" in official and "final_layer.weight" in official
    plain = tmp_path / "model_zoo.pth"
    torch.save(official, plain)  # the model-zoo files: a plain state dict
    training = tmp_path / "checkpoint.pth"
    torch.save(  # the training checkpoint: DataParallel prefixes under "state_dict"
        {
            "epoch": 3,
            "model": "pose_hrnet",
            "state_dict": {f"module.{key}": value for key, value in official.items()},
            "perf": 0.5,
        },
        training,
    )
    for path in (plain, training):
        outputs_equal(source, get_model(name, weights=str(path)), source.input_size)


def test_official_hourglass_checkpoint_loads(tmp_path: Path) -> None:
    source = randomised("hourglass_2stack_128x128")
    state = source.state_dict()
    # the official Residual always builds skip_layer; add the unused ones as the official file has them
    unused = {
        "hgs.0.0.up1.skip_layer.conv.weight": torch.randn(64, 64, 1, 1),
        "hgs.0.0.up1.skip_layer.conv.bias": torch.randn(64),
    }
    official = {f"model.module.{key}": value for key, value in {**state, **unused}.items()}
    path = tmp_path / "checkpoint.pt"
    torch.save({"state_dict": official, "optimizer": {"state": {}, "param_groups": []}, "epoch": 10}, path)
    outputs_equal(source, get_model("hourglass_2stack_128x128", weights=str(path)), source.input_size)


def test_missing_and_unexpected_keys_are_named(tmp_path: Path) -> None:
    official = official_names(randomised("simplebaseline_res18_128x96").state_dict())
    missing = dict(official)
    del missing["final_layer.weight"]
    torch.save(missing, tmp_path / "missing.pth")
    with pytest.raises(ValueError, match=r"missing key\(s\): final_layer\.weight"):
        get_model("simplebaseline_res18_128x96", weights=str(tmp_path / "missing.pth"))
    unexpected = {**official, "deconv_layers.9.weight": torch.zeros(3)}
    torch.save(unexpected, tmp_path / "unexpected.pth")
    with pytest.raises(ValueError, match=r"unexpected key\(s\): deconv_layers\.9\.weight"):
        get_model("simplebaseline_res18_128x96", weights=str(tmp_path / "unexpected.pth"))
    # an HRNet file given to a SimpleBaseline model: shape and name mismatches, one message
    torch.save(official_names(randomised("hrnet_w16_128x96").state_dict()), tmp_path / "hrnet.pth")
    with pytest.raises(ValueError, match="weights do not match SimpleBaseline"):
        get_model("simplebaseline_res18_128x96", weights=str(tmp_path / "hrnet.pth"))


def test_remap_is_idempotent_on_posekit_names() -> None:
    model = randomised("hrnet_w16_128x96")
    state = model.state_dict()
    assert list(model.remap_state_dict(dict(state))) == list(state)  # type: ignore[operator]
