"""Inference: detectors, top-down pipeline, tracking, smoothing, video."""
