"""A light model registry: ``register_model``, ``get_model``, ``list_models``.

Keys are model variants (``hrnet_w32_256x192``, ``videopose3d_243``), not layers or losses.
A registered builder is a plain function returning an ``nn.Module``; it takes typed keyword
arguments. Modules defining models are imported lazily by ``_import_model_modules`` so that
``import posekit`` stays cheap and reads no files.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from typing import Any, TypeVar

from torch import nn

ModelBuilder = Callable[..., nn.Module]
F = TypeVar("F", bound=ModelBuilder)

_REGISTRY: dict[str, ModelBuilder] = {}

# Modules whose import registers models. Each later capability adds its module here.
_MODEL_MODULES: tuple[str, ...] = (
    "posekit.models.pose2d.simplebaseline",
    "posekit.models.pose2d.hrnet",
    "posekit.models.pose2d.stacked_hourglass",
    "posekit.models.pose2d.cpm",
    "posekit.models.pose2d.deeppose",
    "posekit.models.pose2d.ief",
    "posekit.models.pose2d.integral",
    "posekit.models.pose2d.dscnn",
    "posekit.models.lift3d.zoo",
    "posekit.models.bottomup.higher_hrnet",
)


def register_model(name: str) -> Callable[[F], F]:
    """Decorator registering ``builder`` under ``name``; names must be unique."""

    def decorator(builder: F) -> F:
        if name in _REGISTRY and _REGISTRY[name] is not builder:
            raise ValueError(f"model name {name!r} is already registered")
        _REGISTRY[name] = builder
        return builder

    return decorator


def _import_model_modules() -> None:
    for module in _MODEL_MODULES:
        importlib.import_module(module)


def list_models() -> list[str]:
    """Names of every registered model variant, sorted."""
    _import_model_modules()
    return sorted(_REGISTRY)


def unknown_model_message(name: str, known: list[str]) -> str:
    """The error for an unknown model name: the closest registered names, or all of them when none is close.

    ``unknown model 'hrnet_w32'; did you mean 'hrnet_w32_256x192', ...? (`posekit info` lists all N)``.
    """
    # Variants that start with the name ("hrnet_w32" -> "hrnet_w32_256x192") first, then difflib's closest.
    close = [candidate for candidate in known if name and candidate.startswith(name.lower())][:3]
    close += [
        candidate for candidate in difflib.get_close_matches(name, known, n=3, cutoff=0.5) if candidate not in close
    ]
    close = close[:3]
    if close:
        suggestions = ", ".join(repr(candidate) for candidate in close)
        return f"unknown model {name!r}; did you mean {suggestions}? (`posekit info` lists all {len(known)})"
    return f"unknown model {name!r}; expected one of: {', '.join(known) or '(none)'}"


def get_model(name: str, weights: str | None = None, **kwargs: Any) -> nn.Module:
    """Build the model variant ``name``; load ``weights`` (a checkpoint path) when given.

    Args:
        name: a name from ``list_models()``.
        weights: optional path to a posekit or official checkpoint for this model.
        **kwargs: keyword arguments of the variant's builder.

    Raises:
        ValueError: unknown name (the message names the closest registered ones, or lists them all),
            or weights that do not fit the model (one message starting with the weights file).
    """
    _import_model_modules()
    if name not in _REGISTRY:
        raise ValueError(unknown_model_message(name, sorted(_REGISTRY)))
    model = _REGISTRY[name](**kwargs)
    if weights is not None:
        from pathlib import Path

        from posekit.io.checkpoint import load_model_weights

        try:
            load_model_weights(model, weights)
        except ValueError as error:  # name the file once (most messages already start with it)
            message = str(error)
            named = message.startswith((str(weights), str(Path(weights))))
            raise ValueError(message if named else f"{weights}: {message}") from None
    return model
