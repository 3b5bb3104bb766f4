"""The durable record of deliveries: one stream per endpoint (``webhook:<id>``).

``DeliveryCreated`` is written before the first attempt, ``DeliveryAttempted``
after each one. Replaying the stream rebuilds every delivery with its
attempts, so a restart resumes pending retries at their recorded time.
"""

from __future__ import annotations

from collections.abc import Sequence

from relayer.events.codec import from_record, to_record
from relayer.store.base import EventStore, NewRecord, VersionConflict
from relayer.webhooks.model import Attempt, Delivery, DeliveryStatus
from relayer.webhooks.records import DeliveryAttempted, DeliveryCreated, delivery_stream


class DeliveryJournal:
    def __init__(self, store: EventStore) -> None:
        self._store = store
        self._versions: dict[str, int] = {}
        """Last version written (or read) per endpoint stream."""

    async def load(self, webhook_id: str) -> list[Delivery]:
        """Every delivery of the endpoint, oldest first, as the log records them."""
        records = await self._store.read_stream(delivery_stream(webhook_id))
        deliveries: dict[str, Delivery] = {}
        for record in records:
            event = from_record(record)
            if isinstance(event, DeliveryCreated):
                deliveries[event.delivery_id] = Delivery(
                    webhook_id=event.webhook_id, delivery_id=event.delivery_id,
                    event=event.event, order_hash=event.order_hash,
                    body=event.body.encode(), created_at=event.created_at,
                    next_attempt_at=event.created_at)
            elif isinstance(event, DeliveryAttempted):
                found = deliveries.get(event.delivery_id)
                if found is not None:
                    found.record(_attempt_of(event), DeliveryStatus(event.outcome),
                                 event.next_attempt_at)
        self._versions[webhook_id] = records[-1].version if records else 0
        return list(deliveries.values())

    def forget(self, webhook_id: str) -> None:
        self._versions.pop(webhook_id, None)

    async def created(self, deliveries: Sequence[Delivery]) -> None:
        """Record new deliveries, possibly of several endpoints, in one atomic append."""
        await self._append([
            (d.webhook_id, DeliveryCreated(
                webhook_id=d.webhook_id, delivery_id=d.delivery_id, event=d.event,
                order_hash=d.order_hash, body=d.body.decode(), created_at=d.created_at))
            for d in deliveries
        ])

    async def attempted(self, delivery: Delivery, attempt: Attempt, outcome: DeliveryStatus,
                        next_attempt_at: float | None) -> None:
        await self._append([(delivery.webhook_id, DeliveryAttempted(
            webhook_id=delivery.webhook_id, delivery_id=delivery.delivery_id,
            attempt=attempt.number, at=attempt.at, duration_ms=attempt.duration_ms,
            status_code=attempt.status_code, error=attempt.error, outcome=str(outcome),
            next_attempt_at=next_attempt_at))])

    async def _append(self, items: Sequence[tuple[str, DeliveryCreated | DeliveryAttempted]],
                      ) -> None:
        try:
            await self._store.append(self._records(items))
        except VersionConflict:
            # Our counters are behind the stream (another writer): catch up once, retry.
            for webhook_id in {webhook_id for webhook_id, _ in items}:
                records = await self._store.read_stream(delivery_stream(webhook_id))
                self._versions[webhook_id] = records[-1].version if records else 0
            await self._store.append(self._records(items))

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


def _attempt_of(event: DeliveryAttempted) -> Attempt:
    return Attempt(number=event.attempt, at=event.at, duration_ms=event.duration_ms,
                   status_code=event.status_code, error=event.error)
