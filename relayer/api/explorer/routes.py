"""The explorer's routes: its two pages, their files, and the views they read."""

from __future__ import annotations

from starlette.routing import Route

from relayer.api.context import Relayer
from relayer.api.explorer.curve import CurveRoutes
from relayer.api.explorer.pages import ExplorerPages
from relayer.api.explorer.timeline import TimelineRoutes
from relayer.api.tokens import TokenRoutes
from relayer.settlement.coordinator import Coordinator


def explorer_routes(relayer: Relayer, coordinator: Coordinator) -> list[Route]:
    """The explorer's routes over the running relayer's parts."""
    pages = ExplorerPages(relayer.desk.book)
    curve = CurveRoutes(desk=relayer.desk, clock=relayer.clock, base_fee=relayer.base_fee)
    timeline = TimelineRoutes(desk=relayer.desk, coordinator=coordinator, store=relayer.store,
                              chains=relayer.chains, settings=relayer.settings.chains,
                              clock=relayer.clock, monitors=relayer.monitors)
    return [
        Route("/", pages.book, methods=["GET"]),
        Route("/orders/{order_hash}", pages.order, methods=["GET"]),
        Route("/explorer/{name}", pages.asset, methods=["GET"]),
        Route("/api/tokens", TokenRoutes(relayer.chains).tokens, methods=["GET"]),
        Route("/api/orders/{order_hash}/curve", curve.curve, methods=["GET"]),
        Route("/api/orders/{order_hash}/timeline", timeline.timeline, methods=["GET"]),
    ]
