"""One WebSocket client: a bounded send queue drained by its own writer.

The hub never awaits a client's socket: it appends the shared message text to
the client's queue and returns. The writer task sends what is queued. A
client whose queue overflows is closed with 1013 at once, so its backlog
never grows and never slows the fan-out to the others.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass

from starlette.types import Send

from relayer.security.principal import Principal


@dataclass(slots=True)
class Counters:
    """The hub's running totals (read through ``Hub.stats``)."""

    accepted: int = 0
    rejected: int = 0
    """Handshakes refused: too many connections or a bad API key."""
    messages_sent: int = 0
    slow_closed: int = 0
    """Clients closed with 1013 because they did not keep up."""
    oversized_closed: int = 0
    errors_replied: int = 0


class Connection:
    __slots__ = ("id", "principal", "subscriptions", "_send", "_queue", "_limit", "_wakeup",
                 "_counters", "sending_since", "close_code", "close_reason", "finished",
                 "sent")

    def __init__(self, conn_id: int, send: Send, *, queue_limit: int, counters: Counters,
                 principal: Principal | None) -> None:
        self.id = conn_id
        self.principal = principal
        self.subscriptions: set[str] = set()
        self._send = send
        self._queue: deque[str] = deque()
        self._limit = queue_limit
        self._wakeup = asyncio.Event()
        self._counters = counters
        self.sending_since: float | None = None
        """``time.monotonic()`` when the send in progress began; ``None`` when idle."""
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

    def push(self, text: str) -> None:
        """Queue one message; never waits. Overflow closes the connection (1013)."""
        if self.finished.is_set():
            return
        queue = self._queue
        queue.append(text)
        if len(queue) > self._limit:
            self._counters.slow_closed += 1
            self.end(1013, "send queue full: the client is not reading fast enough")
            return
        if len(queue) == 1:
            self._wakeup.set()

    def end(self, code: int | None = None, reason: str = "") -> None:
        """Finish the connection; with a code the endpoint sends that close frame."""
        if self.finished.is_set():
            return
        self.close_code = code
        self.close_reason = reason
        self._queue.clear()
        self.finished.set()

    async def write_loop(self) -> None:
        queue = self._queue
        send = self._send
        counters = self._counters
        wakeup = self._wakeup
        while True:
            while queue:
                text = queue.popleft()
                self.sending_since = time.monotonic()
                await send({"type": "websocket.send", "text": text})
                self.sent += 1
                counters.messages_sent += 1
            self.sending_since = None
            wakeup.clear()
            if not queue:
                await wakeup.wait()
