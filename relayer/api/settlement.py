"""Settlement routes: fills and why a secret is withheld, secrets, public actions.

Released secrets go only to callers whose API key holds the ``secrets`` scope,
as on the WebSocket ``secrets`` channel: ``GET .../secrets`` refuses anyone
else, and ``GET /api/actions/public`` lists its actions to everyone but fills in
the secret of a public withdraw only for such callers. Posting a secret needs
no key (the maker proves it by its hash) and answers only that secret.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relayer.api.auth import principal_of, require
from relayer.api.requests import read_json
from relayer.orders.desk import OrderDesk
from relayer.orders.wire import Hex32
from relayer.public.fills import (
    FillList,
    PublicActionList,
    PublicActionView,
    SecretList,
    SecretView,
    escrow_view,
    fill_view,
)
from relayer.security.principal import Scope
from relayer.settlement.coordinator import Coordinator
from relayer.settlement.fills import FillStatus

_JSON = "application/json"
_encoder = msgspec.json.Encoder()


class SecretWire(msgspec.Struct, forbid_unknown_fields=True):
    idx: Annotated[int, Meta(ge=0, le=1 << 16)]
    secret: Hex32


class SettlementRoutes:
    def __init__(self, coordinator: Coordinator, desk: OrderDesk) -> None:
        self._coordinator = coordinator
        self._desk = desk
        self._secret = msgspec.json.Decoder(SecretWire)

    def _order_hash(self, request: Request) -> str:
        return self._desk.get(request.path_params["order_hash"]).order_hash

    async def fills(self, request: Request) -> Response:
        order_hash = self._order_hash(request)
        fills = [fill_view(f) for f in self._coordinator.fills(order_hash)]
        return Response(_encoder.encode(FillList(order_hash, fills)), media_type=_JSON)

    async def ready(self, request: Request) -> Response:
        order_hash = self._order_hash(request)
        fills = [fill_view(f) for f in self._coordinator.fills(order_hash)
                 if f.status is FillStatus.READY]
        return Response(_encoder.encode(FillList(order_hash, fills)), media_type=_JSON)

    async def submit_secret(self, request: Request) -> Response:
        order_hash = self._order_hash(request)
        wire = await read_json(request, self._secret)
        await self._coordinator.accept_secret(order_hash, wire.idx,
                                              bytes.fromhex(wire.secret[2:]))
        # Only the secret the caller just proved: the order's others may not be public.
        return self._secrets(order_hash, only=wire.idx)

    async def secrets(self, request: Request) -> Response:
        require(request, Scope.SECRETS)
        return self._secrets(self._order_hash(request))

    def _secrets(self, order_hash: str, *, only: int | None = None) -> Response:
        views = [SecretView(idx=event.secret_index, secret="0x" + secret.hex(),
                            secret_hash=event.secret_hash, fill_id=event.fill_id,
                            source=event.source, released_at=event.at)
                 for event, secret in self._coordinator.released_secrets(order_hash)
                 if only is None or event.secret_index == only]
        return Response(_encoder.encode(SecretList(order_hash, views)), media_type=_JSON)

    async def public_actions(self, request: Request) -> Response:
        principal = principal_of(request)
        with_secrets = principal is not None and principal.allows(Scope.SECRETS)
        views = []
        for fill, action, state in self._coordinator.public_actions():
            secret = None
            if with_secrets and action == "public_withdraw":
                secret = self._released(fill.order_hash, fill.secret_index)
            escrow = escrow_view(state)
            assert escrow is not None
            views.append(PublicActionView(action=action, order_hash=fill.order_hash,
                                          fill_id=fill.fill_id, escrow=escrow,
                                          secret=secret))
        return Response(_encoder.encode(PublicActionList(views)), media_type=_JSON)

    def _released(self, order_hash: str, index: int) -> str | None:
        for event, opened in self._coordinator.released_secrets(order_hash):
            if event.secret_index == index:
                return "0x" + opened.hex()
        return None


def settlement_routes(r: SettlementRoutes) -> list[Route]:
    return [
        Route("/api/orders/{order_hash}/fills", r.fills, methods=["GET"]),
        Route("/api/orders/{order_hash}/ready-to-accept-secret-fills", r.ready,
              methods=["GET"]),
        Route("/api/orders/{order_hash}/secrets", r.submit_secret, methods=["POST"]),
        Route("/api/orders/{order_hash}/secrets", r.secrets, methods=["GET"]),
        Route("/api/actions/public", r.public_actions, methods=["GET"]),
    ]
