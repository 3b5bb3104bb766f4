from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from relayer.auction import (
    RATE_BUMP_DENOMINATOR,
    AuctionDetails,
    AuctionPoint,
    fill_taking_amount,
    rate_bump,
    taking_amount,
)

START = 1_700_000_000


def test_reference_linear_auction() -> None:
    details = AuctionDetails(start_time=START, duration=120, initial_rate_bump=50_000)
    assert rate_bump(details, START + 60) == 25_000
    assert taking_amount(1_420_000_000, details, START + 60) == 1_423_550_000


def test_reference_points_and_gas() -> None:
    details = AuctionDetails(
        start_time=START, duration=1800, initial_rate_bump=1_000_000,
        points=(AuctionPoint(rate_bump=500_000, delay=60),),
        gas_bump_estimate=10_000, gas_price_estimate=1000,
    )
    t = START + 60
    expected = [
        (0, 500_000, 1_050_000_000_000_000_000),
        (100_000_000, 499_000, 1_049_900_000_000_000_000),
        (15_000_000_000, 350_000, 1_035_000_000_000_000_000),
        (100_000_000_000, 0, 1_000_000_000_000_000_000),
    ]
    for base_fee, bump, amount in expected:
        assert rate_bump(details, t, base_fee) == bump
        assert taking_amount(10**18, details, t, base_fee) == amount


def test_before_start_and_after_end() -> None:
    details = AuctionDetails(start_time=START, duration=100, initial_rate_bump=7_000)
    assert rate_bump(details, START - 1000) == 7_000
    assert rate_bump(details, START) == 7_000
    assert rate_bump(details, START + 100) == 0
    assert rate_bump(details, START + 10_000) == 0


def test_segment_between_points() -> None:
    details = AuctionDetails(start_time=START, duration=300, initial_rate_bump=900_000,
                             points=(AuctionPoint(600_000, 100), AuctionPoint(300_000, 100)))
    assert rate_bump(details, START + 100) == 600_000
    assert rate_bump(details, START + 150) == 450_000
    assert rate_bump(details, START + 200) == 300_000
    # last point at +200, end at +300: linear to zero
    assert rate_bump(details, START + 250) == 150_000
    assert rate_bump(details, START + 299) == 3_000


@st.composite
def auctions(draw: st.DrawFn) -> AuctionDetails:
    duration = draw(st.integers(1, 10_000))
    n = draw(st.integers(0, 5))
    points = []
    remaining = duration
    for _ in range(n):
        delay = draw(st.integers(0, min(remaining, 0xFFFF)))
        remaining -= delay
        points.append(AuctionPoint(draw(st.integers(0, (1 << 24) - 1)), delay))
    initial = draw(st.integers(0, (1 << 24) - 1))
    # Fusion presets are non-increasing curves: sort the bumps downwards from the initial.
    bumps = sorted((min(p.rate_bump, initial) for p in points), reverse=True)
    points = [AuctionPoint(b, p.delay) for b, p in zip(bumps, points, strict=True)]
    return AuctionDetails(
        start_time=draw(st.integers(0, (1 << 32) - 1 - duration)), duration=duration,
        initial_rate_bump=initial, points=tuple(points),
        gas_bump_estimate=draw(st.integers(0, (1 << 24) - 1)),
        gas_price_estimate=draw(st.integers(0, (1 << 32) - 1)),
    )


@given(auctions(), st.integers(-100, 20_000), st.integers(1, 5_000))
def test_non_increasing_without_gas(details: AuctionDetails, offset: int, step: int) -> None:
    t = details.start_time + offset
    assert rate_bump(details, t + step) <= rate_bump(details, t)


@given(auctions(), st.integers(-100, 20_000), st.integers(0, 10**12))
def test_never_above_initial(details: AuctionDetails, offset: int, base_fee: int) -> None:
    bump = rate_bump(details, details.start_time + offset, base_fee)
    assert 0 <= bump <= details.initial_rate_bump


@given(auctions(), st.integers(-100, 20_000), st.integers(1, 10**30))
def test_taking_rounds_up(details: AuctionDetails, offset: int, minimum: int) -> None:
    t = details.start_time + offset
    bump = rate_bump(details, t)
    amount = taking_amount(minimum, details, t)
    exact = minimum * (RATE_BUMP_DENOMINATOR + bump)
    assert amount * RATE_BUMP_DENOMINATOR >= exact
    assert (amount - 1) * RATE_BUMP_DENOMINATOR < exact
    assert amount >= minimum


@given(auctions(), st.integers(-100, 20_000), st.integers(1, 10**24),
       st.integers(1, 10**24), st.data())
def test_fill_taking_rounds_up(details: AuctionDetails, offset: int, minimum: int,
                               making: int, data: st.DataObject) -> None:
    fill = data.draw(st.integers(1, making))
    t = details.start_time + offset
    whole = taking_amount(minimum, details, t)
    part = fill_taking_amount(minimum, making, fill, details, t)
    assert part * making >= whole * fill
    assert (part - 1) * making < whole * fill
    assert fill_taking_amount(minimum, making, making, details, t) == whole


@given(auctions())
def test_encode_decode_round_trip(details: AuctionDetails) -> None:
    assert AuctionDetails.decode(details.encode()) == details
