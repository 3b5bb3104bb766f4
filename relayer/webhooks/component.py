"""The webhooks part as ``create_app`` wires it: registry, rules, dispatcher and their lifecycle.

``start`` runs on every replica (registrations and the record of deliveries,
for the API); ``delivering`` is a leader duty: only the leader sends.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from pathlib import Path

import structlog

from relayer.clock import Clock
from relayer.config import Settings
from relayer.events.bus import EventBus
from relayer.events.codec import EventCodec
from relayer.lifecycle import Job
from relayer.networks.registry import ChainRegistry
from relayer.public.events import PublicEvents
from relayer.security.principal import KeyLookup
from relayer.store.base import EventStore
from relayer.webhooks.access import OwnerAccess
from relayer.webhooks.catchup import Catchup
from relayer.webhooks.dispatcher import WebhookDispatcher
from relayer.webhooks.journal import DeliveryJournal
from relayer.webhooks.registry import WebhookRegistry
from relayer.webhooks.sealing import SecretBox, load_key
from relayer.webhooks.transport import HttpxTransport, Transport
from relayer.webhooks.validation import RegistrationRules

log = structlog.get_logger(__name__)


class Webhooks:
    name = "webhooks"

    def __init__(self, *, settings: Settings, store: EventStore, clock: Clock, bus: EventBus,
                 chains: ChainRegistry, public: PublicEvents,
                 transport: Transport | None = None, rng: random.Random | None = None,
                 position: Callable[[], int] | None = None,
                 keys: KeyLookup | None = None, codec: EventCodec) -> None:
        """``position``: the log position of what this replica has applied and published
        (``WebhookDispatcher``); without it no catch-up happens on taking the lead.
        ``keys``: the API keys as they stand now, so a revoked key's webhooks stop."""
        self._access = OwnerAccess(keys) if keys is not None else None
        hooks = settings.webhooks
        self._settings = settings
        self._store = store
        self._clock = clock
        self._bus = bus
        self._transport = transport
        self._rng = rng
        self._public = public
        self._position = position
        self._codec = codec
        self.rules = RegistrationRules(hooks, chains)
        self._registry: WebhookRegistry | None = None
        self._dispatcher: WebhookDispatcher | None = None
        self._unsubscribe: Callable[[], None] | None = None

    @property
    def registry(self) -> WebhookRegistry:
        if self._registry is None:
            raise RuntimeError("webhooks are not started")
        return self._registry

    @property
    def dispatcher(self) -> WebhookDispatcher:
        if self._dispatcher is None:
            raise RuntimeError("webhooks are not started")
        return self._dispatcher

    async def start(self) -> None:
        """Load the sealing key, replay registrations and deliveries, subscribe to the bus."""
        hooks = self._settings.webhooks
        key = load_key(hooks.secret_key, hooks.secret_key_file,
                       str(Path(self._settings.data_dir)))
        box = SecretBox(key)
        registry = WebhookRegistry(store=self._store, box=box, clock=self._clock,
                                   max_per_key=hooks.max_per_key, position=self._position)
        await registry.rebuild()
        transport = self._transport or HttpxTransport(timeout=hooks.timeout_seconds,
                                                      ca_file=hooks.ca_file)
        dispatcher = WebhookDispatcher(
            registry=registry, journal=DeliveryJournal(self._store, box), transport=transport,
            public=self._public, clock=self._clock, settings=hooks, rng=self._rng,
            catchup=Catchup(store=self._store, codec=self._codec, public=self._public,
                            access=self._access),
            position=self._position, access=self._access, stored=self._codec.types)
        self._registry, self._dispatcher = registry, dispatcher
        await dispatcher.start()
        self._unsubscribe = self._bus.subscribe(None, dispatcher.on_event)

    @property
    def delivering(self) -> Delivering:
        """The leader duty: this replica sends deliveries while it leads."""
        return Delivering(self)

    async def stop(self, timeout: float = 5.0) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._dispatcher is not None:
            await self._dispatcher.stop(timeout)

    async def run_due(self) -> int:
        return await self.dispatcher.run_due()

    def jobs(self) -> Sequence[Job]:
        """Retries that fell due (every replica: each sends what it owes)."""
        return [Job("webhook_retries", self.run_due,
                    self._settings.webhooks.retry_poll_seconds)]


class Delivering:
    """``Duties`` of the leader (``relayer.store.leader``): deliver while leading."""

    name = "webhook_delivery"

    def __init__(self, webhooks: Webhooks) -> None:
        self._webhooks = webhooks

    async def start(self) -> None:
        await self._webhooks.dispatcher.lead()

    async def stop(self) -> None:
        await self._webhooks.dispatcher.follow()
