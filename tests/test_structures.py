"""Tests for posekit.structures: PoseInstances and PoseSequence (and their .npz files, posekit.io.poses)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from posekit.io.poses import load_pose_instances, load_pose_sequence, save_poses_npz
from posekit.structures import PoseInstances, PoseSequence

RNG = np.random.default_rng(1)


def _instances(count: int = 3, boxes: bool = True, track_ids: bool = True) -> PoseInstances:
    keypoints = RNG.uniform(0, 200, size=(count, 17, 2)).astype(np.float32)
    corner = RNG.uniform(0, 100, size=(count, 2))
    return PoseInstances(
        keypoints=keypoints,
        scores=RNG.uniform(0.1, 1, size=(count, 17)),
        skeleton="COCO",
        boxes=np.concatenate([corner, corner + 50], axis=1) if boxes else None,
        instance_scores=RNG.uniform(0, 1, size=count),
        track_ids=np.arange(count) + 10 if track_ids else None,
    )


def _assert_same(a: PoseInstances, b: PoseInstances) -> None:
    assert a.skeleton == b.skeleton and len(a) == len(b)
    for name in ("keypoints", "scores", "boxes", "instance_scores", "track_ids"):
        left, right = getattr(a, name), getattr(b, name)
        assert (left is None) == (right is None), name
        if left is not None:
            np.testing.assert_allclose(left, right, rtol=1e-6, atol=1e-4, err_msg=name)


def test_construction_normalises_types_and_skeleton_name() -> None:
    instances = _instances()
    assert instances.skeleton == "coco"
    assert instances.keypoints.dtype == np.float32 and instances.scores.dtype == np.float32
    assert instances.track_ids is not None and instances.track_ids.dtype == np.int64
    assert len(instances) == 3 and instances.num_keypoints == 17 and instances.dims == 2
    assert instances.skeleton_definition.name == "coco"


def test_shape_errors_are_clear() -> None:
    with pytest.raises(ValueError, match=r"keypoints must have shape \(N, 17, 2\) or \(N, 17, 3\).*got \(2, 16, 2\)"):
        PoseInstances(keypoints=np.zeros((2, 16, 2)), scores=np.zeros((2, 16)), skeleton="coco")
    with pytest.raises(ValueError, match=r"scores must have shape \(2, 17\), got \(2, 16\)"):
        PoseInstances(keypoints=np.zeros((2, 17, 2)), scores=np.zeros((2, 16)), skeleton="coco")
    with pytest.raises(ValueError, match=r"boxes must have shape \(2, 4\) xyxy, got \(3, 4\)"):
        PoseInstances(keypoints=np.zeros((2, 17, 2)), scores=np.zeros((2, 17)), skeleton="coco", boxes=np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"track_ids must have shape \(2,\)"):
        PoseInstances(keypoints=np.zeros((2, 17, 2)), scores=np.zeros((2, 17)), skeleton="coco", track_ids=[1])
    with pytest.raises(ValueError, match="NaN"):
        PoseInstances(keypoints=np.full((1, 17, 2), np.nan), scores=np.zeros((1, 17)), skeleton="coco")
    with pytest.raises(ValueError, match="unknown skeleton"):
        PoseInstances(keypoints=np.zeros((1, 17, 2)), scores=np.zeros((1, 17)), skeleton="nope")


def test_indexing_semantics() -> None:
    instances = _instances(5)
    one = instances[1]
    assert len(one) == 1
    np.testing.assert_array_equal(one.keypoints[0], instances.keypoints[1])
    assert instances[-1].track_ids is not None and instances[-1].track_ids.tolist() == [14]
    assert len(instances[1:4]) == 3 and instances[::2].track_ids.tolist() == [10, 12, 14]  # type: ignore[union-attr]
    mask = np.array([True, False, True, False, False])
    assert instances[mask].track_ids.tolist() == [10, 12]  # type: ignore[union-attr]
    assert instances[np.array([4, 0])].track_ids.tolist() == [14, 10]  # type: ignore[union-attr]
    assert instances[[3]].track_ids.tolist() == [13]  # type: ignore[union-attr]
    assert len(instances[np.zeros(5, dtype=bool)]) == 0
    with pytest.raises(IndexError):
        instances[5]
    with pytest.raises(ValueError, match=r"boolean mask must have shape \(5,\)"):
        instances[np.array([True, False])]


def test_cat_and_empty() -> None:
    a, b = _instances(2), _instances(3)
    joined = PoseInstances.cat([a, b])
    assert len(joined) == 5
    _assert_same(joined[:2], a)
    _assert_same(joined[2:], b)
    empty = PoseInstances.empty("coco")
    assert len(empty) == 0 and empty.keypoints.shape == (0, 17, 2)
    _assert_same(PoseInstances.cat([empty.__class__.cat([a], skeleton="coco")]), a)
    assert len(PoseInstances.cat([], skeleton="h36m")) == 0
    with pytest.raises(ValueError, match="without a skeleton"):
        PoseInstances.cat([])
    with pytest.raises(ValueError, match="boxes is set on some items"):
        PoseInstances.cat([a, _instances(1, boxes=False)])
    with pytest.raises(ValueError, match="different skeletons"):
        PoseInstances.cat([a, a.convert("h36m")])


def test_convert_zeroes_scores_of_invalid_joints() -> None:
    instances = _instances(2)
    scores = instances.scores.copy()
    scores[0, 11] = 0.0  # left_hip missing
    instances = PoseInstances(keypoints=instances.keypoints, scores=scores, skeleton="coco", boxes=instances.boxes)
    h36m = instances.convert("human36m")
    assert h36m.skeleton == "h36m" and h36m.keypoints.shape == (2, 17, 2)
    assert h36m.scores[0, 0] == 0 and h36m.scores[0, 4] == 0  # pelvis, left_hip
    assert h36m.scores[1, 0] == pytest.approx(min(scores[1, 11], scores[1, 12]))
    np.testing.assert_allclose(h36m.keypoints[1, 0], instances.keypoints[1, [11, 12]].mean(axis=0), rtol=1e-6)
    np.testing.assert_array_equal(h36m.boxes, instances.boxes)  # type: ignore[arg-type]
    blazepose = instances.convert("blazepose")
    assert (blazepose.scores[:, 29] == 0).all()  # left_heel cannot be derived


def test_coco_results_json_round_trip(tmp_path: Path) -> None:
    instances = _instances(3)
    results = instances.to_coco_results(image_id=7, extra={"file_name": "a.jpg", "frame": 3})
    assert len(results) == 3
    first = results[0]
    assert first["image_id"] == 7 and first["category_id"] == 1 and first["file_name"] == "a.jpg"
    assert len(first["keypoints"]) == 51 and first["keypoints"][2] == pytest.approx(float(instances.scores[0, 0]))
    x1, y1, x2, y2 = instances.boxes[0]  # type: ignore[index]
    assert first["bbox"] == pytest.approx([x1, y1, x2 - x1, y2 - y1])
    assert first["track_id"] == 10
    assert first["score"] == pytest.approx(float(instances.instance_scores[0]))  # type: ignore[index]
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results))
    _assert_same(PoseInstances.from_coco(json.loads(path.read_text()), "coco"), instances)
    plain = PoseInstances(keypoints=instances.keypoints, scores=instances.scores, skeleton="coco")
    entry = plain.to_coco_results(image_id=1)[0]
    assert "bbox" not in entry and "track_id" not in entry
    assert entry["score"] == pytest.approx(float(instances.scores[0].mean()))
    assert len(PoseInstances.from_coco([], "coco")) == 0


def test_from_coco_errors() -> None:
    with pytest.raises(ValueError, match="annotation 0: 'keypoints' must be a flat list of 51 values"):
        PoseInstances.from_coco([{"keypoints": [0.0] * 50}], "coco")
    good = {"keypoints": [0.0] * 51, "score": 0.5}
    with pytest.raises(ValueError, match="annotation 1 has no 'score'"):
        PoseInstances.from_coco([good, {"keypoints": [0.0] * 51}], "coco")


def test_coco_results_evaluate_perfectly_against_matching_ground_truth() -> None:
    """Results written by to_coco_results load into pycocotools and score AP 1 against themselves."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images, annotations, results = [], [], []
    for image_id in (1, 2):
        instances = _instances(2)
        images.append({"id": image_id, "width": 300, "height": 300})
        for entry in instances.to_coco_results(image_id=image_id):
            gt = dict(entry)
            gt["keypoints"] = [v if k % 3 != 2 else 2 for k, v in enumerate(entry["keypoints"])]
            gt.update(id=len(annotations) + 1, iscrowd=0, area=2500.0, num_keypoints=17)
            annotations.append(gt)
            results.append(entry)
    with contextlib.redirect_stdout(io.StringIO()):
        ground_truth = COCO()
        ground_truth.dataset = {"images": images, "annotations": annotations, "categories": [{"id": 1}]}
        ground_truth.createIndex()
        evaluation = COCOeval(ground_truth, ground_truth.loadRes(results), iouType="keypoints")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    assert evaluation.stats[0] == pytest.approx(1.0)


def test_instances_npz_round_trip(tmp_path: Path) -> None:
    instances = _instances(4)
    path = save_poses_npz(instances, tmp_path / "sub" / "poses.npz")
    loaded = load_pose_instances(path)
    _assert_same(loaded, instances)
    assert sorted(p.name for p in path.parent.iterdir()) == ["poses.npz"]  # no temporary left behind
    plain = PoseInstances(keypoints=np.zeros((0, 17, 3)), scores=np.zeros((0, 17)), skeleton="coco")
    loaded_plain = load_pose_instances(save_poses_npz(plain, tmp_path / "empty.npz"))
    assert loaded_plain.boxes is None and loaded_plain.keypoints.shape == (0, 17, 3)
    with np.load(path, allow_pickle=False) as archive:
        assert str(archive["skeleton"]) == "coco"
    with pytest.raises(ValueError, match="does not hold a posekit PoseInstances"):
        load_pose_instances(save_poses_npz(_sequence(3), tmp_path / "seq.npz"))


# ------------------------------------------------------------------------------------ sequences
def _sequence(length: int = 6, start: int = 0, with_3d: bool = True) -> PoseSequence:
    return PoseSequence(
        frames=np.arange(start, start + length) * 2,
        keypoints=RNG.uniform(0, 100, size=(length, 17, 2)),
        scores=RNG.uniform(0, 1, size=(length, 17)),
        skeleton="coco",
        track_id=4,
        timestamps=np.arange(start, start + length) / 30.0,
        boxes=np.tile([0, 0, 10, 10], (length, 1)),
        keypoints_3d=RNG.normal(size=(length, 17, 3)) if with_3d else None,
        skeleton_3d="h36m" if with_3d else None,
        trajectory=RNG.normal(size=(length, 3)) if with_3d else None,
    )


def _assert_same_sequence(a: PoseSequence, b: PoseSequence) -> None:
    assert (a.skeleton, a.skeleton_3d, a.track_id) == (b.skeleton, b.skeleton_3d, b.track_id)
    for name in ("frames", "keypoints", "scores", "timestamps", "boxes", "keypoints_3d", "trajectory"):
        left, right = getattr(a, name), getattr(b, name)
        assert (left is None) == (right is None), name
        if left is not None:
            np.testing.assert_allclose(left, right, rtol=1e-6, err_msg=name)


def test_sequence_indexing_and_frames() -> None:
    sequence = _sequence(6)
    assert len(sequence) == 6 and sequence.frames.dtype == np.int64 and sequence.timestamps.dtype == np.float64  # type: ignore[union-attr]
    assert sequence[2].frames.tolist() == [4]
    part = sequence[1:4]
    assert part.frames.tolist() == [2, 4, 6] and part.keypoints_3d.shape == (3, 17, 3)  # type: ignore[union-attr]
    np.testing.assert_array_equal(part.trajectory, sequence.trajectory[1:4])  # type: ignore[index]
    assert sequence[sequence.frames >= 8].frames.tolist() == [8, 10]
    assert sequence.between_frames(3, 9).frames.tolist() == [4, 6, 8]
    with pytest.raises(ValueError, match="strictly increasing"):
        sequence[np.array([3, 1])]


def test_sequence_validation_errors() -> None:
    base = {"keypoints": np.zeros((3, 17, 2)), "scores": np.zeros((3, 17)), "skeleton": "coco"}
    with pytest.raises(ValueError, match="strictly increasing"):
        PoseSequence(frames=[0, 2, 2], **base)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"keypoints must have shape \(4, 17, 2\), got \(3, 17, 2\)"):
        PoseSequence(frames=[0, 1, 2, 3], **base)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"timestamps must have shape \(3,\)"):
        PoseSequence(frames=[0, 1, 2], timestamps=[0.0, 1.0], **base)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs skeleton_3d"):
        PoseSequence(frames=[0, 1, 2], keypoints_3d=np.zeros((3, 17, 3)), **base)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"keypoints_3d must have shape \(3, 24, 3\)"):
        PoseSequence(frames=[0, 1, 2], keypoints_3d=np.zeros((3, 17, 3)), skeleton_3d="smpl", **base)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"trajectory must have shape \(3, 3\)"):
        PoseSequence(frames=[0, 1, 2], trajectory=np.zeros((2, 3)), **base)  # type: ignore[arg-type]


def test_sequence_cat_sorts_and_checks() -> None:
    sequence = _sequence(6)
    joined = PoseSequence.cat([sequence[3:], sequence[:3]])
    _assert_same_sequence(joined, sequence)
    with pytest.raises(ValueError, match="overlap"):
        PoseSequence.cat([sequence[:4], sequence[3:]])
    other = PoseSequence(
        frames=[100], keypoints=np.zeros((1, 17, 2)), scores=np.zeros((1, 17)), skeleton="coco", track_id=5
    )
    with pytest.raises(ValueError, match="different skeleton_3d|different track_id"):
        PoseSequence.cat([sequence, other])
    with pytest.raises(ValueError, match="empty list"):
        PoseSequence.cat([])


def test_sequence_from_and_to_instances() -> None:
    single = []
    for frame in (5, 1, 3):
        row = _instances(1)
        single.append((frame, PoseInstances(keypoints=row.keypoints, scores=row.scores, skeleton="coco",
                                            boxes=row.boxes, track_ids=[7])))  # fmt: skip
    sequence = PoseSequence.from_instances(single, timestamps=[0.5, 0.1, 0.3])
    assert sequence.frames.tolist() == [1, 3, 5] and sequence.track_id == 7
    np.testing.assert_allclose(sequence.timestamps, [0.1, 0.3, 0.5])  # type: ignore[arg-type]
    np.testing.assert_array_equal(sequence.keypoints[0], single[1][1].keypoints[0])
    back = dict(sequence.to_instances())
    assert sorted(back) == [1, 3, 5]
    np.testing.assert_array_equal(back[5].keypoints, single[0][1].keypoints)
    np.testing.assert_array_equal(back[5].boxes, single[0][1].boxes)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one row"):
        PoseSequence.from_instances([(0, _instances(2))])
    with pytest.raises(ValueError, match="same frame"):
        PoseSequence.from_instances([(0, single[0][1]), (0, single[1][1])])
    assert PoseSequence.from_instances([(0, single[0][1])], track_id=3).track_id == 3


def test_sequence_npz_round_trip(tmp_path: Path) -> None:
    sequence = _sequence(5)
    _assert_same_sequence(load_pose_sequence(save_poses_npz(sequence, tmp_path / "track.npz")), sequence)
    bare = _sequence(2, with_3d=False)
    loaded = load_pose_sequence(save_poses_npz(bare, tmp_path / "bare.npz"))
    _assert_same_sequence(loaded, bare)
    assert loaded.keypoints_3d is None and loaded.skeleton_3d is None
    with pytest.raises(ValueError, match="does not hold a posekit PoseSequence"):
        load_pose_sequence(save_poses_npz(_instances(1), tmp_path / "inst.npz"))


def test_landmarks_are_optional_per_row_fields_kept_by_conversion() -> None:
    base = _instances(3)
    landmarks = RNG.uniform(0, 200, size=(3, 33, 5)).astype(np.float32)
    landmarks[1, 4, :3] = np.nan  # a landmark the model could not place: allowed, unlike keypoints
    world = RNG.uniform(-1, 1, size=(3, 33, 3)).astype(np.float32)
    instances = PoseInstances(
        keypoints=base.keypoints, scores=base.scores, skeleton="coco", landmarks=landmarks, world_landmarks=world
    )
    assert base.landmarks is None and base.world_landmarks is None  # nothing kept unless asked for
    assert "landmarks" in repr(instances) and "landmarks" not in repr(base)
    picked = instances[[2, 0]]
    assert picked.landmarks is not None and picked.world_landmarks is not None
    np.testing.assert_array_equal(picked.landmarks, landmarks[[2, 0]])
    np.testing.assert_array_equal(picked.world_landmarks, world[[2, 0]])
    joined = PoseInstances.cat([instances[:1], instances[1:]])
    assert joined.landmarks is not None
    np.testing.assert_array_equal(joined.landmarks, landmarks)  # NaN at the same place
    converted = instances.convert("crowdpose")  # the skeleton changes, the landmarks do not
    assert converted.num_keypoints == 14 and converted.landmarks is instances.landmarks
    assert converted.world_landmarks is instances.world_landmarks
    with pytest.raises(ValueError, match="set together"):
        PoseInstances(keypoints=base.keypoints, scores=base.scores, skeleton="coco", landmarks=landmarks)
    with pytest.raises(ValueError, match=r"world_landmarks must have shape \(3, 33, 3\)"):
        PoseInstances(
            keypoints=base.keypoints,
            scores=base.scores,
            skeleton="coco",
            landmarks=landmarks,
            world_landmarks=world[:, :5],
        )
    with pytest.raises(ValueError, match=r"landmarks must have shape \(3, L, 5\)"):
        PoseInstances(
            keypoints=base.keypoints, scores=base.scores, skeleton="coco", landmarks=world, world_landmarks=world
        )
    with pytest.raises(ValueError, match="landmarks is set on some items"):
        PoseInstances.cat([instances[:1], PoseInstances(keypoints=base.keypoints, scores=base.scores, skeleton="coco")])
