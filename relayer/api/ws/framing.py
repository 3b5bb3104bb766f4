"""Pre-built WebSocket frames written straight to a client's socket.

A price tick sends the same message to thousands of clients. Through ASGI,
each of those sends frames the text again and passes three coroutine layers
(the middleware's ``send`` wrappers and the server's own) before reaching the
socket. Here a message is framed once (``text_frame``), and the server
protocol below offers each connection a ``write(frame) -> bool`` function in
the ASGI scope extension ``relayer.websocket.frames``: it writes the bytes to
the transport when the connection is open and the transport takes data, and
answers ``False`` otherwise, so the caller falls back to the ordinary ASGI
``send`` (which waits for the socket). Under another server the extension is
absent and every message goes through ASGI.

The protocol is uvicorn's ``websockets-sansio`` one (uvicorn and websockets
are pinned) with the extension added; frames it writes are unmasked text
frames (RFC 6455 section 5.2), sent only while no extension (compression) was
negotiated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from websockets.protocol import State

FRAMES_EXTENSION = "relayer.websocket.frames"
PROTOCOL = "relayer.api.ws.framing:FramedWebSocketProtocol"
"""The ``ws`` setting that makes uvicorn use the protocol below."""

WriteFrame = Callable[[bytes], bool]

_FIN_TEXT = 0x81


def text_frame(payload: bytes) -> bytes:
    """One final, unmasked text frame carrying ``payload`` (UTF-8)."""
    size = len(payload)
    if size < 126:
        return bytes((_FIN_TEXT, size)) + payload
    if size < 1 << 16:
        return bytes((_FIN_TEXT, 126)) + size.to_bytes(2, "big") + payload
    return bytes((_FIN_TEXT, 127)) + size.to_bytes(8, "big") + payload


def frame_writer(scope: Mapping[str, Any]) -> WriteFrame | None:
    """The connection's direct frame writer, if the server offers one."""
    extension = scope.get("extensions", {}).get(FRAMES_EXTENSION)
    if extension is None:
        return None
    write: WriteFrame = extension["write"]
    return write


class FramedWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol, plus ``relayer.websocket.frames``."""

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # absent when the handshake was refused
        if scope is not None:
            scope["extensions"][FRAMES_EXTENSION] = {"write": self.write_frame}

    def write_frame(self, frame: bytes) -> bool:
        """Write a whole server frame now, or answer ``False`` (not open yet or any
        more, compression negotiated, or the transport asked us to pause)."""
        if (not self.handshake_complete or self.close_sent or self.disconnected
                or not self.writable.is_set() or self.conn.state is not State.OPEN
                or self.conn.extensions):
            return False
        self.transport.write(frame)
        return True
