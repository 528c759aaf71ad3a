"""Parity of posekit's HRNet, SimpleBaseline and Stacked Hourglass with the official PyTorch code.

For each model this script

1. builds the official network from a local checkout of its repository (imported from the given
   path; the yacs configs are mimicked with plain dicts / ``SimpleNamespace``),
2. randomises every parameter *and* the BatchNorm running statistics (so that eval-mode BN is
   not the identity and a mis-wired layer cannot hide),
3. saves the state dict in the official file format to a temporary file -- a plain state dict
   (HRNet / SimpleBaseline model-zoo ``.pth``), the training ``checkpoint.pth`` format
   (``{"epoch", "model", "state_dict" with "module." prefixes, "perf", "optimizer"}``) and, for the
   hourglass, ``checkpoint.pt`` (``{"state_dict" with "model.module." prefixes, "optimizer", "epoch"}``),
4. loads each file into the posekit model with ``get_model(name, weights=PATH)`` (strict names
   and shapes, weights-only loading), and
5. runs both in eval mode on the same random image and reports the largest absolute heatmap
   difference (every stack for the hourglass) next to the largest heatmap magnitude.

The official hourglass takes ``(B, H, W, 3)`` RGB in ``[0, 1]``; posekit takes ImageNet-normalised
``(B, 3, H, W)``, so the same image is given to each in its own convention.

Usage (from the repository root; the repositories are plain checkouts, nothing is installed)::

    .venv/bin/python benchmarks/official_parity_2d.py \\
        --hrnet-repo ../deep-high-resolution-net.pytorch \\
        --simplebaseline-repo ../human-pose-estimation.pytorch \\
        --hourglass-repo ../pytorch_stacked_hourglass

Any of the three options may be left out to skip that family.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import torch
from torch import nn

from posekit.models.pose2d.base import Pose2DModel, normalize_images
from posekit.models.registry import get_model

POSE2D_MODULES = ("hrnet", "simplebaseline", "stacked_hourglass")


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


def randomise(
    model: nn.Module, generator: torch.Generator, calibrate: Callable[[torch.Tensor], Any], input_shape: tuple[int, ...]
) -> None:
    """Random parameters and random (but well-scaled) BatchNorm running statistics.

    Weights are drawn with a fan-in scaling, BN affine parameters around (1, 0). The running
    statistics are first measured on random images (train mode, cumulative average), so that
    activations stay of order one through deep residual stacks, then perturbed (variance times
    U(0.7, 1.3), mean plus 0.05 N(0, 1)) so that eval-mode BN differs from batch statistics.

    Args:
        model: the official network.
        generator: random source.
        calibrate: runs ``model`` on a batch in its own input convention.
        input_shape: shape of the calibration batch for ``calibrate``.
    """
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
                if isinstance(module, nn.ConvTranspose2d):
                    fan_in = module.weight.shape[0] * module.weight[0, 0].numel()
                else:
                    fan_in = module.weight[0].numel()
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator) * (1.0 / fan_in) ** 0.5)
                if module.bias is not None:
                    module.bias.copy_(torch.randn(module.bias.shape, generator=generator) * 0.1)
            elif isinstance(module, nn.BatchNorm2d):
                module.weight.copy_(1.0 + 0.2 * torch.randn(module.weight.shape, generator=generator))
                module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=generator))
                module.reset_running_stats()
                module.momentum = None  # cumulative moving average over the calibration batches
        model.train()
        calibrate(torch.rand(input_shape, generator=generator))
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                assert module.running_mean is not None and module.running_var is not None
                shape = module.running_var.shape
                module.running_var.mul_(0.7 + 0.6 * torch.rand(shape, generator=generator))
                module.running_mean.add_(0.05 * torch.randn(shape, generator=generator))
                module.momentum = 0.1
        model.eval()


def official_files(
    model: nn.Module, directory: Path, stem: str, wrapper_prefix: str, model_name: str
) -> dict[str, Path]:
    """Write the official file formats of ``model``'s weights; return format name -> path."""
    state = model.state_dict()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    paths = {}
    plain = directory / f"{stem}.pth"
    torch.save(state, plain)
    paths["model-zoo .pth (plain state dict)"] = plain
    training = directory / f"{stem}_checkpoint.pth"
    torch.save(
        {
            "epoch": 140,
            "model": model_name,
            "state_dict": {f"{wrapper_prefix}{name}": tensor for name, tensor in state.items()},
            "perf": 0.744,
            "optimizer": optimizer.state_dict(),
        },
        training,
    )
    paths[f"training checkpoint ('state_dict', '{wrapper_prefix}' prefix)"] = training
    return paths


def compare(
    label: str,
    official: nn.Module,
    official_input: Callable[[torch.Tensor], torch.Tensor],
    posekit_name: str,
    paths: dict[str, Path],
    images: torch.Tensor,
    all_stages: bool = False,
) -> list[dict[str, Any]]:
    """Load each file into the posekit model and compare eval-mode heatmaps with the official ones.

    Both run in the dtype of ``images`` (float32, or float64 to separate rounding from wiring).
    ``images`` are ``(B, 3, H, W)`` RGB in ``[0, 1]``; ``official_input`` converts them to the
    official model's input; posekit gets them ImageNet-normalised. With ``all_stages`` every
    stage's heatmaps are compared, stacked as ``(B, S, K, H, W)``.
    """
    official.eval().to(images.dtype)
    with torch.no_grad():
        reference = official(official_input(images))
    rows = []
    for file_format, path in paths.items():
        start = time.perf_counter()
        model = get_model(posekit_name, weights=str(path)).eval().to(images.dtype)
        load_seconds = time.perf_counter() - start
        assert isinstance(model, Pose2DModel)
        with torch.no_grad():
            if all_stages:
                ours = torch.stack(model.forward_stages(normalize_images(images)), dim=1)
            else:
                ours = model(normalize_images(images))
        if ours.shape != reference.shape:
            raise RuntimeError(f"{label}: shape {tuple(ours.shape)} != official {tuple(reference.shape)}")
        rows.append(
            {
                "model": label,
                "posekit": posekit_name,
                "format": file_format,
                "max_abs_diff": float((ours - reference).abs().max()),
                "max_abs_value": float(reference.abs().max()),
                "load_s": load_seconds,
                "dtype": str(images.dtype).replace("torch.", ""),
            }
        )
    return rows


def hrnet_rows(
    repository: Path, directory: Path, generator: torch.Generator, dtype: torch.dtype
) -> list[dict[str, Any]]:
    module = import_file("official_pose_hrnet", repository / "lib" / "models" / "pose_hrnet.py")
    rows = []
    for width, name, size in ((32, "hrnet_w32_256x192", (256, 192)), (48, "hrnet_w48_384x288", (384, 288))):

        def stage(modules: int, branches: int, width: int = width) -> dict[str, Any]:
            return {
                "NUM_MODULES": modules,
                "NUM_BRANCHES": branches,
                "BLOCK": "BASIC",
                "NUM_BLOCKS": [4] * branches,
                "NUM_CHANNELS": [width * 2**branch for branch in range(branches)],
                "FUSE_METHOD": "SUM",
            }

        config = {
            "MODEL": {
                "NUM_JOINTS": 17,
                "EXTRA": {
                    "PRETRAINED_LAYERS": ["*"],
                    "FINAL_CONV_KERNEL": 1,
                    "STAGE2": stage(1, 2),
                    "STAGE3": stage(4, 3),
                    "STAGE4": stage(3, 4),
                },
            }
        }
        official = module.PoseHighResolutionNet(config)
        randomise(official, generator, official, (2, 3, *size))
        paths = official_files(official, directory, f"pose_hrnet_w{width}", "module.", "pose_hrnet")
        images = torch.rand((1, 3, *size), generator=generator).to(dtype)
        rows += compare(
            f"HRNet-W{width} {size[0]}x{size[1]}",
            official,
            normalize_images,
            name,
            paths,
            images,
        )
        rows[-1]["parameters (official, posekit)"] = (
            sum(parameter.numel() for parameter in official.parameters()),
            sum(parameter.numel() for parameter in get_model(name).parameters()),
        )
    return rows


def simplebaseline_rows(
    repository: Path, directory: Path, generator: torch.Generator, dtype: torch.dtype
) -> list[dict[str, Any]]:
    module = import_file("official_pose_resnet", repository / "lib" / "models" / "pose_resnet.py")
    rows = []
    for depth, name, size in (
        (50, "simplebaseline_res50_256x192", (256, 192)),
        (152, "simplebaseline_res152_384x288", (384, 288)),
    ):
        extra = SimpleNamespace(
            NUM_LAYERS=depth,
            DECONV_WITH_BIAS=False,
            NUM_DECONV_LAYERS=3,
            NUM_DECONV_FILTERS=[256, 256, 256],
            NUM_DECONV_KERNELS=[4, 4, 4],
            FINAL_CONV_KERNEL=1,
        )
        config = SimpleNamespace(
            MODEL=SimpleNamespace(NUM_JOINTS=17, EXTRA=extra, STYLE="pytorch", INIT_WEIGHTS=False, PRETRAINED="")
        )
        official = module.get_pose_net(config, is_train=False)
        randomise(official, generator, official, (2, 3, *size))
        paths = official_files(official, directory, f"pose_resnet_{depth}", "module.", "pose_resnet")
        images = torch.rand((1, 3, *size), generator=generator).to(dtype)
        rows += compare(
            f"SimpleBaseline ResNet-{depth} {size[0]}x{size[1]}",
            official,
            normalize_images,
            name,
            paths,
            images,
        )
        rows[-1]["parameters (official, posekit)"] = (
            sum(parameter.numel() for parameter in official.parameters()),
            sum(parameter.numel() for parameter in get_model(name).parameters()),
        )
    return rows


def channels_last(images: torch.Tensor) -> torch.Tensor:
    """``(B, 3, H, W)`` -> ``(B, H, W, 3)``, the official hourglass input layout."""
    return images.permute(0, 2, 3, 1)


def hourglass_rows(
    repository: Path, directory: Path, generator: torch.Generator, dtype: torch.dtype
) -> list[dict[str, Any]]:
    sys.path.insert(0, str(repository))  # posenet.py imports models.layers and task.loss
    try:
        posenet = importlib.import_module("models.posenet")
    finally:
        sys.path.remove(str(repository))
    rows = []
    for stacks, name in ((2, "hourglass_2stack_256x256"), (8, "hourglass_8stack_256x256")):
        official = posenet.PoseNet(nstack=stacks, inp_dim=256, oup_dim=16, bn=False, increase=0)
        randomise(official, generator, official, (2, 256, 256, 3))  # official input: (B, H, W, 3) in [0, 1]
        optimizer = torch.optim.Adam(official.parameters(), lr=1e-3)
        path = directory / f"hourglass_{stacks}hg_checkpoint.pt"
        # train.py saves Trainer(DataParallel(PoseNet)).state_dict(): keys "model.module.<name>"
        torch.save(
            {
                "state_dict": {f"model.module.{key}": value for key, value in official.state_dict().items()},
                "optimizer": optimizer.state_dict(),
                "epoch": 200,
            },
            path,
        )
        images = torch.rand((1, 3, 256, 256), generator=generator).to(dtype)
        rows += compare(
            f"Stacked Hourglass {stacks}HG 256x256 (all stacks)",
            official,
            channels_last,  # the official output is (B, S, K, 64, 64)
            name,
            {"checkpoint.pt ('state_dict', 'model.module.' prefix)": path},
            images,
            all_stages=True,
        )
        unused = sum(
            parameter.numel()
            for module in official.modules()
            if getattr(module, "need_skip", True) is False
            for parameter in module.skip_layer.parameters()
        )
        rows[-1]["parameters (official, posekit)"] = (
            sum(parameter.numel() for parameter in official.parameters()) - unused,
            sum(parameter.numel() for parameter in get_model(name).parameters()),
        )
        rows[-1]["note"] = f"official count excludes {unused:,} parameters of never-used skip_layer modules"
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hrnet-repo", type=Path, help="checkout of leoxiaobin/deep-high-resolution-net.pytorch")
    parser.add_argument("--simplebaseline-repo", type=Path, help="checkout of microsoft/human-pose-estimation.pytorch")
    parser.add_argument("--hourglass-repo", type=Path, help="checkout of princeton-vl/pytorch_stacked_hourglass")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--float64", action="store_true", help="compare in float64 (isolates rounding from wiring)")
    arguments = parser.parse_args(argv)
    torch.set_num_threads(arguments.threads)
    for module in POSE2D_MODULES:  # registers the models even before the registry lists the modules
        importlib.import_module(f"posekit.models.pose2d.{module}")
    generator = torch.Generator().manual_seed(arguments.seed)
    dtype = torch.float64 if arguments.float64 else torch.float32
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        if arguments.hrnet_repo:
            rows += hrnet_rows(arguments.hrnet_repo, directory, generator, dtype)
        if arguments.simplebaseline_repo:
            rows += simplebaseline_rows(arguments.simplebaseline_repo, directory, generator, dtype)
        if arguments.hourglass_repo:
            rows += hourglass_rows(arguments.hourglass_repo, directory, generator, dtype)
    if not rows:
        parser.error("give at least one of --hrnet-repo, --simplebaseline-repo, --hourglass-repo")
    print(f"dtype: {dtype}; threads: {arguments.threads}")
    print(f"{'model':<46} {'posekit name':<30} {'max |diff|':>11} {'max |value|':>11}  file format")
    for row in rows:
        print(
            f"{row['model']:<46} {row['posekit']:<30} {row['max_abs_diff']:>11.3e} {row['max_abs_value']:>11.3e}"
            f"  {row['format']}"
        )
        if "parameters (official, posekit)" in row:
            official_count, posekit_count = row["parameters (official, posekit)"]
            print(f"{'':<46} parameters: official {official_count:,}  posekit {posekit_count:,}")
        if "note" in row:
            print(f"{'':<46} ({row['note']})")
    worst = max(row["max_abs_diff"] / max(row["max_abs_value"], 1e-12) for row in rows)
    print(f"largest relative difference: {worst:.3e}")
    return 0 if worst < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
