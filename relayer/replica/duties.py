"""What only the leader runs: webhook deliveries, the chain monitors and the scheduled jobs
that write.

Services (webhook delivery) start first, so they see what the monitors
publish as they catch up, and stop last. The auction job (starts and
deadlines, then prices) and the chain jobs run in a scheduler of their own,
started when this replica is elected and shut down the moment it is not: a
job already running finishes its current step, whose writes are fenced by
stream versions. Followers still publish price ticks
(derived, never stored) to their own clients with ``publish_prices``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from relayer.auction.gas import BaseFeeSource
from relayer.chains.status import ChainMonitor
from relayer.clock import Clock
from relayer.events.bus import EventBus
from relayer.pricing.board import PriceBoard
from relayer.store.leader import Duties, Leadership

log = structlog.get_logger(__name__)


class LeaderDuties:
    def __init__(self, *, monitors: Sequence[ChainMonitor],
                 schedule: Callable[[AsyncIOScheduler], None] | None,
                 services: Sequence[Duties] = ()) -> None:
        """``schedule`` adds the leader's jobs to a fresh scheduler (``None``: no jobs);
        ``services`` are other duties, started before the monitors."""
        self._monitors = tuple(monitors)
        self._services = tuple(services)
        self._running: list[Duties] = []
        self._schedule = schedule
        self._scheduler: AsyncIOScheduler | None = None
        self._started: list[ChainMonitor] = []

    async def start(self) -> None:
        for service in self._services:
            await service.start()
            self._running.append(service)
        for monitor in self._monitors:
            await monitor.start()
            self._started.append(monitor)
        if self._schedule is not None:
            scheduler = AsyncIOScheduler()
            self._schedule(scheduler)
            scheduler.start()
            self._scheduler = scheduler
        log.info("leader_duties_started", monitors=[m.name for m in self._monitors])

    async def stop(self) -> None:
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        while self._started:
            await self._started.pop().stop()
        while self._running:
            await self._running.pop().stop()
        log.info("leader_duties_stopped")


class FollowerPrices:
    """Price ticks for a follower's own clients; on the leader the auction job publishes them."""

    def __init__(self, *, board: PriceBoard, bus: EventBus, clock: Clock,
                 base_fee: BaseFeeSource, leadership: Leadership) -> None:
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
