"""Codecs: encode keypoints to training targets and decode network outputs back to keypoints.

Legend: ``N`` instances, ``K`` keypoints, ``D`` dims; sizes are ``(w, h)``; keypoints in input pixels
with pixel centres at integer coordinates (top-left pixel centre ``(0, 0)``).

=========================  =====================================================  =========================
codec                      target                                                 decoding
=========================  =====================================================  =========================
:class:`MSRAHeatmap`       Gaussian heatmaps (SimpleBaseline/HRNet; DARK)         argmax + quarter / DARK
:class:`UDPHeatmap`        UDP Gaussian or class+offset maps                      argmax + UDP-DARK / offset
:class:`IntegralRegression`  normalised labels + heatmaps                         soft-argmax (torch, numpy)
:class:`RegressionLabel`   normalised labels (DeepPose, IEF)                      rescale
=========================  =====================================================  =========================

:func:`build_codec` turns a name and keyword arguments into a codec.
"""

from __future__ import annotations

from typing import Any

from posekit.codecs.flip import flip_coordinates, flip_heatmaps
from posekit.codecs.gaussian import generate_gaussian_heatmaps
from posekit.codecs.heatmap_decoding import get_heatmap_maximum
from posekit.codecs.integral_regression import IntegralRegression
from posekit.codecs.msra_heatmap import MSRAHeatmap
from posekit.codecs.regression_label import RegressionLabel, denormalize_from_boxes, normalize_to_boxes
from posekit.codecs.targets import HeatmapTarget, IntegralTarget, RegressionTarget
from posekit.codecs.udp_heatmap import UDPHeatmap

Codec = MSRAHeatmap | UDPHeatmap | IntegralRegression | RegressionLabel

CODECS: dict[str, type[MSRAHeatmap] | type[UDPHeatmap] | type[IntegralRegression] | type[RegressionLabel]] = {
    "msra": MSRAHeatmap,
    "udp": UDPHeatmap,
    "integral": IntegralRegression,
    "regression": RegressionLabel,
}


def build_codec(name: str, **kwargs: Any) -> Codec:
    """Build a codec by name: ``"msra"``, ``"udp"``, ``"integral"`` or ``"regression"``.

    Args:
        name: codec name (case-insensitive).
        **kwargs: the codec's constructor arguments (``input_size``, ``heatmap_size``, ...).

    Raises:
        ValueError: for an unknown name or arguments the codec does not take.
    """
    codec_class = CODECS.get(name.lower())
    if codec_class is None:
        raise ValueError(f"unknown codec {name!r}; expected one of {sorted(CODECS)}")
    try:
        return codec_class(**kwargs)
    except TypeError as error:
        raise ValueError(f"bad arguments for codec {name!r}: {error}") from None


__all__ = [
    "CODECS",
    "Codec",
    "HeatmapTarget",
    "IntegralRegression",
    "IntegralTarget",
    "MSRAHeatmap",
    "RegressionLabel",
    "RegressionTarget",
    "UDPHeatmap",
    "build_codec",
    "denormalize_from_boxes",
    "flip_coordinates",
    "flip_heatmaps",
    "generate_gaussian_heatmaps",
    "get_heatmap_maximum",
    "normalize_to_boxes",
]
