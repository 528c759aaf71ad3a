"""The BlazePose model files shipped in ``posekit/assets/blazepose`` and a thin TFLite runner.

The ``.tflite`` files are Google's, copied unchanged from the mediapipe 0.10.14 wheel (Apache-2.0;
see ``posekit/assets/blazepose/PROVENANCE.md``). Nothing here runs at import time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = [
    "BLAZEPOSE_DETECTOR_FILE",
    "BLAZEPOSE_LANDMARK_FILE",
    "BLAZEPOSE_SHA256",
    "TfliteModel",
    "blazepose_asset_path",
    "verify_assets",
]

BLAZEPOSE_DETECTOR_FILE = "pose_detection.tflite"
BLAZEPOSE_LANDMARK_FILE = "pose_landmark_full.tflite"

# sha256 of the files as they are in the mediapipe 0.10.14 wheel (matches its RECORD file).
BLAZEPOSE_SHA256: dict[str, str] = {
    BLAZEPOSE_DETECTOR_FILE: "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
    BLAZEPOSE_LANDMARK_FILE: "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
}


def blazepose_asset_path(filename: str) -> Path:
    """Path of a file shipped in ``posekit/assets/blazepose``.

    Args:
        filename: e.g. ``BLAZEPOSE_DETECTOR_FILE``.

    Raises:
        FileNotFoundError: when the file is missing from the installation.
    """
    path = Path(str(resources.files("posekit.assets.blazepose").joinpath(filename)))
    if not path.is_file():
        raise FileNotFoundError(
            f"BlazePose model file {filename!r} not found at {path}; the posekit installation is incomplete "
            "(reinstall posekit, or pass model_path= explicitly)"
        )
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_assets() -> dict[str, str]:
    """Recompute the sha256 of the shipped BlazePose files and compare with the recorded values.

    Returns:
        ``{filename: sha256}`` for every shipped model file.

    Raises:
        FileNotFoundError: when a file is missing.
        ValueError: when a checksum differs from ``BLAZEPOSE_SHA256``.
    """
    checksums: dict[str, str] = {}
    for filename, expected in BLAZEPOSE_SHA256.items():
        actual = _sha256(blazepose_asset_path(filename))
        if actual != expected:
            raise ValueError(f"checksum mismatch for {filename}: expected sha256 {expected}, got {actual}")
        checksums[filename] = actual
    return checksums


class TfliteModel:
    """One ``ai_edge_litert`` interpreter with tensors allocated once, for a batch-1 float32 model.

    Args:
        model_path: path of the ``.tflite`` file.
        num_threads: CPU threads for the interpreter (``None``: the runtime's default).

    Attributes:
        input_shape: shape of the single input tensor, e.g. ``(1, 224, 224, 3)``.
        output_names: names of the output tensors, in the model's output order.
    """

    def __init__(self, model_path: str | Path, num_threads: int | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        path = Path(model_path)
        if not path.is_file():
            raise FileNotFoundError(f"TFLite model not found: {path}")
        if num_threads is not None and num_threads < 1:
            raise ValueError(f"num_threads must be a positive integer or None, got {num_threads}")
        self.model_path = path
        self._interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
        self._interpreter.allocate_tensors()
        input_details = self._interpreter.get_input_details()
        if len(input_details) != 1:
            raise ValueError(f"expected a model with one input tensor, {path} has {len(input_details)}")
        self._input_index = int(input_details[0]["index"])
        self.input_shape: tuple[int, ...] = tuple(int(size) for size in input_details[0]["shape"])
        output_details = self._interpreter.get_output_details()
        self.output_names: list[str] = [str(detail["name"]) for detail in output_details]
        self._output_indices: dict[str, int] = {str(detail["name"]): int(detail["index"]) for detail in output_details}

    def __call__(self, inputs: np.ndarray, outputs: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Run the model once.

        Args:
            inputs: float32 array of shape ``input_shape``.
            outputs: names of the outputs to return (``None``: all); an output left out is not
                copied out of the interpreter (the landmark model's 256 x 256 segmentation mask).

        Returns:
            ``{output name: array}`` (copies, safe to keep).
        """
        if tuple(inputs.shape) != self.input_shape or inputs.dtype != np.float32:
            raise ValueError(
                f"model input must be float32 with shape {self.input_shape}, got {inputs.dtype} {tuple(inputs.shape)}"
            )
        self._interpreter.set_tensor(self._input_index, inputs)
        self._interpreter.invoke()
        names = self.output_names if outputs is None else outputs
        return {name: self._interpreter.get_tensor(self._output_indices[name]) for name in names}
