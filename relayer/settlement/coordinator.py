"""The settlement coordinator: one state machine per fill, driven by chain events.

It reads only the order book, the escrow projection (both fed from the log),
the chain monitors' tips and the clock. Every change it makes is an event in
the log, written before it is published: a fill's status (with the reasons a
secret is withheld) and, at most once per secret, its release. The release
is fenced by the store itself (stream ``secret:<order>:<index>``, version 1),
so neither a restart nor a second coordinator can release a secret twice.

Evaluations run one at a time (``_lock``): a chain event or a tick marks
orders to look at, and each look derives every fill of the order afresh from
the facts, so a late, duplicated or reverted event needs no special case.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import structlog

from relayer.chains.escrows import EscrowBook, EscrowState
from relayer.chains.events import (
    CHAIN_EVENTS,
    ChainEventReverted,
    EscrowCancelled,
    EscrowCreated,
    EscrowRole,
    EscrowWithdrawn,
)
from relayer.clock import Clock
from relayer.errors import ConflictError, NotFoundError, TransitionError, ValidationError
from relayer.events.bus import EventBus
from relayer.events.codec import EventCodec, to_record
from relayer.events.projection import Committed, Projection, Projector
from relayer.orders.book import OrderBook, OrderEntry
from relayer.orders.events import OrderStatusChanged
from relayer.orders.model import SignedOrder
from relayer.orders.progress import FillProgress, next_status
from relayer.orders.status import TRANSITIONS, OrderStatus
from relayer.settlement.custody import CustodyKeyring
from relayer.settlement.events import (
    SETTLEMENT_CODEC,
    SETTLEMENT_EVENTS,
    FillStatusChanged,
    PublicActionAvailable,
    SecretReleased,
    fill_stream,
)
from relayer.settlement.fills import (
    BEFORE_RELEASE,
    QUIET,
    TERMINAL,
    FillFindings,
    FillStatus,
    check_transition,
    derive,
)
from relayer.settlement.fills import (
    TRANSITIONS as FILL_TRANSITIONS,
)
from relayer.settlement.ledger import Fill, FillLedger, OrderFill, outcome_of
from relayer.settlement.pairing import Pairing
from relayer.settlement.placement import Placement
from relayer.settlement.policy import (
    Parties,
    PolicySettings,
)
from relayer.settlement.secrets import SecretLedger
from relayer.signing.keccak import keccak256
from relayer.store.base import EventStore, Record, VersionConflict

log = structlog.get_logger(__name__)

_OWN_RECORDS = EventCodec((*SETTLEMENT_EVENTS, *CHAIN_EVENTS))
"""What a coordinator rebuilt on its own reads of the log: fills, releases and escrows."""

_RECORD_ATTEMPTS = 3

class OrderTransition(Protocol):
    async def __call__(self, order_hash: str, new: OrderStatus, *, reason: str) -> object: ...


@dataclass
class CoordinatorStats:
    released: dict[str, int]
    """Secrets this process released, by source (maker, custody, chain)."""
    withheld: dict[str, int] = field(default_factory=dict)
    """Fill evaluations that withheld a secret, by first reason."""


class Coordinator:
    def __init__(
        self,
        *,
        store: EventStore,
        bus: EventBus,
        book: OrderBook,
        escrows: EscrowBook,
        custody: CustodyKeyring,
        parties: Parties,
        policy: PolicySettings,
        tip_height: Callable[[str], int | None],
        clock: Clock,
        transition_order: OrderTransition | None = None,
        committed: Committed | None = None,
    ) -> None:
        """``committed``: the projection loop that folds what the coordinator appends into
        ``projections`` and publishes it; ``None``: a loop of its own."""
        self._store = store
        self._bus = bus
        self._book = book
        self._escrows = escrows
        self._custody = custody
        self._policy = policy
        self._clock = clock
        self._transition_order = transition_order
        self._ledger = FillLedger()
        self._pairing = Pairing(book=book, escrows=escrows, parties=parties, policy=policy,
                                tip_height=tip_height, released=self._released)
        self._secrets = SecretLedger(store=store, bus=bus, custody=custody,
                                     committed=self._commit)
        self._committed = committed or Projector(SETTLEMENT_CODEC, bus,
                                                 self.projections).committed
        self._lock = asyncio.Lock()
        self.stats = CoordinatorStats(released=self._secrets.released_by_source)

    def _released(self, order_hash: str, index: int) -> SecretReleased | None:
        return self._secrets.get(order_hash, index)

    def _commit(self, records: Sequence[Record], events: Sequence[object]) -> None:
        self._committed(records, events)

    # -- startup ---------------------------------------------------------------------

    @property
    def projections(self) -> tuple[Projection, ...]:
        """Settlement's projections of the log: the fills and the released secrets."""
        return (self._ledger, self._secrets)

    async def rebuild(self) -> int:
        """Fold the fills and releases of the whole log in (a coordinator of its own,
        as after a restart); records read."""
        return await Projector(_OWN_RECORDS, self._bus, self.projections).replay(
            self._store, skip_unknown=True)

    def attach(self) -> Callable[[], None]:
        """Look at an order again whenever its escrows change on a chain.

        First every order with fills shows them again from the replayed log: an order
        whose fills all settled is not looked at again, yet must still show them."""
        for order_hash in sorted(self._ledger.by_order):
            entry = self._book.get(order_hash)
            if entry is not None:
                self._show(order_hash, [p for p in self._pairing.placements(entry)
                                        if p.counted])
        unsubscribers = [
            self._bus.subscribe(kind, self._on_chain_event)
            for kind in (EscrowCreated, EscrowWithdrawn, EscrowCancelled, ChainEventReverted)
        ]
        unsubscribers.append(self._bus.subscribe(OrderStatusChanged, self._on_order_changed))

        def detach() -> None:
            for unsubscribe in unsubscribers:
                unsubscribe()

        return detach

    async def _on_chain_event(self, event: object) -> None:
        order_hash = self._order_of(event)
        if order_hash is not None:
            await self.evaluate(order_hash)

    async def _on_order_changed(self, event: OrderStatusChanged) -> None:
        if (event.new in (OrderStatus.CANCELLED, OrderStatus.EXPIRED)
                and event.order_hash in self._ledger.by_order):
            await self.evaluate(event.order_hash)

    def _order_of(self, event: object) -> str | None:
        if isinstance(event, EscrowCreated):
            order_hash = event.immutables.order_hash
            self._ledger.escrow_orders[(event.point.chain, event.escrow)] = order_hash
            return order_hash
        if isinstance(event, (EscrowWithdrawn, EscrowCancelled, ChainEventReverted)):
            key = (event.point.chain, event.escrow)
            state = self._escrows.get(*key)
            if state is not None:
                return state.order_hash
            return self._ledger.escrow_orders.get(key)
        return None

    # -- evaluation ------------------------------------------------------------------

    async def tick(self) -> None:
        """Time moves rules (finality locks, windows): look at every open fill's order."""
        open_orders = {fill.order_hash for fill in self._ledger.by_id.values()
                       if fill.status not in QUIET}
        open_orders |= {s.order_hash for s in self._escrows
                        if s.role is EscrowRole.SRC
                        and f"{s.chain}:{s.escrow}" not in self._ledger.by_id}
        for order_hash in sorted(open_orders):
            await self.evaluate(order_hash)

    async def evaluate(self, order_hash: str) -> list[Fill]:
        """Derive every fill of ``order_hash`` afresh; record and act on what changed."""
        async with self._lock:
            return await self._evaluate(order_hash)

    async def _evaluate(self, order_hash: str) -> list[Fill]:
        entry = self._book.get(order_hash)
        if entry is None:
            return []
        now = int(self._clock.now())
        placements = self._pairing.placements(entry)
        known = {order_hash: placements}  # placed once per evaluation; coverage reads it
        targets = self._pairing.targets(entry)
        seen: set[str] = set()
        for placed in placements:
            fill = self._ledger.fill(placed.fill_id, order_hash, placed.index)
            seen.add(placed.fill_id)
            if fill.status in TERMINAL:
                # Settled or refunded with every spend final: nothing moves it again (a
                # tip that steps back must not take a settled fill back to a withdrawal).
                fill.derived = fill.status
                continue
            fill.secret_index = placed.index
            if placed.authentic:
                await self._settle(entry, fill, placed, targets, known, now)
            else:
                fill.src, fill.dst = placed.state, None
                fill.derived = FillStatus.FOREIGN
                await self._record(fill, FillStatus.FOREIGN,
                                   tuple(str(r) for r in placed.reasons), now)
        for fill_id in sorted(self._ledger.by_order.get(order_hash, set()) - seen):
            fill = self._ledger.by_id[fill_id]
            fill.derived = FillStatus.REVERTED
            if fill.status not in TERMINAL and fill.status is not FillStatus.REVERTED:
                fill.src = fill.dst = None
                await self._record(fill, FillStatus.REVERTED, (), now)
        counted = [p for p in placements if p.counted]
        self._show(order_hash, counted)
        await self._update_order(entry, counted, now)
        return self._ledger.of_order(order_hash)

    def _show(self, order_hash: str, counted: list[Placement]) -> None:
        """The order's fills as it lists them: every authentic source escrow on chain."""
        shown = []
        for p in counted:
            fill = self._ledger.by_id.get(p.fill_id)
            shown.append(OrderFill(
                fill_id=p.fill_id, making_amount=p.state.immutables.amount,
                taking_amount=p.state.complement.amount if p.state.complement else 0,
                secret_index=p.index,
                outcome=str(outcome_of(fill.status if fill else FillStatus.SRC_SEEN))))
        self._ledger.show(order_hash, tuple(shown))

    async def _settle(self, entry: OrderEntry, fill: Fill, placed: Placement,
                      targets: list[EscrowState], known: dict[str, list[Placement]],
                      now: int) -> None:
        signed, src = entry.signed, placed.state
        await self._learn_secret_from_chain(signed, fill, src, targets)
        released = self._secrets.get(entry.order_hash, fill.secret_index) is not None
        if not released and fill.status not in BEFORE_RELEASE | {FillStatus.REVERTED}:
            # The log says this fill's secret is out but this coordinator did not release
            # it (another one did): learn the release before judging the fill.
            released = await self._secrets.refresh(entry.order_hash,
                                                   fill.secret_index) is not None
        dst, verdict = self._pairing.destination(entry, placed, targets, known, now)
        fill.src, fill.dst = src, dst
        view = FillFindings(
            src=src, dst=dst, verdict=verdict, released=released, now=now,
            src_final_depth=self._pairing.last_action_depth(src),
            dst_final_depth=self._pairing.last_action_depth(dst) if dst is not None else 0,
            required_depth=(self._policy.confirmations[signed.order.src_chain],
                            self._policy.confirmations[signed.order.dst_chain]))
        status = derive(view)
        reasons = tuple(str(r) for r in verdict.reasons) if not released else ()
        if status is FillStatus.READY and signed.custody is not None:
            secret = self._custody.open(
                signed.custody.key_id, signed.custody.sealed[fill.secret_index],
                secret_hash=signed.secret_hashes[fill.secret_index], index=fill.secret_index)
            if await self._secrets.release(signed, fill.fill_id, fill.secret_index, secret,
                                           source="custody", now=now):
                view = replace(view, released=True)
                status, reasons = derive(view), ()
        if reasons and status in (FillStatus.INVALID_ESCROW, FillStatus.SRC_SEEN,
                                  FillStatus.VERIFIED, FillStatus.FINAL):
            first = reasons[0]
            self.stats.withheld[first] = self.stats.withheld.get(first, 0) + 1
        fill.derived = status
        await self._record(fill, status, reasons, now)

    # -- secrets ---------------------------------------------------------------------

    async def _learn_secret_from_chain(self, signed: SignedOrder, fill: Fill, src: EscrowState,
                                       targets: Iterable[EscrowState]) -> None:
        """A withdrawal put the secret on chain: it is public, record and share it."""
        if self._secrets.get(signed.order_hash, fill.secret_index) is not None:
            return
        expected = signed.secret_hashes[fill.secret_index]
        for state in (src, *targets):
            secret = state.secret
            if secret is None:
                continue
            raw = bytes.fromhex(secret.removeprefix("0x"))
            if keccak256(raw) == expected:
                await self._secrets.release(signed, fill.fill_id, fill.secret_index, raw,
                                            source="chain", now=int(self._clock.now()))
                return

    async def accept_secret(self, order_hash: str, index: int, secret: bytes) -> SecretReleased:
        """The maker hands over secret ``index``: accepted only for a fill that is ready."""
        async with self._lock:
            entry = self._book.get(order_hash)
            if entry is None:
                raise NotFoundError("no such order", code="ORDER_NOT_FOUND",
                                    details={"order_hash": order_hash})
            signed = entry.signed
            if not 0 <= index < len(signed.secret_hashes):
                raise ValidationError("idx is not a secret index of this order",
                                      code="INVALID_SECRET_INDEX",
                                      details={"field": "idx",
                                               "max": len(signed.secret_hashes) - 1})
            if keccak256(secret) != signed.secret_hashes[index]:
                raise ValidationError("the secret does not hash to the order's secret hash",
                                      code="SECRET_MISMATCH", details={"field": "secret"})
            # The log, not this process's memory: another coordinator may have released it.
            released = await self._secrets.refresh(order_hash, index)
            if released is not None:
                return released
            fills = await self._evaluate(order_hash)
            released = self._secrets.get(order_hash, index)
            if released is not None:  # seen on chain while evaluating
                return released
            ready = [f for f in fills
                     if f.secret_index == index and f.derived is FillStatus.READY]
            if not ready:
                waiting = [f for f in fills if f.secret_index == index]
                raise ConflictError(
                    "no fill of this order is ready for that secret",
                    code="FILL_NOT_READY",
                    details={"fills": [{"fill_id": f.fill_id, "status": str(f.status),
                                        "reasons": list(f.reasons)} for f in waiting]})
            await self._secrets.release(signed, ready[0].fill_id, index, secret,
                                        source="maker", now=int(self._clock.now()))
            await self._evaluate(order_hash)
            event = self._secrets.get(order_hash, index)
            assert event is not None
            return event

    def released_secrets(self, order_hash: str) -> list[tuple[SecretReleased, bytes]]:
        """The order's released secrets, opened, by index."""
        return self._secrets.opened(order_hash)

    # -- views -----------------------------------------------------------------------

    def fills(self, order_hash: str) -> list[Fill]:
        return self._ledger.of_order(order_hash)

    @property
    def shown(self) -> Mapping[str, tuple[tuple[OrderFill, ...], int]]:
        """Per order, the fills it shows and their revision (a live view)."""
        return self._ledger.shown

    def shown_fills(self, order_hash: str) -> tuple[tuple[OrderFill, ...], int]:
        """The fills the order shows and their revision (``FillLedger.show``)."""
        return self._ledger.shown_fills(order_hash)

    def filled_amount(self, order_hash: str) -> int:
        """What the order's authentic fills took (foreign escrows never count)."""
        return sum(f.making_amount for f in self._ledger.shown_fills(order_hash)[0])

    def all_fills(self) -> list[Fill]:
        return list(self._ledger.by_id.values())

    # -- bookkeeping -----------------------------------------------------------------

    async def _record(self, fill: Fill, status: FillStatus, reasons: tuple[str, ...],
                      now: int) -> None:
        for _ in range(_RECORD_ATTEMPTS):
            if fill.version > 0 and fill.status is status and fill.reasons == reasons:
                return
            old = fill.status if fill.version > 0 else FillStatus.SRC_SEEN
            if fill.version > 0 and old is not status:
                try:
                    check_transition(old, status)
                except TransitionError:
                    # What the log holds cannot move there (it knows of a release or an
                    # outcome this derivation did not see): keep it, and never let one
                    # fill stop the evaluation of the others.
                    log.warning("fill_transition_refused", order_hash=fill.order_hash,
                                fill_id=fill.fill_id, old=str(old), new=str(status))
                    return
            event = FillStatusChanged(order_hash=fill.order_hash, fill_id=fill.fill_id,
                                      secret_index=fill.secret_index, old=str(old),
                                      new=str(status), reasons=reasons, at=now)
            try:
                written = await self._store.append([to_record(
                    event, version=fill.version + 1, stream=fill_stream(fill.fill_id))])
            except VersionConflict:
                # Another coordinator (a replica, a former leader) wrote first. What it
                # wrote may be stale (it looked before the latest chain event) or know
                # more (a release this process has not folded yet): record this
                # derivation over it when the table allows, else keep the log's.
                await self._reload(fill)
                if fill.status is not status and status not in FILL_TRANSITIONS[fill.status]:
                    return
                continue
            log.info("fill_status_changed", order_hash=fill.order_hash, fill_id=fill.fill_id,
                     old=str(old), new=str(status), reasons=list(reasons))
            self._committed(written, [event])
            if status is FillStatus.PUBLIC_WITHDRAW or status is FillStatus.PUBLIC_CANCELLATION:
                for action, state in self._public_targets(fill, status):
                    self._bus.publish(PublicActionAvailable(
                        order_hash=fill.order_hash, fill_id=fill.fill_id, action=action,
                        chain=state.chain, escrow=state.escrow, at=now))
            return

    async def _reload(self, fill: Fill) -> None:
        records = await self._store.read_stream(fill_stream(fill.fill_id))
        if records:
            last = SETTLEMENT_CODEC.decode(records[-1])
            assert isinstance(last, FillStatusChanged)
            self._ledger.read(last, records[-1].version)

    @staticmethod
    def _public_targets(fill: Fill, status: FillStatus) -> list[tuple[str, EscrowState]]:
        if status is FillStatus.PUBLIC_CANCELLATION:
            return [("public_cancel", fill.src)] if fill.src is not None else []
        return [("public_withdraw", state) for state in (fill.dst, fill.src)
                if state is not None and state.withdrawal is None]

    def public_actions(self) -> list[tuple[Fill, str, EscrowState]]:
        actions: list[tuple[Fill, str, EscrowState]] = []
        for fill in self._ledger.by_id.values():
            if fill.status in (FillStatus.PUBLIC_WITHDRAW, FillStatus.PUBLIC_CANCELLATION):
                actions.extend((fill, action, state)
                               for action, state in self._public_targets(fill, fill.status))
        return actions

    async def _update_order(self, entry: OrderEntry, counted: list[Placement],
                            now: int) -> None:
        """Move the order to the status its authentic fills give it (orders.progress):
        foreign escrows and escrows that do not match the order never move it, and a fill
        counts once its source escrow is final."""
        if self._transition_order is None:
            return
        order = entry.signed.order
        depth = self._policy.confirmations[order.src_chain]
        fills = []
        for placed in counted:
            fill = self._ledger.by_id[placed.fill_id]
            if fill.status is FillStatus.INVALID_ESCROW and any(
                    r.startswith("SRC_") for r in fill.reasons):
                continue
            if placed.state.confirmations(self._pairing.height(placed.state.chain)) < depth:
                continue
            fills.append(FillProgress(amount=placed.state.immutables.amount,
                                      outcome=outcome_of(fill.status)))
        closed = (entry.status in (OrderStatus.CANCELLED, OrderStatus.EXPIRED)
                  or now >= order.deadline)
        step = next_status(entry.status, order.making_amount, fills, closed=closed)
        if step is None:
            return
        target, reason = step
        if target is entry.status or target not in TRANSITIONS[entry.status]:
            return
        try:
            await self._transition_order(entry.order_hash, target, reason=reason)
        except ConflictError:
            # Another writer (a replica, the decayer, the maker) changed the order first:
            # the next evaluation derives the status again from what the log holds.
            log.info("order_status_update_deferred", order_hash=entry.order_hash,
                     target=str(target))

