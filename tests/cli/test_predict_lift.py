"""`posekit predict --lift`: 3D fields in predictions.json, poses3d.npz, 3D overlays, BVH, --causal, errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from posekit.cli.main import main as posekit_main
from posekit.inference.lift3d.default_lifter import default_lifter_path
from posekit.io.bvh import bvh_to_h36m, forward_kinematics, poses_to_bvh, read_bvh
from posekit.models.lift3d.videopose3d import TemporalModel


def save_lifter(path: Path, *, causal: bool = False, joints: int = 17, trajectory: bool = True) -> Path:
    """A small random VideoPose3D checkpoint (rf 9) in the official layout."""
    torch.manual_seed(0)
    checkpoint: dict[str, object] = {
        "model_pos": TemporalModel(joints, 2, joints, [3, 3], causal=causal, channels=32).state_dict(),
        "causal": causal,
    }
    if trajectory:
        checkpoint["model_traj"] = TemporalModel(joints, 2, 1, [3, 3], causal=causal, channels=16).state_dict()
    torch.save(checkpoint, path)
    return path


@pytest.fixture(autouse=True)
def keep_torch_threads() -> Iterator[None]:
    """``posekit predict --lift`` sets PyTorch's thread count for its process; restore it here."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def clip(shared_data: Path) -> Path:
    path = shared_data / "posetrack18" / "videos" / "000001_mpiinew_test" / "000001_mpiinew_test.mp4"
    if not path.is_file():
        pytest.skip(f"{path} is not in the shared data")
    return path


def test_predict_lift_video_writes_3d_everywhere(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lifter = save_lifter(tmp_path / "lifter.bin")
    out = tmp_path / "run"
    status = posekit_main(
        ["predict", str(clip), "--lift", "--lifter", str(lifter), "--gif", "--bvh", "--out", str(out)]
    )
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "3D:" in captured.out and "poses3d.npz" in captured.out
    entries = json.loads((out / "predictions.json").read_text())
    assert entries
    for entry in entries:
        assert len(entry["keypoints_3d"]) == 51 and len(entry["trajectory"]) == 3
        np.testing.assert_array_equal(entry["keypoints_3d"][:3], [0.0, 0.0, 0.0])  # root-relative pelvis
    with np.load(out / "poses3d.npz", allow_pickle=False) as data:
        assert str(data["skeleton"]) == "h36m" and data["file_names"].tolist() == [str(clip)]
        track_ids = sorted({entry["track_id"] for entry in entries})
        assert data["track_ids"].tolist() == track_ids
        first = entries[0]
        key = str(first["track_id"])
        row = int(np.flatnonzero(data[f"track_{key}_frames"] == first["frame"])[0])
        np.testing.assert_allclose(data[f"track_{key}_keypoints_3d"][row].reshape(-1), first["keypoints_3d"], atol=1e-4)
        np.testing.assert_allclose(data[f"track_{key}_trajectory"][row], first["trajectory"], atol=1e-4)
        positions = data[f"track_{key}_keypoints_3d"] + data[f"track_{key}_trajectory"][:, None]
    vis = sorted(path.name for path in (out / "vis").iterdir())
    assert vis == [f"{clip.stem}.mp4", f"{clip.stem}_3d.gif", f"{clip.stem}_3d.mp4"]
    motion = read_bvh(out / "bvh" / f"{clip.stem}_track{key}.bvh")
    assert motion.num_frames == len(positions)
    # The file is the lifted track solved on the floor: the feet touch Y = 0 and never go below it.
    expected = poses_to_bvh(positions, 1.0 / motion.frame_time)
    np.testing.assert_allclose(motion.motion, expected.motion, atol=2e-3)
    feet = [motion.names.index("right_knee_end"), motion.names.index("left_knee_end")]
    assert forward_kinematics(motion)[:, feet, 1].min(axis=1).min() == pytest.approx(0.0, abs=1e-3)
    camera = bvh_to_h36m(poses_to_bvh(positions, 1.0 / motion.frame_time, ground=False))
    np.testing.assert_allclose(camera[:, 0], positions[:, 0], atol=1e-5)  # without the floor the root is exact
    assert not list(out.rglob(".*"))


def test_predict_lift_causal_equals_batch_for_a_causal_lifter(clip: Path, tmp_path: Path) -> None:
    lifter = save_lifter(tmp_path / "causal.bin", causal=True)
    results = []
    for mode in ([], ["--causal"]):
        out = tmp_path / ("causal" if mode else "batch")
        arguments = ["predict", str(clip), "--lift", "--lifter", str(lifter), "--no-vis", "--out", str(out), *mode]
        assert posekit_main(arguments) == 0
        entries = json.loads((out / "predictions.json").read_text())
        results.append({(entry["track_id"], entry["frame"]): entry for entry in entries})
    batch, causal = results
    assert batch.keys() == causal.keys() and batch
    for key, entry in batch.items():
        np.testing.assert_allclose(causal[key]["keypoints_3d"], entry["keypoints_3d"], atol=1e-3)
        np.testing.assert_allclose(causal[key]["trajectory"], entry["trajectory"], atol=1e-3)


def test_predict_lift_causal_default_streams_without_lag(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # --causal without --lifter runs the shipped causal lifter: no lag note, poses for every frame.
    out = tmp_path / "causal_default"
    assert posekit_main(["predict", str(clip), "--lift", "--causal", "--no-vis", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "lag" not in captured.out + captured.err
    entries = json.loads((out / "predictions.json").read_text())
    assert entries and all(len(entry["keypoints_3d"]) == 51 for entry in entries)
    # The non-causal default given with --lifter streams 13 frames late, and says so.
    given = ["--lifter", str(default_lifter_path())]
    arguments = ["predict", str(clip), "--lift", "--causal", *given, "--no-vis", "--out", str(tmp_path / "given")]
    assert posekit_main(arguments) == 0
    captured = capsys.readouterr()
    assert "lag 13 frames" in captured.out + captured.err


def test_predict_lift_image_and_errors(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = shared_data / "coco_val2014_images" / "COCO_val2014_000000000241.jpg"
    out = tmp_path / "image"
    no_trajectory = save_lifter(tmp_path / "plain.bin", trajectory=False)
    assert posekit_main(["predict", str(image), "--lift", "--lifter", str(no_trajectory), "--out", str(out)]) == 0
    entries = json.loads((out / "predictions.json").read_text())
    assert len(entries) >= 2 and all(len(entry["keypoints_3d"]) == 51 for entry in entries)
    assert all(entry["trajectory"][2] > 0 for entry in entries)  # pinhole fallback: in front of the camera
    assert (out / "vis" / f"{image.stem}_3d.jpg").is_file()
    capsys.readouterr()

    failed = tmp_path / "failed"
    assert posekit_main(["predict", str(image), "--gif", "--out", str(failed)]) == 2
    assert "--gif needs --lift" in capsys.readouterr().err
    other = save_lifter(tmp_path / "humaneva.bin", joints=15)
    assert posekit_main(["predict", str(image), "--lift", "--lifter", str(other), "--out", str(failed)]) == 2
    assert "another skeleton" in capsys.readouterr().err
    assert (
        posekit_main(["predict", str(image), "--lift", "--lifter", str(tmp_path / "nope.bin"), "--out", str(failed)])
        == 2
    )
    assert "nope.bin" in capsys.readouterr().err
    assert not failed.exists()  # nothing half-written
