from __future__ import annotations

from pathlib import Path

import pytest

from relayer.cli import main
from relayer.security.keys import KeyRegistry, parse_key_lines
from relayer.security.principal import Scope


def test_keys_create_prints_key_once_and_a_storable_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "create", "--scopes", "read,secrets", "--note", "bot 1"]) == 0
    out = capsys.readouterr().out.splitlines()
    api_key = out[0].rsplit(" ", 1)[1]
    line = out[2]
    assert api_key.startswith("rk_") and api_key not in line
    (stored,) = parse_key_lines(line, "stdout")
    assert stored.scopes == frozenset({Scope.READ, Scope.SECRETS}) and stored.note == "bot 1"
    assert stored.signing_secret is None
    path = tmp_path / "keys.jsonl"
    path.write_text(line + "\n")
    principal = KeyRegistry.from_file(path).authenticate(api_key)
    assert principal is not None and principal.key_id == stored.key_id
    config = tmp_path / "relayer.toml"
    config.write_text(f'[security]\napi_keys_file = "{path}"\n')
    assert main(["check-config", "--config", str(config)]) == 0


def test_keys_create_refuses_unknown_scope_and_check_config_a_bad_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "create", "--scopes", "read,root"]) == 2
    assert "unknown scope 'root'" in capsys.readouterr().err
    config = tmp_path / "relayer.toml"
    config.write_text(f'[security]\napi_keys_file = "{tmp_path / "absent"}"\n')
    assert main(["check-config", "--config", str(config)]) == 2
    assert "API keys file not found" in capsys.readouterr().err
