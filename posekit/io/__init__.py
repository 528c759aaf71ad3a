"""Files in and out: atomic writes, JSON and COCO files, pose ``.npz`` files, safe unpickling, checkpoints
(posekit and official formats), images, video, BVH.

Layer 2 of the package: it may use :mod:`posekit.structures`, skeletons and geometry, never codecs,
models or anything above (ONNX export, which needs models, is :mod:`posekit.export`).
"""

from posekit.io.atomic import atomic_path, atomic_write_bytes, atomic_write_json, atomic_write_text

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_json", "atomic_write_text"]
