"""Custom 2D tracks: interpolation of missing keypoints (flagged), predictions.json, .npz arrays."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from posekit.data.tracks2d import interpolate_missing, load_keypoints_npz, load_prediction_tracks, pad_to_length
from posekit.skeletons import COCO, H36M


def test_interpolation_is_linear_with_edge_hold_and_flags() -> None:
    values = np.stack([np.arange(6.0), 10 * np.arange(6.0)], axis=-1)[:, None, :]  # (T=6, K=1, 2)
    valid = np.array([False, True, False, False, True, False])[:, None]
    values[2, 0] = np.nan  # invalid entries may be NaN
    filled, interpolated = interpolate_missing(values, valid)
    np.testing.assert_allclose(filled[:, 0, 0], [1, 1, 2, 3, 4, 4])  # hold, keep, 1/3, 2/3, keep, hold
    np.testing.assert_allclose(filled[:, 0, 1], [10, 10, 20, 30, 40, 40])
    assert interpolated[:, 0].tolist() == [True, False, True, True, False, True]
    # NaN counts as missing even where valid says otherwise; batched leading dims work.
    batch = np.stack([values, values + 1])
    batch_valid = np.stack([valid, np.ones_like(valid)])
    batch_values = batch.copy()
    batch_values[1, 3, 0, 0] = np.nan
    out, flags = interpolate_missing(batch_values, batch_valid)
    np.testing.assert_allclose(out[1, 3, 0], [4.0, 31.0])
    assert flags[1, :, 0].tolist() == [False, False, True, True, False, False] and np.isfinite(out).all()
    with pytest.raises(ValueError, match="keypoint 0 has no valid frame"):
        interpolate_missing(values, np.zeros_like(valid))


def test_pad_to_length() -> None:
    padded, inner = pad_to_length(np.arange(3.0)[:, None], 8)
    assert padded[:, 0].tolist() == [0, 0, 0, 1, 2, 2, 2, 2] and padded[inner, 0].tolist() == [0, 1, 2]
    same, inner = pad_to_length(np.arange(10.0), 5)
    assert len(same) == 10 and inner == slice(0, 10)


def _coco_entry(frame: int, track: int, shift: float, score: float = 0.9) -> dict[str, object]:
    keypoints = np.zeros((17, 3))
    keypoints[:, 0] = 100 + 10 * np.arange(17) + shift
    keypoints[:, 1] = 200 + shift
    keypoints[:, 2] = score
    return {"image_id": frame + 1, "category_id": 1, "keypoints": keypoints.ravel().tolist(), "score": 0.8,
            "file_name": "clip.mp4", "frame": frame, "track_id": track}  # fmt: skip


def test_prediction_tracks(tmp_path: Path) -> None:
    entries = [_coco_entry(frame, 1, float(frame)) for frame in (5, 3, 7)]  # unsorted, frames 4 and 6 missing
    entries.append(_coco_entry(3, 2, 0.0))
    low = _coco_entry(4, 2, 1.0)
    flat = np.asarray(low["keypoints"]).reshape(17, 3)
    flat[COCO.index("left_wrist"), 2] = 0.0  # a missed keypoint
    low["keypoints"] = flat.ravel().tolist()
    entries.append(low)
    path = tmp_path / "predictions.json"
    path.write_text(json.dumps(entries))
    tracks = load_prediction_tracks(path, (640, 480))
    assert [track.track_id for track in tracks] == [1, 2]
    first = tracks[0]
    assert first.frames.tolist() == [3, 4, 5, 6, 7] and first.keypoints.shape == (5, 17, 2)
    assert first.interpolated[[1, 3]].all() and not first.interpolated[[0, 2, 4]].any()
    pelvis = H36M.index("pelvis")
    hips_x = 100 + 10 * np.array([COCO.index("left_hip"), COCO.index("right_hip")]).mean()
    np.testing.assert_allclose(first.keypoints[:, pelvis, 0], hips_x + np.arange(3, 8), atol=1e-4)
    second = tracks[1]
    wrist = H36M.index("left_wrist")
    assert second.interpolated[1, wrist] and second.scores[1, wrist] == 0 and not second.interpolated[0].any()
    np.testing.assert_allclose(second.keypoints[1, wrist], second.keypoints[0, wrist])  # edge hold
    normalised = first.normalized()
    np.testing.assert_allclose(normalised[0, pelvis], [(hips_x + 3) / 320 - 1, (203) / 320 - 0.75], atol=1e-5)
    (tmp_path / "images.json").write_text(json.dumps([{k: v for k, v in entries[0].items() if k != "frame"}]))
    with pytest.raises(ValueError, match="has no 'frame'"):
        load_prediction_tracks(tmp_path / "images.json", (640, 480))


def test_npz_track(tmp_path: Path) -> None:
    keypoints = np.random.default_rng(0).uniform(0, 500, size=(6, 17, 2))
    keypoints[2, 4] = np.nan
    np.savez(tmp_path / "track.npz", keypoints=keypoints)
    track = load_keypoints_npz(tmp_path / "track.npz", (1000, 500))
    assert track.interpolated.sum() == 1 and track.interpolated[2, 4]
    np.testing.assert_allclose(track.keypoints[2, 4], (keypoints[1, 4] + keypoints[3, 4]) / 2, rtol=1e-5)
    with pytest.raises(ValueError, match=r"must have shape \(T, 17, 2\)"):
        np.savez(tmp_path / "bad.npz", keypoints=np.zeros((4, 3, 2)))
        load_keypoints_npz(tmp_path / "bad.npz", (10, 10))
