"""The append-only event log every part writes to and rebuilds from."""

from __future__ import annotations

import asyncio
import sys

from relayer.errors import ConfigError, StoreError
from relayer.store.base import (
    Checkpoint,
    EventStore,
    LogFeed,
    NewRecord,
    Record,
    VersionConflict,
)


def open_store(url: str, *, pool_size: int = 8, poll_seconds: float = 1.0) -> EventStore:
    """The store backend for ``url`` (not yet opened).

    ``pool_size`` and ``poll_seconds`` (how often a follower reads the log when
    no notification arrives) apply to PostgreSQL.
    """
    if url.startswith("sqlite:///"):
        from relayer.store.sqlite import SQLiteEventStore

        return SQLiteEventStore(url.removeprefix("sqlite:///"))
    if url.startswith(("postgresql://", "postgres://")):
        from relayer.store.postgres import PostgresEventStore

        return PostgresEventStore(url, pool_size=pool_size, poll_seconds=poll_seconds)
    raise ConfigError(f"store.url: no backend for {url.split(':', 1)[0]!r} yet",
                      details={"key": "store.url"})


def migrate_store(url: str) -> int:
    """``relayer migrate``: open the store (which applies missing migrations), report, exit code."""

    async def run() -> int:
        store = open_store(url)
        await store.open()
        try:
            return store.schema_version if isinstance(store, LogFeed) else 0
        finally:
            await store.close()

    try:
        version = asyncio.run(run())
    except StoreError as exc:
        print(f"relayer: migration failed: {exc.message}", file=sys.stderr)
        return 1
    print(f"store schema at version {version}")
    return 0


__all__ = ["Checkpoint", "EventStore", "LogFeed", "NewRecord", "Record", "VersionConflict",
           "migrate_store", "open_store"]
