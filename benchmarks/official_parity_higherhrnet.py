"""Parity of posekit's full-size HigherHRNet variants with the official network, from official checkpoint files.

For each registered variant this script

1. builds the official ``PoseHigherResolutionNet`` of its official experiment yaml (the official
   ``lib/config`` defaults merged with ``experiments/.../*.yaml``, imported from the checkout you
   point it at; needs ``yacs`` and ``pyyaml`` importable),
2. randomises every parameter and the BatchNorm running statistics (``official_parity_2d.randomise``),
3. writes the official file formats (``official_parity_2d.official_files``: the model-zoo plain
   state dict and ``checkpoint.pth.tar`` with ``module.`` prefixes under ``state_dict``),
4. loads each file with :func:`posekit.models.bottomup.load_bottomup_model`, and
5. runs both networks in eval mode on the same random image at the variant's input size and
   reports, for every output resolution, the largest absolute difference next to the largest magnitude.

Usage (from the repository root; ``/tmp/hhrnet`` a ``git archive`` of HRNet/HigherHRNet-Human-Pose-Estimation)::

    PYTHONPATH=.:/path/to/yacs .venv/bin/python benchmarks/official_parity_higherhrnet.py \\
        --higherhrnet-repo /tmp/hhrnet [--float64] [--variants higherhrnet_w32_512 ...] [--image-size 256]

The smaller stored version of this comparison runs in the test suite
(``tests/models/test_official_parity.py``, fixtures from ``make_parity_fixtures.py``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from make_parity_fixtures import (
    HIGHERHRNET_EXPERIMENTS,
    higherhrnet_experiment,
    import_file,
    official_higherhrnet_config,
)
from official_parity_2d import official_files, randomise

from posekit.models.bottomup import VARIANTS, load_bottomup_model
from posekit.models.pose2d.base import normalize_images


def variant_rows(
    module: Any,
    default: Any,
    repository: Path,
    variant: str,
    directory: Path,
    generator: torch.Generator,
    dtype: torch.dtype,
    image_size: int | None,
) -> list[dict[str, Any]]:
    """Compare one variant: every official file format, every output resolution."""
    experiment = VARIANTS[variant].official_config
    assert experiment is not None and HIGHERHRNET_EXPERIMENTS[experiment] == variant
    official = module.PoseHigherResolutionNet(higherhrnet_experiment(default, repository, experiment))
    randomise(official, generator, lambda images: official(normalize_images(images)), (2, 3, 256, 256))
    paths = official_files(official, directory, variant, "module.", "pose_higher_hrnet")
    size = image_size or VARIANTS[variant].input_size
    images = torch.rand((1, 3, size, size), generator=generator).to(dtype)
    official.to(dtype)
    with torch.no_grad():
        references = official(normalize_images(images))
    official.float()
    rows = []
    for file_format, path in paths.items():
        start = time.perf_counter()
        model = load_bottomup_model(variant, path).to(dtype)
        load_seconds = time.perf_counter() - start
        with torch.no_grad():
            outputs = model(normalize_images(images))
        for index, (ours, reference) in enumerate(zip(outputs, references, strict=True)):
            if ours.shape != reference.shape:
                raise RuntimeError(
                    f"{variant}: output {index} {tuple(ours.shape)} != official {tuple(reference.shape)}"
                )
            rows.append(
                {
                    "variant": variant,
                    "output": f"[{index}] {tuple(reference.shape[1:])}",
                    "format": file_format,
                    "max_abs_diff": float((ours - reference).abs().max()),
                    "max_abs_value": float(reference.abs().max()),
                    "load_s": load_seconds,
                }
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--higherhrnet-repo", type=Path, required=True, help="copy of HRNet/HigherHRNet-Human-Pose-Estimation"
    )
    official_variants = sorted(name for name, entry in VARIANTS.items() if entry.official_config)
    parser.add_argument("--variants", nargs="+", choices=official_variants, default=official_variants)
    parser.add_argument("--image-size", type=int, help="square input side (default: each variant's input size)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--float64", action="store_true", help="compare in float64 (isolates rounding from wiring)")
    arguments = parser.parse_args(argv)
    torch.set_num_threads(arguments.threads)
    repository = arguments.higherhrnet_repo
    module = import_file("official_pose_higher_hrnet", repository / "lib" / "models" / "pose_higher_hrnet.py")
    default = official_higherhrnet_config(repository)
    generator = torch.Generator().manual_seed(arguments.seed)
    dtype = torch.float64 if arguments.float64 else torch.float32
    rows: list[dict[str, Any]] = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as temporary:
        for variant in arguments.variants:
            rows += variant_rows(
                module, default, repository, variant, Path(temporary), generator, dtype, arguments.image_size
            )
    print(f"dtype: {dtype}; threads: {arguments.threads}; {time.perf_counter() - start:.0f} s")
    print(f"{'posekit variant':<31} {'output':<18} {'max |diff|':>11} {'max |value|':>11}  file format")
    for row in rows:
        print(
            f"{row['variant']:<31} {row['output']:<18} {row['max_abs_diff']:>11.3e} {row['max_abs_value']:>11.3e}"
            f"  {row['format']}"
        )
    worst = max(row["max_abs_diff"] / max(row["max_abs_value"], 1e-12) for row in rows)
    print(f"largest relative difference: {worst:.3e}")
    return 0 if worst < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
