"""Checkpoints: atomic saving, weights-only loading, and loading weights into a model.

posekit checkpoints are ``torch.save`` files holding a dict (``{"format": "posekit-checkpoint",
"model": state_dict, "optimizer": ..., ...}``, see :mod:`posekit.engine.trainer`). Loading always
uses ``torch.load(weights_only=True)``: tensors, plain containers and numbers only, never
arbitrary pickled objects. The official checkpoints of the seed models (HRNet/SimpleBaseline
``.pth``, VideoPose3D ``.bin``, VIBE ``.pth.tar``) are such files too; their weights are found by
:func:`extract_state_dict` and their layer names translated by a model's ``remap_state_dict``.
"""

from __future__ import annotations

import os
import pickle
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from posekit.io.atomic import atomic_path
from posekit.io.safe_pickle import numpy_array_globals

CHECKPOINT_FORMAT = "posekit-checkpoint"

# torch's weights-only unpickler names the refused global as "GLOBAL module.Class was not an allowed global".
_UNSUPPORTED_GLOBAL = re.compile(r"Unsupported global: GLOBAL ([\w.]+)")

# Keys under which checkpoints nest their model weights, tried in this order: posekit ("model"),
# MMPose/HRNet ("state_dict"), VideoPose3D ("model_pos"), VIBE ("gen_state_dict"), others.
STATE_DICT_KEYS = ("model", "state_dict", "model_state", "model_state_dict", "model_pos", "gen_state_dict", "net")
# Prefixes added by wrappers: DataParallel/DistributedDataParallel and torch.compile.
WRAPPER_PREFIXES = ("module.", "_orig_mod.")
_MAX_LISTED = 8


def save_checkpoint(path: str | os.PathLike[str], state: Mapping[str, Any]) -> Path:
    """Write ``state`` with ``torch.save`` atomically (an interrupted save keeps the old file).

    Args:
        path: target file (``.pt``); its folder is created.
        state: a dict of tensors, plain containers and numbers (what ``weights_only`` loads).

    Returns:
        The path written.
    """
    if not isinstance(state, Mapping):
        raise ValueError(f"checkpoint state must be a dict, got {type(state).__name__}")
    with atomic_path(path) as temporary:
        with open(temporary, "wb") as handle:
            torch.save(dict(state), handle)
            handle.flush()
            os.fsync(handle.fileno())
    return Path(path)


def load_checkpoint(
    path: str | os.PathLike[str],
    map_location: str | torch.device | None = "cpu",
    allow_numpy_arrays: bool = False,
) -> dict[str, Any]:
    """Load a checkpoint file with ``torch.load(weights_only=True)``.

    Args:
        path: a ``torch.save`` file whose top level is a dict.
        map_location: where tensors go (``"cpu"`` by default).
        allow_numpy_arrays: also rebuild pickled numpy arrays (the globals of
            :func:`posekit.io.safe_pickle.numpy_array_globals`, as in the ``random_state`` of
            official VideoPose3D files); nothing else is ever unpickled.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file holds pickled objects other than tensors and plain containers (the
            message names the class), is not a PyTorch file, is corrupt or truncated, or is not a dict.
    """
    file_path = Path(path)
    if not file_path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {file_path}")
    # torch names each allowed global by its pickled "module.name" (numpy 1 and 2 spellings differ).
    safe_globals: list[Any] = (
        [(value, f"{module}.{name}") for (module, name), value in numpy_array_globals().items()]
        if allow_numpy_arrays
        else []
    )
    try:
        with torch.serialization.safe_globals(safe_globals):
            checkpoint = torch.load(file_path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        message = str(error)
        refused = _UNSUPPORTED_GLOBAL.search(message)
        if refused:
            name = refused.group(1)
            hint = (
                " (numpy arrays: posekit's loaders that expect them pass allow_numpy_arrays=True)"
                if name.startswith("numpy")
                else ""
            )
            raise ValueError(
                f"{file_path}: not a weights-only checkpoint: it holds a pickled object of class {name}, which "
                "posekit will not unpickle (unpickling can run code; checkpoints load with torch.load("
                f"weights_only=True): tensors, numbers, strings and plain containers){hint}; re-save its weights "
                "as a plain dict, e.g. torch.save({'state_dict': model.state_dict()}, path)"
            ) from None
        reason = next((line.strip() for line in message.splitlines() if "Unsupported global" in line), "")
        if reason:
            raise ValueError(
                f"{file_path}: not a weights-only checkpoint; posekit does not unpickle arbitrary objects ({reason})"
            ) from None
        if "Weights only load failed" in message:  # torch's advice to turn safety off is not repeated
            detail = next((line.strip() for line in message.splitlines() if "load key" in line), "")
            raise ValueError(f"{file_path}: not a PyTorch checkpoint" + (f" ({detail})" if detail else "")) from None
        first_line = message.splitlines()[0] if message else type(error).__name__
        raise ValueError(f"{file_path}: not a PyTorch checkpoint ({first_line})") from None
    except (RuntimeError, EOFError, KeyError, ValueError, AttributeError) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ValueError(
            f"{file_path}: not a readable PyTorch checkpoint (corrupt or truncated?): {first_line}"
        ) from None
    if not isinstance(checkpoint, dict):
        raise ValueError(f"{file_path}: expected a checkpoint dict, got {type(checkpoint).__name__}")
    return checkpoint


def extract_state_dict(checkpoint: Mapping[str, Any], key: str | None = None) -> dict[str, torch.Tensor]:
    """Find the model weights in a checkpoint dict and strip wrapper prefixes.

    Args:
        checkpoint: a loaded checkpoint: either a state dict itself (every value a tensor) or a
            dict nesting one under a key of ``STATE_DICT_KEYS`` (or under ``key``).
        key: the nested key to use (``"model_traj"`` for VideoPose3D's trajectory model, say);
            by default the first of ``STATE_DICT_KEYS`` present.

    Returns:
        parameter name -> tensor, without ``module.`` / ``_orig_mod.`` prefixes.

    Raises:
        ValueError: no state dict is found (the message lists the checkpoint's keys).
    """
    if not isinstance(checkpoint, Mapping):
        raise ValueError(f"expected a checkpoint dict, got {type(checkpoint).__name__}")
    if key is not None:
        if key not in checkpoint:
            raise ValueError(f"checkpoint has no key {key!r}; its keys: {_list_names(list(checkpoint))}")
        candidate: Any = checkpoint[key]
    elif _is_state_dict(checkpoint):
        candidate = checkpoint
    else:
        candidate = next(
            (checkpoint[name] for name in STATE_DICT_KEYS if name in checkpoint and _is_state_dict(checkpoint[name])),
            None,
        )
        if candidate is None:
            raise ValueError(
                f"no model weights found in the checkpoint: expected a state dict or one under "
                f"{', '.join(STATE_DICT_KEYS)}; its keys: {_list_names(list(checkpoint))}"
            )
    if not _is_state_dict(candidate):
        raise ValueError(f"checkpoint entry {key!r} is not a state dict (name -> tensor)")
    state = {str(name): tensor for name, tensor in candidate.items()}
    for prefix in WRAPPER_PREFIXES:
        if state and all(name.startswith(prefix) for name in state):
            state = {name[len(prefix) :]: tensor for name, tensor in state.items()}
    return state


@dataclass(frozen=True)
class LoadReport:
    """What :func:`load_model_weights` did not load.

    Attributes:
        missing: model keys absent from the checkpoint.
        unexpected: checkpoint keys the model does not have.
        mismatched: ``(key, checkpoint shape, model shape)`` for keys whose shapes differ.
    """

    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every key matched."""
        return not (self.missing or self.unexpected or self.mismatched)

    def describe(self) -> str:
        """One sentence listing the problems (each list truncated)."""
        parts = []
        if self.missing:
            parts.append(f"{len(self.missing)} missing key(s): {_list_names(self.missing)}")
        if self.unexpected:
            parts.append(f"{len(self.unexpected)} unexpected key(s): {_list_names(self.unexpected)}")
        if self.mismatched:
            shown = [
                f"{name} (checkpoint {tuple(saved)} vs model {tuple(expected)})"
                for name, saved, expected in self.mismatched[:_MAX_LISTED]
            ]
            more = f", ... and {len(self.mismatched) - _MAX_LISTED} more" if len(self.mismatched) > _MAX_LISTED else ""
            parts.append(f"{len(self.mismatched)} shape mismatch(es): {', '.join(shown)}{more}")
        return "; ".join(parts)


def load_model_weights(
    model: nn.Module,
    path_or_state: str | os.PathLike[str] | Mapping[str, Any],
    strict: bool = True,
    key: str | None = None,
) -> LoadReport:
    """Load weights from a checkpoint file or dict into ``model``, checking names and shapes.

    Steps: load the file (weights only), find the state dict (:func:`extract_state_dict`), apply
    ``model.remap_state_dict(state_dict)`` when the model defines it (to translate an official
    checkpoint's layer names), compare names and shapes with ``model.state_dict()``, then load.
    BatchNorm ``num_batches_tracked`` counters absent from old checkpoints are not reported.

    Args:
        model: the module to fill.
        path_or_state: checkpoint path, or an already-loaded checkpoint / state dict.
        strict: raise on any missing, unexpected or mismatched key. With ``strict=False`` only the
            matching tensors are loaded and the rest is reported (and warned about).
        key: nested key holding the weights (see :func:`extract_state_dict`).

    Returns:
        A :class:`LoadReport` (empty when everything matched).

    Raises:
        ValueError: ``strict`` and the weights do not match (one message naming the source and
            listing missing keys, unexpected keys and shape mismatches), or no weights are found.
    """
    if isinstance(path_or_state, Mapping):
        source = "state dict"
        checkpoint: Mapping[str, Any] = path_or_state
    else:
        source = str(path_or_state)
        checkpoint = load_checkpoint(path_or_state)
    try:
        state = extract_state_dict(checkpoint, key=key)
    except ValueError as error:
        raise ValueError(f"{source}: {error}") from None
    remap = getattr(model, "remap_state_dict", None)
    if callable(remap):
        state = dict(remap(state))
    expected = model.state_dict()
    missing = [name for name in expected if name not in state and not name.endswith("num_batches_tracked")]
    unexpected = [name for name in state if name not in expected]
    mismatched = [
        (name, tuple(state[name].shape), tuple(expected[name].shape))
        for name in expected
        if name in state and tuple(state[name].shape) != tuple(expected[name].shape)
    ]
    report = LoadReport(missing=missing, unexpected=unexpected, mismatched=mismatched)
    if not report.ok:
        message = f"{source}: weights do not match {type(model).__name__}: {report.describe()}"
        if strict:
            raise ValueError(message)
        warnings.warn(message, stacklevel=2)
    mismatched_names = {name for name, _, _ in mismatched}
    loadable = {name: tensor for name, tensor in state.items() if name in expected and name not in mismatched_names}
    model.load_state_dict(loadable, strict=False)
    return report


def _is_state_dict(value: Any) -> bool:
    if not isinstance(value, Mapping) or len(value) == 0:
        return False
    return all(isinstance(item, torch.Tensor) for item in value.values())


def _list_names(names: list[str]) -> str:
    shown = ", ".join(str(name) for name in names[:_MAX_LISTED])
    return shown + (f", ... and {len(names) - _MAX_LISTED} more" if len(names) > _MAX_LISTED else "")
