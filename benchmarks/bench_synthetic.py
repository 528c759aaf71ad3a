"""Speed of the synthetic people generator (posekit.data.synthetic), in images per second.

Run: ``.venv/bin/python benchmarks/bench_synthetic.py [--images 60]``. Measures, in one process:

* the stages of one image (background, people + occluders, camera effects, JPEG encoding) so
  their shares can be compared on a busy machine,
* whole scenes in memory for a few configurations,
* ``generate_dataset`` end to end (JPEG files and JSON on disk) with 1 and 2 worker processes.

With ``--mesh`` it measures the mesh mode instead (``posekit synth --mesh``,
:mod:`posekit.data.synthetic_mesh`): the retargeting error over all 1,620 DeepMimic frames (joint
positions vs the mocap points, bone-direction angles), and images/s written end to end (JPEG + label
``.npz`` + JSON) at 256x256 and 640x480, single frames and 8-frame sequences, with the figure generator
at the same size in the same run as the reference.

The machine may be shared: read the stage shares and ratios rather than absolute figures.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from posekit.data.mocap import load_deepmimic_clips
from posekit.data.synthetic import PoseSampler, SynthesisConfig, generate_dataset, sample_scene, split_clips
from posekit.data.synthetic_render import apply_photometric_effects, load_sample_pictures, make_background


def images_per_second(count: int, seconds: float) -> float:
    return count / max(seconds, 1e-9)


def mesh_benchmark(count: int) -> None:
    """Retargeting error and images/s of the mesh mode (see the module docstring)."""
    import torch

    from posekit.bodymodels import load_body_model
    from posekit.data.mesh_retarget import CORRESPONDENCES, retarget_errors, retarget_points
    from posekit.data.synthetic_mesh import MeshSynthesisConfig, generate_mesh_dataset
    from posekit.viz.mesh_render import rasterize

    torch.set_num_threads(1)
    clips = load_deepmimic_clips()
    model = load_body_model("open", dtype=torch.float64)
    positions, angles = [], []
    for betas in (
        torch.zeros(1, model.num_betas),
        torch.randn(1, model.num_betas, generator=torch.Generator().manual_seed(0)),
    ):
        rest = model(betas=betas.double()).joints[0].numpy()
        for clip in clips:
            result = retarget_points(clip.point_names, clip.points, rest, model.parents)
            joints = model(
                global_orient=torch.as_tensor(result.global_orient),
                body_pose=torch.as_tensor(result.body_pose.reshape(len(clip), -1)),
                betas=betas.double().expand(len(clip), -1),
                transl=torch.as_tensor(result.transl),
            ).joints.numpy()
            position, angle = retarget_errors(clip.point_names, clip.points, joints)
            positions.append(position)
            angles.append(angle)
    position = np.concatenate(positions) * 1000.0
    angle = np.concatenate(angles)
    print(f"retargeting over {len(position)} frames (15 clips x mean shape and one random shape):")
    print(f"  bone-direction error: mean {angle.mean():.5f} deg, max {angle.max():.5f} deg")
    print(f"  joint-position error: mean {position.mean():.1f} mm, median {np.median(position):.1f} mm")
    for name, value in zip(CORRESPONDENCES, position.mean(axis=0), strict=True):
        print(f"    {name:15s} {value:6.1f} mm")

    print("\nimages/s written end to end (JPEG + labels .npz + JSON), 1-3 people, one process:")
    for size in ((256, 256), (640, 480)):
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            generate_dataset(
                folder, num_train=count, num_val=0, seed=0, config=SynthesisConfig(image_size=size), clips=clips
            )
            reference = images_per_second(count, time.perf_counter() - start)
        print(f"  {size[0]}x{size[1]} figures (posekit synth):          {reference:6.2f} images/s")
        for length, vertices in ((1, True), (1, False), (8, True)):
            config = MeshSynthesisConfig(
                base=SynthesisConfig(image_size=size), sequence_length=length, store_vertices=vertices
            )
            samples = max(1, count // length)
            with tempfile.TemporaryDirectory() as folder:
                start = time.perf_counter()
                generate_mesh_dataset(folder, samples, 0, rasterize, seed=0, config=config, clips=clips)
                seconds = time.perf_counter() - start
                megabytes = sum(path.stat().st_size for path in Path(folder).rglob("*.npz")) / 1e6 / (samples * length)
            rate = images_per_second(samples * length, seconds)
            label = f"mesh, sequence {length}, {'with' if vertices else 'no'} vertices"
            print(
                f"  {size[0]}x{size[1]} {label:34s} {rate:6.2f} images/s ({rate / reference:.2f}x figures),"
                f" {megabytes:.2f} MB labels/image"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=60, help="images per measurement")
    parser.add_argument("--mesh", action="store_true", help="measure the mesh mode (posekit synth --mesh)")
    args = parser.parse_args()
    count = args.images
    if args.mesh:
        mesh_benchmark(count)
        return
    clips = load_deepmimic_clips()
    sampler = PoseSampler(split_clips(clips, "train"))
    pictures = load_sample_pictures()
    print(f"scikit-image sample pictures: {len(pictures)}")

    config = SynthesisConfig()
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    backgrounds = [make_background(config.image_size, rng, pictures) for _ in range(count)]
    background_seconds = time.perf_counter() - start
    start = time.perf_counter()
    finished = [apply_photometric_effects(background, rng) for background in backgrounds]
    effects_seconds = time.perf_counter() - start
    start = time.perf_counter()
    for image in finished:
        cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    jpeg_seconds = time.perf_counter() - start
    start = time.perf_counter()
    for seed in range(count):
        sample_scene(sampler, config, np.random.default_rng(seed), pictures)
    scene_seconds = time.perf_counter() - start
    people_seconds = scene_seconds - background_seconds - effects_seconds
    total = scene_seconds + jpeg_seconds
    print(f"\nstages of a 256x256 image with 1-3 people ({count} images):")
    for name, seconds in (
        ("background", background_seconds),
        ("people + occluders + labels", people_seconds),
        ("camera effects", effects_seconds),
        ("JPEG encoding", jpeg_seconds),
    ):
        print(f"  {name:30s} {1000 * seconds / count:7.2f} ms  ({100 * seconds / total:4.1f} %)")

    print("\nwhole scenes in memory:")
    for label, scene_config in (
        ("256x256, 1-3 people (default)", SynthesisConfig()),
        ("192x256, 1 person", SynthesisConfig(image_size=(192, 256), people_per_image=(1, 1))),
        (
            "192x256, 1 person, no sample pictures",
            SynthesisConfig(image_size=(192, 256), people_per_image=(1, 1), use_sample_pictures=False),
        ),
        ("384x384, 1-3 people", SynthesisConfig(image_size=(384, 384))),
    ):
        chosen = pictures if scene_config.use_sample_pictures else ()
        start = time.perf_counter()
        for seed in range(count):
            sample_scene(sampler, scene_config, np.random.default_rng(seed), chosen)
        print(f"  {label:40s} {images_per_second(count, time.perf_counter() - start):6.1f} images/s")

    print("\ngenerate_dataset end to end (JPEG files + JSON), default config:")
    baseline = 0.0
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            generate_dataset(folder, num_train=count, num_val=count // 4, seed=0, workers=workers, clips=clips)
            rate = images_per_second(count + count // 4, time.perf_counter() - start)
        baseline = baseline or rate
        print(f"  workers={workers}: {rate:6.1f} images/s  ({rate / baseline:.2f}x of workers=1)")


if __name__ == "__main__":
    main()
