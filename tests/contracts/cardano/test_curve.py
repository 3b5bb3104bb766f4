"""The order validator's Dutch curve is `relayer.auction.curve` to the unit: for random
auctions, times and fills, the promise the curve demands passes and one unit less fails."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from relayer.auction.details import AuctionDetails, AuctionPoint
from relayer.chains.cardano.scripts import Validators
from tests.contracts.cardano.fills import ORDER, ORDER_REF, PARTS, fill_tx, scene, with_escrow
from tests.contracts.cardano.harness import ScriptRunner

U24 = 2**24 - 1
START = 1_700_000_000


@st.composite
def auctions(draw: st.DrawFn) -> AuctionDetails:
    duration = draw(st.integers(min_value=1, max_value=100_000))
    points: list[AuctionPoint] = []
    elapsed = 0
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        delay = draw(st.integers(min_value=0, max_value=min(2**16 - 1, duration - elapsed)))
        elapsed += delay
        points.append(AuctionPoint(draw(st.integers(min_value=0, max_value=U24)), delay))
    return AuctionDetails(
        start_time=START, duration=duration,
        initial_rate_bump=draw(st.integers(min_value=0, max_value=U24)), points=tuple(points),
        gas_bump_estimate=draw(st.integers(min_value=0, max_value=U24)),
        gas_price_estimate=draw(st.integers(min_value=0, max_value=2**32 - 1)),
    )


@st.composite
def fills(draw: st.DrawFn) -> tuple[int, int]:
    making = draw(st.integers(min_value=1, max_value=10**18))
    return making, draw(st.integers(min_value=1, max_value=making))


@settings(max_examples=12, deadline=None)
@given(
    auction=auctions(),
    taking=st.integers(min_value=1, max_value=10**30),
    fill=fills(),
    offset_ms=st.integers(min_value=-5_000, max_value=101_000_000),
)
def test_the_on_chain_curve_is_the_relayers(
    validators: Validators, runner: ScriptRunner, auction: AuctionDetails, taking: int,
    fill: tuple[int, int], offset_ms: int,
) -> None:
    making, amount = fill
    order = replace(PARTS, auction=auction, taking_amount=taking, making_amount=making,
                    deadline=START + 200_000)
    s = scene(order, amount=amount, lower=START * 1000 + offset_ms)
    tx = fill_tx(validators, s)
    assert runner.passes(validators.order, tx, ORDER_REF)
    under = with_escrow(validators, tx, replace(s.escrow, dst_amount=s.required - 1))
    assert not runner.passes(validators.order, under, ORDER_REF)


def test_the_reference_values_of_the_architecture(validators: Validators,
                                                  runner: ScriptRunner) -> None:
    # 120 s, initial bump 50,000, no points, t = start + 60, minimum 1,420,000,000
    order = replace(ORDER, taking_amount=1_420_000_000,
                    auction=AuctionDetails(START, 120, 50_000))
    s = scene(order, lower=(START + 60) * 1000)
    assert s.required == 1_423_550_000
    tx = fill_tx(validators, s)
    assert runner.passes(validators.order, tx, ORDER_REF)
    under = with_escrow(validators, tx, replace(s.escrow, dst_amount=1_423_549_999))
    assert not runner.passes(validators.order, under, ORDER_REF)
