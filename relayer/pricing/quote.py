"""Quotes: auction presets priced from a price source.

A preset turns a market price into an order's terms: the minimum taking
amount (the auction's end), where the auction starts above it, its timing,
timelock offsets and safety deposits. Exact rational arithmetic, rounded
down for what the maker receives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

from relayer.auction.curve import taking_amount
from relayer.auction.details import AuctionDetails
from relayer.config import PresetSettings
from relayer.errors import ValidationError
from relayer.networks.registry import Asset, Chain
from relayer.orders.timelocks import Timelocks

_PUBLIC_WITHDRAWAL_AFTER = 120
_SRC_CANCELLATION_AFTER = 600
_DST_CANCELLATION_AFTER = 300
_PUBLIC_CANCELLATION_AFTER = 120

class PriceSource(Protocol):
    def usd_price(self, asset: Asset) -> Fraction | None:
        """USD per whole unit of ``asset``, or ``None`` when unknown."""

class StaticPriceSource:
    """Prices from the configured asset table (the local chains' default)."""

    def usd_price(self, asset: Asset) -> Fraction | None:
        return asset.usd_price if asset.usd_price > 0 else None

@dataclass(frozen=True, slots=True)
class PresetQuote:
    auction: AuctionDetails
    start_taking_amount: int
    taking_amount: int
    timelocks: Timelocks
    src_safety_deposit: int
    dst_safety_deposit: int
    parts: int
    secrets_count: int
    deadline: int

@dataclass(frozen=True, slots=True)
class Quote:
    src: Asset
    dst: Asset
    making_amount: int
    market_taking_amount: int
    presets: Mapping[str, PresetQuote]
    recommended_preset: str
    quoted_at: int

def default_timelocks(src: Chain, dst: Chain) -> Timelocks:
    """Offsets that give each chain its finality time and the destination an earlier end.

    The destination escrow is created after the source one, so its cancellation
    offset is shorter by a wide margin: it always cancels before the source.
    """
    src_w = src.finality_seconds
    src_pw = src_w + _PUBLIC_WITHDRAWAL_AFTER
    src_c = src_pw + _SRC_CANCELLATION_AFTER
    dst_w = dst.finality_seconds
    dst_pw = dst_w + _PUBLIC_WITHDRAWAL_AFTER
    dst_c = min(dst_pw + _DST_CANCELLATION_AFTER, src_c - 1)
    return Timelocks(
        src_withdrawal=src_w, src_public_withdrawal=src_pw, src_cancellation=src_c,
        src_public_cancellation=src_c + _PUBLIC_CANCELLATION_AFTER,
        dst_withdrawal=dst_w, dst_public_withdrawal=dst_pw, dst_cancellation=dst_c,
    )

def build_quote(
    *,
    src: Chain,
    dst: Chain,
    src_asset: Asset,
    dst_asset: Asset,
    making_amount: int,
    parts: int,
    presets: Mapping[str, PresetSettings],
    recommended: str,
    prices: PriceSource,
    now: int,
) -> Quote:
    if making_amount <= 0:
        raise ValidationError("amount must be positive", code="INVALID_AMOUNT",
                              details={"field": "amount"})
    src_price, dst_price = prices.usd_price(src_asset), prices.usd_price(dst_asset)
    if src_price is None or dst_price is None:
        raise ValidationError("no price for this pair", code="NO_PRICE",
                              details={"src_token": src_asset.id, "dst_token": dst_asset.id})
    market = (Fraction(making_amount) * src_price * 10**dst_asset.decimals
              / (dst_price * 10**src_asset.decimals))
    market_amount = market.numerator // market.denominator
    timelocks = default_timelocks(src, dst)
    quoted = {}
    for name, preset in presets.items():
        minimum = market_amount * preset.min_return_bps // 10_000
        if minimum <= 0:
            raise ValidationError("amount too small to quote", code="INVALID_AMOUNT",
                                  details={"field": "amount"})
        start = now + preset.start_delay
        auction = AuctionDetails(start_time=start, duration=preset.auction_duration,
                                 initial_rate_bump=preset.initial_rate_bump)
        quoted[name] = PresetQuote(
            auction=auction,
            start_taking_amount=taking_amount(minimum, auction, start),
            taking_amount=minimum,
            timelocks=timelocks,
            src_safety_deposit=src.safety_deposit,
            dst_safety_deposit=dst.safety_deposit,
            parts=parts,
            secrets_count=1 if parts == 1 else parts + 1,
            deadline=now + preset.order_lifetime,
        )
    return Quote(src=src_asset, dst=dst_asset, making_amount=making_amount,
                 market_taking_amount=market_amount, presets=quoted,
                 recommended_preset=recommended, quoted_at=now)
