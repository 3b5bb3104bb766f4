"""PostgreSQL backend: one log shared by every replica, with group commit and LISTEN/NOTIFY.

Appends wait in a queue; one writer task per process commits all that are
waiting in one transaction. The transaction first locks the single
``log_head`` row, so writers of all replicas commit one after another:
positions are gap-free and in commit order, and a reader never sees position
``n + 1`` before ``n``. Conflicts are decided under that lock in the client
(one query for the taken versions, one for the checkpoints), so a batch costs
a handful of round trips however many appends it holds, and a conflicting
append fails alone. Commits are durable (``synchronous_commit = on``) and
notify the position on the ``relayer_log`` channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog

from relayer.errors import StoreError
from relayer.store.base import Checkpoint, NewRecord, Record, VersionConflict, checkpoint_stream
from relayer.store.feed import CommitSignal, tail
from relayer.store.migrations import migrate

log = structlog.get_logger(__name__)

CHANNEL = "relayer_log"
_MAX_BATCH = 512
_SERVER_SETTINGS = {"synchronous_commit": "on", "application_name": "relayer"}
_DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


class PostgresEventStore:
    def __init__(self, url: str, *, pool_size: int = 8, poll_seconds: float = 1.0,
                 command_timeout: float = 30.0) -> None:
        self._url = url
        self._pool_size = pool_size
        self._poll_seconds = poll_seconds
        self._command_timeout = command_timeout
        self._pool: asyncpg.Pool | None = None
        self._queue: asyncio.Queue[_Append | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self.signal = CommitSignal()
        self._schema_version = 0
        self.listener_connected = False
        """The LISTEN connection is up (followers also poll, so this is about latency)."""

    @property
    def url(self) -> str:
        return self._url

    @property
    def schema_version(self) -> int:
        return self._schema_version

    async def open(self) -> None:
        try:
            self._pool = await asyncpg.create_pool(
                self._url, min_size=1, max_size=self._pool_size,
                command_timeout=self._command_timeout, server_settings=_SERVER_SETTINGS)
            async with self._pool.acquire() as conn:
                self._schema_version = await migrate(conn)
        except _DB_ERRORS as exc:
            await self._close_pool()
            raise StoreError(f"cannot open postgresql store: {_describe(exc)}") from exc
        except StoreError:
            await self._close_pool()
            raise
        self._queue = asyncio.Queue()
        self._writer = asyncio.create_task(self._write_loop(), name="postgres-writer")

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        if self._writer is not None:
            self._queue.put_nowait(None)
            try:
                await asyncio.wait_for(self._writer, 10)
            except TimeoutError:
                log.warning("postgres_writer_stop_timeout")
            self._writer = None
        await self._close_pool()

    async def _close_pool(self) -> None:
        if self._pool is not None:
            try:
                await asyncio.wait_for(self._pool.close(), 10)
            except TimeoutError:
                self._pool.terminate()
            self._pool = None

    async def append(
        self, records: Sequence[NewRecord], *, checkpoint: Checkpoint | None = None
    ) -> list[Record]:
        if not records and checkpoint is None:
            return []
        if self._writer is None or self._writer.done():
            raise StoreError("store is not open")
        done: asyncio.Future[list[Record]] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Append(list(records), checkpoint, done))
        return await done

    async def read_checkpoint(self, name: str) -> Checkpoint | None:
        row = await self._fetchrow(
            "SELECT name, version, data FROM checkpoints WHERE name = $1", name)
        if row is None:
            return None
        return Checkpoint(row["name"], int(row["version"]), bytes(row["data"]))

    async def read(self, after: int = 0, limit: int = 1000) -> list[Record]:
        rows = await self._fetch(
            "SELECT position, stream, version, type, data FROM records"
            " WHERE position > $1 ORDER BY position LIMIT $2", after, limit)
        return [_record(row) for row in rows]

    async def read_stream(self, stream: str) -> list[Record]:
        rows = await self._fetch(
            "SELECT position, stream, version, type, data FROM records"
            " WHERE stream = $1 ORDER BY version", stream)
        return [_record(row) for row in rows]

    async def last_position(self) -> int:
        row = await self._fetchrow("SELECT position FROM log_head")
        return int(row["position"]) if row is not None else 0

    async def ping(self) -> float:
        started = time.perf_counter()
        await self._fetchrow("SELECT 1 AS one")
        return time.perf_counter() - started

    async def follow(self, after: int) -> AsyncIterator[Record]:
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen_loop(), name="postgres-listen")
            # Listen before the first read, so nothing committed in between is missed
            # (if the connection cannot be made, the poll interval still catches up).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._command_timeout):
                    await self._listening.wait()
        async for record in tail(self.read, self.signal, after, poll_seconds=self._poll_seconds):
            yield record

    async def _listen_loop(self) -> None:
        """Hold a LISTEN connection, reconnecting with backoff; each (re)connect wakes followers."""
        backoff = 0.1
        while True:
            try:
                await self._listen_once()
                backoff = 0.1
            except _DB_ERRORS as exc:
                log.warning("postgres_listen_failed", error=_describe(exc))
            finally:
                self.listener_connected = False
            self._listening.set()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    async def _listen_once(self) -> None:
        lost = asyncio.Event()
        conn = await asyncpg.connect(
            self._url, timeout=self._command_timeout,
            server_settings={**_SERVER_SETTINGS, "application_name": "relayer-listen"})
        try:
            conn.add_termination_listener(lambda _conn: lost.set())
            await conn.add_listener(CHANNEL, self._on_notify)
            self.listener_connected = True
            self._listening.set()
            self.signal.fire()
            while not lost.is_set():
                # A quiet connection can die silently: probe it now and then.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(self._poll_seconds, 1.0) * 5):
                        await lost.wait()
                if not lost.is_set():
                    await conn.fetchval("SELECT 1", timeout=self._command_timeout)
        finally:
            if not conn.is_closed():
                conn.terminate()

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        try:
            position = int(str(payload))
        except ValueError:
            position = 0
        self.signal.fire(position)

    async def _fetch(self, sql: str, *args: object) -> list[Any]:
        pool = self._open_pool()
        try:
            return list(await pool.fetch(sql, *args))
        except _DB_ERRORS as exc:
            raise StoreError(f"postgresql read failed: {_describe(exc)}") from exc

    async def _fetchrow(self, sql: str, *args: object) -> Any:
        pool = self._open_pool()
        try:
            return await pool.fetchrow(sql, *args)
        except _DB_ERRORS as exc:
            raise StoreError(f"postgresql read failed: {_describe(exc)}") from exc

    def _open_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StoreError("store is not open")
        return self._pool

    async def _write_loop(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            batch = [item]
            stop = False
            while len(batch) < _MAX_BATCH and not self._queue.empty():
                more = self._queue.get_nowait()
                if more is None:
                    stop = True
                    break
                batch.append(more)
            # An append whose caller gave up (the store write timeout) before its turn
            # is not written: the caller was told it failed.
            batch = [append for append in batch if not append.done.cancelled()]
            if batch:
                await self._commit(batch)
            if stop:
                return

    async def _commit(self, batch: list[_Append]) -> None:
        try:
            outcomes, head = await self._commit_batch(batch)
        except _DB_ERRORS as exc:
            log.error("postgres_commit_failed", error=_describe(exc), appends=len(batch))
            failure = StoreError(f"postgresql commit failed: {_describe(exc)}")
            outcomes, head = [failure] * len(batch), 0
        except BaseException as exc:
            for append in batch:
                if not append.done.done():
                    append.done.set_exception(StoreError("postgresql writer stopped"))
            raise exc
        if head:
            self.signal.fire(head)
        for append, outcome in zip(batch, outcomes, strict=True):
            if append.done.done():
                continue
            if isinstance(outcome, BaseException):
                append.done.set_exception(outcome)
            else:
                append.done.set_result(outcome)

    async def _commit_batch(
        self, batch: list[_Append]
    ) -> tuple[list[list[Record] | BaseException], int]:
        pool = self._open_pool()
        async with pool.acquire() as conn, conn.transaction():
            head = int(await conn.fetchval("SELECT position FROM log_head FOR UPDATE"))
            streams = [r.stream for a in batch for r in a.records]
            versions = [r.version for a in batch for r in a.records]
            taken: set[tuple[str, int]] = set()
            if streams:
                rows = await conn.fetch(
                    "SELECT r.stream, r.version FROM records r"
                    " JOIN unnest($1::text[], $2::bigint[]) AS k(stream, version)"
                    " USING (stream, version)", streams, versions)
                taken = {(row["stream"], int(row["version"])) for row in rows}
            names = sorted({a.checkpoint.name for a in batch if a.checkpoint is not None})
            fences: dict[str, int] = {}
            if names:
                rows = await conn.fetch(
                    "SELECT name, version FROM checkpoints WHERE name = ANY($1::text[])", names)
                fences = {row["name"]: int(row["version"]) for row in rows}
            plan = _Plan(head, taken, fences)
            outcomes: list[list[Record] | BaseException] = [plan.admit(a) for a in batch]
            if plan.rows:
                await conn.copy_records_to_table(
                    "records", records=plan.rows,
                    columns=["position", "stream", "version", "type", "data"])
            if plan.checkpoints:
                await conn.execute(
                    "INSERT INTO checkpoints (name, version, data)"
                    " SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[])"
                    " ON CONFLICT (name) DO UPDATE"
                    " SET version = EXCLUDED.version, data = EXCLUDED.data",
                    [c.name for c in plan.checkpoints.values()],
                    [c.version for c in plan.checkpoints.values()],
                    [c.data for c in plan.checkpoints.values()])
            if plan.head != head:
                await conn.execute("UPDATE log_head SET position = $1", plan.head)
                await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, str(plan.head))
        return outcomes, (plan.head if plan.head != head else 0)


class _Plan:
    """Decides, in queue order, which appends of a batch commit and at which positions."""

    def __init__(self, head: int, taken: set[tuple[str, int]], fences: dict[str, int]) -> None:
        self.head = head
        self._taken = taken
        self._fences = fences
        self.rows: list[tuple[int, str, int, str, bytes]] = []
        self.checkpoints: dict[str, Checkpoint] = {}

    def admit(self, append: _Append) -> list[Record] | VersionConflict:
        keys: set[tuple[str, int]] = set()
        for record in append.records:
            key = (record.stream, record.version)
            if key in self._taken or key in keys:
                return VersionConflict(*key)
            keys.add(key)
        checkpoint = append.checkpoint
        if checkpoint is not None and checkpoint.version != self._fences.get(checkpoint.name,
                                                                             0) + 1:
            return VersionConflict(checkpoint_stream(checkpoint.name), checkpoint.version)
        written = []
        for record in append.records:
            self.head += 1
            self._taken.add((record.stream, record.version))
            self.rows.append((self.head, record.stream, record.version, record.type,
                              record.data))
            written.append(Record(self.head, record.stream, record.version, record.type,
                                  record.data))
        if checkpoint is not None:
            self._fences[checkpoint.name] = checkpoint.version
            self.checkpoints[checkpoint.name] = checkpoint
        return written


@dataclass(frozen=True, slots=True)
class _Append:
    records: list[NewRecord]
    checkpoint: Checkpoint | None
    done: asyncio.Future[list[Record]]


def _record(row: Any) -> Record:
    return Record(int(row["position"]), row["stream"], int(row["version"]), row["type"],
                  bytes(row["data"]))


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
