"""2D-to-3D lifting models (VideoPose3D temporal convolutions, trajectory model)."""

from posekit.models.lift3d.videopose3d import (
    TemporalModel,
    TemporalModelOptimized1f,
    videopose3d_27,
    videopose3d_81,
    videopose3d_243,
    videopose3d_243_causal,
)

__all__ = [
    "TemporalModel",
    "TemporalModelOptimized1f",
    "videopose3d_27",
    "videopose3d_81",
    "videopose3d_243",
    "videopose3d_243_causal",
]
