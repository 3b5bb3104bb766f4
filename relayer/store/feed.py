"""Following the log as it grows: reads in position order, woken by commit signals.

A backend implements ``LogFeed.follow`` with ``tail``: read everything after a
position, then wait for a wake-up (a local commit, a PostgreSQL notification)
or a poll interval, and read again. The log is the truth; a signal is only a
hint that it grew, so a lost signal delays a record by at most one interval
and never loses it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import structlog

from relayer.errors import StoreError
from relayer.store.base import Record

log = structlog.get_logger(__name__)

_BATCH = 1_000
_MAX_BACKOFF = 5.0


class CommitSignal:
    """Wakes every follower when the log may have grown; remembers the newest position heard of."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Event] = set()
        self.heard = 0
        """The highest position any signal carried (0: none)."""

    def fire(self, position: int = 0) -> None:
        self.heard = max(self.heard, position)
        for waiter in self._waiters:
            waiter.set()

    @contextlib.contextmanager
    def listen(self) -> Iterator[asyncio.Event]:
        waiter = asyncio.Event()
        self._waiters.add(waiter)
        try:
            yield waiter
        finally:
            self._waiters.discard(waiter)


async def tail(
    read: Callable[[int, int], Awaitable[list[Record]]],
    signal: CommitSignal,
    after: int,
    *,
    poll_seconds: float,
) -> AsyncIterator[Record]:
    """Every record after ``after``, in position order, for ever.

    Store errors are logged and retried with backoff: a follower outlives a
    database restart and catches up from where it stopped.
    """
    position = after
    backoff = poll_seconds
    with signal.listen() as woken:
        while True:
            woken.clear()
            try:
                records = await read(position, _BATCH)
            except StoreError as exc:
                log.warning("log_follow_read_failed", error=exc.message, after=position)
                await _wait(woken, backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)
                continue
            backoff = poll_seconds
            for record in records:
                yield record
                position = record.position
            if len(records) < _BATCH:
                await _wait(woken, poll_seconds)



async def _wait(event: asyncio.Event, timeout: float) -> None:
    # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
    # that lands as the event is set, and a follower would then never stop.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()
