"""Data-parallel training helpers for ``torch.distributed`` launched by ``torchrun``.

``torchrun --nproc_per_node N -m posekit train CONFIG`` starts N processes and gives each the
environment variables ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and
``MASTER_PORT``. :func:`init_distributed` reads them and joins the process group (``nccl`` when
CUDA is available, ``gloo`` on CPU). Without those variables everything here degrades to a
single process: rank 0 of a world of size 1, where the collectives return their input.

Conventions: the batch size of a loader is per process (the global batch is
``world_size * batch_size``); only rank 0 writes files.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler

T = TypeVar("T")


@dataclass(frozen=True)
class DistributedContext:
    """Where this process sits in the job.

    Attributes:
        rank: global rank, ``0 <= rank < world_size``.
        local_rank: rank on this machine (selects the GPU).
        world_size: number of processes.
        backend: ``"nccl"``, ``"gloo"`` or ``""`` for a single process.
    """

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    backend: str = ""

    @property
    def is_distributed(self) -> bool:
        """True when more than one process takes part."""
        return self.world_size > 1


def init_distributed(backend: str | None = None, timeout_minutes: float = 60.0) -> DistributedContext:
    """Join the process group described by the ``torchrun`` environment variables.

    Does nothing (and returns rank 0 of 1) when ``WORLD_SIZE`` is unset or 1. Calling it again
    after the group exists returns the current context.

    Args:
        backend: ``"nccl"`` or ``"gloo"``; by default ``nccl`` when CUDA is available, else ``gloo``.
        timeout_minutes: how long a collective may wait (rank 0 evaluates while the others wait).

    Raises:
        ValueError: inconsistent environment variables.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", str(rank)))
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"invalid torchrun environment: RANK={rank} WORLD_SIZE={world_size}")
    if dist.is_available() and dist.is_initialized():
        return DistributedContext(dist.get_rank(), local_rank, dist.get_world_size(), str(dist.get_backend()))
    if world_size == 1:
        return DistributedContext(0, 0, 1, "")
    chosen = backend or ("nccl" if torch.cuda.is_available() else "gloo")
    if chosen == "nccl":
        torch.cuda.set_device(local_rank)
    dist.init_process_group(
        backend=chosen,
        init_method="env://",
        rank=rank,
        world_size=world_size,
        timeout=datetime.timedelta(minutes=timeout_minutes),
    )
    return DistributedContext(rank, local_rank, world_size, chosen)


def is_distributed() -> bool:
    """True inside an initialised process group of more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def get_rank() -> int:
    """Global rank of this process (0 without a process group)."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def get_world_size() -> int:
    """Number of processes (1 without a process group)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def is_main_process() -> bool:
    """True on rank 0, the process that writes files."""
    return get_rank() == 0


def barrier() -> None:
    """Wait until every process arrives (no-op for a single process)."""
    if is_distributed():
        dist.barrier()


def all_reduce_mean(values: Mapping[str, float], device: torch.device | None = None) -> dict[str, float]:
    """Average scalar metrics over all processes.

    Args:
        values: name -> local value; every process must pass the same names.
        device: device of the reduction tensor (a CUDA device for ``nccl``); CPU by default.

    Returns:
        name -> mean over processes (the input unchanged for a single process).
    """
    names = sorted(values)
    if not is_distributed() or not names:
        return {name: float(values[name]) for name in names}
    tensor = torch.tensor([float(values[name]) for name in names], dtype=torch.float64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    tensor /= get_world_size()
    return {name: float(value) for name, value in zip(names, tensor.tolist(), strict=True)}


def broadcast_object(value: T, source: int = 0) -> T:
    """Send a picklable ``value`` from rank ``source`` to all ranks (identity for one process).

    Only for small trusted values made by this job itself (metric dicts), never for data read
    from files.
    """
    if not is_distributed():
        return value
    holder: list[Any] = [value]
    dist.broadcast_object_list(holder, src=source)
    return cast(T, holder[0])


def gather_objects(value: T) -> list[T] | None:
    """Collect one small picklable value per rank on rank 0 (``None`` on the other ranks)."""
    if not is_distributed():
        return [value]
    gathered: list[Any] | None = [None] * get_world_size() if is_main_process() else None
    dist.gather_object(value, gathered, dst=0)
    return gathered


def cleanup() -> None:
    """Leave the process group if one was joined (safe to call in any case)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def distribute_loader(loader: DataLoader[Any], seed: int, rank: int, world_size: int) -> DataLoader[Any]:
    """Rebuild ``loader`` with a :class:`DistributedSampler` so each rank reads its own shard.

    The loader's batch size stays per process. Shuffling follows the original loader (a
    ``RandomSampler`` shuffles; the distributed sampler is seeded with ``seed`` and reshuffles each
    epoch through ``set_epoch``). A loader that already has a ``DistributedSampler`` is returned
    unchanged.

    Raises:
        ValueError: the loader uses a custom ``batch_sampler`` or an ``IterableDataset``, which
            cannot be sharded automatically; build that loader with a distributed sampler yourself.
    """
    if isinstance(loader.sampler, DistributedSampler):
        return loader
    if loader.batch_size is None:
        raise ValueError(
            "cannot shard a DataLoader with a custom batch_sampler for distributed training; "
            "give it a sampler that splits the data by rank"
        )
    if isinstance(loader.dataset, torch.utils.data.IterableDataset):
        raise ValueError("cannot shard an IterableDataset for distributed training; split it by rank in the dataset")
    sampler: DistributedSampler[Any] = DistributedSampler(
        loader.dataset,  # type: ignore[arg-type]
        num_replicas=world_size,
        rank=rank,
        shuffle=isinstance(loader.sampler, RandomSampler),
        seed=seed,
        drop_last=loader.drop_last,
    )
    extra: dict[str, Any] = {}
    if loader.num_workers > 0:
        extra["prefetch_factor"] = loader.prefetch_factor
        extra["persistent_workers"] = loader.persistent_workers
    return DataLoader(
        loader.dataset,
        batch_size=loader.batch_size,
        sampler=sampler,
        num_workers=loader.num_workers,
        collate_fn=loader.collate_fn,
        pin_memory=loader.pin_memory,
        drop_last=loader.drop_last,
        timeout=loader.timeout,
        worker_init_fn=loader.worker_init_fn,
        multiprocessing_context=loader.multiprocessing_context,
        generator=loader.generator,
        **extra,
    )
