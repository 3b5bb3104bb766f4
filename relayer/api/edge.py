"""Request heads bounded as they arrive, before the app or even the parser holds them whole.

uvicorn's httptools protocol reads a request head without a bound, and httptools
joins a header value that arrives in pieces by concatenating bytes (each piece
copies all before it): one 128 MB header took 14 s to read and held the event
loop for seconds at a time. ``BoundedHttpProtocol`` feeds the parser at most
``limits.header_bytes`` of a head and counts its header lines; past either it
answers ``431 HEADERS_TOO_LARGE`` (the API's JSON error body), half-closes, and
reads and drops whatever the client still sends until it closes or
``LINGER_SECONDS`` pass, so the client sees the answer instead of a reset.

``relayer serve`` runs uvicorn with it (``uvicorn_options``); the app hands it its
limits and a refusal counter through the lifespan state (``EDGE_STATE``). Under
another server ``RequestLimitsMiddleware`` (``relayer.api.limits``) enforces the
same limits once the head is parsed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httptools
import msgspec
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from relayer.config import LimitSettings

HTTP_PROTOCOL = "relayer.api.edge:BoundedHttpProtocol"
"""The ``http`` setting that makes uvicorn use the protocol below."""
EDGE_STATE = "relayer.edge"
"""Lifespan state key of the app's ``Edge``."""
LINGER_SECONDS = 10.0
"""How long a refused client may go on sending (dropped) before the connection is cut."""
HEADERS_TOO_LARGE = "HEADERS_TOO_LARGE"


@dataclass(frozen=True, slots=True)
class Edge:
    """What the protocol needs from the app: its limits, and whom to tell of a refusal."""

    limits: LimitSettings
    on_refused: Callable[[str], None] | None = None
    """Called with the limit (``header_count`` or ``header_bytes``) a request broke."""


def headers_too_large(limits: LimitSettings) -> bytes:
    """The JSON body of a 431 answer."""
    return msgspec.json.encode({
        "error_code": HEADERS_TOO_LARGE,
        "message": f"request headers over {limits.header_count} lines or"
                   f" {limits.header_bytes} bytes",
        "details": {"max_count": limits.header_count, "max_bytes": limits.header_bytes}})


class _TooManyHeaders(Exception):
    pass


class BoundedHttpProtocol(HttpToolsProtocol):
    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        edge = app_state.get(EDGE_STATE)
        self._edge = edge if isinstance(edge, Edge) else Edge(LimitSettings())
        self._in_head = True
        """The bytes coming in belong to a request head (not yet complete)."""
        self._head_bytes = 0
        self._head_lines = 0
        self._refused: str | None = None
        self._linger: asyncio.TimerHandle | None = None

    def data_received(self, data: bytes) -> None:
        if self._refused is not None:
            return  # refused: read and dropped until the client closes or the linger ends
        limit = self._edge.limits.header_bytes
        while data:
            if self._in_head:
                room = limit - self._head_bytes
                if room <= 0:
                    self._refuse("header_bytes")
                    return
                piece, data = data[:room], data[room:]
                self._head_bytes += len(piece)
            else:
                piece, data = data, b""
            if not self._feed(piece):
                return

    def _feed(self, piece: bytes) -> bool:
        """uvicorn's ``data_received`` for one piece; ``False`` once nothing more may be
        fed (a refusal, a bad request, an upgrade)."""
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(piece)
        except httptools.HttpParserError:
            if self._head_lines > self._edge.limits.header_count:
                self._refuse("header_count")
                return False
            message = "Invalid HTTP request received."
            self.logger.warning(message)
            self.send_400_response(message)
            return False
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return False
        return True

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_lines += 1
        if self._head_lines > self._edge.limits.header_count:
            raise _TooManyHeaders  # stops the parser; ``_feed`` answers 431
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_head = True  # what comes next is the next request's head
        self._head_bytes = self._head_lines = 0
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        super().connection_lost(exc)

    def _refuse(self, limit: str) -> None:
        self._refused = limit
        edge = self._edge
        if edge.on_refused is not None:
            edge.on_refused(limit)
        self.logger.warning("Request headers over the limit (%s).", limit)
        transport = self.transport
        if self.cycle is not None and not self.cycle.response_complete:
            transport.abort()  # a pipelined answer is still being written: no room for ours
            return
        body = headers_too_large(edge.limits)
        content = [STATUS_LINE[431]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend([b"content-type: application/json\r\n",
                        b"content-length: " + str(len(body)).encode() + b"\r\n",
                        b"x-content-type-options: nosniff\r\n",
                        b"connection: close\r\n\r\n", body])
        transport.write(b"".join(content))
        if transport.can_write_eof():
            transport.write_eof()
        self._linger = self.loop.call_later(LINGER_SECONDS, transport.abort)
