"""The price board: the current price of every open order, recomputed cheaply each tick.

The curve (``relayer.auction.curve``) walks an order's points on every call;
the board instead cuts each order's curve into absolute linear segments once,
when it starts tracking the order, and only looks at orders whose price can
move:

- before its start an order's auction bump is constant (``initial_rate_bump``),
  so it waits in a heap keyed by start time;
- between start and end it is *live*: one segment formula per tick;
- from its end the bump is 0 whatever the base fee, so it leaves the board's
  work for good (it stays known for snapshots).

The base fee only matters for orders with a gas estimate; when it changes,
those that wait are recomputed too. Every result equals ``taking_amount`` of
the curve for the same time and base fee (a property test checks it).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from relayer.auction.curve import RATE_BUMP_DENOMINATOR, gas_bump
from relayer.auction.details import AuctionDetails
from relayer.events.types import PriceUpdated

_D = RATE_BUMP_DENOMINATOR


class _Tracked:
    __slots__ = ("order_hash", "min_taking", "details", "start", "end", "initial", "segments",
                 "segment", "t0", "r0", "t1", "r1", "has_gas", "price")

    def __init__(self, order_hash: str, min_taking: int, details: AuctionDetails) -> None:
        self.order_hash = order_hash
        self.min_taking = min_taking
        self.details = details
        self.start = details.start_time
        self.end = details.end_time
        self.initial = details.initial_rate_bump
        self.segments = _segments(details)
        self.segment = 0
        self.t0, self.r0, self.t1, self.r1 = self.segments[0]
        self.has_gas = details.gas_bump_estimate != 0 and details.gas_price_estimate != 0
        self.price: PriceUpdated | None = None

    def auction_bump(self, t: int) -> int:
        """``auction_rate_bump(details, t)``, for ``start < t < end`` advancing segments."""
        while t > self.t1:
            self.segment += 1
            self.t0, self.r0, self.t1, self.r1 = self.segments[self.segment]
        return ((t - self.t0) * self.r1 + (self.t1 - t) * self.r0) // (self.t1 - self.t0)


def _segments(details: AuctionDetails) -> list[tuple[int, int, int, int]]:
    """The curve as ``(t0, r0, t1, r1)`` pieces on ``(t0, t1]``; zero-length ones dropped."""
    pieces = []
    t0, r0 = details.start_time, details.initial_rate_bump
    for t1, point in zip(details.point_times(), details.points, strict=True):
        if t1 > t0:
            pieces.append((t0, r0, t1, point.rate_bump))
        t0, r0 = t1, point.rate_bump
    if details.end_time > t0:
        pieces.append((t0, r0, details.end_time, 0))
    return pieces or [(details.start_time, 0, details.end_time, 0)]


class PriceBoard:
    """Tracks orders and reports, per tick, the ones whose taking amount changed."""

    def __init__(self) -> None:
        self._tracked: dict[str, _Tracked] = {}
        self._fresh: list[_Tracked] = []
        """Tracked since the last tick: priced for the first time at the next."""
        self._waiting: list[tuple[int, str]] = []
        """(start, hash) of orders whose auction has not begun."""
        self._gas_waiting: set[str] = set()
        self._live: dict[str, _Tracked] = {}
        self._base_fee: int | None = None

    def __len__(self) -> int:
        return len(self._tracked)

    @property
    def live(self) -> int:
        """Orders whose auction is running (the ones a tick recomputes)."""
        return len(self._live)

    def price(self, order_hash: str) -> PriceUpdated | None:
        """The last price reported for ``order_hash`` (``None`` before its first tick)."""
        tracked = self._tracked.get(order_hash)
        return None if tracked is None else tracked.price

    def track(self, order_hash: str, min_taking: int, details: AuctionDetails) -> None:
        if order_hash in self._tracked:
            return
        tracked = _Tracked(order_hash, min_taking, details)
        self._tracked[order_hash] = tracked
        self._fresh.append(tracked)

    def forget(self, order_hash: str) -> None:
        tracked = self._tracked.pop(order_hash, None)
        if tracked is not None:
            self._live.pop(order_hash, None)
            self._gas_waiting.discard(order_hash)

    def tick(self, t: int, base_fee: int) -> list[PriceUpdated]:
        """Advance to unix time ``t``; the prices whose taking amount changed since the
        last one reported (every order's first price counts as a change)."""
        changed = self.begin_tick(t, base_fee)
        for chunk in self.live_chunks(t, base_fee):
            changed.extend(chunk)
        return changed

    def begin_tick(self, t: int, base_fee: int) -> list[PriceUpdated]:
        """The first part of a tick: new, starting and gas-priced waiting orders. Then
        ``live_chunks`` prices the orders inside their auction, a slice at a time, so a
        caller can let other work in between."""
        changed: list[PriceUpdated] = []
        fee_changed = base_fee != self._base_fee
        self._base_fee = base_fee
        fresh, self._fresh = self._fresh, []
        for tracked in fresh:
            if self._tracked.get(tracked.order_hash) is not tracked:
                continue
            if tracked.start >= t:
                heapq.heappush(self._waiting, (tracked.start, tracked.order_hash))
                if tracked.has_gas:
                    self._gas_waiting.add(tracked.order_hash)
                self._reprice(tracked, tracked.initial, t, base_fee, changed)
            elif tracked.end > t:
                self._live[tracked.order_hash] = tracked
            else:
                self._reprice(tracked, 0, t, base_fee, changed)
        waiting = self._waiting
        while waiting and waiting[0][0] < t:
            _, order_hash = heapq.heappop(waiting)
            tracked_or_none = self._tracked.get(order_hash)
            if tracked_or_none is None:
                continue
            self._gas_waiting.discard(order_hash)
            if tracked_or_none.end > t:
                self._live[order_hash] = tracked_or_none
            else:
                self._reprice(tracked_or_none, 0, t, base_fee, changed)
        if fee_changed:
            for order_hash in self._gas_waiting:
                tracked = self._tracked[order_hash]
                self._reprice(tracked, tracked.initial, t, base_fee, changed)
        return changed

    def live_chunks(self, t: int, base_fee: int, size: int = 500
                    ) -> Iterator[list[PriceUpdated]]:
        """The changed prices of orders inside their auction at ``t``, ``size`` orders
        at a time (an order tracked or dropped between slices is seen next tick)."""
        live = list(self._live.values())
        for start in range(0, len(live), size):
            changed: list[PriceUpdated] = []
            self._tick_live(live[start:start + size], t, base_fee, changed)
            yield changed

    def _tick_live(self, batch: list[_Tracked], t: int, base_fee: int,
                   changed: list[PriceUpdated]) -> None:
        ended = []
        current = self._live
        for tracked in batch:
            if current.get(tracked.order_hash) is not tracked:
                continue
            if t >= tracked.end:
                ended.append(tracked.order_hash)
                bump = 0
            else:
                # Inlined auction_bump: this loop is the tick's hot path.
                if t > tracked.t1:
                    tracked.auction_bump(t)
                t0 = tracked.t0
                t1 = tracked.t1
                bump = ((t - t0) * tracked.r1 + (t1 - t) * tracked.r0) // (t1 - t0)
                if tracked.has_gas:
                    bump = max(bump - gas_bump(tracked.details, base_fee), 0)
            price = tracked.price
            if price is not None and price.rate_bump == bump:
                continue
            minimum = tracked.min_taking
            taking = minimum - (-minimum * bump // _D)
            if price is None or price.taking_amount != taking:
                tracked.price = PriceUpdated(tracked.order_hash, t, bump, taking, base_fee)
                changed.append(tracked.price)
        for order_hash in ended:
            del current[order_hash]

    @staticmethod
    def _reprice(tracked: _Tracked, auction_bump: int, t: int, base_fee: int,
                 changed: list[PriceUpdated]) -> None:
        bump = auction_bump
        if tracked.has_gas and bump:
            bump = max(bump - gas_bump(tracked.details, base_fee), 0)
        minimum = tracked.min_taking
        taking = minimum - (-minimum * bump // _D)
        price = tracked.price
        if price is None or price.taking_amount != taking:
            tracked.price = PriceUpdated(tracked.order_hash, t, bump, taking, base_fee)
            changed.append(tracked.price)
