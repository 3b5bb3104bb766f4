"""OpenAPI 3.1 document, with JSON schemas generated from the same structs the API uses.

Parameters say what the server enforces: chain names and assets as enums of the
configured ones, integer ranges, lengths and patterns (hashes, addresses, ids),
so a request the document calls valid is not refused for its shape. Rules that
span several parameters or need the server's state (a token of the named chain,
an order that exists, a signature) cannot be said in JSON Schema; those refusals
are 400 with their own ``error_code`` (docs/api.md). Every operation lists the
refusals any request may meet: 401 (a presented key that is not valid), 414, 431
(``[limits]``), 429 on rate-limited routes.
"""

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
from relayer.api.explorer.curve import MAX_SAMPLES, CurveView
from relayer.api.explorer.timeline import OrderTimeline
from relayer.api.quote import QuoteView
from relayer.api.settlement import SecretWire
from relayer.api.tokens import TokenList
from relayer.networks.registry import ChainRegistry
from relayer.orders.status import OrderStatus
from relayer.orders.wire import CancelWire, OrderSubmissionWire
from relayer.public.fills import FillList, PublicActionList, SecretList
from relayer.public.views import OrderList, OrderView, PriceView, SubmitResult
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
            "schema": schema or {"type": "string", "maxLength": 128}}


def _p(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": schema or {"type": "string", "maxLength": 128}}


UNIX_MAX = (1 << 32) - 1
HASH_PATTERN = "^0x[0-9a-fA-F]{64}$"
ADDRESS_PATTERN = "^(0x[0-9a-fA-F]{40}|addr(_test)?1[02-9ac-hj-np-z]{53,110})$"
"""An Ethereum address (mixed case must carry its EIP-55 checksum) or a Cardano payment
address in bech32 (its checksum, type and network are checked by the server)."""
STATUS_NAMES = "|".join(s.value for s in OrderStatus)
CHAINS_PLACEHOLDER = "{chains}"
ASSETS_PLACEHOLDER = "{assets}"

_HASH = {**_p("order_hash", "order hash, 0x and 64 hex digits",
              {"type": "string", "pattern": HASH_PATTERN}), "example": "0x" + "ab" * 32}
_ADDRESS = {"type": "string", "pattern": ADDRESS_PATTERN, "maxLength": 128}
_CHAIN = {"type": "string", "enum": [CHAINS_PLACEHOLDER]}
_ASSET = {"type": "string", "enum": [ASSETS_PLACEHOLDER]}
_CURSOR = {"type": "string", "pattern": "^[A-Za-z0-9_-]{0,32}$",
           "description": "opaque; a next_cursor this API returned (empty: the start)"}
_WEBHOOK_ID = _p("id", "webhook id", {"type": "string", "pattern": "^wh_[0-9a-f]{24}$"})
_FILTERS = [
    _q("status", "comma-separated statuses: " + ", ".join(s.value for s in OrderStatus),
       {"type": "string", "maxLength": 200,
        "pattern": f"^(({STATUS_NAMES})?)(,({STATUS_NAMES})?)*$"}),
    _q("src_chain", "source chain name", _CHAIN),
    _q("dst_chain", "destination chain name", _CHAIN),
    _q("maker", "maker address on the source chain", _ADDRESS),
    _q("maker_asset", "source asset id or symbol (of src_chain when given)", _ASSET),
    _q("taker_asset", "destination asset id or symbol (of dst_chain when given)", _ASSET),
    _q("cursor", "next_cursor of the previous page", _CURSOR),
    {**_q("limit", "page size",
          {"type": "integer", "minimum": 1, "maximum": 500, "default": 100}), "example": 50},
]

OPERATIONS = [
    Operation("post", "/api/orders", "Submit a signed order", SubmitResult, status=201,
              request=OrderSubmissionWire, errors=(400, 409, 413, 415)),
    Operation("get", "/api/orders", "List orders, oldest first, with current prices",
              OrderList, params=_FILTERS),
    Operation("get", "/api/orders/maker/{address}", "List one maker's orders", OrderList,
              params=[_p("address", "maker address", _ADDRESS), *_FILTERS]),
    Operation("get", "/api/orders/{order_hash}", "Read one order", OrderView, params=[_HASH],
              errors=(404,)),
    Operation("delete", "/api/orders/{order_hash}", "Cancel an order (maker-signed)",
              SubmitResult, request=CancelWire, params=[_HASH], errors=(400, 404, 409, 413)),
    Operation("get", "/api/orders/{order_hash}/auction", "The order's price at a time",
              PriceView, params=[_HASH, _q("at", "unix seconds (default now)",
                                           {"type": "integer", "minimum": 0,
                                            "maximum": UNIX_MAX})],
              errors=(400, 404)),
    Operation("get", "/api/quote", "Auction presets for a swap", QuoteView, params=[
        {**_q("src_chain", "source chain", _CHAIN, required=True), "example": "ethereum"},
        {**_q("dst_chain", "destination chain (not src_chain)", _CHAIN, required=True),
         "example": "cardano"},
        {**_q("src_token", "source asset id or symbol, of src_chain", _ASSET, required=True),
         "example": "ETH"},
        {**_q("dst_token", "destination asset id or symbol, of dst_chain", _ASSET,
              required=True), "example": "ADA"},
        {**_q("amount", "making amount in base units (decimal string, within the source "
              "chain's range)", {"type": "string", "pattern": "^[1-9][0-9]{0,77}$"},
              required=True), "example": "1000000000000000000"},
        _q("parts", "number of parts for partial fills",
           {"type": "integer", "minimum": 1, "maximum": "{max_parts}"}),
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
              " (HTML; 404 for an unknown order)", str, params=[_HASH], errors=(404,),
              media_type="text/html"),
    Operation("get", "/explorer/{name}", "The explorer's scripts, styles and chart library",
              str, params=[_p("name", "file name", {"type": "string", "maxLength": 64,
                                                    "pattern": "^[A-Za-z0-9._-]+$"})],
              errors=(404,), media_type="text/*"),
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
              params=[_WEBHOOK_ID], errors=(401, 403, 404, 429),
              scope=Scope.WEBHOOKS),
    Operation("delete", "/api/webhooks/{id}", "Delete a webhook; its pending deliveries stop",
              WebhookView, params=[_WEBHOOK_ID], errors=(401, 403, 404, 409, 429),
              scope=Scope.WEBHOOKS),
    Operation("get", "/api/webhooks/{id}/deliveries", "A webhook's deliveries, newest first,"
              " with every attempt", DeliveryList, params=[
                  _WEBHOOK_ID,
                  _q("status", "pending, delivered or failed",
                     {"type": "string", "enum": ["pending", "delivered", "failed"]}),
                  _q("cursor", "next_cursor of the previous page", _CURSOR),
                  _q("limit", "page size",
                     {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}),
              ], errors=(400, 401, 403, 404, 429), scope=Scope.WEBHOOKS),
]


def _resolve(value: Any, substitutions: dict[str, Any]) -> Any:
    """``value`` with the placeholders the configuration fills in replaced."""
    if isinstance(value, dict):
        return {key: _resolve(item, substitutions) for key, item in value.items()}
    if isinstance(value, list):
        if len(value) == 1 and isinstance(value[0], str) and value[0] in substitutions:
            found: list[str] = substitutions[value[0]]
            return list(found)
        return [_resolve(item, substitutions) for item in value]
    if isinstance(value, str) and value in substitutions:
        return substitutions[value]
    return value


def common_errors(op: Operation) -> tuple[int, ...]:
    """What any request to ``op`` may be answered besides its own errors: 401 (a key
    presented and not valid, on every route), 414 and 431 (``[limits]``), 429 where the
    rate limit applies, 503 where the route writes to the store."""
    found = [401, 414, 431]
    if op.path.startswith("/api/"):
        found.append(429)
    if op.method in ("post", "delete"):
        found.append(503)
    return tuple(found)


def build_document(chains: ChainRegistry | None = None, *, max_parts: int = 64
                   ) -> dict[str, Any]:
    """The document for a relayer with these ``chains`` (default: the default
    configuration's) and ``quote.max_parts``."""
    if chains is None:
        from relayer.config import Settings

        chains = ChainRegistry.from_settings(Settings().chains)
    names = chains.names()
    assets = sorted({text for name in names
                     for asset in chains.get(name, field="chains").assets.values()
                     for text in (asset.symbol, asset.id)})
    substitutions: dict[str, Any] = {CHAINS_PLACEHOLDER: names, ASSETS_PLACEHOLDER: assets,
                                     "{max_parts}": max_parts}
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
        for status in sorted({*op.errors, *common_errors(op)}):
            page = op.media_type == "text/html" and status in op.errors
            responses[str(status)] = {
                "description": "error",
                "content": ({"text/html": {"schema": {"type": "string"}}} if page else
                            {"application/json": {"schema": by_type[ErrorBody]}}),
            }
        operation: dict[str, Any] = {"summary": op.summary,
                                     "parameters": _resolve(op.params, substitutions),
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
    def __init__(self, chains: ChainRegistry | None = None, *, max_parts: int = 64) -> None:
        self._body = msgspec.json.encode(build_document(chains, max_parts=max_parts))

    async def endpoint(self, request: Request) -> Response:
        return Response(self._body, media_type="application/json")
