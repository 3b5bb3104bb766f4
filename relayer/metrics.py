"""Every Prometheus series the relayer exports, on the app's own registry.

``Metrics`` is built once by ``create_app`` (no global default registry, so
two apps in one process never share series). Counters and histograms are
updated where things happen; everything that is a state rather than an event
(orders by status, chain heads, WebSocket connections) is read from its owner
at scrape time by a custom collector, so it can never drift from the truth.

Labels are bounded by design: route templates, methods, statuses, chain
names, enum reasons. Never an order hash, an address or a raw path.
``docs/metrics.md`` lists every series.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from relayer import __version__
from relayer.chains.status import ChainMonitor
from relayer.events.bus import EventBus
from relayer.orders.book import OrderBook
from relayer.orders.status import OrderStatus
from relayer.settlement.events import FillStatusChanged, SecretReleased
from relayer.settlement.policy import Withheld
from relayer.store.base import Checkpoint, EventStore, NewRecord, Record

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
FAST_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                0.25, 0.5, 1.0)
SECRET_SOURCES = ("maker", "custody", "chain")
"""How a released secret reached the relayer: posted by the maker, held in custody, or
already public on chain."""

T = TypeVar("T")


class WebSocketStats(Protocol):
    """What the WebSocket hub reports about itself (``relayer/api/ws/hub.py``)."""

    @property
    def connections(self) -> int: ...
    @property
    def subscriptions(self) -> int: ...
    @property
    def accepted(self) -> int: ...
    @property
    def rejected(self) -> int: ...
    @property
    def messages_sent(self) -> int: ...
    @property
    def slow_closed(self) -> int: ...
    @property
    def oversized_closed(self) -> int: ...
    @property
    def revoked_closed(self) -> int: ...
    @property
    def queued(self) -> int: ...
    @property
    def max_queue(self) -> int: ...


class WebSocketStatsSource(Protocol):
    def stats(self) -> WebSocketStats: ...


@dataclass(frozen=True, slots=True)
class NoWebSocketStats:
    """The reading before a hub is wired: nothing open, nothing sent."""

    connections: int = 0
    subscriptions: int = 0
    accepted: int = 0
    rejected: int = 0
    messages_sent: int = 0
    slow_closed: int = 0
    oversized_closed: int = 0
    revoked_closed: int = 0
    queued: int = 0
    max_queue: int = 0


@dataclass(frozen=True, slots=True)
class ReplicaReading:
    """This process among the replicas (``relayer/replica/replica.py``)."""

    leader: bool = True
    elections: int = 0
    schema_version: int = 0
    """The store schema's migration version (0: not known)."""
    log_head: int = 0
    """The newest log position this replica knows to be committed."""
    applied: int = 0
    """Every record up to this position is applied here."""

    @property
    def lag(self) -> int:
        return max(self.log_head - self.applied, 0)


class ReplicaSource(Protocol):
    def reading(self) -> ReplicaReading: ...


class Metrics:
    def __init__(self) -> None:
        registry = self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "relayer_http_requests", "HTTP requests answered, by route template.",
            ["route", "method", "status"], registry=registry)
        self.http_duration = Histogram(
            "relayer_http_request_duration_seconds", "Time to answer an HTTP request.",
            ["route", "method"], buckets=HTTP_BUCKETS, registry=registry)
        self.auth_refusals = Counter(
            "relayer_auth_refusals", "Requests refused for their credentials, by error code.",
            ["code"], registry=registry)
        self.rate_limited = Counter(
            "relayer_rate_limited", "Requests answered 429, by the limit hit (ip or key).",
            ["limit"], registry=registry)
        self.auth_failures = Counter(
            "relayer_auth_failures", "Failed authentications (a bad key or signature on a "
            "request, a WebSocket handshake or a WebSocket auth), by where and whether the "
            "client's address was then over its limit (answered 429).",
            ["transport", "throttled"], registry=registry)
        self.limit_refusals = Counter(
            "relayer_request_limit_refusals", "Requests refused for their size, by the limit"
            " broken (header_count, header_bytes, query_bytes, body_bytes).",
            ["limit"], registry=registry)
        self.decayer_ticks = Counter(
            "relayer_decayer_ticks", "Runs of the scheduled auction job.", registry=registry)
        self.decayer_tick_duration = Histogram(
            "relayer_decayer_tick_duration_seconds", "Time one auction job run took.",
            buckets=FAST_BUCKETS, registry=registry)
        self.decayer_tick_errors = Counter(
            "relayer_decayer_tick_errors", "Auction job runs that raised.", registry=registry)
        self.decayer_transitions = Counter(
            "relayer_decayer_transitions", "Orders the auction job moved, by new status.",
            ["to"], registry=registry)
        self.store_duration = Histogram(
            "relayer_store_operation_duration_seconds", "Time a store call took.",
            ["operation"], buckets=FAST_BUCKETS, registry=registry)
        self.store_errors = Counter(
            "relayer_store_errors", "Store calls that raised.", ["operation"],
            registry=registry)
        self.store_ping = Gauge(
            "relayer_store_ping_seconds", "Round trip of a trivial store query at the last "
            "scrape or health check (-1: unreachable).", registry=registry)
        self.event_handler_errors = Counter(
            "relayer_event_handler_errors", "Event-bus subscribers that raised, by handler.",
            ["handler"], registry=registry)
        self.secrets_released = Counter(
            "relayer_secrets_released", "Secrets handed out to resolvers, by source.",
            ["source"], registry=registry)
        self.secrets_withheld = Counter(
            "relayer_secrets_withheld",
            "Reveal decisions that withheld a secret, by reason (one per failed check).",
            ["reason"], registry=registry)
        self.build_info = Gauge("relayer_build_info", "The running version (always 1).",
                                ["version"], registry=registry)
        self.start_time = Gauge("relayer_start_time_seconds", "Unix time the process started.",
                                registry=registry)
        self.build_info.labels(version=__version__).set(1)
        self.start_time.set(time.time())
        for to in (OrderStatus.ACTIVE, OrderStatus.EXPIRED):
            self.decayer_transitions.labels(to=to.value)
        for source in SECRET_SOURCES:
            self.secrets_released.labels(source=source)
        for reason in Withheld:
            self.secrets_withheld.labels(reason=reason.value)
        self._ws_source: WebSocketStatsSource | None = None
        self._replica: ReplicaSource | None = None
        registry.register(_WebSocketCollector(self))
        registry.register(_ReplicaCollector(self))

    # ------------------------------------------------------------ sources read at scrape

    def watch(self, *, book: OrderBook, monitors: Sequence[ChainMonitor],
              hub: WebSocketStatsSource, replica: ReplicaSource, bus: EventBus) -> None:
        """Every source a running relayer has (``create_app``)."""
        self.watch_orders(book)
        self.watch_monitors(monitors)
        self.watch_websockets(hub)
        self.watch_replica(replica)
        self.watch_settlement(bus)

    def watch_orders(self, book: OrderBook) -> None:
        self.registry.register(_OrderCollector(book))

    def watch_monitors(self, monitors: Sequence[ChainMonitor]) -> None:
        self.registry.register(_ChainCollector(monitors))

    def watch_websockets(self, source: WebSocketStatsSource) -> None:
        """The WebSocket hub's counters; until one is set the series read zero."""
        self._ws_source = source

    def watch_replica(self, source: ReplicaSource) -> None:
        """Role, fan-out lag and schema version; until set, a sole leader with no lag."""
        self._replica = source

    def replica_reading(self) -> ReplicaReading:
        return ReplicaReading() if self._replica is None else self._replica.reading()

    def websocket_stats(self) -> WebSocketStats:
        if self._ws_source is None:
            return NoWebSocketStats()
        return self._ws_source.stats()

    # ------------------------------------------------------------ hooks for the owners

    def auth_failed(self, transport: str, throttled: bool) -> None:
        self.auth_failures.labels(transport=transport,
                                  throttled="true" if throttled else "false").inc()
        if throttled:
            self.rate_limited.labels(limit="auth").inc()

    def handler_failed(self, handler: str) -> None:
        self.event_handler_errors.labels(handler=handler).inc()

    def secret_released(self, source: str) -> None:
        self.secrets_released.labels(source=source).inc()

    def secret_withheld(self, reasons: Iterable[str]) -> None:
        for reason in reasons:
            self.secrets_withheld.labels(reason=str(reason)).inc()

    def watch_settlement(self, bus: EventBus) -> Callable[[], None]:
        """Count the coordinator's decisions from its events: each release by source, and
        each reason a fill's status change carries while its secret is withheld."""

        def released(event: SecretReleased) -> None:
            self.secret_released(event.source)

        def decided(event: FillStatusChanged) -> None:
            self.secret_withheld(event.reasons)

        detach = [bus.subscribe(SecretReleased, released),
                  bus.subscribe(FillStatusChanged, decided)]

        def unsubscribe() -> None:
            for undo in detach:
                undo()

        return unsubscribe

    def timed_tick(self, tick: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[None]]:
        """Wrap the auction job so each run is counted and timed."""

        async def run() -> None:
            started = time.perf_counter()
            try:
                result = await tick()
            except Exception:
                self.decayer_tick_errors.inc()
                raise
            finally:
                self.decayer_ticks.inc()
                self.decayer_tick_duration.observe(time.perf_counter() - started)
            for to, moved in (("active", getattr(result, "started", 0)),
                              ("expired", getattr(result, "expired", 0))):
                if moved:
                    self.decayer_transitions.labels(to=to).inc(moved)

        return run

    async def timed_store_call(self, operation: str, call: Awaitable[T]) -> T:
        started = time.perf_counter()
        try:
            return await call
        except Exception:
            self.store_errors.labels(operation=operation).inc()
            raise
        finally:
            self.store_duration.labels(operation=operation).observe(
                time.perf_counter() - started)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _OrderCollector(Collector):
    def __init__(self, book: OrderBook) -> None:
        self._book = book

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily("relayer_orders", "Orders in the book, by status.",
                                   labels=["status"])
        for status in OrderStatus:
            count = sum(1 for _ in self._book.with_status((status,)))
            family.add_metric([status.value], count)
        yield family


class _ChainCollector(Collector):
    def __init__(self, monitors: Sequence[ChainMonitor]) -> None:
        self._monitors = monitors

    def collect(self) -> Iterator[Metric]:
        head = GaugeMetricFamily("relayer_chain_head",
                                 "The chain's tip as last seen (block or slot).", labels=["chain"])
        processed = GaugeMetricFamily("relayer_chain_processed",
                                      "Newest block or slot committed to the store.",
                                      labels=["chain"])
        lag = GaugeMetricFamily("relayer_chain_lag", "Blocks or slots processed trails head.",
                                labels=["chain"])
        connected = GaugeMetricFamily("relayer_chain_connected",
                                      "1 when the last RPC call succeeded.", labels=["chain"])
        healthy = GaugeMetricFamily("relayer_chain_healthy",
                                    "1 when connected and within the allowed lag.",
                                    labels=["chain"])
        reorgs = CounterMetricFamily("relayer_chain_reorgs",
                                     "Reorgs (Ethereum) or rollbacks (Cardano) seen.",
                                     labels=["chain"])
        rpc_errors = CounterMetricFamily("relayer_chain_rpc_errors", "Failed RPC calls.",
                                         labels=["chain"])
        for monitor in self._monitors:
            status = monitor.status()
            chain = [status.chain]
            if status.head is not None:
                head.add_metric(chain, status.head)
            if status.processed is not None:
                processed.add_metric(chain, status.processed)
            if status.lag is not None:
                lag.add_metric(chain, status.lag)
            connected.add_metric(chain, 1 if status.connected else 0)
            healthy.add_metric(chain, 1 if status.healthy else 0)
            reorgs.add_metric(chain, status.reorgs)
            rpc_errors.add_metric(chain, status.rpc_errors)
        yield from (head, processed, lag, connected, healthy, reorgs, rpc_errors)


class _WebSocketCollector(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        stats = self._metrics.websocket_stats()
        yield GaugeMetricFamily("relayer_websocket_connections", "Open WebSocket connections.",
                                value=stats.connections)
        yield GaugeMetricFamily("relayer_websocket_subscriptions",
                                "Channel subscriptions over all connections.",
                                value=stats.subscriptions)
        yield CounterMetricFamily("relayer_websocket_accepted",
                                  "WebSocket connections accepted.", value=stats.accepted)
        yield CounterMetricFamily("relayer_websocket_rejected",
                                  "WebSocket handshakes refused (limit reached, bad key).",
                                  value=stats.rejected)
        yield CounterMetricFamily("relayer_websocket_messages_sent",
                                  "Messages sent to WebSocket clients.", value=stats.messages_sent)
        dropped = CounterMetricFamily("relayer_websocket_dropped",
                                      "Connections the hub closed, by reason: slow (the client "
                                      "did not keep up), oversized (a too large message) or "
                                      "revoked (its API key was revoked).",
                                      labels=["reason"])
        dropped.add_metric(["slow"], stats.slow_closed)
        dropped.add_metric(["oversized"], stats.oversized_closed)
        dropped.add_metric(["revoked"], stats.revoked_closed)
        yield dropped
        yield GaugeMetricFamily("relayer_websocket_queued_messages",
                                "Messages waiting in all send queues.", value=stats.queued)
        yield GaugeMetricFamily("relayer_websocket_max_queue",
                                "The longest single send queue.", value=stats.max_queue)


class _ReplicaCollector(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        reading = self._metrics.replica_reading()
        yield GaugeMetricFamily("relayer_replica_leader",
                                "1 while this replica leads (runs the monitors, the auction "
                                "job and webhook deliveries), 0 while it follows.",
                                value=1 if reading.leader else 0)
        yield CounterMetricFamily("relayer_replica_elections",
                                  "Times this replica became the leader.",
                                  value=reading.elections)
        yield GaugeMetricFamily("relayer_fanout_lag_events",
                                "Log records committed (by any replica) and not yet applied "
                                "here.", value=reading.lag)
        yield GaugeMetricFamily("relayer_fanout_applied_position",
                                "Every log record up to this position is applied here.",
                                value=reading.applied)
        yield GaugeMetricFamily("relayer_store_schema_version",
                                "The store schema's migration version (0: not known).",
                                value=reading.schema_version)


class TimedStore:
    """An ``EventStore`` that times every call of the store it wraps. Anything else the
    wrapped store offers (a log feed, migrations) passes through unchanged."""

    def __init__(self, inner: EventStore, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    @property
    def inner(self) -> EventStore:
        return self._inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def open(self) -> None:
        await self._inner.open()

    async def close(self) -> None:
        await self._inner.close()

    async def append(self, records: Sequence[NewRecord], *,
                     checkpoint: Checkpoint | None = None) -> list[Record]:
        return await self._metrics.timed_store_call(
            "append", self._inner.append(records, checkpoint=checkpoint))

    async def read_checkpoint(self, name: str) -> Checkpoint | None:
        return await self._metrics.timed_store_call(
            "read_checkpoint", self._inner.read_checkpoint(name))

    async def read(self, after: int = 0, limit: int = 1000) -> list[Record]:
        return await self._metrics.timed_store_call("read", self._inner.read(after, limit))

    async def read_stream(self, stream: str) -> list[Record]:
        return await self._metrics.timed_store_call("read_stream",
                                                    self._inner.read_stream(stream))

    async def last_position(self) -> int:
        return await self._metrics.timed_store_call("last_position",
                                                    self._inner.last_position())

    async def ping(self) -> float:
        try:
            seconds = await self._inner.ping()
        except Exception:
            self._metrics.store_ping.set(-1)
            raise
        self._metrics.store_ping.set(seconds)
        return seconds
