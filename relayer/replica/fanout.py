"""Records other replicas committed, applied here as if this replica had written them.

The order desk applies its own commits; this applies everyone else's, in the
same way: order events into the book, chain events into the escrow
projection, and every event onto the local bus, so this replica's WebSocket
hub and webhook dispatcher see each event once and in commit order
(``relayer.store.sequenced`` decides which records are whose).
"""

from __future__ import annotations

import structlog

from relayer.chains.escrows import EscrowBook
from relayer.chains.events import CHAIN_EVENTS
from relayer.errors import StoreError
from relayer.events.bus import EventBus
from relayer.events.codec import EventCodec
from relayer.orders.desk import OrderDesk
from relayer.orders.events import ORDER_EVENTS
from relayer.store.base import Record

log = structlog.get_logger(__name__)


class Fanout:
    def __init__(self, *, desk: OrderDesk, escrows: EscrowBook, bus: EventBus,
                 codec: EventCodec) -> None:
        self._codec = codec
        self._desk = desk
        self._escrows = escrows
        self._bus = bus
        self.unknown = 0
        """Records of a type this replica does not know (a newer replica wrote them)."""

    def apply(self, record: Record) -> None:
        try:
            event = self._codec.decode(record)
        except StoreError:
            # During a rolling upgrade a newer replica may write types this one lacks.
            self.unknown += 1
            log.warning("log_record_type_unknown", type=record.type, position=record.position)
            return
        if isinstance(event, ORDER_EVENTS):
            self._desk.book.apply(event, record.position)
        elif isinstance(event, CHAIN_EVENTS):
            self._escrows.apply(event)
        self._desk.position = record.position
        self._bus.publish(event)
