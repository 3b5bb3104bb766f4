"""Which source escrows are an order's fills, and which secret each one uses.

ARCHITECTURE section 5. A source escrow is a fill of its order only if it is
authentic: it holds the maker's own funds as the maker committed them. On
Ethereum the monitor indexes only the configured factory's creations (the
factory checks the maker's signature and takes the maker's tokens); on Cardano
the Fill must have spent the order's registered lock or a continuing output of
it (``EscrowCreated.origin``). Every other escrow naming the order is foreign:
shown with its reason, never a fill, never an index.

Authentic fills are taken in chain order. A single-secret order is filled whole
by one escrow; an order in N parts gets each fill's secret index from the
cumulative authentic amount before it, and a fill that would exceed the order
is an overfill: invalid, its amount not counted, never given another index.
The chain refuses all of these already (factory and order validator); the
relayer checks them again because a secret opens every escrow locked with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from relayer.chains.escrows import EscrowState
from relayer.orders.merkle import secret_index
from relayer.orders.model import SignedOrder
from relayer.settlement.policy import AUTHENTICITY, Withheld


@dataclass(frozen=True, slots=True)
class Placement:
    state: EscrowState
    index: int
    """The secret index the fill uses; for a foreign escrow or an overfill, the index
    its hashlock names (shown, never used to release)."""
    reasons: tuple[Withheld, ...]
    """Authenticity reasons (foreign) or placement reasons (rule 1)."""

    @property
    def fill_id(self) -> str:
        return f"{self.state.chain}:{self.state.escrow}"

    @property
    def authentic(self) -> bool:
        return not AUTHENTICITY.intersection(self.reasons)

    @property
    def counted(self) -> bool:
        """An authentic escrow whose amount counts as filled (an overfill does not)."""
        return self.authentic and Withheld.SRC_OVERFILL not in self.reasons


def lock_ref(signed: SignedOrder) -> str | None:
    utxo = signed.src_order_utxo
    return None if utxo is None else f"{utxo.tx_id}#{utxo.index}"


def foreign_reason(signed: SignedOrder, state: EscrowState) -> Withheld | None:
    """Why ``state`` does not hold the maker's funds as committed, or None."""
    if state.chain != signed.order.src_chain:
        return Withheld.SRC_WRONG_CHAIN
    registered = lock_ref(signed)
    if registered is None:
        # An Ethereum-source order: only the factory's creations are indexed.
        return None if state.origin is None else Withheld.SRC_FOREIGN_LOCK
    if state.origin is None:
        return Withheld.SRC_LINEAGE_UNKNOWN
    return None if state.origin.root == registered else Withheld.SRC_FOREIGN_LOCK


def chain_order(state: EscrowState) -> tuple[int, int, int, str]:
    """Block, then the position in the order lock's lineage (several fills of one
    Cardano order can share a block, each spending the previous one's output), then
    the log or output index."""
    depth = state.origin.depth if state.origin is not None else 0
    return (state.created.height, depth, state.created.index, state.escrow)


def place(signed: SignedOrder, sources: Iterable[EscrowState]) -> list[Placement]:
    """Every source escrow naming the order, in chain order, placed."""
    order = signed.order
    placements = []
    filled = 0
    used: set[int] = set()
    whole_seen = False
    for state in sorted(sources, key=chain_order):
        named = _index_named(signed, state)
        foreign = foreign_reason(signed, state)
        if foreign is not None:
            placements.append(Placement(state, named, (foreign,)))
            continue
        amount = state.immutables.amount
        reasons: list[Withheld] = []
        if not 0 < amount <= order.making_amount - filled:
            reasons.append(Withheld.SRC_OVERFILL)
            index = named
        elif order.parts == 1:
            index = 0
            filled += amount
        else:
            index = secret_index(filled, amount, order.making_amount, order.parts)
            if index in used:
                reasons.append(Withheld.SRC_SECRET_INDEX_REUSED)
            filled += amount
        if order.parts == 1:
            if amount != order.making_amount:
                reasons.append(Withheld.SRC_NOT_WHOLE_FILL)
            if whole_seen:
                reasons.append(Withheld.SRC_DUPLICATE_FILL)
            whole_seen = True
        used.add(index)
        placements.append(Placement(state, index, tuple(reasons)))
    return placements


def _index_named(signed: SignedOrder, state: EscrowState) -> int:
    hashlock = state.immutables.hashlock.lower()
    for index, secret_hash in enumerate(signed.secret_hashes):
        if "0x" + secret_hash.hex() == hashlock:
            return index
    return 0
