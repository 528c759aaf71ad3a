"""BlazePose without mediapipe: Google's shipped detector and landmark model, MediaPipe 0.10.14's processing.

* :mod:`~posekit.inference.blazepose.assets`: the shipped ``.tflite`` files and a thin TFLite runner;
* :mod:`~posekit.inference.blazepose.detector`: the person detector (alignment points);
* :mod:`~posekit.inference.blazepose.landmarks`: ROIs and the 33-landmark model;
* :mod:`~posekit.inference.blazepose.estimator`: the landmark model as a per-person estimator that
  tracks (the whole-image pipeline is :func:`posekit.inference.topdown.build_blazepose_pipeline`).
"""
