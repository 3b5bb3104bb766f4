"""An order's status from its fills: what the settlement coordinator reports.

ARCHITECTURE section 5: an order is ``filled`` only while its authentic fills
cover it, ``executed`` once every fill settled, ``refunded`` once every fill was
cancelled and the maker refunded. The coordinator hands over only authentic
fills that match the order and whose source escrows are final; this module
decides the status in one place. A fill's outcome is as final as its own
status: settled and refunded fills never change again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from relayer.orders.status import OrderStatus


class FillOutcome(StrEnum):
    OPEN = "open"
    """In flight: escrows on chain, the swap not yet settled or refunded."""
    SETTLED = "settled"
    """The maker was paid and the resolver took the maker's funds."""
    REFUNDED = "refunded"
    """The source escrow was cancelled: the maker has these funds back."""


@dataclass(frozen=True, slots=True)
class FillProgress:
    amount: int
    """The making amount the fill took from the order."""
    outcome: FillOutcome


def next_status(current: OrderStatus, making_amount: int, fills: Sequence[FillProgress],
                *, closed: bool) -> tuple[OrderStatus, str] | None:
    """The status ``fills`` give the order, with its reason, or None to leave it.

    ``closed``: the order takes no more fills (cancelled, expired, past its deadline).
    Fills taken together are ``used``: a refunded part is not filled again (the chain
    recorded the fill), so it still counts against what remains.
    """
    used = sum(f.amount for f in fills)
    if not fills:
        if current in (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED):
            return (OrderStatus.EXPIRED if closed else OrderStatus.ACTIVE), "fills_reverted"
        return None
    done = all(f.outcome is not FillOutcome.OPEN for f in fills)
    if done and (closed or used >= making_amount):
        if all(f.outcome is FillOutcome.REFUNDED for f in fills):
            return OrderStatus.REFUNDED, "fills_refunded"
        whole = used >= making_amount and all(f.outcome is FillOutcome.SETTLED for f in fills)
        return OrderStatus.EXECUTED, "fills_settled" if whole else "fills_settled_in_part"
    if used >= making_amount:
        return OrderStatus.FILLED, "fills_cover_order"
    if current in (OrderStatus.CANCELLED, OrderStatus.EXPIRED):
        return None
    return OrderStatus.PARTIALLY_FILLED, "fills_cover_part"
