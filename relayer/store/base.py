"""The store contract every backend implements (and ``tests/store/contract.py`` checks).

A log of records, each in a stream (an order hash, a chain) with a version
that is unique in that stream. ``append`` is atomic and durable: when it
returns, every record is committed; when it raises, none is.

Beside the log, named checkpoints hold small mutable state that must move in
step with the records derived from it: a chain monitor's cursor and recent
block hashes are written in the same transaction as the events of those
blocks. A checkpoint's version is a fence: a write must name the stored
version plus one, so two writers (a lost leader and a new one) cannot both
advance it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from relayer.errors import ConflictError, StoreError


@dataclass(frozen=True, slots=True)
class NewRecord:
    stream: str
    version: int
    type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Record:
    position: int
    """Global order of commitment, from 1, without gaps: ``n + 1`` is the commit after ``n``
    (so a reader that sees ``n + 1`` has seen everything before it)."""
    stream: str
    version: int
    type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Checkpoint:
    name: str
    version: int
    """1 for the first write; each later write must be the stored version + 1."""
    data: bytes


def checkpoint_stream(name: str) -> str:
    """The stream name a checkpoint's version conflicts are reported under."""
    return f"checkpoint:{name}"


class VersionConflict(ConflictError):
    """A record's (stream, version) is already taken: a duplicate or a lost race."""

    default_code = "VERSION_CONFLICT"

    def __init__(self, stream: str, version: int) -> None:
        super().__init__(f"stream {stream} already has version {version}",
                         details={"stream": stream, "version": version})
        self.stream = stream
        self.version = version


class StoreTimeout(StoreError):
    """A write did not commit within ``store.write_timeout_seconds`` (a frozen or very slow
    disk, a lost database): the caller is told it failed; if the database commits it
    later after all, the log follower applies it like any record."""

    default_code = "STORE_TIMEOUT"


class EventStore(Protocol):
    async def open(self) -> None:
        """Connect and create or migrate the schema."""

    async def close(self) -> None: ...

    async def append(
        self, records: Sequence[NewRecord], *, checkpoint: Checkpoint | None = None
    ) -> list[Record]:
        """Commit ``records`` (and ``checkpoint``) atomically and durably.

        Raise ``VersionConflict`` when a record's (stream, version) is taken or
        the checkpoint's version is not the stored one plus one; then nothing
        is written.
        """

    async def read_checkpoint(self, name: str) -> Checkpoint | None:
        """The checkpoint as last committed, or ``None`` if never written."""

    async def read(self, after: int = 0, limit: int = 1000) -> list[Record]:
        """Records with ``position > after`` in position order, at most ``limit``."""

    async def read_stream(self, stream: str) -> list[Record]:
        """All records of one stream in version order."""

    async def last_position(self) -> int: ...

    async def ping(self) -> float:
        """Round-trip a trivial query; the seconds it took."""


@runtime_checkable
class LogFeed(Protocol):
    """A store whose log can be followed as any process appends to it."""

    def follow(self, after: int) -> AsyncIterator[Record]:
        """Every record with ``position > after`` in position order, then each new one
        as it is committed (by this process or another), for ever."""
        ...

    @property
    def schema_version(self) -> int:
        """The version of the store's schema (the newest migration applied)."""
        ...
