"""The training loop shared by every trainable posekit model.

A task gives the :class:`Trainer` a model, a loader of batches, a loss function and optionally an
evaluation function; the trainer does the rest::

    def loss_fn(model, batch):                      # batch as the loader yields it, on the device
        prediction = model(batch["image"])
        heatmap = mse(prediction, batch["target"])
        return {"loss": heatmap, "heatmap": heatmap}  # "loss" is optimised; all terms are logged

    trainer = Trainer(model, train_loader, loss_fn, TrainConfig(epochs=210, lr=5e-4, milestones=(170, 200)),
                      evaluate_fn=lambda model: {"AP": coco_ap(model)})
    summary = trainer.fit()

It writes into ``config.out_dir``: ``last.pt`` (after every epoch and every ``save_every_steps``
steps), ``best.pt`` (when ``best_metric`` improves), ``metrics.jsonl``, ``curves.png`` (after
each evaluation and at the end) and ``config.json`` (the resolved config). Every file is written
atomically and only by rank 0.

Exact resume. A checkpoint holds the model, optimiser, schedule and ``GradScaler`` states, the
RNG states of Python, numpy, torch and CUDA (one set per rank), the epoch, the step, the batch
position inside the epoch, the best metric and the elapsed time. Resuming from a checkpoint
written at an epoch boundary continues exactly as the uninterrupted run would: the loader's
shuffling is drawn from the restored torch RNG (or, under DDP, from the ``DistributedSampler``
seed and the epoch). A checkpoint written mid-epoch (``save_every_steps``, or Ctrl-C) also
stores the RNG states of the start of the epoch: on resume the trainer replays the epoch's
iterator from there, skips the batches already trained on (they are loaded again, which costs
time, but not trained on) and then restores the current RNG states, which is exact for loaders
whose order and augmentation depend only on these generators (any map-style ``DataLoader``,
with or without workers). Bit-identical results also need ``deterministic=True`` on GPU.

Data parallel. Under ``torchrun`` the trainer joins the process group (``nccl`` on GPU, ``gloo``
on CPU), wraps the model in ``DistributedDataParallel`` and gives a plain ``DataLoader`` a
``DistributedSampler``; batch sizes are per process. The loss function receives the wrapped
model (call it; reach the module itself through :func:`unwrap_model`). Evaluation runs on rank 0
with the unwrapped model while the other ranks wait; its metrics are broadcast to every rank.

Cost. Per step the trainer adds one host synchronisation (the finiteness check of the loss,
all-reduced under DDP so that every rank stops together) and a copy of the RNG states (about
0.1 ms); see ``benchmarks/engine_overhead.py``.

Failures. A non-finite loss stops training with :class:`NonFiniteLossError` naming the epoch, the
step and every loss term, before the backward pass; no checkpoint is written, so ``last.pt``
stays the last good one. Ctrl-C (``KeyboardInterrupt``) saves ``last.pt`` as of the last
completed step (model, optimiser and the RNG states recorded at that step's end, so resuming is
exact) and re-raises; an interrupt during an evaluation skips that evaluation on resume. Under
``torchrun`` the agent stops the workers with a signal instead, so rely on ``save_every_steps`` and
the epoch checkpoints there. Any other exception leaves the last checkpoint as it was.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from posekit.config import config_to_dict
from posekit.engine import distributed
from posekit.engine.logger import RESERVED_KEYS, MetricsLog, plot_curves
from posekit.engine.reproducibility import configure_determinism, get_rng_state, seed_everything, set_rng_state
from posekit.engine.schedules import LRSchedule, build_optimizer
from posekit.io.atomic import atomic_write_json
from posekit.io.checkpoint import CHECKPOINT_FORMAT, load_checkpoint, save_checkpoint

LossFunction = Callable[[nn.Module, Any], Mapping[str, torch.Tensor]]
EvaluateFunction = Callable[[nn.Module], Mapping[str, float]]
CHECKPOINT_VERSION = 1


@dataclass(frozen=True)
class TrainConfig:
    """Everything the training loop needs to know (loadable from YAML, see :mod:`posekit.config`).

    Attributes:
        epochs: number of passes over the training loader.
        max_steps: stop after this many optimisation steps in total (``None``: run all epochs).
        optimizer: ``"adam"``, ``"adamw"`` or ``"sgd"``.
        lr: base learning rate (per process batch; scale it yourself for larger global batches).
        weight_decay: L2 penalty (decoupled for AdamW).
        momentum: SGD momentum.
        schedule: ``"step"`` (multistep decay at ``milestones``), ``"cosine"`` or ``"constant"``.
        schedule_by: unit of ``milestones`` and of the cosine period: ``"epoch"`` or ``"step"``.
        milestones: decay points of the step schedule, in ``schedule_by`` units.
        gamma: decay factor per milestone.
        min_lr_factor: final cosine learning rate as a fraction of ``lr``.
        warmup_iters: linear warmup length in optimisation steps (0: none).
        warmup_factor: warmup's starting fraction of the learning rate.
        grad_clip: clip the global gradient L2 norm to this value (``None``: no clipping).
        amp: mixed precision: ``"auto"`` (bf16 on CUDA devices that support it, else fp16 with a
            GradScaler; off on CPU), ``"off"``, ``"fp16"`` (with GradScaler) or ``"bf16"``.
        seed: seed of Python, numpy and torch (plus the rank under DDP), and of the sampler.
        deterministic: ask for deterministic kernels (slower on GPU), see
            :func:`posekit.engine.reproducibility.configure_determinism`.
        device: ``"auto"`` (this rank's GPU if CUDA is available, else CPU), ``"cpu"``, ``"cuda"``...
        log_every: write a train record every this many steps (and at each epoch end).
        eval_every: evaluate every this many epochs (0: only at the end).
        save_every_steps: also write ``last.pt`` every this many steps (0: only at epoch ends).
        out_dir: folder of checkpoints and logs.
        best_metric: metric (from the evaluation function) that selects ``best.pt``.
        best_mode: whether ``"max"`` or ``"min"`` of ``best_metric`` is best.
        resume: checkpoint to resume from, or ``"auto"`` for ``out_dir/last.pt`` when it exists.
        progress: show a progress bar (only on a terminal, only on rank 0).
        curves: draw ``curves.png`` after each evaluation and at the end.
    """

    epochs: int = 1
    max_steps: int | None = None
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    schedule: Literal["step", "cosine", "constant"] = "step"
    schedule_by: Literal["epoch", "step"] = "epoch"
    milestones: tuple[int, ...] = ()
    gamma: float = 0.1
    min_lr_factor: float = 0.0
    warmup_iters: int = 0
    warmup_factor: float = 0.001
    grad_clip: float | None = None
    amp: Literal["auto", "off", "fp16", "bf16"] = "auto"
    seed: int = 0
    deterministic: bool = False
    device: str = "auto"
    log_every: int = 50
    eval_every: int = 1
    save_every_steps: int = 0
    out_dir: str = "runs/train"
    best_metric: str | None = None
    best_mode: Literal["max", "min"] = "max"
    resume: str | None = None
    progress: bool = True
    curves: bool = True

    def __post_init__(self) -> None:
        checks = [
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.max_steps is None or self.max_steps >= 1, f"max_steps must be >= 1, got {self.max_steps}"),
            (self.lr > 0, f"lr must be positive, got {self.lr}"),
            (self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay}"),
            (self.gamma > 0, f"gamma must be positive, got {self.gamma}"),
            (0 <= self.min_lr_factor <= 1, f"min_lr_factor must be in [0, 1], got {self.min_lr_factor}"),
            (self.warmup_iters >= 0, f"warmup_iters must be >= 0, got {self.warmup_iters}"),
            (0 < self.warmup_factor <= 1, f"warmup_factor must be in (0, 1], got {self.warmup_factor}"),
            (self.grad_clip is None or self.grad_clip > 0, f"grad_clip must be positive, got {self.grad_clip}"),
            (self.log_every >= 1, f"log_every must be >= 1, got {self.log_every}"),
            (self.eval_every >= 0, f"eval_every must be >= 0, got {self.eval_every}"),
            (self.save_every_steps >= 0, f"save_every_steps must be >= 0, got {self.save_every_steps}"),
            (list(self.milestones) == sorted(self.milestones), f"milestones must be increasing, got {self.milestones}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


class NonFiniteLossError(FloatingPointError, ValueError):
    """The loss became NaN or infinite; training stopped before applying that step."""


def unwrap_model(model: nn.Module) -> nn.Module:
    """The module inside a ``DistributedDataParallel``/``DataParallel`` wrapper (or ``model``)."""
    while isinstance(model, (DistributedDataParallel, nn.DataParallel)):
        model = model.module
    return model


def move_to_device(batch: Any, device: torch.device, non_blocking: bool = False) -> Any:
    """Move every tensor inside ``batch`` (tensors, dicts, lists, tuples, dataclasses) to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, Mapping):
        return {key: move_to_device(value, device, non_blocking) for key, value in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # a namedtuple
        return type(batch)(*(move_to_device(value, device, non_blocking) for value in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(move_to_device(value, device, non_blocking) for value in batch)
    if dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        changes = {
            field.name: move_to_device(getattr(batch, field.name), device, non_blocking)
            for field in dataclasses.fields(batch)
            if field.init
        }
        return dataclasses.replace(batch, **changes)
    return batch


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``"auto"`` -> this rank's GPU when CUDA is available, else CPU; ``"cuda"`` -> this rank's GPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {name!r} requested but CUDA is not available")
        if device.index is None:
            device = torch.device("cuda", local_rank)
    return device


def resolve_amp(mode: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``mode`` on ``device`` (``None``: full precision).

    ``"auto"`` is bf16 on CUDA devices that support it, fp16 on older CUDA devices, and off
    elsewhere (CPU autocast is opt-in: ``"bf16"``, or ``"fp16"`` which also uses a GradScaler).
    """
    if mode == "off":
        return None
    if mode == "auto":
        if device.type != "cuda":
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if mode == "bf16":
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise ValueError("amp='bf16' requested but this GPU does not support bfloat16; use 'fp16' or 'auto'")
        return torch.bfloat16
    if mode == "fp16":
        return torch.float16
    raise ValueError(f"unknown amp mode {mode!r}; expected one of: auto, off, fp16, bf16")


class Trainer:
    """Train ``model`` on ``train_loader`` by minimising ``loss_fn``; see the module docstring.

    Args:
        model: the network (moved to the device; wrapped in DDP under ``torchrun``).
        train_loader: an iterable of batches; its length (when it has one) is the number of steps
            per epoch. Under DDP a ``DataLoader`` is given a ``DistributedSampler`` automatically;
            any other iterable must already yield this rank's share of the data.
        loss_fn: ``loss_fn(model, batch) -> {"loss": scalar tensor, other terms...}``; the batch is
            already on the device, the call runs under autocast when AMP is on; every term is
            logged (averaged over the logging window and over processes).
        config: the :class:`TrainConfig`.
        evaluate_fn: ``evaluate_fn(model) -> {metric: float}``, called on rank 0 in eval mode
            under ``torch.no_grad`` with the unwrapped model.
        optimizer: an optimiser over ``model``'s parameters (default: built from ``config``).
        scheduler: a :class:`~posekit.engine.schedules.LRSchedule` or a torch ``LRScheduler``
            stepped once per optimisation step (default: ``LRSchedule`` from ``config``).
        batch_to_device: moves a batch to the device (default :func:`move_to_device`).
        run_config: the complete resolved config dataclass of the task, saved as
            ``out_dir/config.json`` and inside checkpoints (default: ``config``).
    """

    def __init__(
        self,
        model: nn.Module,
        train_loader: Iterable[Any],
        loss_fn: LossFunction,
        config: TrainConfig,
        evaluate_fn: EvaluateFunction | None = None,
        optimizer: torch.optim.Optimizer | None = None,
        scheduler: LRSchedule | torch.optim.lr_scheduler.LRScheduler | None = None,
        batch_to_device: Callable[[Any, torch.device], Any] = move_to_device,
        run_config: Any = None,
    ) -> None:
        if best_metric_error := _check_best_metric(config, evaluate_fn):
            raise ValueError(best_metric_error)
        self.config = config
        self.context = distributed.init_distributed(backend="gloo" if config.device == "cpu" else None)
        self.is_main = self.context.rank == 0
        self.device = resolve_device(config.device, self.context.local_rank)
        configure_determinism(config.deterministic)
        self.model = model.to(self.device)
        self.loss_fn = loss_fn
        self.evaluate_fn = evaluate_fn
        self.batch_to_device = batch_to_device
        self.run_config = run_config if run_config is not None else config
        if self.context.is_distributed and isinstance(train_loader, DataLoader):
            train_loader = distributed.distribute_loader(
                train_loader, config.seed, self.context.rank, self.context.world_size
            )
        self.train_loader = train_loader
        self.steps_per_epoch: int | None = len(train_loader) if hasattr(train_loader, "__len__") else None  # type: ignore[arg-type]
        if self.steps_per_epoch == 0:
            raise ValueError("the training loader is empty")
        self.optimizer = (
            optimizer
            if optimizer is not None
            else build_optimizer(self.model, config.optimizer, config.lr, config.weight_decay, config.momentum)
        )
        self.scheduler = (
            scheduler
            if scheduler is not None
            else LRSchedule(
                self.optimizer,
                schedule=config.schedule,
                by=config.schedule_by,
                milestones=config.milestones,
                gamma=config.gamma,
                total=self._schedule_length(),
                min_factor=config.min_lr_factor,
                warmup_iters=config.warmup_iters,
                warmup_factor=config.warmup_factor,
            )
        )
        self.amp_dtype = resolve_amp(config.amp, self.device)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp_dtype == torch.float16)
        self.wrapped: nn.Module = self.model
        if self.context.is_distributed:
            device_ids = [self.device.index] if self.device.type == "cuda" else None
            self.wrapped = DistributedDataParallel(self.model, device_ids=device_ids)
        self.out_dir = Path(config.out_dir)
        # Training position: completed epochs, optimisation steps, batches done in the current epoch.
        self.epoch = 0
        self.step = 0
        self.batch_in_epoch = 0
        self.best_value: float | None = None
        self.best_epoch: int | None = None
        self.last_metrics: dict[str, float] = {}
        self._evaluated_step: int | None = None
        self._saved_step: int | None = None
        self._elapsed_before = 0.0
        self._start_time = time.monotonic()
        self._epoch_rng: dict[str, Any] | None = None
        self._updating = False
        self._window: dict[str, torch.Tensor] = {}
        self._window_steps = 0
        self._window_start = time.monotonic()
        self._last_record: dict[str, Any] = {}
        self._window_lr = 0.0
        self._best_improved_at: int | None = None
        self._dirty = False  # anything changed since the last checkpoint
        self._plotted_records = -1
        self._boundary_rng: dict[str, Any] | None = None
        self.log = MetricsLog(self.out_dir / "metrics.jsonl", enabled=False)

    # ----------------------------------------------------------------------------------- public

    @property
    def last_checkpoint(self) -> Path:
        """``out_dir/last.pt``."""
        return self.out_dir / "last.pt"

    @property
    def best_checkpoint(self) -> Path:
        """``out_dir/best.pt``."""
        return self.out_dir / "best.pt"

    def fit(self) -> dict[str, Any]:
        """Train (resuming first when ``config.resume`` says so) until ``epochs`` or ``max_steps``.

        Returns:
            ``epoch`` (completed), ``step``, ``metrics`` (last evaluation), ``best_metric``,
            ``best_value``, ``best_epoch``, ``loss`` (last logged terms), ``out_dir``,
            ``last_checkpoint`` and ``best_checkpoint`` (path or ``None``).

        Raises:
            NonFiniteLossError: the loss became NaN or infinite.
            FileNotFoundError: ``config.resume`` names a missing file.
            ValueError: the resume checkpoint is not a posekit training checkpoint.
        """
        self._start_time = time.monotonic()
        resume_path = self._resume_path()
        if resume_path is not None:
            self._load_training_state(resume_path)
        else:
            seed_everything(self.config.seed + self.context.rank)
        self.log = MetricsLog(
            self.out_dir / "metrics.jsonl",
            resume_step=self.step if resume_path is not None else None,
            enabled=self.is_main,
        )
        if self.is_main:
            atomic_write_json(self.out_dir / "config.json", config_to_dict(self.run_config), indent=2)
        try:
            self._train_loop()
        except KeyboardInterrupt:
            if not self._updating and self._dirty:
                self._save(best=False, collective=False)
            raise
        return self._summary()

    # ------------------------------------------------------------------------------ the loop

    def _train_loop(self) -> None:
        config = self.config
        while self.epoch < config.epochs and not self._reached_max_steps():
            completed = self._run_epoch()
            self._flush_log_window()
            if not completed:
                break
            self.epoch += 1
            self.batch_in_epoch = 0
            self._epoch_rng = None
            self._dirty = True
            due = config.eval_every > 0 and self.epoch % config.eval_every == 0
            if due and self.epoch < config.epochs and not self._reached_max_steps():
                self._evaluate()
            if self.epoch < config.epochs and not self._reached_max_steps():
                self._save(best=self._best_improved_at == self.step)
        self._finish()

    def _finish(self) -> None:
        self._flush_log_window()
        if self.evaluate_fn is not None and self._evaluated_step != self.step:
            self._evaluate()
        if self._dirty:
            self._save(best=self._best_improved_at == self.step)
        self._plot_curves()
        distributed.barrier()

    def _run_epoch(self) -> bool:
        """Train on the current epoch's remaining batches; True when the epoch was completed."""
        if self.steps_per_epoch is not None and self.batch_in_epoch >= self.steps_per_epoch:
            return True  # resumed from a checkpoint written after the epoch's last step
        self.wrapped.train()
        self._set_sampler_epoch(self.epoch)
        iterator = self._epoch_iterator()
        progress = self._progress_bar()
        try:
            while True:
                if self.steps_per_epoch is not None and self.batch_in_epoch >= self.steps_per_epoch:
                    return True
                if self._reached_max_steps():
                    return False
                try:
                    batch = next(iterator)
                except StopIteration:
                    return True
                self._train_step(batch)
                if progress is not None:
                    progress.update(1)
                    progress.set_postfix_str(self._progress_text(), refresh=False)
                if self.step % self.config.log_every == 0:
                    self._flush_log_window()
                if self.config.save_every_steps and self.step % self.config.save_every_steps == 0:
                    self._save(best=False)
        finally:
            if progress is not None:
                progress.close()

    def _epoch_iterator(self) -> Iterator[Any]:
        if self._epoch_rng is None:  # a new epoch
            if self.batch_in_epoch != 0:
                raise ValueError("cannot resume mid-epoch: the checkpoint has no epoch-start RNG state")
            self._epoch_rng = get_rng_state(self.device)
            self._boundary_rng = self._epoch_rng
            return iter(self.train_loader)
        # Resumed inside an epoch: replay the epoch's iterator from the RNG state at its start, skip
        # the batches already trained on, then restore the RNG state of the checkpoint.
        current = get_rng_state(self.device)
        set_rng_state(self._epoch_rng, self.device)
        iterator = iter(self.train_loader)
        for index in range(self.batch_in_epoch):
            try:
                next(iterator)
            except StopIteration:
                raise ValueError(
                    f"cannot resume at batch {self.batch_in_epoch} of epoch {self.epoch + 1}: "
                    f"the loader has only {index} batches per epoch now"
                ) from None
        set_rng_state(current, self.device)
        self._boundary_rng = current
        return iterator

    def _train_step(self, batch: Any) -> None:
        config = self.config
        factor_epoch = self.epoch
        if isinstance(self.scheduler, LRSchedule):
            self.scheduler.apply(self.step, factor_epoch)
        lr = float(self.optimizer.param_groups[0]["lr"])
        batch = self.batch_to_device(batch, self.device)
        self.optimizer.zero_grad(set_to_none=True)
        autocast = (
            torch.autocast(self.device.type, dtype=self.amp_dtype)
            if self.amp_dtype is not None
            else contextlib.nullcontext()
        )
        with autocast:
            terms = self.loss_fn(self.wrapped, batch)
        if not isinstance(terms, Mapping) or "loss" not in terms:
            raise ValueError(f"loss_fn must return a dict with a 'loss' entry, got {type(terms).__name__}")
        clashes = sorted(set(terms) & set(RESERVED_KEYS + ("grad_norm",)))
        if clashes:
            raise ValueError(f"loss term names {clashes} clash with log fields; rename them")
        for name, value in terms.items():
            if not isinstance(value, torch.Tensor) or value.ndim != 0:
                shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
                raise ValueError(f"loss term {name!r} must be a scalar tensor, got {shape}")
        loss = terms["loss"]
        self._check_finite(terms)
        if self.scaler.is_enabled():
            self.scaler.scale(loss).backward()
        else:
            loss.backward()
        grad_norm: torch.Tensor | None = None
        if config.grad_clip is not None:
            if self.scaler.is_enabled():
                self.scaler.unscale_(self.optimizer)
            grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), config.grad_clip)
        self._updating = True
        if self.scaler.is_enabled():
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        if not isinstance(self.scheduler, LRSchedule):
            self.scheduler.step()
        self.step += 1
        self.batch_in_epoch += 1
        self._dirty = True
        self._updating = False
        # The RNG states at this step boundary: what an interrupted run saves (about 50 us a step).
        self._boundary_rng = get_rng_state(self.device)
        for name, value in terms.items():
            detached = value.detach().float()
            self._window[name] = self._window.get(name, torch.zeros((), device=detached.device)) + detached
        if grad_norm is not None:
            self._window["grad_norm"] = self._window.get("grad_norm", torch.zeros((), device=self.device)) + grad_norm
        self._window_lr = lr
        self._window_steps += 1

    def _check_finite(self, terms: Mapping[str, torch.Tensor]) -> None:
        finite = torch.isfinite(terms["loss"].detach()).to(torch.float32).reshape(1)
        if self.context.is_distributed:  # every rank must stop together, before DDP's gradient all-reduce
            torch.distributed.all_reduce(finite, op=torch.distributed.ReduceOp.MIN)
        if finite.item() == 1.0:
            return
        values = ", ".join(f"{name}={float(value.detach().float().mean()):.6g}" for name, value in terms.items())
        where = " on at least one process" if self.context.is_distributed else ""
        last = (
            f"last good checkpoint: {self.last_checkpoint} (step {self._saved_step})"
            if self._saved_step is not None
            else "no checkpoint was written yet"
        )
        raise NonFiniteLossError(
            f"loss is not finite at epoch {self.epoch + 1} step {self.step + 1}{where} "
            f"(terms: {values}); training stopped before this step, {last}"
        )

    # ---------------------------------------------------------------------- evaluation, logs

    def _evaluate(self) -> None:
        metrics: dict[str, float] | None = None
        if self.evaluate_fn is None:
            return
        if self.is_main:
            self.model.eval()
            with torch.no_grad():
                raw = self.evaluate_fn(self.model)
            self.model.train()
            if not isinstance(raw, Mapping):
                raise ValueError(f"evaluate_fn must return a dict of metrics, got {type(raw).__name__}")
            metrics = {str(name): float(value) for name, value in raw.items()}
        metrics = distributed.broadcast_object(metrics)
        assert metrics is not None
        self.last_metrics = metrics
        self._evaluated_step = self.step
        self._dirty = True
        epoch_label = self.epoch + (1 if self.batch_in_epoch else 0)  # the epoch in progress, 1-based
        clashes = sorted(set(metrics) & set(RESERVED_KEYS))
        if clashes:
            raise ValueError(f"metric names {clashes} clash with log fields; rename them")
        self.log.write({"event": "eval", "epoch": epoch_label, "step": self.step, "time": self._elapsed(), **metrics})
        self._plot_curves()
        name = self.config.best_metric
        if name is not None:
            if name not in metrics:
                raise ValueError(f"best_metric {name!r} is not among the evaluation metrics: {', '.join(metrics)}")
            value = metrics[name]
            better = self.best_value is None or (
                value > self.best_value if self.config.best_mode == "max" else value < self.best_value
            )
            if better and math.isfinite(value):
                self.best_value = value
                self.best_epoch = epoch_label
                self._best_improved_at = self.step

    def _flush_log_window(self) -> None:
        if self._window_steps == 0:
            return
        names = sorted(self._window)
        local = {name: float(self._window[name]) / self._window_steps for name in names}
        averaged = distributed.all_reduce_mean(local, device=self.device if self.device.type == "cuda" else None)
        now = time.monotonic()
        record = {
            "event": "train",
            "epoch": self.epoch + 1,
            "step": self.step,
            "lr": self._window_lr,
            "time": self._elapsed(),
            "step_time": (now - self._window_start) / self._window_steps,
            **averaged,
        }
        self.log.write(record)
        self._last_record = averaged
        self._window = {}
        self._window_steps = 0
        self._window_start = now

    def _plot_curves(self) -> None:
        if self.config.curves and self.is_main and len(self.log.records) != self._plotted_records:
            plot_curves(self.log.records, self.out_dir / "curves.png")
            self._plotted_records = len(self.log.records)

    def _progress_bar(self) -> Any:
        enabled = self.config.progress and self.is_main and sys.stderr.isatty()
        if not enabled:
            return None
        from tqdm import tqdm

        return tqdm(
            total=self.steps_per_epoch,
            initial=self.batch_in_epoch,
            desc=f"epoch {self.epoch + 1}/{self.config.epochs}",
            dynamic_ncols=True,
            leave=False,
            file=sys.stderr,
        )

    def _progress_text(self) -> str:
        lr = self.optimizer.param_groups[0]["lr"]
        if self._window_steps and "loss" in self._window:
            return f"loss {float(self._window['loss']) / self._window_steps:.4g} lr {lr:.3g}"
        return f"lr {lr:.3g}"

    # -------------------------------------------------------------------------- checkpoints

    def _save(self, best: bool, collective: bool = True) -> None:
        """Write ``last.pt`` (and ``best.pt``) on rank 0; every rank must call it (RNG gather)."""
        if collective:
            gathered = distributed.gather_objects((get_rng_state(self.device), self._epoch_rng))
        else:  # interrupted at any point of a step: go back to the last step boundary
            gathered = [(self._boundary_rng or get_rng_state(self.device), self._epoch_rng)]
        if self.is_main:
            assert gathered is not None
            state = {
                "format": CHECKPOINT_FORMAT,
                "version": CHECKPOINT_VERSION,
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
                "rng": [pair[0] for pair in gathered],
                "epoch_rng": [pair[1] for pair in gathered],
                "epoch": self.epoch,
                "step": self.step,
                "batch_in_epoch": self.batch_in_epoch,
                "best_metric": self.config.best_metric,
                "best_mode": self.config.best_mode,
                "best_value": self.best_value,
                "best_epoch": self.best_epoch,
                "metrics": dict(self.last_metrics),
                "evaluated_step": self._evaluated_step,
                "elapsed": self._elapsed(),
                "world_size": self.context.world_size,
                "config": config_to_dict(self.run_config),
            }
            save_checkpoint(self.last_checkpoint, state)
            if best:
                save_checkpoint(self.best_checkpoint, state)
        self._saved_step = self.step
        self._dirty = False
        if collective:
            distributed.barrier()

    def _resume_path(self) -> Path | None:
        resume = self.config.resume
        if resume is None or resume == "":
            return None
        if resume == "auto":
            return self.last_checkpoint if self.last_checkpoint.is_file() else None
        path = Path(resume)
        if not path.is_file():
            raise FileNotFoundError(f"resume checkpoint not found: {path}")
        return path

    def _load_training_state(self, path: Path) -> None:
        state = load_checkpoint(path, map_location=self.device)
        if state.get("format") != CHECKPOINT_FORMAT or "optimizer" not in state:
            raise ValueError(
                f"{path}: not a posekit training checkpoint (no optimizer state); to start from its weights, "
                "load them into the model (posekit.io.checkpoint.load_model_weights) instead of resuming"
            )
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler.is_enabled() and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.epoch = int(state["epoch"])
        self.step = int(state["step"])
        self.batch_in_epoch = int(state["batch_in_epoch"])
        self.best_value = state.get("best_value")
        self.best_epoch = state.get("best_epoch")
        self.last_metrics = dict(state.get("metrics") or {})
        self._evaluated_step = state.get("evaluated_step")
        self._elapsed_before = float(state.get("elapsed", 0.0))
        self._saved_step = self.step
        rank = self.context.rank
        saved_world_size = int(state.get("world_size", 1))
        if saved_world_size != self.context.world_size:
            warnings.warn(
                f"{path} was written by {saved_world_size} process(es), resuming with {self.context.world_size}: "
                "the data order and augmentation randomness will differ from an uninterrupted run",
                stacklevel=2,
            )
        rng_list = state["rng"]
        epoch_rng_list = state["epoch_rng"]
        if rank < len(rng_list):
            set_rng_state(_to_cpu(rng_list[rank]), self.device)
            epoch_rng = epoch_rng_list[rank]
            self._epoch_rng = _to_cpu(epoch_rng) if epoch_rng is not None else None
        else:
            # The checkpoint came from fewer processes (or an interrupted DDP run): this rank's
            # augmentation randomness cannot be restored, so draw it afresh from seed, rank and step.
            seed_everything((self.config.seed + rank * 1_000_003 + self.step) % 2**32)
            self._epoch_rng = _to_cpu(epoch_rng_list[0]) if epoch_rng_list[0] is not None else None

    # ------------------------------------------------------------------------------ helpers

    def _schedule_length(self) -> int:
        config = self.config
        if config.schedule_by == "epoch":
            return config.epochs
        if config.max_steps is not None:
            return config.max_steps
        if self.steps_per_epoch is None:
            raise ValueError("schedule_by='step' with a loader of unknown length needs max_steps")
        return config.epochs * self.steps_per_epoch

    def _reached_max_steps(self) -> bool:
        return self.config.max_steps is not None and self.step >= self.config.max_steps

    def _set_sampler_epoch(self, epoch: int) -> None:
        seen: set[int] = set()
        candidates = [
            getattr(self.train_loader, "sampler", None),
            getattr(self.train_loader, "batch_sampler", None),
            getattr(getattr(self.train_loader, "batch_sampler", None), "sampler", None),
        ]
        for candidate in candidates:
            if candidate is not None and id(candidate) not in seen and callable(getattr(candidate, "set_epoch", None)):
                seen.add(id(candidate))
                candidate.set_epoch(epoch)

    def _elapsed(self) -> float:
        return self._elapsed_before + (time.monotonic() - self._start_time)

    def _summary(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "step": self.step,
            "metrics": dict(self.last_metrics),
            "best_metric": self.config.best_metric,
            "best_value": self.best_value,
            "best_epoch": self.best_epoch,
            "loss": dict(self._last_record),
            "out_dir": str(self.out_dir),
            "last_checkpoint": str(self.last_checkpoint),
            "best_checkpoint": str(self.best_checkpoint) if self.best_value is not None else None,
        }


def _check_best_metric(config: TrainConfig, evaluate_fn: EvaluateFunction | None) -> str | None:
    if config.best_metric is not None and evaluate_fn is None:
        return f"best_metric={config.best_metric!r} needs an evaluate_fn"
    return None


def _to_cpu(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.cpu()
    if isinstance(value, dict):
        return {key: _to_cpu(item) for key, item in value.items()}
    return value
