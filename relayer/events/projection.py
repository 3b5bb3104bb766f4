"""The one projection loop: every log record, decoded once, handed to every projection.

A projection is in-memory state folded from the log (the order book, the escrow book, the
fills, the released secrets). Records reach the loop three ways, all in log order:

- ``replay``: the whole log at startup, before anything is published;
- ``committed``: this process's own appends, with the events it already holds (nothing
  is decoded again), as soon as the append returns and before the writer next awaits;
- ``followed``: records other replicas committed (``relayer.store.sequenced`` decides
  which are whose and keeps the order).

Live records (the last two) are published on the bus after every projection has them,
so a subscriber always reads projections that already hold the event it is handed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import structlog

from relayer.errors import StoreError
from relayer.events.bus import EventBus
from relayer.events.codec import EventCodec
from relayer.lifecycle import Job
from relayer.store.base import EventStore, Record

log = structlog.get_logger(__name__)

_REPLAY_BATCH = 5_000


Committed = Callable[[Sequence[Record], Sequence[Any]], None]
"""Where a writer hands what it appended (the records the store returned and the events
they hold): ``Projector.committed``."""


class Projection(Protocol):
    def project(self, event: Any, record: Record) -> None:
        """Fold in ``event``, stored as ``record``; ignore event types of other rooms.

        Called once per record in log order, synchronously: it must not await."""
        ...


class Projector:
    def __init__(self, codec: EventCodec, bus: EventBus,
                 projections: Sequence[Projection] = ()) -> None:
        self._codec = codec
        self._bus = bus
        self._projections = list(projections)
        self.position = 0
        """Every record up to this position is folded into every projection."""
        self.unknown = 0
        """Followed records of a type this replica does not know (a newer one wrote them)."""

    def register(self, projection: Projection) -> None:
        self._projections.append(projection)

    async def replay(self, store: EventStore, *, skip_unknown: bool = False) -> int:
        """Fold in the log after ``position``; the number of records read. A record of a
        type the codec does not know is a ``StoreError``, or passed over with
        ``skip_unknown`` (a loop over some rooms' projections only)."""
        count = 0
        while True:
            records = await store.read(after=self.position, limit=_REPLAY_BATCH)
            if not records:
                return count
            for record in records:
                if not skip_unknown or self._codec.knows(record):
                    self._project(self._codec.decode(record), record)
                self.position = record.position
            count += len(records)

    def committed(self, records: Sequence[Record], events: Sequence[Any]) -> None:
        """This process appended ``events`` as ``records``: fold them in, then publish."""
        for record, event in zip(records, events, strict=True):
            self._project(event, record)
            self.position = max(self.position, record.position)
        for event in events:
            self._bus.publish(event)

    def followed(self, record: Record) -> None:
        """Another replica committed ``record``: fold it in, then publish it."""
        try:
            event = self._codec.decode(record)
        except StoreError:
            # During a rolling upgrade a newer replica may write types this one lacks.
            self.unknown += 1
            log.warning("log_record_type_unknown", type=record.type, position=record.position)
            self.position = max(self.position, record.position)
            return
        self._project(event, record)
        self.position = max(self.position, record.position)
        self._bus.publish(event)

    def _project(self, event: Any, record: Record) -> None:
        for projection in self._projections:
            projection.project(event, record)


class ReplayedLog:
    """The log as a lifecycle component: open the store and replay it into the
    projections first; at the end, let running subscribers finish, then close it."""

    name = "log"

    def __init__(self, store: EventStore, projector: Projector, bus: EventBus) -> None:
        self._store = store
        self._projector = projector
        self._bus = bus

    async def start(self) -> None:
        await self._store.open()
        replayed = await self._projector.replay(self._store)
        log.info("store_replayed", records=replayed, position=self._projector.position)

    async def stop(self) -> None:
        await self._bus.drain()
        await self._store.close()

    def jobs(self) -> Sequence[Job]:
        return []
