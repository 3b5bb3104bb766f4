"""One WebSocket client: a bounded send queue drained by its own writer.

The hub never awaits a client's socket. A message to a client whose socket
takes data is written at once: as a frame built once for all its recipients,
straight to the socket when the server offers that (``relayer.api.ws.framing``),
else through the ASGI ``send``. While a socket is blocked, messages wait in the
client's bounded queue and a writer task sends them when it drains. A client
whose queue overflows is closed with 1013 at once, so its backlog never grows
and never slows the fan-out to the others.
"""

from __future__ import annotations

import asyncio
import contextlib
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
    errors_replied: int = 0


class Connection:
    __slots__ = ("id", "principal", "subscriptions", "_send", "_write_frame", "_queue",
                 "_limit", "_writer", "_counters", "sending_since", "close_code",
                 "close_reason", "finished", "sent")

    def __init__(self, conn_id: int, send: Send, *, queue_limit: int, counters: Counters,
                 principal: Principal | None, write_frame: WriteFrame | None = None) -> None:
        self.id = conn_id
        self.principal = principal
        self.subscriptions: set[str] = set()
        self._send = send
        self._write_frame = write_frame
        """Writes a whole frame to the socket if it takes data now (``None``: ASGI only)."""
        self._queue: deque[str] = deque()
        self._limit = queue_limit
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
        if len(queue) > self._limit:
            self._counters.slow_closed += 1
            self.end(1013, "send queue full: the client is not reading fast enough")

    def end(self, code: int | None = None, reason: str = "") -> None:
        """Finish the connection; with a code the endpoint sends that close frame."""
        if self.finished.is_set():
            return
        self.close_code = code
        self.close_reason = reason
        self._queue.clear()
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
        self.sending_since = time.monotonic()
        self._writer = asyncio.ensure_future(self._finish(coro, waiting))
        self._writer.add_done_callback(self._writer_done)

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
            self.sending_since = time.monotonic()
            await self._send({"type": "websocket.send", "text": text})
            self._count_sent()
        # Nothing awaited since the queue was seen empty: pushes go direct again.
        self.sending_since = None
        self._writer = None

    def _writer_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is not None:
            self.end()

    def _count_sent(self) -> None:
        self.sent += 1
        self._counters.messages_sent += 1


async def _awaiting(awaitable: Awaitable[None]) -> None:
    await awaitable
