"""Task pose2d_bottomup: configs, the loss composition, and a short learning run on synthetic renders."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from posekit.config import load_config
from posekit.tasks import get_task, load_task_config, read_config_file
from posekit.tasks.bottomup import BottomUpConfig, LossConfig, build_codec, build_loss, build_model, training_losses

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


@pytest.mark.slow
def test_short_training_run_learns(tmp_path: Path) -> None:
    """A few dozen steps on tiny renders: the losses fall and held-out AP rises above the random-weights AP."""
    pytest.importorskip("pybullet", reason="the synthetic generator needs the DeepMimic clips of pybullet")
    from posekit.data.synthetic import SynthesisConfig, generate_dataset
    from posekit.tasks.bottomup import evaluate, train

    synthesis = SynthesisConfig(
        image_size=(128, 128), people_per_image=(2, 3), occluder_probability=0.0, use_sample_pictures=False
    )
    generate_dataset(tmp_path / "data", num_train=16, num_val=6, seed=5, config=synthesis)
    root = tmp_path / "data"
    config = _small_config(
        tmp_path, str(root / "annotations/train.json"), str(root / "images/train"),
        max_steps=40, epochs=100, lr=0.004, warmup_iters=0, schedule="constant",
    )  # fmt: skip
    config = dataclasses.replace(
        config,
        data=dataclasses.replace(
            config.data, val_annotations=str(root / "annotations/val.json"), val_images=str(root / "images/val")
        ),
        augmentation=dataclasses.replace(
            config.augmentation, max_rotation=0, max_translate=0, min_scale=1, max_scale=1
        ),
        eval=dataclasses.replace(config.eval, flip_test=False),
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        initial = build_model(config)
        torch.save({"model": initial.state_dict()}, tmp_path / "initial.pt")
        before = evaluate(config, str(tmp_path / "initial.pt"))
        summary = train(dataclasses.replace(config, data=dataclasses.replace(config.data, val_annotations="")))
        after = evaluate(config, summary["last_checkpoint"])
    finally:
        torch.set_num_threads(threads)
    records = [json.loads(line) for line in (tmp_path / "run/metrics.jsonl").read_text().splitlines()]
    losses = [record["heatmap_0"] for record in records if record["event"] == "train"]
    assert summary["step"] == 40
    assert np.mean(losses[-3:]) < 0.7 * np.mean(losses[:3])
    assert after["AP"] > before["AP"] + 0.02, (before, after)
