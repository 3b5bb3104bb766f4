"""Order status: an explicit enum, a transition table and a terminal set."""

from __future__ import annotations

from enum import StrEnum

from relayer.errors import TransitionError


class OrderStatus(StrEnum):
    PENDING = "pending"
    """Accepted; the auction has not started yet."""
    ACTIVE = "active"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    INVALID = "invalid"
    """Temporarily unfillable (for example the maker's funds dropped)."""
    EXECUTED = "executed"
    """Every fill settled (``status_reason`` says whether in part) and no more can come."""
    REFUNDED = "refunded"
    """Every fill was cancelled and the maker refunded, and no more can come."""


S = OrderStatus

INITIAL: frozenset[OrderStatus] = frozenset({S.PENDING, S.ACTIVE})
AUCTION_OVER: frozenset[OrderStatus] = frozenset(
    {S.FILLED, S.CANCELLED, S.EXPIRED, S.EXECUTED, S.REFUNDED})
"""No price falls and no deadline waits any more. Fills still move such an order (a
reorg can even reopen a filled one), through the table below."""
OPEN: frozenset[OrderStatus] = frozenset(set(S) - AUCTION_OVER)
TERMINAL: frozenset[OrderStatus] = frozenset({S.EXECUTED, S.REFUNDED})
"""Nothing moves the order any more."""

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING: frozenset({S.ACTIVE, S.CANCELLED, S.EXPIRED, S.INVALID, S.PARTIALLY_FILLED,
                          S.FILLED}),
    S.ACTIVE: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED, S.INVALID}),
    S.PARTIALLY_FILLED: frozenset({S.ACTIVE, S.FILLED, S.CANCELLED, S.EXPIRED, S.INVALID,
                                   S.EXECUTED, S.REFUNDED}),
    S.INVALID: frozenset({S.PENDING, S.ACTIVE, S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED,
                          S.EXPIRED}),
    # Fills decide from here on: a reorg can take a fill back; outcomes end it.
    S.FILLED: frozenset({S.ACTIVE, S.PARTIALLY_FILLED, S.EXPIRED, S.EXECUTED, S.REFUNDED}),
    S.CANCELLED: frozenset({S.EXECUTED, S.REFUNDED}),
    S.EXPIRED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.EXECUTED, S.REFUNDED}),
    S.EXECUTED: frozenset(),
    S.REFUNDED: frozenset(),
}

CANCELLABLE: frozenset[OrderStatus] = frozenset(
    status for status, targets in TRANSITIONS.items() if S.CANCELLED in targets
)


def check_transition(current: OrderStatus, target: OrderStatus) -> None:
    """Raise ``TransitionError`` unless ``current -> target`` is in the table."""
    if target not in TRANSITIONS[current]:
        raise TransitionError(
            f"order cannot move from {current} to {target}",
            details={"from": str(current), "to": str(target)},
        )
