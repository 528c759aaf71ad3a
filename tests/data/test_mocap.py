import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pybullet_data", reason="the DeepMimic clips come with the pybullet wheel (posekit[synth])")

from posekit.data.mocap import (  # noqa: E402
    FRAME_SIZE,
    deepmimic_clip_paths,
    load_deepmimic_clip,
    load_deepmimic_clips,
    load_humanoid,
    to_h36m,
)
from posekit.skeletons import get_skeleton  # noqa: E402


@pytest.fixture(scope="module")
def clips() -> list:
    return load_deepmimic_clips()


def test_fifteen_clips_with_1620_frames(clips: list) -> None:
    assert len(deepmimic_clip_paths()) == 15
    assert sum(len(clip) for clip in clips) == 1620
    assert {clip.name for clip in clips} >= {"walk", "run", "backflip", "cartwheel", "dance_a"}


def test_humanoid_scaled_to_a_person(clips: list) -> None:
    model = load_humanoid()
    assert model.joint("right_knee").kind == "revolute"
    assert model.joint("right_knee").offset == pytest.approx((0.0, -1.686184 * 0.25, 0.0))
    walk = next(clip for clip in clips if clip.name == "walk")
    index = {name: i for i, name in enumerate(walk.point_names)}
    height = walk.points[:, index["head_top"], 1] - walk.points[:, index["left_heel"], 1]
    assert 1.5 < float(np.median(height)) < 1.8  # a standing, walking adult
    # Feet touch the ground (y = 0) during the walk, and the person walks forward along +x.
    feet = walk.points[:, [index["left_heel"], index["right_heel"]], 1]
    assert float(feet.min()) == pytest.approx(0.0, abs=0.05)
    assert walk.points[-1, index["root"], 0] > walk.points[0, index["root"], 0] + 0.5


def test_bones_are_rigid_across_frames(clips: list) -> None:
    skeleton = get_skeleton("h36m")
    # Bones inside one rigid URDF link chain; thorax->neck_nose spans the neck joint, so it may vary.
    rigid = [name for name in skeleton.keypoint_names if name not in ("neck_nose", "head")]
    parents = np.array(skeleton.parents)
    children = np.array([k for k, name in enumerate(skeleton.keypoint_names) if name in rigid and parents[k] >= 0])
    for clip in clips:
        joints = to_h36m(clip.point_names, clip.points)  # (T, 17, 3)
        lengths = np.linalg.norm(joints[:, children] - joints[:, parents[children]], axis=-1)
        assert np.ptp(lengths, axis=0).max() < 1e-4, clip.name


def test_left_is_left(clips: list) -> None:
    # The walk goes along +x with y up, so the body's right is forward x up = +z.
    walk = next(clip for clip in clips if clip.name == "walk")
    index = {name: i for i, name in enumerate(walk.point_names)}
    forward = walk.points[-1, index["root"]] - walk.points[0, index["root"]]
    right = np.cross(forward / np.linalg.norm(forward), [0.0, 1.0, 0.0])
    for side in ("hip", "shoulder", "ear", "eye"):
        across = walk.points[:, index[f"right_{side}"]] - walk.points[:, index[f"left_{side}"]]
        assert float(np.mean(across @ right)) > 0, side


def test_bad_clip_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "humanoid3d_bad.txt"
    bad.write_text(json.dumps({"Loop": "none", "Frames": [[0.0] * (FRAME_SIZE - 1)]}))
    with pytest.raises(ValueError, match="humanoid3d_bad.txt"):
        load_deepmimic_clip(bad)
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="invalid JSON"):
        load_deepmimic_clip(bad)
