"""One WebSocket client: a bounded send queue drained by its own writer.

The hub never awaits a client's socket. A message to a client whose socket
takes data is written at once: as a frame built once for all its recipients,
straight to the socket when the server offers that (``relayer.api.ws.framing``),
else through the ASGI ``send``. While a socket is blocked, messages wait in the
client's queue and a writer task sends them when it drains. The queue is bounded
in messages and in bytes (``limits.ws_send_queue_messages`` and ``_bytes``,
the message being sent counted too): a client past either is closed with 1013 at
once, so its backlog never grows and never slows the fan-out to the others. A
timer of the connection's own closes it (1013) once its socket has taken nothing
for ``limits.ws_send_timeout_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections import deque
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass
from typing import Any

from starlette.types import Send

from relayer.api.ws.framing import WriteFrame, text_frame
from relayer.security.principal import Principal


@dataclass(slots=True)
class Counters:
    """The hub's running totals (read through ``Hub.stats``)."""

    accepted: int = 0
    rejected: int = 0
    """Handshakes refused: too many connections or a bad API key."""
    messages_sent: int = 0
    frames_written: int = 0
    """Of ``messages_sent``, those written straight to the socket as shared frames."""
    slow_closed: int = 0
    """Clients closed with 1013 because they did not keep up."""
    oversized_closed: int = 0
    """Clients closed with 1009 for a message over ``limits.ws_message_bytes``."""
    revoked_closed: int = 0
    """Clients closed with 4401 because their API key was revoked."""
    errors_replied: int = 0


class Connection:
    __slots__ = ("id", "principal", "subscriptions", "client", "_send", "_write_frame",
                 "_queue", "_limit", "_byte_limit", "_queued_bytes", "_sending_bytes",
                 "_send_timeout", "_timer", "_writer", "_counters", "sending_since",
                 "close_code", "close_reason", "finished", "sent")

    def __init__(self, conn_id: int, send: Send, *, queue_limit: int, counters: Counters,
                 principal: Principal | None, write_frame: WriteFrame | None = None,
                 queue_bytes: int = 4_194_304, send_timeout: float = 30.0,
                 client: str = "") -> None:
        self.id = conn_id
        self.principal = principal
        self.subscriptions: set[str] = set()
        self.client = client
        """The peer's address (for the per-address limit on failed ``auth``)."""
        self._send = send
        self._write_frame = write_frame
        """Writes a whole frame to the socket if it takes data now (``None``: ASGI only)."""
        self._queue: deque[str] = deque()
        self._limit = queue_limit
        self._byte_limit = queue_bytes
        self._queued_bytes = 0
        self._sending_bytes = 0
        """Size of the message the writer is sending now (held until the socket takes it)."""
        self._send_timeout = send_timeout
        self._timer: asyncio.TimerHandle | None = None
        self._writer: asyncio.Task[None] | None = None
        """Sends while the socket is blocked; ``None`` while sends complete at once."""
        self._counters = counters
        self.sending_since: float | None = None
        """``time.monotonic()`` when the blocked send began; ``None`` when not blocked."""
        self.close_code: int | None = None
        self.close_reason = ""
        self.finished = asyncio.Event()
        """Set when the connection should end: the peer left, or the server closes it."""
        self.sent = 0

    @property
    def queued(self) -> int:
        return len(self._queue)

    @property
    def queued_bytes(self) -> int:
        """Bytes held for this client: its queue and the message being sent."""
        return self._queued_bytes + self._sending_bytes

    @property
    def closing(self) -> bool:
        return self.finished.is_set()

    def push(self, text: str, frame: bytes | None = None) -> None:
        """Send or queue one message; never waits. Overflow closes the connection (1013).

        ``frame``: the message already framed (``text_frame``), shared by recipients."""
        if self.finished.is_set():
            return
        if self._writer is None:
            write = self._write_frame
            if write is not None and write(text_frame(text.encode()) if frame is None
                                           else frame):
                self.sent += 1
                counters = self._counters
                counters.messages_sent += 1
                counters.frames_written += 1
                return
            self._send_now(text)
            return
        queue = self._queue
        queue.append(text)
        self._queued_bytes += sys.getsizeof(text)  # what the text holds in memory
        if len(queue) > self._limit or self.queued_bytes > self._byte_limit:
            self._counters.slow_closed += 1
            self.end(1013, "send queue full: the client is not reading fast enough")

    def end(self, code: int | None = None, reason: str = "") -> None:
        """Finish the connection; with a code the endpoint sends that close frame."""
        if self.finished.is_set():
            return
        self.close_code = code
        self.close_reason = reason
        self._queue.clear()
        self._queued_bytes = 0
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.finished.set()

    async def stop_writing(self) -> None:
        writer = self._writer
        if writer is not None:
            writer.cancel()
            with contextlib.suppress(BaseException):
                await writer

    def _send_now(self, text: str) -> None:
        # The server's send is a coroutine that only suspends when the socket's buffer
        # is full (uvicorn waits for the transport to become writable). Run it by hand:
        # usually it completes at once, with no task switch per client and message;
        # if it suspends, a writer task finishes it and drains the queue meanwhile.
        sending = self._send({"type": "websocket.send", "text": text})
        coro = sending if isinstance(sending, Coroutine) else _awaiting(sending)
        try:
            waiting = coro.send(None)
        except StopIteration:
            self._count_sent()
            return
        except Exception:
            self.end()
            return
        self._blocked(sys.getsizeof(text))
        self._writer = asyncio.ensure_future(self._finish(coro, waiting))
        self._writer.add_done_callback(self._writer_done)

    def _blocked(self, size: int) -> None:
        """A send of ``size`` bytes waits for the socket: hold its size, start the clock."""
        self.sending_since = time.monotonic()
        self._sending_bytes = size
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._send_timeout,
                                                                self._check_stalled)

    def _check_stalled(self) -> None:
        """The send timer: close the client if its socket took nothing for the timeout
        (each completed message counts as progress), else look again when it would be."""
        self._timer = None
        since = self.sending_since
        if since is None or self.finished.is_set():
            return
        waited = time.monotonic() - since
        if waited >= self._send_timeout:
            self._counters.slow_closed += 1
            self.end(1013, "send timed out: the client is not reading")
            return
        self._timer = asyncio.get_running_loop().call_later(self._send_timeout - waited,
                                                            self._check_stalled)

    async def _finish(self, coro: Coroutine[Any, Any, None], waiting: Any) -> None:
        try:
            while True:
                if isinstance(waiting, asyncio.Future):
                    await asyncio.wait({waiting})
                else:
                    await asyncio.sleep(0)
                try:
                    waiting = coro.send(None)
                except StopIteration:
                    break
        finally:
            coro.close()
        self._count_sent()
        queue = self._queue
        while queue:
            text = queue.popleft()
            size = sys.getsizeof(text)
            self._queued_bytes -= size
            self._blocked(size)
            await self._send({"type": "websocket.send", "text": text})
            self._count_sent()
        # Nothing awaited since the queue was seen empty: pushes go direct again.
        self.sending_since = None
        self._sending_bytes = 0
        self._writer = None

    def _writer_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is not None:
            self.end()

    def _count_sent(self) -> None:
        self.sent += 1
        self._counters.messages_sent += 1


async def _awaiting(awaitable: Awaitable[None]) -> None:
    await awaitable
