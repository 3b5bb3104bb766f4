"""The ``relayer`` command as a newcomer meets it: help for every flag and ``keys create
--write``. The devnet and the reference resolver have commands of their own
(tests/devnet/test_cli.py, tests/resolver/test_main.py)."""

from __future__ import annotations

import argparse
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from relayer.cli import build_parser, main
from relayer.security.keys import KeyRegistry, parse_key_lines
from relayer.security.principal import Scope


def commands(parser: argparse.ArgumentParser, path: str = "relayer"
             ) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every (sub)command of ``parser``, depth first, with its command line."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helped = {choice.dest for choice in action._choices_actions if choice.help}
            for name, sub in action.choices.items():
                assert name in helped, f"{path} {name} has no help line"
                yield from commands(sub, f"{path} {name}")


def test_every_command_and_flag_says_what_it_does() -> None:
    parser = build_parser()
    assert parser.description and "``" not in parser.description
    assert "Ethereum and Cardano" in parser.format_help()
    seen = set()
    for path, command in commands(parser):
        seen.add(path)
        for action in command._actions:
            if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                continue
            flag = "/".join(action.option_strings) or action.dest
            assert action.help and action.help.strip(), f"{path} {flag} has no help text"
    assert {"relayer serve", "relayer keys create", "relayer migrate",
            "relayer check-config"} <= seen
    assert not {"relayer devnet", "relayer resolver"} & seen


def test_keys_create_write_appends_to_the_configured_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys_file = tmp_path / "api-keys"
    config = tmp_path / "relayer.toml"
    config.write_text(f'[security]\napi_keys_file = "{keys_file}"\n')
    assert main(["keys", "create", "--scopes", "read", "--write", "--config", str(config)]) == 0
    first = capsys.readouterr().out.splitlines()
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    keys_file.chmod(0o644)
    keys_file.write_text(keys_file.read_text().rstrip("\n"))  # a last line left open
    assert main(["keys", "create", "--scopes", "read,secrets", "--note", "bot 2", "--write",
                 "--config", str(config)]) == 0
    second = capsys.readouterr().out.splitlines()
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    stored = parse_key_lines(keys_file.read_text(), str(keys_file))
    assert [k.scopes for k in stored] == [frozenset({Scope.READ}),
                                         frozenset({Scope.READ, Scope.SECRETS})]
    registry = KeyRegistry.from_file(keys_file)
    for out, key in zip((first, second), stored, strict=True):
        api_key = out[0].rsplit(" ", 1)[1]
        assert api_key not in keys_file.read_text()
        principal = registry.authenticate(api_key)
        assert principal is not None and principal.key_id == key.key_id
        assert f"appended to {keys_file} (mode 0600)" in out[1]
    assert main(["check-config", "--config", str(config)]) == 0


def test_keys_create_write_from_the_environment_creates_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    keys_file = tmp_path / "keys.jsonl"
    monkeypatch.setenv("RELAYER_SECURITY_API_KEYS_FILE", str(keys_file))
    assert main(["keys", "create", "--scopes", "admin", "--write"]) == 0
    assert len(parse_key_lines(keys_file.read_text(), "keys")) == 1
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    capsys.readouterr()


def test_keys_create_write_refuses_without_a_file_or_onto_a_broken_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "create", "--scopes", "read", "--write"]) == 2
    assert "--write needs security.api_keys_file" in capsys.readouterr().err
    broken = tmp_path / "api-keys"
    broken.write_text("not json\n")
    config = tmp_path / "relayer.toml"
    config.write_text(f'[security]\napi_keys_file = "{broken}"\n')
    assert main(["keys", "create", "--scopes", "read", "--write", "--config", str(config)]) == 2
    assert f"{broken}:1: not a JSON object" in capsys.readouterr().err
    assert broken.read_text() == "not json\n"
    config.write_text(f'[security]\napi_keys_file = "{tmp_path / "absent" / "keys"}"\n')
    assert main(["keys", "create", "--scopes", "read", "--write", "--config", str(config)]) == 2
    assert "cannot write" in capsys.readouterr().err
