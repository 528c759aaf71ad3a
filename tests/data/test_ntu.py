"""posekit.data.ntu on small .skeleton files written here in the dataset's text format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from posekit.data.ntu import (
    NTU_ACTION_NAMES,
    load_ntu_skeleton,
    ntu_split,
    parse_ntu_name,
)

FIRST_ID = 72057594037931101  # Kinect tracking ids are this large
SECOND_ID = 72057594037931102


def joint_values(frame: int, body: int, joint: int) -> list[float]:
    """12 distinct values per (frame, body, joint): x y z, depth xy, colour xy, quaternion wxyz, state."""
    base = frame * 1000 + body * 100 + joint
    return [
        base * 1e-3,
        -base * 1e-3,
        2.0 + base * 1e-4,
        100.0 + joint,
        200.0 + frame,
        900.0 + joint,
        500.0 + frame + body,
        1.0,
        0.0,
        0.0,
        0.0,
        float(joint % 3),
    ]


def write_skeleton(path: Path, frames: list[list[int]]) -> Path:
    """``frames[f]`` lists the body ids seen in frame f."""
    lines = [str(len(frames))]
    for frame, bodies in enumerate(frames):
        lines.append(str(len(bodies)))
        for body_id in bodies:
            body = 0 if body_id == FIRST_ID else 1
            lines.append(f"{body_id} 0 1 1 1 1 0 -0.05 0.1 2")
            lines.append("25")
            for joint in range(25):
                values = joint_values(frame, body, joint)
                lines.append(" ".join(f"{value:g}" for value in values[:11]) + f" {int(values[11])}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_reads_bodies_by_tracking_id(tmp_path: Path) -> None:
    path = write_skeleton(tmp_path / "S001C002P003R002A013.skeleton", [[FIRST_ID], [], [FIRST_ID, SECOND_ID]])
    sample = load_ntu_skeleton(path)
    assert sample.num_frames == 3
    assert sample.name is not None and str(sample.name) == "S001C002P003R002A013"
    assert (sample.name.setup, sample.name.camera, sample.name.performer, sample.name.replication) == (1, 2, 3, 2)
    assert sample.action == 13 and sample.name.action_name == "tear up paper" and sample.name.label == 12
    first, second = sample.bodies
    assert first.body_id == FIRST_ID and second.body_id == SECOND_ID
    assert first.frames.tolist() == [0, 2] and second.frames.tolist() == [2]
    expected = np.array(joint_values(2, 1, 7))
    np.testing.assert_allclose(second.joints_3d[0, 7], expected[0:3], rtol=1e-5)
    np.testing.assert_allclose(second.depth_2d[0, 7], expected[3:5])
    np.testing.assert_allclose(second.color_2d[0, 7], expected[5:7])
    np.testing.assert_allclose(second.orientations[0, 7], expected[7:11])
    assert second.tracking_states[0, :4].tolist() == [0, 1, 2, 0]
    assert first.body_info.shape == (2, 9) and first.body_info[0, -1] == 2.0


def test_pose_sequences_on_the_ntu_skeleton(tmp_path: Path) -> None:
    path = write_skeleton(tmp_path / "S017C001P020R001A060.skeleton", [[FIRST_ID], [FIRST_ID], [FIRST_ID]])
    (sequence,) = load_ntu_skeleton(path).to_pose_sequences()
    assert sequence.skeleton == "ntu" and sequence.skeleton_3d == "ntu"
    assert sequence.keypoints.shape == (3, 25, 2) and sequence.keypoints_3d is not None
    assert sequence.scores[0, :3].tolist() == [0.0, 0.5, 1.0]  # not tracked, inferred, tracked
    assert sequence.timestamps is not None and sequence.timestamps.tolist() == pytest.approx([0, 1 / 30, 2 / 30])
    np.testing.assert_allclose(sequence.keypoints_3d[1, 4], joint_values(1, 0, 4)[:3], rtol=1e-5)


@pytest.mark.parametrize(
    ("cut", "message"),
    [
        (-1, r"ends early at line \d+ \(frame 2 of 2, body 1 of 1, joint 25 of 25\)"),
        (-20, r"ends early at line \d+ \(frame 2 of 2, body 1 of 1, joint 6 of 25\)"),
        (1 + 1 + 1 + 1 + 25, r"ends early at line 30 \(frame 2 of 2: the number of bodies\)"),
    ],
)
def test_a_file_that_ends_early_names_the_place(tmp_path: Path, cut: int, message: str) -> None:
    path = write_skeleton(tmp_path / "S001C001P001R001A001.skeleton", [[FIRST_ID], [FIRST_ID]])
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:cut]) + "\n")
    with pytest.raises(ValueError, match=message) as info:
        load_ntu_skeleton(path)
    assert "S001C001P001R001A001.skeleton" in str(info.value)


def test_malformed_lines(tmp_path: Path) -> None:
    path = write_skeleton(tmp_path / "S001C001P001R001A001.skeleton", [[FIRST_ID]])
    lines = path.read_text().splitlines()
    lines[5] = "0.1 0.2"
    path.write_text("\n".join(lines))
    with pytest.raises(ValueError, match=r"line 6 \(frame 1 of 1, body 1 of 1, joint 2 of 25\) has 2 values"):
        load_ntu_skeleton(path)
    with pytest.raises(FileNotFoundError):
        load_ntu_skeleton(tmp_path / "absent.skeleton")


def test_names_actions_and_benchmarks() -> None:
    assert len(NTU_ACTION_NAMES) == 120
    assert NTU_ACTION_NAMES[0] == "drink water" and NTU_ACTION_NAMES[59] == "walking apart from each other"
    name = parse_ntu_name("/data/nturgb+d_skeletons/S018C003P008R001A061.skeleton")
    assert name.action_name == "put on headphone"
    assert ntu_split(name, "xsub60") == "train"  # performer 8
    assert ntu_split(name, "xview60") == "train"  # camera 3
    assert ntu_split(name, "xset120") == "train"  # setup 18 is even
    assert ntu_split("S001C001P003R001A001", "xsub60") == "test"
    assert ntu_split("S001C001P003R001A001", "xview60") == "test"
    assert ntu_split("S001C001P045R001A001", "xsub120") == "train"
    with pytest.raises(ValueError, match="not an NTU RGB\\+D sample name"):
        parse_ntu_name("walking.skeleton")
