"""The ASGI endpoint of ``/ws``: handshake checks, then a reader and a writer per client.

A key is presented on the upgrade request like on any request
(``Authorization: Bearer <key>``, ``X-API-Key: <key>`` or the signed
``X-Relayer-*`` headers; the auth middleware checks it and refuses a bad one),
or later with the ``auth`` method. Past ``websocket.max_connections`` the
handshake is refused with HTTP 503 ``TOO_MANY_CONNECTIONS`` (the WebSocket
denial response extension; a server without it closes before accepting, which
clients see as 403).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Any

import structlog
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from relayer.api.auth import PRINCIPAL_KEY, principal_of
from relayer.api.edge import HTTP_PROTOCOL
from relayer.api.ws.connection import Connection
from relayer.api.ws.framing import PROTOCOL, frame_closer, frame_writer, protocol_failure
from relayer.api.ws.hub import Hub
from relayer.api.ws.methods import Methods
from relayer.api.ws.protocol import CLOSE_TOO_BIG
from relayer.api.ws.reads import OrderReads, PriceLookup
from relayer.auction.gas import BaseFeeSource
from relayer.clock import Clock
from relayer.config import LimitSettings, WebSocketSettings
from relayer.events.bus import EventBus
from relayer.lifecycle import Job
from relayer.orders.book import OrderBook
from relayer.public.events import EscrowLookup, PublicEvents
from relayer.public.views import OrderRenderer
from relayer.security.principal import Authenticator, Principal
from relayer.security.ratelimit import FailureLimit

log = structlog.get_logger(__name__)

_CLOSE_SEND_TIMEOUT = 1.0
"""How long a close frame may wait for a blocked socket before we just let go."""


class WebSocketEndpoint:
    def __init__(self, hub: Hub, methods: Methods, authenticator: Authenticator | None) -> None:
        self._hub = hub
        self._methods = methods
        self._authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        websocket: WebSocket = WebSocket(scope, receive, send)
        if self._hub.full():
            await self._deny(websocket, 503, "TOO_MANY_CONNECTIONS",
                             "the server holds its maximum number of WebSocket connections")
            return
        principal: Principal | None = None
        if PRINCIPAL_KEY in scope:
            principal = principal_of(websocket)  # the auth middleware checked the key
        elif (key := presented_key(websocket.headers)) is not None:
            if self._authenticator is not None:
                principal = self._authenticator.authenticate(key)
            if principal is None:
                await self._deny(websocket, 401, "INVALID_API_KEY",
                                 "unknown or revoked API key")
                return
        await websocket.accept()
        client = scope.get("client")
        conn = self._hub.connect(send, principal, frame_writer(scope),
                                 client=client[0] if client else "")
        reader = asyncio.create_task(self._read_loop(scope, receive, conn))
        reader.add_done_callback(lambda _t: conn.end())
        try:
            await conn.finished.wait()
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
            await conn.stop_writing()
            self._hub.disconnect(conn)
        if conn.close_code is not None:
            close_now = frame_closer(scope)
            if close_now is not None:
                # Written even while the client's socket is blocked (behind what it holds).
                close_now(conn.close_code, conn.close_reason)
                return
            message = {"type": "websocket.close", "code": conn.close_code,
                       "reason": conn.close_reason}
            with contextlib.suppress(Exception):
                await asyncio.wait_for(send(message), _CLOSE_SEND_TIMEOUT)

    async def _read_loop(self, scope: Scope, receive: Receive, conn: Connection) -> None:
        limit = self._hub.limits.ws_message_bytes
        handle = self._methods.handle
        while True:
            message = await receive()
            if message["type"] != "websocket.receive":
                # The server refused a message over ws_max_size itself (close 1009); a
                # server without the frames extension only tells by the code.
                failed = protocol_failure(scope)
                if failed == CLOSE_TOO_BIG or (frame_writer(scope) is None
                                               and message.get("code") == CLOSE_TOO_BIG):
                    self._hub.counters.oversized_closed += 1
                conn.end()
                return
            text = message.get("text")
            data: str | bytes = text if text is not None else (message.get("bytes") or b"")
            size = len(data.encode()) if isinstance(data, str) else len(data)
            if size > limit:
                self._hub.counters.oversized_closed += 1
                conn.end(CLOSE_TOO_BIG, f"message over {limit} bytes")
                return
            handle(conn, data)
            if conn.closing:
                return  # e.g. closed for not reading: what it asked for next is dropped
            # ``receive`` does not suspend while messages are waiting: without this, one
            # client's burst of requests (1,000 pages of 500 orders) held the loop 1.3 s.
            await asyncio.sleep(0)

    async def _deny(self, websocket: WebSocket, status: int, code: str, message: str) -> None:
        self._hub.counters.rejected += 1
        if "websocket.http.response" in websocket.scope.get("extensions", {}):
            await websocket.send_denial_response(JSONResponse(
                {"error_code": code, "message": message, "details": {}}, status_code=status))
        else:
            await websocket.close(1013 if status == 503 else 1008, message)


def presented_key(headers: Headers) -> str | None:
    authorization = headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    key = headers.get("x-api-key", "").strip()
    return key or None


def websocket_service(settings: WebSocketSettings, *, book: OrderBook, clock: Clock,
                      base_fee: BaseFeeSource, prices: PriceLookup | None,
                      authenticator: Authenticator | None,
                      limits: LimitSettings | None = None,
                      failures: FailureLimit | None = None,
                      on_failure: Callable[[str, bool], None] | None = None,
                      renderer: OrderRenderer | None = None,
                      escrows: EscrowLookup | None = None,
                      ) -> tuple[Hub, WebSocketEndpoint]:
    """The hub and the ``/ws`` endpoint over it, wired."""
    renderer = renderer or OrderRenderer()
    hub = Hub(settings, public=PublicEvents(book, base_fee, renderer, escrows), clock=clock,
              limits=limits)
    reads = OrderReads(book, clock=clock, base_fee=base_fee, prices=prices,
                       snapshot_limit=settings.snapshot_limit, renderer=renderer)
    methods = Methods(hub, reads, authenticator, failures=failures, on_failure=on_failure)
    return hub, WebSocketEndpoint(hub, methods, authenticator)


def uvicorn_options(settings: WebSocketSettings,
                    limits: LimitSettings | None = None) -> dict[str, Any]:
    """What the server running the app needs to apply ``[websocket]`` and ``[limits]`` at
    the protocol level: message size, protocol pings (dead peers), compression; uvicorn's
    ``websockets-sansio`` protocol with direct frame writes (``framing``); and the HTTP
    protocol that bounds request heads as they arrive (``relayer.api.edge``)."""
    limits = limits or LimitSettings()
    return {
        "http": HTTP_PROTOCOL,
        "h11_max_incomplete_event_size": limits.header_bytes,
        "ws": PROTOCOL,
        "ws_max_size": limits.ws_message_bytes,
        "ws_ping_interval": settings.ping_interval_seconds,
        "ws_ping_timeout": settings.ping_timeout_seconds,
        "ws_per_message_deflate": settings.per_message_deflate,
    }


class Broadcasting:
    """The hub as a lifecycle component: it follows the bus and beats every client's
    heartbeat from start; at stop it closes every socket (going away)."""

    name = "websocket"

    def __init__(self, hub: Hub, bus: EventBus) -> None:
        self._hub = hub
        self._bus = bus
        self._detach: Callable[[], None] | None = None

    async def start(self) -> None:
        self._detach = self._hub.attach(self._bus)
        self._hub.start()

    async def stop(self) -> None:
        if self._detach is not None:
            self._detach()
            self._detach = None
        await self._hub.stop()

    def jobs(self) -> Sequence[Job]:
        return []
