"""posekit: human pose estimation, 2D and 3D, trained, evaluated and run offline.

Conventions used everywhere in the package (docstrings repeat the legend where it matters):

* ``N`` instances, ``K`` keypoints, ``D`` coordinate dimensions (2 or 3), ``B`` batch, ``T`` time.
* ``keypoints`` are float32 arrays ``(N, K, D)``. 2D keypoints are in image pixels, with the
  centre of the top-left pixel at ``(0, 0)`` (x to the right, y down). 3D keypoints are in
  metres, in camera space (``X_cam = R @ X_world + t``) unless a docstring says otherwise.
* Per-keypoint confidences / visibility are a separate ``scores (N, K)`` (or ``visible``) array.
* Sizes are always ``(w, h)``. Boxes are ``xyxy`` in pixels unless named otherwise.
* Images at the edges of the library are ``(H, W, 3)`` uint8 RGB; tensors are ``(B, C, H, W)``.
* Nothing is downloaded, and nothing is read from disk at import time.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
