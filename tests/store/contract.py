"""The store contract: ONE suite every backend subclasses and must pass unchanged."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from relayer.store.base import EventStore, NewRecord, VersionConflict


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
