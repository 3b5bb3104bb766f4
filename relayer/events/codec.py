"""Turning stored events into log records and back.

The codec knows no domain: each domain owns its event types (``relayer.orders.events``,
``relayer.chains.events``, ...) and hands them to an ``EventCodec``. A record is named by
its event's class name, so a type's name is its identity in the log: never rename a
stored event.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from relayer.errors import StoreError
from relayer.store.base import NewRecord, Record

_encoder = msgspec.json.Encoder()


def to_record(event: Any, *, version: int, stream: str) -> NewRecord:
    """The record of ``event`` at ``version`` of ``stream``."""
    return NewRecord(stream=stream, version=version, type=type(event).__name__,
                     data=_encoder.encode(event))


class EventCodec:
    """Decodes the records of the event types it was given."""

    def __init__(self, types: Iterable[type[Any]]) -> None:
        self._decoders: dict[str, msgspec.json.Decoder[Any]] = {}
        self._types: dict[str, type[Any]] = {}
        for cls in types:
            if self._types.setdefault(cls.__name__, cls) is not cls:
                raise ValueError(f"two stored event types are named {cls.__name__}")
            self._decoders[cls.__name__] = msgspec.json.Decoder(cls)

    @property
    def types(self) -> frozenset[type[Any]]:
        return frozenset(self._types.values())

    def knows(self, record: Record) -> bool:
        return record.type in self._decoders

    def decode(self, record: Record) -> Any:
        """The event of ``record``; a type this codec was not given is a ``StoreError``."""
        decoder = self._decoders.get(record.type)
        if decoder is None:
            raise StoreError(f"unknown event type {record.type!r} at position {record.position}")
        return decoder.decode(record.data)
