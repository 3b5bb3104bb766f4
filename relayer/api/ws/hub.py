"""The hub: channels, their sequence numbers, and fan-out from the event bus.

Every public event (``relayer.public.events``) is published on its channels.
Per channel the message text is built once and appended to each subscriber's
queue; nothing here waits on a socket. ``seq`` counts the messages of a
channel: the global channels count from the hub's start whether or not anyone
listens, a per-order channel from the moment its first subscriber arrives.

Price ticks are many and arrive in ``PricesUpdated`` batches (a slice of a
decayer tick each; followers' ticks arrive as single ``PriceUpdated``): on
``prices:<hash>`` each change is one message, on the ``prices`` firehose all
the changes of one tick go out as one message whose ``data`` is a list (sent
with the tick's ``last`` slice). An order nobody follows costs a dictionary
lookup per change.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import msgspec
import structlog
from starlette.types import Send

from relayer.api.ws.connection import Connection, Counters
from relayer.api.ws.framing import WriteFrame, text_frame
from relayer.api.ws.protocol import (
    CLOSE_GOING_AWAY,
    CLOSE_KEY_REVOKED,
    FORBIDDEN,
    UNSUBSCRIBED,
    channel_payload,
    heartbeat_message,
    revoked_message,
)
from relayer.api.ws.reads import GLOBAL_CHANNELS
from relayer.clock import Clock
from relayer.config import LimitSettings, WebSocketSettings
from relayer.events.bus import EventBus
from relayer.pricing.events import PricesUpdated, PriceUpdated
from relayer.public.events import (
    PRICE_PREFIX,
    PRICES,
    PriceUpdateView,
    PublicEvents,
    channel_scope,
)
from relayer.security.principal import KeyLookup, Principal

log = structlog.get_logger(__name__)

PRICE_UPDATE = "price_update"
_BEAT_STEP = 0.1
"""Seconds between the slices of one round of heartbeats."""


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
    frames_written: int
    """Of ``messages_sent``, those written straight to the socket (``framing``)."""
    slow_closed: int
    """Clients closed with 1013 for not keeping up (the hub's drops)."""
    oversized_closed: int
    revoked_closed: int
    """Clients closed with 4401 because their API key was revoked."""
    errors_replied: int
    queued: int
    """Messages waiting in all send queues right now."""
    max_queue: int
    """The longest single send queue right now."""


class Hub:
    def __init__(self, settings: WebSocketSettings, *, public: PublicEvents,
                 clock: Clock, limits: LimitSettings | None = None) -> None:
        self.settings = settings
        self.limits = limits or LimitSettings()
        self._public = public
        self._clock = clock
        self._channels: dict[str, Channel] = {name: Channel(name) for name in GLOBAL_CHANNELS}
        self._connections: dict[int, Connection] = {}
        self._next_id = 0
        self.counters = Counters()
        self._price_channels: dict[str, Channel] = {}
        """``prices:<hash>`` channels by order hash (one lookup per price change)."""
        self._hose_parts: list[bytes] = []
        """Firehose data of the tick so far: JSON objects joined by commas, per slice."""
        self._hose_flush_pending = False
        self._encode = msgspec.json.Encoder().encode
        self._heartbeat: asyncio.Task[None] | None = None

    # connections

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    def full(self) -> bool:
        return len(self._connections) >= self.settings.max_connections

    def connect(self, send: Send, principal: Principal | None,
                write_frame: WriteFrame | None = None, client: str = "") -> Connection:
        self._next_id += 1
        limits = self.limits
        conn = Connection(self._next_id, send, queue_limit=limits.ws_send_queue_messages,
                          queue_bytes=limits.ws_send_queue_bytes,
                          send_timeout=limits.ws_send_timeout_seconds,
                          counters=self.counters, principal=principal,
                          write_frame=write_frame, client=client)
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
            if name.startswith(PRICE_PREFIX):
                self._price_channels[name[len(PRICE_PREFIX):]] = channel
        channel.subscribers.add(conn)
        conn.subscriptions.add(name)
        return channel.seq

    def unsubscribe(self, conn: Connection, name: str) -> bool:
        if name not in conn.subscriptions:
            return False
        conn.subscriptions.discard(name)
        self._leave(conn, name)
        return True

    def recheck(self, keys: KeyLookup) -> None:
        """After the keys changed: a connection whose key was revoked is closed (4401);
        one whose key lost a scope loses the subscriptions that needed it, each with an
        ``unsubscribed`` message on its channel."""
        for conn in list(self._connections.values()):
            held = conn.principal
            if held is None or conn.closing:
                continue
            now = keys.current(held)
            if now is None:
                self.counters.revoked_closed += 1
                conn.end(CLOSE_KEY_REVOKED, "API key revoked")
                continue
            conn.principal = now
            for name in sorted(conn.subscriptions):
                scope = channel_scope(name)
                if scope is not None and not now.allows(scope):
                    self.unsubscribe(conn, name)
                    conn.push(revoked_message(UNSUBSCRIBED, name, FORBIDDEN,
                                              f"the API key lost the {scope.value} scope"))
        log.info("websocket_keys_rechecked", connections=len(self._connections))

    def _leave(self, conn: Connection, name: str) -> None:
        channel = self._channels.get(name)
        if channel is None:
            return
        channel.subscribers.discard(conn)
        if not channel.subscribers and name not in GLOBAL_CHANNELS:
            del self._channels[name]
            if name.startswith(PRICE_PREFIX):
                del self._price_channels[name[len(PRICE_PREFIX):]]

    # fan-out

    def attach(self, bus: EventBus) -> Callable[[], None]:
        """Follow every event on ``bus``; returns the function that stops it."""
        return bus.subscribe(None, self.on_event)

    def on_event(self, event: Any) -> None:
        kind = type(event)
        if kind is PricesUpdated:
            self._on_prices(event)
            return
        if kind is PriceUpdated:
            self._on_price(event)
            return
        for public in self._public.map(event):
            for name in public.channels:
                self.publish(name, public.event, public.data)

    def publish(self, name: str, event: str, data: bytes) -> None:
        """One message on channel ``name`` to all its subscribers (a no-op for a
        per-order channel nobody follows)."""
        channel = self._channels.get(name)
        if channel is not None:
            self._send(channel, event, data)

    @staticmethod
    def _send(channel: Channel, event: str, data: bytes) -> None:
        channel.seq += 1
        if channel.subscribers:
            payload = channel_payload(event, channel.name, channel.seq, data)
            text, frame = payload.decode(), text_frame(payload)
            for conn in channel.subscribers:
                conn.push(text, frame)

    def _on_prices(self, event: PricesUpdated) -> None:
        """Each change to its ``prices:<hash>`` channel if followed; the firehose's share
        encoded now (spread over the tick's slices) and sent with the last slice."""
        hose = bool(self._channels[PRICES].subscribers)
        channels = self._price_channels
        if channels or hose:
            encode = self._encode
            at, base_fee = event.at, str(event.base_fee)
            views = []
            for order_hash, bump, taking in zip(event.order_hashes, event.rate_bumps,
                                                event.taking_amounts, strict=True):
                channel = channels.get(order_hash)
                if channel is None and not hose:
                    continue
                view = PriceUpdateView(order_hash=order_hash, at=at, rate_bump=bump,
                                       taking_amount=str(taking), base_fee=base_fee)
                if channel is not None:
                    self._send(channel, PRICE_UPDATE, encode(view))
                if hose:
                    views.append(view)
            if views:
                self._hose_parts.append(encode(views)[1:-1])
        if event.last:
            self._flush_prices()

    def _on_price(self, event: PriceUpdated) -> None:
        """A single change (a follower's tick): the firehose message goes out once the
        tick's synchronous run of them is over."""
        if not self._hose_flush_pending:
            self._hose_flush_pending = True
            asyncio.get_running_loop().call_soon(self._flush_prices)
        self._on_prices(PricesUpdated(event.at, event.base_fee, (event.order_hash,),
                                      (event.rate_bump,), (event.taking_amount,), last=False))

    def _flush_prices(self) -> None:
        """One firehose message with every price change since the last flush."""
        self._hose_flush_pending = False
        parts, self._hose_parts = self._hose_parts, []
        firehose = self._channels[PRICES]
        if not parts and firehose.subscribers:
            return  # subscribers arrived after this tick's changes: nothing to send
        self._send(firehose, PRICE_UPDATE, b"[" + b",".join(parts) + b"]")

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
        """Every client gets a heartbeat each ``heartbeat_seconds``, in slices spread over
        the period: one burst to 10,000 clients held the loop for ~0.2 s, and a price
        tick behind it waited that long."""
        period = self.settings.heartbeat_seconds
        steps = max(1, round(period / _BEAT_STEP))
        while True:
            clients = list(self._connections.values())  # who joins later waits a round
            size = max(1, -(-len(clients) // steps))
            for step in range(steps):
                await asyncio.sleep(period / steps)
                self.beat(clients[step * size:(step + 1) * size])

    def beat(self, clients: Iterable[Connection] | None = None) -> None:
        """Send a heartbeat to ``clients`` (default: every client). A stuck socket is
        closed by its connection's own send timer, not here."""
        text = heartbeat_message(int(self._clock.now()))
        frame = text_frame(text.encode())
        for conn in list(self._connections.values()) if clients is None else clients:
            if not conn.closing:
                conn.push(text, frame)

    def stats(self) -> HubStats:
        queues = [c.queued for c in self._connections.values()]
        c = self.counters
        return HubStats(
            connections=len(self._connections),
            subscriptions=sum(len(conn.subscriptions) for conn in self._connections.values()),
            accepted=c.accepted, rejected=c.rejected, messages_sent=c.messages_sent,
            frames_written=c.frames_written,
            slow_closed=c.slow_closed, oversized_closed=c.oversized_closed,
            revoked_closed=c.revoked_closed, errors_replied=c.errors_replied, queued=sum(queues),
            max_queue=max(queues, default=0))
