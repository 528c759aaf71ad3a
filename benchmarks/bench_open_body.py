"""Size, load time and forward time of posekit's open body model, against anny's own forward pass.

Reports the shipped ``posekit/assets/bodymodel/open_body.npz``: vertices, faces, joints, betas, size
on disk, ``load_body_model("open")`` time, and the forward time of a batch of 64 random bodies
(random shapes, 0.3 rad random rotations on every joint) on the CPU, float32 and float64. Where anny
0.6.2 is importable (``PYTHONPATH=/work/ref-anny``) it times anny's forward pass on the same batch size
in the same run (its dense ``lbs`` skinning, float64 as it builds, and float32), the model the file
was exported from, and prints the ratio.

Usage (from the repository root; 2 shared CPU cores here: read ratios, not absolute numbers)::

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD /work/main/.venv/bin/python benchmarks/bench_open_body.py
    ANNY_CACHE_DIR=/tmp/anny-cache OMP_NUM_THREADS=1 PYTHONPATH=/work/ref-anny:$PWD \\
        /work/main/.venv/bin/python benchmarks/bench_open_body.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from posekit.bodymodels import load_body_model  # noqa: E402
from posekit.bodymodels.loading import OPEN_BODY_MODEL  # noqa: E402


def _median_seconds(function: Callable[[], object], repeats: int) -> float:
    function()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _interleaved_medians(functions: tuple[Callable[[], object], ...], repeats: int) -> list[float]:
    """Median seconds of each function, run in turn within each repeat (load on the machine hits all alike)."""
    for function in functions:
        function()  # warm-up
    times: list[list[float]] = [[] for _ in functions]
    for _ in range(repeats):
        for index, function in enumerate(functions):
            started = time.perf_counter()
            function()
            times[index].append(time.perf_counter() - started)
    return [statistics.median(values) for values in times]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    load_time = _median_seconds(lambda: load_body_model("open"), 5)
    model = load_body_model("open")
    print(
        f"open body model: {model.num_vertices} vertices, {model.faces.shape[0]} faces, {model.num_joints} joints, "
        f"{model.num_betas} betas; {OPEN_BODY_MODEL.stat().st_size / 2**20:.2f} MiB on disk; "
        f"load_body_model('open') {1000 * load_time:.0f} ms (median of 5)"
    )
    generator = torch.Generator().manual_seed(0)
    results = {}
    for dtype in (torch.float32, torch.float64):
        typed = load_body_model("open", dtype=dtype)
        pose = {
            "global_orient": 0.3 * torch.randn(args.batch, 3, generator=generator).to(dtype),
            "body_pose": 0.3 * torch.randn(args.batch, 69, generator=generator).to(dtype),
            "betas": torch.randn(args.batch, typed.num_betas, generator=generator).to(dtype),
        }
        # The same model with the pose-blend product forced on its all-zero posedirs (what each forward
        # cost before posekit skipped it), the two run in turn in the same loop; outputs must be identical.
        forced = load_body_model("open", dtype=dtype)
        forced.has_pose_blend_shapes = True
        with torch.no_grad():
            seconds, forced_seconds = _interleaved_medians(
                (lambda typed=typed, pose=pose: typed(**pose), lambda forced=forced, pose=pose: forced(**pose)),
                args.repeats,
            )
            difference = float((typed(**pose).vertices - forced(**pose).vertices).abs().max())
        results[dtype] = seconds
        print(
            f"posekit open model forward, batch {args.batch}, {str(dtype).replace('torch.', '')}, CPU, "
            f"{args.threads} thread(s): {1000 * seconds:.1f} ms per batch (median of {args.repeats}); "
            f"with the zero pose-blend product forced {1000 * forced_seconds:.1f} ms -> skipping it "
            f"{forced_seconds / seconds:.2f}x faster, max |vertex difference| {difference:.1e} m"
        )

    try:
        import anny
    except ImportError:
        print("anny not importable: no reference timing (PYTHONPATH=/work/ref-anny to add it)")
        return 0
    reference = anny.Anny(skinning_method="lbs")
    labels = list(reference.phenotype_labels)
    for dtype in (torch.float64, torch.float32):
        reference = reference.to(dtype)
        phenotypes = torch.rand(args.batch, len(labels), generator=generator).to(dtype)
        axis_angle = 0.3 * torch.randn(args.batch, reference.bone_count, 3, generator=generator).to(dtype)
        deltas = torch.eye(4, dtype=dtype).repeat(args.batch, reference.bone_count, 1, 1)
        from posekit.geometry.rotations import axis_angle_to_matrix

        deltas[:, :, :3, :3] = axis_angle_to_matrix(axis_angle)
        with torch.no_grad():
            seconds = _median_seconds(
                lambda reference=reference, deltas=deltas, phenotypes=phenotypes: reference(
                    pose_parameters=deltas, phenotype_kwargs=phenotypes
                ),
                args.repeats,
            )
        ours = results[dtype]
        print(
            f"anny {anny.__version__} forward (lbs), batch {args.batch}, {str(dtype).replace('torch.', '')}: "
            f"{1000 * seconds:.1f} ms per batch -> posekit open model {seconds / ours:.2f}x anny's speed"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
