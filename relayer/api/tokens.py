"""``GET /api/tokens``: every configured asset with its symbol and decimals.

Amounts in the API are integers in base units; this is what a client needs to
show them in human units (the explorer does, with string arithmetic only).
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from relayer.networks.registry import ChainRegistry


class TokenView(msgspec.Struct):
    chain: str
    symbol: str
    id: str
    """The asset id orders and escrows name it by: an EIP-55 address, ``lovelace`` or
    ``policy.name``."""
    decimals: int
    """Base units per whole token: 10 ** decimals."""


class TokenList(msgspec.Struct):
    tokens: list[TokenView]


class TokenRoutes:
    def __init__(self, chains: ChainRegistry) -> None:
        tokens = [TokenView(chain=name, symbol=asset.symbol, id=asset.id,
                            decimals=asset.decimals)
                  for name in chains.names()
                  for asset in chains.get(name, field="chain").assets.values()]
        self._body = msgspec.json.encode(TokenList(tokens))

    async def tokens(self, request: Request) -> Response:
        return Response(self._body, media_type="application/json")
