"""Rollbacks and restarts: a rolled-back escrow is reverted and dropped from the projection,
a re-forged one reappears once; a restarted monitor resumes from its checkpoint with no
gap and no duplicate, also across a rollback it did not see."""

from __future__ import annotations

import asyncio

import pytest
from pycardano import Transaction

from devnet.cardano import CardanoSimulator
from relayer.chains.cardano.decode import ScriptHashes
from relayer.chains.cardano.escrow_datum import Withdraw
from relayer.chains.cardano.events import CARDANO_STREAM_CODEC
from relayer.chains.escrows import EscrowPhase
from relayer.chains.events import (
    ChainEventReverted,
    EscrowCreated,
    EscrowWithdrawn,
    chain_stream,
)
from relayer.store.sqlite import SQLiteEventStore
from tests.integration.cardano.chain import (
    ALWAYS,
    Harness,
    dst_datum,
    lock,
    script_hash,
    secret_of,
    spend,
    submit,
    utxos_at,
)

SCRIPTS = ScriptHashes(escrow=frozenset({script_hash(ALWAYS)}), order=frozenset())


async def _create_escrow(sim: CardanoSimulator, n: int) -> str:
    return (await _escrow_tx(sim, n))[0]


async def _escrow_tx(sim: CardanoSimulator, n: int) -> tuple[str, Transaction]:
    maker, taker = sim.accounts[0], sim.accounts[1]
    datum = dst_datum(sim, maker=maker, taker=taker, secret=secret_of(n))
    tx = await asyncio.to_thread(lock, sim, taker, ALWAYS, datum, 12_000_000)
    await submit(sim, tx)
    return f"{tx.id}#0", tx


async def _stream(store: SQLiteEventStore) -> list[object]:
    records = await store.read_stream(chain_stream("cardano"))
    assert [r.version for r in records] == list(range(1, len(records) + 1))
    return [CARDANO_STREAM_CODEC.decode(r) for r in records]


@pytest.mark.parametrize("depth", [1, 2, 3])
async def test_rollback_reverts_an_escrow_then_reforged_it_reappears_once(
        sim: CardanoSimulator, store: SQLiteEventStore, depth: int) -> None:
    harness = Harness(store=store, url=sim.url, scripts=SCRIPTS)
    await harness.start()
    try:
        kept = await _create_escrow(sim, 1)
        await sim.advance()
        escrow, tx = await _escrow_tx(sim, 2)
        await sim.advance()  # the escrow's block: `depth` blocks are rolled back below
        await sim.forge_blocks(depth - 1)
        await harness.synced(sim)
        assert harness.escrows.get("cardano", escrow) is not None

        await sim.rollback(depth, drop_transactions=True)
        await sim.advance()  # the node's new tip, without the escrow
        await harness.synced(sim)

        (reverted,) = harness.of_type(ChainEventReverted)
        assert (reverted.event_type, reverted.escrow) == ("EscrowCreated", escrow)
        assert harness.escrows.get("cardano", escrow) is None
        assert harness.escrows.get("cardano", kept) is not None
        assert harness.monitor is not None and harness.monitor.status().reorgs == 1

        # The same transaction again (re-submitted and forged): it reappears exactly once.
        await submit(sim, tx)
        await sim.advance()
        await harness.synced(sim)
        assert [e.escrow for e in harness.of_type(EscrowCreated)] == [kept, escrow, escrow]
        assert len([s for s in harness.escrows if s.escrow == escrow]) == 1
        stored = await _stream(store)
        assert [type(e).__name__ for e in stored] == [
            "EscrowCreated", "EscrowCreated", "ChainEventReverted", "EscrowCreated"]
    finally:
        await harness.stop()


async def test_rollback_with_reforge_reverts_and_recreates_in_the_new_blocks(
        sim: CardanoSimulator, store: SQLiteEventStore) -> None:
    harness = Harness(store=store, url=sim.url, scripts=SCRIPTS)
    await harness.start()
    try:
        escrow = await _create_escrow(sim, 3)
        old = await sim.advance()
        (utxo,) = await asyncio.to_thread(utxos_at, sim, ALWAYS)
        withdraw = await asyncio.to_thread(spend, sim, sim.accounts[1], utxo, ALWAYS,
                                           Withdraw(secret_of(3)))
        await submit(sim, withdraw)
        await sim.advance()
        await harness.synced(sim)

        new_blocks = await sim.rollback(2, reforge=True)
        await harness.synced(sim)

        # Reverted newest first: the withdrawal, then the creation.
        assert [(r.event_type, r.escrow) for r in harness.of_type(ChainEventReverted)] == [
            ("EscrowWithdrawn", escrow), ("EscrowCreated", escrow)]
        created = harness.of_type(EscrowCreated)
        assert [c.point.block_id for c in created] == [old.id.hex(), new_blocks[0].id.hex()]
        state = harness.escrows.get("cardano", escrow)
        assert state is not None and state.phase is EscrowPhase.WITHDRAWN
        assert state.created.block_id == new_blocks[0].id.hex()
        assert len(harness.of_type(EscrowWithdrawn)) == 2
    finally:
        await harness.stop()


async def test_restart_resumes_with_no_gap_and_no_duplicate(
        sim: CardanoSimulator, store: SQLiteEventStore) -> None:
    first = Harness(store=store, url=sim.url, scripts=SCRIPTS)
    await first.start()
    escrows = [await _create_escrow(sim, 10)]
    await sim.advance()
    await first.synced(sim)
    await first.stop()

    # While the monitor is down: more escrows, more blocks.
    for n in (11, 12):
        escrows.append(await _create_escrow(sim, n))
        await sim.advance()
    await sim.forge_blocks(3)

    second = Harness(store=store, url=sim.url, scripts=SCRIPTS)
    await second.start()
    try:
        # Resumed from the stored cursor: the old escrow is in the projection (rebuilt from
        # the log), only the new ones are published.
        assert second.escrows.get("cardano", escrows[0]) is not None
        await second.synced(sim)
        assert [e.escrow for e in second.of_type(EscrowCreated)] == escrows[1:]
        assert second.of_type(ChainEventReverted) == []
        stored = await _stream(store)
        assert [e.escrow for e in stored if isinstance(e, EscrowCreated)] == escrows
        assert sorted(s.escrow for s in second.escrows) == sorted(escrows)
        assert second.monitor is not None and second.monitor.status().reorgs == 0
    finally:
        await second.stop()


async def test_restart_across_a_rollback_it_did_not_see(
        sim: CardanoSimulator, store: SQLiteEventStore) -> None:
    first = Harness(store=store, url=sim.url, scripts=SCRIPTS)
    await first.start()
    kept = await _create_escrow(sim, 20)
    await sim.advance()
    lost = await _create_escrow(sim, 21)
    await sim.advance()
    await sim.forge_blocks(1)
    await first.synced(sim)
    await first.stop()

    await sim.rollback(2, drop_transactions=True)
    await sim.forge_blocks(3)

    second = Harness(store=store, url=sim.url, scripts=SCRIPTS)
    await second.start()
    try:
        await second.synced(sim)
        assert [(r.event_type, r.escrow) for r in second.of_type(ChainEventReverted)] == [
            ("EscrowCreated", lost)]
        assert second.escrows.get("cardano", lost) is None
        assert second.escrows.get("cardano", kept) is not None
        stored = await _stream(store)
        assert [type(e).__name__ for e in stored] == [
            "EscrowCreated", "EscrowCreated", "ChainEventReverted"]
    finally:
        await second.stop()
