"""The durable record of deliveries: one stream per endpoint (``webhook:<id>``).

``DeliveryCreated`` is written before the first attempt, ``DeliveryAttempted``
after each one. Replaying the stream rebuilds every delivery with its
attempts, so a restart (or a new leader) resumes pending retries at their
recorded time.

The leader also keeps a checkpoint, ``webhooks:matched`` (``MatchedCursor``):
the log position up to which every event has been matched against the
endpoints and its deliveries recorded. It is written in the same transaction
as the deliveries, and its version fences a deposed leader: once a new
leader has written it, the old one's next batch is refused whole
(``LostLead``), and the new leader matches those events itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from relayer.errors import ConflictError, StoreError
from relayer.events.codec import to_record
from relayer.store.base import (
    Checkpoint,
    EventStore,
    NewRecord,
    Record,
    VersionConflict,
    checkpoint_stream,
)
from relayer.webhooks.model import Attempt, Delivery, DeliveryStatus
from relayer.webhooks.records import (
    WEBHOOK_CODEC,
    DeliveryAttempted,
    DeliveryCreated,
    delivery_stream,
)
from relayer.webhooks.sealing import SecretBox

CURSOR = "webhooks:matched"
_CONFLICT_RETRIES = 3


class LostLead(ConflictError):
    """Another replica advanced the matched cursor: this one no longer leads deliveries."""

    default_code = "WEBHOOK_LEAD_LOST"


class _CursorData(msgspec.Struct):
    position: int


@dataclass(frozen=True, slots=True)
class MatchedCursor:
    position: int
    """Every event up to this log position is matched and its deliveries recorded."""
    version: int
    """The checkpoint's stored version (0: never written)."""

    def advanced(self, position: int) -> Checkpoint:
        return Checkpoint(CURSOR, self.version + 1,
                          msgspec.json.encode(_CursorData(position=position)))


def _context(delivery_id: str) -> str:
    return f"delivery:{delivery_id}"


def attempt_of(event: DeliveryAttempted) -> Attempt:
    return Attempt(number=event.attempt, at=event.at, duration_ms=event.duration_ms,
                   status_code=event.status_code, error=event.error)


class DeliveryJournal:
    def __init__(self, store: EventStore, box: SecretBox | None = None) -> None:
        """``box`` seals every delivery body at rest (bodies can hold released secrets);
        without it bodies are stored as they are (tests of the journal alone)."""
        self._store = store
        self._box = box
        self._versions: dict[str, int] = {}
        """Last version written (or read) per endpoint stream."""
        self.positions: dict[str, int] = {}
        """Log position of the newest record read or written per endpoint."""

    async def cursor(self) -> MatchedCursor | None:
        checkpoint = await self._store.read_checkpoint(CURSOR)
        if checkpoint is None:
            return None
        data = msgspec.json.decode(checkpoint.data, type=_CursorData)
        return MatchedCursor(position=data.position, version=checkpoint.version)

    async def load(self, webhook_id: str) -> list[Delivery]:
        """Every delivery of the endpoint, oldest first, as the log records them."""
        records = await self._store.read_stream(delivery_stream(webhook_id))
        deliveries: dict[str, Delivery] = {}
        for record in records:
            event = WEBHOOK_CODEC.decode(record)
            if isinstance(event, DeliveryCreated):
                deliveries[event.delivery_id] = self.delivery_of(event)
            elif isinstance(event, DeliveryAttempted):
                found = deliveries.get(event.delivery_id)
                if found is not None:
                    found.record(attempt_of(event), DeliveryStatus(event.outcome),
                                 event.next_attempt_at)
        self._versions[webhook_id] = records[-1].version if records else 0
        self._seen(records)
        return list(deliveries.values())

    def delivery_of(self, event: DeliveryCreated) -> Delivery:
        body = event.body.encode()
        if event.body_sealed_with:
            if self._box is None:
                raise StoreError("a sealed webhook delivery body needs the webhook key")
            body = self._box.open(event.body, context=_context(event.delivery_id),
                                  fingerprint=event.body_sealed_with)
        return Delivery(webhook_id=event.webhook_id, delivery_id=event.delivery_id,
                        event=event.event, order_hash=event.order_hash, body=body,
                        created_at=event.created_at, next_attempt_at=event.created_at)

    def _sealed(self, delivery: Delivery) -> DeliveryCreated:
        box = self._box
        body = (delivery.body.decode() if box is None
                else box.seal(delivery.body, context=_context(delivery.delivery_id)))
        return DeliveryCreated(
            webhook_id=delivery.webhook_id, delivery_id=delivery.delivery_id,
            event=delivery.event, order_hash=delivery.order_hash, body=body,
            created_at=delivery.created_at,
            body_sealed_with="" if box is None else box.fingerprint)

    def forget(self, webhook_id: str) -> None:
        self._versions.pop(webhook_id, None)

    async def created(self, deliveries: Sequence[Delivery], *,
                      cursor: Checkpoint | None = None) -> None:
        """Record new deliveries, possibly of several endpoints, in one atomic append
        (with the matched cursor, when the leader advances it)."""
        await self._append([(d.webhook_id, self._sealed(d)) for d in deliveries], cursor)

    async def advance(self, cursor: Checkpoint) -> None:
        """Move the matched cursor alone (nothing matched since it last moved)."""
        await self._append([], cursor)

    async def attempted(self, delivery: Delivery, attempt: Attempt, outcome: DeliveryStatus,
                        next_attempt_at: float | None) -> None:
        await self._append([(delivery.webhook_id, DeliveryAttempted(
            webhook_id=delivery.webhook_id, delivery_id=delivery.delivery_id,
            attempt=attempt.number, at=attempt.at, duration_ms=attempt.duration_ms,
            status_code=attempt.status_code, error=attempt.error, outcome=str(outcome),
            next_attempt_at=next_attempt_at))])

    async def _append(self, items: Sequence[tuple[str, DeliveryCreated | DeliveryAttempted]],
                      cursor: Checkpoint | None = None) -> None:
        for retry in range(_CONFLICT_RETRIES + 1):
            try:
                self._seen(await self._store.append(self._records(items), checkpoint=cursor))
                return
            except VersionConflict as exc:
                if cursor is not None and exc.stream == checkpoint_stream(CURSOR):
                    raise LostLead("another replica advanced the webhook cursor",
                                   details={"version": cursor.version}) from exc
                if retry == _CONFLICT_RETRIES:
                    raise
                # Our counters are behind the stream (another replica wrote it): catch up.
                for webhook_id in {webhook_id for webhook_id, _ in items}:
                    records = await self._store.read_stream(delivery_stream(webhook_id))
                    self._versions[webhook_id] = records[-1].version if records else 0

    def _seen(self, records: Sequence[Record]) -> None:
        for record in records:
            if record.stream.startswith("webhook:"):
                webhook_id = record.stream.removeprefix("webhook:")
                self.positions[webhook_id] = max(self.positions.get(webhook_id, 0),
                                                 record.position)

    def _records(self, items: Sequence[tuple[str, DeliveryCreated | DeliveryAttempted]],
                 ) -> list[NewRecord]:
        # Versions are taken before the await, so appends running at the same time
        # never ask for the same one; a failed append leaves a harmless gap.
        records = []
        for webhook_id, event in items:
            version = self._versions.get(webhook_id, 0) + 1
            self._versions[webhook_id] = version
            records.append(to_record(event, version=version,
                                     stream=delivery_stream(webhook_id)))
        return records

