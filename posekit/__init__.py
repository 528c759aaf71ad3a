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

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from posekit.inference.api import Source
    from posekit.inference.predict import PredictResult

__version__ = "0.1.0"

__all__ = ["__version__", "predict"]

# A library prints nothing unless the application configures logging.
logging.getLogger("posekit").addHandler(logging.NullHandler())


def predict(source: Source | Sequence[Source], /, **options: Any) -> PredictResult:
    """The poses of every person in images, image arrays, folders and videos, in one call.

    ``posekit.predict("photo.jpg")[0].instances.keypoints`` are the first image's people,
    ``(N, 17, 2)`` COCO keypoints in pixels. The options are those of ``posekit predict``
    (``skeleton=``, ``max_people=``, ``lift=``, ``out=``, ...); see
    :func:`posekit.inference.api.predict` for the arguments and the result.
    """
    from posekit.inference.api import predict as predict_sources

    return predict_sources(source, **options)
