"""Files in and out: atomic writes, checkpoints (posekit and official formats), results, video."""

from posekit.io.atomic import atomic_path, atomic_write_bytes, atomic_write_json, atomic_write_text

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_json", "atomic_write_text"]
