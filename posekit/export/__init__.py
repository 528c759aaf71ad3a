"""Exporting trained models to other runtimes: ONNX (:mod:`posekit.export.onnx`), checked with onnxruntime.

Layer 5 of the package: it reads models (layer 4) and writes files through :mod:`posekit.io`.
Nothing is imported here, so ``import posekit.export`` does not load torch.
"""
