"""The rooms of a relayer, built once and wired through their constructors.

``Parts.build`` makes every domain part ``create_app`` needs, in dependency order: the
log (store, codec, projection loop), the books it feeds, the chains, the order desk, the
auction, settlement, webhooks and this replica. Nothing here starts anything: the
lifecycle (``relayer.lifecycle``) does, in the order ``create_app`` lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from relayer.chains.cardano.component import CardanoComponent
from relayer.chains.cardano.events import CARDANO_EVENTS
from relayer.chains.cardano.node import CardanoNode
from relayer.chains.escrows import EscrowBook
from relayer.chains.ethereum.component import EthereumComponent
from relayer.chains.ethereum.rpc import EthereumRpc
from relayer.chains.events import CHAIN_EVENTS
from relayer.chains.status import ChainMonitor
from relayer.clock import Clock
from relayer.config import Settings
from relayer.events.bus import EventBus
from relayer.events.codec import EventCodec
from relayer.events.projection import Projector
from relayer.lifecycle import LeaderOnly
from relayer.metrics import Metrics, TimedStore
from relayer.networks.registry import ChainRegistry
from relayer.orders.book import OrderBook
from relayer.orders.desk import OrderDesk
from relayer.orders.events import ORDER_EVENTS
from relayer.orders.validation import OrderValidator
from relayer.pricing.component import FollowerPrices, Pricing
from relayer.pricing.decayer import Decayer
from relayer.public.events import PublicEvents
from relayer.public.views import OrderRenderer
from relayer.replica.replica import Replica, leadership_for
from relayer.security.keys import KeyRegistry
from relayer.settlement.component import Settlement
from relayer.settlement.custody import CustodyKeyring
from relayer.settlement.events import SETTLEMENT_EVENTS
from relayer.store import EventStore, open_store
from relayer.store.sequenced import SequencedStore
from relayer.webhooks.component import Webhooks
from relayer.webhooks.records import WEBHOOK_RECORDS

STORED_EVENTS = (*ORDER_EVENTS, *CHAIN_EVENTS, *CARDANO_EVENTS, *SETTLEMENT_EVENTS,
                 *WEBHOOK_RECORDS)
"""Every event type the log holds, each owned by its room."""


@dataclass(frozen=True, slots=True)
class Log:
    """The store as the app uses it, and the projection loop over it."""

    raw: EventStore
    sequenced: SequencedStore
    store: TimedStore
    bus: EventBus
    codec: EventCodec
    projector: Projector
    book: OrderBook
    escrows: EscrowBook

    @classmethod
    def build(cls, settings: Settings, store: EventStore | None, metrics: Metrics) -> Log:
        raw = store or open_store(settings.store_url, pool_size=settings.store.pool_size,
                                  poll_seconds=settings.store.poll_seconds)
        # Own appends and other replicas' records take turns in position order.
        sequenced = SequencedStore(raw, write_timeout=settings.store.write_timeout_seconds)
        bus = EventBus()
        bus.on_handler_error = metrics.handler_failed
        book, escrows = OrderBook(), EscrowBook()
        codec = EventCodec(STORED_EVENTS)
        projector = Projector(codec, bus, [book, escrows])
        return cls(raw, sequenced, TimedStore(sequenced, metrics), bus, codec, projector,
                   book, escrows)


@dataclass(frozen=True, slots=True)
class Parts:
    settings: Settings
    clock: Clock
    metrics: Metrics
    log: Log
    chains: ChainRegistry
    keys: KeyRegistry
    custody: CustodyKeyring
    ethereum: EthereumComponent
    cardano: CardanoComponent
    monitors: tuple[ChainMonitor, ...]
    desk: OrderDesk
    decayer: Decayer
    pricing: Pricing
    settlement: Settlement
    webhooks: Webhooks
    replica: Replica
    renderer: OrderRenderer

    @classmethod
    def build(cls, settings: Settings, *, clock: Clock, store: EventStore | None,
              ethereum: EthereumRpc | None, cardano: CardanoNode | None,
              monitors: Sequence[ChainMonitor]) -> Parts:
        metrics = Metrics()
        log = Log.build(settings, store, metrics)
        committed = log.projector.committed
        chains = ChainRegistry.from_settings(settings.chains)
        custody = CustodyKeyring.load(keys=settings.settlement.custody_keys,
                                      keys_file=settings.settlement.custody_keys_file,
                                      data_dir=settings.data_dir)
        eth = EthereumComponent.build(settings.chains.ethereum, store=log.store,
                                      committed=committed, escrows=log.escrows, rpc=ethereum)
        ada = CardanoComponent.build(settings.chains.cardano, store=log.store, bus=log.bus,
                                     committed=committed, chains=chains, node=cardano)
        desk = OrderDesk(store=log.store, book=log.book, bus=log.bus, chains=chains,
                         validator=OrderValidator.from_settings(settings, chains, custody),
                         clock=clock, funds={**eth.funds, **ada.funds}, committed=committed)
        monitors = (*monitors, *eth.monitors, *ada.monitors)
        settlement = Settlement(settings=settings, store=log.store, bus=log.bus, desk=desk,
                                escrows=log.escrows, custody=custody, chains=chains,
                                monitors=monitors, clock=clock, committed=committed)
        eth.watch(desk, clock, filled=settlement.coordinator.filled_amount)
        ada.watch(desk)
        for projection in settlement.coordinator.projections:
            log.projector.register(projection)
        keys = KeyRegistry.from_settings(settings.security)
        renderer = OrderRenderer(settlement.coordinator.shown)
        projector, sequenced = log.projector, log.sequenced
        webhooks = Webhooks(settings=settings, store=log.store, clock=clock, bus=log.bus,
                            chains=chains, public=PublicEvents(log.book, eth.base_fee, renderer,
                                                log.escrows),
                            position=lambda: max(projector.position, sequenced.applied),
                            keys=keys, codec=log.codec)
        replica = Replica(store=log.sequenced, leadership=leadership_for(log.raw, settings),
                          apply=projector.followed, applied=lambda: projector.position,
                          duties=LeaderOnly([webhooks.delivering, *monitors]))
        decayer = Decayer(desk, clock, bus=log.bus, base_fee=eth.base_fee)
        followers = FollowerPrices(board=decayer.board, bus=log.bus, clock=clock,
                                   base_fee=eth.base_fee, leadership=replica.leadership)
        pricing = Pricing(decayer, tick_seconds=settings.auction.tick_seconds,
                          tick=metrics.timed_tick(decayer.tick),
                          followers=followers if replica.shared else None)
        return cls(settings, clock, metrics, log, chains, keys, custody, eth, ada, monitors,
                   desk, decayer, pricing, settlement, webhooks, replica, renderer)
