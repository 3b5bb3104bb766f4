"""The monitor keeps order-lock lineages across restarts and rollbacks: the state it
folds from its stored stream (also one written before lineages existed) continues
exactly where the live one left off."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from relayer.chains.cardano.checkpoints import CHECKPOINT_NAME
from relayer.chains.cardano.events import CARDANO_STREAM_CODEC, OrderLocked
from relayer.chains.cardano.monitor import STREAM, CardanoMonitor
from relayer.chains.escrows import EscrowBook
from relayer.chains.events import EscrowCreated, LockOrigin
from relayer.config import load_settings
from relayer.events.bus import EventBus
from relayer.events.projection import Projector
from relayer.store.base import NewRecord
from relayer.store.sqlite import SQLiteEventStore
from tests.chains.cardano.blocks import ADA, CLOCK, ORDER, SCRIPTS, Ledger
from tests.chains.cardano.fake_node import FakeChain, until


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteEventStore]:
    events = SQLiteEventStore(tmp_path / "events.db")
    await events.open()
    yield events
    await events.close()


class Running:
    """A monitor on ``store`` following ``chain``, its projection and bus recorded."""

    def __init__(self, chain: FakeChain, store: SQLiteEventStore) -> None:
        self.chain = chain
        self.escrows = EscrowBook()
        self.bus = EventBus()
        self.published: list[object] = []
        self.bus.subscribe(None, self.published.append)
        projector = Projector(CARDANO_STREAM_CODEC, self.bus, [self.escrows])
        self.monitor = CardanoMonitor(node=chain, store=store, committed=projector.committed,
                                      scripts=SCRIPTS, settings=load_settings().chains.cardano)

    async def __aenter__(self) -> Running:
        await self.monitor.start()
        await self.synced()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.monitor.stop()

    async def synced(self) -> None:
        tip = self.chain.tip
        slot = None if tip is None else tip.slot
        await until(lambda: self.monitor.status().processed == slot, f"slot {slot}")

    def origin(self, escrow: str) -> LockOrigin | None:
        state = self.escrows.get("cardano", escrow)
        assert state is not None, escrow
        return state.origin


async def _partly_filled(chain: FakeChain, ledger: Ledger) -> tuple[str, str]:
    """The maker's lock, then a fill of 50 ADA: (root, continuing output)."""
    tx = ledger.tx()
    root = tx.lock(ORDER)
    chain.add(ledger.block(tx))
    fill, _, rest = ledger.fill(root, ORDER, 50 * ADA)
    chain.add(ledger.block(fill))
    assert rest is not None
    return root, rest


async def test_a_restart_continues_the_lineage_from_the_stored_stream(
        store: SQLiteEventStore) -> None:
    chain, ledger = FakeChain(CLOCK), Ledger()
    root, rest = await _partly_filled(chain, ledger)
    async with Running(chain, store) as first:
        before = first.monitor.live_events()

    second_fill, escrow, _ = ledger.fill(rest, dataclasses.replace(ORDER, filled=50 * ADA),
                                         30 * ADA)
    chain.add(ledger.block(second_fill))
    async with Running(chain, store) as second:
        assert second.monitor.live_events()[:len(before)] == before
        assert second.origin(escrow) == LockOrigin(lock=rest, root=root,
                                                   filled_before=50 * ADA, depth=1)


async def test_a_stream_written_before_lineages_reads_each_lock_as_its_own_root(
        store: SQLiteEventStore, tmp_path: Path) -> None:
    """Old records lack ``parent``/``root``/``depth`` (and ``origin``): a lock is then
    the root of its lineage, so the maker's own lock still roots at itself, and an older
    continuing output (which the old monitor never tied to its parent) does too."""
    chain, ledger = FakeChain(CLOCK), Ledger()
    root, rest = await _partly_filled(chain, ledger)
    async with Running(chain, store):
        pass
    old = SQLiteEventStore(tmp_path / "old.db")
    await old.open()
    try:
        records = []
        for record in await store.read_stream(STREAM):
            data = msgspec.json.decode(record.data)
            for new_field in ("parent", "root", "depth", "origin"):
                data.pop(new_field, None)
            records.append(NewRecord(STREAM, record.version, record.type,
                                     msgspec.json.encode(data)))
        checkpoint = await store.read_checkpoint(CHECKPOINT_NAME)
        assert checkpoint is not None
        await old.append(records, checkpoint=checkpoint)

        makers_escrow_tx = ledger.tx()  # another lock of the maker, filled whole
        another = makers_escrow_tx.lock(ORDER)
        chain.add(ledger.block(makers_escrow_tx))
        whole, whole_escrow, _ = ledger.fill(another, ORDER, ORDER.making_amount)
        part, part_escrow, _ = ledger.fill(rest, dataclasses.replace(ORDER, filled=50 * ADA),
                                           30 * ADA)
        chain.add(ledger.block(whole, part))
        async with Running(chain, old) as running:
            locks = [e for e in running.monitor.live_events() if isinstance(e, OrderLocked)]
            assert [(lk.lock, lk.root, lk.lineage_root) for lk in locks[:2]] == [
                (root, "", root), (rest, "", rest)]
            assert running.origin(whole_escrow) == LockOrigin(another, another, 0, 0)
            assert running.origin(part_escrow) == LockOrigin(rest, rest, 50 * ADA, 0)
    finally:
        await old.close()


async def test_a_rollback_of_a_fill_gives_the_lock_back_with_its_lineage(
        store: SQLiteEventStore) -> None:
    chain, ledger = FakeChain(CLOCK), Ledger()
    root, rest = await _partly_filled(chain, ledger)
    async with Running(chain, store) as running:
        fork = ledger.slot
        after_first = dataclasses.replace(ORDER, filled=50 * ADA)
        dropped, dropped_escrow, _ = ledger.fill(rest, after_first, 30 * ADA)
        chain.add(ledger.block(dropped))
        await running.synced()
        assert running.origin(dropped_escrow) is not None

        chain.roll_back(fork)
        await until(lambda: running.escrows.get("cardano", dropped_escrow) is None,
                    "the rolled-back escrow to go")

    # After a restart (the fold applies the reversals), the other branch's fill of the
    # same continuing output is still the maker's lineage.
    ledger.slot = fork
    kept, kept_escrow, _ = ledger.fill(rest, after_first, 40 * ADA)
    chain.add(ledger.block(kept))
    async with Running(chain, store) as again:
        assert again.origin(kept_escrow) == LockOrigin(lock=rest, root=root,
                                                       filled_before=50 * ADA, depth=1)
        created = [e.escrow for e in again.monitor.live_events()
                   if isinstance(e, EscrowCreated)]
        assert dropped_escrow not in created and kept_escrow in created
