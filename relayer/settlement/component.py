"""The settlement part of a running relayer: the coordinator and its job."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from relayer.chains.escrows import EscrowBook
from relayer.chains.status import ChainMonitor
from relayer.clock import Clock
from relayer.config import Settings
from relayer.events.bus import EventBus
from relayer.events.projection import Committed
from relayer.lifecycle import Job
from relayer.networks.registry import ChainRegistry
from relayer.orders.desk import OrderDesk
from relayer.settlement.coordinator import Coordinator
from relayer.settlement.custody import CustodyKeyring
from relayer.settlement.parties import RegistryParties
from relayer.settlement.policy import PolicySettings
from relayer.store.base import EventStore

_AFTER_THE_SECOND = 0.005
"""How long after a second begins the tick runs: late enough that the clock has
certainly turned (the rules compare whole seconds)."""


class Settlement:
    name = "settlement"

    def __init__(self, *, settings: Settings, store: EventStore, bus: EventBus,
                 desk: OrderDesk, escrows: EscrowBook, custody: CustodyKeyring,
                 chains: ChainRegistry, monitors: Sequence[ChainMonitor],
                 clock: Clock, committed: Committed | None = None) -> None:
        by_chain = {monitor.name: monitor for monitor in monitors}

        def tip_height(chain: str) -> int | None:
            monitor = by_chain.get(chain)
            return None if monitor is None else monitor.status().confirmed_height

        self._tick_seconds = settings.auction.tick_seconds
        self._clock = clock
        self.coordinator = Coordinator(
            store=store, bus=bus, book=desk.book, escrows=escrows, custody=custody,
            parties=RegistryParties(chains, settings.settlement.resolvers),
            policy=PolicySettings(
                confirmations={"ethereum": settings.chains.ethereum.confirmations,
                               "cardano": settings.chains.cardano.confirmations},
                safety_margin=settings.settlement.safety_margin_seconds,
                dst_rescue_delays={
                    "ethereum": settings.chains.ethereum.rescue_delay_dst_seconds}),
            tip_height=tip_height, clock=clock, transition_order=desk.transition,
            committed=committed)
        self._detach: Callable[[], None] | None = None

    async def start(self) -> None:
        """Follow the chains' events (the projection loop has replayed the log into the
        book, the escrows and the coordinator's projections)."""
        self._detach = self.coordinator.attach()

    async def stop(self) -> None:
        if self._detach is not None:
            self._detach()
            self._detach = None

    def jobs(self) -> Sequence[Job]:
        """The leader's job: time moves the reveal rules and the escrow windows.

        Every time rule changes on a whole second (chain times are whole seconds), so
        the tick runs just after each second begins: a secret whose last rule was the
        finality lock goes out milliseconds after the lock ends, not up to a tick
        later (bench/reveal_latency.py)."""
        first = math.floor(self._clock.now()) + 1 + _AFTER_THE_SECOND
        return [Job("settlement_tick", self.coordinator.tick, self._tick_seconds,
                    leader_only=True, first=datetime.fromtimestamp(first, UTC))]
