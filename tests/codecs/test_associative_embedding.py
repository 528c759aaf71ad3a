"""The associative-embedding codec against the official target generators (stored fixture) and by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from posekit.codecs.associative_embedding import AssociativeEmbedding, gaussian_window

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures/official/higherhrnet_training.pt"


@pytest.fixture(scope="module")
def official() -> dict:
    return torch.load(FIXTURE, weights_only=True)["generators"]


def test_heatmaps_and_tag_joints_match_the_official_generators(official: dict) -> None:
    num_joints = official["num_joints"]
    for case in official["cases"]:
        joints = case["joints"].numpy()
        codec = AssociativeEmbedding(4 * case["size"], [case["size"]], num_joints, sigma=case["sigma"])
        np.testing.assert_array_equal(codec.encode_heatmaps(joints), case["heatmaps"].numpy())
        np.testing.assert_array_equal(codec.encode_tag_joints(joints), case["tag_joints_per_joint"].numpy())
        shared = AssociativeEmbedding(4 * case["size"], [case["size"]], num_joints, tag_per_joint=False)
        np.testing.assert_array_equal(shared.encode_tag_joints(joints), case["tag_joints_shared"].numpy())


def test_gaussian_window_and_edge_rules_by_hand() -> None:
    window = gaussian_window(2.0)
    assert window.shape == (15, 15) and window[7, 7] == 1.0
    assert window[7, 9] == pytest.approx(np.exp(-4 / 8))
    codec = AssociativeEmbedding(64, [16, 32], 2, sigma=2.0)
    joints = np.array([[[-0.5, 3.9, 1.0], [16.0, 2.0, 2.0]]])  # x -0.5 -> pixel 0; x 16 outside the 16 map
    target = codec.encode_joints([joints, joints * [2, 2, 1]])
    low = target.heatmaps[0]
    assert low.shape == (2, 16, 16) and low[0, 3, 0] == 1.0 and low[1].max() == 0.0
    assert low[0, 3, 2] == pytest.approx(np.exp(-4 / 8))
    np.testing.assert_array_equal(target.joints[0][0], [[3 * 16 + 0, 1], [0, 0]])
    high = target.joints[1]  # at 32: (-1, 7.8) is outside, (32, 4) too
    assert high.shape == (30, 2, 2) and high.sum() == 0
    # the convenience encode scales input pixels by R / input
    scaled = codec.encode(np.array([[[8.0, 12.0], [40.0, 40.0]]]), np.array([[1.0, 0.0]]))
    np.testing.assert_array_equal(scaled.joints[0][0, 0], [3 * 16 + 2, 1])
    assert scaled.heatmaps[1][0, 6, 4] == 1.0 and scaled.heatmaps[1][1].max() == 0.0


def test_more_people_than_slots_keeps_the_first() -> None:
    codec = AssociativeEmbedding(32, [8], 1, max_num_people=2)
    joints = np.array([[[1.0, 1.0, 1.0]], [[2.0, 2.0, 1.0]], [[3.0, 3.0, 1.0]]])
    rows = codec.encode_tag_joints(joints)
    np.testing.assert_array_equal(rows[:, 0], [[9, 1], [18, 1]])
    assert codec.encode_heatmaps(joints)[0, 3, 3] == 1.0  # every person still has its heatmap


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="sigma must be one value or one per output size"):
        AssociativeEmbedding(64, [16, 32], 17, sigma=(2.0,))
    codec = AssociativeEmbedding(64, [16, 32], 17)
    with pytest.raises(ValueError, match=r"joints must have shape \(N, 17, 3\)"):
        codec.encode_heatmaps(np.zeros((2, 14, 3)))
    with pytest.raises(ValueError, match="one array per output size"):
        codec.encode_joints([np.zeros((1, 17, 3))])
    assert codec.heatmap_size == (16, 16) and codec.input_size == (64, 64)


def test_decode_groups_encoded_people() -> None:
    """Round trip: encoded heatmaps plus one tag value per person decode to the same people."""
    codec = AssociativeEmbedding(128, [32], 3)
    joints = np.array(
        [[[4.0, 5.0, 2], [10.0, 6.0, 2], [7.0, 20.0, 2]], [[22.0, 8.0, 2], [28.0, 9.0, 2], [25.0, 24.0, 2]]]
    )
    target = codec.encode_joints([joints])
    tags = np.zeros((3, 32, 32, 1), dtype=np.float32)
    for person, rows in enumerate(target.joints[0]):
        for flat, visible in rows:
            if visible:
                tags.reshape(-1)[flat] = 5.0 * person
    people, scores = codec.decode(target.heatmaps[0], tags)
    assert people.shape == (2, 3, 4) and scores.shape == (2,)
    order = np.argsort(people[:, 0, 0])
    # the peaks are read back at their pixels (+0.5, the official decoder's convention, see ae_grouping)
    np.testing.assert_allclose(people[order, :, :2], joints[:, :, :2] + 0.5, atol=0.26)
    np.testing.assert_allclose(scores, 1.0, atol=1e-6)
