"""Data-parallel training: torchrun with 2 CPU processes (gloo) equals one process on the global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from ddp_train_script import build_trainer
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from posekit.engine import distributed
from posekit.engine.logger import read_jsonl
from posekit.io.checkpoint import load_checkpoint

SCRIPT = Path(__file__).resolve().parent / "ddp_train_script.py"


def test_ddp_with_torchrun_matches_single_process_on_the_global_batch(tmp_path: Path) -> None:
    per_process_batch, steps = 2, 2
    environment = {key: value for key, value in os.environ.items() if key not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    environment["OMP_NUM_THREADS"] = "1"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    command += [str(SCRIPT), str(tmp_path / "ddp"), str(per_process_batch), str(steps)]
    result = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    reports = [json.loads((tmp_path / "ddp" / f"rank{rank}.json").read_text()) for rank in range(2)]
    assert reports[0]["weight_sum"] == reports[1]["weight_sum"]  # both ranks hold identical weights
    assert reports[0]["metrics"] == reports[1]["metrics"]  # evaluated on rank 0, broadcast to rank 1

    single = build_trainer(str(tmp_path / "single"), 2 * per_process_batch, steps)
    single.fit()
    ddp_checkpoint = load_checkpoint(tmp_path / "ddp" / "last.pt")
    assert ddp_checkpoint["world_size"] == 2 and ddp_checkpoint["step"] == steps
    assert len(ddp_checkpoint["rng"]) == 2  # one RNG state per rank, for exact resume
    for name, value in single.model.state_dict().items():
        torch.testing.assert_close(ddp_checkpoint["model"][name], value, rtol=0, atol=1e-6)
    initial = build_trainer(str(tmp_path / "x"), 4, 1).model[0].weight
    assert not torch.equal(ddp_checkpoint["model"]["0.weight"], initial)  # training moved the weights

    # Only rank 0 wrote the log, once per step, with the loss averaged over both processes.
    ddp_records = [r for r in read_jsonl(tmp_path / "ddp" / "metrics.jsonl") if r["event"] == "train"]
    single_records = [r for r in read_jsonl(tmp_path / "single" / "metrics.jsonl") if r["event"] == "train"]
    assert [record["step"] for record in ddp_records] == [1, 2]
    ddp_evaluations = [r for r in read_jsonl(tmp_path / "ddp" / "metrics.jsonl") if r["event"] == "eval"]
    assert len(ddp_evaluations) == 1 and (tmp_path / "ddp" / "best.pt").is_file()
    assert ddp_evaluations[0]["mse"] == pytest.approx(single.last_metrics["mse"], rel=1e-5)
    for ddp_record, single_record in zip(ddp_records, single_records, strict=True):
        assert ddp_record["loss"] == pytest.approx(single_record["loss"], rel=1e-6)
        assert ddp_record["grad_norm"] == pytest.approx(single_record["grad_norm"], rel=1e-5)


def test_distribute_loader_shards_by_rank_and_keeps_batch_size_and_shuffling() -> None:
    dataset = TensorDataset(torch.arange(10.0))
    loader = DataLoader(dataset, batch_size=2, shuffle=True, drop_last=False)
    shards = [distributed.distribute_loader(loader, seed=3, rank=rank, world_size=2) for rank in range(2)]
    for shard in shards:
        assert isinstance(shard.sampler, DistributedSampler) and shard.sampler.shuffle and shard.batch_size == 2
    seen = [float(value) for shard in shards for (batch,) in shard for value in batch]
    assert sorted(seen) == [float(value) for value in range(10)]
    ordered = distributed.distribute_loader(DataLoader(dataset, batch_size=2), seed=0, rank=1, world_size=2)
    assert [batch.tolist() for (batch,) in ordered] == [[1.0, 3.0], [5.0, 7.0], [9.0]]
    assert distributed.distribute_loader(shards[0], seed=0, rank=0, world_size=2) is shards[0]


def test_single_process_helpers_are_identities() -> None:
    context = distributed.init_distributed()
    assert (context.rank, context.world_size, context.is_distributed) == (0, 1, False)
    assert distributed.is_main_process() and distributed.get_world_size() == 1
    assert distributed.all_reduce_mean({"loss": 2.5, "AP": 0.5}) == {"AP": 0.5, "loss": 2.5}
    assert distributed.broadcast_object({"x": 1}) == {"x": 1}
    assert distributed.gather_objects(7) == [7]
    distributed.barrier()
    distributed.cleanup()
