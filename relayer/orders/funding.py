"""Checks that a maker's funds can back an order, one per source chain.

The order desk asks the source chain's check at intake, before anything is
written; the chain side re-checks open orders in the background and moves
them to and from ``invalid``.
"""

from __future__ import annotations

from typing import Protocol

from relayer.orders.model import SignedOrder


class FundsCheck(Protocol):
    async def check(self, signed: SignedOrder) -> None:
        """Return if the maker's funds back ``signed``; otherwise raise a
        ``ValidationError`` with a stable code (``INSUFFICIENT_BALANCE``,
        ``INSUFFICIENT_ALLOWANCE``, ``ORDER_LOCK_MISSING``, ...). A chain that
        cannot be reached raises ``ChainError``."""
