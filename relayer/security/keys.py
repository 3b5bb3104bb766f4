"""API keys: generated once, stored only as digests, looked up by their public id.

A key reads ``rk_<id>_<secret>``: ``id`` is 16 hex digits (public, used in logs,
metrics and signed requests), ``secret`` 32 random bytes in base64url. The
registry keeps, per id, the SHA-256 of the whole key and its scopes, so the
lookup is one dict access and one constant-time comparison. A key made for
request signing also carries its signing secret (see ``signing.py``), which
is derived from the key, so the client never needs a second credential.

Keys are configured as JSON lines in a file (``security.api_keys_file``), one
``{"id", "sha256", "scopes"[, "signing_secret", "note"]}`` object a line;
blank lines and lines starting with ``#`` are ignored. ``relayer keys create``
prints a new key once with the line to store, or (``--write``) appends that line to
the file itself (``append_key_line``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from relayer.config import SecuritySettings
from relayer.errors import ConfigError
from relayer.security.principal import Principal, Scope

KEY_PREFIX = "rk_"
_KEY_ID = re.compile(r"^[0-9a-f]{16}$")
_KEY = re.compile(r"^rk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_SIGNING_CONTEXT = b"relayer/request-signing/v1"

log = structlog.get_logger(__name__)


def key_digest(api_key: str) -> bytes:
    return hashlib.sha256(api_key.encode()).digest()


def signing_secret(api_key: str) -> bytes:
    """The HMAC key a client signs requests with, derived from its API key."""
    return hmac.new(api_key.encode(), _SIGNING_CONTEXT, hashlib.sha256).digest()


def key_id_of(api_key: str) -> str | None:
    """The public id inside a well-formed key, or ``None``."""
    match = _KEY.match(api_key)
    return match.group(1) if match else None


def parse_scopes(text: str | Iterable[str]) -> frozenset[Scope]:
    names = [s.strip() for s in text.split(",")] if isinstance(text, str) else list(text)
    scopes = set()
    for name in names:
        if not name:
            continue
        try:
            scopes.add(Scope(name))
        except ValueError:
            known = ", ".join(s.value for s in Scope)
            raise ConfigError(f"unknown scope {name!r} (known: {known})",
                              details={"scope": name}) from None
    if not scopes:
        raise ConfigError("a key needs at least one scope")
    return frozenset(scopes)


@dataclass(frozen=True, slots=True)
class StoredKey:
    """What the relayer keeps of a key: never the key itself."""

    key_id: str
    sha256: bytes
    scopes: frozenset[Scope]
    signing_secret: bytes | None = None
    note: str = ""

    @property
    def principal(self) -> Principal:
        return Principal(key_id=self.key_id, scopes=self.scopes, credential=self.sha256)

    def to_line(self) -> str:
        data: dict[str, Any] = {
            "id": self.key_id,
            "sha256": self.sha256.hex(),
            "scopes": sorted(s.value for s in self.scopes),
        }
        if self.signing_secret is not None:
            data["signing_secret"] = self.signing_secret.hex()
        if self.note:
            data["note"] = self.note
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str) -> StoredKey:
        def field(name: str, pattern: re.Pattern[str]) -> str:
            value = data.get(name)
            if not isinstance(value, str) or not pattern.match(value):
                raise ConfigError(f"{where}: {name} is missing or malformed",
                                  details={"where": where, "field": name})
            return value

        unknown = set(data) - {"id", "sha256", "scopes", "signing_secret", "note"}
        if unknown:
            raise ConfigError(f"{where}: unknown field {sorted(unknown)[0]}",
                              details={"where": where})
        scopes = data.get("scopes")
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise ConfigError(f"{where}: scopes must be a list of strings",
                              details={"where": where, "field": "scopes"})
        try:
            parsed = parse_scopes(scopes)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc.message}", details={"where": where}) from None
        secret = (bytes.fromhex(field("signing_secret", _DIGEST))
                  if "signing_secret" in data else None)
        note = data.get("note", "")
        if not isinstance(note, str):
            raise ConfigError(f"{where}: note must be a string", details={"where": where})
        return cls(key_id=field("id", _KEY_ID), sha256=bytes.fromhex(field("sha256", _DIGEST)),
                   scopes=parsed, signing_secret=secret, note=note)


@dataclass(frozen=True, slots=True)
class NewKey:
    api_key: str
    """Shown once to the operator; never stored."""
    stored: StoredKey


def generate_key(scopes: frozenset[Scope], *, signing: bool = False, note: str = "") -> NewKey:
    key_id = secrets.token_hex(8)
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    api_key = f"{KEY_PREFIX}{key_id}_{secret}"
    stored = StoredKey(key_id=key_id, sha256=key_digest(api_key), scopes=scopes,
                       signing_secret=signing_secret(api_key) if signing else None, note=note)
    return NewKey(api_key=api_key, stored=stored)


def parse_key_lines(text: str, source: str) -> list[StoredKey]:
    keys: list[StoredKey] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{source}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            raise ConfigError(f"{where}: not a JSON object", details={"where": where}) from None
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: not a JSON object", details={"where": where})
        key = StoredKey.from_mapping(data, where)
        if key.key_id in seen:
            raise ConfigError(f"{where}: duplicate key id {key.key_id}", details={"where": where})
        seen.add(key.key_id)
        keys.append(key)
    return keys


class KeyRegistry:
    """The configured keys; implements ``Authenticator`` and ``KeyLookup``. ``replace``
    swaps the whole set at once (a reload), so a lookup never sees half of an old and half
    of a new file, then tells every listener (``on_change``) so that what a key set up
    earlier (open WebSockets) is checked against the new set."""

    def __init__(self, keys: Iterable[StoredKey] = (), *, source: str | None = None) -> None:
        self._keys: dict[str, StoredKey] = {k.key_id: k for k in keys}
        self._source = source
        self._listeners: list[Callable[[], None]] = []

    @classmethod
    def from_file(cls, path: str | Path) -> KeyRegistry:
        return cls(read_key_file(path), source=str(path))

    @classmethod
    def from_settings(cls, settings: SecuritySettings) -> KeyRegistry:
        """The keys of ``security.api_keys_file``, or none when it is not set."""
        return cls.from_file(settings.api_keys_file) if settings.api_keys_file else cls()

    @property
    def source(self) -> str | None:
        return self._source

    def __len__(self) -> int:
        return len(self._keys)

    def keys(self) -> list[StoredKey]:
        return sorted(self._keys.values(), key=lambda k: k.key_id)

    def get(self, key_id: str) -> StoredKey | None:
        return self._keys.get(key_id)

    def authenticate(self, api_key: str) -> Principal | None:
        key_id = key_id_of(api_key)
        stored = self._keys.get(key_id) if key_id is not None else None
        # Compare even for unknown ids, so timing does not tell which ids exist.
        expected = stored.sha256 if stored is not None else bytes(32)
        if hmac.compare_digest(key_digest(api_key), expected) and stored is not None:
            return stored.principal
        return None

    def current(self, principal: Principal) -> Principal | None:
        stored = self._keys.get(principal.key_id)
        if stored is None or (principal.credential and principal.credential != stored.sha256):
            return None
        return stored.principal

    def principal(self, key_id: str) -> Principal | None:
        stored = self._keys.get(key_id)
        return None if stored is None else stored.principal

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every ``replace`` (a reload of the keys file)."""
        self._listeners.append(listener)

    def signing_key(self, key_id: str) -> tuple[Principal, bytes] | None:
        stored = self._keys.get(key_id)
        if stored is None or stored.signing_secret is None:
            return None
        return stored.principal, stored.signing_secret

    def replace(self, keys: Iterable[StoredKey]) -> None:
        self._keys = {k.key_id: k for k in keys}
        for listener in self._listeners:
            try:
                listener()
            except Exception:  # the new keys are in force; one listener must not undo that
                log.exception("api_keys_listener_failed")

    def reload(self) -> int:
        """Re-read the file the keys came from; the number of keys now configured."""
        if self._source is None:
            raise ConfigError("the API keys were not loaded from a file: nothing to reload")
        self.replace(read_key_file(self._source))
        return len(self._keys)


def append_key_line(path: str | Path, stored: StoredKey) -> None:
    """Append ``stored``'s line to the keys file at ``path``, created if missing. The file
    is left at mode 0600 either way: signing secrets are in it. A file that is already
    malformed is refused (``ConfigError``) rather than written to."""
    file = Path(path)
    if file.exists():
        read_key_file(file)
    fd = os.open(file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as out:
        os.fchmod(fd, 0o600)
        ends_open = file.stat().st_size > 0 and not file.read_bytes().endswith(b"\n")
        out.write(("\n" if ends_open else "") + stored.to_line() + "\n")


def read_key_file(path: str | Path) -> list[StoredKey]:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"API keys file not found: {file}",
                          details={"key": "security.api_keys_file"}) from None
    except OSError as exc:
        raise ConfigError(f"API keys file {file} cannot be read: {exc.strerror}",
                          details={"key": "security.api_keys_file"}) from None
    return parse_key_lines(text, str(file))
