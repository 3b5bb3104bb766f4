from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from relayer.auction import AuctionDetails, AuctionPoint, rate_bump, taking_amount
from relayer.pricing.board import PriceBoard

START = 1_700_000_000


@st.composite
def auctions(draw: st.DrawFn) -> AuctionDetails:
    duration = draw(st.integers(1, 400))
    delays = draw(st.lists(st.integers(0, 120), max_size=4))
    points = []
    total = 0
    for delay in delays:
        if total + delay > duration:
            break
        total += delay
        points.append(AuctionPoint(rate_bump=draw(st.integers(0, (1 << 24) - 1)), delay=delay))
    gas = draw(st.booleans())
    return AuctionDetails(
        start_time=START + draw(st.integers(-50, 50)), duration=duration,
        initial_rate_bump=draw(st.integers(0, (1 << 24) - 1)), points=tuple(points),
        gas_bump_estimate=draw(st.integers(1, (1 << 24) - 1)) if gas else 0,
        gas_price_estimate=draw(st.integers(1, 10_000)) if gas else 0,
    )


@settings(max_examples=150, deadline=None)
@given(
    orders=st.lists(st.tuples(auctions(), st.integers(1, 10**30)), min_size=1, max_size=5),
    steps=st.lists(st.tuples(st.integers(1, 40), st.sampled_from([0, 10**8, 15 * 10**9])),
                   min_size=1, max_size=30),
)
def test_board_prices_equal_the_curve_and_report_only_changes(
    orders: list[tuple[AuctionDetails, int]], steps: list[tuple[int, int]]
) -> None:
    board = PriceBoard()
    for i, (details, minimum) in enumerate(orders):
        board.track(f"o{i}", minimum, details)
    last: dict[str, int] = {}
    t = START - 60
    for step, base_fee in steps:
        t += step
        changed = {p.order_hash: p for p in board.tick(t, base_fee)}
        for i, (details, minimum) in enumerate(orders):
            h = f"o{i}"
            expected = taking_amount(minimum, details, t, base_fee)
            price = board.price(h)
            assert price is not None and price.taking_amount == expected
            assert (h in changed) == (last.get(h) != expected)
            if h in changed:
                assert changed[h].rate_bump == rate_bump(details, t, base_fee)
                assert (changed[h].at, changed[h].base_fee) == (t, base_fee)
            last[h] = expected


def test_forgotten_orders_are_not_priced() -> None:
    board = PriceBoard()
    details = AuctionDetails(start_time=START, duration=100, initial_rate_bump=1_000_000)
    board.track("a", 10**18, details)
    board.track("b", 10**18, details)
    assert {p.order_hash for p in board.tick(START + 1, 0)} == {"a", "b"}
    assert board.live == 2
    board.forget("a")
    assert [p.order_hash for p in board.tick(START + 2, 0)] == ["b"]
    assert board.price("a") is None and len(board) == 1


def test_only_live_orders_are_recomputed() -> None:
    board = PriceBoard()
    board.track("waiting", 10**18, AuctionDetails(start_time=START + 100, duration=10,
                                                  initial_rate_bump=5))
    board.track("running", 10**18, AuctionDetails(start_time=START - 5, duration=10,
                                                  initial_rate_bump=1_000))
    board.track("over", 10**18, AuctionDetails(start_time=START - 50, duration=10,
                                               initial_rate_bump=1_000))
    assert len(board.tick(START, 0)) == 3
    assert board.live == 1
    assert [p.order_hash for p in board.tick(START + 1, 0)] == ["running"]
    assert [p.order_hash for p in board.tick(START + 5, 0)] == ["running"]  # ends: minimum
    assert board.live == 0
    assert board.tick(START + 50, 0) == []
    assert board.live == 0
    assert [p.order_hash for p in board.tick(START + 101, 0)] == ["waiting"]
