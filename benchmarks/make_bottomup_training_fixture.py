"""Record the bottom-up training fixture of ``tests/losses/test_associative_embedding.py`` with the OFFICIAL code.

Runs the official HigherHRNet training-side code (HRNet/HigherHRNet-Human-Pose-Estimation, commit
aa23881492ff511185acf756a2e14725cc4ab4d7) on fixed random inputs and stores inputs and outputs
(tensors, numbers and lists only; ``torch.load(weights_only=True)`` reads it) in
``tests/fixtures/official/higherhrnet_training.pt``:

* ``lib/dataset/target_generators/target_generators.py``: ``HeatmapGenerator`` (sigma 2 and the
  ``R / 64`` default, on 2 resolutions) and ``JointsGenerator`` (``tag_per_joint`` on and off) on
  joints that include the edge cases: joints at ``-0.5`` (truncated to pixel 0), at ``R - 0.2``,
  at ``R`` (outside), unlabelled joints, a person with no joint inside the map;
* ``lib/core/loss.py``: ``MultiLossFactory`` (2 resolutions, tags at the first, factors other
  than the official ones so that each shows) with ``AE_LOSS_TYPE`` ``exp`` and ``max`` on a batch
  of three images with 3, 1 and 0 people. The official ``make_input`` moves the no-people
  constants to CUDA; here it is replaced by the same function without the move (the same zeros);
* ``lib/dataset/transforms/transforms.py``: ``RandomAffineTransform`` (input 128 -> outputs
  [32, 64], the official recipe's 512 -> [128, 256] at a quarter of the size; rotation 30, scale
  0.75-1.5 ``short``, translate 40) then ``RandomHorizontalFlip`` on an image, its mask and
  joints, with the random draws recorded (scale, rotation, translation, flip) so the posekit
  transform can be fed the same parameters (``transforms.py`` imports torchvision only for
  ``ToTensor``/``Normalize``: empty stand-in modules are registered when it is not installed).

Usage (nothing is installed or copied; the official files are imported from the export)::

    mkdir -p /tmp/hhrnet && git -C <official git dir> archive HEAD | tar -x -C /tmp/hhrnet
    .venv/bin/python benchmarks/make_bottomup_training_fixture.py /tmp/hhrnet
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import random
import sys
import types
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

COMMIT = "aa23881492ff511185acf756a2e14725cc4ab4d7"
OUT = Path(__file__).resolve().parents[1] / "tests/fixtures/official/higherhrnet_training.pt"


def _load(checkout: Path, relative: str) -> Any:
    """Import one official file by path (the package ``__init__`` files pull in unrelated dependencies)."""
    path = checkout / "lib" / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _joints(rng: np.random.Generator, people: int, num_joints: int, size: float) -> np.ndarray:
    joints = np.zeros((people, num_joints, 3))
    joints[..., 0] = rng.uniform(-2, size + 2, (people, num_joints))
    joints[..., 1] = rng.uniform(-2, size + 2, (people, num_joints))
    joints[..., 2] = rng.choice([0, 1, 2], (people, num_joints), p=[0.2, 0.3, 0.5])
    return joints


def generators(checkout: Path, rng: np.random.Generator) -> dict[str, Any]:
    module = _load(checkout, "dataset/target_generators/target_generators.py")
    num_joints, sizes = 5, (16, 32)
    joints = _joints(rng, 4, num_joints, sizes[0])
    joints[0, 0] = (-0.5, 3.2, 2)  # int(-0.5) == 0: kept
    joints[0, 1] = (sizes[0] - 0.2, sizes[0] - 0.2, 1)  # last pixel
    joints[0, 2] = (sizes[0], 4.0, 2)  # outside
    joints[1, :, 2] = 0  # nobody labelled
    joints[2, :, 0] = sizes[0] + 5  # all outside
    cases = []
    for size, sigma in ((sizes[0], 2.0), (sizes[1], -1.0), (sizes[1], 1.5)):
        scaled = joints.copy()
        scaled[..., :2] *= size / sizes[0]
        heatmaps = module.HeatmapGenerator(size, num_joints, sigma)(scaled)
        tagged = [module.JointsGenerator(30, num_joints, size, flag)(scaled) for flag in (True, False)]
        cases.append(
            {
                "size": size,
                "sigma": sigma,
                "joints": torch.from_numpy(scaled),
                "heatmaps": torch.from_numpy(heatmaps),
                "tag_joints_per_joint": torch.from_numpy(tagged[0].astype(np.int32)),
                "tag_joints_shared": torch.from_numpy(tagged[1].astype(np.int32)),
            }
        )
    return {"num_joints": num_joints, "cases": cases}


def losses(checkout: Path, rng: np.random.Generator) -> dict[str, Any]:
    loss = _load(checkout, "core/loss.py")
    loss.make_input = lambda t, requires_grad=False, need_cuda=True: t.sum()  # the official one calls .cuda()
    generator_module = _load(checkout, "dataset/target_generators/target_generators.py")
    num_joints, sizes, batch = 4, (8, 16), 3
    people = (3, 1, 0)
    outputs = [
        torch.from_numpy(rng.normal(0, 1, (batch, 2 * num_joints, sizes[0], sizes[0]))).float(),
        torch.from_numpy(rng.normal(0, 1, (batch, num_joints, sizes[1], sizes[1]))).float(),
    ]
    heatmaps, masks, joints = [], [], []
    image_joints = [_joints(rng, count, num_joints, sizes[0]) for count in people]
    for size in sizes:
        heatmaps.append(torch.from_numpy(rng.uniform(0, 1, (batch, num_joints, size, size))).float())
        masks.append(torch.from_numpy((rng.uniform(0, 1, (batch, size, size)) > 0.2).astype(np.float32)))
        generator = generator_module.JointsGenerator(30, num_joints, size, True)
        stacked = []
        for values in image_joints:
            scaled = values.copy()
            scaled[..., :2] *= size / sizes[0]
            stacked.append(generator(scaled).astype(np.int32))
        joints.append(torch.from_numpy(np.stack(stacked)))
    results: dict[str, Any] = {
        "num_joints": num_joints,
        "outputs": outputs,
        "heatmaps": heatmaps,
        "masks": masks,
        "joints": joints,
    }
    for loss_type in ("exp", "max"):
        cfg = SimpleNamespace(
            MODEL=SimpleNamespace(NUM_JOINTS=num_joints),
            LOSS=SimpleNamespace(
                NUM_STAGES=2,
                WITH_HEATMAPS_LOSS=(True, True),
                HEATMAPS_LOSS_FACTOR=(1.0, 0.5),
                WITH_AE_LOSS=(True, False),
                PUSH_LOSS_FACTOR=(0.01, 0.001),
                PULL_LOSS_FACTOR=(0.1, 0.001),
                AE_LOSS_TYPE=loss_type,
            ),
        )
        factory = loss.MultiLossFactory(cfg)
        heatmap_terms, push_terms, pull_terms = factory(outputs, heatmaps, masks, joints)
        results[loss_type] = {
            "heatmaps": [term.detach() for term in heatmap_terms],
            "push": push_terms[0].detach().reshape(-1),
            "pull": pull_terms[0].detach().reshape(-1),
        }
    return results


def transforms(checkout: Path, rng: np.random.Generator) -> dict[str, Any]:
    # transforms.py imports torchvision for ToTensor/Normalize only; the two classes used here need
    # numpy and cv2, so empty stand-in modules let it import without torchvision installed.
    for name in ("torchvision", "torchvision.transforms", "torchvision.transforms.functional"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["torchvision.transforms"].functional = sys.modules["torchvision.transforms.functional"]  # type: ignore[attr-defined]
    module = _load(checkout, "dataset/transforms/transforms.py")
    flip_index = [0, 2, 1, 4, 3]
    image = rng.integers(0, 256, (150, 210, 3), dtype=np.uint8)
    mask = np.ones((150, 210), dtype=bool)
    mask[25:60, 100:165] = False
    joints = _joints(rng, 3, 5, 150)
    cases = []
    for seed in (0, 1, 2, 3):
        np.random.seed(seed)  # noqa: NPY002 (the official code draws from the global state)
        random.seed(seed)
        # the official draws, replayed to record them (same order as RandomAffineTransform/RandomHorizontalFlip)
        aug_scale = np.random.random() * (1.5 - 0.75) + 0.75  # noqa: NPY002
        aug_rot = (np.random.random() * 2 - 1) * 30  # noqa: NPY002
        scale = min(150, 210) / 200 * aug_scale
        dx = np.random.randint(-40 * scale, 40 * scale)  # noqa: NPY002
        dy = np.random.randint(-40 * scale, 40 * scale)  # noqa: NPY002
        flip = random.random() < 0.5
        np.random.seed(seed)  # noqa: NPY002 (the official code draws from the global state)
        random.seed(seed)
        affine = module.RandomAffineTransform(128, [32, 64], 30, 0.75, 1.5, "short", 40)
        flipper = module.RandomHorizontalFlip(flip_index, [32, 64], 0.5)
        out_image, out_masks, out_joints = affine(
            image.copy(), [mask.copy(), mask.copy()], [joints.copy(), joints.copy()]
        )
        out_image, out_masks, out_joints = flipper(out_image, out_masks, out_joints)
        cases.append(
            {
                "aug_scale": float(aug_scale),
                "aug_rotation": float(aug_rot),
                "translate": [int(dx), int(dy)],
                "flip": bool(flip),
                "image": torch.from_numpy(np.ascontiguousarray(out_image)),
                "masks": [torch.from_numpy(np.ascontiguousarray(value)) for value in out_masks],
                "joints": [torch.from_numpy(np.ascontiguousarray(value)) for value in out_joints],
            }
        )
    return {
        "flip_index": flip_index,
        "image": torch.from_numpy(image),
        "mask": torch.from_numpy(mask),
        "joints": torch.from_numpy(joints),
        "cases": cases,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", help="an export of the official repository (its lib/ is imported)")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    checkout = Path(args.checkout)
    rng = np.random.default_rng(20201)
    fixture = {
        "repository": "HRNet/HigherHRNet-Human-Pose-Estimation",
        "commit": COMMIT,
        "generators": generators(checkout, rng),
        "losses": losses(checkout, rng),
        "transforms": transforms(checkout, rng),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    torch.save(fixture, args.out)
    print(f"wrote {args.out} ({Path(args.out).stat().st_size / 1e3:.0f} kB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
