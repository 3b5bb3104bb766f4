"""The scheduled auction job: starts auctions on time and expires orders at their deadline.

Due times sit in two heaps (auction starts, deadlines), fed from the order
book at startup and from ``OrderSubmitted`` events after, so a tick costs only
what is due, not a scan of every order. ``tick`` is a plain coroutine: tests
call it with a fake clock; in the app an apscheduler ``AsyncIOScheduler``
runs it every ``auction.tick_seconds``.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import structlog

from relayer.clock import Clock
from relayer.errors import ConflictError
from relayer.events.types import OrderSubmitted
from relayer.orders.book import OrderEntry
from relayer.orders.desk import OrderDesk
from relayer.orders.status import OPEN, OrderStatus

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class TickResult:
    started: int
    expired: int


class Decayer:
    def __init__(self, desk: OrderDesk, clock: Clock) -> None:
        self._desk = desk
        self._clock = clock
        self._starts: list[tuple[int, int, str]] = []
        self._deadlines: list[tuple[int, int, str]] = []

    def track_all(self) -> None:
        """Schedule every open order in the book (after the log is replayed)."""
        for entry in self._desk.book.with_status(OPEN):
            self._track(entry)

    def on_submitted(self, event: OrderSubmitted) -> None:
        entry = self._desk.book.get(event.order_hash)
        if entry is not None:
            self._track(entry)

    def _track(self, entry: OrderEntry) -> None:
        order = entry.signed.order
        if entry.status is OrderStatus.PENDING:
            heapq.heappush(self._starts,
                           (order.auction.start_time, entry.position, entry.order_hash))
        heapq.heappush(self._deadlines, (order.deadline, entry.position, entry.order_hash))

    async def tick(self) -> TickResult:
        now = int(self._clock.now())
        expired = await self._drain(self._deadlines, now + 1, OrderStatus.EXPIRED,
                                    "deadline_passed")
        started = await self._drain(self._starts, now + 1, OrderStatus.ACTIVE,
                                    "auction_started")
        return TickResult(started=started, expired=expired)

    async def _drain(self, heap: list[tuple[int, int, str]], before: int,
                     target: OrderStatus, reason: str) -> int:
        moved = 0
        while heap and heap[0][0] < before:
            _, _, order_hash = heapq.heappop(heap)
            entry = self._desk.book.get(order_hash)
            if entry is None or entry.status not in OPEN:
                continue
            if target is OrderStatus.ACTIVE and entry.status is not OrderStatus.PENDING:
                continue
            try:
                await self._desk.transition(order_hash, target, reason=reason)
                moved += 1
            except ConflictError:
                # Changed under us (cancelled, filled): its own event decided.
                log.debug("tick_transition_skipped", order_hash=order_hash)
        return moved
