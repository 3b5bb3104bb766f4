"""``GET /api/custody/keys``: the keys a maker may seal its secrets to."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from relayer.settlement.custody import CustodyKeyring


class CustodyKeyView(msgspec.Struct):
    key_id: str
    """X25519 public key, 0x hex: seal each secret to it (a libsodium sealed box)."""
    active: bool
    """Seal new orders' secrets to the active key; the others still open older ones."""


class CustodyKeys(msgspec.Struct):
    keys: list[CustodyKeyView]


class CustodyRoutes:
    def __init__(self, keyring: CustodyKeyring) -> None:
        body = CustodyKeys([CustodyKeyView(k.key_id, k.active) for k in keyring.keys()])
        self._body = msgspec.json.encode(body)

    async def keys(self, request: Request) -> Response:
        return Response(self._body, media_type="application/json")
