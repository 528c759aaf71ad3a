"""group_people == the official HigherHRNet HeatmapParser.parse, on outputs recorded from the official code.

``tests/fixtures/official/grouping_golden.npz`` holds synthetic heatmaps/tags and what the official
``lib/core/group.py`` (with munkres 1.1.4) returned for them (``benchmarks/record_grouping_golden.py``
documents every case: thresholds at their float boundaries, quarter-offset ties, refilled joints,
more than 30 people, tied scores, colliding tags, an empty frame, a shared tag map, 14 joints, two
tag columns, ignore_too_much, the plain distance cost). Identity is float32 bit for bit.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from posekit.codecs import ae_grouping
from posekit.codecs.ae_grouping import COCO_JOINT_ORDER, GroupingConfig, group_people, synthetic_ae_maps

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "official" / "grouping_golden.npz"
CONFIG_FIELDS = set(GroupingConfig.__dataclass_fields__)


def _load_golden() -> dict[str, dict[str, object]]:
    with np.load(GOLDEN, allow_pickle=False) as archive:
        data = {name: archive[name] for name in archive.files}
    cases: dict[str, dict[str, object]] = {}
    for key, value in data.items():
        if "/" in key:
            case, field = key.split("/")
            cases.setdefault(case, {})[field] = value
    return cases


GOLDEN_CASES = _load_golden()


def _config(case: dict[str, object]) -> tuple[GroupingConfig, bool, bool]:
    settings = json.loads(str(case["config"]))
    config = GroupingConfig(**{name: value for name, value in settings.items() if name in CONFIG_FIELDS})
    return config, settings["adjust"], settings["refine"]


def _same(people: np.ndarray, scores: list[float], case: dict[str, object]) -> bool:
    expected = np.asarray(case["people"])
    return (
        people.dtype == np.float32
        and people.shape == expected.shape
        and np.array_equal(people.view(np.uint32), expected.view(np.uint32))
        and scores == [float(score) for score in np.asarray(case["scores"])]
    )


def test_golden_fixture_holds_every_case() -> None:
    assert set(GOLDEN_CASES) == {
        "basic",
        "basic_no_refine",
        "basic_no_adjust",
        "boundaries",
        "quarter_ties",
        "refill",
        "crowd",
        "tied_scores",
        "colliding_tags",
        "colliding_keys",
        "empty",
        "shared_tag",
        "crowdpose",
        "flip",
        "ignore_too_much",
        "plain_distance",
    }


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_identical_to_the_official_heatmap_parser(name: str) -> None:
    case = GOLDEN_CASES[name]
    config, adjust, refine = _config(case)
    heatmaps = np.asarray(case["heatmaps"]).astype(np.float32)
    tags = np.asarray(case["tags"]).astype(np.float32)
    people, scores = group_people(heatmaps, tags, config, adjust=adjust, refine=refine)
    assert _same(people, scores, case)


def test_golden_cases_exercise_the_edges() -> None:
    """The recorded official outputs really contain the situations the cases are named after."""
    boundaries = np.asarray(GOLDEN_CASES["boundaries"]["people"])
    assert np.float32(0.1) in boundaries[:, 0, 2]  # score exactly float32(0.1) kept
    assert not np.isin(np.nextafter(np.float32(0.1), np.float32(0)), boundaries[:, :, 2]).any()  # just below: dropped
    assert 1.0 in boundaries[:, 1, 3] and np.nextafter(np.float32(1), np.float32(0)) in boundaries[:, 1, 3]
    assert (boundaries[:, 2, 2] > 0).all() and (boundaries[:, 2, 3] == 0).all()  # joint 2 only ever refilled
    assert np.asarray(GOLDEN_CASES["colliding_keys"]["people"]).shape[0] == 1  # P, Q merged; R joined them
    ties = np.asarray(GOLDEN_CASES["quarter_ties"]["people"])
    visible = ties[ties[:, :, 2] > 0]
    assert np.isin(visible[:, :2] % 1, [0.25]).mean() > 0.5  # equal neighbours: -0.25, the common case here
    refill = GOLDEN_CASES["refill"]
    refilled = (np.asarray(refill["people"])[:, :, 2] > 0).sum()
    assert refilled > (np.asarray(GOLDEN_CASES["refill"]["people"])[:, :, 3] != 0).sum()  # refilled: tag 0
    assert np.asarray(GOLDEN_CASES["crowd"]["people"]).shape[0] > 30
    assert np.asarray(GOLDEN_CASES["empty"]["people"]).shape[0] == 0
    assert np.asarray(GOLDEN_CASES["flip"]["people"]).shape[2] == 5
    assert np.asarray(GOLDEN_CASES["crowdpose"]["people"]).shape[1] == 14
    heatmaps = np.asarray(GOLDEN_CASES["tied_scores"]["heatmaps"]).astype(np.float32)
    pooled = torch.nn.functional.max_pool2d(torch.from_numpy(heatmaps)[None], 5, 1, 2)[0].numpy()
    peaks = heatmaps[(heatmaps == pooled) & (heatmaps > 0.1)]
    assert np.unique(peaks).size < peaks.size / 4  # many tied peak scores


def test_torch_inputs_give_the_same_result() -> None:
    case = GOLDEN_CASES["flip"]
    config, adjust, refine = _config(case)
    heatmaps = torch.from_numpy(np.asarray(case["heatmaps"]).astype(np.float32))
    tags = torch.from_numpy(np.asarray(case["tags"]).astype(np.float32))
    people, scores = group_people(heatmaps, tags, config, adjust=adjust, refine=refine)
    assert _same(people, scores, case)


def test_empty_frame_gives_no_people() -> None:
    heatmaps = np.zeros((17, 32, 48), dtype=np.float32)
    people, scores = group_people(heatmaps, np.zeros((17, 32, 48, 2), dtype=np.float32), GroupingConfig(17))
    assert people.shape == (0, 17, 5) and people.dtype == np.float32 and scores == []


@pytest.mark.parametrize("columns", [1, 2, 3])
def test_refine_distance_is_the_official_expression_bit_for_bit(columns: int) -> None:
    rng = np.random.default_rng(columns)
    tags = (rng.standard_normal((37, 53, columns)) * rng.choice([0.01, 1.0, 100.0])).astype(np.float32)
    for mean_tag in rng.standard_normal((5, columns)).astype(np.float32):
        official = ((tags - mean_tag[None, None, :]) ** 2).sum(axis=2) ** 0.5
        ours = ae_grouping._tag_distance(tags, mean_tag)
        assert ours.dtype == np.float32 and np.array_equal(ours.view(np.uint32), official.view(np.uint32))


@pytest.mark.parametrize("columns", [1, 2])
def test_bounded_refine_search_equals_the_full_map_search(columns: int) -> None:
    """Refine's bounds skip only pixels that cannot reach the maximum: same pixel as the full argmax."""
    rng = np.random.default_rng(columns)
    bounded = 0
    kernel = np.ones((5, 5), dtype=np.uint8)
    for trial in range(25):
        heatmaps, tags, _ = synthetic_ae_maps(
            int(rng.integers(1, 12)),
            num_joints=1,
            size=(int(rng.integers(64, 200)), int(rng.integers(64, 150))),  # partial border tiles too
            sigma=float(rng.uniform(1, 4)),
            tag_columns=columns,
            noise=float(rng.choice([0.0, 0.02, 0.3])),
            tag_noise=float(rng.choice([0.0, 0.05, 0.5])),
            seed=trial,
        )
        if trial % 3 == 0:
            heatmaps = np.round(heatmaps * 8) / 8  # ties between pixels
            tags = np.round(tags * 2) / 2
        heatmap, tag = heatmaps[0], tags[0]
        pooled = cv2.dilate(heatmap, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=-np.inf)
        peaks = rng.choice(heatmap.size, size=int(rng.integers(0, 30)), replace=False)
        tile_pixels = ae_grouping._tile_pixels(*heatmap.shape)
        assert np.array_equal(np.unique(tile_pixels), np.arange(heatmap.size))  # the tiles cover the map
        bounds = ae_grouping._SearchBounds(pooled, tag, peaks, tile_pixels)
        # the tile maxima read off the 5x5 max-pool are the true ones (or above, at partial border tiles)
        assert (bounds.tile_max >= heatmap.reshape(-1)[tile_pixels].max(axis=1)).all()
        for mean_tag in np.concatenate((tag.reshape(-1, columns)[peaks[:6]], rng.uniform(-1, 20, (6, columns)))):
            mean_tag = mean_tag.astype(np.float32)
            full = ae_grouping._refine_search(heatmap, tag, mean_tag, None)
            assert ae_grouping._refine_search(heatmap, tag, mean_tag, bounds) == full
            upper = bounds.upper_bounds(mean_tag)
            probes = np.concatenate((tile_pixels[np.argmax(upper)], peaks))
            best = ae_grouping._search_values(heatmap, tag, probes, mean_tag).max()
            bounded += int((upper >= best).sum() * 4 <= upper.size or (heatmap >= best).sum() * 4 <= heatmap.size)
    assert bounded > 150  # of the 300 searches, most skipped most of the map (200 when written)


def test_mismatched_shapes_raise_one_sentence_naming_both() -> None:
    config = GroupingConfig(17)
    heatmaps = np.zeros((17, 32, 48), dtype=np.float32)
    with pytest.raises(
        ValueError, match=r"tags of shape \(17, 16, 48, 1\) do not fit heatmaps of shape \(17, 32, 48\)"
    ):
        group_people(heatmaps, np.zeros((17, 16, 48, 1), dtype=np.float32), config)
    with pytest.raises(ValueError, match=r"expected \(1, 32, 48, L\).*one shared tag map"):
        group_people(heatmaps, np.zeros((17, 32, 48, 1)), GroupingConfig(17, tag_per_joint=False))
    with pytest.raises(ValueError, match=r"heatmaps must have shape \(K=17, H, W\), got \(14, 32, 48\)"):
        group_people(np.zeros((14, 32, 48)), np.zeros((14, 32, 48)), config)
    with pytest.raises(ValueError, match="finite"):
        group_people(np.full((17, 32, 48), np.nan), np.zeros((17, 32, 48)), config)
    with pytest.raises(ValueError, match="fewer pixels than max_num_people"):
        group_people(np.zeros((17, 4, 5)), np.zeros((17, 4, 5)), config)


def test_config_defaults_and_checks() -> None:
    assert GroupingConfig(17).order == COCO_JOINT_ORDER
    assert GroupingConfig(14).order == COCO_JOINT_ORDER[:14] and sorted(COCO_JOINT_ORDER[:14]) == list(range(14))
    assert GroupingConfig(5).order == (0, 1, 2, 3, 4)
    assert GroupingConfig(3, joint_order=(2, 0, 1)).order == (2, 0, 1)
    with pytest.raises(ValueError, match="permutation"):
        GroupingConfig(3, joint_order=(0, 0, 1))
    with pytest.raises(ValueError, match="2 \\* nms_padding \\+ 1"):
        GroupingConfig(17, nms_kernel=5, nms_padding=1)
