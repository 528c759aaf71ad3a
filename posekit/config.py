"""Typed configs: (nested) frozen dataclasses loaded from YAML or JSON, with ``--set`` overrides.

A config file maps onto a dataclass field by field; every value is checked against the field's
type annotation, and a mistake names the file and the field path::

    configs/x.yaml: model.num_stages: expected int, got 'three'

Command-line overrides ``a.b=value`` are parsed by the type of the field they target (never
evaluated as code): ``int``, ``float``, ``bool`` (true/false/yes/no/on/off/1/0), ``str``,
``Literal[...]``, ``Enum`` (by name or value), ``X | None`` (``none``/``null``), ``tuple``/``list``
(``1,2,3`` or ``[1, 2, 3]``), ``dict`` (a JSON object) and ``pathlib.Path``. A nested dataclass is
set field by field (``model.width=32``). Config classes must be ``@dataclass(frozen=True)``: a
loaded config is never mutated; derive values instead (style habit 13).

YAML needs PyYAML; JSON always works (and a JSON file is also valid YAML).
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import json
import os
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

_NONE_WORDS = ("none", "null", "~")
_TRUE_WORDS = ("true", "yes", "on", "1")
_FALSE_WORDS = ("false", "no", "off", "0")


class _ConfigTypeError(Exception):
    """Internal: a value did not match its field type; ``path`` is filled in by the caller."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML (``.yaml``/``.yml``) or JSON file whose top level is a mapping.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file cannot be parsed, or its top level is not a mapping.
    """
    file_path = Path(path)
    if not file_path.is_file():
        raise FileNotFoundError(f"config file not found: {file_path}")
    text = file_path.read_text(encoding="utf-8")
    if file_path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError as error:
            raise ValueError(f"{file_path}: reading YAML configs needs PyYAML (pip install pyyaml)") from error
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ValueError(f"{file_path}: invalid YAML: {' '.join(str(error).split())}") from error
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"{file_path}: invalid JSON: {error}") from error
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"{file_path}: the top level of a config must be a mapping, got {type(data).__name__}")
    return data


def load_config(
    path_or_dict: str | os.PathLike[str] | Mapping[str, Any],
    cls: type[T],
    overrides: Sequence[str] = (),
    source: str | None = None,
) -> T:
    """Build the frozen dataclass ``cls`` from a config file or mapping, then apply overrides.

    Args:
        path_or_dict: a ``.yaml``/``.yml``/``.json`` file, or an already-read mapping.
        cls: a frozen dataclass type; nested dataclass fields are read from nested mappings.
        overrides: ``"a.b=value"`` strings, applied in order after the file; each value is parsed
            by the type of the field it targets.
        source: name used in error messages (defaults to the file path, or ``"<config>"``).

    Returns:
        An instance of ``cls``.

    Raises:
        ValueError: an unknown key, a missing required field, a value of the wrong type or a
            malformed override; the message names the source and the field path.
        FileNotFoundError: the file does not exist.
    """
    if isinstance(path_or_dict, Mapping):
        data: dict[str, Any] = _deep_copy_mapping(path_or_dict)
        name = source or "<config>"
    else:
        data = read_config_file(path_or_dict)
        name = source or str(path_or_dict)
    _check_config_class(cls)
    for override in overrides:
        _apply_override(data, cls, override)
    try:
        return typing.cast(T, _convert(data, cls, ""))
    except _ConfigTypeError as error:
        raise ValueError(f"{name}: {error.path or '(top level)'}: {error.message}") from None


def config_to_dict(config: Any) -> dict[str, Any]:
    """A JSON-serialisable dict of a dataclass config (tuples become lists, enums their values).

    ``load_config(config_to_dict(c), type(c)) == c`` for every config ``load_config`` accepts.
    """
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise ValueError(f"config_to_dict expects a dataclass instance, got {type(config).__name__}")
    result = _to_plain(config)
    assert isinstance(result, dict)
    return result


def _to_plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: _to_plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return _to_plain(value.value)
    if isinstance(value, Mapping):
        return {str(key): _to_plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_plain(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _deep_copy_mapping(mapping: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _deep_copy_mapping(value) if isinstance(value, Mapping) else value for key, value in mapping.items()}


def _check_config_class(cls: Any) -> None:
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"config class must be a dataclass, got {cls!r}")
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen:
        raise TypeError(f"config class {cls.__name__} must be a frozen dataclass (@dataclass(frozen=True))")


def _unknown_key(key: str, class_name: str, fields: Mapping[str, Any], named: bool = False) -> str:
    """``unknown key; did you mean 'lr'? (TrainConfig has fields: ...)``: the closest field first.

    ``named`` puts the key in the text (``unknown key 'lrr'; ...``), for messages that do not
    start with its path.
    """
    close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
    listing = f"{class_name} has fields: {', '.join(fields)}"
    head = f"unknown key {key!r}" if named else "unknown key"
    return f"{head}; did you mean {close[0]!r}? ({listing})" if close else f"{head}; {listing}"


def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {field.name: hints[field.name] for field in dataclasses.fields(cls) if field.init}


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _type_name(tp: Any) -> str:
    if tp is type(None):
        return "None"
    if isinstance(tp, type) and not typing.get_args(tp):
        return tp.__name__
    return str(tp).replace("typing.", "")


def _convert(value: Any, tp: Any, path: str) -> Any:
    """Check/convert a file value (already parsed YAML/JSON) to the annotated type ``tp``."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        _check_config_class(tp)
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            raise _ConfigTypeError(path, f"expected a mapping for {tp.__name__}, got {value!r}")
        types_by_name = _field_types(tp)
        unknown = [key for key in value if key not in types_by_name]
        if unknown:
            prefix = f"{path}." if path else ""
            raise _ConfigTypeError(f"{prefix}{unknown[0]}", _unknown_key(str(unknown[0]), tp.__name__, types_by_name))
        kwargs: dict[str, Any] = {}
        for field in dataclasses.fields(tp):
            if not field.init:
                continue
            field_path = f"{path}.{field.name}" if path else field.name
            if field.name in value:
                kwargs[field.name] = _convert(value[field.name], types_by_name[field.name], field_path)
            elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                expected_type = _type_name(types_by_name[field.name])
                raise _ConfigTypeError(field_path, f"required field missing (type {expected_type})")
        try:
            return tp(**kwargs)
        except (TypeError, ValueError) as error:  # a __post_init__ check of the dataclass
            raise _ConfigTypeError(path, str(error)) from None
    if _is_union(tp):
        if value is None and type(None) in args:
            return None
        for option in args:
            if option is type(None):
                continue
            try:
                return _convert(value, option, path)
            except _ConfigTypeError:
                continue
        raise _ConfigTypeError(path, f"expected {_type_name(tp)}, got {value!r}")
    if origin is typing.Literal:
        for choice in args:
            if value == choice and type(value) is type(choice):
                return choice
        raise _ConfigTypeError(path, f"expected one of {', '.join(repr(choice) for choice in args)}, got {value!r}")
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        if isinstance(value, tp):
            return value
        for member in tp:
            if value == member.value or value == member.name:
                return member
        raise _ConfigTypeError(path, f"expected one of {', '.join(repr(m.value) for m in tp)}, got {value!r}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _ConfigTypeError(path, f"expected bool, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _ConfigTypeError(path, f"expected int, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # PyYAML reads ``1e-3`` (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        raise _ConfigTypeError(path, f"expected float, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise _ConfigTypeError(path, f"expected str, got {value!r}")
    if tp is Path:
        if isinstance(value, (str, Path)):
            return Path(value)
        raise _ConfigTypeError(path, f"expected a path string, got {value!r}")
    if origin in (tuple, list) or tp in (tuple, list):
        container = origin or tp
        if not isinstance(value, (list, tuple)):
            raise _ConfigTypeError(path, f"expected a list for {_type_name(tp)}, got {value!r}")
        if container is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            if len(value) != len(args):
                raise _ConfigTypeError(path, f"expected {len(args)} items for {_type_name(tp)}, got {len(value)}")
            pairs = enumerate(zip(value, args, strict=True))
            items = [_convert(item, item_type, f"{path}[{index}]") for index, (item, item_type) in pairs]
        else:
            item_type = args[0] if args else Any
            items = [_convert(item, item_type, f"{path}[{index}]") for index, item in enumerate(value)]
        return tuple(items) if container is tuple else items
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise _ConfigTypeError(path, f"expected a mapping for {_type_name(tp)}, got {value!r}")
        key_type, value_type = args if args else (Any, Any)
        return {
            _convert(key, key_type, path): _convert(item, value_type, f"{path}.{key}") for key, item in value.items()
        }
    raise _ConfigTypeError(path, f"unsupported field type {_type_name(tp)} in a config class")


def _apply_override(data: dict[str, Any], cls: type, override: str) -> None:
    """Parse ``"a.b=value"`` by the type of field ``a.b`` of ``cls`` and set it in ``data``."""
    key, separator, text = override.partition("=")
    key = key.strip()
    if not separator or not key:
        raise ValueError(f"override {override!r}: expected KEY=VALUE, e.g. train.lr=0.001")
    names = key.split(".")
    tp: Any = cls
    target = data
    for depth, name in enumerate(names):
        if not (isinstance(tp, type) and dataclasses.is_dataclass(tp)):
            parent = ".".join(names[:depth])
            raise ValueError(f"--set {key}: {parent} is not a section (type {_type_name(tp)})")
        types_by_name = _field_types(tp)
        if name not in types_by_name:
            raise ValueError(f"--set {key}: {_unknown_key(name, tp.__name__, types_by_name, named=True)}")
        tp = types_by_name[name]
        if depth < len(names) - 1:
            child = target.get(name)
            if not isinstance(child, dict):
                child = {}
                target[name] = child
            target = child
    try:
        target[names[-1]] = _parse_text(text.strip(), tp, key)
    except _ConfigTypeError as error:
        raise ValueError(f"--set {error.path}: {error.message}") from None


def _parse_text(text: str, tp: Any, path: str) -> Any:
    """Parse command-line text ``text`` as a value of type ``tp`` (never evaluates code)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any or tp is str:
        return text
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        raise _ConfigTypeError(path, f"is a section ({tp.__name__}); set its fields as {path}.FIELD=VALUE")
    if _is_union(tp):
        if text.lower() in _NONE_WORDS and type(None) in args:
            return None
        for option in args:
            if option is type(None):
                continue
            try:
                return _parse_text(text, option, path)
            except _ConfigTypeError:
                continue
        raise _ConfigTypeError(path, f"expected {_type_name(tp)}, got {text!r}")
    if origin is typing.Literal:
        for choice in args:
            if str(choice) == text or (isinstance(choice, bool) and text.lower() == str(choice).lower()):
                return choice
        raise _ConfigTypeError(path, f"expected one of {', '.join(repr(choice) for choice in args)}, got {text!r}")
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        for member in tp:
            if text == member.name or text == str(member.value):
                return member
        raise _ConfigTypeError(path, f"expected one of {', '.join(repr(m.value) for m in tp)}, got {text!r}")
    if tp is bool:
        lowered = text.lower()
        if lowered in _TRUE_WORDS:
            return True
        if lowered in _FALSE_WORDS:
            return False
        raise _ConfigTypeError(path, f"expected bool (true/false), got {text!r}")
    if tp is int:
        try:
            return int(text)
        except ValueError:
            raise _ConfigTypeError(path, f"expected int, got {text!r}") from None
    if tp is float:
        try:
            return float(text)
        except ValueError:
            raise _ConfigTypeError(path, f"expected float, got {text!r}") from None
    if tp is Path:
        return text
    if origin in (tuple, list) or tp in (tuple, list):
        inner = text
        if len(inner) >= 2 and inner[0] + inner[-1] in ("[]", "()"):
            inner = inner[1:-1]
        parts = [part.strip() for part in inner.split(",")] if inner.strip() else []
        if parts and parts[-1] == "":  # a trailing comma, as in "(1,)"
            parts = parts[:-1]
        if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            if len(parts) != len(args):
                raise _ConfigTypeError(path, f"expected {len(args)} comma-separated items, got {text!r}")
            pairs = enumerate(zip(parts, args, strict=True))
            return [_parse_text(part, item_type, f"{path}[{index}]") for index, (part, item_type) in pairs]
        item_type = args[0] if args else str
        return [_parse_text(part, item_type, f"{path}[{index}]") for index, part in enumerate(parts)]
    if origin is dict or tp is dict:
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise _ConfigTypeError(path, f"expected a JSON object, got {text!r}") from None
        if not isinstance(value, dict):
            raise _ConfigTypeError(path, f"expected a JSON object, got {text!r}")
        return value
    raise _ConfigTypeError(path, f"cannot be set from the command line (type {_type_name(tp)})")
