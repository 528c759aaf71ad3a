"""Training engine: seeds, AMP, DDP, schedules, atomic checkpoints with exact resume, logging.

:class:`Trainer` runs the loop for any model given a loss function; :class:`TrainConfig` holds
its settings (a frozen dataclass, loadable from YAML with :func:`posekit.config.load_config`).
"""

from posekit.engine.distributed import DistributedContext, all_reduce_mean, init_distributed, is_main_process
from posekit.engine.reproducibility import configure_determinism, seed_everything
from posekit.engine.schedules import LRSchedule, build_optimizer, lr_factor
from posekit.engine.trainer import NonFiniteLossError, TrainConfig, Trainer, move_to_device, unwrap_model

__all__ = [
    "DistributedContext",
    "LRSchedule",
    "NonFiniteLossError",
    "TrainConfig",
    "Trainer",
    "all_reduce_mean",
    "build_optimizer",
    "configure_determinism",
    "init_distributed",
    "is_main_process",
    "lr_factor",
    "move_to_device",
    "seed_everything",
    "unwrap_model",
]
