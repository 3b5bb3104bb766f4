"""The hub: channels, their sequence numbers, and fan-out from the event bus.

Every public event (``relayer.events.public``) is published on its channels.
Per channel the message text is built once and appended to each subscriber's
queue; nothing here waits on a socket. ``seq`` counts the messages of a
channel: the global channels count from the hub's start whether or not anyone
listens, a per-order channel from the moment its first subscriber arrives.

Price ticks are many: on ``prices:<hash>`` each is one message, on the
``prices`` firehose all the updates of one decayer tick go out as one message
whose ``data`` is a list. A channel nobody listens to costs a dictionary
lookup per update.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from starlette.types import Send

from relayer.api.ws.connection import Connection, Counters
from relayer.api.ws.protocol import CLOSE_GOING_AWAY, channel_message, heartbeat_message
from relayer.api.ws.reads import GLOBAL_CHANNELS
from relayer.clock import Clock
from relayer.config import WebSocketSettings
from relayer.events.bus import EventBus
from relayer.events.public import PRICE_PREFIX, PRICES, PublicEvents
from relayer.events.types import PriceUpdated
from relayer.security.principal import Principal

log = structlog.get_logger(__name__)

PRICE_UPDATE = "price_update"


class Channel:
    __slots__ = ("name", "seq", "subscribers")

    def __init__(self, name: str) -> None:
        self.name = name
        self.seq = 0
        self.subscribers: set[Connection] = set()


@dataclass(frozen=True, slots=True)
class HubStats:
    connections: int
    subscriptions: int
    accepted: int
    """Connections accepted since start."""
    rejected: int
    """Handshakes refused (too many connections, bad API key)."""
    messages_sent: int
    slow_closed: int
    """Clients closed with 1013 for not keeping up (the hub's drops)."""
    oversized_closed: int
    errors_replied: int
    queued: int
    """Messages waiting in all send queues right now."""
    max_queue: int
    """The longest single send queue right now."""


class Hub:
    def __init__(self, settings: WebSocketSettings, *, public: PublicEvents,
                 clock: Clock) -> None:
        self.settings = settings
        self._public = public
        self._clock = clock
        self._channels: dict[str, Channel] = {name: Channel(name) for name in GLOBAL_CHANNELS}
        self._connections: dict[int, Connection] = {}
        self._next_id = 0
        self.counters = Counters()
        self._price_batch: list[bytes] = []
        self._price_flush_pending = False
        self._heartbeat: asyncio.Task[None] | None = None

    # connections

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    def full(self) -> bool:
        return len(self._connections) >= self.settings.max_connections

    def connect(self, send: Send, principal: Principal | None) -> Connection:
        self._next_id += 1
        conn = Connection(self._next_id, send, queue_limit=self.settings.send_queue,
                          counters=self.counters, principal=principal)
        self._connections[conn.id] = conn
        self.counters.accepted += 1
        return conn

    def disconnect(self, conn: Connection) -> None:
        conn.end()
        for name in conn.subscriptions:
            self._leave(conn, name)
        conn.subscriptions.clear()
        self._connections.pop(conn.id, None)

    # subscriptions (channel names are canonical; access was checked by the caller)

    def subscribe(self, conn: Connection, name: str) -> int:
        """Add ``conn`` to ``name``; the channel's current seq (the snapshot's)."""
        channel = self._channels.get(name)
        if channel is None:
            channel = self._channels[name] = Channel(name)
        channel.subscribers.add(conn)
        conn.subscriptions.add(name)
        return channel.seq

    def unsubscribe(self, conn: Connection, name: str) -> bool:
        if name not in conn.subscriptions:
            return False
        conn.subscriptions.discard(name)
        self._leave(conn, name)
        return True

    def _leave(self, conn: Connection, name: str) -> None:
        channel = self._channels.get(name)
        if channel is None:
            return
        channel.subscribers.discard(conn)
        if not channel.subscribers and name not in GLOBAL_CHANNELS:
            del self._channels[name]

    # fan-out

    def attach(self, bus: EventBus) -> Callable[[], None]:
        """Follow every event on ``bus``; returns the function that stops it."""
        return bus.subscribe(None, self.on_event)

    def on_event(self, event: Any) -> None:
        if type(event) is PriceUpdated:
            self._on_price(event)
            return
        for public in self._public.map(event):
            for name in public.channels:
                self.publish(name, public.event, public.data)

    def publish(self, name: str, event: str, data: bytes) -> None:
        """One message on channel ``name`` to all its subscribers (a no-op for a
        per-order channel nobody follows)."""
        channel = self._channels.get(name)
        if channel is None:
            return
        channel.seq += 1
        if channel.subscribers:
            text = channel_message(event, name, channel.seq, data)
            for conn in channel.subscribers:
                conn.push(text)

    def _on_price(self, event: PriceUpdated) -> None:
        channel = self._channels.get(PRICE_PREFIX + event.order_hash)
        firehose = self._channels[PRICES]
        if not self._price_flush_pending:
            self._price_flush_pending = True
            asyncio.get_running_loop().call_soon(self._flush_prices)
        if channel is None and not firehose.subscribers:
            return
        (public,) = self._public.map(event)
        if channel is not None:
            self.publish(channel.name, PRICE_UPDATE, public.data)
        if firehose.subscribers:
            self._price_batch.append(public.data)

    def _flush_prices(self) -> None:
        """One firehose message with every price update since the last flush."""
        self._price_flush_pending = False
        batch, self._price_batch = self._price_batch, []
        firehose = self._channels[PRICES]
        if not batch and firehose.subscribers:
            return  # subscribers arrived after this tick's updates: nothing to send
        self.publish(PRICES, PRICE_UPDATE, b"[" + b",".join(batch) + b"]")

    # heartbeats, stalled clients, shutdown

    def start(self) -> None:
        self._heartbeat = asyncio.create_task(self._heartbeat_loop())

    async def stop(self, timeout: float = 5.0) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        for conn in list(self._connections.values()):
            conn.end(CLOSE_GOING_AWAY, "server shutting down")

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_seconds)
            self.beat()

    def beat(self) -> None:
        """Send a heartbeat to every client and close those whose socket is stuck."""
        text = heartbeat_message(int(self._clock.now()))
        stuck_before = time.monotonic() - self.settings.send_timeout_seconds
        for conn in list(self._connections.values()):
            since = conn.sending_since
            if since is not None and since < stuck_before:
                self.counters.slow_closed += 1
                conn.end(1013, "send timed out: the client is not reading")
                continue
            conn.push(text)

    def stats(self) -> HubStats:
        queues = [c.queued for c in self._connections.values()]
        c = self.counters
        return HubStats(
            connections=len(self._connections),
            subscriptions=sum(len(conn.subscriptions) for conn in self._connections.values()),
            accepted=c.accepted, rejected=c.rejected, messages_sent=c.messages_sent,
            slow_closed=c.slow_closed, oversized_closed=c.oversized_closed,
            errors_replied=c.errors_replied, queued=sum(queues),
            max_queue=max(queues, default=0))
