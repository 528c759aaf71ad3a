"""``predict`` over many inputs in worker processes, with the results of one worker.

Each worker process builds the estimator (and lifter) of the options once, then runs whole inputs
(an image or a video, tracked and lifted in that worker) and sends back their poses, messages and
the overlay / BVH files it wrote into a private folder under ``out``. The parent takes the inputs'
results in input order, whatever order they finish in, and gives them what one process would
have: image ids counted in that order, overlay and BVH names made unique in that order (files
renamed into ``vis/`` and ``bvh/``), messages reported in that order. ``predictions.json`` is
written once, at the end, by the caller (atomically).

Workers are started with ``spawn`` (a fresh interpreter: no inherited model or thread state), so a
script calling ``posekit.predict(..., workers=N)`` on Windows or macOS needs the usual
``if __name__ == "__main__":`` guard. The model threads default to the CPUs / workers, at least 1.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import shutil
import tempfile
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posekit.inference.predict import (
    FramePoses,
    InputFile,
    PredictOptions,
    Report,
    _Run,
    available_cpus,
    build_predict_estimator,
    load_lifter_for_predict,
    process_input,
)

if TYPE_CHECKING:
    from posekit.structures import PoseSequence

__all__ = ["predict_in_workers", "worker_threads"]


@dataclass
class _InputResult:
    """What one worker found and wrote for one input."""

    frames: list[FramePoses]
    lifted: list[tuple[str, PoseSequence]]
    images: int
    videos: int
    video_frames: int
    people: int
    person_frames: int
    messages: list[tuple[str, str]]
    error: str | None
    written: list[tuple[str, str, str, Path]] = field(default_factory=list)


# The models of this worker process (set by _start_worker).
_WORKER: dict[str, Any] = {}


def worker_threads(options: PredictOptions, workers: int) -> int:
    """Model threads per worker: ``options.threads``, else the CPUs shared out, at least 1."""
    return options.threads if options.threads is not None else max(1, available_cpus() // workers)


def _start_worker(options: PredictOptions) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", str(options.threads or 1))
    try:
        estimator = build_predict_estimator(options)
        lifter = load_lifter_for_predict(options.lifter, options.threads, options.causal) if options.lift else None
    except Exception as error:  # raised in the parent by the first input, as one process would raise it
        _WORKER["error"] = error
        return
    _WORKER.update(options=options, estimator=estimator, lifter=lifter)


def _run_input(item: InputFile, out: str | None) -> _InputResult:
    if "error" in _WORKER:
        raise _WORKER["error"]
    options = dataclasses.replace(_WORKER["options"], out=out, progress=False)
    run = _Run(options, _WORKER["estimator"], _WORKER["lifter"])
    messages, error = process_input(run, item)
    result = run.result
    return _InputResult(
        frames=result.poses,
        lifted=result.lifted,
        images=result.images,
        videos=result.videos,
        video_frames=result.video_frames,
        people=result.people,
        person_frames=result.person_frames,
        messages=messages,
        error=error,
        written=run.written,
    )


def _take(run: _Run, item: InputFile, found: _InputResult) -> None:
    """Merge one input's result into ``run`` as if ``run`` had processed it."""
    for frame in found.frames:
        frame.image_id = run.take_image_id(frame.file_name if frame.frame is None else None)
    bvh_stems: dict[str, str] = {}
    for folder, stem, suffix, path in found.written:
        if not path.exists():
            continue  # an input that failed half-way
        if folder == "bvh":  # one stem per video, made unique in this run's order
            if stem not in bvh_stems:
                bvh_stems[stem] = run.bvh_stem(stem)
            stem = bvh_stems[stem]
        final = run.output_path(folder, stem, suffix)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, final)
    result = run.result
    result.poses += found.frames
    result.lifted += found.lifted
    result.images += found.images
    result.videos += found.videos
    result.video_frames += found.video_frames
    result.people += found.people
    result.person_frames += found.person_frames


def predict_in_workers(run: _Run, items: list[InputFile], workers: int, say: Report, stop_on_error: bool) -> None:
    """Run ``items`` in ``workers`` processes and merge them into ``run`` in input order.

    Raises:
        ValueError, OSError: the workers could not build the models (bad ``model``/``weights``/
            ``lifter``: the exception one process would raise), or with ``stop_on_error`` the
            first input that failed.
        ChildProcessError: a worker process died.
    """
    from tqdm import tqdm

    options = dataclasses.replace(run.options, threads=worker_threads(run.options, workers), workers=1)
    scratch: Path | None = None
    if run.out is not None:
        run.out.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".posekit-workers-", dir=run.out))
    context = multiprocessing.get_context("spawn")
    executor = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=(options,))
    try:
        futures: list[Future[_InputResult]] = [
            executor.submit(_run_input, item, None if scratch is None else str(scratch / str(index)))
            for index, item in enumerate(items)
        ]
        with tqdm(
            total=len(items), desc="inputs", unit="input", disable=None if run.options.progress else True
        ) as progress:
            for item, future in zip(items, futures, strict=True):
                try:
                    found = future.result()  # the worker's own exception when it could not build its models
                except BrokenProcessPool:
                    raise ChildProcessError(
                        f"a worker process died while running {item.path} (out of memory?); try fewer --workers"
                    ) from None
                _take(run, item, found)
                run.report(found.messages, found.error, say, stop_on_error)
                progress.update(1)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
        if scratch is not None:
            with contextlib.suppress(OSError):
                shutil.rmtree(scratch)
