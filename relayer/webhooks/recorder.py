"""The recorder: matched events become durable deliveries, and the leader's cursor moves.

One task takes what the bus handler queued and writes one ``DeliveryCreated``
per delivery in a single append. While this replica leads, the append also
moves the matched cursor (``journal.MatchedCursor``) to the log position that
every event queued so far is at or before; ``catch_up`` creates the
deliveries a new leader owes for events after the cursor (``catchup.py``).
Appends are taken in turn (``lock``), so deliveries are written in the order
their events were matched, and a catch-up finishes before live events after
it are recorded.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog

from relayer.clock import Clock
from relayer.public.events import PublicEvent
from relayer.webhooks.catchup import Catchup
from relayer.webhooks.endpoint import Endpoint
from relayer.webhooks.journal import DeliveryJournal, LostLead, MatchedCursor
from relayer.webhooks.model import Delivery

log = structlog.get_logger(__name__)

_BATCH = 512
IDLE_CURSOR_SECONDS = 10.0
"""With nothing matched, the leader still moves the cursor this often (a short catch-up)."""


@dataclass(slots=True)
class Lead:
    """Whether this replica delivers, shared by the dispatcher and its recorder."""

    leading: bool = False
    delivering: bool = False
    """Leading and the workers run: new deliveries go straight to them."""
    epoch: int = 0
    """Bumped at every change of lead, so work of an earlier lead is recognised."""


@dataclass(frozen=True, slots=True)
class Matched:
    endpoint: Endpoint
    published: PublicEvent
    stored: bool
    """The event is in the log: every replica sees it, the leader delivers it."""
    epoch: int


Drop = Callable[[Endpoint, str, str], None]


class Recorder:
    def __init__(self, *, journal: DeliveryJournal, clock: Clock, lead: Lead,
                 position: Callable[[], int], catchup: Catchup | None, queue_size: int,
                 history: int, max_pending: int, drop: Drop) -> None:
        self._journal = journal
        self._clock = clock
        self._lead = lead
        self._position = position
        self._catchup = catchup
        self._history = history
        self._max_pending = max_pending
        self._drop = drop
        self.intake: asyncio.Queue[Matched | None] = asyncio.Queue(maxsize=queue_size)
        self.lock = asyncio.Lock()
        self._recording = 0
        self._cursor: MatchedCursor | None = None
        self._cursor_moved = 0.0
        self.caught_up = 0
        """Deliveries a new leader created for events nobody had matched."""

    def put(self, item: Matched) -> bool:
        try:
            self.intake.put_nowait(item)
        except asyncio.QueueFull:
            return False
        item.endpoint.queued += 1
        return True

    def forget_cursor(self) -> None:
        self._cursor = None

    async def run(self) -> None:
        """Record what is queued until a ``None`` arrives."""
        while True:
            first = await self.intake.get()
            batch = [first]
            while len(batch) < _BATCH and not self.intake.empty():
                batch.append(self.intake.get_nowait())
            # Sampled before any await: every event at or before ``watermark`` is matched
            # and in this batch or an earlier one, so the cursor may move there.
            epoch = self._lead.epoch if self._lead.leading else None
            watermark = self._position() if epoch is not None and self.intake.empty() else None
            self._recording += 1
            try:
                async with self.lock:
                    await self._record([i for i in batch if i is not None], epoch, watermark)
            finally:
                self._recording -= 1
            if None in batch:
                return

    async def _record(self, items: list[Matched], epoch: int | None,
                      watermark: int | None) -> None:
        now = self._clock.now()
        fresh: list[tuple[Endpoint, Delivery]] = []
        for item in items:
            item.endpoint.queued -= 1
            if item.endpoint.closed:
                continue
            if item.stored and (not self._lead.leading or item.epoch != self._lead.epoch):
                continue  # no longer leading: whoever leads matches it from the log
            fresh.append((item.endpoint, item.endpoint.new_delivery(item.published, now)))
        cursor = self._cursor
        move = (watermark if epoch == self._lead.epoch and cursor is not None
                and watermark is not None and watermark > cursor.position else None)
        try:
            await self._write(fresh, move)
        except LostLead:
            log.warning("webhook_lead_lost", count=len(fresh))
            for endpoint, delivery in fresh:
                self._drop(endpoint, delivery.event, "lead_lost")
        except Exception:
            log.exception("webhook_deliveries_not_recorded", count=len(fresh))
            for endpoint, delivery in fresh:
                self._drop(endpoint, delivery.event, "store_failed")

    async def _write(self, fresh: list[tuple[Endpoint, Delivery]], move: int | None) -> None:
        """Record new deliveries (moving the cursor to ``move``); hand them to workers."""
        if not fresh and move is None:
            return
        cursor = None if move is None or self._cursor is None else self._cursor.advanced(move)
        await self._journal.created([delivery for _, delivery in fresh], cursor=cursor)
        if cursor is not None and move is not None:
            self._cursor = MatchedCursor(position=move, version=cursor.version)
            self._cursor_moved = time.monotonic()
        for endpoint, delivery in fresh:
            if endpoint.closed:
                continue
            endpoint.remember(delivery)
            if self._lead.delivering:
                endpoint.ready.append(delivery)
                endpoint.wake.set()
            endpoint.trim(self._history)

    async def catch_up(self, upto: int, endpoints: Sequence[Endpoint]) -> None:
        """Under ``lock``, as a lead begins: create the deliveries of events after the
        cursor up to ``upto``. Store errors (and ``LostLead``) propagate: the lead fails."""
        cursor = await self._journal.cursor()
        if cursor is None:
            # First leader on this store (or one upgraded from before the cursor): start
            # after the newest registration or delivery record, the last sure match.
            start = max((max(e.webhook.since, e.read_through,
                             self._journal.positions.get(e.webhook.webhook_id, 0))
                         for e in endpoints), default=upto)
            cursor = MatchedCursor(position=min(start, upto), version=0)
        self._cursor = cursor
        if self._catchup is None or cursor.position >= upto:
            if cursor.version == 0:
                # Nothing stored, nothing owed: the first batch writes the cursor.
                self._cursor = MatchedCursor(position=max(cursor.position, upto), version=0)
            elif cursor.position < upto:
                await self._write([], upto)
            return
        now = self._clock.now()
        fresh: list[tuple[Endpoint, Delivery]] = []
        async for position, owed in self._catchup.missed(cursor.position, upto, endpoints):
            for missed in owed:
                endpoint = missed.endpoint
                if endpoint.closed:
                    continue
                if endpoint.backlog >= self._max_pending:
                    self._drop(endpoint, missed.published.event, "endpoint_backlog_full")
                    continue
                fresh.append((endpoint, endpoint.new_delivery(missed.published, now)))
            if len(fresh) >= _BATCH:
                await self._write(fresh, position)
                self.caught_up += len(fresh)
                fresh = []
        if fresh or self._cursor.version > 0:
            await self._write(fresh, upto)
        else:
            self._cursor = MatchedCursor(position=upto, version=0)
        self.caught_up += len(fresh)

    async def move_idle_cursor(self) -> None:
        """On the leader, move the cursor over a quiet stretch of the log."""
        cursor = self._cursor
        if (not self._lead.delivering or cursor is None or self._recording
                or not self.intake.empty()
                or time.monotonic() - self._cursor_moved < IDLE_CURSOR_SECONDS):
            return
        # Nothing queued or being recorded: every event up to here is recorded.
        upto, epoch = self._position(), self._lead.epoch
        if upto <= cursor.position:
            return
        async with self.lock:
            if epoch == self._lead.epoch and self._cursor is not None \
                    and upto > self._cursor.position:
                try:
                    await self._write([], upto)
                except LostLead:
                    log.warning("webhook_lead_lost", count=0)
