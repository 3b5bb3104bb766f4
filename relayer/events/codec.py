"""Turning stored domain events into log records and back."""

from __future__ import annotations

import msgspec

from relayer.errors import StoreError
from relayer.events.types import ORDER_EVENTS, STORED, StoredEvent
from relayer.store.base import NewRecord, Record

_encoder = msgspec.json.Encoder()
_decoders = {name: msgspec.json.Decoder(cls) for name, cls in STORED.items()}


def to_record(event: StoredEvent, *, version: int, stream: str | None = None) -> NewRecord:
    """The record of ``event``; order events default to their order's stream."""
    if stream is None:
        if not isinstance(event, ORDER_EVENTS):
            raise StoreError(f"{type(event).__name__} needs an explicit stream")
        stream = event.order_hash
    return NewRecord(
        stream=stream,
        version=version,
        type=type(event).__name__,
        data=_encoder.encode(event),
    )


def from_record(record: Record) -> StoredEvent:
    decoder = _decoders.get(record.type)
    if decoder is None:
        raise StoreError(f"unknown event type {record.type!r} at position {record.position}")
    event: StoredEvent = decoder.decode(record.data)
    return event
