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

:class:`Codec` is the protocol they share (``encode``, ``decode``, ``decode_torch``, ``name``,
``input_size``, ``heatmap_size``); :func:`build_codec` (:mod:`posekit.codecs.factory`) is the one
factory, from a name (or ``"auto"`` and a model's output kind) and constructor arguments.

Modules: one per codec, :mod:`~posekit.codecs.base` (the protocol), :mod:`~posekit.codecs.factory`,
:mod:`~posekit.codecs.targets` (what ``encode`` returns), :mod:`~posekit.codecs.checks`,
:mod:`~posekit.codecs.gaussian` (heatmap generation), :mod:`~posekit.codecs.heatmap_decoding`
(maxima, refinement, DARK, blur) and :mod:`~posekit.codecs.flip` (test-time flip).
"""

from __future__ import annotations

from posekit.codecs.base import Codec, CodecTarget
from posekit.codecs.factory import CODEC_BY_OUTPUT_KIND, CODECS, build_codec, resolve_codec_name
from posekit.codecs.flip import flip_coordinates, flip_heatmaps
from posekit.codecs.gaussian import generate_gaussian_heatmaps
from posekit.codecs.heatmap_decoding import get_heatmap_maximum
from posekit.codecs.integral_regression import IntegralRegression
from posekit.codecs.msra_heatmap import MSRAHeatmap
from posekit.codecs.regression_label import RegressionLabel, denormalize_from_boxes, normalize_to_boxes
from posekit.codecs.targets import HeatmapTarget, IntegralTarget, RegressionTarget
from posekit.codecs.udp_heatmap import UDPHeatmap

__all__ = [
    "CODECS",
    "CODEC_BY_OUTPUT_KIND",
    "Codec",
    "CodecTarget",
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
    "resolve_codec_name",
]
