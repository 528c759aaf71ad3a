"""Write the official-parity fixtures of ``tests/models/test_official_parity.py`` with the OFFICIAL code.

The official networks are built from local copies of their repositories (imported from the
given paths at run time, nothing is installed or copied into posekit), in small configurations,
with random weights and random BatchNorm running statistics, in eval mode. For each one this
script saves, under ``tests/fixtures/official/``, the weights in the official checkpoint layout
and a fixed input with the official network's output. The fixtures hold only tensors, numbers,
strings and lists (``torch.load(weights_only=True)`` reads them): they are *outputs* of the
official code, not code.

Models (official repository, file, configuration):

* HRNet (leoxiaobin/deep-high-resolution-net.pytorch, ``lib/models/pose_hrnet.py``):
  ``PoseHighResolutionNet`` W16, stage modules (1, 1, 2), 4 basic blocks per branch, 17
  joints, 128x96 input; model-zoo layout (a plain state dict, ``pose_hrnet_*.pth``).
* SimpleBaseline (microsoft/human-pose-estimation.pytorch, ``lib/models/pose_resnet.py``):
  ``PoseResNet`` ResNet-18 with deconvolutions of (48, 32, 24) channels, 17 joints, 128x96
  input; training-checkpoint layout (``checkpoint.pth.tar``: ``epoch``, ``model``,
  ``state_dict`` with DataParallel ``module.`` prefixes, ``perf``, ``optimizer``).
* Stacked Hourglass (princeton-vl/pytorch_stacked_hourglass, ``models/posenet.py``):
  ``PoseNet(nstack=2, inp_dim=32, oup_dim=16)``, 128x128 input; ``checkpoint.pt`` layout
  (``state_dict`` with ``model.module.`` prefixes, ``optimizer``, ``epoch``), including the
  never-used ``skip_layer`` weights the official code always creates.
* HigherHRNet (HRNet/HigherHRNet-Human-Pose-Estimation, ``lib/models/pose_higher_hrnet.py`` with the
  official ``lib/config`` and experiment yamls, which need ``yacs``): two small
  ``PoseHigherResolutionNet`` s (the official head on a W16 trunk, model-zoo layout; every head key
  changed on a W8 trunk, ``checkpoint.pth.tar`` layout), every output resolution, and the key/shape
  table of every ``experiments/*/higher_hrnet/*.yaml`` built at full size on the meta device
  (:func:`make_higherhrnet`).
* VideoPose3D (facebookresearch/VideoPose3D, ``common/model.py`` and ``common/generators.py``):
  ``TemporalModel`` 17 -> 17 joints, 32 channels, filter widths [3, 3] (with a trajectory model,
  17 -> 1 joint) and [3, 3, 3] causal; the ``.bin`` layout (``epoch``, ``lr``, ``optimizer``,
  ``model_pos``, ``model_traj``).

Size. The official 2D trunks cannot be made small: ``PoseResNet``'s ResNet-18 (the smallest depth
it offers) has fixed widths 64..512 (11.2M parameters, 45 MB in float32), and the HRNet stem and
``layer1`` and the hourglass stem are hard-coded at 64/256 and 64/128 channels. So, for the three
2D models, every convolution kernel (every tensor with two or more dimensions) is not stored but
drawn from a counter-based generator that the test repeats bit for bit (:func:`kernel_stream`:
SplitMix64 in integer arithmetic, top 53 bits to ``[0, 1)``, scaled to ``[-scale, scale)`` and
rounded to float32; ``scale = sqrt(3 / fan_in)`` is stored per tensor). Every other tensor --
BatchNorm affine parameters and the calibrated running statistics, convolution biases, counters --
is stored (packed in one float32 vector, see :func:`split_state`). The VideoPose3D checkpoints
are small and stored whole as ``.bin`` files.

Precision. Weights are float32 (as in the official checkpoints). The official outputs are computed
in float64 from those float32 weights, so the posekit model, loaded from the same file and cast to
float64, must agree to float64 rounding (1e-12 or better) whatever the summation order; the 2D heatmaps
are stored rounded to float32 (<= 6e-8 relative) to halve their size, the VideoPose3D outputs in
float64. BatchNorm running statistics are measured on random inputs (train mode, cumulative
average, so activations stay of order one), then perturbed (variance x U(0.7, 1.3), mean + 0.05 N(0,
1)) so that eval-mode BatchNorm is far from batch statistics and a mis-wired layer cannot hide.

Usage (from the repository root; the official commits of the fixtures in the repository are the
ones below; plain ``git archive`` copies need ``--commit``, git work trees are read with
``git rev-parse``)::

    .venv/bin/python benchmarks/make_parity_fixtures.py \\
        --hrnet-repo /tmp/official/leoxiaobin+deep-high-resolution-net.pytorch \\
        --simplebaseline-repo /tmp/official/microsoft+human-pose-estimation.pytorch \\
        --hourglass-repo /tmp/official/princeton-vl+pytorch_stacked_hourglass \\
        --videopose3d-repo /tmp/VideoPose3D \\
        --commit hrnet=6f69e4676ad8d43d0d61b64b1b9726f0c369e7b1 \\
        --commit simplebaseline=49f3f4458c9d5917c75c37a6db48c6a0d7cd89a1 \\
        --commit hourglass=ceedc14b9b8814ba641f4a00baa5d0af153588a9 \\
        --commit videopose3d=1afb1ca0f1237776518469876342fc8669d3f6a9

    # HigherHRNet (yacs and pyyaml importable, e.g. PYTHONPATH=.:/path/to/yacs):
    .venv/bin/python benchmarks/make_parity_fixtures.py --higherhrnet-repo /tmp/hhrnet \\
        --commit higherhrnet=aa23881492ff511185acf756a2e14725cc4ab4d7

Any repository option may be left out to skip (and keep) that family's fixtures. Reruns with the
same seed write byte-identical files (checked with torch 2.13 and NumPy 2 on CPU). The copies
under ``/tmp`` above are ``git archive`` exports of those commits (for example from the search
tool's ``fetch`` of ``github:leoxiaobin/deep-high-resolution-net.pytorch``).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import lzma
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np
import torch
from torch import nn

from posekit.io.checkpoint import save_checkpoint

FIXTURE_VERSION = 1
REPOSITORIES = {
    "hrnet": "leoxiaobin/deep-high-resolution-net.pytorch",
    "simplebaseline": "microsoft/human-pose-estimation.pytorch",
    "hourglass": "princeton-vl/pytorch_stacked_hourglass",
    "videopose3d": "facebookresearch/VideoPose3D",
    "higherhrnet": "HRNet/HigherHRNet-Human-Pose-Estimation",
}
IMAGENET_MEAN = (0.485, 0.456, 0.406)  # torchvision Normalize of the official data pipelines
IMAGENET_STD = (0.229, 0.224, 0.225)
# Human3.6M 17-joint left / right indices of the official run.py (keypoints and joints alike).
H36M_LEFT = [4, 5, 6, 11, 12, 13]
H36M_RIGHT = [1, 2, 3, 14, 15, 16]


# ---------------------------------------------------------------------------------------------
# Helpers: importing official files, the regenerable kernel stream, BatchNorm calibration.


def import_file(name: str, path: Path) -> ModuleType:
    """Import the Python file ``path`` as module ``name``."""
    if not path.is_file():
        raise FileNotFoundError(f"official source not found: {path}")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MASK64 = (1 << 64) - 1
GOLDEN64 = 0x9E3779B97F4A7C15


def splitmix64_mix(value: int) -> int:
    """The SplitMix64 output function on one 64-bit integer (Python integers, exact)."""
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & MASK64
    return value ^ (value >> 31)


def kernel_stream(seed: int, index: int, shape: tuple[int, ...], scale: float) -> torch.Tensor:
    """The regenerable float32 kernel number ``index``: uniform in ``[-scale, scale)``, ``shape``.

    SplitMix64 (Steele, Lea, Flood, OOPSLA 2014): the state starts at the mixed key
    ``mix((seed << 32) + index)`` and advances by the golden-ratio increment; each output is the
    mixed state. Integer arithmetic only (modulo 2**64), so every machine and NumPy version gives
    the same bits. The top 53 bits map to ``u`` in ``[0, 1)`` (exact in float64), then
    ``(2 u - 1) * scale`` is rounded to float32. ``tests/models/test_official_parity.py`` repeats
    these lines; both must stay identical.
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


def fan_in(module: nn.Module) -> int:
    """Inputs that one output of a convolution / linear layer sums over."""
    weight = module.weight
    if not isinstance(weight, torch.Tensor):
        raise TypeError(f"{type(module).__name__} has no weight tensor")
    if isinstance(module, nn.ConvTranspose2d):  # (C_in, C_out, k, k)
        return int(weight.shape[0] * weight[0, 0].numel())
    return int(weight[0].numel())  # (C_out, C_in, ...)


def randomise(
    model: nn.Module,
    seed: int,
    generator: torch.Generator,
    calibrate: Callable[[], Any],
) -> dict[str, float]:
    """Fill ``model`` with regenerable kernels and random 1-D parameters; calibrate BatchNorm.

    Kernels (parameters of two or more dimensions) come from :func:`kernel_stream`, numbered in
    ``state_dict`` order; BN weights ``1 + 0.2 N(0, 1)``, BN and convolution biases ``0.1 N(0, 1)``.
    Running statistics: measured by ``calibrate()`` (train mode, cumulative average), then
    perturbed. Leaves the model in eval mode.

    Returns:
        Kernel parameter name (``state_dict`` name) -> its ``scale``, in ``state_dict`` order.
    """
    scales: dict[str, float] = {}
    module_of = {f"{name}.weight": module for name, module in model.named_modules() if hasattr(module, "weight")}
    with torch.no_grad():
        state_names = [name for name, tensor in model.state_dict().items() if tensor.ndim >= 2]
        parameters = dict(model.named_parameters())
        for index, name in enumerate(state_names):
            scale = math.sqrt(3.0 / fan_in(module_of[name]))
            parameters[name].copy_(kernel_stream(seed, index, tuple(parameters[name].shape), scale))
            scales[name] = scale
        for module in model.modules():
            if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
                module.weight.copy_(1.0 + 0.2 * torch.randn(module.weight.shape, generator=generator))
                module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=generator))
                module.reset_running_stats()
                module.momentum = None  # cumulative moving average over the calibration batch
            elif isinstance(module, nn.Conv1d | nn.Conv2d | nn.ConvTranspose2d) and module.bias is not None:
                module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=generator))
        model.train()
        calibrate()
        for module in model.modules():
            if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
                assert module.running_mean is not None and module.running_var is not None
                shape = module.running_var.shape
                module.running_var.mul_(0.7 + 0.6 * torch.rand(shape, generator=generator))
                module.running_mean.add_(0.05 * torch.randn(shape, generator=generator))
                module.momentum = 0.1
    model.eval()
    return scales


def split_state(state: dict[str, torch.Tensor], scales: dict[str, float], prefix: str, seed: int) -> dict[str, Any]:
    """The fixture entries describing ``state`` (official names, with the file's ``prefix``).

    Kernels are described by name, shape and scale (see :func:`kernel_stream`); every other
    tensor is stored, all of them packed in one float32 vector (``stored_values``, exact for the
    float32 parameters and statistics and for the small integer ``num_batches_tracked`` counters)
    with their names, shapes and dtypes, because ``torch.save`` spends ~300 bytes per tensor.
    """
    generated = [name for name in state if name in scales]
    if generated != list(scales):
        raise RuntimeError("kernel order differs from the state dict order")
    stored = [name for name in state if name not in scales]
    for name in stored:
        if state[name].dtype not in (torch.float32, torch.int64):
            raise RuntimeError(f"{name}: cannot pack dtype {state[name].dtype}")
        if state[name].dtype == torch.int64 and int(state[name].abs().max()) >= 2**24:
            raise RuntimeError(f"{name}: integer too large for float32 packing")
    return {
        "state_dict_keys": [prefix + name for name in state],
        "stored_names": [prefix + name for name in stored],
        "stored_shapes": [list(state[name].shape) for name in stored],
        "stored_dtypes": [str(state[name].dtype).removeprefix("torch.") for name in stored],
        "stored_values": torch.cat([state[name].flatten().to(torch.float32) for name in stored]),
        "kernel_seed": seed,
        "kernel_names": [prefix + name for name in generated],
        "kernel_shapes": [list(state[name].shape) for name in generated],
        "kernel_scales": torch.tensor([scales[name] for name in generated], dtype=torch.float64),
    }


def rebuild_state(fixture: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Inverse of :func:`split_state`: the official state dict, keys in the official order."""
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
        values = fixture["stored_values"][offset : offset + count]
        tensors[name] = values.reshape(shape).to(getattr(torch, dtype))
        offset += count
    return {name: tensors[name] for name in fixture["state_dict_keys"]}


def fresh_optimizer_state(model: nn.Module, **options: Any) -> dict[str, Any]:
    """An Adam optimizer state dict (what the official training scripts save beside the weights)."""
    return torch.optim.Adam(model.parameters(), **options).state_dict()


def imagenet_normalise(images: torch.Tensor) -> torch.Tensor:
    """``(B, 3, H, W)`` RGB in ``[0, 1]`` -> ImageNet-normalised, as the official data pipelines."""
    mean = torch.tensor(IMAGENET_MEAN, dtype=images.dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=images.dtype).view(1, 3, 1, 1)
    return (images - mean) / std


def random_images(generator: torch.Generator, height: int, width: int, batch_size: int = 1) -> torch.Tensor:
    """``(B, H, W, 3)`` uint8 RGB noise."""
    return torch.randint(0, 256, (batch_size, height, width, 3), generator=generator, dtype=torch.uint8)


def to_unit_nchw(images: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``(B, H, W, 3)`` uint8 -> ``(B, 3, H, W)`` in ``[0, 1]``."""
    return images.permute(0, 3, 1, 2).to(dtype) / 255.0


def check_rebuild(fixture: dict[str, Any], state: dict[str, torch.Tensor], prefix: str) -> None:
    rebuilt = rebuild_state(fixture)
    if list(rebuilt) != [prefix + name for name in state]:
        raise RuntimeError("rebuilt key order differs")
    for name, tensor in state.items():
        if not torch.equal(rebuilt[prefix + name], tensor):
            raise RuntimeError(f"rebuilt {name} differs from the official model's tensor")


# ---------------------------------------------------------------------------------------------
# The 2D models.


def heatmap_fixture(
    *,
    family: str,
    commit: str,
    official: nn.Module,
    official_file: str,
    official_config: dict[str, Any],
    official_input: Callable[[torch.Tensor], torch.Tensor],
    image_size: tuple[int, int],
    prefix: str,
    container: dict[str, Any],
    seed: int,
    generator: torch.Generator,
) -> dict[str, Any]:
    """Randomise ``official``, run it in float64 on a fixed image, return the fixture dict.

    Args:
        official_input: ``(B, 3, H, W)`` RGB in ``[0, 1]`` -> the official network's input.
        image_size: ``(H, W)``.
        prefix: key prefix of the checkpoint file (``""``, ``"module."``, ``"model.module."``).
        container: the rest of the checkpoint file: ``{"state_dict_key": str | None, "extra": dict}``.
    """
    height, width = image_size
    calibration = torch.rand((2, 3, height, width), generator=generator)
    scales = randomise(official, seed, generator, lambda: official(official_input(calibration)))
    state = {name: tensor.detach().clone() for name, tensor in official.state_dict().items()}
    images = random_images(generator, height, width)
    with torch.no_grad():
        heatmaps_float32 = official(official_input(to_unit_nchw(images, torch.float32)))
        official.double()
        heatmaps = official(official_input(to_unit_nchw(images, torch.float64)))
        official.float()
    # How far the official code's own float32 run is from its float64 output (float32 rounding
    # through the network): the yardstick for posekit's float32 run.
    float32_error = float((heatmaps_float32.double() - heatmaps).abs().max() / heatmaps.abs().max())
    fixture: dict[str, Any] = {
        "fixture_version": FIXTURE_VERSION,
        "family": family,
        "official_repository": REPOSITORIES[family],
        "official_commit": commit,
        "official_file": official_file,
        "official_config": json.dumps(official_config, sort_keys=True),
        "checkpoint_state_dict_key": container["state_dict_key"],
        "checkpoint_extra": container["extra"],
        **split_state(state, scales, prefix, seed),
        "images": images,
        "official_heatmaps": heatmaps.to(torch.float32),
        "official_heatmaps_max_abs": float(heatmaps.abs().max()),
        "official_float32_relative_error": float32_error,
    }
    check_rebuild(fixture, state, prefix)
    return fixture


def hrnet_stage(modules: int, branches: int, width: int) -> dict[str, Any]:
    return {
        "NUM_MODULES": modules,
        "NUM_BRANCHES": branches,
        "BLOCK": "BASIC",
        "NUM_BLOCKS": [4] * branches,
        "NUM_CHANNELS": [width * 2**branch for branch in range(branches)],
        "FUSE_METHOD": "SUM",
    }


def make_hrnet(repository: Path, commit: str, generator: torch.Generator) -> dict[str, Any]:
    module = import_file("official_pose_hrnet", repository / "lib" / "models" / "pose_hrnet.py")
    width = 16
    config = {
        "MODEL": {
            "NUM_JOINTS": 17,
            "EXTRA": {
                "PRETRAINED_LAYERS": ["*"],
                "FINAL_CONV_KERNEL": 1,
                "STAGE2": hrnet_stage(1, 2, width),
                "STAGE3": hrnet_stage(1, 3, width),
                "STAGE4": hrnet_stage(2, 4, width),
            },
        }
    }
    official = module.PoseHighResolutionNet(config)
    return heatmap_fixture(
        family="hrnet",
        commit=commit,
        official=official,
        official_file="lib/models/pose_hrnet.py",
        official_config=config,
        official_input=imagenet_normalise,
        image_size=(128, 96),
        prefix="",  # model-zoo pose_hrnet_*.pth: a plain state dict
        container={"state_dict_key": None, "extra": {}},
        seed=1601,
        generator=generator,
    )


def make_simplebaseline(repository: Path, commit: str, generator: torch.Generator) -> dict[str, Any]:
    module = import_file("official_pose_resnet", repository / "lib" / "models" / "pose_resnet.py")
    extra = {
        "NUM_LAYERS": 18,
        "DECONV_WITH_BIAS": False,
        "NUM_DECONV_LAYERS": 3,
        "NUM_DECONV_FILTERS": [48, 32, 24],
        "NUM_DECONV_KERNELS": [4, 4, 4],
        "FINAL_CONV_KERNEL": 1,
    }
    model_config = {"NUM_JOINTS": 17, "STYLE": "pytorch", "INIT_WEIGHTS": False, "PRETRAINED": ""}
    config = SimpleNamespace(MODEL=SimpleNamespace(**model_config, EXTRA=SimpleNamespace(**extra)))
    official = module.get_pose_net(config, is_train=False)
    # pose_estimation/train.py: save_checkpoint({"epoch", "model", "state_dict", "perf", "optimizer"})
    # of a DataParallel model, hence the "module." prefixes.
    container = {
        "state_dict_key": "state_dict",
        "extra": {
            "epoch": 140,
            "model": "pose_resnet_18",
            "perf": 0.5,
            "optimizer": fresh_optimizer_state(official, lr=1e-3),
        },
    }
    return heatmap_fixture(
        family="simplebaseline",
        commit=commit,
        official=official,
        official_file="lib/models/pose_resnet.py",
        official_config={"MODEL": {**model_config, "EXTRA": extra}},
        official_input=imagenet_normalise,
        image_size=(128, 96),
        prefix="module.",
        container=container,
        seed=1802,
        generator=generator,
    )


def make_hourglass(repository: Path, commit: str, generator: torch.Generator) -> dict[str, Any]:
    sys.path.insert(0, str(repository))  # posenet.py imports models.layers and task.loss
    try:
        posenet = importlib.import_module("models.posenet")
    finally:
        sys.path.remove(str(repository))
    arguments = {"nstack": 2, "inp_dim": 32, "oup_dim": 16, "bn": False, "increase": 0}
    official = posenet.PoseNet(**arguments)
    # train.py: save_checkpoint({"state_dict": Trainer(DataParallel(PoseNet)).state_dict(), "optimizer",
    # "epoch"}), hence "model.module." prefixes; the official input is (B, H, W, 3) RGB in [0, 1].
    container = {
        "state_dict_key": "state_dict",
        "extra": {"optimizer": fresh_optimizer_state(official, lr=1e-3), "epoch": 200},
    }
    return heatmap_fixture(
        family="hourglass",
        commit=commit,
        official=official,
        official_file="models/posenet.py",
        official_config={"PoseNet": arguments},
        official_input=lambda images: images.permute(0, 2, 3, 1),  # (B, 3, H, W) -> (B, H, W, 3)
        image_size=(128, 128),
        prefix="model.module.",
        container=container,
        seed=2203,
        generator=generator,
    )


# ---------------------------------------------------------------------------------------------
# HigherHRNet.

# The official experiments (``experiments/<file>``) -> the posekit variant with that architecture.
HIGHERHRNET_EXPERIMENTS = {
    "coco/higher_hrnet/w32_512_adam_lr1e-3.yaml": "higherhrnet_w32_512",
    "coco/higher_hrnet/w32_640_adam_lr1e-3.yaml": "higherhrnet_w32_640",
    "coco/higher_hrnet/w48_640_adam_lr1e-3.yaml": "higherhrnet_w48_640",
    "crowd_pose/higher_hrnet/w32_512_adam_lr1e-3.yaml": "higherhrnet_w32_512_crowdpose",
    "crowd_pose/higher_hrnet/w32_512_adam_lr1e-3_coco.yaml": "higherhrnet_w32_512_crowdpose",
    "crowd_pose/higher_hrnet/w32_512_adam_lr1e-3_syncbn.yaml": "higherhrnet_w32_512_crowdpose",
    "crowd_pose/higher_hrnet/w32_640_adam_lr1e-3.yaml": "higherhrnet_w32_640_crowdpose",
    "crowd_pose/higher_hrnet/w48_640_adam_lr1e-3.yaml": "higherhrnet_w48_640_crowdpose",
}


def official_higherhrnet_config(repository: Path) -> Any:
    """The official default config (``lib/config``, a yacs ``CfgNode``), imported from the checkout."""
    sys.path.insert(0, str(repository / "lib"))
    try:
        config = importlib.import_module("config")
    except ModuleNotFoundError as error:
        raise SystemExit(
            f"the official HigherHRNet config needs {error.name!r} (pip install yacs pyyaml, or put them on PYTHONPATH)"
        ) from None
    finally:
        sys.path.remove(str(repository / "lib"))
    return config.cfg


def higherhrnet_experiment(default: Any, repository: Path, experiment: str, **changes: Any) -> Any:
    """The official config of ``experiments/<experiment>``, with ``changes`` (``"MODEL.EXTRA.STAGE2.NUM_MODULES"``:
    value) applied the official way (``merge_from_list``)."""
    config = default.clone()
    config.defrost()
    config.merge_from_file(str(repository / "experiments" / experiment))
    config.merge_from_list([item for key, value in changes.items() for item in (key, value)])
    config.freeze()
    return config


def higherhrnet_model_config(config: Any) -> dict[str, Any]:
    """The config keys the official network reads (JSON-able), for the fixture and its test."""
    extra = config.MODEL.EXTRA
    stages = {
        name: {key: extra[name][key] for key in ("NUM_MODULES", "NUM_BLOCKS", "NUM_CHANNELS")}
        for name in ("STAGE2", "STAGE3", "STAGE4")
    }
    deconv = {
        key: extra.DECONV[key]
        for key in ("NUM_DECONVS", "NUM_CHANNELS", "KERNEL_SIZE", "NUM_BASIC_BLOCKS", "CAT_OUTPUT")
    }
    return json.loads(
        json.dumps(
            {
                "NUM_JOINTS": config.MODEL.NUM_JOINTS,
                "TAG_PER_JOINT": config.MODEL.TAG_PER_JOINT,
                "WITH_AE_LOSS": list(config.LOSS.WITH_AE_LOSS),
                "FINAL_CONV_KERNEL": extra.FINAL_CONV_KERNEL,
                "INPUT_SIZE": config.DATASET.INPUT_SIZE,
                **stages,
                "DECONV": deconv,
            }
        )
    )


def higherhrnet_stage(modules: int, branches: int, width: int) -> dict[str, Any]:
    """``merge_from_list`` changes making ``STAGE{branches}`` ``modules`` modules of a W``width`` trunk."""
    stage = f"MODEL.EXTRA.STAGE{branches}"
    return {
        f"{stage}.NUM_MODULES": modules,
        f"{stage}.NUM_CHANNELS": [width * 2**branch for branch in range(branches)],
    }


def make_higherhrnet(repository: Path, commit: str, generator: torch.Generator) -> dict[str, Any]:
    """Two small official HigherHRNets in float64, and the key/shape tables of every official experiment.

    Cases (each: official config, posekit variant + builder arguments, checkpoint layout, input, outputs):

    * ``official_layout``: ``w32_512_adam_lr1e-3.yaml`` made small -- W16 trunk, one module per stage
      (stem, ``layer1`` and 4 blocks per branch are fixed by the official code), the official head
      (one 4x4 deconvolution over features + heatmaps + tags, 4 basic blocks, tags at 1/4 only),
      17 joints, a 32x64 image; model-zoo layout (plain state dict).
    * ``general``: the crowd_pose ``w32_512`` yaml with every head key changed -- W8 trunk, 14 joints,
      one shared tag map (``TAG_PER_JOINT`` false), tags at 1/4 and 1/2, two deconvolutions (kernels 3
      and 2, the second without the concatenation, 12 and 8 channels), one basic block, 3x3 final
      layers, a 32x32 image; ``checkpoint.pth.tar`` layout (``module.`` prefixes under ``state_dict``).

    Every yaml under ``experiments/*/higher_hrnet/`` is also built at full size on the meta device
    (no memory, no initialisation) and its ``{name: shape}`` table stored, xz-compressed JSON.
    """
    module = import_file("official_pose_higher_hrnet", repository / "lib" / "models" / "pose_higher_hrnet.py")
    default = official_higherhrnet_config(repository)
    cases = {
        "official_layout": {
            "experiment": "coco/higher_hrnet/w32_512_adam_lr1e-3.yaml",
            "changes": {
                **higherhrnet_stage(1, 2, 16),
                **higherhrnet_stage(1, 3, 16),
                **higherhrnet_stage(1, 4, 16),
                "MODEL.EXTRA.DECONV.NUM_CHANNELS": [16],
            },
            "posekit": (
                "higherhrnet_w16_256",
                {"num_modules": [1, 1, 1], "num_blocks": 4, "stem_channels": 64, "num_basic_blocks": 4},
            ),
            "image_size": (32, 64),
            "prefix": "",
            "container": {"state_dict_key": None, "extra": {}},
            "seed": 2411,
        },
        "general": {
            "experiment": "crowd_pose/higher_hrnet/w32_512_adam_lr1e-3.yaml",
            "changes": {
                **higherhrnet_stage(1, 2, 8),
                **higherhrnet_stage(1, 3, 8),
                **higherhrnet_stage(1, 4, 8),
                "MODEL.TAG_PER_JOINT": False,
                "MODEL.EXTRA.FINAL_CONV_KERNEL": 3,
                "MODEL.EXTRA.DECONV.NUM_DECONVS": 2,
                "MODEL.EXTRA.DECONV.NUM_CHANNELS": [12, 8],
                "MODEL.EXTRA.DECONV.KERNEL_SIZE": [3, 2],
                "MODEL.EXTRA.DECONV.NUM_BASIC_BLOCKS": 1,
                "MODEL.EXTRA.DECONV.CAT_OUTPUT": [True, False],
                "LOSS.NUM_STAGES": 3,
                "LOSS.WITH_AE_LOSS": [True, True, False],
                "LOSS.WITH_HEATMAPS_LOSS": [True, True, True],
            },
            "posekit": (
                "higherhrnet_w32_512_crowdpose",
                {
                    "width": 8,
                    "num_modules": [1, 1, 1],
                    "tag_per_joint": False,
                    "with_tags": [True, True, False],
                    "num_deconvs": 2,
                    "deconv_channels": [12, 8],
                    "deconv_kernel_sizes": [3, 2],
                    "num_basic_blocks": 1,
                    "cat_output": [True, False],
                    "final_conv_kernel": 3,
                },
            ),
            "image_size": (32, 32),
            "prefix": "module.",  # tools/dist_train.py: save_checkpoint of the DDP model
            "container": {
                "state_dict_key": "state_dict",
                "extra": {"epoch": 300, "model": "pose_higher_hrnet", "perf": 299},
            },
            "seed": 2412,
        },
    }
    fixture: dict[str, Any] = {
        "fixture_version": FIXTURE_VERSION,
        "family": "higherhrnet",
        "official_repository": REPOSITORIES["higherhrnet"],
        "official_commit": commit,
        "official_file": "lib/models/pose_higher_hrnet.py",
        "cases": {},
    }
    for name, case in cases.items():
        config = higherhrnet_experiment(default, repository, case["experiment"], **case["changes"])
        official = module.PoseHigherResolutionNet(config)
        height, width = case["image_size"]
        # BatchNorm statistics from larger images than the test one, so that even the 1/32 branch sees
        # 64 positions (a 1x1 map over a batch of 2 gives near-zero variances and outputs of 1e8)
        calibration = torch.rand((4, 3, 128, 128), generator=generator)
        scales = randomise(official, case["seed"], generator, calibrator(official, imagenet_normalise(calibration)))
        state = {key: tensor.detach().clone() for key, tensor in official.state_dict().items()}
        images = random_images(generator, height, width)
        with torch.no_grad():
            outputs_float32 = official(imagenet_normalise(to_unit_nchw(images, torch.float32)))
            official.double()
            outputs = official(imagenet_normalise(to_unit_nchw(images, torch.float64)))
            official.float()
        extra = dict(case["container"]["extra"])
        if case["container"]["state_dict_key"] is not None:
            extra["optimizer"] = fresh_optimizer_state(official, lr=1.5e-3)
        variant, arguments = case["posekit"]
        entry = {
            "official_experiment": case["experiment"],
            "official_config": json.dumps(higherhrnet_model_config(config), sort_keys=True),
            "posekit_model": variant,
            "posekit_arguments": json.dumps(arguments, sort_keys=True),
            "checkpoint_state_dict_key": case["container"]["state_dict_key"],
            "checkpoint_extra": extra,
            **split_state(state, scales, case["prefix"], case["seed"]),
            "images": images,
            "official_outputs": [output.to(torch.float32) for output in outputs],
            # per output: the official float32 run's distance from its float64 one, relative to max |value|
            "official_float32_relative_error": [
                float((low.double() - high).abs().max() / high.abs().max())
                for low, high in zip(outputs_float32, outputs, strict=True)
            ],
        }
        check_rebuild(entry, state, case["prefix"])
        fixture["cases"][name] = entry
    tables: dict[str, Any] = {}
    for experiment in HIGHERHRNET_EXPERIMENTS:
        config = higherhrnet_experiment(default, repository, experiment)
        with torch.device("meta"):
            official = module.PoseHigherResolutionNet(config)
        tables[experiment] = {
            "config": higherhrnet_model_config(config),
            "keys": [[key, list(tensor.shape)] for key, tensor in official.state_dict().items()],
        }
    packed = lzma.compress(json.dumps(tables, sort_keys=True).encode(), preset=9)
    fixture["experiments"] = HIGHERHRNET_EXPERIMENTS
    fixture["experiment_tables_xz_json"] = torch.frombuffer(bytearray(packed), dtype=torch.uint8).clone()
    return fixture


# ---------------------------------------------------------------------------------------------
# VideoPose3D.


def calibrator(model: nn.Module, inputs: torch.Tensor) -> Callable[[], Any]:
    """A function running ``model`` on ``inputs`` (for :func:`randomise`)."""
    return lambda: model(inputs)


def official_evaluate(
    generators: ModuleType,
    model: nn.Module,
    keypoints: np.ndarray,
    *,
    causal: bool,
    flip: bool,
    trajectory: bool,
) -> torch.Tensor:
    """Official ``run.py`` ``evaluate(..., return_predictions=True)`` on one sequence, in ``model``'s dtype.

    The padding and the mirrored copy come from the official ``UnchunkedGenerator``; the lines
    undoing the flip and averaging are ``run.py``'s (a script, so not importable):
    negate x of the mirrored prediction, swap left/right joints (pose model only), mean.

    Returns:
        ``(T, J_out, 3)`` in the dtype of ``model``.
    """
    receptive_field = int(model.receptive_field())  # type: ignore[operator]
    pad = (receptive_field - 1) // 2
    causal_shift = pad if causal else 0  # run.py: causal_shift = pad if args.causal
    generator = generators.UnchunkedGenerator(
        None,
        None,
        [keypoints],
        pad=pad,
        causal_shift=causal_shift,
        augment=flip,
        kps_left=H36M_LEFT,
        kps_right=H36M_RIGHT,
        joints_left=H36M_LEFT,
        joints_right=H36M_RIGHT,
    )
    (_, _, batch_2d), *rest = list(generator.next_epoch())
    assert not rest
    with torch.no_grad():
        dtype = next(model.parameters()).dtype
        predicted = model(torch.from_numpy(batch_2d).to(dtype))
        if flip:
            predicted[1, :, :, 0] *= -1
            if not trajectory:
                predicted[1, :, H36M_LEFT + H36M_RIGHT] = predicted[1, :, H36M_RIGHT + H36M_LEFT]
            predicted = torch.mean(predicted, dim=0, keepdim=True)
    return predicted.squeeze(0)


def make_videopose3d(
    repository: Path, commit: str, generator: torch.Generator
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Official-format ``.bin`` checkpoints and the parity data of two small TemporalModels."""
    model_module = import_file("official_videopose3d_model", repository / "common" / "model.py")
    generators = import_file("official_videopose3d_generators", repository / "common" / "generators.py")
    checkpoints: dict[str, dict[str, Any]] = {}
    parity: dict[str, Any] = {
        "fixture_version": FIXTURE_VERSION,
        "official_repository": REPOSITORIES["videopose3d"],
        "official_commit": commit,
        "official_files": "common/model.py, common/generators.py, run.py (evaluate)",
        "keypoints_left": H36M_LEFT,
        "keypoints_right": H36M_RIGHT,
    }
    configurations = (
        # name, filter widths, causal, trajectory model, flip test-time augmentation, frames
        ("videopose3d_w33_traj", [3, 3], False, True, True, 40),
        ("videopose3d_w333_causal", [3, 3, 3], True, False, False, 20),
    )
    for index, (name, widths, causal, with_trajectory, flip, num_frames) in enumerate(configurations):
        models = {"pose": model_module.TemporalModel(17, 2, 17, widths, causal=causal, dropout=0.25, channels=32)}
        if with_trajectory:
            models["trajectory"] = model_module.TemporalModel(
                17, 2, 1, widths, causal=causal, dropout=0.25, channels=32
            )
        receptive_field = models["pose"].receptive_field()
        for offset, model in enumerate(models.values()):
            calibration = torch.rand((4, receptive_field + 30, 17, 2), generator=generator) * 2 - 1
            randomise(model, 3100 + 10 * index + offset, generator, calibrator(model, calibration))
        keypoints = (torch.rand((num_frames, 17, 2), generator=generator) * 2 - 1).numpy()  # float32
        windows = torch.rand((2, receptive_field + 5, 17, 2), generator=generator) * 2 - 1
        # The training model of run.py, TemporalModelOptimized1f, shares the parameter names: one
        # output per window of receptive_field frames.
        optimized = model_module.TemporalModelOptimized1f(17, 2, 17, widths, causal=causal, dropout=0.25, channels=32)
        optimized.load_state_dict(models["pose"].state_dict())
        optimized.eval()
        strided_windows = torch.rand((3, receptive_field, 17, 2), generator=generator) * 2 - 1
        # run.py's own precision: float32 weights and inputs.
        poses_float32 = official_evaluate(
            generators, models["pose"], keypoints, causal=causal, flip=flip, trajectory=False
        ).double()
        for model in (*models.values(), optimized):
            model.double()
        with torch.no_grad():
            entry: dict[str, Any] = {
                "filter_widths": widths,
                "causal": causal,
                "channels": 32,
                "flip_augment": flip,
                "keypoints_2d": torch.from_numpy(keypoints),
                "official_poses": official_evaluate(
                    generators, models["pose"], keypoints, causal=causal, flip=flip, trajectory=False
                ),
                "windows": windows,
                "official_window_poses": models["pose"](windows.double()),
                "strided_windows": strided_windows,
                "official_strided_poses": optimized(strided_windows.double()),
            }
            if with_trajectory:
                entry["official_trajectory"] = official_evaluate(
                    generators, models["trajectory"], keypoints, causal=causal, flip=flip, trajectory=True
                )
        for model in models.values():
            model.float()
        scale = entry["official_poses"].abs().max()
        entry["official_float32_relative_error"] = float((poses_float32 - entry["official_poses"]).abs().max() / scale)
        parity[name] = entry
        # run.py: torch.save({"epoch", "lr", "random_state", "optimizer", "model_pos", "model_traj",
        # "random_state_semi"}). The two random states are numpy RandomState states (numpy arrays);
        # they are left out so that plain torch.load(weights_only=True) reads the fixture.
        checkpoints[f"{name}.bin"] = {
            "epoch": 80,
            "lr": 0.001 * 0.95**79,
            "optimizer": fresh_optimizer_state(models["pose"], lr=0.001, amsgrad=True),
            "model_pos": {key: value.clone() for key, value in models["pose"].state_dict().items()},
            "model_traj": (
                {key: value.clone() for key, value in models["trajectory"].state_dict().items()}
                if with_trajectory
                else None
            ),
        }
    return checkpoints, parity


# ---------------------------------------------------------------------------------------------


def repository_commit(repository: Path, given: dict[str, str], family: str) -> str:
    """The official commit: ``--commit family=SHA``, else ``git rev-parse HEAD`` in the checkout."""
    if family in given:
        return given[family]
    try:
        result = subprocess.run(
            ["git", "-C", str(repository), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        raise SystemExit(f"{repository} is not a git work tree: give its commit with --commit {family}=SHA") from None
    return result.stdout.strip()


def parse_commits(values: list[str]) -> dict[str, str]:
    commits = {}
    for value in values:
        family, _, sha = value.partition("=")
        if family not in REPOSITORIES or len(sha) != 40:
            raise SystemExit(f"--commit expects FAMILY=40-hex-SHA with FAMILY in {sorted(REPOSITORIES)}, got {value!r}")
        commits[family] = sha
    return commits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--hrnet-repo", type=Path, help="copy of leoxiaobin/deep-high-resolution-net.pytorch")
    parser.add_argument("--simplebaseline-repo", type=Path, help="copy of microsoft/human-pose-estimation.pytorch")
    parser.add_argument("--hourglass-repo", type=Path, help="copy of princeton-vl/pytorch_stacked_hourglass")
    parser.add_argument("--videopose3d-repo", type=Path, help="copy of facebookresearch/VideoPose3D")
    parser.add_argument("--higherhrnet-repo", type=Path, help="copy of HRNet/HigherHRNet-Human-Pose-Estimation")
    parser.add_argument("--commit", action="append", default=[], help="FAMILY=SHA of a copy that is not a git tree")
    parser.add_argument("--output", type=Path, default=Path("tests/fixtures/official"))
    parser.add_argument("--seed", type=int, default=0, help="torch seed of the 1-D parameters, statistics and inputs")
    arguments = parser.parse_args(argv)
    commits = parse_commits(arguments.commit)
    torch.set_num_threads(2)
    builders = {
        "hrnet": (arguments.hrnet_repo, make_hrnet),
        "simplebaseline": (arguments.simplebaseline_repo, make_simplebaseline),
        "hourglass": (arguments.hourglass_repo, make_hourglass),
    }
    if (
        not any(repository for repository, _ in builders.values())
        and not arguments.videopose3d_repo
        and not arguments.higherhrnet_repo
    ):
        parser.error(
            "give at least one of --hrnet-repo, --simplebaseline-repo, --hourglass-repo, --videopose3d-repo, "
            "--higherhrnet-repo"
        )
    written: list[Path] = []
    for family, (repository, build) in builders.items():
        if repository is None:
            continue
        generator = torch.Generator().manual_seed(arguments.seed)  # one stream per family: reruns stay stable
        torch.manual_seed(arguments.seed)  # the global stream (dropout during BatchNorm calibration)
        fixture = build(repository, repository_commit(repository, commits, family), generator)
        written.append(save_checkpoint(arguments.output / f"{family}_parity.pt", fixture))
        print(
            f"{family}: {len(fixture['state_dict_keys'])} tensors ({len(fixture['kernel_names'])} regenerated kernels, "
            f"{sum(math.prod(shape) for shape in fixture['kernel_shapes']):,} kernel values); official heatmaps "
            f"{tuple(fixture['official_heatmaps'].shape)}, max |value| {fixture['official_heatmaps_max_abs']:.3g}, "
            f"official float32 vs float64: {fixture['official_float32_relative_error']:.2e} of max |value|"
        )
    if arguments.videopose3d_repo is not None:
        repository = arguments.videopose3d_repo
        generator = torch.Generator().manual_seed(arguments.seed)
        torch.manual_seed(arguments.seed)
        checkpoints, parity = make_videopose3d(
            repository, repository_commit(repository, commits, "videopose3d"), generator
        )
        for file_name, checkpoint in checkpoints.items():
            written.append(save_checkpoint(arguments.output / file_name, checkpoint))
        written.append(save_checkpoint(arguments.output / "videopose3d_parity.pt", parity))
        for name, entry in parity.items():
            if isinstance(entry, dict):
                print(
                    f"{name}: official poses {tuple(entry['official_poses'].shape)}, max |value| "
                    f"{float(entry['official_poses'].abs().max()):.3g}, official float32 vs float64: "
                    f"{entry['official_float32_relative_error']:.2e} of max |value|"
                )
    if arguments.higherhrnet_repo is not None:
        repository = arguments.higherhrnet_repo
        generator = torch.Generator().manual_seed(arguments.seed)
        torch.manual_seed(arguments.seed)
        fixture = make_higherhrnet(repository, repository_commit(repository, commits, "higherhrnet"), generator)
        written.append(save_checkpoint(arguments.output / "higherhrnet_parity.pt", fixture))
        for name, entry in fixture["cases"].items():
            shapes = ", ".join(str(tuple(output.shape)) for output in entry["official_outputs"])
            errors = ", ".join(f"{error:.2e}" for error in entry["official_float32_relative_error"])
            print(
                f"higherhrnet {name}: {len(entry['state_dict_keys'])} tensors; official outputs {shapes}; "
                f"official float32 vs float64: {errors} of max |value|"
            )
        print(f"higherhrnet: key/shape tables of {len(fixture['experiments'])} official experiments")
    for path in written:
        torch.load(path, weights_only=True)  # every fixture must read without unpickling objects
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
    total = sum(path.stat().st_size for path in written)
    print(f"total {total / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
