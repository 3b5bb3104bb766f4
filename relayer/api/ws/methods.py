"""The request methods: ping, auth, subscribe, unsubscribe, getActiveOrders, getOrder.

Each handler runs without awaiting, so a subscription, its reply and its
snapshot enter the client's queue before any later channel message.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import structlog

from relayer.api.ws.connection import Connection
from relayer.api.ws.hub import Hub
from relayer.api.ws.protocol import (
    FORBIDDEN,
    INTERNAL_ERROR,
    RATE_LIMITED,
    TOO_MANY_SUBSCRIPTIONS,
    UNAUTHORIZED,
    UNKNOWN_METHOD,
    AuthParams,
    ChannelParams,
    OrderParams,
    PageParams,
    Request,
    RequestError,
    channel_message,
    decode_request,
    encode,
    error_message,
    params_as,
    result_message,
)
from relayer.api.ws.reads import OrderReads, canonical_channel
from relayer.public.events import channel_scope
from relayer.security.principal import Authenticator
from relayer.security.ratelimit import FailureLimit

log = structlog.get_logger(__name__)

SNAPSHOT = "snapshot"


class Methods:
    def __init__(self, hub: Hub, reads: OrderReads, authenticator: Authenticator | None,
                 *, failures: FailureLimit | None = None,
                 on_failure: Callable[[str, bool], None] | None = None) -> None:
        """``failures``: where a failed ``auth`` is counted against the client's address
        (as failed keys over HTTP are); ``on_failure(transport, throttled)`` counts it."""
        self._hub = hub
        self._reads = reads
        self._authenticator = authenticator
        self._failures = failures
        self._on_failure = on_failure
        self._methods: dict[str, Callable[[Connection, Request], bytes | None]] = {
            "ping": self._ping,
            "auth": self._auth,
            "subscribe": self._subscribe,
            "unsubscribe": self._unsubscribe,
            "getActiveOrders": self._get_active_orders,
            "getOrder": self._get_order,
        }

    def handle(self, conn: Connection, raw: str | bytes) -> None:
        """Answer one client message (a reply, or an error reply; never raises)."""
        request_id = None
        try:
            request = decode_request(raw)
            request_id = request.id
            method = self._methods.get(request.method)
            if method is None:
                raise RequestError(UNKNOWN_METHOD, f"unknown method {request.method[:64]!r}; "
                                   f"known: {', '.join(self._methods)}")
            result = method(conn, request)
            if result is not None:
                conn.push(result_message(request_id, result))
        except RequestError as exc:
            self._hub.counters.errors_replied += 1
            rid = exc.request_id if exc.request_id is not None else request_id
            conn.push(error_message(rid, exc.code, exc.message))
        except Exception:
            log.exception("ws_request_failed", connection=conn.id)
            self._hub.counters.errors_replied += 1
            conn.push(error_message(request_id, INTERNAL_ERROR, "internal error"))

    def _ping(self, conn: Connection, request: Request) -> bytes:
        return b'"pong"'

    def _auth(self, conn: Connection, request: Request) -> bytes:
        params = params_as(request, AuthParams)
        principal = (None if self._authenticator is None
                     else self._authenticator.authenticate(params.api_key))
        if principal is None:
            wait = 0.0 if self._failures is None else self._failures.failure(conn.client)
            if self._on_failure is not None:
                self._on_failure("websocket", wait > 0)
            if wait > 0:
                raise RequestError(RATE_LIMITED, "too many failed authentications from this"
                                   f" address; retry after {max(1, math.ceil(wait))} s")
            raise RequestError(UNAUTHORIZED, "unknown or revoked API key")
        conn.principal = principal
        return encode({"key_id": principal.key_id,
                       "scopes": sorted(s.value for s in principal.scopes)})

    def _subscribe(self, conn: Connection, request: Request) -> None:
        """Replies ``{"channel", "seq"}`` itself, then sends the snapshot at that seq."""
        name = canonical_channel(params_as(request, ChannelParams).channel)
        scope = channel_scope(name)
        if scope is not None:
            if conn.principal is None:
                raise RequestError(UNAUTHORIZED, f"channel {name} needs an API key "
                                   f"with the {scope.value} scope")
            if not conn.principal.allows(scope):
                raise RequestError(FORBIDDEN, f"the API key lacks the {scope.value} scope")
        if (name not in conn.subscriptions
                and len(conn.subscriptions) >= self._hub.settings.max_subscriptions):
            raise RequestError(TOO_MANY_SUBSCRIPTIONS, "at most "
                               f"{self._hub.settings.max_subscriptions} subscriptions")
        snapshot = self._reads.snapshot(name)  # raises for an unknown order
        seq = self._hub.subscribe(conn, name)
        conn.push(result_message(request.id, encode({"channel": name, "seq": seq})))
        conn.push(channel_message(SNAPSHOT, name, seq, snapshot))

    def _unsubscribe(self, conn: Connection, request: Request) -> bytes:
        name = canonical_channel(params_as(request, ChannelParams).channel)
        return encode({"channel": name, "unsubscribed": self._hub.unsubscribe(conn, name)})

    def _get_active_orders(self, conn: Connection, request: Request) -> bytes:
        params = params_as(request, PageParams)
        return self._reads.active_page(params.cursor, params.limit)

    def _get_order(self, conn: Connection, request: Request) -> bytes:
        return self._reads.order(params_as(request, OrderParams).order_hash)
