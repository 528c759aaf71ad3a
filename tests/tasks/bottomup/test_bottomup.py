"""Task pose2d_bottomup: configs, the loss composition, and a short learning run on synthetic renders."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from posekit.codecs.associative_embedding import AssociativeEmbedding
from posekit.config import load_config
from posekit.tasks import get_task, load_task_config, read_config_file
from posekit.tasks.bottomup import (
    BottomUpConfig,
    LossConfig,
    build_codec,
    build_loss,
    build_model,
    load_records,
    training_losses,
)
from posekit.tasks.bottomup.evaluate import build_estimator

REPO = Path(__file__).resolve().parents[3]
CONFIGS = (
    "higherhrnet_w32_coco_512.yaml",
    "higherhrnet_w32_crowdpose_512.yaml",
    "synthetic/higherhrnet_w16_synthetic_256.yaml",
)


@pytest.mark.parametrize("name", CONFIGS)
def test_shipped_configs_load(name: str) -> None:
    task, config = load_task_config(REPO / "configs" / name)
    assert task is get_task("pose2d_bottomup") and isinstance(config, BottomUpConfig)
    if "synthetic" not in name:  # the official recipe
        assert config.train.lr == 0.001 and config.train.milestones == (200, 260) and config.train.epochs == 300
        assert config.loss.with_ae_loss == (True, False) and config.loss.push_loss_factor == (0.001, 0.001)
        assert config.augmentation.max_rotation == 30 and config.augmentation.max_translate == 40


def _small_config(tmp_path: Path, annotations: str, images: str, **train: Any) -> BottomUpConfig:
    data = read_config_file(REPO / "configs/synthetic/higherhrnet_w16_synthetic_256.yaml")
    data.pop("task")
    overrides = [
        f"data.train_annotations={annotations}", f"data.train_images={images}", "data.val_annotations=",
        "model.kwargs={\"input_size\": 128}", "data.batch_size=4", "data.workers=0",
        f"train.out_dir={tmp_path / 'run'}", "train.device=cpu", "train.curves=false", "train.progress=false",
        "train.eval_every=0", "train.log_every=2",
    ] + [f"train.{key}={value}" for key, value in train.items()]  # fmt: skip
    return load_config(data, BottomUpConfig, overrides)


def test_derived_codec_and_loss_follow_the_model(tmp_path: Path) -> None:
    config = _small_config(tmp_path, "a.json", "images")
    model = build_model(config)
    codec = build_codec(config, model)
    assert codec.input_size == (128, 128) and codec.output_sizes == (32, 64) and codec.tag_per_joint
    loss = build_loss(config.loss, model)
    assert loss.with_ae_loss == (True, False) and loss.heatmaps_loss_factor == (1.0, 1.0)
    with pytest.raises(ValueError, match="model output 1 carries no tags"):
        build_loss(LossConfig(with_ae_loss=(True, True)), model)
    with pytest.raises(ValueError, match="one value per model output"):
        build_loss(LossConfig(push_loss_factor=(0.1,)), model)
    # a perfect heatmap prediction leaves only the tag terms
    batch = {
        "heatmaps_0": torch.zeros(1, 17, 32, 32), "heatmaps_1": torch.zeros(1, 17, 64, 64),
        "masks_0": torch.ones(1, 32, 32), "masks_1": torch.ones(1, 64, 64),
        "joints_0": torch.zeros(1, 30, 17, 2, dtype=torch.int32),
        "joints_1": torch.zeros(1, 30, 17, 2, dtype=torch.int32),
    }  # fmt: skip
    outputs = [torch.zeros(1, 34, 32, 32), torch.zeros(1, 17, 64, 64)]
    terms = training_losses(outputs, batch, loss)
    assert float(terms["loss"]) == 0.0 and set(terms) == {"loss", "heatmap_0", "push_0", "pull_0", "heatmap_1"}
    with pytest.raises(ValueError, match="the model returned 1 outputs"):
        training_losses(outputs[:1], batch, loss)
    crowdpose = dataclasses.replace(config, data=dataclasses.replace(config.data, skeleton="crowdpose"))
    with pytest.raises(ValueError, match="predicts 17 joints but data.skeleton 'crowdpose' has 14"):
        build_model(crowdpose)


class _PerfectNetwork(torch.nn.Module):
    """Returns the codec's targets of the current image as network outputs: heatmaps, then tag maps
    holding ``person + 1`` at each labelled joint (a network that has learnt the task exactly)."""

    num_joints = 17
    tag_per_joint = True
    with_tags = (True, False)
    input_size = 128
    skeleton = "coco"

    def __init__(self, joints: dict[int, np.ndarray]) -> None:
        super().__init__()
        self.codec = AssociativeEmbedding(128, (32, 64), 17)
        self.joints = joints
        self.current = 0

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        joints = self.joints[self.current]
        target = self.codec.encode(joints[..., :2], (joints[..., 2] > 0).astype(np.float64))
        tags = np.zeros_like(target.heatmaps[0])
        for person, rows in enumerate(target.joints[0]):
            for flat, visible in rows:
                if visible:
                    tags.reshape(-1)[flat] = person + 1.0
        low = np.concatenate([target.heatmaps[0], tags])[None]  # (1, 2K, 32, 32)
        return [torch.from_numpy(low), torch.from_numpy(target.heatmaps[1][None])]


def test_evaluation_of_perfect_outputs_scores_high(tmp_path: Path) -> None:
    """The whole evaluation path (estimator, grouping, back-transform, COCO results, pycocotools) on exact maps."""
    from posekit.io.images import write_image
    from posekit.tasks.bottomup.evaluate import compute_metrics, predict_results

    rng = np.random.default_rng(0)
    images, annotations, joints = [], [], {}
    # a standing person's 17 COCO joints around its centre, in pixels
    template = np.array([[0, -30], [-3, -33], [3, -33], [-6, -31], [6, -31], [-10, -20], [10, -20], [-14, -5],
                         [14, -5], [-15, 8], [15, 8], [-7, 5], [7, 5], [-8, 20], [8, 20], [-8, 35], [8, 35]],
                        dtype=np.float64)  # fmt: skip
    for image_id in (1, 2, 3):
        people = []
        for centre_x in rng.permutation([28.0, 64.0, 100.0])[: 1 + image_id % 3]:
            points = template + [centre_x, 64.0] + rng.normal(0, 1.0, template.shape)
            people.append(np.concatenate([points, np.full((17, 1), 2.0)], axis=1))
            box = [points[:, 0].min(), points[:, 1].min(), np.ptp(points[:, 0]), np.ptp(points[:, 1])]
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1, "iscrowd": 0,
                                "keypoints": people[-1].reshape(-1).round(2).tolist(), "num_keypoints": 17,
                                "bbox": box, "area": box[2] * box[3]})  # fmt: skip
        joints[image_id] = np.asarray(people)
        write_image(tmp_path / f"{image_id}.png", np.zeros((128, 128, 3), np.uint8))
        images.append({"id": image_id, "file_name": f"{image_id}.png", "width": 128, "height": 128})
    categories = [{"id": 1, "name": "person"}]
    path = tmp_path / "val.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    config = _small_config(tmp_path, str(path), str(tmp_path))
    config = dataclasses.replace(
        config,
        data=dataclasses.replace(config.data, val_annotations=str(path), val_images=str(tmp_path)),
        eval=dataclasses.replace(config.eval, flip_test=False),
    )
    network = _PerfectNetwork(joints)
    records = load_records(config, "val")
    estimator = build_estimator(config, network, "cpu")  # type: ignore[arg-type]
    results = []
    for entry in records.images:
        network.current = entry.image_id
        results += predict_results(estimator, dataclasses.replace(records, images=(entry,)))
    assert len(results) == sum(len(people) for people in joints.values())
    metrics = compute_metrics(config, records, results)
    assert metrics["AP50"] == 1.0 and metrics["AP"] > 0.9, metrics


def _joint_contrast(weights: str, config: BottomUpConfig) -> float:
    """Mean predicted 1/4-resolution heatmap on the held-out images' joint peaks (target > 0.5) minus its
    mean on the background (target 0): how much more the network responds where the joints are."""
    from posekit.data.bottomup import BottomUpDataset
    from posekit.data.transforms import collate
    from posekit.tasks.bottomup.data import train_transform

    evaluated = dataclasses.replace(config, model=dataclasses.replace(config.model, weights=weights))
    model = build_model(evaluated)
    transform = train_transform(evaluated, model, build_codec(evaluated, model))
    transform.train = False  # the centred crop at scale 1, no augmentation
    dataset = BottomUpDataset(load_records(evaluated, "val"), transform)
    batch = collate([dataset[index] for index in range(len(dataset))])
    with torch.no_grad():
        heatmaps = model(batch["image"])[0][:, : model.num_joints]  # (B, K, R, R)
    target = batch["heatmaps_0"]
    return float(heatmaps[target > 0.5].mean() - heatmaps[target == 0].mean())


@pytest.mark.slow
def test_short_training_run_learns(tmp_path: Path) -> None:
    """A few dozen steps on tiny renders: the losses fall and the network responds at held-out joints.

    (Grouped AP needs more: after 60 or 100 such steps the peaks stayed below the 0.1 detection threshold and
    AP is 0, as with random weights; the synthetic recipe's AP comes from the full run.)
    """
    pytest.importorskip("pybullet", reason="the synthetic generator needs the DeepMimic clips of pybullet")
    from posekit.data.synthetic import SynthesisConfig, generate_dataset
    from posekit.tasks.bottomup import train

    synthesis = SynthesisConfig(
        image_size=(128, 128), people_per_image=(2, 3), occluder_probability=0.0, use_sample_pictures=False
    )
    root = tmp_path / "data"
    generate_dataset(root, num_train=16, num_val=6, seed=5, config=synthesis)
    config = _small_config(
        tmp_path, str(root / "annotations/train.json"), str(root / "images/train"),
        max_steps=40, epochs=100, lr=0.004, warmup_iters=0, schedule="constant", log_every=1,
    )  # fmt: skip
    config = dataclasses.replace(
        config,
        data=dataclasses.replace(config.data, val_images=str(root / "images/val")),
        augmentation=dataclasses.replace(
            config.augmentation, max_rotation=0, max_translate=0, min_scale=1, max_scale=1
        ),
    )
    held_out = dataclasses.replace(
        config, data=dataclasses.replace(config.data, val_annotations=str(root / "annotations/val.json"))
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread is several times faster than two on a busy 2-core machine
    try:
        torch.manual_seed(0)
        torch.save({"model": build_model(config).state_dict()}, tmp_path / "initial.pt")
        before = _joint_contrast(str(tmp_path / "initial.pt"), held_out)
        summary = train(config)
        after = _joint_contrast(summary["last_checkpoint"], held_out)
    finally:
        torch.set_num_threads(threads)
    records = [json.loads(line) for line in (tmp_path / "run/metrics.jsonl").read_text().splitlines()]
    losses = [record["heatmap_0"] for record in records if record["event"] == "train"]
    assert summary["step"] == 40 and len(losses) == 40
    assert np.mean(losses[-10:]) < 0.9 * np.mean(losses[:5])
    assert abs(before) < 0.005 and after > 0.01, (before, after)
