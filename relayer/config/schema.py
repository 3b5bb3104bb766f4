"""Raw tables (TOML, or strings from the environment) to the frozen settings
dataclasses, led by their type hints; a value of the wrong type is a ``ConfigError``
naming its key.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any

from relayer.errors import ConfigError
from relayer.integers import is_canonical


def leaf_keys(cls: type[Any], prefix: str) -> list[str]:
    keys = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(tp):
            keys.extend(leaf_keys(tp, key + "."))  # type: ignore[arg-type]
        elif typing.get_origin(tp) is not Mapping:
            keys.append(key)
    return keys


def build(cls: type[Any], data: Any, path: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{path or 'config'} must be a table", details={"key": path})
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in names:
            full = f"{path}.{key}" if path else key
            raise ConfigError(f"unknown config key {full}", details={"key": full})
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            full = f"{path}.{f.name}" if path else f.name
            kwargs[f.name] = coerce(hints[f.name], data[f.name], full)
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{path or 'config'}: {exc}", details={"key": path}) from exc


def coerce(tp: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return build(tp, value, key)  # type: ignore[arg-type]
    if origin is Mapping:
        _, value_type = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a table", details={"key": key})
        return {name: coerce(value_type, item, f"{key}.{name}") for name, item in value.items()}
    if origin is tuple:
        (item_type, _ellipsis) = typing.get_args(tp)
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list):
            raise ConfigError(f"{key} must be a list", details={"key": key})
        return tuple(coerce(item_type, item, f"{key}[]") for item in value)
    if origin in (types.UnionType, typing.Union):
        raise ConfigError(f"{key}: unsupported type", details={"key": key})
    if tp is bool:
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "0", "false", "no"):
            return value.lower() in ("1", "true", "yes")
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key} must be a boolean", details={"key": key})
    if tp is int:
        if isinstance(value, str):
            if is_canonical(value, max_digits=40, signed=True):
                return int(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{key} must be an integer", details={"key": key, "value": value})
    if tp is float:
        try:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key} must be a number", details={"key": key}) from None
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{key} must be a string", details={"key": key})
    raise ConfigError(f"{key}: unsupported type {tp!r}", details={"key": key})
