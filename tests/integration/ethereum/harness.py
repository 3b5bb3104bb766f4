"""A monitor on a real anvil with its store, bus and escrow projection, driven by the test."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from relayer.chains.escrows import EscrowBook
from relayer.chains.ethereum.failover import FailoverRpc
from relayer.chains.ethereum.monitor import EthereumMonitor
from relayer.config import EthereumSettings
from relayer.events.bus import EventBus
from relayer.events.chain import CHAIN_EVENTS, ChainEvent, chain_stream
from relayer.events.codec import from_record
from relayer.store.base import EventStore
from tests.factories import make_settings


def monitor_settings(urls: Sequence[str], **overrides: Any) -> EthereumSettings:
    values: dict[str, Any] = {
        "chains.ethereum.follow": True,
        "chains.ethereum.rpc_urls": list(urls),
        "chains.ethereum.poll_seconds": 0.05,
        "chains.ethereum.rpc_timeout_seconds": 2.0,
        "chains.ethereum.backoff_initial_seconds": 0.05,
        "chains.ethereum.backoff_max_seconds": 0.4,
    }
    values.update({f"chains.ethereum.{k}": v for k, v in overrides.items()})
    return make_settings(**values).chains.ethereum


class Harness:
    def __init__(self, store: EventStore, urls: Sequence[str], **overrides: Any) -> None:
        self.store = store
        self.settings = monitor_settings(urls, **overrides)
        self.rpc = FailoverRpc(self.settings.rpc_urls, timeout=self.settings.rpc_timeout_seconds,
                               backoff_initial=self.settings.backoff_initial_seconds,
                               backoff_max=self.settings.backoff_max_seconds,
                               rng=random.Random(7))
        self.bus = EventBus()
        self.published: list[ChainEvent] = []
        self.bus.subscribe(None, self.published.append)
        self.monitor = self.new_monitor()

    def new_monitor(self) -> EthereumMonitor:
        """A monitor with a projection of its own, as after a restart."""
        self.book = EscrowBook()
        return EthereumMonitor(rpc=self.rpc, store=self.store, bus=self.bus,
                               escrows=self.book, settings=self.settings,
                               rng=random.Random(7))

    async def catch_up(self, monitor: EthereumMonitor | None = None) -> None:
        """Poll by hand until the monitor has nothing more to do right now."""
        monitor = monitor or self.monitor
        for _ in range(1_000):
            if not await monitor.poll():
                return
        raise AssertionError("the monitor never caught up")

    async def stored(self) -> list[ChainEvent]:
        records = await self.store.read_stream(chain_stream("ethereum"))
        assert [r.version for r in records] == list(range(1, len(records) + 1))
        events = [from_record(r) for r in records]
        assert all(isinstance(e, CHAIN_EVENTS) for e in events)
        return events  # type: ignore[return-value]

    async def close(self) -> None:
        await self.monitor.stop()
        await self.rpc.close()


async def eventually(check: Callable[[], bool], *, timeout: float = 15.0,
                     what: str = "condition") -> None:
    """Poll ``check`` (letting the monitor's task run) until true or the deadline passes."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.01)
