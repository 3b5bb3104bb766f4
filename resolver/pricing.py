"""When a resolver fills, and how much: its own valuation against the auction curve.

A resolver knows what the maker's asset is worth to it in the taker asset
(``Rate``: an exact fraction of base units) and what a swap costs it on top
(``Costs``). It fills when what the auction asks, plus its costs and margin, is
no more than that value. Everything is integer arithmetic on base units.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from relayer.auction.curve import fill_taking_amount
from relayer.orders.merkle import merkle_proof, secret_index
from relayer.orders.model import SignedOrder
from resolver.chains import FillPlan

BPS = 10_000


@dataclass(frozen=True, slots=True)
class Rate:
    """Taker-asset base units the resolver gives for one maker-asset base unit."""

    src_chain: str
    maker_asset: str
    dst_chain: str
    taker_asset: str
    value: Fraction

    def covers(self, order: SignedOrder) -> bool:
        o = order.order
        return (o.src_chain, o.maker_asset.lower(), o.dst_chain, o.taker_asset.lower()) == (
            self.src_chain, self.maker_asset.lower(), self.dst_chain, self.taker_asset.lower())


@dataclass(frozen=True, slots=True)
class Costs:
    fixed: int = 0
    """Per fill, in taker-asset base units (gas and fees on both chains)."""
    min_profit_bps: int = 0
    """Margin kept on the value of what the resolver receives."""


@dataclass(frozen=True, slots=True)
class Quote:
    amount: int
    """Making amount this fill takes."""
    required: int
    """Taking amount the curve asks for it now (the worst base fee assumed)."""
    worth: int
    """What the resolver values ``amount`` at, after costs and margin."""

    @property
    def profitable(self) -> bool:
        return self.required <= self.worth


class Pricer:
    def __init__(self, rates: list[Rate], costs: Costs, *, parts_per_fill: int = 0) -> None:
        """``parts_per_fill``: fill an order of several parts that many parts at a time
        (0: all that remains)."""
        self._rates = rates
        self._costs = costs
        self._parts_per_fill = parts_per_fill

    def rate_for(self, order: SignedOrder) -> Rate | None:
        return next((r for r in self._rates if r.covers(order)), None)

    def next_amount(self, order: SignedOrder, filled: int) -> int:
        o = order.order
        remaining = o.making_amount - filled
        if not o.allows_partial_fills or self._parts_per_fill <= 0:
            return remaining
        part = -(-o.making_amount // o.parts)
        return min(remaining, part * self._parts_per_fill)

    def quote(self, order: SignedOrder, filled: int, now: int) -> Quote | None:
        """The fill this resolver would make at ``now``, or None if the pair is unknown
        or nothing remains."""
        rate = self.rate_for(order)
        amount = self.next_amount(order, filled)
        if rate is None or amount <= 0:
            return None
        o = order.order
        # Base fee 0 is the highest price the curve can ask at ``now``: the gas
        # adjustment only lowers it, so the contract never asks more at a later block.
        required = fill_taking_amount(o.taking_amount, o.making_amount, amount, o.auction, now)
        gross = amount * rate.value
        worth = int(gross * (BPS - self._costs.min_profit_bps) / BPS) - self._costs.fixed
        return Quote(amount=amount, required=required, worth=worth)


def fill_plan(order: SignedOrder, filled: int, quote: Quote) -> FillPlan:
    """The source-chain fill for ``quote``: which secret it uses, with its proof."""
    o = order.order
    if not o.allows_partial_fills:
        return FillPlan(order=order, amount=quote.amount, dst_amount=quote.required,
                        secret_index=0, secret_hash=o.hashlock, proof=())
    index = secret_index(filled, quote.amount, o.making_amount, o.parts)
    hashes = list(order.secret_hashes)
    return FillPlan(order=order, amount=quote.amount, dst_amount=quote.required,
                    secret_index=index, secret_hash=hashes[index],
                    proof=tuple(merkle_proof(hashes, index)))
