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
from relayer.chains.events import CHAIN_CODEC, CHAIN_EVENTS, ChainEvent, chain_stream
from relayer.config import EthereumSettings
from relayer.events.bus import EventBus
from relayer.events.projection import Projector
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
        """A monitor with an empty projection of its own (its commits fold into it)."""
        self.book = EscrowBook()
        self.projector = Projector(CHAIN_CODEC, self.bus, [self.book])
        return EthereumMonitor(rpc=self.rpc, store=self.store,
                               committed=self.projector.committed, escrows=self.book,
                               settings=self.settings, rng=random.Random(7))

    async def restarted(self) -> EthereumMonitor:
        """A monitor as after a restart: the projection replayed from the log first."""
        monitor = self.new_monitor()
        await self.projector.replay(self.store)
        return monitor

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
        events = [CHAIN_CODEC.decode(r) for r in records]
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


class TcpProxy:
    """A loopback TCP proxy in front of a node, closed and reopened (same port) by the test:
    a real endpoint that goes down and comes back."""

    def __init__(self, target_port: int) -> None:
        self._target = target_port
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0
        self.connections = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._open):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
                     ) -> None:
        self.connections += 1
        node_r, node_w = await asyncio.open_connection("127.0.0.1", self._target)
        self._open.update((client_w, node_w))
        pipes = [asyncio.ensure_future(self._pipe(client_r, node_w)),
                 asyncio.ensure_future(self._pipe(node_r, client_w))]
        self._tasks.update(pipes)
        try:
            await asyncio.gather(*pipes, return_exceptions=True)
        finally:
            self._tasks.difference_update(pipes)
            for writer in (client_w, node_w):
                self._open.discard(writer)
                writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65_536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()


class SilentServer:
    """Accepts connections and never answers: a hung node, for the per-call timeout."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._open: list[asyncio.StreamWriter] = []
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._open.append(writer)

    async def close(self) -> None:
        for writer in self._open:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
