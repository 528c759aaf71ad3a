"""The codec protocol: what every keypoint codec offers its callers (data transforms, tasks, inference, export).

Legend: ``N`` instances, ``K`` keypoints, input size ``(w, h)``, heatmap size ``(W, H)``.

A codec turns keypoints ``(N, K, 2)`` in input pixels (top-left pixel centre at ``(0, 0)``) into a
training target (:meth:`Codec.encode`) and turns network outputs back into keypoints and scores
(:meth:`Codec.decode` for numpy, :meth:`Codec.decode_torch` for tensors). The concrete codecs
(:class:`~posekit.codecs.MSRAHeatmap`, :class:`~posekit.codecs.UDPHeatmap`,
:class:`~posekit.codecs.IntegralRegression`, :class:`~posekit.codecs.RegressionLabel`) match it
structurally; callers that need a codec's own options (``unbiased``, ``heatmap_type``, ...) test
for its class.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

from posekit.codecs.targets import HeatmapTarget, IntegralTarget, RegressionTarget

__all__ = ["Codec", "CodecTarget"]

CodecTarget = HeatmapTarget | IntegralTarget | RegressionTarget


class Codec(Protocol):
    """A keypoint codec (structural type: the codec classes do not inherit from it).

    Attributes:
        name: the factory name (``"msra"``, ``"udp"``, ``"integral"``, ``"regression"``).
        input_size: network input ``(w, h)`` in pixels.
        heatmap_size: heatmap ``(W, H)``, or ``None`` for codecs without heatmaps (regression).
    """

    @property
    def name(self) -> str: ...

    @property
    def input_size(self) -> tuple[int, int]: ...

    @property
    def heatmap_size(self) -> tuple[int, int] | None: ...

    def encode(self, keypoints: np.ndarray, visible: np.ndarray | None = None, /) -> CodecTarget:
        """Training target of ``keypoints (N, K, 2)`` in input pixels with ``visible (N, K)``."""
        ...

    def decode(self, outputs: np.ndarray, /) -> tuple[np.ndarray, np.ndarray]:
        """Network outputs -> keypoints ``(N, K, 2)`` float32 in input pixels and scores ``(N, K)``."""
        ...

    def decode_torch(self, outputs: torch.Tensor, /) -> tuple[torch.Tensor, torch.Tensor]:
        """Tensor twin of :meth:`decode`: keypoints ``(B, K, 2)`` and scores ``(B, K)``."""
        ...
