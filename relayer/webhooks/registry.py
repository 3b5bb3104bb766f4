"""Registered endpoints: kept in memory, written to the ``webhooks`` stream first.

A registration or deletion is one record appended to the index stream; the
in-memory map changes only after the append returns, so an API answer always
describes what is durably stored. ``rebuild`` replays the stream at startup;
``fold`` applies what other replicas append to it later (they reach this one
through the log follower, in commit order), so every replica knows every
endpoint at once.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Protocol

import structlog

from relayer.clock import Clock
from relayer.errors import ConflictError, NotFoundError
from relayer.events.codec import to_record
from relayer.store.base import EventStore, VersionConflict
from relayer.webhooks.model import Filters, Webhook
from relayer.webhooks.records import INDEX_STREAM, WEBHOOK_CODEC, WebhookDeleted, WebhookRegistered
from relayer.webhooks.sealing import SecretBox
from relayer.webhooks.signing import new_secret
from relayer.webhooks.validation import Registration

log = structlog.get_logger(__name__)


class RegistryListener(Protocol):
    def webhook_added(self, webhook: Webhook) -> None: ...

    def webhook_removed(self, webhook: Webhook) -> None: ...


class WebhookRegistry:
    def __init__(self, *, store: EventStore, box: SecretBox, clock: Clock,
                 max_per_key: int, position: Callable[[], int] | None = None) -> None:
        """``position``: the log position of the record being applied when ``fold`` is
        called (the fan-out's), so a record the rebuild already read is not applied twice."""
        self._store = store
        self._position = position or (lambda: 0)
        self._read_through = 0
        """Position of the newest index record applied (by rebuild, an append or fold)."""
        self._box = box
        self._clock = clock
        self._max_per_key = max_per_key
        self._webhooks: dict[str, Webhook] = {}
        self._version = 0
        self._lock = asyncio.Lock()
        self._listeners: list[RegistryListener] = []

    def listen(self, listener: RegistryListener) -> None:
        self._listeners.append(listener)

    def __len__(self) -> int:
        return len(self._webhooks)

    def active(self) -> list[Webhook]:
        return list(self._webhooks.values())

    def owned_by(self, owner: str) -> list[Webhook]:
        return sorted((w for w in self._webhooks.values() if w.owner == owner),
                      key=lambda w: (w.created_at, w.webhook_id))

    def get(self, owner: str, webhook_id: str) -> Webhook:
        """The webhook if ``owner`` registered it; another key's webhook is simply not found."""
        webhook = self._webhooks.get(webhook_id)
        if webhook is None or webhook.owner != owner:
            raise NotFoundError("no such webhook", code="WEBHOOK_NOT_FOUND",
                                details={"id": webhook_id})
        return webhook

    async def rebuild(self) -> int:
        """Replay the index stream; the number of records read."""
        records = await self._store.read_stream(INDEX_STREAM)
        self._webhooks.clear()
        for record in records:
            event = WEBHOOK_CODEC.decode(record)
            if isinstance(event, WebhookRegistered):
                self._webhooks[event.webhook_id] = self._open(event, record.position)
            elif isinstance(event, WebhookDeleted):
                self._webhooks.pop(event.webhook_id, None)
            self._version = record.version
            self._read_through = max(self._read_through, record.position)
        return len(records)

    def fold(self, event: WebhookRegistered | WebhookDeleted) -> None:
        """Apply an index record another replica committed (from the log follower)."""
        position = self._position()
        if position and position <= self._read_through:
            return  # the rebuild read it already
        self._read_through = max(self._read_through, position)
        self._version += 1
        if isinstance(event, WebhookRegistered):
            if event.webhook_id in self._webhooks:
                return
            webhook = self._open(event, position)
            self._webhooks[event.webhook_id] = webhook
            log.info("webhook_registered_elsewhere", webhook_id=event.webhook_id)
            for listener in self._listeners:
                listener.webhook_added(webhook)
            return
        gone = self._webhooks.pop(event.webhook_id, None)
        if gone is not None:
            log.info("webhook_deleted_elsewhere", webhook_id=event.webhook_id)
            for listener in self._listeners:
                listener.webhook_removed(gone)

    async def register(self, owner: str, registration: Registration) -> tuple[Webhook, str]:
        """Store a new endpoint; the webhook and its signing secret (to show once)."""
        async with self._lock:
            if len(self.owned_by(owner)) >= self._max_per_key:
                raise ConflictError(f"this API key already has {self._max_per_key} webhooks",
                                    code="WEBHOOK_LIMIT_REACHED",
                                    details={"limit": self._max_per_key})
            webhook_id = "wh_" + secrets.token_hex(12)
            secret = new_secret()
            filters = registration.filters
            event = WebhookRegistered(
                webhook_id=webhook_id, owner=owner, url=registration.url,
                events=tuple(sorted(filters.events)), chains=tuple(sorted(filters.chains)),
                makers=tuple(sorted(filters.makers)), description=registration.description,
                sealed_secret=self._box.seal(secret.encode(), context=webhook_id),
                key_version=self._box.fingerprint, created_at=int(self._clock.now()))
            position = await self._append(event)
            webhook = Webhook(webhook_id=webhook_id, owner=owner, url=registration.url,
                              filters=filters, description=registration.description,
                              created_at=event.created_at, secret=secret.encode(),
                              since=position)
            self._webhooks[webhook_id] = webhook
        log.info("webhook_registered", webhook_id=webhook_id, owner=owner,
                 events=len(filters.events))
        for listener in self._listeners:
            listener.webhook_added(webhook)
        return webhook, secret

    async def delete(self, owner: str, webhook_id: str) -> Webhook:
        async with self._lock:
            webhook = self.get(owner, webhook_id)
            await self._append(WebhookDeleted(webhook_id=webhook_id, owner=owner,
                                              deleted_at=int(self._clock.now())))
            del self._webhooks[webhook_id]
        log.info("webhook_deleted", webhook_id=webhook_id, owner=owner)
        for listener in self._listeners:
            listener.webhook_removed(webhook)
        return webhook

    async def _append(self, event: WebhookRegistered | WebhookDeleted) -> int:
        """Append to the index stream; the record's log position."""
        version = self._version + 1
        try:
            (written,) = await self._store.append(
                [to_record(event, version=version, stream=INDEX_STREAM)])
        except VersionConflict as exc:
            # Another process wrote the index: nothing of ours was stored. Catch up so
            # the client's retry succeeds.
            await self._refresh()
            raise ConflictError("webhooks changed concurrently; retry",
                                code="CONCURRENT_UPDATE") from exc
        self._version = version
        self._read_through = max(self._read_through, written.position)
        return written.position

    async def _refresh(self) -> None:
        before = dict(self._webhooks)
        await self.rebuild()
        for webhook_id, webhook in before.items():
            if webhook_id not in self._webhooks:
                for listener in self._listeners:
                    listener.webhook_removed(webhook)
        for webhook_id, webhook in self._webhooks.items():
            if webhook_id not in before:
                for listener in self._listeners:
                    listener.webhook_added(webhook)

    def _open(self, event: WebhookRegistered, position: int) -> Webhook:
        secret = self._box.open(event.sealed_secret, context=event.webhook_id,
                                fingerprint=event.key_version)
        return Webhook(
            webhook_id=event.webhook_id, owner=event.owner, url=event.url,
            filters=Filters(frozenset(event.events), frozenset(event.chains),
                            frozenset(event.makers)),
            description=event.description, created_at=event.created_at, secret=secret,
            since=position)
