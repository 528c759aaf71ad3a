"""benchmarks/lifter_real_3dhp.py: MPI-INF-3DHP joints matched to Human3.6M-17 by name; the frames it reads."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from posekit.skeletons import H36M, convert_keypoints

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "lifter_real_3dhp.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lifter_real_3dhp", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


def test_only_joints_with_the_same_meaning_are_matched(bench: ModuleType) -> None:
    source, target = bench.joint_correspondence()
    names = bench.MPI_INF_3DHP_17_NAMES
    assert [names[index] for index in source] == [H36M.keypoint_names[index] for index in target]
    assert len(source) == 14 and names[source[0]] == "pelvis" and names.index("pelvis") == 14
    # 3DHP's throat and head centre are not Human3.6M's thorax, neck/nose or head: left out.
    matched = set(bench.SCORED_JOINTS)
    assert {"thorax", "neck_nose", "head"}.isdisjoint(matched) and "spine" in matched
    # MMPose's order: right limbs before left ones.
    assert names[2:5] == ("right_shoulder", "right_elbow", "right_wrist") and names[11] == "left_hip"


def test_2d_conversion_copies_matched_joints_and_derives_the_rest(bench: ModuleType) -> None:
    keypoints = np.random.default_rng(0).uniform(0, 100, size=(17, 2))
    converted, valid = convert_keypoints(keypoints, bench.MPI_INF_3DHP_17, "h36m")
    assert valid.all()
    source, target = bench.joint_correspondence()
    np.testing.assert_array_equal(converted[target], keypoints[source])
    names = bench.MPI_INF_3DHP_17_NAMES
    shoulders = keypoints[[names.index("left_shoulder"), names.index("right_shoulder")]].mean(axis=0)
    np.testing.assert_allclose(converted[H36M.keypoint_names.index("thorax")], shoulders)  # not 3DHP's throat
    head = 5 / 12 * shoulders + 7 / 12 * keypoints[names.index("head_top")]
    np.testing.assert_allclose(converted[H36M.keypoint_names.index("head")], head)  # not 3DHP's head centre


def test_reads_the_shared_frames(bench: ModuleType, shared_data: Path) -> None:
    frames = bench.load_frames(shared_data / "mpi_inf_3dhp")
    assert len(frames) == 4 and all(frame.image_size == (2048, 2048) for frame in frames)
    for frame in frames:
        pelvis = frame.joints_3d[bench.MPI_INF_3DHP_17_NAMES.index("pelvis")]
        assert 2.0 < pelvis[2] < 6.0  # metres in front of the camera
        lengths = np.linalg.norm(frame.joints_3d[[9, 12]] - frame.joints_3d[[10, 13]], axis=-1)  # knee-ankle
        assert ((lengths > 0.3) & (lengths < 0.6)).all()
