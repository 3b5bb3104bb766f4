"""``GET /api/orders/{hash}/timeline``: each fill's escrows as a person follows them.

For every fill of an order: its status and the named rules holding the secret
back (with what they mean), its status history from the log, when its secret
went out (never the secret itself: released secrets stay behind the ``secrets``
scope), and each escrow with its transaction, confirmations against the depth
the chain needs, what happened to it, and its time locks as absolute times.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from relayer.api.explorer.reasons import describe
from relayer.chains.escrows import EscrowState
from relayer.chains.events import ChainPoint, EscrowRole
from relayer.chains.status import ChainMonitor
from relayer.clock import Clock
from relayer.config import ChainsSettings
from relayer.errors import ValidationError
from relayer.networks.registry import ChainRegistry
from relayer.orders.desk import OrderDesk
from relayer.orders.timelocks import Stage
from relayer.orders.wire import Amount
from relayer.settlement.coordinator import Coordinator
from relayer.settlement.events import (
    SETTLEMENT_CODEC,
    FillStatusChanged,
    SecretReleased,
    fill_stream,
)
from relayer.settlement.fills import BEFORE_RELEASE
from relayer.settlement.ledger import Fill
from relayer.settlement.policy import stage_start
from relayer.store.base import EventStore

_encoder = msgspec.json.Encoder()
_CACHE_SIZE = 10_000
"""Fills remembered (history, release) before the caches start over."""

STAGES: dict[EscrowRole, tuple[tuple[Stage, str], ...]] = {
    EscrowRole.SRC: (
        (Stage.SRC_WITHDRAWAL, "the resolver may withdraw with the secret"),
        (Stage.SRC_PUBLIC_WITHDRAWAL, "anyone may withdraw for the resolver"),
        (Stage.SRC_CANCELLATION, "the resolver may cancel: the maker is refunded"),
        (Stage.SRC_PUBLIC_CANCELLATION, "anyone may cancel: the maker is refunded"),
    ),
    EscrowRole.DST: (
        (Stage.DST_WITHDRAWAL, "the resolver may withdraw to the receiver"),
        (Stage.DST_PUBLIC_WITHDRAWAL, "anyone may withdraw to the receiver"),
        (Stage.DST_CANCELLATION, "the resolver may cancel and take its funds back"),
    ),
}
"""Each role's time-lock stages, in order, with what each one allows."""


class ReasonView(msgspec.Struct):
    code: str
    rule: str
    """``rule 1`` .. ``rule 6`` (ARCHITECTURE section 5) or ``authenticity``."""
    text: str


class StatusStep(msgspec.Struct):
    at: int
    status: str
    reasons: list[str]


class ChainMark(msgspec.Struct):
    tx_id: str
    block: int
    at: int
    """The block's time, unix seconds."""


class StageView(msgspec.Struct):
    stage: str
    """``src_withdrawal`` .. ``dst_cancellation``."""
    at: int
    """When the stage begins, unix seconds."""
    allows: str


class EscrowTimeline(msgspec.Struct):
    role: str
    chain: str
    escrow: str
    created: ChainMark
    confirmations: int | None
    """Blocks from the creation's block to the relayer's view of the tip, both included;
    ``null`` while the chain's monitor has no tip."""
    required_confirmations: int
    token: str
    symbol: str | None
    decimals: int | None
    amount: Amount
    safety_deposit: Amount
    phase: str
    """``open``, ``withdrawn`` or ``cancelled``."""
    withdrawn: ChainMark | None
    cancelled: ChainMark | None
    stages: list[StageView]


class FillTimeline(msgspec.Struct):
    fill_id: str
    idx: int
    status: str
    reasons: list[ReasonView]
    """What holds the secret back now; empty once it is out."""
    history: list[StatusStep]
    """Every recorded status change, oldest first."""
    secret_released_at: int | None
    secret_source: str | None
    """``maker``, ``custody`` or ``chain``: who let the secret out."""
    escrows: list[EscrowTimeline]
    """The source escrow, then the destination escrow, as far as they exist."""


class OrderTimeline(msgspec.Struct):
    order_hash: str
    status: str
    status_reason: str
    at: int
    """The relayer's current second: time locks compare against it."""
    fills: list[FillTimeline]


class TimelineRoutes:
    def __init__(self, *, desk: OrderDesk, coordinator: Coordinator, store: EventStore,
                 chains: ChainRegistry, settings: ChainsSettings, clock: Clock,
                 monitors: Sequence[ChainMonitor]) -> None:
        self._desk = desk
        self._coordinator = coordinator
        self._chains = chains
        self._clock = clock
        self._monitors = tuple(monitors)
        self._history = HistoryCache(store)
        self._released: dict[str, SecretReleased] = {}
        self._required = {"ethereum": settings.ethereum.confirmations,
                          "cardano": settings.cardano.confirmations}

    async def timeline(self, request: Request) -> Response:
        entry = self._desk.get(request.path_params["order_hash"])
        tips = {m.name: m.status().tip_height for m in self._monitors}
        fills = [await self._fill(fill, self._release(entry.order_hash, fill), tips)
                 for fill in self._coordinator.fills(entry.order_hash)]
        view = OrderTimeline(order_hash=entry.order_hash, status=str(entry.status),
                             status_reason=entry.status_reason,
                             at=int(self._clock.now()), fills=fills)
        return Response(_encoder.encode(view), media_type="application/json")

    def _release(self, order_hash: str, fill: Fill) -> SecretReleased | None:
        """The release of ``fill``'s secret, read from the coordinator (which opens the
        order's sealed secrets) only when one may have happened since the last look."""
        known = self._released.get(fill.fill_id)
        if known is not None or fill.status in BEFORE_RELEASE:
            return known
        if len(self._released) >= _CACHE_SIZE:
            self._released.clear()
        for event, _ in self._coordinator.released_secrets(order_hash):
            self._released[event.fill_id] = event
        return self._released.get(fill.fill_id)

    async def _fill(self, fill: Fill, released: SecretReleased | None,
                    tips: dict[str, int | None]) -> FillTimeline:
        escrows = [escrow_timeline(state, self._chains, tip=tips.get(state.chain),
                                   required=self._required.get(state.chain, 0))
                   for state in (fill.src, fill.dst) if state is not None]
        return FillTimeline(
            fill_id=fill.fill_id, idx=fill.secret_index, status=str(fill.status),
            reasons=[ReasonView(code, *describe(code)) for code in fill.reasons],
            history=await self._history.get(fill),
            secret_released_at=None if released is None else released.at,
            secret_source=None if released is None else released.source,
            escrows=escrows)


def escrow_timeline(state: EscrowState, chains: ChainRegistry, *, tip: int | None,
                    required: int) -> EscrowTimeline:
    terms = state.immutables
    symbol, decimals = _asset(chains, state.chain, terms.token)
    return EscrowTimeline(
        role=str(state.role), chain=state.chain, escrow=state.escrow,
        created=_mark(state.created),
        confirmations=None if tip is None else state.confirmations(tip),
        required_confirmations=required, token=terms.token, symbol=symbol,
        decimals=decimals, amount=str(terms.amount),
        safety_deposit=str(terms.safety_deposit), phase=str(state.phase),
        withdrawn=None if state.withdrawal is None else _mark(state.withdrawal.point),
        cancelled=None if state.cancellation is None else _mark(state.cancellation.point),
        stages=[StageView(stage=stage.name.lower(), at=stage_start(terms.timelocks, stage),
                          allows=allows)
                for stage, allows in STAGES[state.role]])


def _mark(point: ChainPoint) -> ChainMark:
    return ChainMark(tx_id=point.tx_id, block=point.height, at=point.timestamp)


def _asset(chains: ChainRegistry, chain: str, token: str) -> tuple[str | None, int | None]:
    try:
        asset = chains.get(chain, field="chain").asset(token, field="token")
    except ValidationError:
        return None, None
    return asset.symbol, asset.decimals


class HistoryCache:
    """Each fill's status history from its stream in the log, read again only when the
    fill's version moved (a page polls the timeline while a swap runs)."""

    def __init__(self, store: EventStore) -> None:
        self._store = store
        self._cached: dict[str, tuple[int, list[StatusStep]]] = {}

    async def get(self, fill: Fill) -> list[StatusStep]:
        cached = self._cached.get(fill.fill_id)
        if cached is not None and cached[0] == fill.version:
            return cached[1]
        steps = []
        for record in await self._store.read_stream(fill_stream(fill.fill_id)):
            event = SETTLEMENT_CODEC.decode(record)
            if isinstance(event, FillStatusChanged):
                steps.append(StatusStep(at=event.at, status=event.new,
                                        reasons=list(event.reasons)))
        if len(self._cached) >= _CACHE_SIZE:
            self._cached.clear()
        self._cached[fill.fill_id] = (fill.version, steps)
        return steps
