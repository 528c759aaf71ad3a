"""Task pose2d: configs, flip test, training view and losses, metrics, and a short learning run."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from posekit.codecs import MSRAHeatmap, flip_coordinates
from posekit.config import load_config
from posekit.data.keypoints2d import PersonRecords, load_coco_keypoints
from posekit.io.images import write_image
from posekit.models.pose2d.base import Pose2DModel, Pose2DOutput
from posekit.models.registry import list_models
from posekit.skeletons import get_skeleton
from posekit.tasks import read_config_file
from posekit.tasks.pose2d import (
    CascadeConfig,
    DataConfig,
    EvalConfig,
    LossConfig,
    ModelConfig,
    Pose2DConfig,
    Pose2DLosses,
    Pose2DTrainingView,
    build_codec_for_model,
    build_model,
    compute_metrics,
    predict_records,
    recompute_batchnorm_statistics,
    training_losses,
)

REPO = Path(__file__).resolve().parents[3]
CONFIGS = sorted(path for path in (REPO / "configs").rglob("*.yaml") if read_config_file(path).get("task") == "pose2d")


@pytest.mark.parametrize("path", CONFIGS, ids=[str(path.relative_to(REPO / "configs")) for path in CONFIGS])
def test_every_recipe_loads_and_names_a_registered_model(path: Path) -> None:
    data = read_config_file(path)
    data.pop("task")
    config = load_config(data, Pose2DConfig, source=str(path))
    assert config.model.name in list_models()
    get_skeleton(config.data.skeleton)


def test_synthetic_recipes_cover_every_family() -> None:
    families = {path.stem for path in (REPO / "configs" / "synthetic").glob("*.yaml")}
    assert {"simplebaseline", "hrnet", "hourglass", "cpm", "deeppose", "ief", "integral", "dscnn"} <= families


class DotModel(Pose2DModel):
    """Heatmaps = the red channel average-pooled to stride 4, copied to every keypoint (equivariant)."""

    def __init__(self, kind: str = "heatmap") -> None:
        super().__init__(17, (48, 64), kind, None if kind == "coordinates" else (12, 16), 1)  # type: ignore[arg-type]
        self.scale = torch.nn.Parameter(torch.ones(()))

    def forward_outputs(self, images: torch.Tensor) -> Pose2DOutput:
        red = images[:, :1] * self.scale
        if self.output_kind == "coordinates":
            flat = red.flatten(1).argmax(dim=1)  # (B,)
            width = images.shape[-1]
            location = torch.stack([flat % width, flat // width], dim=-1).float()  # (B, 2) input pixels
            size = torch.tensor([width, images.shape[-2]], dtype=torch.float32)
            return Pose2DOutput(stage_coordinates=[(location / size)[:, None].expand(-1, 17, -1)])
        return Pose2DOutput(stage_heatmaps=[F.avg_pool2d(red, 4).expand(-1, 17, -1, -1)])


def _dot_records(tmp_path: Path, dot: tuple[int, int]) -> PersonRecords:
    image = np.zeros((64, 48, 3), np.uint8)
    x, y = dot
    image[y : y + 4, x : x + 4, 0] = 255  # a 4x4 red square covering heatmap cell (x / 4, y / 4)
    write_image(tmp_path / "dot.png", image)
    return PersonRecords(
        image_files=(str(tmp_path / "dot.png"),),
        image_ids=np.array([1]),
        annotation_ids=np.array([1]),
        centers=np.array([[24.0, 32.0]]),  # identity crop
        scales=np.array([[48.0, 64.0]]),
        keypoints=np.zeros((1, 17, 2), np.float32),
        visible=np.ones((1, 17), np.float32),
        boxes=np.array([[0.0, 0.0, 47.0, 63.0]]),
        box_scores=np.ones(1),
        areas=np.ones(1),
        skeleton="coco",
        source="test",
    )


def test_flip_test_of_heatmaps(tmp_path: Path) -> None:
    records = _dot_records(tmp_path, (20, 36))
    codec = MSRAHeatmap((48, 64), (12, 16), sigma=2.0)
    model = DotModel()
    plain, scores = predict_records(model, records, codec, flip_test=False)
    # the pooled peak is cell (5, 9); its neighbours are 0, so no quarter offset: pixel (20, 36)
    np.testing.assert_allclose(plain[0, 0], [20.0, 36.0], atol=1e-4)
    # mirrored and flipped back without the shift: the same maps, the same answer
    flipped, _ = predict_records(model, records, codec, flip_test=True, shift_heatmap=False)
    np.testing.assert_allclose(flipped, plain, atol=1e-4)
    # HRNet's shift moves the mirrored maps one cell right: the average peaks at cell 5 with a higher
    # right neighbour, so the quarter offset moves the answer by a quarter cell (1 px)
    shifted, _ = predict_records(model, records, codec, flip_test=True, shift_heatmap=True)
    np.testing.assert_allclose(shifted[0, 0], [21.0, 36.0], atol=1e-4)
    assert scores.shape == (1, 17)


def test_flip_test_of_coordinates(tmp_path: Path) -> None:
    records = _dot_records(tmp_path, (20, 36))
    model = DotModel("coordinates")
    codec = build_codec_for_model(model, DataConfig())
    plain, scores = predict_records(model, records, codec, flip_test=False)
    flipped, _ = predict_records(model, records, codec, flip_test=True)
    np.testing.assert_allclose(plain[0, 0], [20.0, 36.0], atol=1e-4)  # the top-left pixel of the square
    # the mirrored argmax is the square's other corner (x = 23): the flip test averages the two
    np.testing.assert_allclose(flipped[0, 0], [21.5, 36.0], atol=1e-4)
    np.testing.assert_array_equal(scores, 1.0)
    coordinates = torch.rand(2, 17, 2)
    flip = get_skeleton("coco").flip_indices
    twice = flip_coordinates(flip_coordinates(coordinates, flip, 48), flip, 48)
    torch.testing.assert_close(twice, coordinates)


def _config(name: str, **model_kwargs: object) -> Pose2DConfig:
    return Pose2DConfig(model=ModelConfig(name=name, kwargs=dict(model_kwargs)), data=DataConfig())


def test_training_view_shares_weights_and_freezes_deeppose_stages() -> None:
    model = build_model(_config("deeppose_res18_128x96"))
    view = Pose2DTrainingView(model, stage=1)
    assert list(view.state_dict()) == list(model.state_dict())
    assert all(not p.requires_grad for p in model.stages[0].parameters())
    assert all(p.requires_grad for p in model.stages[1].parameters())
    view.train()
    assert not model.stages[0].training and model.stages[1].training
    images = torch.randn(2, 3, 128, 96)
    outputs = view(images)
    assert len(outputs["coordinates"]) == 2
    batch = {"keypoint_labels": torch.rand(2, 17, 2), "target_weight": torch.ones(2, 17)}
    terms = training_losses(outputs, batch, model, Pose2DLosses(LossConfig()), stage=1)
    terms["loss"].backward()
    assert all(p.grad is None for p in model.stages[0].parameters())
    assert any(p.grad is not None for p in model.stages[1].parameters())
    with pytest.raises(ValueError, match="stage is for DeepPose cascades only"):
        Pose2DTrainingView(build_model(_config("cpm_tiny_128x128")), stage=0)


def test_deeppose_refinement_is_fed_simulated_estimates_in_training_only(monkeypatch: pytest.MonkeyPatch) -> None:
    model = build_model(_config("deeppose_res18_128x96"))
    fed: list[torch.Tensor] = []
    original_refine = model.refine

    def recording_refine(images: torch.Tensor, coordinates: torch.Tensor, stage: int) -> torch.Tensor:
        fed.append(coordinates.detach().clone())
        return original_refine(images, coordinates, stage)

    monkeypatch.setattr(model, "refine", recording_refine)
    images = torch.randn(2, 3, 128, 96)
    labels = torch.rand(2, 17, 2)
    # Every joint simulated: the refinement stage sees the labels moved by N(0, (0.25 * box side)^2).
    view = Pose2DTrainingView(model, cascade=CascadeConfig(simulated_fraction=1.0, simulated_std=0.25))
    view.train()
    outputs = view(images, labels)
    assert len(outputs["coordinates"]) == 2
    offsets_pixels = (fed[-1] - labels) * torch.tensor([96.0, 128.0])  # (2, 17, 2)
    expected_std = 0.25 * model.crop_size[0]
    assert 0.6 * expected_std < float(offsets_pixels.std()) < 1.4 * expected_std
    # The loss on stage 2 trains stage 2 only (the simulated input carries no gradient).
    batch = {"keypoint_labels": labels, "target_weight": torch.ones(2, 17)}
    training_losses(outputs, batch, model, Pose2DLosses(LossConfig()))["loss"].backward()
    assert any(p.grad is not None for p in model.stages[1].parameters())
    # Fraction 0, or eval mode: the previous stage's own estimates.
    view.eval()
    with torch.no_grad():
        view(images, labels)
        torch.testing.assert_close(fed[-1], model.initial_estimate(images))
    view_plain = Pose2DTrainingView(model, cascade=CascadeConfig(simulated_fraction=0.0))
    view_plain.train()
    view_plain(images, labels)
    assert not torch.allclose(fed[-1], labels, atol=0.05)
    with pytest.raises(ValueError, match="simulated_fraction"):
        CascadeConfig(simulated_fraction=1.5)


def test_recompute_batchnorm_statistics_averages_batches_and_keeps_eval_layers() -> None:
    trained = torch.nn.BatchNorm1d(2)
    frozen = torch.nn.BatchNorm1d(2)
    frozen.running_mean.fill_(7.0)
    model = torch.nn.Sequential(trained, frozen)

    class KeepFrozen(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def train(self, mode: bool = True) -> KeepFrozen:
            super().train(mode)
            frozen.eval()
            return self

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            return self.inner(images)

    wrapper = KeepFrozen().eval()
    batches = [
        {"image": torch.tensor([[0.0, 1.0], [2.0, 5.0]])},  # means (1, 3), unbiased variances (2, 8)
        {"image": torch.tensor([[4.0, 0.0], [6.0, 0.0]])},  # means (5, 0), unbiased variances (2, 0)
        {"image": torch.tensor([[100.0, 100.0], [300.0, 100.0]])},  # beyond num_batches: unused
    ]
    assert recompute_batchnorm_statistics(wrapper, batches, num_batches=2) == 2
    torch.testing.assert_close(trained.running_mean, torch.tensor([3.0, 1.5]))
    torch.testing.assert_close(trained.running_var, torch.tensor([2.0, 4.0]))
    assert trained.momentum == 0.1 and not wrapper.training and not trained.training
    torch.testing.assert_close(frozen.running_mean, torch.full((2,), 7.0))
    with pytest.raises(ValueError, match="num_batches"):
        recompute_batchnorm_statistics(wrapper, batches, num_batches=0)


def test_cpm_loss_adds_the_background_map_on_every_stage() -> None:
    model = build_model(_config("cpm_tiny_128x128", num_stages=2))
    view = Pose2DTrainingView(model)
    outputs = view(torch.randn(1, 3, 128, 128))
    assert [stage.shape[1] for stage in outputs["heatmaps"]] == [18, 18]
    heatmaps = torch.zeros(1, 17, 16, 16)
    batch = {"heatmaps": heatmaps, "target_weight": torch.ones(1, 17)}
    terms = training_losses(outputs, batch, model, Pose2DLosses(LossConfig()))
    background = torch.ones(1, 1, 16, 16)
    expected = sum(
        0.5 * torch.mean((stage - torch.cat([heatmaps, background], dim=1)) ** 2) for stage in outputs["heatmaps"]
    )
    torch.testing.assert_close(terms["heatmap"], expected)


def test_ief_loss_regresses_bounded_corrections() -> None:
    from posekit.models.pose2d.ief import ief_targets

    model = build_model(_config("ief_res18_128x96"))
    view = Pose2DTrainingView(model)
    outputs = view(torch.randn(2, 3, 128, 96))
    labels = torch.rand(2, 17, 2)
    batch = {"keypoint_labels": labels, "target_weight": torch.ones(2, 17)}
    terms = training_losses(outputs, batch, model, Pose2DLosses(LossConfig(coordinate="mse")))
    expected = sum(
        F.mse_loss(correction, ief_targets(estimate, labels, model.max_step, model.input_size))
        for estimate, correction in zip(outputs["estimates"], outputs["corrections"], strict=True)
    )
    torch.testing.assert_close(terms["correction"], expected)


def test_metrics_of_perfect_predictions(shared_data: Path) -> None:
    folder = shared_data / "crowdpose"
    annotations = folder / "test_crowdpose.json"
    records = load_coco_keypoints(annotations, folder, "crowdpose", (192, 256))
    scores = np.ones(records.visible.shape, np.float32)
    metrics, results = compute_metrics(records, records.keypoints, scores, EvalConfig(metric="pck"))
    assert metrics == {"PCK": 1.0, "EPE": 0.0}
    metrics, results = compute_metrics(records, records.keypoints, scores, EvalConfig(), str(annotations))
    assert metrics["AP"] == pytest.approx(1.0) and len(results) == 4
    assert "APeasy" in metrics  # CrowdPose is scored with its easy/medium/hard split
    with pytest.raises(ValueError, match="metric pckh needs head boxes"):
        compute_metrics(records, records.keypoints, scores, EvalConfig(metric="pckh"))


@pytest.mark.slow
def test_short_training_run_learns(tmp_path: Path) -> None:
    """A few dozen steps on a tiny synthetic set: the loss falls and PCK rises."""
    pytest.importorskip("pybullet", reason="the synthetic generator needs the DeepMimic clips of pybullet")
    from posekit.data.synthetic import SynthesisConfig, generate_dataset

    config_synth = SynthesisConfig(
        image_size=(96, 128), people_per_image=(1, 1), occluder_probability=0.0, use_sample_pictures=False
    )
    generate_dataset(tmp_path / "data", num_train=12, num_val=0, seed=3, config=config_synth)
    annotations, images = str(tmp_path / "data/annotations/train.json"), str(tmp_path / "data/images/train")
    data = read_config_file(REPO / "configs/synthetic/deeppose.yaml")
    data.pop("task")
    overrides = [
        f"data.train_annotations={annotations}", f"data.train_images={images}",
        f"data.val_annotations={annotations}", f"data.val_images={images}",
        "data.batch_size=4", "data.workers=0", "model.kwargs={\"num_stages\": 1}",
        "augmentation.flip_prob=0", "augmentation.rotation_prob=0", "augmentation.scale_factor=0",
        "augmentation.half_body_prob=0", "train.epochs=100", "train.max_steps=30", "train.warmup_iters=0",
        "train.milestones=[]", "train.log_every=3", "train.eval_every=0", "train.curves=false", "train.progress=false",
        f"train.out_dir={tmp_path / 'run'}", "train.device=cpu", "eval.flip_test=false",
    ]  # fmt: skip
    config = load_config(data, Pose2DConfig, overrides)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread is several times faster than two on a busy 2-core machine
    try:
        before, after, summary = _train_and_evaluate(config, tmp_path)
    finally:
        torch.set_num_threads(threads)
    losses = [
        record["loss"]
        for record in map(json.loads, (tmp_path / "run/metrics.jsonl").read_text().splitlines())
        if record["event"] == "train"
    ]
    assert summary["step"] == 30
    assert np.mean(losses[-3:]) < 0.7 * np.mean(losses[:3])
    assert after["PCK"] > before["PCK"] + 0.05


def _train_and_evaluate(
    config: Pose2DConfig, tmp_path: Path
) -> tuple[dict[str, float], dict[str, float], dict[str, Any]]:
    from posekit.tasks.pose2d import evaluate, train

    untrained = dataclasses.replace(config, model=dataclasses.replace(config.model, weights=None))
    model = build_model(untrained)
    torch.save({"model": model.state_dict()}, tmp_path / "initial.pt")
    before = evaluate(config, str(tmp_path / "initial.pt"))
    summary = train(config)
    after = evaluate(config, summary["last_checkpoint"])
    return before, after, summary
