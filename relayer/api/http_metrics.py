"""HTTP metrics: requests and latency by route template, and the ``/metrics`` route."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relayer.errors import StoreError
from relayer.metrics import CONTENT_TYPE, Metrics
from relayer.store.base import EventStore

UNMATCHED = "<unmatched>"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
STORE_PING_TIMEOUT = 2.0


def route_template(scope: Scope, routes: Sequence[BaseRoute]) -> str:
    """The path template that serves (or would serve) the request: never the raw path.

    Requests refused before routing (auth, rate limit) are matched here, so they
    are counted under their route too."""
    route = scope.get("route")
    if route is not None:
        return str(getattr(route, "path", UNMATCHED))
    partial = None
    for candidate in routes:
        match, _ = candidate.matches(scope)
        if match is Match.FULL:
            return str(getattr(candidate, "path", UNMATCHED))
        if match is Match.PARTIAL and partial is None:
            partial = candidate
    return str(getattr(partial, "path", UNMATCHED)) if partial is not None else UNMATCHED


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self._metrics = metrics
        self._routes = routes
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            key = (route_template(scope, self._routes), method, status)
            children = self._children.get(key)
            if children is None:
                children = self._children[key] = (
                    self._metrics.http_requests.labels(route=key[0], method=method,
                                                       status=str(status)),
                    self._metrics.http_duration.labels(route=key[0], method=method))
            children[0].inc()
            children[1].observe(time.perf_counter() - started)


class MetricsRoute:
    """``GET /metrics``: the Prometheus text format, store latency refreshed first."""

    def __init__(self, metrics: Metrics, store: EventStore) -> None:
        self._metrics = metrics
        self._store = store

    async def endpoint(self, request: Request) -> Response:
        try:
            await asyncio.wait_for(self._store.ping(), STORE_PING_TIMEOUT)
        except (StoreError, TimeoutError):
            self._metrics.store_ping.set(-1)
        return Response(self._metrics.render(), media_type=CONTENT_TYPE)
