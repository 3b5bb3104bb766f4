"""The Dutch-auction price curve (the same integer math as 1inch Fusion+).

A rate bump of 10,000,000 is 100 %. ``taking_amount`` is what a resolver must
deliver at time ``t`` for the whole order; it never falls below the order's
minimum taking amount.
"""

from __future__ import annotations

from relayer.auction.details import AuctionDetails

RATE_BUMP_DENOMINATOR = 10_000_000
_GAS_PRICE_UNIT = 1_000_000


def auction_rate_bump(details: AuctionDetails, t: int) -> int:
    """The curve's rate bump at unix time ``t``, before the gas adjustment."""
    start = details.start_time
    end = details.end_time
    if t <= start:
        return details.initial_rate_bump
    if t >= end:
        return 0
    point_time, point_bump = start, details.initial_rate_bump
    for point in details.points:
        next_time = point_time + point.delay
        if t <= next_time:
            return ((t - point_time) * point.rate_bump + (next_time - t) * point_bump) // (
                next_time - point_time
            )
        point_time, point_bump = next_time, point.rate_bump
    return ((end - t) * point_bump) // (end - point_time)


def gas_bump(details: AuctionDetails, base_fee: int) -> int:
    """The part of the rate bump the resolver gets back for gas above the estimate."""
    if details.gas_bump_estimate == 0 or details.gas_price_estimate == 0 or base_fee == 0:
        return 0
    return details.gas_bump_estimate * base_fee // details.gas_price_estimate // _GAS_PRICE_UNIT


def rate_bump(details: AuctionDetails, t: int, base_fee: int = 0) -> int:
    """The effective rate bump at ``t`` with the gas adjustment for ``base_fee`` (wei)."""
    return max(auction_rate_bump(details, t) - gas_bump(details, base_fee), 0)


def taking_amount(
    min_taking_amount: int, details: AuctionDetails, t: int, base_fee: int = 0
) -> int:
    """Taking amount for the whole order at ``t``, rounded up."""
    bump = rate_bump(details, t, base_fee)
    return _ceil_div(min_taking_amount * (RATE_BUMP_DENOMINATOR + bump), RATE_BUMP_DENOMINATOR)


def fill_taking_amount(
    min_taking_amount: int,
    making_amount: int,
    fill_making_amount: int,
    details: AuctionDetails,
    t: int,
    base_fee: int = 0,
) -> int:
    """Taking amount for a fill of ``fill_making_amount`` out of ``making_amount``.

    Taking rounds up, so a resolver can never pay less by splitting a fill.
    """
    if making_amount <= 0:
        raise ValueError("making_amount must be positive")
    if not 0 <= fill_making_amount <= making_amount:
        raise ValueError("fill_making_amount must lie in [0, making_amount]")
    whole = taking_amount(min_taking_amount, details, t, base_fee)
    return _ceil_div(whole * fill_making_amount, making_amount)


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)
