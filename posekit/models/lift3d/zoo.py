"""The VideoPose3D model zoo: the paper's Human3.6M architectures as registry variants.

Pavllo et al., CVPR 2019, Table 5 (receptive fields of 27, 81 and 243 frames) and Section 5.3
(the causal model). Every variant maps 17 Human3.6M joints to 17 joints with 1024 channels by
default; the architecture itself is in :mod:`posekit.models.lift3d.videopose3d`. Each variant is
one row of :data:`VARIANTS`, built by :func:`build_videopose3d` and registered under its name
(``get_model("videopose3d_243")``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from posekit.models.lift3d.videopose3d import TemporalModel
from posekit.models.registry import register_model

__all__ = ["VARIANTS", "VideoPose3DVariant", "build_videopose3d"]


@dataclass(frozen=True)
class VideoPose3DVariant:
    """One zoo row.

    Attributes:
        filter_widths: convolution widths (their product is the receptive field).
        causal: the prediction for frame ``t`` uses frames ``<= t`` only.
        description: one line for listings.
    """

    filter_widths: tuple[int, ...]
    causal: bool
    description: str


VARIANTS: dict[str, VideoPose3DVariant] = {
    "videopose3d_27": VideoPose3DVariant((3, 3, 3), False, "27-frame receptive field (filter widths 3, 3, 3)"),
    "videopose3d_81": VideoPose3DVariant((3, 3, 3, 3), False, "81-frame receptive field (filter widths 3, 3, 3, 3)"),
    "videopose3d_243": VideoPose3DVariant(
        (3, 3, 3, 3, 3), False, "243-frame receptive field (filter widths 3, 3, 3, 3, 3), the paper's best"
    ),
    "videopose3d_243_causal": VideoPose3DVariant(
        (3, 3, 3, 3, 3), True, "causal, 243 frames: the prediction for frame t uses frames <= t"
    ),
}


def build_videopose3d(
    name: str,
    *,
    num_joints_in: int = 17,
    num_joints_out: int = 17,
    in_features: int = 2,
    channels: int = 1024,
    dropout: float = 0.25,
    causal: bool | None = None,
) -> TemporalModel:
    """Build the zoo variant ``name`` (weights not loaded).

    Args:
        name: a key of :data:`VARIANTS`.
        num_joints_in, num_joints_out, in_features, channels, dropout: see
            :class:`~posekit.models.lift3d.videopose3d.TemporalModel`.
        causal: override the variant's causality (``None``: the variant's); a causal variant
            cannot be made symmetric.

    Raises:
        ValueError: unknown ``name``, or ``causal=False`` for a causal variant.
    """
    if name not in VARIANTS:
        raise ValueError(f"unknown VideoPose3D variant {name!r}; expected one of: {', '.join(VARIANTS)}")
    variant = VARIANTS[name]
    if variant.causal and causal is False:
        raise ValueError(f"{name} is causal by definition; use {name.removesuffix('_causal')} for a symmetric model")
    return TemporalModel(
        num_joints_in,
        in_features,
        num_joints_out,
        list(variant.filter_widths),
        causal=variant.causal if causal is None else causal,
        dropout=dropout,
        channels=channels,
    )


for _name in VARIANTS:
    register_model(_name)(functools.partial(build_videopose3d, _name))
