"""``posekit info``: version, torch and device, optional backends, registered models (bottom-up ones apart)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
from collections.abc import Sequence
from typing import Any

OPTIONAL_BACKENDS = ("cv2", "pycocotools", "ai_edge_litert", "onnxruntime", "onnx", "av", "pybullet", "skimage")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="posekit info", description="Print posekit's version, torch and device, optional backends and models."
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    return parser


def collect_info() -> dict[str, Any]:
    """Everything ``posekit info`` prints, as a dict."""
    import torch

    from posekit import __version__
    from posekit.models import list_models
    from posekit.models.bottomup import is_bottomup_model
    from posekit.skeletons import list_skeletons

    if torch.cuda.is_available():
        device = f"cuda ({torch.cuda.get_device_name(0)}, {torch.cuda.device_count()} device(s))"
    elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        device = "mps"
    else:
        device = f"cpu ({torch.get_num_threads()} threads)"
    backends = {}
    for name in OPTIONAL_BACKENDS:
        spec = importlib.util.find_spec(name)
        backends[name] = "available" if spec is not None else "missing"
    return {
        "posekit": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": device,
        "backends": backends,
        "skeletons": list_skeletons(),
        "models": list_models(),
        "bottomup_models": [name for name in list_models() if is_bottomup_model(name)],
    }


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    info = collect_info()
    if args.json:
        print(json.dumps(info))
        return 0
    print(f"posekit   {info['posekit']}")
    print(f"python    {info['python']}")
    print(f"torch     {info['torch']}")
    print(f"device    {info['device']}")
    print("backends  " + ", ".join(f"{k}: {v}" for k, v in info["backends"].items()))
    print("skeletons " + ", ".join(info["skeletons"]))
    single = [name for name in info["models"] if name not in info["bottomup_models"]]
    print(f"models    ({len(single)}) " + ", ".join(single))
    print(f"bottom-up ({len(info['bottomup_models'])}) " + ", ".join(info["bottomup_models"]))
    return 0
