"""Price events: derived from the auction curve on every tick, never stored."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PriceUpdated:
    """The taking amount of an order changed (derived, not stored)."""

    order_hash: str
    at: int
    rate_bump: int
    taking_amount: int
    base_fee: int


@dataclass(frozen=True, slots=True)
class PricesUpdated:
    """The taking amounts of several orders changed at unix second ``at``: one
    ``PriceUpdated`` per order, in bulk (derived, never stored).

    The i-th order hash goes with the i-th rate bump and taking amount. A tick
    publishes its changes in slices; ``last`` marks the final one of a tick.
    """

    at: int
    base_fee: int
    order_hashes: tuple[str, ...]
    rate_bumps: tuple[int, ...]
    taking_amounts: tuple[int, ...]
    last: bool = True

    @property
    def count(self) -> int:
        return len(self.order_hashes)

    def updates(self) -> Iterator[PriceUpdated]:
        """The same changes as one ``PriceUpdated`` each."""
        at, base_fee = self.at, self.base_fee
        for order_hash, bump, taking in zip(self.order_hashes, self.rate_bumps,
                                            self.taking_amounts, strict=True):
            yield PriceUpdated(order_hash, at, bump, taking, base_fee)
