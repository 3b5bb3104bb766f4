"""The Cardano monitor against the ledger simulator: escrows created, withdrawn with the
secret captured, cancelled; failed phase-2 transactions; records and cursor committed
together."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from devnet.cardano import CardanoSimulator
from relayer.chains.cardano.checkpoints import CHECKPOINT_NAME, Cursor
from relayer.chains.cardano.decode import ScriptHashes
from relayer.chains.cardano.escrow_datum import Cancel, Withdraw
from relayer.chains.cardano.events import CARDANO_STREAM_CODEC
from relayer.chains.escrows import EscrowPhase
from relayer.chains.events import (
    EscrowCancelled,
    EscrowCreated,
    EscrowRole,
    EscrowWithdrawn,
    chain_stream,
)
from relayer.orders.timelocks import Timelocks
from relayer.store.base import Checkpoint
from relayer.store.sqlite import SQLiteEventStore
from tests.integration.cardano.chain import (
    ALWAYS,
    BUDGET,
    NEVER,
    Harness,
    dst_datum,
    lock,
    script_hash,
    secret_of,
    spend,
    submit,
    utxos_at,
    wait_for,
)

SCRIPTS = ScriptHashes(escrow=frozenset({script_hash(ALWAYS), script_hash(NEVER)}),
                       order=frozenset())


@pytest.fixture
async def harness(sim: CardanoSimulator, store: SQLiteEventStore) -> AsyncIterator[Harness]:
    h = Harness(store=store, url=sim.url, scripts=SCRIPTS)
    await h.start()
    yield h
    await h.stop()


async def test_escrow_created_then_withdrawn_reveals_the_secret(
        sim: CardanoSimulator, harness: Harness) -> None:
    maker, taker = sim.accounts[0], sim.accounts[1]
    secret = secret_of(1)
    datum = dst_datum(sim, maker=maker, taker=taker, secret=secret)
    tx = await asyncio.to_thread(lock, sim, taker, ALWAYS, datum, 12_000_000)
    await submit(sim, tx)
    block = await sim.advance()
    await harness.synced(sim)

    (created,) = harness.of_type(EscrowCreated)
    assert created.escrow == f"{tx.id}#0" and created.role is EscrowRole.DST
    terms = created.immutables
    assert terms.order_hash == "0x" + "0a" * 32
    assert terms.hashlock == "0x" + datum.hashlock.hex()
    assert terms.maker == maker.address and terms.taker == taker.address
    assert (terms.token, terms.amount, terms.safety_deposit) == ("lovelace", 10_000_000,
                                                                 2_000_000)
    # No validity interval on the lock: deployedAt is the block's time.
    offsets, deployed_at = Timelocks.unpack(terms.timelocks)
    block_s = sim.genesis.slot_to_posix_ms(block.slot) // 1000
    assert deployed_at == block_s
    assert offsets.dst_withdrawal * 1000 == datum.withdrawal - block_s * 1000
    assert offsets.dst_cancellation * 1000 == datum.cancellation - block_s * 1000
    assert offsets.src_withdrawal == 0
    assert created.point.height == block.height and created.point.slot == block.slot
    assert created.point.timestamp == block_s and created.complement is None
    monitor = harness.monitor
    assert monitor is not None
    assert monitor.confirmations(created.point) == 1 and not monitor.is_final(created.point)
    await sim.forge_blocks(2)
    await harness.synced(sim)
    assert monitor.confirmations(created.point) == 3 and monitor.is_final(created.point)
    assert monitor.status().head_height == sim.tip.height

    (escrow,) = await asyncio.to_thread(utxos_at, sim, ALWAYS)
    withdraw = await asyncio.to_thread(spend, sim, taker, escrow, ALWAYS, Withdraw(secret))
    await submit(sim, withdraw)
    await sim.advance()
    await harness.synced(sim)

    (withdrawn,) = harness.of_type(EscrowWithdrawn)
    assert withdrawn.escrow == created.escrow and withdrawn.secret == "0x" + secret.hex()
    assert withdrawn.point.tx_id == str(withdraw.id)
    state = harness.escrows.get("cardano", created.escrow)
    assert state is not None and state.phase is EscrowPhase.WITHDRAWN
    assert state.secret == "0x" + secret.hex()


async def test_escrow_cancelled(sim: CardanoSimulator, harness: Harness) -> None:
    maker, taker = sim.accounts[0], sim.accounts[1]
    datum = dst_datum(sim, maker=maker, taker=taker, secret=secret_of(2))
    await submit(sim, await asyncio.to_thread(lock, sim, taker, ALWAYS, datum, 12_000_000))
    await sim.advance()
    (escrow,) = await asyncio.to_thread(utxos_at, sim, ALWAYS)
    await submit(sim, await asyncio.to_thread(spend, sim, taker, escrow, ALWAYS, Cancel()))
    await sim.advance()
    await harness.synced(sim)

    (cancelled,) = harness.of_type(EscrowCancelled)
    assert cancelled.escrow == f"{escrow.input.transaction_id}#{escrow.input.index}"
    assert harness.of_type(EscrowWithdrawn) == []
    state = harness.escrows.get("cardano", cancelled.escrow)
    assert state is not None and state.phase is EscrowPhase.CANCELLED


async def test_underfunded_and_malformed_outputs_are_ignored(
        sim: CardanoSimulator, harness: Harness) -> None:
    maker, taker = sim.accounts[0], sim.accounts[1]
    datum = dst_datum(sim, maker=maker, taker=taker, secret=secret_of(3))
    # Holds less than amount + deposit; and no datum at all.
    await submit(sim, await asyncio.to_thread(lock, sim, taker, ALWAYS, datum, 11_000_000))
    await sim.advance()
    await submit(sim, await asyncio.to_thread(lock, sim, taker, ALWAYS, None, 12_000_000))
    await sim.advance()
    await harness.synced(sim)
    assert harness.of_type(EscrowCreated) == []
    assert harness.monitor is not None and harness.monitor.ignored_outputs == 2


async def test_phase_two_failure_spends_only_collateral(
        sim: CardanoSimulator, harness: Harness) -> None:
    maker, taker = sim.accounts[0], sim.accounts[1]
    secret = secret_of(4)
    datum = dst_datum(sim, maker=maker, taker=taker, secret=secret)
    await submit(sim, await asyncio.to_thread(lock, sim, taker, NEVER, datum, 12_000_000))
    await sim.advance()
    (escrow,) = await asyncio.to_thread(utxos_at, sim, NEVER)
    failing = await asyncio.to_thread(spend, sim, taker, escrow, NEVER, Withdraw(secret),
                                      ex_units=BUDGET)
    failing.valid = False
    await submit(sim, failing)
    block = await sim.advance()
    assert [v.tx.id_hex for v in block.transactions] == [str(failing.id)]
    await harness.synced(sim)

    # The input was not consumed: no withdrawal, the secret is not taken from it, and the
    # escrow stays open (the ledger agrees).
    assert harness.of_type(EscrowWithdrawn) == []
    (created,) = harness.of_type(EscrowCreated)
    state = harness.escrows.get("cardano", created.escrow)
    assert state is not None and state.phase is EscrowPhase.OPEN
    assert await asyncio.to_thread(utxos_at, sim, NEVER) == [escrow]


async def test_records_and_cursor_commit_together(
        sim: CardanoSimulator, harness: Harness, store: SQLiteEventStore) -> None:
    maker, taker = sim.accounts[0], sim.accounts[1]
    for n in range(3):
        datum = dst_datum(sim, maker=maker, taker=taker, secret=secret_of(10 + n))
        await submit(sim, await asyncio.to_thread(lock, sim, taker, ALWAYS, datum, 12_000_000))
        await sim.advance()
    await sim.forge_blocks(2)
    await harness.synced(sim)

    stored = await store.read_checkpoint(CHECKPOINT_NAME)
    assert stored is not None
    cursor = Cursor.decode(stored.data, checkpoint_version=stored.version)
    assert cursor.tip is not None
    assert (cursor.tip.slot, cursor.tip.id, cursor.tip.height) == (
        sim.tip.slot, sim.tip.id.hex(), sim.tip.height)
    records = await store.read_stream(chain_stream("cardano"))
    assert [r.version for r in records] == [1, 2, 3] == list(range(1, cursor.stream_version + 1))
    assert all(isinstance(CARDANO_STREAM_CODEC.decode(r), EscrowCreated) for r in records)


async def test_a_second_writer_of_the_cursor_fences_this_monitor_off(
        sim: CardanoSimulator, harness: Harness, store: SQLiteEventStore) -> None:
    await sim.forge_blocks(2)
    await harness.synced(sim)
    stored = await store.read_checkpoint(CHECKPOINT_NAME)
    assert stored is not None
    # Another replica (a newer leader) advances the cursor.
    await store.append([], checkpoint=Checkpoint(CHECKPOINT_NAME, stored.version + 1,
                                                 stored.data))
    maker, taker = sim.accounts[0], sim.accounts[1]
    datum = dst_datum(sim, maker=maker, taker=taker, secret=secret_of(9))
    await submit(sim, await asyncio.to_thread(lock, sim, taker, ALWAYS, datum, 12_000_000))
    await sim.advance()
    monitor = harness.monitor
    assert monitor is not None
    await wait_for(lambda: "another writer" in monitor.status().detail, "the fence")
    assert not monitor.status().connected
    assert await store.read_stream(chain_stream("cardano")) == []
    assert harness.of_type(EscrowCreated) == []
