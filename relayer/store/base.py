"""The store contract every backend implements (and ``tests/store/contract.py`` checks).

A log of records, each in a stream (an order hash, a chain cursor) with a
version that is unique in that stream. ``append`` is atomic and durable: when
it returns, every record is committed; when it raises, none is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from relayer.errors import ConflictError


@dataclass(frozen=True, slots=True)
class NewRecord:
    stream: str
    version: int
    type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Record:
    position: int
    """Global order of commitment, from 1, without gaps within one append."""
    stream: str
    version: int
    type: str
    data: bytes


class VersionConflict(ConflictError):
    """A record's (stream, version) is already taken: a duplicate or a lost race."""

    default_code = "VERSION_CONFLICT"

    def __init__(self, stream: str, version: int) -> None:
        super().__init__(f"stream {stream} already has version {version}",
                         details={"stream": stream, "version": version})
        self.stream = stream
        self.version = version


class EventStore(Protocol):
    async def open(self) -> None:
        """Connect and create or migrate the schema."""

    async def close(self) -> None: ...

    async def append(self, records: Sequence[NewRecord]) -> list[Record]:
        """Commit ``records`` atomically and durably; raise ``VersionConflict`` on a clash."""

    async def read(self, after: int = 0, limit: int = 1000) -> list[Record]:
        """Records with ``position > after`` in position order, at most ``limit``."""

    async def read_stream(self, stream: str) -> list[Record]:
        """All records of one stream in version order."""

    async def last_position(self) -> int: ...

    async def ping(self) -> float:
        """Round-trip a trivial query; the seconds it took."""
