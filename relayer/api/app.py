"""``create_app``: wires the parts of a relayer into one Starlette application."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Route, WebSocketRoute

from relayer.api.admin import AdminRoutes
from relayer.api.auth import on_security_error
from relayer.api.context import Relayer
from relayer.api.custody import CustodyRoutes
from relayer.api.edge import EDGE_STATE, Edge
from relayer.api.errors import on_http_error, on_relayer_error, on_unexpected_error
from relayer.api.explorer.routes import explorer_routes
from relayer.api.health import HealthRoutes
from relayer.api.http_metrics import MetricsRoute
from relayer.api.middleware import middleware_stack
from relayer.api.openapi import OpenAPIRoute
from relayer.api.orders import OrderRoutes
from relayer.api.quote import QuoteRoutes
from relayer.api.ratelimit import Throttle
from relayer.api.request_id import bind_order_hash
from relayer.api.settlement import SettlementRoutes, settlement_routes
from relayer.api.webhooks import WebhookRoutes
from relayer.api.ws.endpoint import websocket_service
from relayer.chains.cardano.events import CARDANO_EVENTS
from relayer.chains.cardano.node import CardanoNode
from relayer.chains.cardano.wiring import CardanoParts
from relayer.chains.escrows import EscrowBook
from relayer.chains.ethereum.rpc import EthereumRpc
from relayer.chains.ethereum.wiring import EthereumParts
from relayer.chains.events import CHAIN_EVENTS
from relayer.chains.status import ChainMonitor
from relayer.clock import Clock, SystemClock
from relayer.config import Settings
from relayer.errors import RelayerError
from relayer.events.bus import EventBus
from relayer.events.codec import EventCodec
from relayer.events.projection import Projector
from relayer.memory import freeze_survivors
from relayer.metrics import Metrics, TimedStore
from relayer.networks.registry import ChainRegistry
from relayer.orders.book import OrderBook
from relayer.orders.desk import OrderDesk
from relayer.orders.events import ORDER_EVENTS
from relayer.orders.validation import OrderValidator
from relayer.pricing.decayer import Decayer
from relayer.pricing.quote import StaticPriceSource
from relayer.public.events import PublicEvents
from relayer.replica.duties import FollowerPrices, LeaderDuties
from relayer.replica.replica import Replica, leadership_for
from relayer.security.errors import SecurityError
from relayer.security.keys import KeyRegistry
from relayer.settlement.custody import CustodyKeyring
from relayer.settlement.events import SETTLEMENT_EVENTS
from relayer.settlement.service import Settlement
from relayer.store import EventStore, open_store
from relayer.store.sequenced import SequencedStore
from relayer.webhooks.records import WEBHOOK_RECORDS
from relayer.webhooks.runtime import Webhooks

log = structlog.get_logger(__name__)


def create_app(
    settings: Settings,
    *,
    store: EventStore | None = None,
    ethereum: EthereumRpc | None = None,
    cardano: CardanoNode | None = None,
    clock: Clock | None = None,
    monitors: Sequence[ChainMonitor] = (),
    run_scheduler: bool = True,
) -> Starlette:
    """Build the application; nothing starts until the lifespan runs.

    ``ethereum``: chain access for the Ethereum monitor and funds checks; ``None`` builds
    the failover RPC client of ``chains.ethereum.rpc_urls`` when ``chains.ethereum.follow``.
    ``cardano``: chain access for the Cardano monitor and order-lock checks; ``None``
    builds an Ogmios client of ``chains.cardano.ogmios_url`` when ``chains.cardano.follow``.
    """
    clock = clock or SystemClock()
    metrics = Metrics()
    raw_store = store or open_store(settings.store_url, pool_size=settings.store.pool_size,
                                    poll_seconds=settings.store.poll_seconds)
    # Own appends and other replicas' records take turns in position order (fan-out).
    sequenced = SequencedStore(raw_store, write_timeout=settings.store.write_timeout_seconds)
    store = TimedStore(sequenced, metrics)
    chains = ChainRegistry.from_settings(settings.chains)
    eth = settings.chains.ethereum
    bus = EventBus()
    codec = EventCodec((*ORDER_EVENTS, *CHAIN_EVENTS, *CARDANO_EVENTS, *SETTLEMENT_EVENTS,
                        *WEBHOOK_RECORDS))
    bus.on_handler_error = metrics.handler_failed
    book = OrderBook()
    escrows = EscrowBook()
    projector = Projector(codec, bus, [book, escrows])
    eth_parts = EthereumParts.build(eth, store=store, committed=projector.committed,
                                     escrows=escrows, rpc=ethereum)
    ada_parts = CardanoParts.build(settings.chains.cardano, store=store, bus=bus,
                                   committed=projector.committed, chains=chains,
                                   node=cardano)
    custody = CustodyKeyring.load(keys=settings.settlement.custody_keys,
                                  keys_file=settings.settlement.custody_keys_file,
                                  data_dir=settings.data_dir)
    validator = OrderValidator.from_settings(settings, chains, custody)
    keys = KeyRegistry.from_settings(settings.security)
    metrics.watch_orders(book)
    monitors = (*monitors, *eth_parts.monitors, *ada_parts.monitors)
    metrics.watch_monitors(tuple(monitors))
    desk = OrderDesk(store=store, book=book, bus=bus, validator=validator, chains=chains,
                     clock=clock, funds={**eth_parts.funds, **ada_parts.funds},
                     committed=projector.committed)
    replica = Replica(store=sequenced, leadership=leadership_for(raw_store, settings),
                      apply=projector.followed)
    relayer = Relayer(
        settings=settings, store=store, bus=bus, chains=chains, desk=desk, clock=clock,
        base_fee=eth_parts.base_fee, prices=StaticPriceSource(), escrows=escrows,
        started_at=time.monotonic(), auth=keys, monitors=tuple(monitors), metrics=metrics,
        replica=replica, log_position=lambda: projector.position,
    )
    eth_parts.watch(desk, clock)
    ada_parts.watch(desk)
    decayer = Decayer(desk, clock, bus=bus, base_fee=relayer.base_fee)
    settlement = Settlement(settings=settings, store=store, bus=bus, desk=desk,
                            escrows=escrows, custody=custody, chains=chains,
                            monitors=relayer.monitors, clock=clock,
                            committed=projector.committed)
    for projection in settlement.coordinator.projections:
        projector.register(projection)
    webhooks = Webhooks(settings=settings, store=store, clock=clock, chains=chains,
                        public=PublicEvents(book, relayer.base_fee),
                        position=lambda: max(projector.position, sequenced.applied), keys=keys,
                        codec=codec)
    throttle = Throttle(settings.security.rate_limit, clock)
    hub, ws_endpoint = websocket_service(
        settings.websocket, book=book, clock=clock, base_fee=relayer.base_fee, prices=decayer,
        authenticator=keys, limits=settings.limits, failures=throttle,
        on_failure=metrics.auth_failed)
    # Revocation reaches open sockets: every key change re-checks every connection.
    keys.on_change(lambda: hub.recheck(keys))
    metrics.watch_websockets(hub)
    metrics.watch_replica(replica)
    metrics.watch_settlement(bus)
    relayer.queue_depths["websocket_send_queues"] = lambda: hub.stats().queued
    follower_prices = FollowerPrices(board=decayer.board, bus=bus, clock=clock,
                                     base_fee=relayer.base_fee, leadership=replica.leadership)

    def leader_jobs(scheduler: AsyncIOScheduler) -> None:
        scheduler.add_job(metrics.timed_tick(decayer.tick), "interval",
                          seconds=settings.auction.tick_seconds,
                          id="auction_tick", max_instances=1, coalesce=True,
                          start_date=decayer.next_second())
        eth_parts.schedule(scheduler)
        settlement.schedule(scheduler)

    edge = Edge(settings.limits,
                on_refused=lambda limit: metrics.limit_refusals.labels(limit=limit).inc())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        await store.open()
        replayed = await projector.replay(store)
        log.info("store_replayed", records=replayed, orders=len(book))
        decayer.track_all()
        unsubscribe = decayer.attach()
        await webhooks.start(bus)  # before the monitors publish what they catch up on
        detach_hub = hub.attach(bus)
        hub.start()
        # Follow what other replicas commit; lead (monitors, auction and chain jobs) if
        # elected: on SQLite at once, on PostgreSQL when the advisory lock is won.
        await replica.start(applied=projector.position, duties=LeaderDuties(
            monitors=relayer.monitors, schedule=leader_jobs if run_scheduler else None,
            services=(webhooks.delivering,)))
        await settlement.start()  # after the monitors loaded the escrow projection
        freeze_survivors()
        scheduler = AsyncIOScheduler()
        if run_scheduler:
            if replica.shared:
                scheduler.add_job(follower_prices.tick, "interval",
                                  seconds=settings.auction.tick_seconds,
                                  id="follower_prices", max_instances=1, coalesce=True,
                                  start_date=decayer.next_second())
            scheduler.add_job(webhooks.run_due, "interval",
                              seconds=settings.webhooks.retry_poll_seconds,
                              id="webhook_retries", max_instances=1, coalesce=True)
            if settings.server.gc_freeze_seconds > 0:
                scheduler.add_job(freeze_survivors, "interval",
                                  seconds=settings.server.gc_freeze_seconds, id="gc_freeze",
                                  max_instances=1, coalesce=True)
            scheduler.start()
        try:
            # The server's HTTP protocol reads its limits here (``relayer.api.edge``).
            yield {EDGE_STATE: edge}
        finally:
            unsubscribe()
            if run_scheduler:
                scheduler.shutdown(wait=False)
            settlement.stop()
            await replica.stop()
            await eth_parts.close()
            detach_hub()
            await hub.stop()
            await webhooks.stop()
            await bus.drain()
            await store.close()

    orders = OrderRoutes(relayer)
    quote = QuoteRoutes(relayer)
    health = HealthRoutes(relayer)
    hooks = WebhookRoutes(webhooks)
    admin = AdminRoutes(keys)
    routes: list[BaseRoute] = [
        Route("/api/orders", orders.submit, methods=["POST"]),
        Route("/api/orders", orders.list, methods=["GET"]),
        Route("/api/orders/maker/{address}", orders.by_maker, methods=["GET"]),
        Route("/api/orders/{order_hash}", orders.get, methods=["GET"]),
        Route("/api/orders/{order_hash}", orders.cancel, methods=["DELETE"]),
        Route("/api/orders/{order_hash}/auction", orders.auction, methods=["GET"]),
        Route("/api/quote", quote.quote, methods=["GET"]),
        Route("/api/webhooks", hooks.register, methods=["POST"]),
        Route("/api/webhooks", hooks.list, methods=["GET"]),
        Route("/api/webhooks/{id}", hooks.get, methods=["GET"]),
        Route("/api/webhooks/{id}", hooks.delete, methods=["DELETE"]),
        Route("/api/webhooks/{id}/deliveries", hooks.deliveries, methods=["GET"]),
        Route("/api/custody/keys", CustodyRoutes(custody).keys, methods=["GET"]),
        Route("/health/live", health.live, methods=["GET"]),
        Route("/health/ready", health.ready, methods=["GET"]),
        Route("/health", health.status, methods=["GET"]),
        Route("/api/admin/keys", admin.list_keys, methods=["GET"]),
        Route("/api/admin/keys/reload", admin.reload_keys, methods=["POST"]),
        Route("/metrics", MetricsRoute(metrics, store).endpoint, methods=["GET"]),
    ]
    routes.extend(settlement_routes(SettlementRoutes(settlement.coordinator, desk)))
    routes.extend(explorer_routes(relayer, settlement.coordinator))
    routes.append(Route("/openapi.json", OpenAPIRoute(
        chains, max_parts=settings.quote.max_parts).endpoint, methods=["GET"]))
    routes.append(WebSocketRoute("/ws", ws_endpoint))
    bind_order_hash(routes)
    app = Starlette(
        routes=routes,
        middleware=middleware_stack(settings, keys=keys, clock=clock, metrics=metrics,
                                    routes=routes, throttle=throttle),
        exception_handlers={
            RelayerError: on_relayer_error,
            SecurityError: on_security_error,
            HTTPException: on_http_error,
            Exception: on_unexpected_error,
        },
        lifespan=lifespan,
    )
    app.state.relayer = relayer
    app.state.decayer = decayer
    app.state.settlement = settlement
    app.state.ethereum = eth_parts
    app.state.cardano = ada_parts
    app.state.hub = hub
    app.state.webhooks = webhooks
    return app
