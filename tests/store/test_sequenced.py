"""Own appends and followed records are applied once each, in position order."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devnet.process import wait_until
from relayer.store.base import Record
from relayer.store.postgres import PostgresEventStore
from relayer.store.sequenced import SequencedStore
from relayer.store.sqlite import SQLiteEventStore
from tests.store.contract import rec


@pytest.fixture
async def pair(pg_url: str) -> AsyncIterator[tuple[SequencedStore, PostgresEventStore]]:
    """This replica's store, and another replica's, on one database."""
    local, other = SequencedStore(PostgresEventStore(pg_url)), PostgresEventStore(pg_url)
    await local.open()
    await other.open()
    try:
        yield local, other
    finally:
        await local.close()
        await other.close()


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class Applied:
    def __init__(self) -> None:
        self.positions: list[int] = []

    def followed(self, record: Record) -> None:
        self.positions.append(record.position)

    async def reach(self, count: int) -> None:
        async def done() -> bool:
            return len(self.positions) >= count

        await wait_until(done, timeout=20, what=f"{count} records applied")


async def test_own_and_other_replicas_records_apply_once_in_order(
        pair: tuple[SequencedStore, PostgresEventStore]) -> None:
    local, other = pair
    applied = Applied()
    follower = asyncio.create_task(local.follow(applied.followed))

    async def ours(i: int) -> None:
        written = await local.append([rec(f"m{i}", 1), rec(f"m{i}", 2)])
        applied.positions.extend(r.position for r in written)  # as the desk does

    async def theirs(i: int) -> None:
        await other.append([rec(f"o{i}", 1)])

    try:
        await asyncio.gather(*(ours(i) for i in range(150)), *(theirs(i) for i in range(150)))
        await applied.reach(450)
        assert applied.positions == list(range(1, 451))
        assert local.applied == 450 and local.applied_foreign == 150
    finally:
        await stop(follower)


async def test_an_own_append_waits_for_earlier_records_of_others(
        pair: tuple[SequencedStore, PostgresEventStore]) -> None:
    local, other = pair
    await other.append([rec("theirs", 1)])
    applied = Applied()
    mine = asyncio.create_task(local.append([rec("mine", 1)]))
    follower = asyncio.create_task(local.follow(applied.followed))
    try:
        (written,) = await asyncio.wait_for(mine, 10)
        assert written.position == 2 and applied.positions == [1]
    finally:
        await stop(follower)


async def test_a_cancelled_own_append_is_applied_by_the_follower(
        pair: tuple[SequencedStore, PostgresEventStore]) -> None:
    local, other = pair
    await other.append([rec("theirs", 1)])
    mine = asyncio.create_task(local.append([rec("mine", 1)]))

    async def committed() -> bool:
        return await other.last_position() == 2

    await wait_until(committed, timeout=10, what="the own append to commit")
    assert not mine.done(), "it must wait for position 1 to be applied first"
    mine.cancel()
    with pytest.raises(asyncio.CancelledError):
        await mine
    applied = Applied()
    follower = asyncio.create_task(local.follow(applied.followed))
    try:
        await applied.reach(2)
        assert applied.positions == [1, 2]
    finally:
        await stop(follower)


async def test_sqlite_concurrent_own_appends_return_in_position_order(tmp_path: Path) -> None:
    local = SequencedStore(SQLiteEventStore(tmp_path / "log.sqlite3"))
    await local.open()
    applied = Applied()
    follower = asyncio.create_task(local.follow(applied.followed))

    async def ours(i: int) -> None:
        written = await local.append([rec(f"m{i}", 1)])
        applied.positions.extend(r.position for r in written)

    try:
        await asyncio.gather(*(ours(i) for i in range(200)))
        assert applied.positions == list(range(1, 201))
        assert local.applied_foreign == 0
    finally:
        await stop(follower)
        await local.close()
