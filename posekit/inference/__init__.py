"""Inference: one estimator interface (image in, people out), its top-down implementations,
detectors, tracking, smoothing, video, 3D lifting, and ``predict`` over files.

Where things are:

* :mod:`~posekit.inference.estimator`: the :class:`PoseEstimator` interface every whole-image
  estimator implements (top-down here; bottom-up and mesh estimators plug in the same way) and
  :func:`build_estimator`;
* :mod:`~posekit.inference.topdown`: :class:`TopDownPipeline` (person detector + per-person
  estimator) and the BlazePose pipeline builder; :mod:`~posekit.inference.model_estimator`: any
  registered 2D model as the per-person estimator;
* :mod:`~posekit.inference.bottomup`: :class:`BottomUpEstimator`, whole-image bottom-up estimation
  (HigherHRNet + associative-embedding grouping, the official test pipeline);
* :mod:`~posekit.inference.blazepose`: the bundled BlazePose detector and landmark model;
  :mod:`~posekit.inference.detections`, :mod:`~posekit.inference.box_file` (boxes from a file) and
  :mod:`~posekit.inference.tiling`: person detection;
* :mod:`~posekit.inference.video` (tracking any estimator over frames), :mod:`~posekit.inference.tracking`
  (track ids), :mod:`~posekit.inference.smoothing` (One Euro);
* :mod:`~posekit.inference.lift3d`: 3D from the 2D tracks (a lifter over one sequence, over the
  tracks of a video, streamed frame by frame; the shipped default lifter);
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
    "BoxFileDetector": "posekit.inference.box_file",
    "TiledPersonDetector": "posekit.inference.tiling",
    "PoseTracker": "posekit.inference.tracking",
    "OneEuroFilter": "posekit.inference.smoothing",
    "VideoPosePipeline": "posekit.inference.video",
    "lift_sequence": "posekit.inference.lift3d.sequence",
    "default_lifter_path": "posekit.inference.lift3d.default_lifter",
    "load_default_lifter": "posekit.inference.lift3d.default_lifter",
    "lift_tracks": "posekit.inference.lift3d.tracks",
    "StreamingLifter": "posekit.inference.lift3d.streaming",
    "VideoLifter": "posekit.inference.lift3d.video",
    "lift_people": "posekit.inference.lift3d.video",
    "ModelPoseEstimator": "posekit.inference.model_estimator",
    "BottomUpEstimator": "posekit.inference.bottomup",
    "build_bottomup_estimator": "posekit.inference.bottomup",
    "build_model_estimator": "posekit.inference.model_estimator",
    "PredictOptions": "posekit.inference.predict",
    "PredictResult": "posekit.inference.predict",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'posekit.inference' has no attribute {name!r}")
