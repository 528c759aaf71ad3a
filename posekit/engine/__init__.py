"""Training engine: seeds, AMP, DDP, schedules, atomic checkpoints with exact resume, logging."""
