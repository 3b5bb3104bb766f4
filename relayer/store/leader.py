"""Leader election: which replica runs the chain monitors, the decayer and the coordinator.

On PostgreSQL the leader is the replica holding a session advisory lock on a
connection of its own. The lock lives exactly as long as that session: when
the leader's process dies its socket closes and the server frees the lock at
once; when the leader is cut off, the server frees it after the TCP timeouts
set below. Followers try to take the lock every ``takeover / 5`` seconds.

A leader probes its connection as often. If a probe fails or the connection
drops, it stops its duties at once, before the server can hand the lock to
another replica (the probe gives up after ``2/5`` of the takeover time, the
server only after ``1/2`` of it), so no two leaders act at the same moment;
what a deposed leader still had in flight is fenced by checkpoint and stream
versions in the store.

With SQLite there is one process, and it leads from start to stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from typing import Protocol

import asyncpg
import structlog

log = structlog.get_logger(__name__)

LEADER_LOCK_KEY = 0x726C793A6C656164
"""The advisory lock key whose holder leads (``b"rly:lead"``)."""

_DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


class Duties(Protocol):
    """The work only the leader does."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Leadership(Protocol):
    @property
    def is_leader(self) -> bool: ...

    @property
    def elections(self) -> int:
        """How many times this replica became the leader."""

    async def start(self, duties: Duties) -> None:
        """Begin campaigning (and run ``duties`` while leading)."""

    async def stop(self) -> None:
        """Stop the duties if leading, give up the lead, stop campaigning."""


class SoleLeader:
    """One process on its own store: the leader from ``start`` to ``stop``."""

    def __init__(self) -> None:
        self._duties: Duties | None = None
        self.elections = 0
        self.leader_since: float | None = None

    @property
    def is_leader(self) -> bool:
        return self._duties is not None

    async def start(self, duties: Duties) -> None:
        await duties.start()
        self._duties = duties
        self.elections = 1
        self.leader_since = time.monotonic()

    async def stop(self) -> None:
        duties, self._duties = self._duties, None
        self.leader_since = None
        if duties is not None:
            await duties.stop()


class PostgresLeadership:
    def __init__(self, url: str, *, takeover_seconds: float = 10.0,
                 key: int = LEADER_LOCK_KEY, name: str | None = None) -> None:
        self._url = url
        self._key = key
        self._step = takeover_seconds / 5
        self._takeover = takeover_seconds
        self._task: asyncio.Task[None] | None = None
        self._leading = False
        self.elections = 0
        """How many times this replica became the leader."""
        self.leader_since: float | None = None
        self.name = (name or f"relayer-leader:{socket.gethostname()}:{os.getpid()}")[:63]
        """The ``application_name`` of the lock's session (find the leader in pg_stat_activity)."""

    @property
    def is_leader(self) -> bool:
        return self._leading

    async def start(self, duties: Duties) -> None:
        self._task = asyncio.create_task(self._campaign(duties), name="leader-campaign")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _server_settings(self) -> dict[str, str]:
        # The server drops a silent peer (and its lock) after half the takeover
        # time, later than this replica's own probe gives up (2/5).
        half = self._takeover / 2
        return {
            "application_name": self.name,
            "tcp_user_timeout": str(int(half * 1000)),
            "tcp_keepalives_idle": str(max(1, int(half / 3))),
            "tcp_keepalives_interval": str(max(1, int(half / 6))),
            "tcp_keepalives_count": "3",
        }

    async def _campaign(self, duties: Duties) -> None:
        while True:
            try:
                conn = await asyncpg.connect(self._url, timeout=self._step * 2,
                                             server_settings=self._server_settings())
            except _DB_ERRORS as exc:
                log.warning("leader_connect_failed", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(self._step)
                continue
            try:
                await self._hold(conn, duties)
            except _DB_ERRORS as exc:
                log.warning("leader_connection_lost", error=f"{type(exc).__name__}: {exc}")
            finally:
                # Closing the session frees the lock for the other replicas.
                conn.terminate()
            await asyncio.sleep(self._step)

    async def _hold(self, conn: asyncpg.Connection, duties: Duties) -> None:
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self._key,
                                      timeout=self._step):
            if await _wait(lost, self._step):
                return
        self._leading = True
        self.elections += 1
        self.leader_since = time.monotonic()
        log.info("leader_elected", name=self.name)
        starting = asyncio.create_task(duties.start(), name="leader-duties-start")
        try:
            while not await _wait(lost, self._step):
                await conn.fetchval("SELECT 1", timeout=self._step)
                if starting.done() and starting.exception() is not None:
                    log.error("leader_duties_failed", error=repr(starting.exception()))
                    return
        finally:
            self._leading = False
            self.leader_since = None
            log.warning("leader_stepping_down", name=self.name)
            if not starting.done():
                starting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await starting
            try:
                await duties.stop()
            except Exception:
                log.exception("leader_duties_stop_failed")


async def _wait(event: asyncio.Event, timeout: float) -> bool:
    """Wait up to ``timeout`` for ``event``; whether it is set."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()
    return event.is_set()
