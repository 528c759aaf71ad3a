"""Imports flow one way: a posekit module imports its own package or a lower layer, never a higher one.

The layer table is the architecture of the package (STYLE habit 1). Every import counts: module level
and inside functions, ``import x`` and ``from x import y``, relative imports resolved against the
importing module. ``posekit/__init__.py`` and ``posekit/__main__.py`` are the top-level facade and may
import anything. Siblings of one layer (``data`` and ``metrics``, ``engine`` and ``inference``) do not
import each other.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "posekit"

# Top-level subpackage or module of posekit -> layer. Lower numbers are lower layers.
LAYERS: dict[str, int] = {
    "config": 0,
    "skeletons": 0,
    "geometry": 0,
    "assets": 0,  # shipped data files, no code
    "structures": 1,
    "io": 2,
    "codecs": 3,
    "bodymodels": 3,
    "data": 4,
    "models": 4,
    "losses": 4,
    "metrics": 4,
    "viz": 4,
    "engine": 5,
    "inference": 5,
    "export": 5,
    "tasks": 6,
    "cli": 7,
}
FACADE = ("posekit", "posekit.__main__")
MODULE_NAME = re.compile(r"posekit(\.[a-z_][a-z0-9_]*)+")


def module_name(path: Path, root: Path = PACKAGE_ROOT) -> str:
    """Dotted name of the module at ``path`` inside the package folder ``root`` (``posekit.io.atomic``)."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """``(line, dotted name)`` of every module ``source`` imports, at any depth of the syntax tree.

    ``from a import b`` yields ``a.b`` (``b`` may be a submodule: the deeper name decides its package
    all the same); relative imports are resolved against ``module``. In a module that calls
    ``importlib.import_module``, every string constant spelling a ``posekit.`` module path counts too
    (lazy-import tables such as ``posekit.inference._LAZY``).
    """
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: list[tuple[int, str]] = []
    dynamic = "import_module" in source  # importlib.import_module("posekit.x"): module names held as strings
    for node in ast.walk(ast.parse(source)):
        if dynamic and isinstance(node, ast.Constant) and isinstance(node.value, str):
            if MODULE_NAME.fullmatch(node.value):
                found.append((node.lineno, node.value))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            found.extend(
                (node.lineno, f"{prefix}.{alias.name}" if alias.name != "*" else prefix) for alias in node.names
            )
    return found


def layer_of(module: str) -> tuple[str, int] | None:
    """``(top-level package, layer)`` of a posekit module; ``None`` for the facade and non-posekit modules.

    Raises:
        AssertionError: a posekit package that the layer table does not list.
    """
    parts = module.split(".")
    if parts[0] != "posekit" or module in FACADE or len(parts) < 2:
        return None
    if parts[1] not in LAYERS:
        if not (PACKAGE_ROOT / parts[1]).is_dir() and not (PACKAGE_ROOT / f"{parts[1]}.py").is_file():
            return None  # a name of the facade (``from posekit import __version__``)
        raise AssertionError(f"{module}: package {parts[1]!r} has no layer in tests/test_layers.py LAYERS")
    return parts[1], LAYERS[parts[1]]


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    """Sentences naming each import of ``module`` that goes to a higher layer or a same-layer sibling."""
    own = layer_of(module)
    if own is None:
        return []
    own_package, own_layer = own
    problems = []
    for line, target in imported_modules(source, module, is_package):
        other = layer_of(target)
        if other is None or other[0] == own_package:
            continue
        other_package, other_layer = other
        if other_layer > own_layer:
            relation = "a higher layer"
        elif other_layer == own_layer:
            relation = "a sibling of the same layer"
        else:
            continue
        problems.append(
            f"{module} (layer {own_layer}, {own_package}) line {line} imports {target} "
            f"(layer {other_layer}, {other_package}): {relation}"
        )
    return problems


def test_imports_flow_downward() -> None:
    problems = []
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        problems.extend(
            violations(path.read_text(encoding="utf-8"), module_name(path), is_package=path.name == "__init__.py")
        )
    assert not problems, "imports that flow upward or sideways:\n" + "\n".join(problems)


def test_every_package_has_a_layer() -> None:
    packages = {path.name for path in PACKAGE_ROOT.iterdir() if path.is_dir() and (path / "__init__.py").exists()}
    modules = {path.stem for path in PACKAGE_ROOT.glob("*.py")} - {"__init__", "__main__"}
    assert packages | modules <= set(LAYERS)


@pytest.mark.parametrize(
    ("source", "module", "is_package", "expected"),
    [
        ("from posekit.metrics.mpjpe import mpjpe\n", "posekit.data.h36m", False, "a sibling of the same layer"),
        ("import posekit.io.atomic\n", "posekit.structures", False, "a higher layer"),
        ("def f():\n    from ..models import registry\n", "posekit.io.checkpoint", False, "a higher layer"),
        ("from . import tasks\n", "posekit.cli", True, None),  # cli/__init__ importing posekit.cli.tasks: own package
        ("from .. import models\n", "posekit.io", True, "a higher layer"),
        ("from posekit.geometry import boxes\nimport numpy\n", "posekit.data.h36m", False, None),
        ("import posekit.cli.main\n", "posekit.__main__", False, None),
        (
            'import importlib\nLAZY = {"f": "posekit.tasks.pose2d"}\nf = importlib.import_module(LAZY["f"])\n',
            "posekit.engine",
            True,
            "a higher layer",
        ),
        ('MESSAGE = "see posekit.tasks.pose2d"\n', "posekit.engine", True, None),  # a sentence, not a module name
    ],
)
def test_violations_catches_a_synthetic_module(
    source: str, module: str, is_package: bool, expected: str | None
) -> None:
    problems = violations(source, module, is_package)
    if expected is None:
        assert problems == []
    else:
        assert len(problems) == 1
        assert module in problems[0] and expected in problems[0]
        assert "layer" in problems[0]


def test_violation_names_module_import_and_both_layers() -> None:
    (problem,) = violations(
        "import os\n\n\ndef save():\n    from posekit.io.atomic import atomic_path\n", "posekit.structures"
    )
    assert problem == (
        "posekit.structures (layer 1, structures) line 5 imports posekit.io.atomic.atomic_path (layer 2, io): "
        "a higher layer"
    )
