"""Record the OFFICIAL HigherHRNet test pipeline on small inputs for ``tests/inference/test_bottomup.py``.

Runs the official functions from a local checkout of HRNet/HigherHRNet-Human-Pose-Estimation
(imported from the given path at run time; nothing is copied into posekit): ``tools/valid.py``'s
per-image loop (scales sorted in reverse, base size at scale 1, the tags of scale 1), with
``lib/utils/transforms.py`` (``get_multi_scale_size``, ``resize_align_multi_scale``,
``get_final_preds``), ``lib/core/inference.py`` (``get_multi_stage_outputs``, ``aggregate_results``),
``lib/core/group.py`` (``HeatmapParser.parse`` with ``munkres`` 1.1.4) and the official configs
(``experiments/coco|crowd_pose/higher_hrnet/w32_512_adam_lr1e-3.yaml``, with ``DATASET.INPUT_SIZE``,
``TEST.SCALE_FACTOR`` and ``TEST.FLIP_TEST`` set per case). ``ToTensor`` + ``Normalize`` are
torchvision's operations written out (``(u8 / 255 - mean) / std`` in float32), as torchvision is
not installed here.

The network is :class:`support.bottomup.ProbeNetwork` (tests/support): HigherHRNet's output layout
(tags at 1/4, heatmaps at 1/4 and 1/2), each output a fixed per-pixel linear mix of the pooled
input computed with elementwise operations only, so it gives the same bits on every CPU and the
test measures the pipeline around the network (the network itself has its own parity fixture).

Cases: COCO-17 on a 150x97 image with scales (1,) and (0.5, 1, 2), flip on and off; CrowdPose-14 on
a 90x131 (portrait) image with scale (1,) and flip (the official joint order's first 14 entries).
Stored per case in ``tests/fixtures/official/bottomup_pipeline.npz`` (``allow_pickle=False``):

* ``<case>_heatmap_index`` / ``_heatmap_values``: 2048 random positions of the aggregated
  heatmaps ``(K, H, W)`` (flat indices, int64) and their float32 values; ``_heatmap_sums``: float64
  sums per joint; likewise ``_tag_*`` for the stacked tags ``(K, H, W, L)`` and ``_tag_shape``;
* ``_people``: the official ``get_final_preds`` result ``(M, K, 3 + L)`` float32 (x, y, score, tags),
  ``_scores`` ``(M,)``; ``_center``, ``_scale``, ``_base_size``; ``_scales``, ``_flip``.

Plus the two images and the probe weights. Usage (the checkout is a ``git archive`` export)::

    mkdir -p /tmp/hhrnet && git -C /work/.mirror/HRNet+HigherHRNet-Human-Pose-Estimation/repo archive HEAD \\
        | tar -x -C /tmp/hhrnet
    PYTHONPATH=$PWD OMP_NUM_THREADS=1 .venv/bin/python benchmarks/make_bottomup_pipeline_fixture.py \\
        --official /tmp/hhrnet --munkres /work/ref-munkres --commit aa23881492ff511185acf756a2e14725cc4ab4d7

Reruns write the same arrays (fixed seed).
"""

from __future__ import annotations

import argparse
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "tests" / "fixtures" / "official" / "bottomup_pipeline.npz"
INPUT_SIZE = 128
SAMPLES = 2048
SEED = 20201


def import_official(checkout: Path, munkres: Path | None) -> dict[str, Any]:
    """The official modules, imported from ``checkout/lib`` (and ``munkres`` from its folder)."""
    lib = checkout / "lib"
    if not (lib / "core" / "inference.py").is_file():
        raise SystemExit(f"{checkout}: not a HigherHRNet checkout (no lib/core/inference.py)")
    for path in (str(lib), None if munkres is None else str(munkres)):
        if path is not None and path not in sys.path:
            sys.path.insert(0, path)
    # lib/dataset/__init__.py imports the datasets (json_tricks, crowdposetools); inference.py only
    # needs dataset.transforms.FLIP_CONFIG, so the package is registered without running its __init__.
    package = types.ModuleType("dataset")
    package.__path__ = [str(lib / "dataset")]
    sys.modules.setdefault("dataset", package)
    # lib/dataset/transforms/transforms.py (training augmentation, unused here) imports torchvision at
    # module level; where torchvision is not installed, empty stand-ins let FLIP_CONFIG be imported.
    try:
        import torchvision  # noqa: F401
    except ImportError:
        stub = types.ModuleType("torchvision")
        stub_transforms = types.ModuleType("torchvision.transforms")
        stub_functional = types.ModuleType("torchvision.transforms.functional")
        stub.transforms = stub_transforms  # type: ignore[attr-defined]
        stub_transforms.functional = stub_functional  # type: ignore[attr-defined]
        sys.modules.update(
            {
                "torchvision": stub,
                "torchvision.transforms": stub_transforms,
                "torchvision.transforms.functional": stub_functional,
            }
        )
    import munkres as munkres_module
    from config import cfg
    from core import group, inference
    from utils import transforms

    version = getattr(munkres_module, "__version__", "?")
    if version != "1.1.4":
        raise SystemExit(f"munkres {version} found; the official results need munkres 1.1.4 (--munkres)")
    return {"cfg": cfg, "inference": inference, "transforms": transforms, "group": group, "munkres": version}


def official_config(
    official: dict[str, Any],
    checkout: Path,
    dataset: str,
    scales: tuple[float, ...],
    flip: bool,
    input_size: int = INPUT_SIZE,
) -> Any:
    """The official test config: the W32-512 experiment of ``dataset`` with these test settings."""
    cfg = official["cfg"].clone()
    cfg.defrost()
    cfg.merge_from_file(str(checkout / "experiments" / dataset / "higher_hrnet" / "w32_512_adam_lr1e-3.yaml"))
    cfg.DATASET.INPUT_SIZE = input_size
    cfg.TEST.SCALE_FACTOR = list(scales)
    cfg.TEST.FLIP_TEST = flip
    cfg.freeze()
    return cfg


def to_tensor_normalize(image: np.ndarray) -> torch.Tensor:
    """torchvision ``ToTensor`` then ``Normalize(ImageNet)`` on an ``(H, W, 3)`` uint8 image."""
    tensor = torch.from_numpy(image.transpose((2, 0, 1))).contiguous().to(torch.float32).div(255)
    mean = torch.as_tensor([0.485, 0.456, 0.406], dtype=torch.float32)
    std = torch.as_tensor([0.229, 0.224, 0.225], dtype=torch.float32)
    return tensor.sub_(mean[:, None, None]).div_(std[:, None, None])


def official_valid(official: dict[str, Any], cfg: Any, model: Any, image: np.ndarray) -> dict[str, Any]:
    """``tools/valid.py``'s loop body for one image (CPU instead of ``.cuda()``)."""
    transforms, inference = official["transforms"], official["inference"]
    parser = official["group"].HeatmapParser(cfg)
    base_size, center, scale = transforms.get_multi_scale_size(
        image, cfg.DATASET.INPUT_SIZE, 1.0, min(cfg.TEST.SCALE_FACTOR)
    )
    with torch.no_grad():
        final_heatmaps = None
        tags_list: list[torch.Tensor] = []
        for s in sorted(cfg.TEST.SCALE_FACTOR, reverse=True):
            image_resized, center, scale = transforms.resize_align_multi_scale(
                image, cfg.DATASET.INPUT_SIZE, s, min(cfg.TEST.SCALE_FACTOR)
            )
            image_resized = to_tensor_normalize(image_resized).unsqueeze(0)
            _, heatmaps, tags = inference.get_multi_stage_outputs(
                cfg, model, image_resized, cfg.TEST.FLIP_TEST, cfg.TEST.PROJECT2IMAGE, base_size
            )
            final_heatmaps, tags_list = inference.aggregate_results(cfg, s, final_heatmaps, tags_list, heatmaps, tags)
        final_heatmaps = final_heatmaps / float(len(cfg.TEST.SCALE_FACTOR))
        tags = torch.cat(tags_list, dim=4)
        grouped, scores = parser.parse(final_heatmaps, tags, cfg.TEST.ADJUST, cfg.TEST.REFINE)
        final_results = transforms.get_final_preds(
            grouped, center, scale, [final_heatmaps.size(3), final_heatmaps.size(2)]
        )
    num_joints = cfg.DATASET.NUM_JOINTS
    columns = 3 + tags.shape[-1]
    people = np.array(final_results, dtype=np.float32).reshape(len(final_results), num_joints, columns)
    return {
        "heatmaps": final_heatmaps[0].numpy(),
        "tags": tags[0].numpy(),
        "people": people,
        "scores": np.array(scores, dtype=np.float32),
        "center": np.asarray(center, dtype=np.float64),
        "scale": np.asarray(scale, dtype=np.float64),
        "base_size": np.asarray(base_size, dtype=np.int64),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--official", type=Path, required=True, help="HigherHRNet checkout (git archive export)")
    parser.add_argument("--munkres", type=Path, default=None, help="folder holding munkres.py 1.1.4")
    parser.add_argument("--commit", default="unknown", help="the checkout's commit, stored in the fixture")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    from support.bottomup import ProbeNetwork, probe_weights, smooth_image

    official = import_official(args.official, args.munkres)
    rng = np.random.default_rng(SEED)
    arrays: dict[str, np.ndarray] = {
        "commit": np.array(args.commit),
        "munkres_version": np.array(official["munkres"]),
        "input_size": np.array(INPUT_SIZE),
    }
    datasets = {"coco": ("coco", 17, (150, 97)), "crowdpose": ("crowd_pose", 14, (90, 131))}
    networks = {}
    for skeleton, (_, joints, (width, height)) in datasets.items():
        arrays[f"{skeleton}_image"] = smooth_image(rng, width, height)
        low, high = probe_weights(rng, joints, tag_per_joint=True)
        arrays[f"{skeleton}_low"], arrays[f"{skeleton}_high"] = low, high
        networks[skeleton] = ProbeNetwork(low, high, skeleton=skeleton, input_size=INPUT_SIZE, tag_per_joint=True)
    cases = [
        ("coco", (1.0,), True),
        ("coco", (1.0,), False),
        ("coco", (0.5, 1.0, 2.0), True),
        ("coco", (0.5, 1.0, 2.0), False),
        ("crowdpose", (1.0,), True),
    ]
    names = []
    for index, (skeleton, scales, flip) in enumerate(cases):
        name = f"case{index}"
        names.append(name)
        cfg = official_config(official, args.official, datasets[skeleton][0], scales, flip)
        result = official_valid(official, cfg, networks[skeleton], arrays[f"{skeleton}_image"])
        arrays[f"{name}_skeleton"] = np.array(skeleton)
        arrays[f"{name}_scales"] = np.array(scales, dtype=np.float64)
        arrays[f"{name}_flip"] = np.array(flip)
        for key in ("heatmaps", "tags"):
            maps = result[key]
            positions = rng.choice(maps.size, size=SAMPLES, replace=False).astype(np.int64)
            prefix = f"{name}_{key[:-1]}"
            arrays[f"{prefix}_shape"] = np.array(maps.shape, dtype=np.int64)
            arrays[f"{prefix}_index"] = positions
            arrays[f"{prefix}_values"] = maps.reshape(-1)[positions]
            arrays[f"{prefix}_sums"] = maps.astype(np.float64).reshape(maps.shape[0], -1).sum(axis=1)
        for key in ("people", "scores", "center", "scale", "base_size"):
            arrays[f"{name}_{key}"] = result[key]
        print(
            f"{name}: {skeleton} scales {scales} flip {flip}: maps {result['heatmaps'].shape}, tags "
            f"{result['tags'].shape}, {len(result['people'])} people"
        )
    arrays["cases"] = np.array(names)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
