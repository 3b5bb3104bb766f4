"""The identity an authenticated request or WebSocket connection carries."""

from __future__ import annotations

from dataclasses import dataclass
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

    def allows(self, scope: Scope) -> bool:
        return scope in self.scopes or Scope.ADMIN in self.scopes


class Authenticator(Protocol):
    """Turns a presented API key into a principal, or ``None`` when it is unknown."""

    def authenticate(self, api_key: str) -> Principal | None: ...
