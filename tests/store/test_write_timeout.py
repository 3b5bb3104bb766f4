"""Every store write has a deadline, and a write given up on never breaks the writer."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import pytest

from relayer.store.base import NewRecord, Record, StoreTimeout
from relayer.store.sequenced import SequencedStore
from relayer.store.sqlite import SQLiteEventStore, _Append


def record(stream: str, version: int = 1) -> NewRecord:
    return NewRecord(stream=stream, version=version, type="Noted", data=b"{}")


async def test_a_write_past_the_deadline_fails_and_the_writer_lives_on(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    inner = SQLiteEventStore(path)
    store = SequencedStore(inner, write_timeout=0.3)
    await store.open()
    try:
        await store.append([record("warm")])
        # Another connection holds the write lock: the writer thread waits on it with the
        # first append in hand (it can no longer be given up), the second waits behind.
        blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        blocker.execute("BEGIN EXCLUSIVE")
        taken = asyncio.ensure_future(store.append([record("taken")]))
        await asyncio.sleep(0)  # let it reach the queue
        deadline = time.monotonic() + 5
        while not inner._queue.empty():  # the writer thread took "taken"
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        with pytest.raises(StoreTimeout) as late:
            await store.append([record("late")])
        assert late.value.code == "STORE_TIMEOUT"
        with pytest.raises(StoreTimeout):
            await taken
        for _ in range(3):
            await asyncio.sleep(0)  # the give-ups reach the writer's futures (call_soon)
        release = threading.Timer(0.0, blocker.execute, args=("COMMIT",))
        release.start()
        release.join()
        # The writer survived both give-ups: a new append commits. (Through the inner
        # store: the sequenced one waits for its follower, which the app runs, to apply
        # "taken" first.)
        (written,) = await asyncio.wait_for(inner.append([record("after")]), 10)
        streams = [r.stream for r in await inner.read()]
        # Both were in the writer's hands already (one batch) and were committed: the
        # callers were told "failed", and the app's log follower applies such records.
        assert streams[0] == "warm" and streams[-1] == "after" == written.stream
        assert sorted(streams[1:-1]) == ["late", "taken"]
        blocker.close()
    finally:
        await store.close()


async def test_an_append_given_up_before_its_turn_is_not_written(tmp_path: Path) -> None:
    store = SQLiteEventStore(tmp_path / "log.sqlite3")
    await store.open()
    try:
        given_up: Future[list[Record]] = Future()
        assert given_up.cancel()
        store._queue.put(_Append([record("given-up")], None, given_up))
        (written,) = await asyncio.wait_for(store.append([record("kept")]), 10)
        assert [r.stream for r in await store.read()] == ["kept"]
        assert written.position == 1
        # The writer is still there for the next one.
        await asyncio.wait_for(store.append([record("next")]), 10)
    finally:
        await store.close()


async def test_no_deadline_means_waiting(tmp_path: Path) -> None:
    store = SequencedStore(SQLiteEventStore(tmp_path / "log.sqlite3"))
    await store.open()
    try:
        assert store.write_timeout is None
        (written,) = await store.append([record("s")])
        assert written.position == 1
    finally:
        await store.close()
