"""Body-model forward speed: posekit SMPL vs the smplx package on the same file, same run; fitting speed/error.

Run::

    PYTHONPATH=$PWD:/work/ref-smplx OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_body_model.py

(smplx is an optional, non-commercial reference: install it into a private folder with
``pip install --target /work/ref-smplx --no-deps smplx``; without it only posekit's numbers print.)

The real SMPL file is licensed, so both packages read one synthetic full-size model written in smplx's
``SMPL_NEUTRAL.pkl`` layout (6,890 vertices, 13,776 faces, 24 joints, 10 betas, 207 pose blend shapes;
values rounded to float32, which is how smplx stores its buffers). Batch 64, float32, CPU, random
axis-angle poses (posekit's default ``rodrigues="smplx"`` convention); median seconds per batch of
``--repeats`` runs (the models run in turn), under ``torch.no_grad()`` and forward+backward. The open
body model is timed when its file exists. Fitting: ``fit_to_keypoints`` on synthetic frames (random
poses projected with a 1000 px camera), time per frame and final 2D error.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY / "tests"))  # tests/support/bodymodel_files.py writes the synthetic files

from support.bodymodel_files import make_model_arrays, write_smplx_pkl  # noqa: E402

from posekit.bodymodels import load_body_model  # noqa: E402
from posekit.bodymodels.fitting import FittingConfig, fit_to_keypoints  # noqa: E402
from posekit.bodymodels.loading import OPEN_BODY_MODEL  # noqa: E402
from posekit.geometry.rotations import axis_angle_to_matrix  # noqa: E402

SMPLH_VERTEX_NAMES = (
    "nose reye leye rear lear rthumb rindex rmiddle rring rpinky lthumb lindex lmiddle lring lpinky "
    "LBigToe LSmallToe LHeel RBigToe RSmallToe RHeel"
).split()


def interleaved_medians(functions: dict[str, Callable[[], object]], repeats: int, warmup: int = 3) -> dict[str, float]:
    """Median seconds of each function, the functions run in turn (the machine is shared: load hits all alike)."""
    for function in functions.values():
        for _ in range(warmup):
            function()
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(values)) for name, values in times.items()}


def write_full_size_model(folder: Path) -> Path:
    arrays = make_model_arrays(num_vertices=6890, num_faces=13776, seed=0)
    arrays = {key: v.astype(np.float32).astype(np.float64) if v.dtype == np.float64 else v for key, v in arrays.items()}
    return write_smplx_pkl(folder / "SMPL_NEUTRAL.pkl", arrays)


def forward_functions(model: Callable[..., Any], parameters: dict[str, torch.Tensor]) -> dict[str, Callable[[], None]]:
    """``forward`` (no_grad) and ``forward_backward`` closures of one model on fixed parameters."""

    def forward() -> None:
        with torch.no_grad():
            model(**parameters)

    leaves = {name: value.clone().requires_grad_(True) for name, value in parameters.items()}

    def forward_backward() -> None:
        model(**leaves).vertices.sum().backward()

    return {"forward": forward, "forward_backward": forward_backward}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the build machine is shared)")
    parser.add_argument("--fit-frames", type=int, default=16)
    parser.add_argument("--fit-steps", type=int, default=300)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    report: dict[str, Any] = {"batch": args.batch, "threads": args.threads, "dtype": "float32", "device": "cpu"}
    with tempfile.TemporaryDirectory() as folder:
        path = write_full_size_model(Path(folder))
        posekit_model = load_body_model(path, dtype=torch.float32)
        generator = torch.Generator().manual_seed(1)
        axis_angle = 0.5 * torch.randn(args.batch, 24, 3, generator=generator)
        parameters = {
            "global_orient": axis_angle[:, 0].contiguous(),
            "body_pose": axis_angle[:, 1:].reshape(args.batch, 69).contiguous(),
            "betas": torch.randn(args.batch, 10, generator=generator),
            "transl": torch.randn(args.batch, 3, generator=generator),
        }
        functions = {f"posekit_{k}": f for k, f in forward_functions(posekit_model, parameters).items()}
        reference: Any = None
        try:
            import smplx  # optional reference, never a posekit dependency
        except ImportError:
            report["smplx"] = "not importable (optional reference)"
        else:
            ids = {name: index for index, name in enumerate(SMPLH_VERTEX_NAMES)}  # smplx's extra joints need ids
            reference = smplx.SMPL(str(path), dtype=torch.float32, vertex_ids=ids)
            functions.update({f"smplx_{k}": f for k, f in forward_functions(reference, parameters).items()})
        medians = interleaved_medians(functions, args.repeats)
        report["seconds_per_batch"] = medians
        if reference is not None:
            for key in ("forward", "forward_backward"):
                report[f"ratio_{key}"] = medians[f"smplx_{key}"] / medians[f"posekit_{key}"]  # > 1: posekit faster
            with torch.no_grad():
                ours, theirs = posekit_model(**parameters), reference(**parameters)
                report["max_vertex_difference_axis_angle_m"] = float((ours.vertices - theirs.vertices).abs().max())
                report["max_joint_difference_axis_angle_m"] = float((ours.joints - theirs.joints[:, :24]).abs().max())
                matrices = axis_angle_to_matrix(axis_angle)
                ours = posekit_model(
                    global_orient=matrices[:, 0],
                    body_pose=matrices[:, 1:],
                    betas=parameters["betas"],
                    transl=parameters["transl"],
                    rotation="matrix",
                )
                theirs = reference(
                    global_orient=matrices[:, :1],
                    body_pose=matrices[:, 1:],
                    betas=parameters["betas"],
                    transl=parameters["transl"],
                    pose2rot=False,
                )
                report["max_vertex_difference_matrix_m"] = float((ours.vertices - theirs.vertices).abs().max())
            # float64: both packages on the same file and parameters.
            model64 = load_body_model(path, dtype=torch.float64)
            reference64 = smplx.SMPL(str(path), dtype=torch.float64, vertex_ids=ids)
            parameters64 = {name: value.double() for name, value in parameters.items()}
            matrices64 = axis_angle_to_matrix(axis_angle.double())
            with torch.no_grad():
                ours, theirs = model64(**parameters64), reference64(**parameters64)
                report["float64_max_vertex_difference_axis_angle_m"] = float(
                    (ours.vertices - theirs.vertices).abs().max()
                )
                report["float64_max_joint_difference_axis_angle_m"] = float(
                    (ours.joints - theirs.joints[:, :24]).abs().max()
                )
                model64.rodrigues = "exact"  # posekit's exact Rodrigues instead of smplx's |v + 1e-8| angle
                exact = model64(**parameters64)
                model64.rodrigues = "smplx"
                report["float64_max_vertex_difference_axis_angle_exact_rodrigues_m"] = float(
                    (exact.vertices - theirs.vertices).abs().max()
                )
                rest = {"betas": parameters64["betas"], "transl": parameters64["transl"]}
                ours = model64(global_orient=matrices64[:, 0], body_pose=matrices64[:, 1:], rotation="matrix", **rest)
                theirs = reference64(
                    global_orient=matrices64[:, :1], body_pose=matrices64[:, 1:], pose2rot=False, **rest
                )
                report["float64_max_vertex_difference_matrix_m"] = float((ours.vertices - theirs.vertices).abs().max())
                report["float64_max_joint_difference_matrix_m"] = float(
                    (ours.joints - theirs.joints[:, :24]).abs().max()
                )
        if OPEN_BODY_MODEL.is_file():
            open_model = load_body_model("open", dtype=torch.float32)
            joints = open_model.num_joints
            open_parameters = dict(parameters)
            open_parameters["body_pose"] = 0.5 * torch.randn(args.batch, (joints - 1) * 3, generator=generator)
            open_parameters["betas"] = torch.randn(args.batch, open_model.num_betas, generator=generator)
            open_medians = interleaved_medians(forward_functions(open_model, open_parameters), args.repeats)
            report["open"] = {"vertices": open_model.num_vertices, "seconds_per_batch": open_medians}
        else:
            report["open"] = f"{OPEN_BODY_MODEL} not present"

        # Fitting: synthetic frames from random poses, 1000 px focal, person 4 m away.
        frames = args.fit_frames
        truth_pose = 0.3 * torch.randn(frames, 69, generator=generator)
        truth_orient = torch.tensor([[np.pi, 0.0, 0.0]]).repeat(frames, 1) + 0.2 * torch.randn(
            frames, 3, generator=generator
        )
        truth_transl = torch.tensor([[0.0, 0.0, 4.0]]).repeat(frames, 1) + 0.3 * torch.randn(
            frames, 3, generator=generator
        )
        truth_betas = torch.randn(frames, 10, generator=generator)
        with torch.no_grad():
            joints_3d = posekit_model(
                global_orient=truth_orient, body_pose=truth_pose, betas=truth_betas, transl=truth_transl
            ).joints
        intrinsics = np.array([[1000.0, 0.0, 640.0], [0.0, 1000.0, 360.0], [0.0, 0.0, 1.0]])
        keypoints_2d = 1000.0 * joints_3d[..., :2] / joints_3d[..., 2:] + torch.tensor([640.0, 360.0])
        config = FittingConfig(steps=args.fit_steps, camera_steps=min(60, args.fit_steps))
        start = time.perf_counter()
        result = fit_to_keypoints(posekit_model, keypoints_2d, intrinsics, config=config)
        elapsed = time.perf_counter() - start
        report["fitting"] = {
            "frames": frames,
            "steps": args.fit_steps,
            "seconds_per_frame": elapsed / frames,
            "initial_2d_error_px_mean": float(result.initial_reprojection_error.mean()),
            "final_2d_error_px_mean": float(result.reprojection_error.mean()),
            "final_2d_error_px_max": float(result.reprojection_error.max()),
        }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
