"""The parts a running relayer is made of, wired once by ``create_app``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from relayer.auction.gas import BaseFeeSource
from relayer.chains.escrows import EscrowBook
from relayer.chains.status import ChainMonitor
from relayer.clock import Clock
from relayer.config import Settings
from relayer.events.bus import EventBus
from relayer.metrics import Metrics
from relayer.networks.registry import ChainRegistry
from relayer.orders.desk import OrderDesk
from relayer.pricing.quote import PriceSource
from relayer.public.views import OrderRenderer
from relayer.replica.replica import Replica
from relayer.security.keys import KeyRegistry
from relayer.security.principal import Authenticator
from relayer.store.base import EventStore


@dataclass(frozen=True, slots=True)
class Relayer:
    settings: Settings
    store: EventStore
    bus: EventBus
    chains: ChainRegistry
    desk: OrderDesk
    clock: Clock
    base_fee: BaseFeeSource
    prices: PriceSource
    started_at: float
    monitors: tuple[ChainMonitor, ...] = ()
    """The chain monitors the lifespan starts and stops (none when no chain is followed)."""
    escrows: EscrowBook = field(default_factory=EscrowBook)
    """Every escrow the chain monitors have seen (``relayer/chains/escrows.py``)."""
    auth: Authenticator = field(default_factory=KeyRegistry)
    """Turns a presented API key into a principal (``security.api_keys_file``)."""
    metrics: Metrics = field(default_factory=Metrics)
    """The app's own Prometheus registry and series (``relayer/metrics.py``)."""
    queue_depths: dict[str, Callable[[], int]] = field(default_factory=dict)
    """Named probes of internal queue depths, reported by ``/health``; a part that owns
    a queue registers one when it is wired."""
    log_position: Callable[[], int] = lambda: 0
    """Every log record up to this position is in the projections (``Projector``)."""
    renderer: OrderRenderer = field(default_factory=OrderRenderer)
    """Order JSON with its cache, shared by REST, the WebSocket and webhooks."""
    replica: Replica | None = None
    """This process among replicas: its role (leader or follower), fan-out lag and schema
    version (``relayer/replica/``); ``None`` only where no app wired one."""
