"""The append-only event log every part writes to and rebuilds from."""

from __future__ import annotations

from relayer.errors import ConfigError
from relayer.store.base import Checkpoint, EventStore, NewRecord, Record, VersionConflict


def open_store(url: str) -> EventStore:
    """The store backend for ``url`` (not yet opened)."""
    if url.startswith("sqlite:///"):
        from relayer.store.sqlite import SQLiteEventStore

        return SQLiteEventStore(url.removeprefix("sqlite:///"))
    raise ConfigError(f"store.url: no backend for {url.split(':', 1)[0]!r} yet",
                      details={"key": "store.url"})


__all__ = ["Checkpoint", "EventStore", "NewRecord", "Record", "VersionConflict", "open_store"]
