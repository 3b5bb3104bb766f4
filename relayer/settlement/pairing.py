"""Which destination escrow pays for which source escrow, and the facts each rule reads.

For one fill the coordinator asks ``Pairing.destination``: rule 6 first (every open
authentic source escrow of the maker locked with the fill's hash gets its own
destination where possible, ``relayer.settlement.coverage``), then the verdict of every
rule on the pair (``relayer.settlement.policy``). Everything here reads the order book,
the escrow projection, the chains' heights and the released secrets; nothing writes.
"""

from __future__ import annotations

from collections.abc import Callable

from relayer.auction.curve import fill_taking_amount
from relayer.chains.escrows import EscrowBook, EscrowKey, EscrowPhase, EscrowState
from relayer.chains.events import EscrowCreated, EscrowRole
from relayer.orders.book import OrderBook, OrderEntry
from relayer.orders.model import SignedOrder
from relayer.orders.status import OrderStatus
from relayer.settlement.coverage import match
from relayer.settlement.events import SecretReleased
from relayer.settlement.placement import Placement, place
from relayer.settlement.policy import (
    PAIR_RULES,
    FillFacts,
    Parties,
    PolicySettings,
    Sighting,
    Verdict,
    evaluate,
)

_GAS_WORST_CASE = 1 << 128
"""A base fee so high that the gas adjustment takes the whole rate bump: the lowest
price the curve can ask, used as the relayer's own floor when an order has gas terms."""


class Pairing:
    def __init__(self, *, book: OrderBook, escrows: EscrowBook, parties: Parties,
                 policy: PolicySettings, tip_height: Callable[[str], int | None],
                 released: Callable[[str, int], SecretReleased | None]) -> None:
        """``released``: the release of an order's secret index, if it went out."""
        self._book = book
        self._escrows = escrows
        self._parties = parties
        self._policy = policy
        self._tip_height = tip_height
        self._released = released

    def placements(self, entry: OrderEntry) -> list[Placement]:
        return place(entry.signed, [s for s in self._escrows.by_order(entry.order_hash)
                                    if s.role is EscrowRole.SRC])

    def targets(self, entry: OrderEntry) -> list[EscrowState]:
        """The order's destination escrows that can still pay the maker: not cancelled,
        and nothing rescued from them (a rescue means the taker can take the payment)."""
        dst_chain = entry.signed.order.dst_chain
        return [s for s in self._escrows.by_order(entry.order_hash)
                if s.role is EscrowRole.DST and s.chain == dst_chain
                and s.phase is not EscrowPhase.CANCELLED and not s.rescues]

    def destination(self, entry: OrderEntry, placed: Placement,
                     targets: list[EscrowState], known: dict[str, list[Placement]],
                     now: int) -> tuple[EscrowState | None, Verdict]:
        """The fill's destination escrow and the verdict of every rule on the pair.

        Rule 6 first: the open authentic source escrows of this maker locked with this
        fill's hash get distinct destinations that pass rules 1 to 4 where possible; a
        fill that got one is judged with it. Otherwise (it is not open any more, or
        nothing fits it) the destination that comes closest to passing is shown: a
        wrong one claiming the same hashlock must not hide a right one."""
        members, matched = self._coverage(entry, placed, known, now)
        key = (placed.state.chain, placed.state.escrow)
        unmatched = [k for k, (_, candidates) in members.items() if matched.get(k) is None]
        own_candidates = members[key][1] if key in members else []
        uncovered = any(k != key for k in unmatched) or (key in unmatched
                                                         and bool(own_candidates))
        mine = matched.get(key)
        if mine is not None:
            return mine, evaluate(self._facts(entry, placed, mine, now, uncovered),
                                  self._policy, self._parties)
        hashlock = placed.state.immutables.hashlock.lower()
        options: list[EscrowState | None] = [
            t for t in targets if t.immutables.hashlock.lower() == hashlock] or [None]
        best: tuple[EscrowState | None, Verdict] | None = None
        for dst in options:
            verdict = evaluate(self._facts(entry, placed, dst, now, uncovered),
                               self._policy, self._parties)
            if best is None or len(verdict.reasons) < len(best[1].reasons):
                best = (dst, verdict)
        assert best is not None
        return best

    def _coverage(self, entry: OrderEntry, placed: Placement,
                  known: dict[str, list[Placement]], now: int
                  ) -> tuple[dict[EscrowKey, tuple[EscrowState, list[EscrowState]]],
                             dict[EscrowKey, EscrowState | None]]:
        """Every open authentic source escrow of this order's maker locked with the
        fill's hash (on any order the relayer knows; on Ethereum also the factory's
        escrows of orders it does not know, which nothing here can cover), each with the
        destinations that satisfy rules 1 to 4 for it, and a matching of them."""
        order = entry.signed.order
        hashlock = placed.state.immutables.hashlock.lower()
        members: dict[EscrowKey, tuple[EscrowState, list[EscrowState]]] = {}
        for state in self._escrows.by_hashlock(hashlock):
            if state.role is not EscrowRole.SRC or state.phase is not EscrowPhase.OPEN:
                continue
            key = (state.chain, state.escrow)
            owner = self._book.get(state.order_hash)
            if owner is None:
                if (state.origin is None and state.chain == order.src_chain
                        and self._parties.same(order.src_chain, state.immutables.maker,
                                               order.maker)):
                    members[key] = (state, [])
                continue
            other = owner.signed.order
            if other.src_chain != order.src_chain or not self._parties.same(
                    order.src_chain, other.maker, order.maker):
                continue
            placements = known.get(owner.order_hash)
            if placements is None:
                placements = known[owner.order_hash] = self.placements(owner)
            found = next((p for p in placements if p.state.escrow == state.escrow
                          and p.state.chain == state.chain), None)
            if found is None or not found.authentic:
                continue
            candidates = [
                dst for dst in self.targets(owner)
                if dst.immutables.hashlock.lower() == hashlock
                and evaluate(self._facts(owner, found, dst, now, False), self._policy,
                             self._parties, PAIR_RULES).release]
            members[key] = (state, candidates)
        keys = list(members)
        chosen = match([members[k][1] for k in keys])
        return members, {k: chosen[i] for i, k in enumerate(keys)}

    def _facts(self, entry: OrderEntry, placed: Placement, dst: EscrowState | None,
               now: int, uncovered: bool) -> FillFacts:
        signed, src = entry.signed, placed.state
        return FillFacts(
            signed=signed, secret_index=placed.index, fill_amount=src.immutables.amount,
            required_dst_amount=self.required_amount(signed, src),
            src=Sighting(_as_created(src), src.confirmations(self.height(src.chain))),
            dst=None if dst is None else Sighting(_as_created(dst),
                                                  dst.confirmations(self.height(dst.chain))),
            now=now,
            order_cancelled=entry.status is OrderStatus.CANCELLED,
            secret_released=_released_elsewhere(
                self._released(entry.order_hash, placed.index), placed.fill_id),
            placement=placed.reasons,
            uncovered=uncovered,
        )

    @staticmethod
    def required_amount(signed: SignedOrder, src: EscrowState) -> int:
        """What the destination must pay for this fill: the amount the resolver committed
        to in the source escrow (checked against the curve on chain), and never less than
        the curve at the source escrow's creation (the whole gas adjustment taken off
        when the order has gas terms, since the block's base fee is not indexed)."""
        order = signed.order
        amount = src.immutables.amount
        if not 0 < amount <= order.making_amount:
            return 0
        gas = order.auction.gas_bump_estimate and order.auction.gas_price_estimate
        floor = fill_taking_amount(order.taking_amount, order.making_amount, amount,
                                   order.auction, src.created.timestamp,
                                   _GAS_WORST_CASE if gas else 0)
        promised = src.complement.amount if src.complement is not None else 0
        return max(floor, promised)

    def height(self, chain: str) -> int:
        return self._tip_height(chain) or 0

    def last_action_depth(self, state: EscrowState) -> int:
        point = (state.withdrawal.point if state.withdrawal is not None
                 else state.cancellation.point if state.cancellation is not None else None)
        if point is None:
            return 0
        return max(self.height(state.chain) - point.height + 1, 0)


def _released_elsewhere(event: SecretReleased | None, fill_id: str) -> bool:
    """The secret went out for another fill (rule 5): this fill may not have it again."""
    return event is not None and event.fill_id != fill_id


def _as_created(state: EscrowState) -> EscrowCreated:
    return EscrowCreated(role=state.role, escrow=state.escrow, immutables=state.immutables,
                         complement=state.complement, point=state.created,
                         origin=state.origin)

