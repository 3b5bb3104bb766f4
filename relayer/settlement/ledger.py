"""The fills as the log records them: one per source escrow, with its status and reasons.

This is settlement's projection of the log (``relayer.events.projection``): every
``FillStatusChanged``, this process's or another replica's, moves the fill it names, and
every source escrow's creation is remembered with its order, so a reversal that names an
escrow already gone still finds its order. The coordinator derives fills afresh and
writes what changed; the API reads fills from here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from relayer.chains.escrows import EscrowState
from relayer.chains.events import EscrowCreated
from relayer.orders.progress import FillOutcome
from relayer.settlement.events import FillStatusChanged
from relayer.settlement.fills import FillStatus
from relayer.store.base import Record


@dataclass
class Fill:
    fill_id: str
    order_hash: str
    secret_index: int
    status: FillStatus
    reasons: tuple[str, ...] = ()
    version: int = 0
    """The version of the fill's stream this status was read from (0: none yet)."""
    src: EscrowState | None = None
    dst: EscrowState | None = None
    derived: FillStatus | None = None
    """The status this process derived at its last look, from the facts it has. The
    log may hold another (a replica wrote first); a maker's secret is accepted only on
    a fresh derivation, never on an adopted status."""


@dataclass(frozen=True, slots=True)
class OrderFill:
    """A fill as its order shows it: every authentic source escrow on chain (final or
    not), so resolvers know what remains and which secret index the next fill uses."""

    fill_id: str
    making_amount: int
    taking_amount: int
    secret_index: int
    outcome: str
    """``orders.progress.FillOutcome``: open, settled or refunded."""


def outcome_of(status: FillStatus) -> FillOutcome:
    if status is FillStatus.SETTLED:
        return FillOutcome.SETTLED
    if status is FillStatus.REFUNDED:
        return FillOutcome.REFUNDED
    return FillOutcome.OPEN


class FillLedger:
    def __init__(self) -> None:
        self.shown: dict[str, tuple[tuple[OrderFill, ...], int]] = {}
        """Per order, the fills it shows and a revision that grows when they change."""
        self.by_id: dict[str, Fill] = {}
        self.by_order: dict[str, set[str]] = {}
        self.escrow_orders: dict[tuple[str, str], str] = {}
        """Every escrow seen, to its order: a reversal names an escrow already gone."""

    def project(self, event: object, record: Record) -> None:
        if isinstance(event, FillStatusChanged):
            self.read(event, record.version)
        elif isinstance(event, EscrowCreated):
            self.escrow_orders[(event.point.chain, event.escrow)] = event.immutables.order_hash

    def read(self, event: FillStatusChanged, version: int) -> Fill:
        """Take the status ``event`` gives its fill at ``version`` of the fill's stream,
        unless a later version was already read (a reload may run ahead of the loop)."""
        fill = self.fill(event.fill_id, event.order_hash, event.secret_index)
        if version > fill.version:
            fill.status, fill.reasons, fill.version = FillStatus(event.new), event.reasons, version
            self._reshow(fill)
        return fill

    def _reshow(self, fill: Fill) -> None:
        """A fill the order shows changed its outcome (this replica's record or another's)."""
        shown, revision = self.shown.get(fill.order_hash, ((), 0))
        outcome = str(outcome_of(fill.status))
        if any(f.fill_id == fill.fill_id and f.outcome != outcome for f in shown):
            self.shown[fill.order_hash] = (tuple(
                replace(f, outcome=outcome) if f.fill_id == fill.fill_id else f
                for f in shown), revision + 1)

    def fill(self, fill_id: str, order_hash: str, index: int) -> Fill:
        """The fill ``fill_id``, made (as just seen) if it is new."""
        fill = self.by_id.get(fill_id)
        if fill is None:
            fill = Fill(fill_id=fill_id, order_hash=order_hash, secret_index=index,
                        status=FillStatus.SRC_SEEN)
            self.by_id[fill_id] = fill
            self.by_order.setdefault(order_hash, set()).add(fill_id)
        return fill

    def show(self, order_hash: str, fills: tuple[OrderFill, ...]) -> None:
        """The fills ``order_hash`` shows from now on (the coordinator's last look)."""
        known, revision = self.shown.get(order_hash, ((), 0))
        if fills != known:
            self.shown[order_hash] = (fills, revision + 1)

    def shown_fills(self, order_hash: str) -> tuple[tuple[OrderFill, ...], int]:
        return self.shown.get(order_hash, ((), 0))

    def of_order(self, order_hash: str) -> list[Fill]:
        return [self.by_id[f] for f in sorted(self.by_order.get(order_hash, ()))]
