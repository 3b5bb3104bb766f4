"""``create_app``: the relayer's parts, their lifecycle and their routes in one application."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException

from relayer.api.assembly import Parts
from relayer.api.auth import on_security_error
from relayer.api.context import Relayer
from relayer.api.edge import EDGE_STATE, Edge
from relayer.api.errors import on_http_error, on_relayer_error, on_unexpected_error
from relayer.api.middleware import middleware_stack
from relayer.api.ratelimit import Throttle
from relayer.api.routes import routes
from relayer.api.ws.endpoint import Broadcasting, websocket_service
from relayer.chains.cardano.node import CardanoNode
from relayer.chains.ethereum.rpc import EthereumRpc
from relayer.chains.status import ChainMonitor
from relayer.clock import Clock, SystemClock
from relayer.config import Settings
from relayer.errors import RelayerError
from relayer.events.projection import ReplayedLog
from relayer.lifecycle import Lifecycle
from relayer.memory import GcFreeze
from relayer.pricing.quote import PriceSource, StaticPriceSource
from relayer.security.errors import SecurityError
from relayer.store import EventStore


def create_app(
    settings: Settings,
    *,
    store: EventStore | None = None,
    ethereum: EthereumRpc | None = None,
    cardano: CardanoNode | None = None,
    clock: Clock | None = None,
    prices: PriceSource | None = None,
    monitors: Sequence[ChainMonitor] = (),
    run_scheduler: bool = True,
) -> Starlette:
    """Build the application; nothing starts until the lifespan runs.

    ``ethereum`` / ``cardano``: chain access (``None``: built from ``chains.*`` when the
    chain is followed); ``prices``: USD prices for quotes (``None``: the configured ones);
    ``run_scheduler``: run the parts' jobs (tests tick them by hand)."""
    clock = clock or SystemClock()
    p = Parts.build(settings, clock=clock, store=store, ethereum=ethereum, cardano=cardano,
                    monitors=monitors)
    metrics, log = p.metrics, p.log
    throttle = Throttle(settings.security.rate_limit, clock)
    hub, websocket = websocket_service(
        settings.websocket, book=log.book, clock=clock, base_fee=p.ethereum.base_fee,
        prices=p.decayer, authenticator=p.keys, limits=settings.limits, failures=throttle,
        on_failure=metrics.auth_failed, renderer=p.renderer,
        escrows=log.escrows)
    p.keys.on_change(lambda: hub.recheck(p.keys))  # revocation reaches open sockets
    metrics.watch(book=log.book, monitors=p.monitors, hub=hub, replica=p.replica,
                  bus=log.bus)
    lifecycle = Lifecycle([
        ReplayedLog(log.store, log.projector, log.bus),  # open the store, replay the log
        p.pricing,  # tracks the replayed book's open orders
        p.webhooks,  # before the monitors publish what they catch up on
        Broadcasting(hub, log.bus),
        p.ethereum,
        p.replica,  # follows other replicas; when elected runs monitors and deliveries
        p.settlement,  # after the monitors started: follows their events
        GcFreeze(settings.server.gc_freeze_seconds),
    ], leadership=p.replica.leadership, run_jobs=run_scheduler,
        stop_timeout=settings.server.shutdown_timeout_seconds)
    relayer = Relayer(
        settings=settings, store=log.store, bus=log.bus, chains=p.chains, desk=p.desk,
        clock=clock, base_fee=p.ethereum.base_fee, prices=prices or StaticPriceSource(),
        escrows=log.escrows, started_at=time.monotonic(), auth=p.keys, monitors=p.monitors,
        metrics=metrics, replica=p.replica, log_position=lambda: log.projector.position,
        renderer=p.renderer, queue_depths={"websocket_send_queues": lambda: hub.stats().queued})
    table = routes(relayer, coordinator=p.settlement.coordinator, webhooks=p.webhooks,
                   keys=p.keys, custody=p.custody, websocket=websocket)
    edge = Edge(settings.limits,
                on_refused=lambda limit: metrics.limit_refusals.labels(limit=limit).inc())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        await lifecycle.start()
        try:
            # The server's HTTP protocol reads its limits here (``relayer.api.edge``).
            yield {EDGE_STATE: edge}
        finally:
            await lifecycle.stop()

    app = Starlette(
        routes=table,
        middleware=middleware_stack(settings, keys=p.keys, clock=clock, metrics=metrics,
                                    routes=table, throttle=throttle),
        exception_handlers={RelayerError: on_relayer_error, SecurityError: on_security_error,
                            HTTPException: on_http_error, Exception: on_unexpected_error},
        lifespan=lifespan)
    app.state.relayer = relayer
    app.state.parts = p
    app.state.hub = hub
    return app
