"""Loading settings: embedded defaults, the TOML file, ``RELAYER_*`` variables and flags.

Precedence, lowest first: embedded defaults, the TOML file, environment
variables, command-line flags. Every leaf key ``a.b.c`` can be set from the
environment as ``RELAYER_A_B_C``. Anything unknown or of the wrong type stops
startup with a ``ConfigError`` naming the key (the variable, for a value from the
environment). The file's values are checked even where a variable or a flag
replaces them.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from relayer.config.schema import build, leaf_keys
from relayer.config.settings import Settings, check
from relayer.errors import ConfigError

ENV_PREFIX = "RELAYER_"

LEGACY_KEYS: Mapping[str, str] = {
    "server.max_body_bytes": "limits.body_bytes",
    "websocket.max_frame_bytes": "limits.ws_message_bytes",
    "websocket.send_queue": "limits.ws_send_queue_messages",
    "websocket.send_timeout_seconds": "limits.ws_send_timeout_seconds",
}
"""Keys that moved to ``[limits]``: still read (file, environment, flags), under the new name."""


def load_settings(
    config_file: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build validated settings; ``overrides`` maps dotted keys (``server.port``) to values."""
    data: dict[str, Any] = {}
    if config_file is not None:
        path = Path(config_file)
        try:
            data = tomllib.loads(path.read_text())
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {path}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    _rename_legacy(data, conflicts=True)
    if config_file is not None:
        # Every value in the file must be valid, also one that the environment or a flag
        # replaces below: else a bad file goes unnoticed until the day the flag goes.
        try:
            _validated(copy.deepcopy(data))
        except ConfigError as exc:
            raise ConfigError(f"{exc.message} (in {config_file})", details=exc.details) from None
    variables = _env_overrides(environ or {})
    for key, (_, raw) in variables.items():
        _set_dotted(data, key, raw)
    if variables:
        try:
            _validated(copy.deepcopy(data))
        except ConfigError as exc:
            raise _naming_variable(exc, variables) from None
    for key, value in (overrides or {}).items():
        if value is not None:
            _set_dotted(data, key, value)
    return _validated(data)


def _validated(data: dict[str, Any]) -> Settings:
    _rename_legacy(data, conflicts=False)  # what the overrides named by an old key wins
    settings: Settings = build(Settings, data, "")
    check(settings)
    return settings


def _naming_variable(exc: ConfigError, variables: Mapping[str, tuple[str, str]]
                     ) -> ConfigError:
    """``exc`` about a key the environment set, told with the variable's name: that is
    what the operator wrote (``RELAYER_SERVER_PORT must be an integer``)."""
    key = str(exc.details.get("key", ""))
    variable = next((name for k, (name, _) in variables.items()
                     if key == k or key.startswith(k + "[")), None)
    if variable is None:
        return exc
    message = (exc.message.replace(key, variable, 1) if exc.message.startswith(key)
               else f"{variable}: {exc.message}")
    return ConfigError(message, details={**exc.details, "variable": variable})


def _rename_legacy(data: dict[str, Any], *, conflicts: bool) -> None:
    """Move values set under an old key (``LEGACY_KEYS``) to the new one. With
    ``conflicts``, one source naming both with different values is an error."""
    for old, new in LEGACY_KEYS.items():
        old_table, old_name = old.split(".")
        table = data.get(old_table)
        if not isinstance(table, dict) or old_name not in table:
            continue
        value = table.pop(old_name)
        new_table, new_name = new.split(".")
        target = data.setdefault(new_table, {})
        if not isinstance(target, dict):
            raise ConfigError(f"{new_table} must be a table", details={"key": new_table})
        if conflicts and new_name in target and target[new_name] != value:
            raise ConfigError(f"{old} is the old name of {new}: set only {new}",
                              details={"key": old})
        target[new_name] = value


def _env_overrides(environ: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """Each key the environment sets, with the variable that set it and its value."""
    known = {ENV_PREFIX + key.replace(".", "_").upper(): key for key in leaf_keys(Settings, "")}
    known.update({ENV_PREFIX + old.replace(".", "_").upper(): new
                  for old, new in LEGACY_KEYS.items()})
    found = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        if name not in known:
            raise ConfigError(f"unknown environment variable {name}", details={"key": name})
        found[known[name]] = (name, value)
    return found


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    node = data
    *parents, last = key.split(".")
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{key}: {part} is not a table", details={"key": key})
        node = child
    node[last] = value
