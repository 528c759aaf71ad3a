"""2D-to-3D lifting models: VideoPose3D (Pavllo et al., CVPR 2019) and everything that loads it.

* :mod:`~posekit.models.lift3d.videopose3d`: the network (:class:`TemporalModel`, dilated, and its
  strided training twin :class:`TemporalModelOptimized1f`);
* :mod:`~posekit.models.lift3d.zoo`: the paper's variants (``videopose3d_27`` ... ``videopose3d_243_causal``)
  in the model registry;
* :mod:`~posekit.models.lift3d.folded`: the inference-only :class:`FoldedTemporalModel`
  (:func:`fold_batchnorm`);
* :mod:`~posekit.models.lift3d.lifter`: :class:`Lifter`, a pose model with its optional trajectory model;
* :mod:`~posekit.models.lift3d.loading`: the architecture from the weights and the one checkpoint
  loader, :func:`load_lifter` (official ``.bin``, posekit lifters and training checkpoints).

Running a lifter over whole sequences is :func:`posekit.inference.lift3d.sequence.lift_sequence`.
"""

from posekit.models.lift3d.folded import FoldedTemporalModel, fold_batchnorm
from posekit.models.lift3d.lifter import Lifter
from posekit.models.lift3d.loading import (
    TemporalArchitecture,
    infer_temporal_architecture,
    load_lifter,
    load_lifter_checkpoint,
    save_lifter,
)
from posekit.models.lift3d.videopose3d import TemporalModel, TemporalModelOptimized1f
from posekit.models.lift3d.zoo import VARIANTS, build_videopose3d

__all__ = [
    "VARIANTS",
    "FoldedTemporalModel",
    "Lifter",
    "TemporalArchitecture",
    "TemporalModel",
    "TemporalModelOptimized1f",
    "build_videopose3d",
    "fold_batchnorm",
    "infer_temporal_architecture",
    "load_lifter",
    "load_lifter_checkpoint",
    "save_lifter",
]
