"""The scheduled auction job: price ticks, auction starts and deadlines.

Each tick first moves orders whose auction starts to ``active`` and those
past their deadline to ``expired`` (due times sit in two heaps, fed from the
order book at startup and from ``OrderSubmitted`` events after), then asks the
price board (``relayer.pricing.board``) which taking amounts changed and
publishes them as ``PricesUpdated`` batches, one per slice of the tick (the
last one marked), not an event per order. ``tick`` is a plain coroutine: tests
call it with a fake clock; in the app an apscheduler ``AsyncIOScheduler`` runs
it every ``auction.tick_seconds``.
"""

from __future__ import annotations

import asyncio
import heapq
import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import structlog

from relayer.auction.gas import BaseFeeSource
from relayer.clock import Clock
from relayer.errors import ConflictError
from relayer.events.bus import EventBus
from relayer.orders.book import OrderEntry
from relayer.orders.desk import OrderDesk
from relayer.orders.events import OrderStatusChanged, OrderSubmitted
from relayer.orders.status import AUCTION_OVER, OPEN, OrderStatus
from relayer.pricing.board import PriceBoard
from relayer.pricing.events import PricesUpdated, PriceUpdated

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class TickResult:
    started: int
    expired: int
    prices: int = 0
    """Orders whose taking amount changed (published in ``PricesUpdated`` batches)."""


class Decayer:
    def __init__(self, desk: OrderDesk, clock: Clock, *, bus: EventBus,
                 base_fee: BaseFeeSource) -> None:
        self._desk = desk
        self._clock = clock
        self._bus = bus
        self._base_fee = base_fee
        self._board = PriceBoard()
        self._starts: list[tuple[int, int, str]] = []
        self._deadlines: list[tuple[int, int, str]] = []

    @property
    def board(self) -> PriceBoard:
        return self._board

    def price(self, order_hash: str) -> PriceUpdated | None:
        """The last price published for ``order_hash`` (``None`` before its first tick)."""
        return self._board.price(order_hash)

    def next_second(self) -> datetime:
        """The next whole second: ticks aligned to it price each second as it begins."""
        return datetime.fromtimestamp(math.floor(self._clock.now()) + 1, UTC)

    def track_all(self) -> None:
        """Schedule every open order in the book (after the log is replayed)."""
        for entry in self._desk.book.with_status(OPEN):
            self._track(entry)

    def attach(self) -> Callable[[], None]:
        """Follow new orders and status changes on the bus; returns the detach function."""
        detach = [self._bus.subscribe(OrderSubmitted, self.on_submitted),
                  self._bus.subscribe(OrderStatusChanged, self.on_status_changed)]

        def detach_all() -> None:
            for d in detach:
                d()

        return detach_all

    def on_submitted(self, event: OrderSubmitted) -> None:
        entry = self._desk.book.get(event.order_hash)
        if entry is not None:
            self._track(entry)

    def on_status_changed(self, event: OrderStatusChanged) -> None:
        if event.new in AUCTION_OVER:
            self._board.forget(event.order_hash)
        elif event.old in AUCTION_OVER:
            # A reorg took a fill back: the order is auctioned again.
            entry = self._desk.book.get(event.order_hash)
            if entry is not None:
                self._track(entry)

    def _track(self, entry: OrderEntry) -> None:
        order = entry.signed.order
        if entry.status is OrderStatus.PENDING:
            heapq.heappush(self._starts,
                           (order.auction.start_time, entry.position, entry.order_hash))
        heapq.heappush(self._deadlines, (order.deadline, entry.position, entry.order_hash))
        self._board.track(entry.order_hash, order.taking_amount, order.auction)

    async def tick(self) -> TickResult:
        now = int(self._clock.now())
        expired = await self._drain(self._deadlines, now + 1, OrderStatus.EXPIRED,
                                    "deadline_passed")
        started = await self._drain(self._starts, now + 1, OrderStatus.ACTIVE,
                                    "auction_started")
        prices = await self._publish_prices(now)
        return TickResult(started=started, expired=expired, prices=prices)

    async def _publish_prices(self, now: int) -> int:
        """Publish the tick's changes a slice at a time, holding one back so the final
        slice can go out marked ``last``; returns how many prices changed."""
        base_fee = self._base_fee.base_fee()
        publish = self._bus.publish
        held: PricesUpdated | None = None
        count = 0
        async for chunk in self._slices(now, base_fee):
            if not chunk.count:
                continue
            if held is not None:
                publish(held)
            held = chunk
            count += chunk.count
        if held is not None:
            publish(replace(held, last=True))
        return count

    async def _slices(self, now: int, base_fee: int) -> AsyncIterator[PricesUpdated]:
        yield self._board.begin_tick(now, base_fee)
        for chunk in self._board.live_chunks(now, base_fee):
            # Let requests in between slices: pricing tens of thousands of orders in one
            # go held the loop long enough to show in intake latency.
            await asyncio.sleep(0)
            yield chunk

    async def _drain(self, heap: list[tuple[int, int, str]], before: int,
                     target: OrderStatus, reason: str) -> int:
        """Move every order due before ``before`` to ``target``, all at once: the
        store commits appends that wait together in one transaction."""
        due = []
        while heap and heap[0][0] < before:
            _, _, order_hash = heapq.heappop(heap)
            entry = self._desk.book.get(order_hash)
            if entry is None or entry.status not in OPEN:
                continue
            if target is OrderStatus.ACTIVE and entry.status is not OrderStatus.PENDING:
                continue
            due.append(order_hash)
        moved = await asyncio.gather(*(self._move(h, target, reason)
                                       for h in dict.fromkeys(due)))
        return sum(moved)

    async def _move(self, order_hash: str, target: OrderStatus, reason: str) -> bool:
        try:
            await self._desk.transition(order_hash, target, reason=reason)
            return True
        except ConflictError:
            # Changed under us (cancelled, filled): its own event decided.
            log.debug("tick_transition_skipped", order_hash=order_hash)
            return False
