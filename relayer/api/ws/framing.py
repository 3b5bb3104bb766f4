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

Two more things the extension carries, for closing well:

- ``close(code, reason)``: write a close frame even while the transport is paused
  (behind what it holds, where a client that reads again will find it), then give
  the peer ``close_timeout`` to answer before the connection is dropped. Through
  ASGI a close waits for the socket to drain, which a client that stopped reading
  never lets happen.
- ``failed()``: the close code the protocol sent when it failed the connection
  itself (a message over ``ws_max_size``: 1009; bad UTF-8: 1007), ``None`` if not.

And a failure no longer ends in a TCP reset: uvicorn closed the socket at once,
with the rest of the offending message unread, and the kernel answered that with
a reset that could overtake the close frame. Here the close frame goes out, our
side is half-closed (FIN), and what the client still sends is read and dropped
until it closes or ``close_timeout`` passes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from websockets.protocol import State

FRAMES_EXTENSION = "relayer.websocket.frames"
PROTOCOL = "relayer.api.ws.framing:FramedWebSocketProtocol"
"""The ``ws`` setting that makes uvicorn use the protocol below."""

WriteFrame = Callable[[bytes], bool]


class CloseNow(Protocol):
    def __call__(self, code: int, reason: str) -> bool: ...

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


def frame_closer(scope: Mapping[str, Any]) -> CloseNow | None:
    """The connection's close-even-when-blocked function, if the server offers one."""
    extension = scope.get("extensions", {}).get(FRAMES_EXTENSION)
    if extension is None:
        return None
    close: CloseNow = extension["close"]
    return close


def protocol_failure(scope: Mapping[str, Any]) -> int | None:
    """The close code the server sent when it failed the connection itself, if it says."""
    extension = scope.get("extensions", {}).get(FRAMES_EXTENSION)
    if extension is None:
        return None
    failed: Callable[[], int | None] = extension["failed"]
    return failed()


class FramedWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol, plus ``relayer.websocket.frames``."""

    _failed_with: int | None = None

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # absent when the handshake was refused
        if scope is not None:
            scope["extensions"][FRAMES_EXTENSION] = {
                "write": self.write_frame, "close": self.close_now,
                "failed": lambda: self._failed_with}

    def data_received(self, data: bytes) -> None:
        if self._failed_with is not None:
            return  # failed: what the peer still sends is read and dropped
        super().data_received(data)

    def handle_parser_exception(self) -> None:
        """Fail the connection without a reset: close frame, FIN, drain, then close."""
        if self._failed_with is not None:
            return
        sent = self.conn.close_sent
        code = sent.code if sent is not None else 1002
        self._failed_with = code
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code,
                               "reason": sent.reason if sent is not None else ""})
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        self.stop_keepalive()
        if self.transport.can_write_eof():
            self.transport.write_eof()
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        self.close_timer = self.loop.call_later(self.close_timeout, self.transport.abort)

    def close_now(self, code: int, reason: str) -> bool:
        """Queue a close frame behind whatever the transport holds, paused or not; the
        peer then has ``close_timeout`` to answer before the connection is dropped.
        ``False`` when the connection is not open (nothing written)."""
        if (not self.handshake_complete or self.close_sent or self.disconnected
                or self.conn.state is not State.OPEN):
            return False
        self.conn.send_close(code, reason)
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code,
                               "reason": reason})
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        self.close_timer = self.loop.call_later(self.close_timeout, self.transport.abort)
        return True

    def write_frame(self, frame: bytes) -> bool:
        """Write a whole server frame now, or answer ``False`` (not open yet or any
        more, compression negotiated, or the transport asked us to pause)."""
        if (not self.handshake_complete or self.close_sent or self.disconnected
                or not self.writable.is_set() or self.conn.state is not State.OPEN
                or self.conn.extensions):
            return False
        self.transport.write(frame)
        return True
