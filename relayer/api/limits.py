"""Request body limit, enforced before any route reads the body."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relayer.api.errors import error_response
from relayer.errors import ValidationError
from relayer.integers import is_canonical


class BodyTooLarge(ValidationError):
    default_code = "BODY_TOO_LARGE"


class BodyLimitMiddleware:
    """Answers 413 for a declared Content-Length over the limit, and stops a body
    that streams past it (the route sees ``BodyTooLarge``)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

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
                    raise BodyTooLarge(self._message())
            return message

        await self.app(scope, limited_receive, send)

    def _message(self) -> str:
        return f"request body is larger than {self.max_bytes} bytes"

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(413, "BODY_TOO_LARGE", self._message(),
                                  {"max_bytes": self.max_bytes}, headers={"Connection": "close"})
        await response(scope, receive, send)
