"""The one codec factory: a name (or ``"auto"`` and a model's output kind) and arguments -> a codec.

Legend: input size ``(w, h)``, heatmap size ``(W, H)``.
"""

from __future__ import annotations

from typing import Any

from posekit.codecs.base import Codec
from posekit.codecs.integral_regression import IntegralRegression
from posekit.codecs.msra_heatmap import MSRAHeatmap
from posekit.codecs.regression_label import RegressionLabel
from posekit.codecs.udp_heatmap import UDPHeatmap

__all__ = ["CODECS", "CODEC_BY_OUTPUT_KIND", "build_codec", "resolve_codec_name"]

CODECS: dict[str, type[MSRAHeatmap] | type[UDPHeatmap] | type[IntegralRegression] | type[RegressionLabel]] = {
    codec.name: codec for codec in (MSRAHeatmap, UDPHeatmap, IntegralRegression, RegressionLabel)
}

# The codec ``"auto"`` means for each 2D model output kind (``Pose2DModel.output_kind``).
CODEC_BY_OUTPUT_KIND = {"heatmap": "msra", "coordinates": "regression", "heatmap+coordinates": "integral"}


def resolve_codec_name(name: str, output_kind: str | None = None) -> str:
    """The lower-case codec name; ``"auto"`` becomes the codec for ``output_kind``.

    Raises:
        ValueError: ``"auto"`` without a known ``output_kind``.
    """
    key = name.lower()
    if key != "auto":
        return key
    if output_kind not in CODEC_BY_OUTPUT_KIND:
        raise ValueError(
            f"codec 'auto' needs the model's output kind, one of {sorted(CODEC_BY_OUTPUT_KIND)}; got {output_kind!r}"
        )
    return CODEC_BY_OUTPUT_KIND[output_kind]


def build_codec(name: str, *, output_kind: str | None = None, **kwargs: Any) -> Codec:
    """Build a codec by name: ``"msra"``, ``"udp"``, ``"integral"``, ``"regression"`` or ``"auto"``.

    Args:
        name: codec name (case-insensitive); ``"auto"`` picks it from ``output_kind``
            (:data:`CODEC_BY_OUTPUT_KIND`: MSRA heatmaps, regression labels, or the integral codec).
        output_kind: the model's ``output_kind``, needed for ``"auto"``.
        **kwargs: the codec's constructor arguments (``input_size``, ``heatmap_size``, ...).

    Raises:
        ValueError: for an unknown name or arguments the codec does not take.
    """
    key = resolve_codec_name(name, output_kind)
    codec_class = CODECS.get(key)
    if codec_class is None:
        raise ValueError(f"unknown codec {name!r}; expected one of {sorted(CODECS)}")
    try:
        return codec_class(**kwargs)
    except TypeError as error:
        raise ValueError(f"bad arguments for codec {key!r}: {error}") from None
