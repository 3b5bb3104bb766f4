from __future__ import annotations

from pathlib import Path

import pytest

from relayer.errors import ConfigError
from relayer.security.keys import (
    KeyRegistry,
    generate_key,
    key_digest,
    key_id_of,
    parse_key_lines,
    parse_scopes,
)
from relayer.security.principal import Principal, Scope


def test_generated_key_authenticates_only_itself() -> None:
    new = generate_key(frozenset({Scope.READ, Scope.SECRETS}))
    other = generate_key(frozenset({Scope.READ}))
    registry = KeyRegistry([new.stored, other.stored])
    assert registry.authenticate(new.api_key) == Principal(new.stored.key_id,
                                                           frozenset({Scope.READ, Scope.SECRETS}))
    assert registry.authenticate(other.api_key) == other.stored.principal
    # Same id, wrong secret; a key that is not even well formed; an empty string.
    forged = new.api_key[:-4] + ("AAAA" if not new.api_key.endswith("AAAA") else "BBBB")
    for bad in (forged, "rk_0123456789abcdef_" + "A" * 43, "hunter2", ""):
        assert registry.authenticate(bad) is None


def test_stored_line_round_trips_and_never_holds_the_key() -> None:
    new = generate_key(frozenset({Scope.ADMIN}), signing=True, note="ops laptop")
    line = new.stored.to_line()
    assert new.api_key not in line
    assert new.api_key[len("rk_") + 17:] not in line
    (parsed,) = parse_key_lines(f"# comment\n\n{line}\n", "keys")
    assert parsed == new.stored
    assert parsed.sha256 == key_digest(new.api_key)
    assert key_id_of(new.api_key) == parsed.key_id


@pytest.mark.parametrize("line, message", [
    ("not json", "keys:1: not a JSON object"),
    ("[1]", "keys:1: not a JSON object"),
    ('{"id": "xyz", "sha256": "' + "0" * 64 + '", "scopes": ["read"]}', "id is missing"),
    ('{"id": "' + "a" * 16 + '", "sha256": "00", "scopes": ["read"]}', "sha256 is missing"),
    ('{"id": "' + "a" * 16 + '", "sha256": "' + "0" * 64 + '", "scopes": ["root"]}',
     "unknown scope 'root'"),
    ('{"id": "' + "a" * 16 + '", "sha256": "' + "0" * 64 + '", "scopes": []}',
     "at least one scope"),
    ('{"id": "' + "a" * 16 + '", "sha256": "' + "0" * 64 + '", "scopes": ["read"], "key": 1}',
     "unknown field key"),
])
def test_bad_lines_name_file_and_line(line: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_key_lines(line, "keys")
    assert message in raised.value.message


def test_duplicate_ids_are_refused() -> None:
    line = generate_key(frozenset({Scope.READ})).stored.to_line()
    with pytest.raises(ConfigError, match="duplicate key id"):
        parse_key_lines(f"{line}\n{line}\n", "keys")


def test_reload_swaps_the_whole_set_and_keeps_it_on_a_bad_file(tmp_path: Path) -> None:
    first, second = generate_key(frozenset({Scope.READ})), generate_key(frozenset({Scope.READ}))
    path = tmp_path / "keys.jsonl"
    path.write_text(first.stored.to_line() + "\n")
    registry = KeyRegistry.from_file(path)
    assert registry.authenticate(first.api_key) is not None
    path.write_text(second.stored.to_line() + "\n")
    assert registry.reload() == 1
    assert registry.authenticate(first.api_key) is None
    assert registry.authenticate(second.api_key) is not None
    path.write_text("garbage\n")
    with pytest.raises(ConfigError):
        registry.reload()
    assert registry.authenticate(second.api_key) is not None


def test_missing_file_and_scopes_text(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        KeyRegistry.from_file(tmp_path / "absent")
    assert parse_scopes("read, secrets,") == frozenset({Scope.READ, Scope.SECRETS})
    with pytest.raises(ConfigError):
        KeyRegistry().reload()


def test_admin_holds_every_scope() -> None:
    admin = Principal("a" * 16, frozenset({Scope.ADMIN}))
    reader = Principal("b" * 16, frozenset({Scope.READ}))
    assert all(admin.allows(scope) for scope in Scope)
    assert reader.allows(Scope.READ) and not reader.allows(Scope.SECRETS)
