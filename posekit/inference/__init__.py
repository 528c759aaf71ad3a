"""Inference: one estimator interface (image in, people out), its top-down implementations,
detectors, tracking, smoothing, video, 3D lifting, and ``predict`` over files.

Where things are:

* :mod:`~posekit.inference.estimator`: the :class:`PoseEstimator` interface every whole-image
  estimator implements (top-down here; bottom-up and mesh estimators plug in the same way) and
  :func:`build_estimator`;
* :mod:`~posekit.inference.topdown`: :class:`TopDownPipeline` (person detector + per-person
  estimator) and the BlazePose pipeline builder; :mod:`~posekit.inference.topdown_model`: any
  registered 2D model as the per-person estimator;
* :mod:`~posekit.inference.blazepose`: the bundled BlazePose detector and landmark model;
  :mod:`~posekit.inference.detections`, :mod:`~posekit.inference.detectors` (box files) and
  :mod:`~posekit.inference.tiling`: person detection;
* :mod:`~posekit.inference.video` (tracking any estimator over frames), :mod:`~posekit.inference.tracking`
  (track ids), :mod:`~posekit.inference.smoothing` (One Euro);
* 3D: :mod:`~posekit.inference.lifting` (a lifter over one sequence), ``lift_pipeline`` (tracks of
  a video), ``streaming`` (frame by frame), ``video_lifting`` (one video), ``default_lifter``;
* :mod:`~posekit.inference.predict`: :func:`predict`, the library behind ``posekit predict``.

Names are imported lazily (PEP 562) so that ``import posekit.inference`` stays cheap and the
numpy-only 2D pipeline never pays for importing torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "PoseEstimator": "posekit.inference.estimator",
    "build_estimator": "posekit.inference.estimator",
    "BlazePoseDetector": "posekit.inference.blazepose.detector",
    "BlazePoseLandmarker": "posekit.inference.blazepose.landmarks",
    "BlazePoseEstimator": "posekit.inference.blazepose.estimator",
    "TopDownPipeline": "posekit.inference.topdown",
    "build_blazepose_pipeline": "posekit.inference.topdown",
    "PersonDetections": "posekit.inference.detections",
    "BoxFileDetector": "posekit.inference.detectors",
    "TiledPersonDetector": "posekit.inference.tiling",
    "PoseTracker": "posekit.inference.tracking",
    "OneEuroFilter": "posekit.inference.smoothing",
    "VideoPosePipeline": "posekit.inference.video",
    "lift_sequence": "posekit.inference.lifting",
    "default_lifter_path": "posekit.inference.default_lifter",
    "load_default_lifter": "posekit.inference.default_lifter",
    "lift_tracks": "posekit.inference.lift_pipeline",
    "StreamingLifter": "posekit.inference.streaming",
    "VideoLifter": "posekit.inference.video_lifting",
    "ModelPoseEstimator": "posekit.inference.topdown_model",
    "build_model_estimator": "posekit.inference.topdown_model",
    "PredictOptions": "posekit.inference.predict",
    "PredictResult": "posekit.inference.predict",
    "predict": "posekit.inference.predict",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'posekit.inference' has no attribute {name!r}")
