"""Dutch-auction math, importable on its own by resolvers and wallets.

Everything here is pure integer arithmetic, exactly ARCHITECTURE section 3.
"""

from __future__ import annotations

from relayer.auction.curve import (
    RATE_BUMP_DENOMINATOR,
    auction_rate_bump,
    fill_taking_amount,
    gas_bump,
    rate_bump,
    taking_amount,
)
from relayer.auction.details import AuctionDetails, AuctionPoint

__all__ = [
    "RATE_BUMP_DENOMINATOR",
    "AuctionDetails",
    "AuctionPoint",
    "auction_rate_bump",
    "fill_taking_amount",
    "gas_bump",
    "rate_bump",
    "taking_amount",
]
