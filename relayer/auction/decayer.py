"""The scheduled auction job: starts auctions on time and expires orders at their deadline.

``tick`` is a plain coroutine so tests call it with a fake clock; in the app an
apscheduler ``AsyncIOScheduler`` runs it every ``auction.tick_seconds``.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from relayer.clock import Clock
from relayer.errors import ConflictError
from relayer.orders.desk import OrderDesk
from relayer.orders.status import OrderStatus

log = structlog.get_logger(__name__)

_WATCHED = (OrderStatus.PENDING, OrderStatus.ACTIVE, OrderStatus.PARTIALLY_FILLED,
            OrderStatus.INVALID)


@dataclass(frozen=True, slots=True)
class TickResult:
    started: int
    expired: int


class Decayer:
    def __init__(self, desk: OrderDesk, clock: Clock) -> None:
        self._desk = desk
        self._clock = clock

    async def tick(self) -> TickResult:
        now = int(self._clock.now())
        started = expired = 0
        for entry in list(self._desk.book.with_status(_WATCHED)):
            order = entry.signed.order
            try:
                if now >= order.deadline:
                    await self._desk.transition(entry.order_hash, OrderStatus.EXPIRED,
                                                reason="deadline_passed")
                    expired += 1
                elif entry.status is OrderStatus.PENDING and now >= order.auction.start_time:
                    await self._desk.transition(entry.order_hash, OrderStatus.ACTIVE,
                                                reason="auction_started")
                    started += 1
            except ConflictError:
                # Changed under us (cancelled, filled); the next tick sees the new state.
                log.debug("tick_transition_skipped", order_hash=entry.order_hash)
        return TickResult(started=started, expired=expired)
