"""Operator routes, for API keys holding the ``admin`` scope."""

from __future__ import annotations

import msgspec
import structlog
from starlette.requests import Request
from starlette.responses import Response

from relayer.api.auth import require
from relayer.security.keys import KeyRegistry
from relayer.security.principal import Scope

log = structlog.get_logger(__name__)


class KeyView(msgspec.Struct):
    key_id: str
    scopes: list[str]
    signing: bool
    """The key may sign requests (its line carries a signing secret)."""
    note: str


class KeyList(msgspec.Struct):
    keys: list[KeyView]
    source: str | None
    """The file the keys were read from, ``None`` when none is configured."""


class KeysReloaded(msgspec.Struct):
    keys: int


class AdminRoutes:
    def __init__(self, keys: KeyRegistry) -> None:
        self._keys = keys

    async def list_keys(self, request: Request) -> Response:
        require(request, Scope.ADMIN)
        body = KeyList(
            keys=[KeyView(key_id=k.key_id, scopes=sorted(s.value for s in k.scopes),
                          signing=k.signing_secret is not None, note=k.note)
                  for k in self._keys.keys()],
            source=self._keys.source,
        )
        return Response(msgspec.json.encode(body), media_type="application/json")

    async def reload_keys(self, request: Request) -> Response:
        """Re-read the keys file: rotate or revoke keys without a restart. A bad file
        leaves the keys in force unchanged (``CONFIG_ERROR``)."""
        principal = require(request, Scope.ADMIN)
        count = self._keys.reload()
        log.info("api_keys_reloaded", keys=count, by=principal.key_id)
        return Response(msgspec.json.encode(KeysReloaded(keys=count)),
                        media_type="application/json")
