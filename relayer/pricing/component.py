"""The auction's part of a running relayer: the decayer's tick and followers' price ticks."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from relayer.auction.gas import BaseFeeSource
from relayer.clock import Clock
from relayer.events.bus import EventBus
from relayer.lifecycle import IsLeader, Job
from relayer.pricing.board import PriceBoard
from relayer.pricing.decayer import Decayer


class FollowerPrices:
    """Price ticks for a follower's own clients; on the leader the auction job publishes them."""

    def __init__(self, *, board: PriceBoard, bus: EventBus, clock: Clock,
                 base_fee: BaseFeeSource, leadership: IsLeader) -> None:
        self._board = board
        self._bus = bus
        self._clock = clock
        self._base_fee = base_fee
        self._leadership = leadership

    def tick(self) -> int:
        if self._leadership.is_leader:
            return 0
        changed = self._board.tick(int(self._clock.now()), self._base_fee.base_fee())
        for event in changed:
            self._bus.publish(event)
        return len(changed)


class Pricing:
    """Starts tracking the replayed book's open orders, then follows new ones on the bus.

    The leader's auction job starts and expires orders and publishes prices; a follower
    of a shared store publishes the same ticks to its own clients (derived, never
    stored)."""

    name = "pricing"

    def __init__(self, decayer: Decayer, *, tick_seconds: float,
                 tick: Callable[[], object] | None = None,
                 followers: FollowerPrices | None = None) -> None:
        """``tick``: the auction job as scheduled (the decayer's, possibly timed);
        ``followers``: price ticks while following (``None``: this replica always leads)."""
        self.decayer = decayer
        self._tick_seconds = tick_seconds
        self._tick: Callable[[], object] = tick or decayer.tick
        self._followers = followers
        self._detach: Callable[[], None] | None = None

    async def start(self) -> None:
        self.decayer.track_all()
        self._detach = self.decayer.attach()

    async def stop(self) -> None:
        if self._detach is not None:
            self._detach()
            self._detach = None

    def jobs(self) -> Sequence[Job]:
        first = self.decayer.next_second()
        jobs = [Job("auction_tick", self._tick, self._tick_seconds, leader_only=True,
                    first=first)]
        if self._followers is not None:
            jobs.append(Job("follower_prices", self._followers.tick, self._tick_seconds,
                            first=first))
        return jobs

