"""The ledger of released secrets: each one recorded once, sealed, then shared.

A release is the event ``SecretReleased`` at version 1 of the stream
``secret:<order>:<index>``: the store refuses a second one, so a secret goes
out once across restarts and replicas. What is stored is the secret sealed to
the relayer's active custody key; the plain secret only travels on the bus
(``SecretShared``) to the WebSocket hub, the webhooks and the API.
"""

from __future__ import annotations

import structlog

from relayer.events.bus import EventBus
from relayer.events.codec import to_record
from relayer.events.projection import Committed
from relayer.orders.model import SignedOrder
from relayer.settlement.custody import CustodyKeyring, seal_secret
from relayer.settlement.events import SETTLEMENT_CODEC, SecretReleased, SecretShared, secret_stream
from relayer.store.base import EventStore, Record, VersionConflict

log = structlog.get_logger(__name__)


class SecretLedger:
    def __init__(self, *, store: EventStore, bus: EventBus, custody: CustodyKeyring,
                 committed: Committed) -> None:
        """``committed``: the projection loop; it folds a release in (``project``) and
        publishes it."""
        self._committed = committed
        self._store = store
        self._bus = bus
        self._custody = custody
        self._released: dict[tuple[str, int], SecretReleased] = {}
        self.released_by_source: dict[str, int] = {}
        """Secrets this process released, by source (maker, custody, chain)."""

    def project(self, event: object, record: Record) -> None:
        """The projection loop's hand-over: a release, this process's or another's."""
        if isinstance(event, SecretReleased):
            self._released[(event.order_hash, event.secret_index)] = event

    def get(self, order_hash: str, index: int) -> SecretReleased | None:
        return self._released.get((order_hash, index))

    async def refresh(self, order_hash: str, index: int) -> SecretReleased | None:
        """Read the release of secret ``index`` from the log, where another coordinator
        (a replica, a former leader) may have recorded it since this one last looked."""
        found = self._released.get((order_hash, index))
        if found is not None:
            return found
        records = await self._store.read_stream(secret_stream(order_hash, index))
        if not records:
            return None
        event = SETTLEMENT_CODEC.decode(records[0])
        assert isinstance(event, SecretReleased)
        self.project(event, records[0])
        return event

    async def release(self, signed: SignedOrder, fill_id: str, index: int, secret: bytes, *,
                      source: str, now: int) -> bool:
        """Record the release of secret ``index``, then share it; False if it was out."""
        key = (signed.order_hash, index)
        if key in self._released:
            return False
        key_id = self._custody.active_key_id
        event = SecretReleased(
            order_hash=signed.order_hash, fill_id=fill_id, secret_index=index,
            secret_hash="0x" + signed.secret_hashes[index].hex(),
            sealed_secret=seal_secret(key_id, secret).hex(), sealed_to=key_id,
            source=source, at=now)
        stream = secret_stream(signed.order_hash, index)
        try:
            written = await self._store.append([to_record(event, version=1, stream=stream)])
        except VersionConflict:
            (record,) = await self._store.read_stream(stream)
            stored = SETTLEMENT_CODEC.decode(record)
            assert isinstance(stored, SecretReleased)
            self._released[key] = stored
            return False
        self.released_by_source[source] = self.released_by_source.get(source, 0) + 1
        log.info("secret_released", order_hash=signed.order_hash, fill_id=fill_id,
                 secret_index=index, source=source)
        self._committed(written, [event])
        self._bus.publish(SecretShared(
            order_hash=signed.order_hash, fill_id=fill_id, secret_index=index,
            secret_hash=event.secret_hash, secret="0x" + secret.hex(), at=now))
        return True

    def opened(self, order_hash: str) -> list[tuple[SecretReleased, bytes]]:
        """The order's released secrets with their plain values, by index."""
        found = []
        for (order, _), event in sorted(self._released.items()):
            if order != order_hash:
                continue
            secret = self._custody.open(event.sealed_to, bytes.fromhex(event.sealed_secret),
                                        secret_hash=bytes.fromhex(event.secret_hash[2:]),
                                        index=event.secret_index)
            found.append((event, secret))
        return found
