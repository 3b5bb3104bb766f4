"""The dispatcher: matches bus events to endpoints and delivers them, never blocking the bus.

Several replicas may share one store, and every one sees every stored event.
Only the replica that leads delivers (``lead`` / ``follow``, run as a leader
duty), so each endpoint gets each event once:

1. ``on_event`` (a synchronous bus handler) maps the domain event to public
   events, matches each endpoint's filters and puts the match on a bounded
   intake queue with ``put_nowait``. A full queue, or an endpoint already
   holding ``max_pending_per_endpoint`` undelivered deliveries, counts a drop;
   nothing ever waits. Events of the log are matched only while leading;
   events that exist only on this replica's bus (a secret shared here) are
   matched on any replica, since no other replica will see them.
2. The recorder task takes what is queued and writes one ``DeliveryCreated``
   per delivery in a single append; the leader's appends also advance the
   matched cursor (``journal.MatchedCursor``), so a new leader knows where to
   pick up (``catchup.py``).
3. On the leader each endpoint has its own worker tasks, so a slow or hanging
   receiver holds up only its own deliveries. A worker signs and POSTs, then
   records the attempt: delivered on 2xx; otherwise a retry at a backoff time,
   or failed when no attempts are left.
4. ``run_due`` (every ``webhooks.retry_poll_seconds`` in the app; by hand in
   tests with a fake clock) moves retries whose time has come back to work.

Records other replicas commit (registrations, deliveries, attempts) arrive on
the bus through the log follower and are folded in, so every replica lists
the same deliveries and a new leader resumes every pending one.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import structlog

from relayer.clock import Clock
from relayer.config import WebhookSettings
from relayer.errors import ValidationError
from relayer.pricing.events import PriceUpdated
from relayer.public.events import PublicEvent, PublicEvents
from relayer.webhooks.access import REVOKED, OwnerAccess
from relayer.webhooks.backoff import RetryPolicy
from relayer.webhooks.catchup import Catchup, match
from relayer.webhooks.endpoint import Endpoint
from relayer.webhooks.journal import DeliveryJournal, attempt_of
from relayer.webhooks.model import Attempt, Delivery, DeliveryStatus, Webhook
from relayer.webhooks.recorder import Lead, Matched, Recorder
from relayer.webhooks.records import (
    DeliveryAttempted,
    DeliveryCreated,
    WebhookDeleted,
    WebhookRegistered,
)
from relayer.webhooks.registry import WebhookRegistry
from relayer.webhooks.sender import Outcome, Sender
from relayer.webhooks.transport import Transport

log = structlog.get_logger(__name__)

_SKIPPED_TYPES: tuple[type[Any], ...] = (PriceUpdated,)
"""Domain events that only ever become events webhooks do not send (saves the mapping)."""
_FOLDED = (WebhookRegistered, WebhookDeleted, DeliveryCreated, DeliveryAttempted)


@dataclass(slots=True)
class DispatchStats:
    matched: int = 0
    dropped: int = 0
    """Matched but not recorded: intake queue full, endpoint backlog full, store failure."""
    attempts: int = 0
    delivered: int = 0
    retries_scheduled: int = 0
    failed: int = 0


class WebhookDispatcher:
    def __init__(self, *, registry: WebhookRegistry, journal: DeliveryJournal,
                 transport: Transport, public: PublicEvents, clock: Clock,
                 settings: WebhookSettings, rng: random.Random | None = None,
                 catchup: Catchup | None = None,
                 position: Callable[[], int] | None = None,
                 access: OwnerAccess | None = None,
                 stored: frozenset[type[Any]] = frozenset()) -> None:
        """``position``: the log position every event published so far is at or before
        (read between bus publications; exact while the log follower applies a record).
        ``access``: whether an owner's key may still receive an event (``access.py``);
        ``None``: never re-checked after registration. ``stored``: the event types the
        log holds (the leader delivers those; a catch-up redelivers them)."""
        self._stored = stored
        self._access = access
        self._registry = registry
        self._journal = journal
        self._public = public
        self._clock = clock
        self._settings = settings
        self._catchup = catchup
        self._position = position or (lambda: 0)
        self._policy = RetryPolicy(max_attempts=settings.max_attempts,
                                   initial_seconds=settings.retry_initial_seconds,
                                   max_seconds=settings.retry_max_seconds,
                                   jitter=settings.retry_jitter)
        self._sender = Sender(transport=transport, clock=clock, policy=self._policy,
                              rng=rng or random.Random())
        self._endpoints: dict[str, Endpoint] = {}
        self._lead = Lead()
        self._recorder = Recorder(
            journal=journal, clock=clock, lead=self._lead, position=self._position,
            catchup=catchup, queue_size=settings.queue_size,
            history=settings.history_per_endpoint,
            max_pending=settings.max_pending_per_endpoint, drop=self._drop)
        self._recording: asyncio.Task[None] | None = None
        self._running = False
        self._stopped = False
        self.stats = DispatchStats()
        registry.listen(self)

    @property
    def policy(self) -> RetryPolicy:
        return self._policy

    @property
    def leading(self) -> bool:
        """This replica leads (it may still be catching up)."""
        return self._lead.leading

    @property
    def delivering(self) -> bool:
        """Leading, caught up, and every pending delivery handed to the workers."""
        return self._lead.delivering

    @property
    def caught_up(self) -> int:
        """Deliveries this replica created, on taking the lead, for events nobody matched."""
        return self._recorder.caught_up

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        """Load every endpoint's deliveries from the log and start recording; delivering
        starts when this replica leads (``lead``)."""
        for webhook in self._registry.active():
            endpoint = Endpoint(webhook)
            self._endpoints[webhook.webhook_id] = endpoint
            for delivery in await self._journal.load(webhook.webhook_id):
                endpoint.remember(delivery)
            endpoint.read_through = self._journal.positions.get(webhook.webhook_id, 0)
            endpoint.trim(self._settings.history_per_endpoint)
        self._running = True
        self._recording = asyncio.create_task(self._recorder.run(), name="webhook-recorder")
        log.info("webhooks_started", endpoints=len(self._endpoints))

    async def lead(self) -> int:
        """Start delivering: match what no leader matched yet, then resume every pending
        delivery; the number resumed."""
        lead = self._lead
        if lead.leading or not self._running or self._stopped:
            return 0
        lead.epoch += 1
        epoch = lead.epoch
        lead.leading = True
        upto = self._position()
        try:
            async with self._recorder.lock:
                if epoch != lead.epoch:
                    return 0
                await self._recorder.catch_up(upto, tuple(self._endpoints.values()))
                resumed = self._resume(epoch)
        except BaseException:
            if epoch == lead.epoch:
                lead.leading = False
                lead.epoch += 1
            raise
        log.info("webhooks_leading", endpoints=len(self._endpoints), resumed=resumed,
                 caught_up=self._recorder.caught_up, matched_through=upto)
        return resumed

    async def follow(self, timeout: float = 5.0) -> None:
        """Stop delivering (another replica leads now, or shutdown): attempts in flight
        get ``timeout`` to finish and be recorded, then are cancelled; pending deliveries
        stay in the log for whoever leads next."""
        lead = self._lead
        if not lead.leading:
            return
        lead.leading = lead.delivering = False
        lead.epoch += 1
        self._recorder.forget_cursor()
        tasks = [task for endpoint in self._endpoints.values() for task in endpoint.workers]
        for endpoint in self._endpoints.values():
            endpoint.wake.set()
        await _finish(tasks, timeout)
        for endpoint in self._endpoints.values():
            endpoint.release()
        log.info("webhooks_following")

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop delivering, record what is queued for this replica alone, close."""
        if self._stopped:
            return
        self._stopped = True
        await self.follow(timeout)
        self._running = False
        if self._recording is not None:
            try:
                self._recorder.intake.put_nowait(None)
            except asyncio.QueueFull:
                self._recording.cancel()
            await _finish([self._recording], timeout)
        await self._sender.aclose()

    # -- registry listener -------------------------------------------------------

    def webhook_added(self, webhook: Webhook) -> None:
        if webhook.webhook_id in self._endpoints:
            return
        endpoint = Endpoint(webhook)
        self._endpoints[webhook.webhook_id] = endpoint
        if self._lead.delivering:
            self._start_workers(endpoint, self._lead.epoch)

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
        kind = type(event)
        if kind in _FOLDED:
            self._fold(event)
            return
        if not self._endpoints or not self._running or kind in _SKIPPED_TYPES:
            return
        stored = kind in self._stored
        if stored and not self._lead.leading:
            return  # the leader delivers it
        for published in self._public.map(event):
            for endpoint in match(published, tuple(self._endpoints.values()),
                                  access=self._access):
                self._enqueue(endpoint, published, stored)

    def _enqueue(self, endpoint: Endpoint, published: PublicEvent, stored: bool) -> None:
        self.stats.matched += 1
        if endpoint.backlog >= self._settings.max_pending_per_endpoint:
            self._drop(endpoint, published.event, "endpoint_backlog_full")
            return
        if not self._recorder.put(Matched(endpoint, published, stored, self._lead.epoch)):
            self._drop(endpoint, published.event, "intake_queue_full")

    def _drop(self, endpoint: Endpoint, event: str, reason: str) -> None:
        self.stats.dropped += 1
        endpoint.dropped += 1
        if endpoint.dropped == 1 or endpoint.dropped % 1000 == 0:
            log.warning("webhook_delivery_dropped", webhook_id=endpoint.webhook.webhook_id,
                        event_name=event, reason=reason, dropped=endpoint.dropped)

    def _fold(self, event: Any) -> None:
        """A record another replica committed, brought by the log follower."""
        if isinstance(event, WebhookRegistered | WebhookDeleted):
            self._registry.fold(event)
            return
        endpoint = self._endpoints.get(event.webhook_id)
        if endpoint is None:
            return
        position = self._position()
        if position and position <= endpoint.read_through:
            return  # read at startup already
        endpoint.read_through = max(endpoint.read_through, position)
        if isinstance(event, DeliveryCreated):
            if event.delivery_id in endpoint.recent:
                return
            delivery = self._journal.delivery_of(event)
            endpoint.remember(delivery)
            if self._lead.delivering:
                endpoint.ready.append(delivery)
                endpoint.wake.set()
            endpoint.trim(self._settings.history_per_endpoint)
            return
        found = endpoint.recent.get(event.delivery_id)
        if (found is not None and found.status is DeliveryStatus.PENDING
                and event.attempt == len(found.attempts) + 1):
            # On a leader: a deposed leader's last attempt; a queued copy is skipped.
            endpoint.record(found, attempt_of(event), DeliveryStatus(event.outcome),
                            event.next_attempt_at)

    # -- delivering ----------------------------------------------------------------

    def _resume(self, epoch: int) -> int:
        """Hand every pending delivery to its endpoint's workers and start them."""
        now = self._clock.now()
        resumed = 0
        for endpoint in self._endpoints.values():
            for delivery in endpoint.recent.values():
                if delivery.status is DeliveryStatus.PENDING:
                    resumed += 1
                    endpoint.schedule(delivery, now)
            self._start_workers(endpoint, epoch)
        self._lead.delivering = True
        return resumed

    def _start_workers(self, endpoint: Endpoint, epoch: int) -> None:
        for n in range(self._settings.endpoint_concurrency):
            endpoint.workers.append(asyncio.create_task(
                self._work(endpoint, epoch), name=f"webhook-{endpoint.webhook.webhook_id}-{n}"))
        if endpoint.ready:
            endpoint.wake.set()

    async def _work(self, endpoint: Endpoint, epoch: int) -> None:
        while self._lead.epoch == epoch and not endpoint.closed:
            if not endpoint.ready:
                endpoint.wake.clear()
                await endpoint.wake.wait()
                continue
            delivery = endpoint.ready.popleft()
            if delivery.status is DeliveryStatus.PENDING:
                await self._attempt(endpoint, delivery)

    async def _attempt(self, endpoint: Endpoint, delivery: Delivery) -> None:
        access = self._access
        if access is not None and not access.allows(endpoint.webhook, delivery.event):
            outcome = Outcome(Attempt(number=len(delivery.attempts) + 1, at=self._clock.now(),
                                      duration_ms=0, status_code=None, error=REVOKED),
                              DeliveryStatus.FAILED, None)
            log.warning("webhook_delivery_revoked", webhook_id=endpoint.webhook.webhook_id,
                        delivery_id=delivery.delivery_id, event_name=delivery.event)
        else:
            outcome = await self._sender.send(endpoint.webhook, delivery)
        self.stats.attempts += 1
        try:
            await self._journal.attempted(delivery, outcome.attempt, outcome.status,
                                          outcome.next_attempt_at)
        except Exception:
            # The attempt still happened; without its record a restart retries it
            # (receivers deduplicate by X-Relayer-Delivery).
            log.exception("webhook_attempt_not_recorded", webhook_id=endpoint.webhook.webhook_id,
                          delivery_id=delivery.delivery_id)
        if delivery.status is not DeliveryStatus.PENDING:
            return  # a former leader's record of the same attempt came in meanwhile
        endpoint.record(delivery, outcome.attempt, outcome.status, outcome.next_attempt_at)
        self._finish(endpoint, delivery, outcome.status, outcome.attempt.error)

    def _finish(self, endpoint: Endpoint, delivery: Delivery, outcome: DeliveryStatus,
                error: str) -> None:
        webhook_id = endpoint.webhook.webhook_id
        if outcome is DeliveryStatus.PENDING:
            self.stats.retries_scheduled += 1
            endpoint.schedule(delivery, self._clock.now())
            log.info("webhook_attempt_failed", webhook_id=webhook_id,
                     delivery_id=delivery.delivery_id, attempt=len(delivery.attempts),
                     error=error, next_attempt_at=delivery.next_attempt_at)
            return
        if outcome is DeliveryStatus.DELIVERED:
            self.stats.delivered += 1
        else:
            self.stats.failed += 1
            log.warning("webhook_delivery_failed", webhook_id=webhook_id,
                        delivery_id=delivery.delivery_id, attempts=len(delivery.attempts),
                        error=error)
        endpoint.trim(self._settings.history_per_endpoint)

    async def run_due(self) -> int:
        """Move retries whose time has come to their endpoint's workers; how many moved.
        The leader also moves the cursor over a quiet stretch of the log."""
        now = self._clock.now()
        moved = 0
        for endpoint in self._endpoints.values():
            moved += endpoint.due(now)
        if self._endpoints:
            await self._recorder.move_idle_cursor()
        return moved

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


async def _finish(tasks: list[asyncio.Task[None]], timeout: float) -> None:
    """Wait up to ``timeout`` for ``tasks``, then cancel what is left."""
    if not tasks:
        return
    _done, late = await asyncio.wait(tasks, timeout=timeout)
    for task in late:
        task.cancel()
    await asyncio.gather(*late, return_exceptions=True)


def parse_status(text: str | None) -> DeliveryStatus | None:
    if text is None:
        return None
    try:
        return DeliveryStatus(text)
    except ValueError:
        raise ValidationError(f"unknown delivery status {text!r}", code="INVALID_PARAMETER",
                              details={"parameter": "status",
                                       "known": [s.value for s in DeliveryStatus]}) from None
