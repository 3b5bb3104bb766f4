"""The identity an authenticated request or WebSocket connection carries."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class Scope(StrEnum):
    READ = "read"
    """Resolver read access: private channels such as ``fills`` and ``actions``."""
    SECRETS = "secrets"
    """Receive released secrets (the ``secrets`` channel and its webhooks)."""
    WEBHOOKS = "webhooks"
    """Register and manage webhook endpoints."""
    ADMIN = "admin"
    """Operator routes: keys, status changes."""


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    """The public id of the API key (never the key itself)."""
    scopes: frozenset[Scope]
    credential: bytes = field(default=b"", compare=False, repr=False)
    """The SHA-256 of the key it authenticated with (``b""``: unknown): a key whose line
    now holds another digest is not this principal any more."""

    def allows(self, scope: Scope) -> bool:
        return scope in self.scopes or Scope.ADMIN in self.scopes


class Authenticator(Protocol):
    """Turns a presented API key into a principal, or ``None`` when it is unknown."""

    def authenticate(self, api_key: str) -> Principal | None: ...


class KeyLookup(Protocol):
    """What a key is allowed now: how revocation reaches what a key set up earlier
    (WebSocket connections, webhooks)."""

    def current(self, principal: Principal) -> Principal | None:
        """``principal`` as the keys stand now; ``None`` when its key was revoked."""
        ...

    def principal(self, key_id: str) -> Principal | None:
        """The key ``key_id`` as configured now; ``None`` when there is none."""
        ...
