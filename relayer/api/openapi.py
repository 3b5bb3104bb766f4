"""OpenAPI 3.1 document, with JSON schemas generated from the same structs the API uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from relayer import __version__
from relayer.api.admin import KeyList, KeysReloaded
from relayer.api.custody import CustodyKeys
from relayer.api.errors import ErrorBody
from relayer.api.quote import QuoteView
from relayer.api.settlement import FillList, PublicActionList, SecretList, SecretWire
from relayer.api.tokens import TokenList
from relayer.api.views import OrderList, OrderView, PriceView, SubmitResult
from relayer.explorer.curve import MAX_SAMPLES, CurveView
from relayer.explorer.timeline import OrderTimeline
from relayer.orders.status import OrderStatus
from relayer.orders.wire import CancelWire, OrderSubmissionWire
from relayer.security.principal import Scope
from relayer.webhooks.wire import (
    DeliveryList,
    WebhookCreated,
    WebhookList,
    WebhookRequest,
    WebhookView,
)

_REF = "#/components/schemas/{name}"
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "Authorization: Bearer <API key> (docs/security.md; HMAC-signed"
                              " X-Relayer-* headers are accepted wherever a key is)"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}


class HealthStatus(msgspec.Struct):
    status: str


class Readiness(msgspec.Struct):
    status: str
    reasons: list[str]


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    summary: str
    response: type[Any]
    status: int = 200
    request: type[Any] | None = None
    params: list[dict[str, Any]] = field(default_factory=list)
    errors: tuple[int, ...] = (400,)
    media_type: str = "application/json"
    scope: Scope | None = None
    """The API key scope the route needs; ``None``: open to anonymous callers."""
    anonymous_too: bool = False
    """With ``scope``: anonymous callers (and keys without it) are served too, with less."""

    def security(self) -> list[dict[str, list[str]]] | None:
        if self.scope is None:
            return None
        keyed = [{name: [self.scope.value]} for name in SECURITY_SCHEMES]
        return [{}, *keyed] if self.anonymous_too else keyed


def _q(name: str, description: str, schema: dict[str, Any] | None = None,
       required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": schema or {"type": "string"}}


def _p(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string"}}


_HASH = _p("order_hash", "order hash, 0x and 64 hex digits")
_FILTERS = [
    _q("status", "comma-separated statuses: " + ", ".join(s.value for s in OrderStatus)),
    _q("src_chain", "source chain name"),
    _q("dst_chain", "destination chain name"),
    _q("maker", "maker address on the source chain"),
    _q("maker_asset", "source asset id or symbol"),
    _q("taker_asset", "destination asset id or symbol"),
    _q("cursor", "next_cursor of the previous page"),
    _q("limit", "page size", {"type": "integer", "minimum": 1, "maximum": 500, "default": 100}),
]

OPERATIONS = [
    Operation("post", "/api/orders", "Submit a signed order", SubmitResult, status=201,
              request=OrderSubmissionWire, errors=(400, 409, 413, 415)),
    Operation("get", "/api/orders", "List orders, oldest first, with current prices",
              OrderList, params=_FILTERS),
    Operation("get", "/api/orders/maker/{address}", "List one maker's orders", OrderList,
              params=[_p("address", "maker address"), *_FILTERS]),
    Operation("get", "/api/orders/{order_hash}", "Read one order", OrderView, params=[_HASH],
              errors=(404,)),
    Operation("delete", "/api/orders/{order_hash}", "Cancel an order (maker-signed)",
              SubmitResult, request=CancelWire, params=[_HASH], errors=(400, 404, 409, 413)),
    Operation("get", "/api/orders/{order_hash}/auction", "The order's price at a time",
              PriceView, params=[_HASH, _q("at", "unix seconds (default now)",
                                           {"type": "integer", "minimum": 0})],
              errors=(400, 404)),
    Operation("get", "/api/quote", "Auction presets for a swap", QuoteView, params=[
        _q("src_chain", "source chain", required=True),
        _q("dst_chain", "destination chain", required=True),
        _q("src_token", "source asset id or symbol", required=True),
        _q("dst_token", "destination asset id or symbol", required=True),
        _q("amount", "making amount in base units (decimal string)", required=True),
        _q("parts", "number of parts for partial fills", {"type": "integer", "minimum": 1}),
    ]),
    Operation("get", "/api/custody/keys", "Keys to seal secrets to for custody mode",
              CustodyKeys, errors=()),
    Operation("get", "/api/tokens", "Every configured asset: chain, symbol, id, decimals",
              TokenList, errors=()),
    Operation("get", "/api/orders/{order_hash}/curve", "The order's auction curve sampled by"
              " the server: start, points, floor, gas adjustment, now", CurveView,
              params=[_HASH, _q("samples", "evenly spaced steps between start and end",
                                {"type": "integer", "minimum": 1, "maximum": MAX_SAMPLES,
                                 "default": 120})], errors=(400, 404)),
    Operation("get", "/api/orders/{order_hash}/timeline", "Each fill's escrows on both"
              " chains: transactions, confirmations, time locks, status history and the"
              " rules holding the secret back (never the secret)", OrderTimeline,
              params=[_HASH], errors=(404,)),
    Operation("get", "/", "The explorer: the live order book (HTML, docs/explorer.md)", str,
              errors=(), media_type="text/html"),
    Operation("get", "/orders/{order_hash}", "The explorer: one order's curve and escrows"
              " (HTML; 404 for an unknown order)", str, params=[_HASH], errors=(),
              media_type="text/html"),
    Operation("get", "/explorer/{name}", "The explorer's scripts, styles and chart library",
              str, params=[_p("name", "file name")], errors=(404,), media_type="text/*"),
    Operation("get", "/api/orders/{order_hash}/fills", "The order's fills, each with its"
              " status and why its secret is withheld (docs/settlement.md)", FillList,
              params=[_HASH], errors=(404,)),
    Operation("get", "/api/orders/{order_hash}/ready-to-accept-secret-fills",
              "Fills whose every reveal rule holds: post their secrets", FillList,
              params=[_HASH], errors=(404,)),
    Operation("post", "/api/orders/{order_hash}/secrets", "Hand over a secret for a ready"
              " fill (no key: the secret proves itself by its hash); answers that secret"
              " once released", SecretList, request=SecretWire,
              params=[_HASH], errors=(400, 404, 409, 413, 415)),
    Operation("get", "/api/orders/{order_hash}/secrets", "The order's released secrets"
              " (secrets scope)", SecretList, params=[_HASH], errors=(401, 403, 404, 429),
              scope=Scope.SECRETS),
    Operation("get", "/api/actions/public", "Public withdraw and cancel actions any resolver"
              " may perform now; a withdraw's secret only with the secrets scope",
              PublicActionList, errors=(401, 429), scope=Scope.SECRETS, anonymous_too=True),
    Operation("get", "/health/live", "Liveness", HealthStatus, errors=()),
    Operation("get", "/health/ready", "Readiness", Readiness, errors=(503,)),
    Operation("get", "/api/admin/keys", "List API keys (admin scope; never the keys)",
              KeyList, errors=(401, 403, 429), scope=Scope.ADMIN),
    Operation("post", "/api/admin/keys/reload", "Re-read the API keys file (admin scope)",
              KeysReloaded, errors=(401, 403, 429, 500), scope=Scope.ADMIN),
    Operation("get", "/metrics", "Prometheus metrics (docs/metrics.md)", str, errors=(),
              media_type="text/plain"),
    Operation("post", "/api/webhooks", "Register a webhook endpoint (webhooks scope); the"
              " signing secret is shown once", WebhookCreated, status=201,
              request=WebhookRequest, errors=(400, 401, 403, 409, 413, 415, 429),
              scope=Scope.WEBHOOKS),
    Operation("get", "/api/webhooks", "The caller's webhooks (webhooks scope)", WebhookList,
              errors=(401, 403, 429), scope=Scope.WEBHOOKS),
    Operation("get", "/api/webhooks/{id}", "One of the caller's webhooks", WebhookView,
              params=[_p("id", "webhook id")], errors=(401, 403, 404, 429),
              scope=Scope.WEBHOOKS),
    Operation("delete", "/api/webhooks/{id}", "Delete a webhook; its pending deliveries stop",
              WebhookView, params=[_p("id", "webhook id")], errors=(401, 403, 404, 409, 429),
              scope=Scope.WEBHOOKS),
    Operation("get", "/api/webhooks/{id}/deliveries", "A webhook's deliveries, newest first,"
              " with every attempt", DeliveryList, params=[
                  _p("id", "webhook id"),
                  _q("status", "pending, delivered or failed"),
                  _q("cursor", "next_cursor of the previous page"),
                  _q("limit", "page size",
                     {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}),
              ], errors=(400, 401, 403, 404, 429), scope=Scope.WEBHOOKS),
]


def build_document() -> dict[str, Any]:
    types = {op.response for op in OPERATIONS} | {op.request for op in OPERATIONS if op.request}
    types.add(ErrorBody)
    (schemas_list, components) = msgspec.json.schema_components(
        sorted(types, key=lambda t: t.__name__), ref_template=_REF)
    by_type = dict(zip(sorted(types, key=lambda t: t.__name__), schemas_list, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        responses: dict[str, Any] = {
            str(op.status): {"description": "success",
                             "content": {op.media_type: {"schema": by_type[op.response]}}},
        }
        for status in op.errors:
            responses[str(status)] = {
                "description": "error",
                "content": {"application/json": {"schema": by_type[ErrorBody]}},
            }
        operation: dict[str, Any] = {"summary": op.summary, "parameters": op.params,
                                     "responses": responses}
        if (security := op.security()) is not None:
            operation["security"] = security
        if op.request is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": by_type[op.request]}},
            }
        paths.setdefault(op.path, {})[op.method] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "relayer", "version": __version__,
                 "description": "Cross-chain Dutch-auction relayer (Ethereum <-> Cardano)."},
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": SECURITY_SCHEMES},
    }


class OpenAPIRoute:
    def __init__(self) -> None:
        self._body = msgspec.json.encode(build_document())

    async def endpoint(self, request: Request) -> Response:
        return Response(self._body, media_type="application/json")
