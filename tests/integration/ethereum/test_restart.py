"""Killed mid-stream and restarted: no gap and no duplicate in the chain stream.

The cursor and the events of a range are one store transaction, and the checkpoint's
version fences writers, so whatever moment a monitor dies at, the next one continues
exactly where the committed state says."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from devnet.ethereum import EthereumDevnet
from devnet.process import RelayerProcess, wait_until
from relayer.chains.events import (
    CHAIN_CODEC,
    ChainEvent,
    EscrowCreated,
    EscrowWithdrawn,
    chain_stream,
)
from relayer.orders.timelocks import Stage
from relayer.store.base import Checkpoint, NewRecord, Record
from relayer.store.sqlite import SQLiteEventStore
from tests.contracts.evm.chain import TIMELOCKS, Chain
from tests.integration.ethereum.harness import Harness, eventually

ESCROWS = 12


def make_escrows(chain: Chain, count: int) -> tuple[set[str], set[str]]:
    """``count`` source escrows, one block each; every third one withdrawn.
    Returns (escrow addresses, withdrawn escrow addresses)."""
    created, withdrawn = set(), set()
    for i in range(count):
        signed = chain.make_order()
        chain.approve(chain.maker.address, signed.order.making_amount)
        receipt, src, _ = chain.create_src(signed)
        escrow = chain.src_address(src)
        created.add(escrow)
        if i % 3 == 0:
            deployed = chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
            chain.send(chain.escrow_src(escrow), "withdraw", signed.secrets.secrets[0], src,
                       sender=chain.resolver.address,
                       at=TIMELOCKS.at(Stage.SRC_WITHDRAWAL, deployed))
            withdrawn.add(escrow)
    return created, withdrawn


def check_stream(events: Sequence[ChainEvent], created: set[str], withdrawn: set[str]) -> None:
    creations = Counter(e.escrow for e in events if isinstance(e, EscrowCreated))
    withdrawals = Counter(e.escrow for e in events if isinstance(e, EscrowWithdrawn))
    assert creations == Counter(created)  # every escrow, each exactly once
    assert withdrawals == Counter(withdrawn)
    assert len(events) == len(created) + len(withdrawn)


class DyingStore:
    """The real store, except that append number ``die_at`` kills the caller (as a process
    kill would): before the commit, or right after it before the caller hears of it."""

    def __init__(self, store: SQLiteEventStore, die_at: int, after_commit: bool) -> None:
        self._store = store
        self._die_at = die_at
        self._after_commit = after_commit
        self.appends = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def append(self, records: Sequence[NewRecord], *,
                     checkpoint: Checkpoint | None = None) -> list[Record]:
        self.appends += 1
        if self.appends == self._die_at and not self._after_commit:
            raise asyncio.CancelledError
        written = await self._store.append(records, checkpoint=checkpoint)
        if self.appends == self._die_at:
            raise asyncio.CancelledError
        return written


async def test_killed_mid_batch_many_times_then_restarted(
        chain: Chain, store: SQLiteEventStore, devnet: EthereumDevnet) -> None:
    created, withdrawn = make_escrows(chain, ESCROWS)
    harness = Harness(store, [devnet.rpc_url], max_block_range=3)
    try:
        for die_at, after_commit in [(2, False), (3, True), (1, True), (4, False), (2, True)]:
            monitor = await harness.restarted()
            monitor._store = DyingStore(store, die_at, after_commit)  # type: ignore[assignment]
            await monitor.start()
            await eventually(lambda m=monitor: not m.running, what="the monitor to die")
        final = await harness.restarted()
        await harness.catch_up(final)
        assert final.cursor is not None and final.cursor.block == chain.w3.eth.block_number
        check_stream(await harness.stored(), created, withdrawn)
        assert {s.escrow for s in harness.book} == created
    finally:
        await harness.close()


async def test_two_monitors_on_one_store_never_write_twice(
        chain: Chain, store: SQLiteEventStore, devnet: EthereumDevnet) -> None:
    """A lost leader and a new one: the checkpoint fence lets one write per version; the
    other reloads what was written and goes on from there."""
    created, withdrawn = make_escrows(chain, 6)
    harness = Harness(store, [devnet.rpc_url], max_block_range=2)
    try:
        first = harness.monitor
        first_book = harness.book
        second = harness.new_monitor()
        for monitor in (first, second):
            await monitor.start()  # loads the (empty) checkpoint: both start at version 0
            await monitor.stop()
        busy = [True, True]
        while any(busy):
            results = await asyncio.gather(first.poll(), second.poll())
            busy = list(results)
        check_stream(await harness.stored(), created, withdrawn)
        assert first.fenced + second.fenced >= 1  # they did race for the same versions
        # Each monitor's projection holds what it committed; the other's commits reach a
        # replica through the log follower. Together, and replayed, they are the chain's.
        mine = {s.escrow for s in first_book} | {s.escrow for s in harness.book}
        replayed = await harness.restarted()
        assert mine == {s.escrow for s in harness.book} == created
        await replayed.stop()
    finally:
        await harness.close()


async def test_kill_9_of_relayer_serve_while_escrows_are_created(
        chain: Chain, devnet: EthereumDevnet, tmp_path: Path) -> None:
    env = {"RELAYER_CHAINS_ETHEREUM_FOLLOW": "true",
           "RELAYER_CHAINS_ETHEREUM_RPC_URLS": devnet.rpc_url,
           "RELAYER_CHAINS_ETHEREUM_POLL_SECONDS": "0.02",
           "RELAYER_CHAINS_ETHEREUM_MAX_BLOCK_RANGE": "1"}
    server = RelayerProcess(tmp_path / "relayer", env=env)
    db = tmp_path / "relayer" / "relayer.sqlite3"
    await server.start()
    results: dict[str, set[str]] = {}
    maker = threading.Thread(target=lambda: results.update(
        zip(("created", "withdrawn"), make_escrows(chain, ESCROWS), strict=True)))
    try:
        maker.start()
        await wait_until(lambda: _stored_count(db, 3), timeout=30, what="some events")
        server.kill9()
        at_kill = len(_records(db))
        await asyncio.to_thread(maker.join, 60)
        assert not maker.is_alive()
        server = RelayerProcess(tmp_path / "relayer", port=server.port, env=env)
        await server.start()
        head = chain.w3.eth.block_number
        await wait_until(lambda: _cursor_at(db, head), timeout=30, what="catch-up")
    finally:
        server.stop()
    records = _records(db)
    assert [r.version for r in records] == list(range(1, len(records) + 1))
    assert at_kill < len(records)  # killed mid-stream: the restarted server did the rest
    events = [CHAIN_CODEC.decode(r) for r in records]
    check_stream(events, results["created"], results["withdrawn"])  # type: ignore[arg-type]


def _records(db: Path) -> list[Record]:
    with sqlite3.connect(db) as conn:
        return [Record(*row) for row in conn.execute(
            "SELECT position, stream, version, type, data FROM records WHERE stream = ?"
            " ORDER BY version", (chain_stream("ethereum"),))]


async def _stored_count(db: Path, at_least: int) -> bool:
    return db.exists() and len(await asyncio.to_thread(_records, db)) >= at_least


async def _cursor_at(db: Path, block: int) -> bool:
    def read() -> int:
        with sqlite3.connect(db) as conn:
            row = conn.execute("SELECT data FROM checkpoints WHERE name = 'ethereum'").fetchone()
        return -1 if row is None else int(msgspec.json.decode(bytes(row[0]))["block"])
    return await asyncio.to_thread(read) >= block



async def test_a_fenced_monitor_knows_the_escrows_the_other_writer_indexed(
        chain: Chain, store: SQLiteEventStore, devnet: EthereumDevnet) -> None:
    """The other writer indexed an escrow's creation; this monitor, fenced, takes over at
    the next block and must still index its withdrawal (the log follower that would bring
    the creation into its escrow book may not have run yet)."""
    created, withdrawn = make_escrows(chain, 1)  # created in one block, withdrawn in a later
    harness = Harness(store, [devnet.rpc_url], max_block_range=1)
    try:
        first = harness.monitor
        second = harness.new_monitor()  # its own escrow book, fed only by what it commits
        for monitor in (first, second):
            await monitor.start()  # both at version 0 of the stream
            await monitor.stop()
        while not any(isinstance(e, EscrowCreated) for e in await harness.stored()):
            assert await first.poll()
        while await second.poll():  # fenced at once, reloads, goes on from there
            pass
        assert second.fenced >= 1
        check_stream(await harness.stored(), created, withdrawn)
    finally:
        await harness.close()
