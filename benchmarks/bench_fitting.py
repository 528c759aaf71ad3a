"""``fit_to_keypoints`` on held-out synthetic mesh frames: time per frame, 2D reprojection and 3D joint error.

Run: ``OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python benchmarks/bench_fitting.py [--frames 16] [--data DIR]``.

The frames are the validation split of a synthetic mesh dataset (``posekit synth --mesh``: held-out
clips ``dance_b``, ``jump``, ``punch``, random betas), written to a temporary folder unless ``--data``
names one. Every person of every frame is one fitting target, all fitted in one batch with the
open body model and the frame's exact camera (focal, centre), from the default start (upright,
facing the camera, translation from the 2D spread), with :class:`~posekit.bodymodels.fitting.FittingConfig`
defaults (300 Adam steps, L2 pose prior) unless flags say otherwise. Two targets:

* ``smpl24``: the 24 exact SMPL-order joint projections (all weighted 1);
* ``coco17``: the COCO-17 keypoints of the annotation (face vertex picks + joints), missing where
  ``v = 0`` (outside the image), the keypoint set :func:`posekit.data.synthetic_mesh.open_body_coco_keypoints`.

Printed per target: wall and CPU (process) time per frame (batch time / people), the final 2D reprojection error
(mean px over the weighted keypoints, and the initial one), and the 3D error of the fitted model's 24
joints against the exact ``joints_3d``: absolute (camera space), pelvis-aligned MPJPE and PA-MPJPE (mm).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from posekit.bodymodels import load_body_model
from posekit.bodymodels.fitting import FittingConfig, fit_to_keypoints
from posekit.bodymodels.loading import read_body_model_file, resolve_body_model_path
from posekit.data.synthetic import SynthesisConfig
from posekit.data.synthetic_mesh import MeshSynthesisConfig, generate_mesh_dataset, open_body_coco_keypoints
from posekit.data.synthetic_mesh_dataset import SyntheticMeshDataset
from posekit.geometry import procrustes_align
from posekit.viz.mesh_render import rasterize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=16, help="held-out frames to write and fit (default 16)")
    parser.add_argument("--data", type=Path, default=None, help="an existing synthetic mesh dataset (val split)")
    parser.add_argument("--steps", type=int, default=300, help="optimisation steps (default 300)")
    parser.add_argument("--optimizer", choices=("adam", "lbfgs"), default="adam")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as temporary:
        root = args.data
        if root is None:
            root = Path(temporary)
            config = MeshSynthesisConfig(base=SynthesisConfig(image_size=(256, 256)), store_vertices=False)
            generate_mesh_dataset(root, 0, args.frames, rasterize, seed=11, config=config)
        dataset = SyntheticMeshDataset(root, "val")
        frames = [dataset[index] for index in range(min(args.frames, len(dataset)))]
    joints_2d = np.concatenate([frame.people.joints_2d for frame in frames])  # (N, 24, 2)
    joints_3d = np.concatenate([frame.people.joints_3d for frame in frames])  # (N, 24, 3)
    coco = np.concatenate([frame.people.keypoints_coco for frame in frames])  # (N, 17, 3)
    intrinsics = np.concatenate(
        [
            np.repeat(
                np.array([[[f.focal[0], 0, f.center[0]], [0, f.focal[1], f.center[1]], [0, 0, 1]]]), len(f.people), 0
            )
            for f in frames
        ]
    )  # (N, 3, 3)
    people = len(joints_2d)
    print(f"{len(frames)} held-out frames, {people} people; {args.optimizer}, {args.steps} steps, one thread")
    model = load_body_model("open")
    data = read_body_model_file(resolve_body_model_path("open"))
    coco_keypoints = open_body_coco_keypoints(data.v_template, data.extras["part_labels"])
    fitting = FittingConfig(steps=args.steps, optimizer=args.optimizer)
    for label, target, keypoints in (
        ("smpl24", np.concatenate([joints_2d, np.ones((people, 24, 1))], axis=-1), None),
        ("coco17", np.concatenate([coco[..., :2], (coco[..., 2:] > 0).astype(np.float64)], axis=-1), coco_keypoints),
    ):
        start, cpu = time.perf_counter(), time.process_time()
        result = fit_to_keypoints(
            model,
            torch.as_tensor(target, dtype=torch.float32),
            torch.as_tensor(intrinsics, dtype=torch.float32),
            keypoints=keypoints,
            config=fitting,
        )
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
        with torch.no_grad():
            fitted = (
                model(
                    global_orient=result.global_orient,
                    body_pose=result.body_pose,
                    betas=result.betas,
                    transl=result.transl,
                )
                .joints.double()
                .numpy()
            )
        absolute = np.linalg.norm(fitted - joints_3d, axis=-1).mean() * 1000
        aligned = np.linalg.norm((fitted - fitted[:, :1]) - (joints_3d - joints_3d[:, :1]), axis=-1).mean() * 1000
        procrustes = np.linalg.norm(procrustes_align(fitted, joints_3d) - joints_3d, axis=-1).mean() * 1000
        initial = float(result.initial_reprojection_error.mean())
        final, median = float(result.reprojection_error.mean()), float(result.reprojection_error.median())
        print(
            f"  {label}: {1000 * seconds / people:7.1f} ms/frame wall, {1000 * cpu_seconds / people:.1f} ms CPU "
            f"({seconds:.1f} s batch), reprojection "
            f"{final:.2f} px (start {initial:.1f} px, median {median:.2f}), 3D joints: absolute {absolute:.0f} mm, "
            f"MPJPE {aligned:.0f} mm, PA-MPJPE {procrustes:.0f} mm"
        )


if __name__ == "__main__":
    main()
