"""One replica's view of the log: its own appends and everyone else's, applied in position order.

A replica folds records into in-memory state (the order book) and publishes
each record's event on its bus exactly once. Records arrive two ways: this
process's own appends, which the writer applies as soon as ``append``
returns (before its next ``await``), and the log follower, for records any
other process committed. ``SequencedStore`` wraps the store so that the two
take turns strictly in position order:

- an append returns only once every earlier record is applied, and counts its
  own records as applied: the caller applies them before it next awaits (and
  a wrapper between the caller and this store must not await after the
  append returns);
- the follower applies a record only once no append of this process that
  might have written it is still on its way back from the database.

Positions are gap-free (the store contract), so "every earlier record is
applied" is ``applied + 1 >= first``. A store that cannot be followed is
passed through unchanged (one process, nothing to merge).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence

import structlog

from relayer.store.base import (
    Checkpoint,
    EventStore,
    LogFeed,
    NewRecord,
    Record,
    StoreTimeout,
)

log = structlog.get_logger(__name__)

Apply = Callable[[Record], None]


class SequencedStore:
    def __init__(self, inner: EventStore, *, write_timeout: float | None = None) -> None:
        """``write_timeout``: seconds an append may take to commit, then ``StoreTimeout``
        (answered 503 ``STORE_TIMEOUT``); ``None``: no limit."""
        self.inner = inner
        self.write_timeout = write_timeout
        self.feed: LogFeed | None = inner if isinstance(inner, LogFeed) else None
        self.applied = 0
        """Every record up to this position is applied in this process."""
        self._frontier = 0
        """The position the follower waits at: every record before it is applied."""
        self._in_flight: set[int] = set()
        self._tokens = 0
        self._own: set[int] = set()
        """First positions of own appends back from the database, waiting for their turn."""
        self._changed = asyncio.Event()
        self.following = False
        self.applied_foreign = 0
        """Records committed elsewhere that the follower applied."""
        self.apply_errors = 0

    @property
    def schema_version(self) -> int | None:
        return self.feed.schema_version if self.feed is not None else None

    def start_at(self, position: int) -> None:
        """Everything up to ``position`` is applied (after a replay of the log)."""
        self.applied = self._frontier = position
        self._notify()

    async def open(self) -> None:
        await self.inner.open()

    async def close(self) -> None:
        await self.inner.close()

    async def read_checkpoint(self, name: str) -> Checkpoint | None:
        return await self.inner.read_checkpoint(name)

    async def read(self, after: int = 0, limit: int = 1000) -> list[Record]:
        return await self.inner.read(after, limit)

    async def read_stream(self, stream: str) -> list[Record]:
        return await self.inner.read_stream(stream)

    async def last_position(self) -> int:
        return await self.inner.last_position()

    async def ping(self) -> float:
        return await self.inner.ping()

    async def append(
        self, records: Sequence[NewRecord], *, checkpoint: Checkpoint | None = None
    ) -> list[Record]:
        if self.feed is None:
            written = await self._append(records, checkpoint)
            if written:
                self.applied = max(self.applied, written[-1].position)
            return written
        token = self._tokens = self._tokens + 1
        self._in_flight.add(token)
        try:
            written = await self._append(records, checkpoint)
        finally:
            self._in_flight.discard(token)
            self._notify()
        if not written:
            return written
        first = written[0].position
        self._own.add(first)
        try:
            while self.applied + 1 < first and self._frontier < first:
                await self._changes()
        except BaseException:
            # Cancelled while waiting: the follower applies these records instead.
            self._own.discard(first)
            self._notify()
            raise
        self._own.discard(first)
        self.applied = max(self.applied, written[-1].position)
        self._notify()
        return written

    async def _append(self, records: Sequence[NewRecord],
                      checkpoint: Checkpoint | None) -> list[Record]:
        """The store's append under the write timeout. A timed-out append is cancelled:
        not written if its turn had not come; if the database commits it anyway, its
        records reach this process through the follower (it is no longer in flight)."""
        if self.write_timeout is None:
            return await self.inner.append(records, checkpoint=checkpoint)
        try:
            return await asyncio.wait_for(self.inner.append(records, checkpoint=checkpoint),
                                          self.write_timeout)
        except TimeoutError:
            raise StoreTimeout(f"the store did not commit within {self.write_timeout} s",
                               details={"timeout_seconds": self.write_timeout}) from None

    async def follow(self, apply: Apply) -> None:
        """Apply every record other processes commit, in position order, until cancelled."""
        if self.feed is None:
            return
        self.following = True
        try:
            async for record in self._records():
                await self._take_turn(record, apply)
        finally:
            self.following = False

    async def _records(self) -> AsyncIterator[Record]:
        assert self.feed is not None
        async for record in self.feed.follow(self.applied):
            if record.position > self.applied:
                yield record

    async def _take_turn(self, record: Record, apply: Apply) -> None:
        self._frontier = record.position
        self._notify()
        maybe_ours = set(self._in_flight)
        while record.position > self.applied:
            if record.position in self._own or maybe_ours & self._in_flight:
                await self._changes()
                continue
            try:
                apply(record)
            except Exception:
                self.apply_errors += 1
                log.exception("log_record_apply_failed", position=record.position,
                              type=record.type, stream=record.stream)
            self.applied = record.position
            self.applied_foreign += 1
            self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _changes(self) -> None:
        await self._changed.wait()
