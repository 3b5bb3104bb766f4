"""The escrow projection: every escrow the chain monitors have seen, on any chain.

Both monitors and the settlement coordinator read escrows through this one
``EscrowBook``. It folds the chain events of the log (``relayer.chains.events``)
into one state per escrow, kept by ``(chain, escrow)`` and indexed by order
hash. A ``ChainEventReverted`` drops exactly the event it names (matched by
``ChainPoint.key``), so a reorg or rollback undoes an escrow's creation, its
withdrawal, cancellation or rescue, and a later re-inclusion adds it again once.

It is rebuilt at startup by replaying the chain streams (``load``) and kept
current by applying each event after it is committed. Applying is idempotent:
an event already folded in, or a reversal of an event that is not there,
changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from enum import StrEnum

from relayer.chains.events import (
    CHAIN_EVENTS,
    ChainEvent,
    ChainEventReverted,
    ChainPoint,
    DstComplement,
    EscrowCancelled,
    EscrowCreated,
    EscrowImmutables,
    EscrowRole,
    EscrowWithdrawn,
    FundsRescued,
    LockOrigin,
)
from relayer.store.base import Record


class EscrowPhase(StrEnum):
    OPEN = "open"
    """Created and still holding its funds."""
    WITHDRAWN = "withdrawn"
    """Opened with the secret: funds went to their receiver."""
    CANCELLED = "cancelled"
    """Funds went back after the cancellation time."""


@dataclass(frozen=True, slots=True)
class EscrowState:
    """One escrow as the chain shows it now (a new object on every change)."""

    chain: str
    escrow: str
    role: EscrowRole
    immutables: EscrowImmutables
    complement: DstComplement | None
    created: ChainPoint
    withdrawal: EscrowWithdrawn | None = None
    cancellation: EscrowCancelled | None = None
    rescues: tuple[FundsRescued, ...] = ()
    origin: LockOrigin | None = None
    """Cardano source escrows: the order-lock lineage (``EscrowCreated.origin``)."""

    @property
    def order_hash(self) -> str:
        return self.immutables.order_hash

    @property
    def phase(self) -> EscrowPhase:
        if self.withdrawal is not None:
            return EscrowPhase.WITHDRAWN
        if self.cancellation is not None:
            return EscrowPhase.CANCELLED
        return EscrowPhase.OPEN

    @property
    def secret(self) -> str | None:
        """The secret revealed by the withdrawal, if there was one."""
        return self.withdrawal.secret if self.withdrawal is not None else None

    def confirmations(self, head: int) -> int:
        """Blocks on top of (and including) the creation's block when the tip is ``head``."""
        return max(head - self.created.height + 1, 0)


EscrowKey = tuple[str, str]
"""``(chain, escrow)``."""


class EscrowBook:
    def __init__(self) -> None:
        self._escrows: dict[EscrowKey, EscrowState] = {}
        self._by_order: dict[str, set[EscrowKey]] = {}
        self._by_hashlock: dict[str, set[EscrowKey]] = {}
        self.ignored = 0
        """Events that named an escrow the book does not hold (counted, not fatal)."""

    def __len__(self) -> int:
        return len(self._escrows)

    def __iter__(self) -> Iterator[EscrowState]:
        return iter(self._escrows.values())

    def get(self, chain: str, escrow: str) -> EscrowState | None:
        return self._escrows.get((chain, escrow))

    def by_order(self, order_hash: str) -> list[EscrowState]:
        """The escrows of one order, oldest creation first."""
        keys = self._by_order.get(order_hash, ())
        states = [self._escrows[key] for key in keys]
        return sorted(states, key=lambda s: (s.created.chain, s.created.height,
                                             s.created.index))

    def by_hashlock(self, hashlock: str) -> list[EscrowState]:
        """Every escrow locked with ``hashlock`` (any order, any chain), oldest first:
        a secret opens all of them."""
        keys = self._by_hashlock.get(hashlock.lower(), ())
        states = [self._escrows[key] for key in keys]
        return sorted(states, key=lambda s: (s.created.chain, s.created.height,
                                             s.created.index, s.escrow))

    def project(self, event: object, record: Record) -> None:
        """The projection loop's hand-over (``relayer.events.projection``)."""
        if isinstance(event, CHAIN_EVENTS):
            self.apply(event)

    def apply(self, event: ChainEvent) -> None:
        if isinstance(event, EscrowCreated):
            self._created(event)
        elif isinstance(event, ChainEventReverted):
            self._reverted(event)
        else:
            key = (event.point.chain, event.escrow)
            state = self._escrows.get(key)
            if state is None:
                self.ignored += 1
                return
            self._escrows[key] = _with(state, event)

    def _created(self, event: EscrowCreated) -> None:
        key = (event.point.chain, event.escrow)
        existing = self._escrows.get(key)
        if existing is not None and existing.created.key == event.point.key:
            return
        state = EscrowState(chain=event.point.chain, escrow=event.escrow, role=event.role,
                            immutables=event.immutables, complement=event.complement,
                            created=event.point, origin=event.origin)
        self._escrows[key] = state
        self._by_order.setdefault(state.order_hash, set()).add(key)
        self._by_hashlock.setdefault(state.immutables.hashlock.lower(), set()).add(key)

    def _reverted(self, event: ChainEventReverted) -> None:
        key = (event.point.chain, event.escrow)
        state = self._escrows.get(key)
        if state is None:
            return
        point = event.point.key
        if state.created.key == point:
            del self._escrows[key]
            _discard(self._by_order, state.order_hash, key)
            _discard(self._by_hashlock, state.immutables.hashlock.lower(), key)
        elif state.withdrawal is not None and state.withdrawal.point.key == point:
            self._escrows[key] = replace(state, withdrawal=None)
        elif state.cancellation is not None and state.cancellation.point.key == point:
            self._escrows[key] = replace(state, cancellation=None)
        elif any(r.point.key == point for r in state.rescues):
            rescues = tuple(r for r in state.rescues if r.point.key != point)
            self._escrows[key] = replace(state, rescues=rescues)


def _discard(index: dict[str, set[EscrowKey]], name: str, key: EscrowKey) -> None:
    keys = index.get(name)
    if keys is not None:
        keys.discard(key)
        if not keys:
            del index[name]


def _with(state: EscrowState, event: EscrowWithdrawn | EscrowCancelled | FundsRescued
          ) -> EscrowState:
    if isinstance(event, EscrowWithdrawn):
        return state if state.withdrawal == event else replace(state, withdrawal=event)
    if isinstance(event, EscrowCancelled):
        return state if state.cancellation == event else replace(state, cancellation=event)
    if event in state.rescues:
        return state
    return replace(state, rescues=(*state.rescues, event))
