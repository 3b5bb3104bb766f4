"""One endpoint as the dispatcher holds it: its deliveries, its queues, its workers.

``recent`` is what the deliveries API lists: every pending delivery plus the
newest finished ones. On the leader the dispatcher fills it as it creates and
attempts deliveries; on a follower it is folded from the records the leader
(or another replica) commits, so every replica answers the API alike.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import secrets
from collections import deque
from dataclasses import dataclass, field

import msgspec

from relayer.public.events import PublicEvent
from relayer.webhooks.model import TERMINAL, Attempt, Delivery, DeliveryStatus, Webhook
from relayer.webhooks.wire import Payload

_tiebreak = itertools.count()


@dataclass(eq=False, slots=True)
class Endpoint:
    webhook: Webhook
    ready: deque[Delivery] = field(default_factory=deque)
    scheduled: list[tuple[float, int, Delivery]] = field(default_factory=list)
    recent: dict[str, Delivery] = field(default_factory=dict)
    """Deliveries by id in creation order: every pending one plus the newest finished."""
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    workers: list[asyncio.Task[None]] = field(default_factory=list)
    queued: int = 0
    """Matched events waiting in the intake queue to be recorded."""
    open: int = 0
    """Pending deliveries in ``recent``."""
    read_through: int = 0
    """Log position of the newest record of this endpoint's stream already applied here:
    a record the log follower brings again (startup overlap) is skipped."""
    seq: int = 0
    dropped: int = 0
    closed: bool = False

    @property
    def backlog(self) -> int:
        """Deliveries queued for recording or not yet finished."""
        return self.queued + self.open

    def new_delivery(self, published: PublicEvent, now: float) -> Delivery:
        """A fresh delivery of ``published``: its id and the exact body every attempt sends."""
        webhook_id = self.webhook.webhook_id
        delivery_id = "dlv_" + secrets.token_hex(12)
        body = msgspec.json.encode(Payload(
            id=delivery_id, event=published.event, webhook_id=webhook_id,
            order_hash=published.order_hash, created_at=int(now),
            data=msgspec.Raw(published.data)))
        return Delivery(webhook_id=webhook_id, delivery_id=delivery_id, event=published.event,
                        order_hash=published.order_hash or "", body=body, created_at=now,
                        next_attempt_at=now)

    def schedule(self, delivery: Delivery, now: float) -> None:
        """Queue a pending delivery for its workers: now if due, else at its time."""
        due = delivery.next_attempt_at if delivery.next_attempt_at is not None else now
        if due <= now:
            self.ready.append(delivery)
            self.wake.set()
        else:
            heapq.heappush(self.scheduled, (due, next(_tiebreak), delivery))

    def due(self, now: float) -> int:
        """Move retries whose time has come to the ready queue; how many."""
        count = 0
        while self.scheduled and self.scheduled[0][0] <= now:
            _, _, delivery = heapq.heappop(self.scheduled)
            self.ready.append(delivery)
            count += 1
        if count:
            self.wake.set()
        return count

    def remember(self, delivery: Delivery) -> None:
        self.seq += 1
        delivery.seq = self.seq
        self.recent[delivery.delivery_id] = delivery
        if delivery.status is DeliveryStatus.PENDING:
            self.open += 1

    def record(self, delivery: Delivery, attempt: Attempt, outcome: DeliveryStatus,
               next_attempt_at: float | None) -> None:
        """Apply an attempt to a remembered delivery, keeping ``open`` in step."""
        was_open = delivery.status is DeliveryStatus.PENDING
        delivery.record(attempt, outcome, next_attempt_at)
        if was_open and outcome is not DeliveryStatus.PENDING:
            self.open -= 1

    def pending(self) -> int:
        return self.open

    def trim(self, limit: int) -> None:
        """Forget the oldest finished deliveries once ``recent`` is a quarter over ``limit``."""
        excess = len(self.recent) - limit
        if excess <= limit // 4:
            return
        for delivery_id in [d.delivery_id for d in self.recent.values()
                            if d.status in TERMINAL][:excess]:
            del self.recent[delivery_id]

    def release(self) -> None:
        """Drop the work queues (this replica stops delivering); ``recent`` stays."""
        self.ready.clear()
        self.scheduled.clear()
        self.workers.clear()
