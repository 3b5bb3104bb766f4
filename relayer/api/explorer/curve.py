"""``GET /api/orders/{hash}/curve``: an order's auction curve, sampled by the server.

Every point comes from ``relayer.auction.curve``, the same functions that price
the order everywhere else, so a client that draws the curve never re-implements
the math: it only plots what it is given and shows the amounts as text.
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from relayer.api.requests import int_param
from relayer.auction.curve import auction_rate_bump, gas_bump, rate_bump, taking_amount
from relayer.auction.details import AuctionDetails
from relayer.auction.gas import BaseFeeSource
from relayer.clock import Clock
from relayer.orders.book import OrderEntry
from relayer.orders.desk import OrderDesk
from relayer.orders.wire import Amount

DEFAULT_SAMPLES = 120
MAX_SAMPLES = 600
_encoder = msgspec.json.Encoder()


class CurvePoint(msgspec.Struct):
    at: int
    """Unix seconds."""
    rate_bump: int
    """The effective rate bump at ``at``: the curve's less the gas adjustment."""
    taking_amount: Amount
    """What a resolver must deliver for the whole order at ``at``."""
    auction_rate_bump: int
    """The curve's rate bump before the gas adjustment."""
    auction_taking_amount: Amount
    """The taking amount before the gas adjustment (base fee 0)."""


class GasAdjustment(msgspec.Struct):
    gas_bump_estimate: int
    gas_price_estimate: int
    """The order's estimate; 1000 is 1 gwei."""
    base_fee: Amount
    """The Ethereum base fee (wei) the points use: the relayer's current one."""
    gas_bump: int
    """The rate bump taken off the curve for that base fee."""


class CurveView(msgspec.Struct):
    order_hash: str
    taker_asset: str
    dst_chain: str
    start_time: int
    end_time: int
    initial_rate_bump: int
    gas: GasAdjustment
    start: CurvePoint
    """The price when the auction starts."""
    points: list[CurvePoint]
    """The order's own points, at their absolute times."""
    floor: CurvePoint
    """The price from the end on: the order's minimum taking amount."""
    now: CurvePoint
    """The price at the relayer's current second."""
    samples: list[CurvePoint]
    """The curve from start to end: every point of the order plus evenly spaced times,
    in time order."""


def curve_point(min_taking: int, details: AuctionDetails, at: int, base_fee: int
                ) -> CurvePoint:
    return CurvePoint(
        at=at, rate_bump=rate_bump(details, at, base_fee),
        taking_amount=str(taking_amount(min_taking, details, at, base_fee)),
        auction_rate_bump=auction_rate_bump(details, at),
        auction_taking_amount=str(taking_amount(min_taking, details, at, 0)))


def sample_times(details: AuctionDetails, samples: int) -> list[int]:
    """Start, end, every point's time and ``samples`` evenly spaced steps between."""
    start, end = details.start_time, details.end_time
    times = {start, end, *details.point_times()}
    times.update(start + (end - start) * i // samples for i in range(samples + 1))
    return sorted(t for t in times if start <= t <= end)


def curve_view(entry: OrderEntry, *, now: int, base_fee: int,
               samples: int = DEFAULT_SAMPLES) -> CurveView:
    order = entry.signed.order
    details, floor = order.auction, order.taking_amount

    def point(at: int) -> CurvePoint:
        return curve_point(floor, details, at, base_fee)

    return CurveView(
        order_hash=entry.order_hash, taker_asset=order.taker_asset,
        dst_chain=order.dst_chain, start_time=details.start_time,
        end_time=details.end_time, initial_rate_bump=details.initial_rate_bump,
        gas=GasAdjustment(gas_bump_estimate=details.gas_bump_estimate,
                          gas_price_estimate=details.gas_price_estimate,
                          base_fee=str(base_fee), gas_bump=gas_bump(details, base_fee)),
        start=point(details.start_time),
        points=[point(at) for at in details.point_times()],
        floor=point(details.end_time), now=point(now),
        samples=[point(at) for at in sample_times(details, samples)])


class CurveRoutes:
    def __init__(self, *, desk: OrderDesk, clock: Clock, base_fee: BaseFeeSource) -> None:
        self._desk = desk
        self._clock = clock
        self._base_fee = base_fee

    async def curve(self, request: Request) -> Response:
        entry = self._desk.get(request.path_params["order_hash"])
        samples = int_param(request, "samples", default=DEFAULT_SAMPLES, minimum=1,
                            maximum=MAX_SAMPLES)
        view = curve_view(entry, now=int(self._clock.now()),
                          base_fee=self._base_fee.base_fee(), samples=samples)
        return Response(_encoder.encode(view), media_type="application/json")
