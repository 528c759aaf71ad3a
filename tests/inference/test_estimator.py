"""The whole-image estimator seam: any PoseEstimator runs through video tracking, smoothing and predict."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from posekit.inference.detections import PersonDetections
from posekit.inference.estimator import PoseEstimator, VideoAdaptable, build_estimator, for_video
from posekit.inference.predict import PredictOptions, predict
from posekit.inference.smoothing import PoseSmoother
from posekit.inference.tiling import VIDEO_TILE_EVERY, VIDEO_TILE_LEVELS, TiledPersonDetector
from posekit.inference.topdown import TopDownPipeline
from posekit.inference.video import VideoPosePipeline
from posekit.io.images import write_image
from posekit.io.video import VideoWriter
from posekit.structures import PoseInstances

# A standing person in COCO-17 order, x/y in a 100 x 200 px box (nose at the top, ankles at the bottom).
STANDING = np.array(
    [
        [50, 20], [45, 15], [55, 15], [40, 18], [60, 18], [30, 50], [70, 50], [25, 85], [75, 85],
        [22, 115], [78, 115], [38, 120], [62, 120], [36, 160], [64, 160], [35, 198], [65, 198],
    ],
    np.float32,
)  # fmt: skip


class TwoPeopleEstimator:
    """A whole-image estimator with no detector stage (like a bottom-up model): two people walking apart.

    The people are returned in a different order on every other call, so only tracking can keep
    their ids; the left person moves 3 px right per call.
    """

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, image: np.ndarray) -> PoseInstances:
        assert image.ndim == 3 and image.dtype == np.uint8
        step = self.calls
        self.calls += 1
        left = STANDING + np.array([20 + 3 * step, 10], np.float32)
        right = STANDING + np.array([220, 12], np.float32)
        keypoints = np.stack([left, right])  # (2, 17, 2)
        scores = np.stack([np.full(17, 0.9, np.float32), np.full(17, 0.8, np.float32)])
        if step % 2:
            keypoints, scores = keypoints[::-1], scores[::-1]
        return PoseInstances(
            keypoints=np.ascontiguousarray(keypoints),
            scores=np.ascontiguousarray(scores),
            skeleton="coco",
            instance_scores=scores.mean(axis=1),
        )


class NoPeopleDetector:
    def detect(self, image: np.ndarray) -> PersonDetections:
        return PersonDetections.empty((image.shape[1], image.shape[0]))


def test_a_plain_callable_is_a_pose_estimator_and_needs_no_video_variant() -> None:
    estimator = TwoPeopleEstimator()
    assert isinstance(estimator, PoseEstimator) and not isinstance(estimator, VideoAdaptable)
    assert for_video(estimator) is estimator


def test_video_tracks_any_whole_image_estimator_by_matching() -> None:
    video = VideoPosePipeline(TwoPeopleEstimator(), smoother=None)
    image = np.zeros((240, 320, 3), np.uint8)
    frames = [video(image, index, index / 25) for index in range(6)]
    first = {
        int(track_id): float(x) for track_id, x in zip(frames[0].track_ids, frames[0].keypoints[:, 0, 0], strict=True)
    }
    assert len(first) == 2
    left_id = min(first, key=first.__getitem__)
    for index, frame in enumerate(frames):
        assert frame.track_ids is not None and sorted(frame.track_ids.tolist()) == sorted(first)
        row = frame.track_ids.tolist().index(left_id)
        assert frame.keypoints[row, 0, 0] == pytest.approx(20 + 50 + 3 * index)  # the left person, whatever the order
        assert frame.boxes is not None and frame.boxes.shape == (2, 4)
    assert video.detector_runs == 0  # no detector stage


def test_video_smooths_any_estimator_per_track() -> None:
    raw = VideoPosePipeline(TwoPeopleEstimator(), smoother=None)
    smooth = VideoPosePipeline(TwoPeopleEstimator(), smoother=PoseSmoother())
    image = np.zeros((240, 320, 3), np.uint8)
    for index in range(5):
        a, b = raw(image, index, index / 25), smooth(image, index, index / 25)
    assert a.track_ids is not None and b.track_ids is not None
    left_raw = a.keypoints[a.track_ids.tolist().index(0), 0, 0]
    left_smooth = b.keypoints[b.track_ids.tolist().index(0), 0, 0]
    assert left_smooth < left_raw  # the filter lags a moving person
    assert left_smooth > 20 + 50  # but follows it


def test_top_down_video_variant_tiles_on_the_video_schedule_and_shares_the_detector() -> None:
    inner = NoPeopleDetector()
    pipeline = TopDownPipeline(detector=TiledPersonDetector(inner, tiles="auto"), estimator=object())  # type: ignore[arg-type]
    video = pipeline.for_video()
    assert isinstance(video, TopDownPipeline) and video is not pipeline and video.estimator is pipeline.estimator
    assert isinstance(video.detector, TiledPersonDetector) and video.detector.detector is inner
    assert (video.detector.max_levels, video.detector.tile_every) == (VIDEO_TILE_LEVELS, VIDEO_TILE_EVERY)
    assert isinstance(pipeline.detector, TiledPersonDetector) and pipeline.detector.tile_every == 1  # unchanged
    fixed = TopDownPipeline(detector=TiledPersonDetector(inner, tiles=3), estimator=object())  # type: ignore[arg-type]
    assert fixed.for_video().detector is fixed.detector
    plain = TopDownPipeline(detector=inner, estimator=object())  # type: ignore[arg-type]
    assert plain.for_video() is plain


def test_build_estimator_refuses_weights_without_model_and_model_without_weights() -> None:
    with pytest.raises(ValueError, match="weights need a model"):
        build_estimator(None, "weights.pth")
    with pytest.raises(ValueError, match="needs weights"):
        build_estimator("hrnet_w32_256x192", None)


def _write_inputs(folder: Path) -> tuple[Path, Path]:
    image = write_image(folder / "photo.png", np.full((240, 320, 3), 90, np.uint8))
    video_path = folder / "clip.avi"
    with VideoWriter(video_path, 25.0, (320, 240), codec="MJPG") as writer:
        for index in range(8):
            writer.write(np.full((240, 320, 3), 10 * index, np.uint8))
    return image, video_path


def test_predict_runs_any_estimator_over_images_and_videos_without_writing(tmp_path: Path) -> None:
    image, video_path = _write_inputs(tmp_path)
    messages: list[tuple[str, str]] = []
    options = PredictOptions(skeleton="h36m")
    result = predict(
        [image, video_path, tmp_path / "missing.jpg"],
        options,
        estimator=TwoPeopleEstimator(),
        report=lambda level, text: messages.append((level, text)),
    )
    assert (result.images, result.videos, result.video_frames, result.people, result.failed) == (1, 1, 8, 18, 1)
    assert messages == [("error", f"{tmp_path / 'missing.jpg'}: no such file or folder")]
    assert result.predictions_path is None and not (tmp_path / "runs").exists()
    assert [frame.frame for frame in result.poses] == [None, *range(8)]
    assert all(frame.instances.skeleton == "h36m" and len(frame.instances) == 2 for frame in result.poses)
    entries = result.to_coco_results()
    assert len(entries) == 18 and [entry["image_id"] for entry in entries[::2]] == list(range(1, 10))
    video_entries = [entry for entry in entries if "frame" in entry]
    assert {entry["track_id"] for entry in video_entries} == {0, 1}
    assert all(len(entry["keypoints"]) == 17 * 3 and entry["file_name"] == str(video_path) for entry in video_entries)


def test_predict_lifts_the_tracks_of_any_estimator_and_writes_atomically(tmp_path: Path) -> None:
    image, video_path = _write_inputs(tmp_path)
    out = tmp_path / "out"
    options = PredictOptions(lift=True, bvh=True, out=out, vis=False)
    result = predict([image, video_path], options, estimator=TwoPeopleEstimator())
    assert result.failed == 0 and result.poses3d_path == out / "poses3d.npz" and result.vis_dir is None
    assert len(result.lifted) == 2 + 2  # two image people (one-frame tracks), two video tracks
    for frame in result.poses:
        assert frame.keypoints_3d is not None and frame.keypoints_3d.shape == (2, 17, 3)
        assert np.isfinite(frame.keypoints_3d).all() and frame.trajectory is not None
    entries = result.to_coco_results()
    assert all(len(entry["keypoints_3d"]) == 51 and len(entry["trajectory"]) == 3 for entry in entries)
    assert sorted(path.name for path in (out / "bvh").iterdir()) == ["clip_track0.bvh", "clip_track1.bvh"]
    assert (out / "predictions.json").is_file() and not list(out.rglob("*.tmp"))


def test_predict_in_2d_never_imports_torch(tmp_path: Path) -> None:
    """The 2D path (BlazePose, tracking, smoothing, files) is numpy-only: importing torch costs ~2 s a run."""
    import subprocess
    import sys

    image, video_path = _write_inputs(tmp_path)
    script = (
        "import sys\n"
        "from posekit.inference.predict import PredictOptions, predict\n"
        f"result = predict([{str(image)!r}, {str(video_path)!r}], PredictOptions(out={str(tmp_path / 'out')!r}))\n"
        "assert result.failed == 0 and result.video_frames == 8, result\n"
        "print('torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_predict_refuses_detections_for_an_estimator_without_a_detector_stage(tmp_path: Path) -> None:
    image, _ = _write_inputs(tmp_path)
    boxes = tmp_path / "boxes.json"
    boxes.write_text('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 1.0}]')
    with pytest.raises(ValueError, match="--detections needs a top-down estimator"):
        predict([image], PredictOptions(detections=str(boxes)), estimator=TwoPeopleEstimator())
