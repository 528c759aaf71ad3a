"""Task ``pose2d``: train and evaluate top-down 2D single-person models (every family).

A config file (``configs/*.yaml``) maps onto :class:`Pose2DConfig`::

    task: pose2d
    model: {name: simplebaseline_res18_128x96}
    data: {train_annotations: data/synthetic/annotations/train.json, train_images: data/synthetic/images/train,
           val_annotations: data/synthetic/annotations/val.json, val_images: data/synthetic/images/val}
    train: {epochs: 8, lr: 0.001, batch_size: ...}
    eval: {metric: pck}

Legend: ``B`` batch, ``K`` keypoints, ``S`` stages, input ``(w, h)``, heatmaps ``(W, H)``.

What the config derives (never written twice): ``K`` from the skeleton, the input size and heatmap
size from the model, the codec from the model's ``output_kind`` (``"auto"``: MSRA Gaussian heatmaps
for heatmap models, normalised labels for coordinate models, the integral codec, labels plus
Gaussian heatmaps, for hybrids).

Training (one step, :func:`training_losses`):

* heatmap models: :class:`~posekit.losses.heatmap.JointsMSELoss` (or OHKM) on every stage, summed
  (intermediate supervision: Stacked Hourglass, CPM; CPM's targets gain the background map);
* coordinate models: DeepPose, the L2 loss (``loss.coordinate``) on every stage's normalised
  coordinates, or only on stage ``stage`` when the config trains the cascade stage by stage (the
  paper's procedure, Sec. 3.2: that stage's parameters train, every other stage is frozen, in eval
  mode, and earlier stages provide its input estimates; start from the previous stage's
  checkpoint with ``model.weights``; with ``cascade.simulated_fraction`` the refinement stages
  are also fed simulated estimates, ground truth plus noise, as Sec. 3.2, Eq. 7); IEF, Fixed
  Path Consolidation: at every iteration the correction is regressed onto
  :func:`~posekit.models.pose2d.ief.ief_targets`, the bounded part
  of the remaining error (Carreira et al. 2016, Sec. 2.2), and the mean pose ``y_0`` is set from
  the training labels first;
* hybrids (integral, DS-CNN): the coordinate loss (L1 by default, Sun et al. 2018) plus
  ``loss.heatmap_weight`` times the heatmap loss on the same Gaussian targets.

Before each evaluation during training, ``eval.precise_bn_batches`` can recompute the BatchNorm
statistics with the current weights (:func:`recompute_batchnorm_statistics`): DeepPose and IEF
regress coordinates from globally pooled features, whose eval-mode output shifts with lagging
moving-average statistics.

Evaluation (:func:`predict_records` then :func:`compute_metrics`): crops at the records' boxes,
optional flip test (the image is mirrored, the prediction mirrored back with the skeleton's
flip pairs; heatmaps are shifted one pixel right as HRNet's ``TEST.SHIFT_HEATMAP``), keypoints
decoded with the codec (argmax + quarter offset, or DARK) and mapped back into the image with
the inverse crop matrix. Metrics: ``coco_ap`` (per-person results rescored by
``box score x mean of the keypoint scores above 0.2`` and filtered by OKS-NMS per image, as HRNet's
``COCODataset.evaluate``; pycocotools COCOeval), ``pckh`` (MPII, head boxes needed) or ``pck``
(PCK at ``eval.pck_threshold`` of the box size ``max(w, h)``, the synthetic set's metric).
"""

from __future__ import annotations

from posekit.tasks import register_task
from posekit.tasks.pose2d.config import (
    AugmentationConfig,
    CascadeConfig,
    DataConfig,
    EvalConfig,
    LossConfig,
    ModelConfig,
    Pose2DConfig,
)
from posekit.tasks.pose2d.data import build_codec_for_model, build_model
from posekit.tasks.pose2d.evaluate import compute_metrics, evaluate, predict_records
from posekit.tasks.pose2d.losses import Pose2DLosses, training_losses
from posekit.tasks.pose2d.train import Pose2DTrainingView, recompute_batchnorm_statistics, train

__all__ = [
    "AugmentationConfig",
    "CascadeConfig",
    "DataConfig",
    "EvalConfig",
    "LossConfig",
    "ModelConfig",
    "Pose2DConfig",
    "Pose2DLosses",
    "Pose2DTrainingView",
    "build_codec_for_model",
    "build_model",
    "compute_metrics",
    "evaluate",
    "predict_records",
    "recompute_batchnorm_statistics",
    "train",
    "training_losses",
]

register_task(
    "pose2d",
    Pose2DConfig,
    train,
    evaluate,
    description="top-down 2D single-person models (DeepPose, IEF, CPM, Hourglass, SimpleBaseline, HRNet, hybrids)",
)
