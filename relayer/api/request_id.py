"""Request context: an id for every request, bound to its log lines, and one access line.

The id comes from the client's ``X-Request-ID`` when it is a sane token (so a
proxy's id follows the request through), else a new one; it is echoed in the
response and bound with structlog's contextvars for everything logged while
the request runs. Routes with an ``{order_hash}`` also bind the order hash.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Sequence
from typing import Any

import structlog
from starlette.datastructures import Headers
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relayer.api.auth import PRINCIPAL_KEY
from relayer.api.http_metrics import route_template
from relayer.security.principal import Principal
from relayer.types import canonical_order_hash

HEADER = "X-Request-ID"
_HEADER_RAW = b"x-request-id"
REQUEST_ID_KEY = "relayer.request_id"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

log = structlog.get_logger(__name__)


_READS = frozenset({"GET", "HEAD", "OPTIONS"})


def _enabled(logger: Any, level: int) -> bool:
    """False when ``level`` is filtered out, so the access line is not even built."""
    check = getattr(logger, "is_enabled_for", None)
    return True if check is None else bool(check(level))


def request_id_from(headers: Headers) -> str:
    offered = headers.get(HEADER.lower(), "")
    return offered if _SANE_ID.match(offered) else os.urandom(16).hex()


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp, *, routes: Sequence[BaseRoute] = (),
                 access_log: bool = True, quiet_reads: bool = False) -> None:
        """``quiet_reads`` (``log.access = "changes"``): successful reads are logged at
        debug, so health checks and polling clients do not fill the log."""
        self.app = app
        self._routes = routes
        self._access_log = access_log
        self._quiet_reads = quiet_reads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(Headers(scope=scope))
        scope[REQUEST_ID_KEY] = request_id
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # A new list: a response object's own header list is never mutated.
                message["headers"] = [*message.get("headers", ()), (_HEADER_RAW, raw_id)]
            await send(message)

        raw_id = request_id.encode("latin-1")
        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self._access_log and scope["type"] == "http":
                quiet = self._quiet_reads and scope["method"] in _READS and status < 400
                level = logging.DEBUG if quiet else logging.INFO
                if _enabled(log, level):
                    self._log(scope, status, time.perf_counter() - started, level)
            structlog.contextvars.reset_contextvars(**tokens)

    def _log(self, scope: Scope, status: int, seconds: float, level: int) -> None:
        principal = scope.get(PRINCIPAL_KEY)
        fields = {
            "method": scope["method"],
            "route": route_template(scope, self._routes),
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
        }
        if isinstance(principal, Principal):
            fields["key_id"] = principal.key_id
        order_hash = scope.get("path_params", {}).get("order_hash")
        if order_hash is not None:
            fields["order_hash"] = order_hash
        log.log(level, "http_request", **fields)


class _BindOrderHash:
    """Makes the matched route's ``order_hash`` canonical and binds it to the route's own
    log lines."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        params = scope.get("path_params", {})
        order_hash = params.get("order_hash")
        if order_hash is None:
            await self.app(scope, receive, send)
            return
        # The wire boundary: every handler behind it reads the canonical spelling.
        order_hash = params["order_hash"] = canonical_order_hash(order_hash)
        with structlog.contextvars.bound_contextvars(order_hash=order_hash):
            await self.app(scope, receive, send)


def bind_order_hash(routes: Sequence[BaseRoute]) -> None:
    """Make every route whose path names ``{order_hash}`` read it canonical and bind it
    to its log lines."""
    for route in routes:
        if isinstance(route, Route) and "{order_hash}" in route.path:
            route.app = _BindOrderHash(route.app)
