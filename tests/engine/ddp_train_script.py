"""Train the tiny regression problem with the Trainer; run under torchrun by test_distributed.py.

    python -m torch.distributed.run --standalone --nproc_per_node 2 ddp_train_script.py OUT_DIR BATCH_SIZE STEPS

Each process reads its shard of the data (the Trainer adds a DistributedSampler) with a batch of
BATCH_SIZE, so one step sees a global batch of 2 * BATCH_SIZE. Rank 0 writes OUT_DIR/last.pt.
The test also calls :func:`build_trainer` in a single process with the global batch size.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_problem import evaluate, loss_fn, make_loader, make_model  # noqa: E402

from posekit.engine import TrainConfig, Trainer  # noqa: E402
from posekit.engine.distributed import cleanup  # noqa: E402


def build_trainer(out_dir: str, batch_size: int, steps: int) -> Trainer:
    """A Trainer on the noise-free problem (no dropout, no shuffling) with SGD + momentum."""
    config = TrainConfig(
        epochs=1,
        max_steps=steps,
        optimizer="sgd",
        lr=0.1,
        momentum=0.9,
        grad_clip=1.0,
        log_every=1,
        best_metric="mse",
        best_mode="min",
        out_dir=out_dir,
        progress=False,
        curves=False,
        device="cpu",
    )
    loader = make_loader(batch_size, shuffle=False, augment=False)
    return Trainer(make_model(seed=0, dropout=0.0), loader, loss_fn, config, evaluate_fn=evaluate)


def main(argv: list[str]) -> int:
    out_dir, batch_size, steps = argv[0], int(argv[1]), int(argv[2])
    try:
        trainer = build_trainer(out_dir, batch_size, steps)
        assert trainer.context.world_size == 2, "expected to run under torchrun with 2 processes"
        assert trainer.context.backend == "gloo"
        trainer.fit()
        # Every rank holds the same weights after the all-reduced steps.
        weight_sum = float(trainer.model[0].weight.sum())
        # Rank 0 evaluated; the metrics reached every rank. Each rank reports through its own file: two
        # processes printing to one shared pipe can interleave their lines.
        report = {"metrics": f"{trainer.last_metrics['mse']:.8f}", "weight_sum": f"{weight_sum:.8f}"}
        report_path = Path(out_dir) / f"rank{trainer.context.rank}.json"
        report_path.with_suffix(".tmp").write_text(json.dumps(report))
        report_path.with_suffix(".tmp").replace(report_path)
    finally:
        cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
