"""The ``lift3d`` task: VideoPose3D training and evaluation (supervised and semi-supervised).

Pavllo, Feichtenhofer, Grangier, Auli, "3D human pose estimation in video with temporal
convolutions and semi-supervised training", CVPR 2019. Legend: ``B`` batch, ``T`` frames,
``K`` input keypoints, ``J`` joints; 3D in metres, camera space; errors reported in millimetres.

Data (``data.kind``):

* ``h36m`` / ``humaneva``: the official prepared ``.npz`` files (:mod:`posekit.data.h36m`,
  :mod:`posekit.data.humaneva`), 2D from ``data.keypoints`` (``gt``, ``cpn``, ``detectron`` or a
  ``file`` given by ``data.path_2d``);
* ``deepmimic``: the motion-capture clips shipped with pybullet, seen through random virtual
  cameras with detector-like 2D (:mod:`posekit.data.mocap_lifting`); ``deepmimic.validation_clips``
  are held out and rendered from fixed cameras for evaluation. This trains posekit's default
  lifter (``configs/videopose3d/deepmimic_default.yaml``).

Training follows ``run.py``: the strided :class:`~posekit.models.lift3d.TemporalModelOptimized1f`
trains on single-frame windows (:class:`~posekit.data.lift_windows.ChunkedWindows`, flip
augmentation) and shares its weights with the dilated :class:`~posekit.models.lift3d.TemporalModel`
used for evaluation; the loss is the MPJPE of root-relative joints; Adam with AMSGrad, the
learning rate multiplied by ``lr_decay`` after every epoch, BatchNorm momentum decayed from 0.1 to
0.001 (``m(e) = 0.1 * exp(-e / epochs * ln(0.1 / 0.001))`` during epoch ``e``).

Semi-supervised (``semi_supervised.subjects_unlabeled`` non-empty; Section 4 of the paper): each
batch holds labelled and unlabelled windows, run through the pose model together; a trajectory
model (same architecture, one output joint) predicts the root's camera-space position and is
trained on the labelled part with the MPJPE weighted by ``1 / z``; after ``warmup_epochs`` of
supervised training the unlabelled predictions plus their trajectory are projected back to 2D
with the unlabelled cameras' intrinsics (``projection``: ``nonlinear`` with the Human3.6M
distortion, or ``linear``) and compared with the input 2D (MPJPE in 2D), and the bone-length
term pulls the mean bone lengths predicted for the unlabelled part towards those of the
labelled part. (For causal models the 2D target frame is the window's last frame, aligned with
the prediction; ``run.py`` takes the centre frame in that case.)

Evaluation (:func:`~posekit.tasks.lift3d.evaluate.evaluate`) is the official protocol: whole
sequences padded at the edges, optional flip test-time augmentation, Protocol 1 (MPJPE),
2 (P-MPJPE), 3 (N-MPJPE) and the velocity error (MPJVE), per action (variants merged by the first word of the name:
``"Walking 1"`` counts as ``"Walking"``), each action the frame-weighted mean over its
sequences, and the average over actions; optionally per subject.

The task is one package, a pattern for new tasks: :mod:`~posekit.tasks.lift3d.config` (the config
dataclasses), :mod:`~posekit.tasks.lift3d.data` (datasets to batches and test sequences),
:mod:`~posekit.tasks.lift3d.model` (the models trained together), :mod:`~posekit.tasks.lift3d.losses`,
:mod:`~posekit.tasks.lift3d.train`, :mod:`~posekit.tasks.lift3d.evaluate` and
:mod:`~posekit.tasks.lift3d.export` (the lifter file); this module re-exports their public names and
registers the task. Checkpoints of every kind load with :func:`posekit.models.lift3d.load_lifter`.
"""

from posekit.tasks import register_task
from posekit.tasks.lift3d.config import (
    DeepMimicConfig,
    Lift3DConfig,
    Lift3DDataConfig,
    Lift3DModelConfig,
    SemiSupervisedConfig,
)
from posekit.tasks.lift3d.data import LiftingData, build_lifting_data
from posekit.tasks.lift3d.evaluate import aggregate_errors, evaluate, evaluate_lifter
from posekit.tasks.lift3d.export import export_lifter
from posekit.tasks.lift3d.losses import semi_supervised_loss, supervised_loss
from posekit.tasks.lift3d.model import LiftingTrainModule, build_train_module
from posekit.tasks.lift3d.train import bn_momentum, train

__all__ = [
    "DeepMimicConfig",
    "Lift3DConfig",
    "Lift3DDataConfig",
    "Lift3DModelConfig",
    "LiftingData",
    "LiftingTrainModule",
    "SemiSupervisedConfig",
    "aggregate_errors",
    "bn_momentum",
    "build_lifting_data",
    "build_train_module",
    "evaluate",
    "evaluate_lifter",
    "export_lifter",
    "semi_supervised_loss",
    "supervised_loss",
    "train",
]

register_task(
    "lift3d",
    Lift3DConfig,
    train,
    evaluate,
    description="VideoPose3D 2D-to-3D lifting (Human3.6M, HumanEva, DeepMimic; supervised or semi-supervised)",
)
