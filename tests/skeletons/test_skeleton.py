"""Tests for posekit.skeletons.skeleton and the built-in definitions."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from posekit.skeletons import (
    Skeleton,
    get_skeleton,
    list_skeletons,
    register_skeleton,
)

BUILT_IN = ["blazepose", "coco", "crowdpose", "h36m", "lsp", "mpii", "ntu", "smpl"]


def test_list_skeletons_contains_built_ins() -> None:
    assert set(BUILT_IN) <= set(list_skeletons())
    assert list_skeletons() == sorted(list_skeletons())


@pytest.mark.parametrize(
    ("alias", "name", "num_keypoints"),
    [
        ("coco17", "coco", 17),
        ("coco_17", "coco", 17),
        ("COCO", "coco", 17),
        ("mpii16", "mpii", 16),
        ("h36m17", "h36m", 17),
        ("human36m", "h36m", 17),
        ("Human3.6M", "h36m", 17),
        ("crowdpose14", "crowdpose", 14),
        ("smpl24", "smpl", 24),
        ("ntu25", "ntu", 25),
        ("blazepose33", "blazepose", 33),
        ("BlazePose-33", "blazepose", 33),
    ],
)
def test_aliases(alias: str, name: str, num_keypoints: int) -> None:
    skeleton = get_skeleton(alias)
    assert skeleton.name == name
    assert skeleton.num_keypoints == num_keypoints
    assert get_skeleton(skeleton) is skeleton


def test_unknown_skeleton_lists_known_names() -> None:
    with pytest.raises(ValueError, match="unknown skeleton 'openpose'.*coco"):
        get_skeleton("openpose")
    with pytest.raises(ValueError, match="coco17"):
        get_skeleton("coco17x")


def test_index_error_names_skeleton_and_valid_names() -> None:
    coco = get_skeleton("coco")
    assert coco.index("right_ankle") == 16
    with pytest.raises(ValueError, match=r"skeleton 'coco' has no keypoint 'pelvis'; valid names: \['nose'"):
        coco.index("pelvis")


@pytest.mark.parametrize("name", BUILT_IN)
def test_names_links_pairs_groups_are_consistent(name: str) -> None:
    skeleton = get_skeleton(name)
    names = set(skeleton.keypoint_names)
    assert len(names) == skeleton.num_keypoints
    for a, b in skeleton.links:
        assert a in names and b in names
    for a, b in skeleton.link_indices:
        assert 0 <= a < skeleton.num_keypoints and 0 <= b < skeleton.num_keypoints
    for group in ("upper", "lower", "left", "right", "torso"):
        assert group in skeleton.groups, group
    for members in skeleton.groups.values():
        assert set(members) <= names
    # upper and lower partition the joints
    assert sorted(skeleton.upper_body_indices + skeleton.lower_body_indices) == list(range(skeleton.num_keypoints))
    assert all(n.startswith("left_") or "_left" in n for n in skeleton.groups["left"])


@pytest.mark.parametrize("name", BUILT_IN)
def test_flip_indices_is_an_involution_mapping_left_to_right(name: str) -> None:
    skeleton = get_skeleton(name)
    flip = np.asarray(skeleton.flip_indices)
    assert sorted(flip.tolist()) == list(range(skeleton.num_keypoints))
    np.testing.assert_array_equal(flip[flip], np.arange(skeleton.num_keypoints))
    for k, joint in enumerate(skeleton.keypoint_names):
        partner = skeleton.keypoint_names[flip[k]]
        if "left" in joint.split("_"):
            assert partner == joint.replace("left", "right")
        elif "right" in joint.split("_"):
            assert partner == joint.replace("right", "left")
        else:
            assert partner == joint
    # every sided joint has a twin in these formats
    assert len(skeleton.flip_pairs) * 2 == len(skeleton.groups["left"]) + len(skeleton.groups["right"])


@pytest.mark.parametrize("name", ["h36m", "smpl", "ntu", "mpii"])
def test_parents_form_a_tree(name: str) -> None:
    skeleton = get_skeleton(name)
    parents = skeleton.parents
    assert parents is not None and len(parents) == skeleton.num_keypoints
    assert parents.count(-1) == 1
    assert skeleton.root_index == parents.index(-1)
    for joint in range(skeleton.num_keypoints):  # every joint reaches the root
        seen = set()
        while joint != -1:
            assert joint not in seen
            seen.add(joint)
            joint = parents[joint]
    assert len(skeleton.links) == skeleton.num_keypoints - 1


def test_coco_sigmas_match_pycocotools() -> None:
    from pycocotools.cocoeval import COCOeval

    reference = COCOeval(iouType="keypoints").params.kpt_oks_sigmas
    np.testing.assert_allclose(get_skeleton("coco").sigmas, reference, rtol=0, atol=1e-12)


def test_coco_order_and_links() -> None:
    coco = get_skeleton("coco")
    assert coco.keypoint_names[:3] == ("nose", "left_eye", "right_eye")
    assert coco.keypoint_names[5:7] == ("left_shoulder", "right_shoulder")
    assert coco.keypoint_names[-1] == "right_ankle"
    assert len(coco.links) == 19
    assert ("left_ankle", "left_knee") in coco.links  # pycocotools [16, 14]
    assert coco.joint_weights is not None and coco.joint_weights[9] == 1.5
    assert coco.flip_indices == (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)


def test_h36m_matches_videopose3d() -> None:
    h36m = get_skeleton("h36m")
    assert h36m.parents == (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)
    joints_left = sorted(h36m.indices(n for n in h36m.keypoint_names if n.startswith("left_")))
    joints_right = sorted(h36m.indices(n for n in h36m.keypoint_names if n.startswith("right_")))
    assert joints_left == [4, 5, 6, 11, 12, 13]
    assert joints_right == [1, 2, 3, 14, 15, 16]
    assert h36m.keypoint_names[7:11] == ("spine", "thorax", "neck_nose", "head")
    assert h36m.sigmas is None


def test_mpii_crowdpose_smpl_ntu_blazepose_orders() -> None:
    mpii = get_skeleton("mpii")
    assert mpii.keypoint_names[:6] == ("right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle")
    assert mpii.keypoint_names[6:10] == ("pelvis", "thorax", "upper_neck", "head_top")
    assert mpii.keypoint_names[10] == "right_wrist" and mpii.keypoint_names[15] == "left_wrist"
    assert mpii.sigmas is None
    crowdpose = get_skeleton("crowdpose")
    assert crowdpose.keypoint_names[12:] == ("head_top", "neck")
    np.testing.assert_allclose(
        crowdpose.sigmas,
        [0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089, 0.079, 0.079],
    )
    smpl = get_skeleton("smpl")
    assert smpl.parents == (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)
    assert smpl.keypoint_names[12] == "neck" and smpl.keypoint_names[15] == "head"
    ntu = get_skeleton("ntu")
    assert ntu.keypoint_names[20] == "spine_shoulder" and ntu.keypoint_names[24] == "right_thumb"
    blazepose = get_skeleton("blazepose")
    assert blazepose.keypoint_names[11] == "left_shoulder" and blazepose.keypoint_names[32] == "right_foot_index"
    assert len(blazepose.links) == 35
    assert blazepose.flip_indices[9] == 10  # mouth_left <-> mouth_right


def _tiny(**overrides: object) -> Skeleton:
    fields: dict[str, object] = {
        "name": "tiny",
        "keypoint_names": ("pelvis", "left_hip", "right_hip"),
        "links": (("pelvis", "left_hip"), ("pelvis", "right_hip")),
        "flip_pairs": (("left_hip", "right_hip"),),
        "parents": (-1, 0, 0),
    }
    fields.update(overrides)
    return Skeleton(**fields)  # type: ignore[arg-type]


def test_skeleton_validation_errors() -> None:
    assert _tiny().groups["lower"] == ("pelvis", "left_hip", "right_hip")
    with pytest.raises(ValueError, match="duplicate"):
        _tiny(keypoint_names=("pelvis", "left_hip", "left_hip"))
    with pytest.raises(ValueError, match=r"links use unknown keypoint names \['neck'\]"):
        _tiny(links=(("pelvis", "neck"),))
    with pytest.raises(ValueError, match="flip_pairs use unknown"):
        _tiny(flip_pairs=(("left_hip", "right_knee"),))
    with pytest.raises(ValueError, match="exactly one root"):
        _tiny(parents=(-1, -1, 0))
    with pytest.raises(ValueError, match="cycle"):
        _tiny(parents=(-1, 2, 1))
    with pytest.raises(ValueError, match="sigmas must have 3 values"):
        _tiny(sigmas=(0.1, 0.1))
    with pytest.raises(ValueError, match="group 'head'"):
        _tiny(groups={"head": ("nose",)})


def test_skeleton_is_frozen_hashable_and_registrable() -> None:
    tiny = _tiny(name="tiny_test_skeleton")
    with pytest.raises(dataclasses.FrozenInstanceError):
        tiny.name = "other"  # type: ignore[misc]
    assert hash(tiny) == hash(_tiny(name="tiny_test_skeleton"))
    register_skeleton(tiny)
    assert get_skeleton("tiny_test_skeleton3") is tiny
    register_skeleton(_tiny(name="tiny_test_skeleton"))  # equal: accepted
    with pytest.raises(ValueError, match="already registered"):
        register_skeleton(_tiny(name="tiny_test_skeleton", sigmas=(0.1, 0.1, 0.1)))
