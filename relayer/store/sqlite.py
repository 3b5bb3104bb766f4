"""SQLite backend: WAL, durable commits, and group commit from one writer thread.

Every ``append`` is handed to a single writer thread. The writer takes all
appends that are waiting, commits them in one transaction (each inside its
own savepoint, so a conflicting append fails alone), and only then resolves
their futures. Under load this turns many fsyncs into one without weakening
"a returned append is committed".
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from relayer.errors import StoreError
from relayer.store.base import (
    Checkpoint,
    NewRecord,
    Record,
    VersionConflict,
    checkpoint_stream,
)
from relayer.store.feed import CommitSignal, tail

log = structlog.get_logger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    stream   TEXT    NOT NULL,
    version  INTEGER NOT NULL,
    type     TEXT    NOT NULL,
    data     BLOB    NOT NULL,
    UNIQUE (stream, version)
);
CREATE TABLE IF NOT EXISTS checkpoints (
    name    TEXT    PRIMARY KEY,
    version INTEGER NOT NULL,
    data    BLOB    NOT NULL
);
"""
_SCHEMA_VERSION = 1
_MAX_BATCH = 512
_STOP = object()
_CHECKPOINT_SECONDS = 1.0
_FOLLOW_POLL_SECONDS = 1.0


class SQLiteEventStore:
    def __init__(self, path: str | Path, *, synchronous: str = "FULL") -> None:
        self._path = str(path)
        self._synchronous = synchronous
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._reader: sqlite3.Connection | None = None
        self._reader_lock = threading.Lock()
        self._checkpointer: threading.Thread | None = None
        self._closing = threading.Event()
        self.signal = CommitSignal()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self._synchronous}")
        conn.execute("PRAGMA busy_timeout=5000")
        return conn

    async def open(self) -> None:
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        ready: Future[None] = Future()
        self._writer = threading.Thread(target=self._write_loop, args=(ready,),
                                        name="sqlite-writer", daemon=True)
        self._writer.start()
        await asyncio.wrap_future(ready)
        self._reader = await asyncio.to_thread(self._connect)
        self._closing.clear()
        self._checkpointer = threading.Thread(target=self._checkpoint_loop,
                                              name="sqlite-checkpoint", daemon=True)
        self._checkpointer.start()

    async def close(self) -> None:
        self._closing.set()
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.join, 10)
            self._checkpointer = None
        if self._writer is not None:
            self._queue.put(_STOP)
            await asyncio.to_thread(self._writer.join, 10)
            self._writer = None
        reader, self._reader = self._reader, None
        if reader is not None:
            # Under the reader lock: a query still running in a worker thread finishes
            # first (closing a connection under a running statement crashes sqlite3).
            def close_reader() -> None:
                with self._reader_lock:
                    reader.close()

            await asyncio.to_thread(close_reader)

    async def append(
        self, records: Sequence[NewRecord], *, checkpoint: Checkpoint | None = None
    ) -> list[Record]:
        if not records and checkpoint is None:
            return []
        if self._writer is None:
            raise StoreError("store is not open")
        done: Future[list[Record]] = Future()
        self._queue.put(_Append(list(records), checkpoint, done))
        written = await asyncio.wrap_future(done)
        if written:
            self.signal.fire(written[-1].position)
        return written

    async def follow(self, after: int) -> AsyncIterator[Record]:
        # One process owns the file, so its own appends are the only signal needed.
        async for record in tail(self.read, self.signal, after,
                                 poll_seconds=_FOLLOW_POLL_SECONDS):
            yield record

    @property
    def schema_version(self) -> int:
        return _SCHEMA_VERSION

    async def read_checkpoint(self, name: str) -> Checkpoint | None:
        rows = await self._query(
            "SELECT name, version, data FROM checkpoints WHERE name = ?", (name,))
        if not rows:
            return None
        row_name, version, data = rows[0]
        return Checkpoint(str(row_name), int(version), bytes(data))

    async def read(self, after: int = 0, limit: int = 1000) -> list[Record]:
        rows = await self._query(
            "SELECT position, stream, version, type, data FROM records"
            " WHERE position > ? ORDER BY position LIMIT ?", (after, limit))
        return [Record(*row) for row in rows]

    async def read_stream(self, stream: str) -> list[Record]:
        rows = await self._query(
            "SELECT position, stream, version, type, data FROM records"
            " WHERE stream = ? ORDER BY version", (stream,))
        return [Record(*row) for row in rows]

    async def last_position(self) -> int:
        rows = await self._query("SELECT COALESCE(MAX(position), 0) FROM records", ())
        return int(rows[0][0])

    async def ping(self) -> float:
        started = time.perf_counter()
        await self._query("SELECT 1", ())
        return time.perf_counter() - started

    async def _query(self, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        reader = self._reader
        if reader is None:
            raise StoreError("store is not open")

        def run() -> list[tuple[Any, ...]]:
            with self._reader_lock:
                return reader.execute(sql, params).fetchall()

        try:
            return await asyncio.to_thread(run)
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite read failed: {exc}") from exc

    def _write_loop(self, ready: Future[None]) -> None:
        try:
            conn = self._connect()
            # Checkpoints run in their own thread (below), never inside a commit.
            conn.execute("PRAGMA wal_autocheckpoint=0")
            conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            ready.set_exception(StoreError(f"cannot open sqlite store: {exc}"))
            return
        ready.set_result(None)
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    return
                batch = [item]
                while len(batch) < _MAX_BATCH:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is _STOP:
                        self._commit(conn, batch)  # type: ignore[arg-type]
                        return
                    batch.append(item)
                self._commit(conn, batch)  # type: ignore[arg-type]
        finally:
            conn.close()

    def _checkpoint_loop(self) -> None:
        """Copy the WAL into the database file off the commit path.

        A checkpoint fsyncs the database file; run inside a commit it stalled
        every waiting append for tens of milliseconds. PASSIVE never blocks writers.
        """
        if self._path == ":memory:":
            return
        conn = self._connect()
        try:
            while not self._closing.wait(_CHECKPOINT_SECONDS):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error as exc:
                    log.warning("sqlite_checkpoint_failed", error=str(exc))
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            log.warning("sqlite_checkpoint_failed", error=str(exc))
        finally:
            conn.close()

    def _commit(self, conn: sqlite3.Connection, batch: list[_Append]) -> None:
        # An append whose caller gave up (the store write timeout) before its turn is not
        # written; one already taken can no longer be cancelled, so its outcome is set.
        batch = [append for append in batch if append.done.set_running_or_notify_cancel()]
        if not batch:
            return
        outcomes: list[list[Record] | BaseException] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for append in batch:
                outcomes.append(self._insert(conn, append.records, append.checkpoint))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            log.error("sqlite_commit_failed", error=str(exc), appends=len(batch))
            failure = StoreError(f"sqlite commit failed: {exc}")
            outcomes = [failure] * len(batch)
        for append, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                append.done.set_exception(outcome)
            else:
                append.done.set_result(outcome)

    @staticmethod
    def _insert(
        conn: sqlite3.Connection, records: list[NewRecord], checkpoint: Checkpoint | None
    ) -> list[Record] | VersionConflict:
        conn.execute("SAVEPOINT one_append")

        def give_up(conflict: VersionConflict) -> VersionConflict:
            conn.execute("ROLLBACK TO one_append")
            conn.execute("RELEASE one_append")
            return conflict

        written = []
        for record in records:
            try:
                cursor = conn.execute(
                    "INSERT INTO records (stream, version, type, data) VALUES (?, ?, ?, ?)",
                    (record.stream, record.version, record.type, record.data))
            except sqlite3.IntegrityError:
                return give_up(VersionConflict(record.stream, record.version))
            position = cursor.lastrowid
            assert position is not None
            written.append(Record(position, record.stream, record.version, record.type,
                                  record.data))
        if checkpoint is not None and not _write_checkpoint(conn, checkpoint):
            return give_up(VersionConflict(checkpoint_stream(checkpoint.name),
                                           checkpoint.version))
        conn.execute("RELEASE one_append")
        return written


@dataclass(frozen=True, slots=True)
class _Append:
    records: list[NewRecord]
    checkpoint: Checkpoint | None
    done: Future[list[Record]]


def _write_checkpoint(conn: sqlite3.Connection, checkpoint: Checkpoint) -> bool:
    """Write ``checkpoint`` if its version follows the stored one; False if not."""
    if checkpoint.version == 1:
        cursor = conn.execute(
            "INSERT OR IGNORE INTO checkpoints (name, version, data) VALUES (?, 1, ?)",
            (checkpoint.name, checkpoint.data))
    else:
        cursor = conn.execute(
            "UPDATE checkpoints SET version = ?, data = ? WHERE name = ? AND version = ?",
            (checkpoint.version, checkpoint.data, checkpoint.name, checkpoint.version - 1))
    return cursor.rowcount == 1
