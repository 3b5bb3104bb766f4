"""The store contract: ONE suite every backend subclasses and must pass unchanged."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from relayer.store.base import (
    Checkpoint,
    EventStore,
    LogFeed,
    NewRecord,
    Record,
    VersionConflict,
)

FOLLOW_DEADLINE = 10.0


async def next_record(feed: AsyncIterator[Record]) -> Record:
    """The next followed record, or fail after a deadline (a missed wake-up shows as slow)."""
    return await asyncio.wait_for(anext(feed), FOLLOW_DEADLINE)


def rec(stream: str, version: int, data: bytes = b"{}", type_: str = "Test") -> NewRecord:
    return NewRecord(stream=stream, version=version, type=type_, data=data)


class StoreContract:
    """Subclass and provide the ``fresh_store`` fixture (an unopened store)."""

    @pytest.fixture
    async def store(self, fresh_store: EventStore) -> AsyncIterator[EventStore]:
        await fresh_store.open()
        try:
            yield fresh_store
        finally:
            await fresh_store.close()

    async def test_empty(self, store: EventStore) -> None:
        assert await store.last_position() == 0
        assert await store.read() == []
        assert await store.append([]) == []

    async def test_append_assigns_increasing_positions(self, store: EventStore) -> None:
        written = await store.append([rec("a", 1, b"x"), rec("a", 2, b"y")])
        more = await store.append([rec("b", 1)])
        positions = [r.position for r in written + more]
        assert positions == sorted(positions) and len(set(positions)) == 3
        assert written[1].position == written[0].position + 1
        assert await store.last_position() == positions[-1]
        read = await store.read()
        assert [(r.stream, r.version, r.data) for r in read] == [
            ("a", 1, b"x"), ("a", 2, b"y"), ("b", 1, b"{}")]

    async def test_read_after_and_limit(self, store: EventStore) -> None:
        written = await store.append([rec("s", v) for v in range(1, 11)])
        page = await store.read(after=written[3].position, limit=3)
        assert [r.version for r in page] == [5, 6, 7]

    async def test_conflict_rejects_whole_append(self, store: EventStore) -> None:
        await store.append([rec("a", 1)])
        with pytest.raises(VersionConflict) as err:
            await store.append([rec("b", 1), rec("a", 1)])
        assert err.value.stream == "a"
        assert [r.stream for r in await store.read()] == ["a"]

    async def test_concurrent_appends_one_fails_others_commit(self, store: EventStore) -> None:
        results = await asyncio.gather(
            *(store.append([rec(f"s{i}", 1)]) for i in range(50)),
            store.append([rec("s7", 1)]),
            return_exceptions=True,
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        assert len(failures) == 1 and isinstance(failures[0], VersionConflict)
        assert len(await store.read(limit=100)) == 50

    async def test_read_stream(self, store: EventStore) -> None:
        await store.append([rec("a", 1, b"1"), rec("b", 1)])
        await store.append([rec("a", 2, b"2")])
        assert [r.data for r in await store.read_stream("a")] == [b"1", b"2"]
        assert await store.read_stream("none") == []

    async def test_large_values_round_trip(self, store: EventStore) -> None:
        data = b'{"amount":"' + str(2**255).encode() + b'"}' + bytes(range(256)) * 100
        (written,) = await store.append([rec("big", 1, data)])
        assert (await store.read())[0].data == data

    async def test_durable_across_reopen(self, fresh_store: EventStore,
                                         reopen: EventStore) -> None:
        await fresh_store.open()
        await fresh_store.append([rec("a", 1, b"kept")])
        await fresh_store.close()
        await reopen.open()
        try:
            assert [r.data for r in await reopen.read()] == [b"kept"]
            with pytest.raises(VersionConflict):
                await reopen.append([rec("a", 1)])
        finally:
            await reopen.close()

    async def test_ping(self, store: EventStore) -> None:
        assert await store.ping() >= 0

    async def test_checkpoint_absent(self, store: EventStore) -> None:
        assert await store.read_checkpoint("ethereum") is None

    async def test_checkpoint_moves_with_records(self, store: EventStore) -> None:
        written = await store.append([rec("chain", 1, b"e1")],
                                     checkpoint=Checkpoint("ethereum", 1, b"block 10"))
        assert [r.data for r in written] == [b"e1"]
        assert await store.read_checkpoint("ethereum") == Checkpoint("ethereum", 1, b"block 10")
        assert await store.append([], checkpoint=Checkpoint("ethereum", 2, b"block 11")) == []
        assert await store.read_checkpoint("ethereum") == Checkpoint("ethereum", 2, b"block 11")
        assert await store.read_checkpoint("cardano") is None

    async def test_stale_checkpoint_rejects_whole_append(self, store: EventStore) -> None:
        await store.append([], checkpoint=Checkpoint("c", 1, b"one"))
        await store.append([], checkpoint=Checkpoint("c", 2, b"two"))
        for stale in (1, 2, 4):
            with pytest.raises(VersionConflict) as err:
                await store.append([rec("chain", 1)], checkpoint=Checkpoint("c", stale, b"x"))
            assert err.value.stream == "checkpoint:c" and err.value.version == stale
        assert await store.read() == []
        assert await store.read_checkpoint("c") == Checkpoint("c", 2, b"two")

    async def test_record_conflict_leaves_checkpoint(self, store: EventStore) -> None:
        await store.append([rec("chain", 1)], checkpoint=Checkpoint("c", 1, b"one"))
        with pytest.raises(VersionConflict):
            await store.append([rec("chain", 1)], checkpoint=Checkpoint("c", 2, b"two"))
        assert await store.read_checkpoint("c") == Checkpoint("c", 1, b"one")
        assert len(await store.read()) == 1

    async def test_racing_checkpoint_writers_one_wins(self, store: EventStore) -> None:
        await store.append([], checkpoint=Checkpoint("c", 1, b"start"))
        results = await asyncio.gather(
            *(store.append([rec(f"w{i}", 1)], checkpoint=Checkpoint("c", 2, b"w%d" % i))
              for i in range(10)),
            return_exceptions=True,
        )
        winners = [i for i, r in enumerate(results) if not isinstance(r, BaseException)]
        assert len(winners) == 1
        assert all(isinstance(r, VersionConflict) for r in results if isinstance(r, BaseException))
        saved = await store.read_checkpoint("c")
        assert saved == Checkpoint("c", 2, b"w%d" % winners[0])
        assert [r.stream for r in await store.read()] == [f"w{winners[0]}"]

    async def test_checkpoint_durable_across_reopen(self, fresh_store: EventStore,
                                                    reopen: EventStore) -> None:
        await fresh_store.open()
        await fresh_store.append([rec("chain", 1)], checkpoint=Checkpoint("c", 1, bytes(300)))
        await fresh_store.close()
        await reopen.open()
        try:
            assert await reopen.read_checkpoint("c") == Checkpoint("c", 1, bytes(300))
        finally:
            await reopen.close()

    async def test_positions_have_no_gaps(self, store: EventStore) -> None:
        """Position n + 1 is the next commit after n, even when appends fail or race."""
        await store.append([rec("a", 1)])
        with pytest.raises(VersionConflict):
            await store.append([rec("b", 1), rec("a", 1)])
        with pytest.raises(VersionConflict):
            await store.append([rec("c", 1)], checkpoint=Checkpoint("k", 5, b""))
        await asyncio.gather(*(store.append([rec(f"r{i}", 1), rec(f"r{i}", 2)])
                               for i in range(20)), return_exceptions=True)
        await store.append([rec("z", 1)])
        positions = [r.position for r in await store.read(limit=1000)]
        assert positions == list(range(1, 43))
        assert await store.last_position() == 42

    async def test_follow_yields_the_log_then_new_commits(self, store: EventStore) -> None:
        assert isinstance(store, LogFeed)
        assert store.schema_version >= 1
        first = await store.append([rec("a", 1, b"1"), rec("a", 2, b"2")])
        feed = store.follow(after=first[0].position)
        try:
            assert (await next_record(feed)).data == b"2"
            pending = asyncio.ensure_future(next_record(feed))
            (later,) = await store.append([rec("b", 1, b"3")])
            assert await pending == later
            await store.append([rec("c", 1, b"4"), rec("c", 2, b"5")])
            assert [(await next_record(feed)).data for _ in range(2)] == [b"4", b"5"]
        finally:
            await feed.aclose()
