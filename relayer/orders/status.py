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


S = OrderStatus

INITIAL: frozenset[OrderStatus] = frozenset({S.PENDING, S.ACTIVE})
TERMINAL: frozenset[OrderStatus] = frozenset({S.FILLED, S.CANCELLED, S.EXPIRED})
OPEN: frozenset[OrderStatus] = frozenset(set(S) - TERMINAL)

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING: frozenset({S.ACTIVE, S.CANCELLED, S.EXPIRED, S.INVALID}),
    S.ACTIVE: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED, S.INVALID}),
    S.PARTIALLY_FILLED: frozenset({S.FILLED, S.CANCELLED, S.EXPIRED, S.INVALID}),
    S.INVALID: frozenset({S.PENDING, S.ACTIVE, S.PARTIALLY_FILLED, S.CANCELLED, S.EXPIRED}),
    S.FILLED: frozenset(),
    S.CANCELLED: frozenset(),
    S.EXPIRED: frozenset(),
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
