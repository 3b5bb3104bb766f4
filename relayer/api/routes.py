"""Every HTTP and WebSocket route of the relayer, each bound to its handler object."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route, WebSocketRoute

from relayer.api.admin import AdminRoutes
from relayer.api.context import Relayer
from relayer.api.custody import CustodyRoutes
from relayer.api.explorer.routes import explorer_routes
from relayer.api.health import HealthRoutes
from relayer.api.http_metrics import MetricsRoute
from relayer.api.openapi import OpenAPIRoute
from relayer.api.orders import OrderRoutes
from relayer.api.quote import QuoteRoutes
from relayer.api.request_id import bind_order_hash
from relayer.api.settlement import SettlementRoutes, settlement_routes
from relayer.api.webhooks import WebhookRoutes
from relayer.api.ws.endpoint import WebSocketEndpoint
from relayer.security.keys import KeyRegistry
from relayer.settlement.coordinator import Coordinator
from relayer.settlement.custody import CustodyKeyring
from relayer.webhooks.component import Webhooks


def routes(relayer: Relayer, *, coordinator: Coordinator, webhooks: Webhooks,
           keys: KeyRegistry, custody: CustodyKeyring,
           websocket: WebSocketEndpoint) -> list[BaseRoute]:
    """The route table; each route knows which path parameter is an order hash."""
    orders = OrderRoutes(desk=relayer.desk, chains=relayer.chains, clock=relayer.clock,
                         base_fee=relayer.base_fee, renderer=relayer.renderer)
    quote = QuoteRoutes(chains=relayer.chains, settings=relayer.settings.quote,
                        prices=relayer.prices, clock=relayer.clock)
    health = HealthRoutes(relayer)
    hooks = WebhookRoutes(webhooks)
    admin = AdminRoutes(keys)
    table: list[BaseRoute] = [
        Route("/api/orders", orders.submit, methods=["POST"]),
        Route("/api/orders", orders.list, methods=["GET"]),
        Route("/api/orders/maker/{address}", orders.by_maker, methods=["GET"]),
        Route("/api/orders/{order_hash}", orders.get, methods=["GET"]),
        Route("/api/orders/{order_hash}", orders.cancel, methods=["DELETE"]),
        Route("/api/orders/{order_hash}/auction", orders.auction, methods=["GET"]),
        *settlement_routes(SettlementRoutes(coordinator, relayer.desk)),
        Route("/api/quote", quote.quote, methods=["GET"]),
        Route("/api/webhooks", hooks.register, methods=["POST"]),
        Route("/api/webhooks", hooks.list, methods=["GET"]),
        Route("/api/webhooks/{id}", hooks.get, methods=["GET"]),
        Route("/api/webhooks/{id}", hooks.delete, methods=["DELETE"]),
        Route("/api/webhooks/{id}/deliveries", hooks.deliveries, methods=["GET"]),
        Route("/api/custody/keys", CustodyRoutes(custody).keys, methods=["GET"]),
        Route("/health/live", health.live, methods=["GET"]),
        Route("/health/ready", health.ready, methods=["GET"]),
        Route("/health", health.status, methods=["GET"]),
        Route("/api/admin/keys", admin.list_keys, methods=["GET"]),
        Route("/api/admin/keys/reload", admin.reload_keys, methods=["POST"]),
        Route("/metrics", MetricsRoute(relayer.metrics, relayer.store).endpoint,
              methods=["GET"]),
        *explorer_routes(relayer, coordinator),
        Route("/openapi.json", OpenAPIRoute(
            relayer.chains, max_parts=relayer.settings.quote.max_parts).endpoint,
            methods=["GET"]),
        WebSocketRoute("/ws", websocket),
    ]
    bind_order_hash(table)
    return table
