"""``posekit.predict``: the poses of every person in images, arrays, folders and videos, in one call.

::

    import posekit

    result = posekit.predict("photo.jpg")
    people = result[0].instances          # PoseInstances: keypoints (N, 17, 2) px, scores (N, 17), boxes
    result = posekit.predict(["a.jpg", image_rgb, "clip.mp4"], skeleton="h36m", lift=True)
    for frame in result:                  # one FramePoses per image and per video frame
        frame.file_name, frame.frame, frame.instances.track_ids, frame.keypoints_3d

The keyword arguments are :class:`~posekit.inference.predict.PredictOptions` fields, the options
of ``posekit predict`` (``skeleton``, ``max_people``, ``tiles``, ``model``/``weights``, ``lift``,
``causal``, ``out``, ...); an unknown name raises ``TypeError`` naming the closest ones. Nothing is
written unless ``out`` is given, and nothing is printed: messages go to the ``posekit`` logger
(silent unless the application configures :mod:`logging`) or to ``report``.

The estimator (and the lifter) built for one call is kept for the next call with the same model
options, so calling :func:`predict` image by image in a loop pays for loading the models once
(``workers`` other than 1 builds them in each worker process instead).
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from posekit.inference.estimator import PoseEstimator
from posekit.inference.predict import (
    PredictOptions,
    PredictResult,
    Report,
    build_predict_estimator,
    load_lifter_for_predict,
)
from posekit.inference.predict import predict as predict_inputs

if TYPE_CHECKING:
    from posekit.models.lift3d import Lifter

__all__ = ["LOGGER", "Source", "options_from_keywords", "predict"]

LOGGER = logging.getLogger("posekit")

Source = str | os.PathLike[str] | np.ndarray

# The options that decide which estimator / lifter is built (the cache keys).
_ESTIMATOR_FIELDS = (
    "model",
    "weights",
    "device",
    "scales",
    "flip",
    "max_people",
    "min_score",
    "detector_min_score",
    "tiles",
    "threads",
)
_LIFTER_FIELDS = ("lifter", "causal", "threads")
_OPTION_NAMES = tuple(item.name for item in dataclasses.fields(PredictOptions))


class _ModelCache:
    """The last estimator and lifter built, with the options they were built from."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.estimator_key: tuple[Any, ...] | None = None
        self.estimator: PoseEstimator | None = None
        self.lifter_key: tuple[Any, ...] | None = None
        self.lifter: Lifter | None = None

    def get_estimator(self, options: PredictOptions) -> PoseEstimator:
        key = tuple(getattr(options, name) for name in _ESTIMATOR_FIELDS)
        if self.estimator is None or key != self.estimator_key:
            self.estimator = None  # free the old models before loading new ones
            self.estimator = build_predict_estimator(options)
            self.estimator_key = key
        return self.estimator

    def get_lifter(self, options: PredictOptions) -> Lifter:
        key = tuple(getattr(options, name) for name in _LIFTER_FIELDS)
        if self.lifter is None or key != self.lifter_key:
            self.lifter = None
            self.lifter = load_lifter_for_predict(options.lifter, options.threads, options.causal)
            self.lifter_key = key
        return self.lifter


_CACHE = _ModelCache()


def options_from_keywords(**keywords: Any) -> PredictOptions:
    """:class:`PredictOptions` from keyword arguments; an unknown name raises ``TypeError`` with the closest names."""
    unknown = [name for name in keywords if name not in _OPTION_NAMES]
    if unknown:
        name = unknown[0]
        close = difflib.get_close_matches(name, _OPTION_NAMES, n=3)
        hint = f"; did you mean {' or '.join(repr(item) for item in close)}?" if close else ""
        raise TypeError(f"posekit.predict() got an unknown option {name!r}{hint} (options: {', '.join(_OPTION_NAMES)})")
    return PredictOptions(**keywords)


def _log(level: str, text: str) -> None:
    if level == "error":
        LOGGER.error(text)
    elif level == "warning":
        LOGGER.warning(text)
    else:
        LOGGER.info(text)


def predict(
    source: Source | Sequence[Source],
    /,
    *,
    estimator: PoseEstimator | None = None,
    report: Report | None = None,
    skip_errors: bool = False,
    **options: Any,
) -> PredictResult:
    """The poses of every person in ``source``, one :class:`~posekit.inference.predict.FramePoses` per image or frame.

    Args:
        source: an image or video file, a folder (searched recursively for both), an
            ``(H, W, 3)`` uint8 RGB image array, or a list of these.
        estimator: run this :class:`~posekit.inference.estimator.PoseEstimator` (e.g. a model you
            built) instead of the one the options describe.
        report: called with ``(level, text)`` for each note, warning and error (default: the
            ``posekit`` logger).
        skip_errors: go on past inputs that cannot be read (their messages are reported and
            ``result.failed`` counts them) instead of raising at the first.
        **options: :class:`~posekit.inference.predict.PredictOptions` fields, e.g.
            ``skeleton="h36m"``, ``max_people=1``, ``lift=True``, ``out="runs/predict"``.

    Returns:
        The :class:`~posekit.inference.predict.PredictResult`: iterate or index it for the
        frames; ``result[i].instances`` are the people (keypoints in image pixels, in the chosen
        skeleton; ``track_ids`` in videos), ``result[i].keypoints_3d`` the 3D joints with ``lift``.

    Raises:
        TypeError: an unknown option name.
        ValueError: a bad option value, a model or lifter that cannot be loaded, or (unless
            ``skip_errors``) an input that cannot be read, with one sentence naming it.
    """
    sources: list[Source] = (
        [source] if isinstance(source, (str, os.PathLike, np.ndarray)) else list(source)  # type: ignore[arg-type]
    )
    if not sources:
        raise ValueError("posekit.predict() needs at least one input (a file, a folder or an image array)")
    parsed = options_from_keywords(**options)
    with _CACHE.lock:
        lifter = None
        if parsed.workers == 1:  # worker processes build their own models
            if estimator is None:
                estimator = _CACHE.get_estimator(parsed)
            lifter = _CACHE.get_lifter(parsed) if parsed.lift else None
        return predict_inputs(
            sources,
            parsed,
            estimator=estimator,
            lifter=lifter,
            report=_log if report is None else report,
            stop_on_error=not skip_errors,
        )
