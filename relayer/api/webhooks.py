"""Webhook routes: register, list, read, delete, and the record of deliveries.

Every route needs an API key with the ``webhooks`` scope; a key sees and
manages only the webhooks it registered (another key's id is not found).
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from relayer.api.auth import require
from relayer.api.requests import int_param, read_json, str_param
from relayer.public.views import decode_cursor, encode_cursor
from relayer.security.principal import Scope
from relayer.webhooks.component import Webhooks
from relayer.webhooks.dispatcher import parse_status
from relayer.webhooks.model import Delivery, Webhook
from relayer.webhooks.wire import (
    AttemptView,
    DeliveryList,
    DeliveryView,
    WebhookCreated,
    WebhookList,
    WebhookRequest,
    WebhookView,
)

_request = msgspec.json.Decoder(WebhookRequest)
_encoder = msgspec.json.Encoder()
_JSON = "application/json"
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class WebhookRoutes:
    def __init__(self, webhooks: Webhooks) -> None:
        self._webhooks = webhooks

    async def register(self, request: Request) -> Response:
        principal = require(request, Scope.WEBHOOKS)
        wire = await read_json(request, _request)
        registration = self._webhooks.rules.check(wire, principal)
        webhook, secret = await self._webhooks.registry.register(principal.key_id, registration)
        body = _encoder.encode(WebhookCreated(webhook=self._view(webhook), secret=secret))
        return Response(body, status_code=201, media_type=_JSON,
                        headers={"Location": f"/api/webhooks/{webhook.webhook_id}",
                                 "Cache-Control": "no-store"})

    async def list(self, request: Request) -> Response:
        principal = require(request, Scope.WEBHOOKS)
        webhooks = self._webhooks.registry.owned_by(principal.key_id)
        body = _encoder.encode(WebhookList(webhooks=[self._view(w) for w in webhooks]))
        return Response(body, media_type=_JSON)

    async def get(self, request: Request) -> Response:
        principal = require(request, Scope.WEBHOOKS)
        webhook = self._webhooks.registry.get(principal.key_id, request.path_params["id"])
        return Response(_encoder.encode(self._view(webhook)), media_type=_JSON)

    async def delete(self, request: Request) -> Response:
        principal = require(request, Scope.WEBHOOKS)
        webhook = await self._webhooks.registry.delete(principal.key_id,
                                                       request.path_params["id"])
        return Response(_encoder.encode(self._view(webhook, status="deleted")),
                        media_type=_JSON)

    async def deliveries(self, request: Request) -> Response:
        principal = require(request, Scope.WEBHOOKS)
        webhook = self._webhooks.registry.get(principal.key_id, request.path_params["id"])
        status = parse_status(str_param(request, "status"))
        limit = int_param(request, "limit", default=DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)
        cursor = str_param(request, "cursor")
        before = decode_cursor(cursor) if cursor else None
        page: list[Delivery] = []
        more = False
        for delivery in self._webhooks.dispatcher.deliveries(webhook.webhook_id, status=status,
                                                             before=before):
            if len(page) == limit:
                more = True
                break
            page.append(delivery)
        next_cursor = encode_cursor(page[-1].seq) if more else None
        body = _encoder.encode(DeliveryList(deliveries=[_delivery_view(d) for d in page],
                                            next_cursor=next_cursor))
        return Response(body, media_type=_JSON)

    def _view(self, webhook: Webhook, status: str = "active") -> WebhookView:
        filters = webhook.filters
        return WebhookView(
            id=webhook.webhook_id, url=webhook.url, events=sorted(filters.events),
            chains=sorted(filters.chains), makers=sorted(filters.makers),
            description=webhook.description, created_at=webhook.created_at, status=status,
            pending_deliveries=self._webhooks.dispatcher.pending_count(webhook.webhook_id))


def _delivery_view(delivery: Delivery) -> DeliveryView:
    last = delivery.last
    return DeliveryView(
        id=delivery.delivery_id, webhook_id=delivery.webhook_id, event=delivery.event,
        order_hash=delivery.order_hash, status=str(delivery.status),
        created_at=delivery.created_at, attempts=len(delivery.attempts),
        last_status_code=None if last is None else last.status_code,
        last_error="" if last is None else last.error,
        next_attempt_at=delivery.next_attempt_at,
        history=[AttemptView(attempt=a.number, at=a.at, duration_ms=a.duration_ms,
                             status_code=a.status_code, error=a.error)
                 for a in delivery.attempts],
    )
