"""Inference: detectors, top-down pipeline, tracking, smoothing, video, 3D lifting.

Names are imported lazily (PEP 562) so that ``import posekit.inference`` stays cheap and the
numpy-only 2D pipeline never pays for importing torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "BlazePoseDetector": "posekit.inference.blazepose_detector",
    "BlazePoseLandmarker": "posekit.inference.blazepose_landmarks",
    "BlazePoseEstimator": "posekit.inference.blazepose",
    "TopDownPipeline": "posekit.inference.pipeline",
    "build_blazepose_pipeline": "posekit.inference.pipeline",
    "BoxFileDetector": "posekit.inference.detectors",
    "PoseTracker": "posekit.inference.tracking",
    "OneEuroFilter": "posekit.inference.smoothing",
    "TiledPersonDetector": "posekit.inference.multiscale",
    "lift_sequence": "posekit.inference.lifting",
    "default_lifter_path": "posekit.inference.default_lifter",
    "load_default_lifter": "posekit.inference.default_lifter",
    "lift_tracks": "posekit.inference.lift_pipeline",
    "StreamingLifter": "posekit.inference.streaming",
    "ModelPoseEstimator": "posekit.inference.topdown_model",
    "build_model_estimator": "posekit.inference.topdown_model",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'posekit.inference' has no attribute {name!r}")
