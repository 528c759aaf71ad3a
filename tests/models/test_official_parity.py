"""posekit agrees with the OFFICIAL implementations: stored official outputs, no checkout needed.

The fixtures in ``tests/fixtures/official/`` are *outputs* of the official code, not code: weights
in the official checkpoint layouts and the official networks' outputs on fixed inputs, saved as
plain dicts of tensors, numbers, strings and lists (``torch.load(weights_only=True)`` reads every
file). They were produced by ``benchmarks/make_parity_fixtures.py`` (not run in CI; its docstring
explains every choice), which imports the official model files from local copies at run time::

    .venv/bin/python benchmarks/make_parity_fixtures.py \\
        --hrnet-repo /tmp/official/leoxiaobin+deep-high-resolution-net.pytorch \\
        --simplebaseline-repo /tmp/official/microsoft+human-pose-estimation.pytorch \\
        --hourglass-repo /tmp/official/princeton-vl+pytorch_stacked_hourglass \\
        --videopose3d-repo /tmp/VideoPose3D \\
        --commit hrnet=6f69e4676ad8d43d0d61b64b1b9726f0c369e7b1 \\
        --commit simplebaseline=49f3f4458c9d5917c75c37a6db48c6a0d7cd89a1 \\
        --commit hourglass=ceedc14b9b8814ba641f4a00baa5d0af153588a9 \\
        --commit videopose3d=1afb1ca0f1237776518469876342fc8669d3f6a9
    .venv/bin/python benchmarks/make_parity_fixtures.py --higherhrnet-repo /tmp/hhrnet \\
        --commit higherhrnet=aa23881492ff511185acf756a2e14725cc4ab4d7   # yacs importable

Official commits: leoxiaobin/deep-high-resolution-net.pytorch 6f69e46 (``lib/models/pose_hrnet.py``),
microsoft/human-pose-estimation.pytorch 49f3f44 (``lib/models/pose_resnet.py``),
princeton-vl/pytorch_stacked_hourglass ceedc14 (``models/posenet.py``), facebookresearch/VideoPose3D
1afb1ca (``common/model.py``, ``common/generators.py``, the flip averaging of ``run.py``'s
``evaluate``). Each fixture also records its repository, commit and configuration.

What is checked, per official model (small configurations of the official code, random weights
and random BatchNorm running statistics, eval mode):

* HRNet W16 (stage modules 1, 1, 2; 4 blocks; 128x96), model-zoo plain state dict ->
  ``get_model("hrnet_w16_128x96", weights=PATH, num_modules=(1, 1, 2), num_blocks=4, stem_channels=64)``.
* SimpleBaseline ResNet-18, deconvolutions (48, 32, 24), 128x96, training ``checkpoint.pth.tar``
  (``module.`` prefixes under ``state_dict``) -> ``get_model("simplebaseline_res18_128x96", ...)``.
* Stacked Hourglass, 2 stacks of 32 channels, 128x128, ``checkpoint.pt`` (``model.module.``
  prefixes, unused ``skip_layer`` weights) -> ``get_model("hourglass_2stack_128x128", ...)``; every
  stack's heatmaps.
* VideoPose3D ``.bin`` files (widths [3, 3] with a trajectory model; [3, 3, 3] causal), read by
  :func:`posekit.models.lift3d.load_lifter`: :func:`~posekit.inference.lift_sequence` against the
  official evaluation (``UnchunkedGenerator`` edge padding, causal shift, flip averaging), the
  plain forward on windows, and the strided training model against ``TemporalModelOptimized1f``.
* HigherHRNet (HRNet/HigherHRNet-Human-Pose-Estimation aa23881, ``lib/models/pose_higher_hrnet.py``):
  the official head on a W16 trunk (model-zoo file) and a W8 network with every head key changed
  (``checkpoint.pth.tar``), loaded by :func:`~posekit.models.bottomup.load_bottomup_model`, every
  output resolution at the 2D bars; and the key names, order and shapes of every official
  experiment yaml against its registered variant (full size, meta device).

The official outputs were computed in float64 from float32 weights, so posekit in float64 must
agree to rounding: the 2D heatmaps are stored rounded to float32, hence a tolerance of 1e-6 of
their largest magnitude (rounding is <= 6e-8; measured 3e-8 to 5e-8); the VideoPose3D outputs are
stored in float64 and must agree to 1e-12 (they agree bit for bit on the machine that made them,
but another machine's convolution kernels may sum in another order). posekit in float32 is held
to float32 rounding: within twenty times the distance of the official code's own float32 run from
its float64 output (stored with each fixture: 1.5e-5, 8e-6 and 7.5e-5 of the largest heatmap
magnitude for HRNet, SimpleBaseline and the hourglass, 2e-7 to 3e-7 for VideoPose3D), and never
tighter than 1e-4: the convolution algorithm oneDNN picks (it changes with deterministic mode and
load) moved the hourglass's float32 error to 5.8e-4 once, so the float64 comparison is the strict
one. The 2D fixtures do not store the convolution kernels (the official ResNet-18 trunk
alone is 45 MB): :func:`kernel_stream` regenerates them bit for bit, and the test writes the
official-layout checkpoint file before loading it through posekit.
"""

from __future__ import annotations

import copy
import json
import lzma
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from posekit.inference import lift_sequence
from posekit.models.bottomup import VARIANTS, HigherHRNet, load_bottomup_model
from posekit.models.lift3d import load_lifter
from posekit.models.lift3d.videopose3d import TemporalModelOptimized1f
from posekit.models.pose2d.base import Pose2DModel, normalize_images
from posekit.models.registry import get_model

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "official"
FIXTURE_VERSION = 1

# Official configuration -> the posekit model variant and builder arguments that express it.
HEATMAP_MODELS: dict[str, tuple[str, dict[str, Any]]] = {
    "hrnet": ("hrnet_w16_128x96", {"num_modules": (1, 1, 2), "num_blocks": 4, "stem_channels": 64}),
    "simplebaseline": ("simplebaseline_res18_128x96", {"deconv_channels": (48, 32, 24)}),
    "hourglass": ("hourglass_2stack_128x128", {"channels": 32, "depth": 4, "stem_channels": (64, 128)}),
}
# The official checkpoint layouts: key prefix of every weight, and where the weights sit.
CHECKPOINT_LAYOUTS = {
    "hrnet": ("", None),
    "simplebaseline": ("module.", "state_dict"),
    "hourglass": ("model.module.", "state_dict"),
}

MASK64 = (1 << 64) - 1
GOLDEN64 = 0x9E3779B97F4A7C15


def splitmix64_mix(value: int) -> int:
    """The SplitMix64 output function on one 64-bit integer (Python integers, exact)."""
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & MASK64
    return value ^ (value >> 31)


def kernel_stream(seed: int, index: int, shape: tuple[int, ...], scale: float) -> torch.Tensor:
    """Kernel number ``index`` of a fixture, bit for bit as ``benchmarks/make_parity_fixtures.py`` drew it.

    SplitMix64 states from ``mix((seed << 32) + index)`` advancing by the golden-ratio increment,
    each output the mixed state (modulo 2**64); top 53 bits -> ``u`` in ``[0, 1)``; float32 of
    ``(2 u - 1) * scale``; reshaped to ``shape``.
    """
    count = math.prod(shape)
    start = np.uint64(splitmix64_mix(((seed << 32) + index) & MASK64))
    with np.errstate(over="ignore"):
        # (count,) uint64 states, arithmetic modulo 2**64
        words = start + np.arange(1, count + 1, dtype=np.uint64) * np.uint64(GOLDEN64)
        words ^= words >> np.uint64(30)
        words *= np.uint64(0xBF58476D1CE4E5B9)
        words ^= words >> np.uint64(27)
        words *= np.uint64(0x94D049BB133111EB)
        words ^= words >> np.uint64(31)
    unit = (words >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)  # 2**-53
    return torch.from_numpy(((2.0 * unit - 1.0) * scale).astype(np.float32).reshape(shape))


def test_kernel_stream_is_splitmix64() -> None:
    # Published SplitMix64 reference: state 1234567 -> first output 6457827717110365317.
    assert splitmix64_mix((1234567 + GOLDEN64) & MASK64) == 6457827717110365317
    kernel = kernel_stream(7, 3, (4, 2, 3, 3), 0.5)
    assert kernel.dtype == torch.float32 and kernel.shape == (4, 2, 3, 3)
    assert float(kernel.abs().max()) <= 0.5 and float(kernel.std()) > 0.2
    assert not torch.equal(kernel_stream(7, 4, (4, 2, 3, 3), 0.5), kernel)


def load_fixture(name: str) -> dict[str, Any]:
    fixture = torch.load(FIXTURES / name, weights_only=True)
    assert isinstance(fixture, dict)
    return fixture


def official_state_dict(fixture: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The official model's state dict (official names and order) from a 2D fixture."""
    tensors = {
        name: kernel_stream(fixture["kernel_seed"], index, tuple(shape), float(scale))
        for index, (name, shape, scale) in enumerate(
            zip(fixture["kernel_names"], fixture["kernel_shapes"], fixture["kernel_scales"].tolist(), strict=True)
        )
    }
    offset = 0
    for name, shape, dtype in zip(
        fixture["stored_names"], fixture["stored_shapes"], fixture["stored_dtypes"], strict=True
    ):
        count = math.prod(shape)
        tensors[name] = fixture["stored_values"][offset : offset + count].reshape(shape).to(getattr(torch, dtype))
        offset += count
    assert offset == fixture["stored_values"].numel()
    return {name: tensors[name] for name in fixture["state_dict_keys"]}


def official_checkpoint(fixture: dict[str, Any]) -> dict[str, Any]:
    """The official checkpoint file's contents: the state dict alone, or nested with the extras."""
    state = official_state_dict(fixture)
    key = fixture["checkpoint_state_dict_key"]
    if key is None:
        return state
    return {**fixture["checkpoint_extra"], key: state}


def float32_tolerance(fixture: dict[str, Any]) -> float:
    """Allowed float32 error relative to the largest reference magnitude (see the module docstring)."""
    return max(20.0 * fixture["official_float32_relative_error"], 1e-4)


def load_heatmap_model(family: str, directory: Path) -> Pose2DModel:
    """posekit model of ``family``: ``get_model`` on the official-layout file written in ``directory``."""
    path = directory / f"{family}_official_checkpoint.pth"
    torch.save(official_checkpoint(load_fixture(f"{family}_parity.pt")), path)
    name, arguments = HEATMAP_MODELS[family]
    model = get_model(name, weights=str(path), **arguments)
    assert isinstance(model, Pose2DModel)
    path.unlink()  # up to 46 MB (the ResNet-18 trunk)
    return model.eval()


@pytest.fixture(scope="module")
def heatmap_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Pose2DModel]:
    """Family -> posekit model loaded from the official checkpoint (each loaded once, for both dtypes)."""
    directory = tmp_path_factory.mktemp("official_checkpoints")
    return {family: load_heatmap_model(family, directory) for family in HEATMAP_MODELS}


@pytest.mark.parametrize("family", sorted(HEATMAP_MODELS))
def test_fixture_is_official_output(family: str) -> None:
    fixture = load_fixture(f"{family}_parity.pt")
    assert fixture["fixture_version"] == FIXTURE_VERSION and fixture["family"] == family
    assert len(fixture["official_commit"]) == 40
    prefix, key = CHECKPOINT_LAYOUTS[family]
    assert fixture["checkpoint_state_dict_key"] == key
    keys = fixture["state_dict_keys"]
    assert all(name.startswith(prefix) for name in keys)
    official_names = {name.removeprefix(prefix) for name in keys}
    expected = {
        "hrnet": {"conv1.weight", "layer1.0.conv3.weight", "stage4.1.fuse_layers.0.3.0.weight", "final_layer.bias"},
        "simplebaseline": {"conv1.weight", "layer4.1.bn2.running_var", "deconv_layers.3.weight", "final_layer.weight"},
        "hourglass": {
            "pre.0.conv.weight",
            "hgs.1.0.low2.low2.low2.low2.conv3.conv.bias",
            "hgs.0.0.up1.skip_layer.conv.weight",
        },
    }[family]
    assert expected <= official_names  # official trunk names at the top level, no posekit "backbone."
    assert not any(name.startswith("backbone.") for name in official_names)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("family", sorted(HEATMAP_MODELS))
def test_heatmaps_equal_official(family: str, dtype: torch.dtype, heatmap_models: dict[str, Pose2DModel]) -> None:
    fixture = load_fixture(f"{family}_parity.pt")
    model = copy.deepcopy(heatmap_models[family]).to(dtype)
    images = fixture["images"].permute(0, 3, 1, 2).to(dtype) / 255.0  # (B, H, W, 3) uint8 -> (B, 3, H, W)
    reference = fixture["official_heatmaps"].to(torch.float64)
    with torch.no_grad():
        if family == "hourglass":  # the official PoseNet returns every stack: (B, S, K, H, W)
            heatmaps = torch.stack(model.forward_stages(normalize_images(images)), dim=1)
        else:
            heatmaps = model(normalize_images(images))
    assert heatmaps.shape == reference.shape
    scale = float(reference.abs().max())
    assert scale > 1.0  # a degenerate (all-zero) reference would prove nothing
    relative = 1e-6 if dtype == torch.float64 else float32_tolerance(fixture)
    error = float((heatmaps.to(torch.float64) - reference).abs().max())
    assert error <= relative * scale, f"{family} {dtype}: max |posekit - official| = {error:.3e}, scale {scale:.3e}"


VIDEOPOSE3D_CASES = ["videopose3d_w33_traj", "videopose3d_w333_causal"]


@pytest.fixture(scope="module")
def videopose3d_parity() -> dict[str, Any]:
    return load_fixture("videopose3d_parity.pt")


def assert_close_to(actual: torch.Tensor | np.ndarray, reference: torch.Tensor, relative: float, label: str) -> None:
    actual_tensor = torch.as_tensor(actual).to(torch.float64)
    assert actual_tensor.shape == reference.shape, (
        f"{label}: shape {tuple(actual_tensor.shape)} != {tuple(reference.shape)}"
    )
    scale = float(reference.abs().max())
    assert scale > 0.5
    error = float((actual_tensor - reference).abs().max())
    assert error <= relative * scale, f"{label}: max |posekit - official| = {error:.3e}, scale {scale:.3e}"


def test_videopose3d_checkpoints_are_official_layout() -> None:
    for name in VIDEOPOSE3D_CASES:
        checkpoint = load_fixture(f"{name}.bin")
        assert {"epoch", "lr", "optimizer", "model_pos", "model_traj"} <= set(checkpoint)
        assert "expand_conv.weight" in checkpoint["model_pos"] and "layers_bn.1.running_var" in checkpoint["model_pos"]
        assert (checkpoint["model_traj"] is None) == name.endswith("causal")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", VIDEOPOSE3D_CASES)
def test_videopose3d_equals_official(name: str, dtype: torch.dtype, videopose3d_parity: dict[str, Any]) -> None:
    entry = videopose3d_parity[name]
    relative = 1e-12 if dtype == torch.float64 else float32_tolerance(entry)
    lifter = load_lifter(FIXTURES / f"{name}.bin", causal=entry["causal"]).to(dtype)
    assert lifter.receptive_field == math.prod(entry["filter_widths"])
    assert lifter.pose_model.channels == entry["channels"] and lifter.causal == entry["causal"]
    keypoints = entry["keypoints_2d"].to(dtype).numpy()  # (T, 17, 2)
    flip = {
        "flip_augment": entry["flip_augment"],
        "keypoints_left": videopose3d_parity["keypoints_left"],
        "keypoints_right": videopose3d_parity["keypoints_right"],
    }
    # The official evaluation: edge padding (all on the left when causal), optional flip averaging.
    poses = lift_sequence(lifter, keypoints, **flip)
    assert_close_to(poses, entry["official_poses"], relative, f"{name} lift_sequence")
    if "official_trajectory" in entry:
        assert lifter.trajectory is not None
        trajectory = lift_sequence(lifter.trajectory, keypoints, **flip)
        assert_close_to(trajectory, entry["official_trajectory"], relative, f"{name} trajectory")
    else:
        assert lifter.trajectory is None
    with torch.no_grad():
        # The plain network on windows longer than the receptive field (no padding).
        window_poses = lifter(entry["windows"].to(dtype))
        assert_close_to(window_poses, entry["official_window_poses"], relative, f"{name} windows")
        # The strided training model (official TemporalModelOptimized1f) shares the weights.
        strided = TemporalModelOptimized1f(
            17, 2, 17, entry["filter_widths"], causal=entry["causal"], channels=entry["channels"]
        )
        strided.load_state_dict(lifter.pose_model.state_dict())
        strided_poses = strided.to(dtype).eval()(entry["strided_windows"].to(dtype))
        assert_close_to(strided_poses, entry["official_strided_poses"], relative, f"{name} strided")


# --------------------------------------------------------------------------------------------- HigherHRNet
# Official commit: HRNet/HigherHRNet-Human-Pose-Estimation aa23881 (``lib/models/pose_higher_hrnet.py``,
# ``lib/config``, ``experiments/*/higher_hrnet/*.yaml``), written by ``make_parity_fixtures.py
# --higherhrnet-repo /tmp/hhrnet --commit higherhrnet=aa23881492ff511185acf756a2e14725cc4ab4d7`` (yacs on the path).
# Two small official networks (``official_layout``: the official head on a W16 trunk, model-zoo file;
# ``general``: every head key changed, ``checkpoint.pth.tar`` file), every output resolution compared;
# and the key/shape table of every official experiment yaml against its posekit variant.

HIGHERHRNET_LAYOUTS = {"official_layout": ("", None), "general": ("module.", "state_dict")}


@pytest.fixture(scope="module")
def higherhrnet_parity() -> dict[str, Any]:
    return load_fixture("higherhrnet_parity.pt")


def higherhrnet_arguments(entry: dict[str, Any]) -> dict[str, Any]:
    """The posekit builder arguments of a fixture case (JSON lists -> tuples)."""
    arguments = json.loads(entry["posekit_arguments"])
    return {key: tuple(value) if isinstance(value, list) else value for key, value in arguments.items()}


@pytest.fixture(scope="module")
def higherhrnet_models(
    higherhrnet_parity: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, HigherHRNet]:
    """Case -> posekit HigherHRNet loaded from the official-layout file by ``load_bottomup_model``."""
    directory = tmp_path_factory.mktemp("official_higherhrnet")
    models = {}
    for name, entry in higherhrnet_parity["cases"].items():
        path = directory / f"{name}.pth.tar"
        torch.save(official_checkpoint(entry), path)
        models[name] = load_bottomup_model(entry["posekit_model"], path, **higherhrnet_arguments(entry))
        # get_model(name, weights=...) reads the same file to the same weights
        registry_model = get_model(entry["posekit_model"], weights=str(path), **higherhrnet_arguments(entry))
        for key, tensor in registry_model.state_dict().items():
            assert torch.equal(tensor, models[name].state_dict()[key]), key
    return models


def test_higherhrnet_fixture_is_official_output(higherhrnet_parity: dict[str, Any]) -> None:
    assert higherhrnet_parity["fixture_version"] == FIXTURE_VERSION and higherhrnet_parity["family"] == "higherhrnet"
    assert higherhrnet_parity["official_commit"] == "aa23881492ff511185acf756a2e14725cc4ab4d7"
    assert set(higherhrnet_parity["cases"]) == set(HIGHERHRNET_LAYOUTS)
    for name, (prefix, key) in HIGHERHRNET_LAYOUTS.items():
        entry = higherhrnet_parity["cases"][name]
        assert entry["checkpoint_state_dict_key"] == key
        assert all(official.startswith(prefix) for official in entry["state_dict_keys"])
        names = {official.removeprefix(prefix) for official in entry["state_dict_keys"]}
        assert {"conv1.weight", "stage4.0.fuse_layers.0.3.0.weight", "final_layers.1.bias"} <= names
        assert "deconv_layers.0.0.0.weight" in names and not any(n.startswith("backbone.") for n in names)
    # the official head: a 4x4 transposed convolution over 16 + 34 channels, then 4 basic blocks
    official = higherhrnet_parity["cases"]["official_layout"]
    shapes = dict(zip(official["kernel_names"], official["kernel_shapes"], strict=True))
    assert shapes["deconv_layers.0.0.0.weight"] == [16 + 34, 16, 4, 4]
    assert "deconv_layers.0.4.0.conv2.weight" in shapes and "deconv_layers.0.5.0.conv1.weight" not in shapes


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", sorted(HIGHERHRNET_LAYOUTS))
def test_higherhrnet_outputs_equal_official(
    case: str, dtype: torch.dtype, higherhrnet_parity: dict[str, Any], higherhrnet_models: dict[str, HigherHRNet]
) -> None:
    entry = higherhrnet_parity["cases"][case]
    model = copy.deepcopy(higherhrnet_models[case]).to(dtype)
    images = entry["images"].permute(0, 3, 1, 2).to(dtype) / 255.0  # (B, H, W, 3) uint8 -> (B, 3, H, W)
    with torch.no_grad():
        outputs = model(normalize_images(images))
    references = entry["official_outputs"]
    assert len(outputs) == len(references) == len(model.with_tags)
    for index, (output, reference, official_float32) in enumerate(
        zip(outputs, references, entry["official_float32_relative_error"], strict=True)
    ):
        assert output.shape == reference.shape
        scale = float(reference.abs().max())
        assert scale > 1.0  # a degenerate (all-zero) reference would prove nothing
        relative = 1e-6 if dtype == torch.float64 else max(20.0 * official_float32, 1e-4)
        error = float((output.to(torch.float64) - reference.to(torch.float64)).abs().max())
        assert error <= relative * scale, f"{case} output {index} {dtype}: max |posekit - official| = {error:.3e}"


def test_every_official_experiment_equals_its_variant(higherhrnet_parity: dict[str, Any]) -> None:
    tables = json.loads(lzma.decompress(higherhrnet_parity["experiment_tables_xz_json"].numpy().tobytes()))
    experiments = higherhrnet_parity["experiments"]
    assert set(tables) == set(experiments) and len(experiments) == 8
    assert set(experiments.values()) == {name for name in VARIANTS if VARIANTS[name].official_config}
    with torch.device("meta"):  # full size, no memory
        models = {variant: get_model(variant) for variant in set(experiments.values())}
    for experiment, variant in experiments.items():
        config, official = tables[experiment]["config"], tables[experiment]["keys"]
        model = models[variant]
        assert isinstance(model, HigherHRNet)
        remapped = model.remap_state_dict({key: torch.empty(shape, device="meta") for key, shape in official})
        ours = [(key, list(tensor.shape)) for key, tensor in model.state_dict().items()]
        assert [(key, list(tensor.shape)) for key, tensor in remapped.items()] == ours, experiment
        assert len(ours) == 1810 and sum(key.startswith("backbone.") for key, _ in ours) == 1752
        deconv = config["DECONV"]
        assert (config["NUM_JOINTS"], config["TAG_PER_JOINT"]) == (model.num_joints, model.tag_per_joint)
        assert tuple(config["WITH_AE_LOSS"]) == model.with_tags and config["INPUT_SIZE"] == model.input_size
        assert tuple(deconv["CAT_OUTPUT"]) == model.cat_output and deconv["NUM_DECONVS"] == len(model.deconv_layers)
        assert model.skeleton == ("crowdpose" if experiment.startswith("crowd_pose") else "coco")
