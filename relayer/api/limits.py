"""Request limits the app enforces: the body (413, before any route reads it), and the
head and query string of every request (431, 414). The numbers are ``[limits]``."""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relayer.api.edge import headers_too_large
from relayer.api.errors import error_response
from relayer.config import LimitSettings
from relayer.errors import ValidationError
from relayer.integers import is_canonical


class BodyTooLarge(ValidationError):
    default_code = "BODY_TOO_LARGE"


class BodyLimitMiddleware:
    """Answers 413 for a declared Content-Length over the limit, and stops a body
    that streams past it (the route sees ``BodyTooLarge``)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int,
                 on_refused: Callable[[str], None] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self._on_refused = on_refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                text = value.decode("latin-1")
                declared = int(text) if is_canonical(text, max_digits=19) else -1
                if declared < 0 or declared > self.max_bytes:
                    await self._reject(scope, receive, send)
                    return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    if self._on_refused is not None:
                        self._on_refused("body_bytes")
                    raise BodyTooLarge(self._message())
            return message

        await self.app(scope, limited_receive, send)

    def _message(self) -> str:
        return f"request body is larger than {self.max_bytes} bytes"

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._on_refused is not None:
            self._on_refused("body_bytes")
        response = error_response(413, "BODY_TOO_LARGE", self._message(),
                                  {"max_bytes": self.max_bytes}, headers={"Connection": "close"})
        await response(scope, receive, send)


class RequestLimitsMiddleware:
    """Header count and bytes (431 ``HEADERS_TOO_LARGE``) and the query string (414
    ``QUERY_TOO_LONG``) of every request and WebSocket handshake, once the server parsed
    the head. ``relayer serve`` also bounds heads while they arrive (``relayer.api.edge``);
    this is the same rule for any server, and the only check of the query string."""

    def __init__(self, app: ASGIApp, *, limits: LimitSettings,
                 on_refused: Callable[[str], None] | None = None) -> None:
        self.app = app
        self._limits = limits
        self._on_refused = on_refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        limits = self._limits
        headers = scope["headers"]
        query = scope.get("query_string", b"")
        if len(headers) > limits.header_count:
            broken = "header_count"
        elif head_size(scope) > limits.header_bytes:
            broken = "header_bytes"
        elif len(query) > limits.query_bytes:
            broken = "query_bytes"
        else:
            await self.app(scope, receive, send)
            return
        if self._on_refused is not None:
            self._on_refused(broken)
        if broken == "query_bytes":
            response = error_response(414, "QUERY_TOO_LONG",
                                      f"the query string is over {limits.query_bytes} bytes",
                                      {"max_bytes": limits.query_bytes})
        else:
            response = Response(headers_too_large(limits), status_code=431,
                                media_type="application/json")
        if scope["type"] == "websocket":
            await _deny_handshake(scope, send, response)
            return
        await response(scope, receive, send)


def head_size(scope: Scope) -> int:
    """The request line and header lines as sent: ``METHOD SP target SP HTTP/1.1 CRLF``,
    ``name: value CRLF`` each, and the closing CRLF."""
    target = len(scope.get("raw_path") or scope["path"].encode())
    query = scope.get("query_string", b"")
    if query:
        target += 1 + len(query)
    size = len(scope.get("method", "GET")) + target + 13
    return size + sum(len(name) + len(value) + 4 for name, value in scope["headers"]) + 2


async def _deny_handshake(scope: Scope, send: Send, response: Response) -> None:
    """Refuse a WebSocket handshake with ``response`` where the server can send one
    (the denial extension), else with close 1008 (an HTTP 403 to the client)."""
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": 1008, "reason": "request too large"})
        return
    await send({"type": "websocket.http.response.start", "status": response.status_code,
                "headers": response.raw_headers})
    await send({"type": "websocket.http.response.body", "body": response.body})
