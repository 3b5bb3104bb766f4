"""Reconnects: a dropped connection resumes from the cursor with nothing lost or doubled;
a simulator restart (fresh genesis) rolls the monitor back to the origin and it follows
the new chain."""

from __future__ import annotations

import asyncio
import contextlib

from devnet.cardano import CardanoSimulator, GenesisConfig
from relayer.chains.cardano.decode import ScriptHashes
from relayer.chains.cardano.events import CARDANO_STREAM_CODEC
from relayer.chains.events import ChainEventReverted, EscrowCreated, chain_stream
from relayer.store.sqlite import SQLiteEventStore
from tests.integration.cardano.chain import (
    ALWAYS,
    Harness,
    dst_datum,
    lock,
    script_hash,
    secret_of,
    submit,
    wait_for,
)
from tests.integration.cardano.conftest import SEED

SCRIPTS = ScriptHashes(escrow=frozenset({script_hash(ALWAYS)}), order=frozenset())


class Proxy:
    """A TCP relay between the monitor and the simulator whose connections a test cuts."""

    def __init__(self, port: int) -> None:
        self._target = port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.accepted = 0

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"ws://127.0.0.1:{port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target)
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


async def _escrow(sim: CardanoSimulator, n: int) -> str:
    maker, taker = sim.accounts[0], sim.accounts[1]
    datum = dst_datum(sim, maker=maker, taker=taker, secret=secret_of(n))
    tx = await asyncio.to_thread(lock, sim, taker, ALWAYS, datum, 12_000_000)
    await submit(sim, tx)
    return f"{tx.id}#0"


async def test_dropped_connection_resumes_without_gap_or_duplicate(
        sim: CardanoSimulator, store: SQLiteEventStore) -> None:
    proxy = Proxy(sim.port)
    harness = Harness(store=store, url=await proxy.start(), scripts=SCRIPTS)
    monitor = await harness.start()
    try:
        escrows = [await _escrow(sim, 1)]
        await sim.advance()
        await harness.synced(sim)

        proxy.cut()
        await wait_for(lambda: not monitor.status().connected, "the monitor to notice")
        escrows.append(await _escrow(sim, 2))  # forged while the monitor is away
        await sim.advance()
        await wait_for(lambda: proxy.accepted >= 2, "the monitor to reconnect")
        await harness.synced(sim)
        escrows.append(await _escrow(sim, 3))
        await sim.advance()
        await harness.synced(sim)

        status = monitor.status()
        assert status.rpc_errors >= 1 and status.connected and status.reorgs == 0
        assert [e.escrow for e in harness.of_type(EscrowCreated)] == escrows
        records = await store.read_stream(chain_stream("cardano"))
        assert [r.version for r in records] == [1, 2, 3]
        assert [CARDANO_STREAM_CODEC.decode(r).escrow for r in records] == escrows  # type: ignore[union-attr]
    finally:
        await harness.stop()
        await proxy.stop()


async def test_simulator_restart_rolls_back_to_origin_and_follows_the_new_chain(
        store: SQLiteEventStore) -> None:
    sim = CardanoSimulator(GenesisConfig(seed=SEED))
    await sim.start()
    port = sim.port
    harness = Harness(store=store, url=sim.url, scripts=SCRIPTS)
    monitor = await harness.start()
    try:
        old = await _escrow(sim, 5)
        await sim.advance()
        await harness.synced(sim)
        await sim.stop()
        await wait_for(lambda: not monitor.status().connected, "the monitor to notice")

        sim = CardanoSimulator(GenesisConfig(seed=SEED), port=port)  # fresh genesis
        await sim.start()
        await harness.synced(sim)
        assert [(r.event_type, r.escrow) for r in harness.of_type(ChainEventReverted)] == [
            ("EscrowCreated", old)]
        assert harness.escrows.get("cardano", old) is None
        new = await _escrow(sim, 6)
        await sim.advance()
        await harness.synced(sim)
        assert harness.escrows.get("cardano", new) is not None
        status = monitor.status()
        assert status.rpc_errors >= 1 and status.reorgs == 1
    finally:
        await harness.stop()
        await sim.stop()


async def test_unreachable_node_is_reported_and_retried(store: SQLiteEventStore) -> None:
    sim = CardanoSimulator(GenesisConfig(seed=SEED))
    await sim.start()
    port = sim.port
    await sim.stop()
    harness = Harness(store=store, url=f"ws://127.0.0.1:{port}", scripts=SCRIPTS)
    monitor = await harness.start()
    try:
        await wait_for(lambda: monitor.status().rpc_errors >= 2, "retries")
        status = monitor.status()
        assert not status.connected and not status.healthy and "node" in status.detail
        sim = CardanoSimulator(GenesisConfig(seed=SEED), port=port)
        await sim.start()
        await harness.synced(sim)
        assert monitor.status().healthy
    finally:
        await harness.stop()
        await sim.stop()
