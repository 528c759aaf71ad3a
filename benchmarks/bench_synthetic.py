"""Speed of the synthetic people generator (posekit.data.synthetic), in images per second.

Run: ``.venv/bin/python benchmarks/bench_synthetic.py [--images 60]``. Measures, in one process:

* the stages of one image (background, people + occluders, camera effects, JPEG encoding) so
  their shares can be compared on a busy machine,
* whole scenes in memory for a few configurations,
* ``generate_dataset`` end to end (JPEG files and JSON on disk) with 1 and 2 worker processes.

The machine may be shared: read the stage shares and ratios rather than absolute figures.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import cv2
import numpy as np

from posekit.data.mocap import load_deepmimic_clips
from posekit.data.synthetic import PoseSampler, SynthesisConfig, generate_dataset, sample_scene, split_clips
from posekit.data.synthetic_render import apply_photometric_effects, load_sample_pictures, make_background


def images_per_second(count: int, seconds: float) -> float:
    return count / max(seconds, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=60, help="images per measurement")
    args = parser.parse_args()
    count = args.images
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
