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

Each segment is kept as the integers of ``bump(t) = (t * slope + offset) // span``
(the curve's ``((t - t0) * r1 + (t1 - t) * r0) // (t1 - t0)`` rearranged), so
pricing a live order is a few integer operations. The base fee only matters
for orders with a gas estimate; when it changes, those that wait are
recomputed too. Every result equals ``taking_amount`` of the curve for the
same time and base fee (a property test checks it).

A tick's changes come out as ``PricesUpdated`` batches, not one event object
per order: with every order of a large book moving each second, building and
publishing an object per change was most of a tick.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from relayer.auction.curve import RATE_BUMP_DENOMINATOR, gas_bump
from relayer.auction.details import AuctionDetails
from relayer.pricing.events import PricesUpdated, PriceUpdated

_D = RATE_BUMP_DENOMINATOR
_UNPRICED = -1
"""``rate_bump`` and ``taking_amount`` of an order before its first price."""


class _Changes:
    """A slice's changes while they are collected (parallel lists, no object per order)."""

    __slots__ = ("order_hashes", "rate_bumps", "taking_amounts")

    def __init__(self) -> None:
        self.order_hashes: list[str] = []
        self.rate_bumps: list[int] = []
        self.taking_amounts: list[int] = []

    def add(self, order_hash: str, bump: int, taking: int) -> None:
        self.order_hashes.append(order_hash)
        self.rate_bumps.append(bump)
        self.taking_amounts.append(taking)

    def event(self, at: int, base_fee: int) -> PricesUpdated:
        return PricesUpdated(at, base_fee, tuple(self.order_hashes), tuple(self.rate_bumps),
                             tuple(self.taking_amounts), last=False)


class _Tracked:
    __slots__ = ("order_hash", "min_taking", "details", "start", "end", "initial", "segments",
                 "segment", "t1", "slope", "offset", "span", "has_gas", "gas_fee", "gas",
                 "live", "rate_bump", "taking_amount", "at", "base_fee")

    def __init__(self, order_hash: str, min_taking: int, details: AuctionDetails) -> None:
        self.order_hash = order_hash
        self.min_taking = min_taking
        self.details = details
        self.start = details.start_time
        self.end = details.end_time
        self.initial = details.initial_rate_bump
        self.segments = _segments(details)
        self.segment = 0
        self.t1, self.slope, self.offset, self.span = self.segments[0]
        self.has_gas = details.gas_bump_estimate != 0 and details.gas_price_estimate != 0
        self.gas_fee: int | None = None
        self.gas = 0
        self.live = False
        """In the board's live set (a slice skips an order that left it meanwhile)."""
        # The last price reported: the time, bump and base fee its taking amount changed at.
        self.rate_bump = _UNPRICED
        self.taking_amount = _UNPRICED
        self.at = 0
        self.base_fee = 0

    def advance(self, t: int) -> None:
        """Move to the segment holding ``t`` (``start < t < end``)."""
        while t > self.t1:
            self.segment += 1
            self.t1, self.slope, self.offset, self.span = self.segments[self.segment]

    def gas_bump(self, base_fee: int) -> int:
        if base_fee != self.gas_fee:
            self.gas_fee = base_fee
            self.gas = gas_bump(self.details, base_fee)
        return self.gas

    def reported(self) -> PriceUpdated | None:
        if self.taking_amount == _UNPRICED:
            return None
        return PriceUpdated(self.order_hash, self.at, self.rate_bump, self.taking_amount,
                            self.base_fee)


def _segments(details: AuctionDetails) -> list[tuple[int, int, int, int]]:
    """The curve as ``(t1, slope, offset, span)`` pieces on ``(t0, t1]``, zero-length ones
    dropped: ``bump(t) = (t * slope + offset) // span`` with ``slope = r1 - r0``,
    ``offset = t1 * r0 - t0 * r1`` and ``span = t1 - t0``."""
    pieces = []
    t0, r0 = details.start_time, details.initial_rate_bump
    ends = [*zip(details.point_times(), (p.rate_bump for p in details.points), strict=True),
            (details.end_time, 0)]
    for t1, r1 in ends:
        if t1 > t0:
            pieces.append((t1, r1 - r0, t1 * r0 - t0 * r1, t1 - t0))
        t0, r0 = t1, r1
    return pieces or [(details.end_time, 0, 0, 1)]


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
        return None if tracked is None else tracked.reported()

    def track(self, order_hash: str, min_taking: int, details: AuctionDetails) -> None:
        if order_hash in self._tracked:
            return
        tracked = _Tracked(order_hash, min_taking, details)
        self._tracked[order_hash] = tracked
        self._fresh.append(tracked)

    def forget(self, order_hash: str) -> None:
        tracked = self._tracked.pop(order_hash, None)
        if tracked is not None:
            tracked.live = False
            self._live.pop(order_hash, None)
            self._gas_waiting.discard(order_hash)

    def tick(self, t: int, base_fee: int) -> list[PriceUpdated]:
        """Advance to unix time ``t``; the prices whose taking amount changed since the
        last one reported (every order's first price counts as a change)."""
        changed = list(self.begin_tick(t, base_fee).updates())
        for chunk in self.live_chunks(t, base_fee):
            changed.extend(chunk.updates())
        return changed

    def begin_tick(self, t: int, base_fee: int) -> PricesUpdated:
        """The first part of a tick: new, starting and gas-priced waiting orders. Then
        ``live_chunks`` prices the orders inside their auction, a slice at a time, so a
        caller can let other work in between."""
        changed = _Changes()
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
                self._go_live(tracked)
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
                self._go_live(tracked_or_none)
            else:
                self._reprice(tracked_or_none, 0, t, base_fee, changed)
        if fee_changed:
            for order_hash in self._gas_waiting:
                tracked = self._tracked[order_hash]
                self._reprice(tracked, tracked.initial, t, base_fee, changed)
        return changed.event(t, base_fee)

    def live_chunks(self, t: int, base_fee: int, size: int = 500) -> Iterator[PricesUpdated]:
        """The changed prices of orders inside their auction at ``t``, ``size`` orders
        at a time (an order tracked or dropped between slices is seen next tick)."""
        live = list(self._live.values())
        for start in range(0, len(live), size):
            changed = _Changes()
            self._tick_live(live[start:start + size], t, base_fee, changed)
            yield changed.event(t, base_fee)

    def _go_live(self, tracked: _Tracked) -> None:
        tracked.live = True
        self._live[tracked.order_hash] = tracked

    def _tick_live(self, batch: list[_Tracked], t: int, base_fee: int,
                   changed: _Changes) -> None:
        # The tick's hot path: every live order passes here each second.
        hashes = changed.order_hashes
        bumps = changed.rate_bumps
        takings = changed.taking_amounts
        for tracked in batch:
            if t >= tracked.t1 or not tracked.live:
                if not tracked.live:
                    continue
                if t >= tracked.end:
                    tracked.live = False
                    del self._live[tracked.order_hash]
                    self._reprice(tracked, 0, t, base_fee, changed)
                    continue
                tracked.advance(t)
            bump = (t * tracked.slope + tracked.offset) // tracked.span
            if tracked.has_gas:
                bump = max(bump - tracked.gas_bump(base_fee), 0)
            if bump == tracked.rate_bump:
                continue
            minimum = tracked.min_taking
            taking = minimum - (-minimum * bump // _D)
            if taking != tracked.taking_amount:
                tracked.rate_bump = bump
                tracked.taking_amount = taking
                tracked.at = t
                tracked.base_fee = base_fee
                hashes.append(tracked.order_hash)
                bumps.append(bump)
                takings.append(taking)

    @staticmethod
    def _reprice(tracked: _Tracked, auction_bump: int, t: int, base_fee: int,
                 changed: _Changes) -> None:
        bump = auction_bump
        if tracked.has_gas and bump:
            bump = max(bump - tracked.gas_bump(base_fee), 0)
        minimum = tracked.min_taking
        taking = minimum - (-minimum * bump // _D)
        if taking != tracked.taking_amount:
            tracked.rate_bump = bump
            tracked.taking_amount = taking
            tracked.at = t
            tracked.base_fee = base_fee
            changed.add(tracked.order_hash, bump, taking)
