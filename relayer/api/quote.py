"""``GET /api/quote``: auction presets for a swap, ready to sign."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from relayer.api.requests import int_param, str_param
from relayer.clock import Clock
from relayer.config import QuoteSettings
from relayer.errors import ValidationError
from relayer.integers import parse_int
from relayer.networks.registry import ChainRegistry
from relayer.orders.validation import amount_limit
from relayer.orders.wire import Amount, AuctionPointWire, AuctionWire, TimelocksWire
from relayer.pricing.quote import PresetQuote, PriceSource, build_quote

_encoder = msgspec.json.Encoder()


class PresetView(msgspec.Struct):
    auction: AuctionWire
    start_taking_amount: Amount
    taking_amount: Amount
    """The minimum taking amount to sign: the auction's end price."""
    timelocks: TimelocksWire
    src_safety_deposit: Amount
    dst_safety_deposit: Amount
    parts: int
    secrets_count: int
    deadline: int


class QuoteView(msgspec.Struct):
    src_chain: str
    dst_chain: str
    src_token: str
    dst_token: str
    making_amount: Amount
    market_taking_amount: Amount
    recommended_preset: str
    presets: dict[str, PresetView]
    quoted_at: int


class QuoteRoutes:
    def __init__(self, *, chains: ChainRegistry, settings: QuoteSettings,
                 prices: PriceSource, clock: Clock) -> None:
        self._chains = chains
        self._settings = settings
        self._prices = prices
        self._clock = clock

    async def quote(self, request: Request) -> Response:
        chains = self._chains
        src = chains.get(str_param(request, "src_chain", required=True) or "", field="src_chain")
        dst = chains.get(str_param(request, "dst_chain", required=True) or "", field="dst_chain")
        if src.name == dst.name:
            raise ValidationError("source and destination chains must differ",
                                  code="INVALID_CHAINS")
        src_asset = src.asset(str_param(request, "src_token", required=True) or "",
                              field="src_token")
        dst_asset = dst.asset(str_param(request, "dst_token", required=True) or "",
                              field="dst_token")
        making_amount = parse_int(str_param(request, "amount", required=True) or "",
                                  field="amount", minimum=1, maximum=amount_limit(src) - 1)
        settings = self._settings
        parts = int_param(request, "parts", default=1, minimum=1, maximum=settings.max_parts)
        quote = build_quote(
            src=src, dst=dst, src_asset=src_asset, dst_asset=dst_asset,
            making_amount=making_amount, parts=parts, presets=settings.presets,
            recommended=settings.recommended_preset, prices=self._prices,
            now=int(self._clock.now()),
        )
        largest = max([quote.market_taking_amount,
                       *(p.start_taking_amount for p in quote.presets.values())])
        if largest >= amount_limit(dst):
            raise ValidationError(f"amount too large: its price does not fit {dst.name}",
                                  code="INVALID_AMOUNT", details={"field": "amount"})
        view = QuoteView(
            src_chain=src.name, dst_chain=dst.name, src_token=src_asset.id,
            dst_token=dst_asset.id, making_amount=str(quote.making_amount),
            market_taking_amount=str(quote.market_taking_amount),
            recommended_preset=quote.recommended_preset,
            presets={name: _preset_view(p) for name, p in quote.presets.items()},
            quoted_at=quote.quoted_at,
        )
        return Response(_encoder.encode(view), media_type="application/json")


def _preset_view(p: PresetQuote) -> PresetView:
    a = p.auction
    return PresetView(
        auction=AuctionWire(
            start_time=a.start_time, duration=a.duration, initial_rate_bump=a.initial_rate_bump,
            points=[AuctionPointWire(rate_bump=x.rate_bump, delay=x.delay) for x in a.points],
            gas_bump_estimate=a.gas_bump_estimate, gas_price_estimate=a.gas_price_estimate,
        ),
        start_taking_amount=str(p.start_taking_amount), taking_amount=str(p.taking_amount),
        timelocks=TimelocksWire(*p.timelocks.offsets()),
        src_safety_deposit=str(p.src_safety_deposit),
        dst_safety_deposit=str(p.dst_safety_deposit),
        parts=p.parts, secrets_count=p.secrets_count, deadline=p.deadline,
    )
