"""One interface for every whole-image pose estimator: an image in, the people in it out.

A :class:`PoseEstimator` is anything callable as ``estimator(image) -> PoseInstances``: the image is
``(H, W, 3)`` uint8 RGB and the poses are in its original pixels (any registered skeleton, with
``instance_scores`` and, where the estimator knows them, ``boxes``). Everything downstream takes a
``PoseEstimator`` and nothing more: video tracking and smoothing
(:class:`~posekit.inference.video.VideoPosePipeline`), 3D lifting (:mod:`posekit.inference.lift3d`) and
``posekit predict`` (:func:`posekit.inference.predict.predict`). A new family plugs in by
implementing ``__call__``:

* top-down: :class:`~posekit.inference.topdown.TopDownPipeline`, a person detector and a per-person
  estimator (the shipped BlazePose landmark model, or any registered 2D model on the person boxes);
* bottom-up: :class:`~posekit.inference.bottomup.BottomUpEstimator` (HigherHRNet: every joint of
  every person in one pass over the whole image, then grouping by associative embedding; no person
  detector). Body-mesh estimators implement the same call; their grouping and mesh stages stay
  inside the estimator.

Two optional abilities, used when present:

* ``for_video() -> PoseEstimator`` (:class:`VideoAdaptable`): the variant to run on consecutive
  video frames (the top-down pipeline returns one whose detector tiles on a video schedule);
* the top-down pipeline's detector/per-person split, which lets video follow people from frame to
  frame without running the detector (:class:`~posekit.inference.topdown.TrackingPoseEstimator`).
  Other estimators are run on every frame and their poses associated by
  :class:`~posekit.inference.tracking.PoseTracker`.

Legend: ``N`` people, ``K`` keypoints; images ``(H, W, 3)`` uint8 RGB; keypoints in image pixels
with the centre of the top-left pixel at ``(0, 0)``; boxes ``xyxy``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from posekit.inference.topdown import TopDownPipeline, build_blazepose_pipeline, build_person_detector
from posekit.structures import PoseInstances

__all__ = ["PoseEstimator", "VideoAdaptable", "build_estimator", "for_video"]


@runtime_checkable
class PoseEstimator(Protocol):
    """Whole-image pose estimation: the people in one image."""

    def __call__(self, image: np.ndarray) -> PoseInstances:
        """Poses of the people in ``image`` ``(H, W, 3)`` uint8 RGB, in its pixels, best first."""
        ...


@runtime_checkable
class VideoAdaptable(Protocol):
    """An estimator with a variant for consecutive video frames."""

    def for_video(self) -> PoseEstimator:
        """The estimator to run on video frames (may share models with this one)."""
        ...


def for_video(estimator: PoseEstimator) -> PoseEstimator:
    """``estimator.for_video()`` when the estimator has a video variant, else the estimator itself."""
    return estimator.for_video() if isinstance(estimator, VideoAdaptable) else estimator


def build_estimator(
    model: str | None = None,
    weights: str | os.PathLike[str] | None = None,
    *,
    max_people: int | None = None,
    min_score: float = 0.2,
    detector_min_score: float = 0.5,
    tiles: str | int = "auto",
    num_threads: int | None = None,
    device: str = "cpu",
    scales: Sequence[float] = (1.0,),
    flip: bool = True,
) -> PoseEstimator:
    """The estimator ``posekit predict`` runs: BlazePose by default, or a registered 2D model.

    Args:
        model: ``None`` for the shipped BlazePose pipeline (detector + landmark model); a registered
            bottom-up model (``higherhrnet_*``,
            :func:`~posekit.models.bottomup.loading.is_bottomup_model`), run on the whole image with
            no person detector (:func:`~posekit.inference.bottomup.build_bottomup_estimator`; its
            instance scores are the mean joint heatmap values); else a registered 2D single-person
            model name, run on every person the BlazePose detector finds
            (:func:`~posekit.inference.model_estimator.build_model_estimator`; its instance scores
            are HRNet's rescoring, box score x mean confident keypoint score).
        weights: the model's checkpoint (posekit or official); required with ``model``.
        max_people: at most this many people per image (best first).
        min_score: minimum instance score of a kept person.
        detector_min_score: minimum person-detector score (MediaPipe: 0.5).
        tiles: the detector's tiling (``"auto"``, ``"off"`` or ``N``; see
            :func:`~posekit.inference.topdown.build_blazepose_pipeline`).
        num_threads: CPU threads for the TFLite models (``None``: the cores, at most 4).
        device: torch device of ``model``.
        scales: the bottom-up test scales (``(0.5, 1, 2)``: the official multi-scale test); a
            top-down or BlazePose estimator takes only ``(1,)``.
        flip: the 2D model's flip test (bottom-up and registered top-down models; on by default);
            BlazePose has none, so ``False`` is refused without ``model``.

    Raises:
        ValueError: ``model`` without ``weights`` or ``weights`` without ``model``; unknown model;
            ``scales`` other than ``(1,)`` without a bottom-up model, ``flip=False`` without a model.
    """
    scales = tuple(float(value) for value in scales)
    bottomup = model is not None and _is_bottomup(model)
    if not bottomup and scales != (1.0,):
        raise ValueError(
            f"scales {list(scales)} apply to bottom-up models (higherhrnet_*), not to {model or 'BlazePose'}"
        )
    if model is None:
        if weights is not None:
            raise ValueError("weights need a model (the BlazePose models ship with posekit)")
        if not flip:
            raise ValueError("flip=False needs a model: BlazePose has no flip test to turn off")
        return build_blazepose_pipeline(
            max_people=max_people,
            min_score=min_score,
            detector_min_score=detector_min_score,
            num_threads=num_threads,
            tiles=tiles,
        )
    if weights is None:
        raise ValueError(f"model {model} needs weights: posekit ships no weights for it")
    if bottomup:
        from posekit.inference.bottomup import build_bottomup_estimator  # torch: imported only when used

        return build_bottomup_estimator(
            model, weights, scales=scales, flip_test=flip, device=device, max_people=max_people, min_score=min_score
        )
    from posekit.inference.model_estimator import build_model_estimator  # torch: imported only when used

    return TopDownPipeline(
        detector=build_person_detector(detector_min_score, num_threads=num_threads, tiles=tiles),
        estimator=build_model_estimator(model, weights, device=device, flip_test=None if flip else False),
        max_people=max_people,
        min_score=min_score,
    )


def _is_bottomup(model: str) -> bool:
    """Whether ``model`` names a registered bottom-up model (imports the model zoo, and torch)."""
    from posekit.models.bottomup.loading import is_bottomup_model

    return is_bottomup_model(model)
