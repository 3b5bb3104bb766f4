"""The dispatcher: matches bus events to endpoints and delivers them, never blocking the bus.

Flow of one event:

1. ``on_event`` (a synchronous bus handler) maps the domain event to public
   events, matches each endpoint's filters and puts ``(endpoint, event)`` on a
   bounded intake queue with ``put_nowait``. A full queue, or an endpoint
   already holding ``max_pending_per_endpoint`` undelivered deliveries, counts
   a drop; nothing ever waits.
2. The recorder task takes what is queued, writes one ``DeliveryCreated`` per
   delivery in a single append, and hands each to its endpoint.
3. Each endpoint has its own worker tasks, so a slow or hanging receiver holds
   up only its own deliveries. A worker signs and POSTs, then records the
   attempt: delivered on 2xx; otherwise a retry at a backoff time, or failed
   when no attempts are left.
4. ``run_due`` (every ``webhooks.retry_poll_seconds`` in the app; by hand in
   tests with a fake clock) moves retries whose time has come back to work.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
import secrets
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
import structlog

from relayer.clock import Clock
from relayer.config import WebhookSettings
from relayer.errors import ValidationError
from relayer.events.public import PublicEvent, PublicEvents
from relayer.events.types import PriceUpdated
from relayer.webhooks.backoff import RetryPolicy
from relayer.webhooks.journal import DeliveryJournal
from relayer.webhooks.model import TERMINAL, Attempt, Delivery, DeliveryStatus, Webhook
from relayer.webhooks.registry import WebhookRegistry
from relayer.webhooks.signing import SIGNATURE_HEADER, signature_header
from relayer.webhooks.transport import DeliveryFailed, Transport
from relayer.webhooks.validation import NOT_BY_WEBHOOK
from relayer.webhooks.wire import Payload

log = structlog.get_logger(__name__)

_SKIPPED_TYPES: tuple[type[Any], ...] = (PriceUpdated,)
"""Domain events that only ever become events webhooks do not send (saves the mapping)."""
_RECORD_BATCH = 512
_STOP = None


@dataclass(slots=True)
class DispatchStats:
    matched: int = 0
    dropped: int = 0
    """Matched but not recorded: intake queue full, endpoint backlog full, store failure."""
    attempts: int = 0
    delivered: int = 0
    retries_scheduled: int = 0
    failed: int = 0


@dataclass(eq=False, slots=True)
class Endpoint:
    webhook: Webhook
    ready: deque[Delivery] = field(default_factory=deque)
    scheduled: list[tuple[float, int, Delivery]] = field(default_factory=list)
    recent: dict[str, Delivery] = field(default_factory=dict)
    """Deliveries by id in creation order: every pending one plus the newest finished."""
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    workers: list[asyncio.Task[None]] = field(default_factory=list)
    backlog: int = 0
    """Deliveries queued for recording or not yet finished."""
    seq: int = 0
    dropped: int = 0
    closed: bool = False

    def pending(self) -> int:
        return sum(1 for d in self.recent.values() if d.status is DeliveryStatus.PENDING)


class WebhookDispatcher:
    def __init__(self, *, registry: WebhookRegistry, journal: DeliveryJournal,
                 transport: Transport, public: PublicEvents, clock: Clock,
                 settings: WebhookSettings, rng: random.Random | None = None) -> None:
        self._registry = registry
        self._journal = journal
        self._transport = transport
        self._public = public
        self._clock = clock
        self._settings = settings
        self._policy = RetryPolicy(max_attempts=settings.max_attempts,
                                   initial_seconds=settings.retry_initial_seconds,
                                   max_seconds=settings.retry_max_seconds,
                                   jitter=settings.retry_jitter)
        self._rng = rng or random.Random()
        self._endpoints: dict[str, Endpoint] = {}
        self._intake: asyncio.Queue[tuple[Endpoint, PublicEvent] | None] = asyncio.Queue(
            maxsize=settings.queue_size)
        self._recorder: asyncio.Task[None] | None = None
        self._running = False
        self._stopped = False
        self._tiebreak = itertools.count()
        self.stats = DispatchStats()
        registry.listen(self)

    @property
    def policy(self) -> RetryPolicy:
        return self._policy

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> int:
        """Load every endpoint's deliveries from the log and start working; the
        number of pending deliveries resumed."""
        resumed = 0
        for webhook in self._registry.active():
            endpoint = Endpoint(webhook)
            self._endpoints[webhook.webhook_id] = endpoint
            now = self._clock.now()
            for delivery in await self._journal.load(webhook.webhook_id):
                self._remember(endpoint, delivery)
                if delivery.status is DeliveryStatus.PENDING:
                    endpoint.backlog += 1
                    resumed += 1
                    self._schedule(endpoint, delivery, now)
            self._trim(endpoint)
        self._running = True
        self._recorder = asyncio.create_task(self._record_loop(), name="webhook-recorder")
        for endpoint in self._endpoints.values():
            self._start_workers(endpoint)
        log.info("webhooks_started", endpoints=len(self._endpoints), resumed=resumed)
        return resumed

    async def stop(self, timeout: float = 5.0) -> None:
        """Let in-flight attempts finish (and be recorded) for up to ``timeout``,
        then cancel; whatever is still pending resumes from the log next start."""
        if self._stopped:
            return
        self._stopped = True
        if not self._running:
            await self._transport.aclose()
            return
        self._running = False
        tasks: list[asyncio.Task[None]] = []
        if self._recorder is not None:
            try:
                self._intake.put_nowait(_STOP)
            except asyncio.QueueFull:
                self._recorder.cancel()
            tasks.append(self._recorder)
        for endpoint in self._endpoints.values():
            endpoint.wake.set()
            tasks.extend(endpoint.workers)
        if tasks:
            _done, late = await asyncio.wait(tasks, timeout=timeout)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        await self._transport.aclose()

    # -- registry listener -------------------------------------------------------

    def webhook_added(self, webhook: Webhook) -> None:
        if webhook.webhook_id in self._endpoints:
            return
        endpoint = Endpoint(webhook)
        self._endpoints[webhook.webhook_id] = endpoint
        if self._running:
            self._start_workers(endpoint)

    def webhook_removed(self, webhook: Webhook) -> None:
        endpoint = self._endpoints.pop(webhook.webhook_id, None)
        if endpoint is None:
            return
        endpoint.closed = True
        for task in endpoint.workers:
            task.cancel()
        self._journal.forget(webhook.webhook_id)

    # -- the bus side: never awaits ----------------------------------------------

    def on_event(self, event: Any) -> None:
        if not self._endpoints or isinstance(event, _SKIPPED_TYPES):
            return
        for published in self._public.map(event):
            if published.event in NOT_BY_WEBHOOK:
                continue
            chains = (None if published.src_chain is None or published.dst_chain is None
                      else (published.src_chain, published.dst_chain))
            for endpoint in self._endpoints.values():
                if endpoint.webhook.filters.matches(published.event, chains, published.maker):
                    self._enqueue(endpoint, published)

    def _enqueue(self, endpoint: Endpoint, published: PublicEvent) -> None:
        self.stats.matched += 1
        if endpoint.backlog >= self._settings.max_pending_per_endpoint:
            self._drop(endpoint, published.event, "endpoint_backlog_full")
            return
        try:
            self._intake.put_nowait((endpoint, published))
        except asyncio.QueueFull:
            self._drop(endpoint, published.event, "intake_queue_full")
            return
        endpoint.backlog += 1

    def _drop(self, endpoint: Endpoint, event: str, reason: str) -> None:
        self.stats.dropped += 1
        endpoint.dropped += 1
        if endpoint.dropped == 1 or endpoint.dropped % 1000 == 0:
            log.warning("webhook_delivery_dropped", webhook_id=endpoint.webhook.webhook_id,
                        event_name=event, reason=reason, dropped=endpoint.dropped)

    # -- recording ----------------------------------------------------------------

    async def _record_loop(self) -> None:
        while True:
            first = await self._intake.get()
            batch = [first]
            while len(batch) < _RECORD_BATCH and not self._intake.empty():
                batch.append(self._intake.get_nowait())
            items = [item for item in batch if item is not None]
            if items:
                await self._record(items)
            if _STOP in batch:
                return

    async def _record(self, items: list[tuple[Endpoint, PublicEvent]]) -> None:
        now = self._clock.now()
        fresh: list[tuple[Endpoint, Delivery]] = []
        for endpoint, published in items:
            if endpoint.closed:
                continue
            delivery_id = "dlv_" + secrets.token_hex(12)
            body = msgspec.json.encode(Payload(
                id=delivery_id, event=published.event, webhook_id=endpoint.webhook.webhook_id,
                order_hash=published.order_hash, created_at=int(now),
                data=msgspec.Raw(published.data)))
            fresh.append((endpoint, Delivery(
                webhook_id=endpoint.webhook.webhook_id, delivery_id=delivery_id,
                event=published.event, order_hash=published.order_hash or "", body=body,
                created_at=now, next_attempt_at=now)))
        try:
            await self._journal.created([delivery for _, delivery in fresh])
        except Exception:
            log.exception("webhook_deliveries_not_recorded", count=len(fresh))
            for endpoint, delivery in fresh:
                endpoint.backlog -= 1
                self._drop(endpoint, delivery.event, "store_failed")
            return
        for endpoint, delivery in fresh:
            if endpoint.closed:
                continue
            self._remember(endpoint, delivery)
            endpoint.ready.append(delivery)
            endpoint.wake.set()
            self._trim(endpoint)

    # -- delivering ----------------------------------------------------------------

    def _start_workers(self, endpoint: Endpoint) -> None:
        for n in range(self._settings.endpoint_concurrency):
            endpoint.workers.append(asyncio.create_task(
                self._work(endpoint), name=f"webhook-{endpoint.webhook.webhook_id}-{n}"))
        if endpoint.ready:
            endpoint.wake.set()

    async def _work(self, endpoint: Endpoint) -> None:
        while self._running and not endpoint.closed:
            if not endpoint.ready:
                endpoint.wake.clear()
                await endpoint.wake.wait()
                continue
            await self._attempt(endpoint, endpoint.ready.popleft())

    async def _attempt(self, endpoint: Endpoint, delivery: Delivery) -> None:
        webhook = endpoint.webhook
        number = len(delivery.attempts) + 1
        timestamp = int(self._clock.now())
        headers = {
            "Content-Type": "application/json",
            "X-Relayer-Event": delivery.event,
            "X-Relayer-Delivery": delivery.delivery_id,
            "X-Relayer-Webhook": webhook.webhook_id,
            "X-Relayer-Attempt": str(number),
            SIGNATURE_HEADER: signature_header(webhook.secret, timestamp, delivery.body),
        }
        started = time.perf_counter()
        status_code: int | None = None
        try:
            status_code = await self._transport.post(webhook.url, delivery.body, headers)
            error = "" if 200 <= status_code < 300 else f"HTTP {status_code}"
        except DeliveryFailed as exc:
            error = exc.message
        except Exception:
            log.exception("webhook_attempt_crashed", webhook_id=webhook.webhook_id,
                          delivery_id=delivery.delivery_id)
            error = "internal error while sending"
        attempt = Attempt(number=number, at=self._clock.now(),
                          duration_ms=int((time.perf_counter() - started) * 1000),
                          status_code=status_code, error=error)
        self.stats.attempts += 1
        next_at: float | None = None
        if not error:
            outcome = DeliveryStatus.DELIVERED
        elif self._policy.gives_up_after(number):
            outcome = DeliveryStatus.FAILED
        else:
            outcome = DeliveryStatus.PENDING
            next_at = attempt.at + self._policy.delay(number, self._rng)
        try:
            await self._journal.attempted(delivery, attempt, outcome, next_at)
        except Exception:
            # The attempt still happened; without its record a restart retries it
            # (receivers deduplicate by X-Relayer-Delivery).
            log.exception("webhook_attempt_not_recorded", webhook_id=webhook.webhook_id,
                          delivery_id=delivery.delivery_id)
        delivery.record(attempt, outcome, next_at)
        self._finish(endpoint, delivery, outcome, error)

    def _finish(self, endpoint: Endpoint, delivery: Delivery, outcome: DeliveryStatus,
                error: str) -> None:
        webhook_id = endpoint.webhook.webhook_id
        if outcome is DeliveryStatus.PENDING:
            self.stats.retries_scheduled += 1
            assert delivery.next_attempt_at is not None
            heapq.heappush(endpoint.scheduled,
                           (delivery.next_attempt_at, next(self._tiebreak), delivery))
            log.info("webhook_attempt_failed", webhook_id=webhook_id,
                     delivery_id=delivery.delivery_id, attempt=len(delivery.attempts),
                     error=error, next_attempt_at=delivery.next_attempt_at)
            return
        endpoint.backlog -= 1
        if outcome is DeliveryStatus.DELIVERED:
            self.stats.delivered += 1
        else:
            self.stats.failed += 1
            log.warning("webhook_delivery_failed", webhook_id=webhook_id,
                        delivery_id=delivery.delivery_id, attempts=len(delivery.attempts),
                        error=error)
        self._trim(endpoint)

    async def run_due(self) -> int:
        """Move retries whose time has come to their endpoint's workers; how many moved."""
        now = self._clock.now()
        moved = 0
        for endpoint in self._endpoints.values():
            count = 0
            while endpoint.scheduled and endpoint.scheduled[0][0] <= now:
                _, _, delivery = heapq.heappop(endpoint.scheduled)
                endpoint.ready.append(delivery)
                count += 1
            if count:
                endpoint.wake.set()
                moved += count
        return moved

    def _schedule(self, endpoint: Endpoint, delivery: Delivery, now: float) -> None:
        due = delivery.next_attempt_at if delivery.next_attempt_at is not None else now
        if due <= now:
            endpoint.ready.append(delivery)
        else:
            heapq.heappush(endpoint.scheduled, (due, next(self._tiebreak), delivery))

    # -- what the API reads ---------------------------------------------------------

    def pending_count(self, webhook_id: str) -> int:
        endpoint = self._endpoints.get(webhook_id)
        return 0 if endpoint is None else endpoint.pending()

    def deliveries(self, webhook_id: str, *, status: DeliveryStatus | None = None,
                   before: int | None = None) -> Iterator[Delivery]:
        """Deliveries newest first, optionally of one status and older than ``before`` (a seq)."""
        endpoint = self._endpoints.get(webhook_id)
        if endpoint is None:
            return
        for delivery in reversed(endpoint.recent.values()):
            if before is not None and delivery.seq >= before:
                continue
            if status is None or delivery.status is status:
                yield delivery

    def _remember(self, endpoint: Endpoint, delivery: Delivery) -> None:
        endpoint.seq += 1
        delivery.seq = endpoint.seq
        endpoint.recent[delivery.delivery_id] = delivery

    def _trim(self, endpoint: Endpoint) -> None:
        limit = self._settings.history_per_endpoint
        excess = len(endpoint.recent) - limit
        if excess <= limit // 4:
            return
        for delivery_id in [d.delivery_id for d in endpoint.recent.values()
                            if d.status in TERMINAL][:excess]:
            del endpoint.recent[delivery_id]


def parse_status(text: str | None) -> DeliveryStatus | None:
    if text is None:
        return None
    try:
        return DeliveryStatus(text)
    except ValueError:
        raise ValidationError(f"unknown delivery status {text!r}", code="INVALID_PARAMETER",
                              details={"parameter": "status",
                                       "known": [s.value for s in DeliveryStatus]}) from None
