"""The factory's Dutch curve gives the same integers as relayer.auction, and createSrcEscrow
enforces it against block.timestamp and block.basefee."""

from __future__ import annotations

import random

import pytest

from relayer.auction import AuctionDetails, AuctionPoint, fill_taking_amount, taking_amount
from tests.contracts.evm.chain import Chain, Revert

GWEI = 10**9


def _solidity(chain: Chain, details: AuctionDetails, min_taking: int, making: int, fill: int,
              t: int, base_fee: int) -> int:
    return int(chain.factory.functions.fillTakingAmount(
        details.encode(), min_taking, making, fill, t, base_fee).call())


def _random_details(rng: random.Random) -> AuctionDetails:
    duration = rng.randint(1, 20_000)
    points, used = [], 0
    for _ in range(rng.randint(0, 5)):
        delay = rng.randint(0, max(0, min(65_535, duration - used)))
        used += delay
        points.append(AuctionPoint(rng.randint(0, (1 << 24) - 1), delay))
    gas = rng.random() < 0.5
    return AuctionDetails(
        start_time=rng.randint(0, 2_000_000_000),
        duration=duration,
        initial_rate_bump=rng.randint(0, (1 << 24) - 1),
        points=tuple(points),
        gas_bump_estimate=rng.randint(0, (1 << 24) - 1) if gas else 0,
        gas_price_estimate=rng.randint(0, (1 << 32) - 1) if gas else 0,
    )


def test_reference_values_of_architecture_section_3(chain: Chain) -> None:
    details = AuctionDetails(start_time=1000, duration=120, initial_rate_bump=50_000)
    assert _solidity(chain, details, 1_420_000_000, 1, 1, 1060, 0) == 1_423_550_000
    details = AuctionDetails(
        start_time=1000, duration=180, initial_rate_bump=1_000_000,
        points=(AuctionPoint(500_000, 60),), gas_bump_estimate=10_000, gas_price_estimate=1000,
    )
    for base_fee, expected in ((0, 1_050_000_000_000_000_000),
                               (GWEI // 10, 1_049_900_000_000_000_000),
                               (15 * GWEI, 1_035_000_000_000_000_000),
                               (100 * GWEI, 10**18)):
        assert _solidity(chain, details, 10**18, 1, 1, 1060, base_fee) == expected


def test_every_second_of_an_auction_with_points_matches_python(chain: Chain) -> None:
    details = AuctionDetails(
        start_time=10_000, duration=240, initial_rate_bump=2_000_000,
        points=(AuctionPoint(1_500_000, 30), AuctionPoint(1_600_000, 0),
                AuctionPoint(300_000, 90)),
        gas_bump_estimate=20_000, gas_price_estimate=2_000,
    )
    for t in range(details.start_time - 2, details.end_time + 3):
        for base_fee in (0, 3 * GWEI):
            for making, fill in ((1, 1), (100_000_000, 33_333_333)):
                expected = fill_taking_amount(95_000_000, making, fill, details, t, base_fee)
                assert _solidity(chain, details, 95_000_000, making, fill, t, base_fee) == (
                    expected), (t, base_fee, making, fill)


def test_random_auctions_match_python(chain: Chain) -> None:
    rng = random.Random(20261121)
    for _ in range(300):
        details = _random_details(rng)
        making = rng.randint(1, 10**30)
        fill = rng.randint(1, making)
        min_taking = rng.randint(0, 10**30)
        t = details.start_time + rng.randint(-10, details.duration + 10)
        base_fee = rng.choice((0, 1, rng.randint(0, 500 * GWEI)))
        assert _solidity(chain, details, min_taking, making, fill, t, base_fee) == (
            fill_taking_amount(min_taking, making, fill, details, t, base_fee)
        ), (details, min_taking, making, fill, t, base_fee)


def test_malformed_auction_details_revert(chain: Chain) -> None:
    encoded = AuctionDetails(1000, 100, 5, (AuctionPoint(1, 1),)).encode()
    for bad in (encoded[:-1], encoded + b"\x00", encoded[:17]):
        with pytest.raises(Exception, match="0x"):
            chain.factory.functions.fillTakingAmount(bad, 1, 1, 1, 1000, 0).call()
    signed = chain.make_order(auction_details=encoded[:-1])
    chain.approve(chain.maker.address, signed.order.making_amount)
    chain.expect_revert("InvalidAuctionDetails", chain.factory, "createSrcEscrow",
                        signed.as_tuple(), signed.signature,
                        chain.fill_args(signed, signed.order.making_amount, 10**18),
                        sender=chain.resolver.address, value=signed.order.src_safety_deposit)


@pytest.mark.parametrize("base_fee", [0, 7 * GWEI, 40 * GWEI])
@pytest.mark.parametrize("offset", [0, 45, 60, 61, 170, 180])
def test_fill_at_exactly_the_curve_price_and_not_one_unit_less(
    chain: Chain, base_fee: int, offset: int
) -> None:
    start = chain.now() + 10
    details = AuctionDetails(
        start_time=start, duration=180, initial_rate_bump=900_000,
        points=(AuctionPoint(400_000, 60),), gas_bump_estimate=10_000, gas_price_estimate=1_000,
    )
    signed = chain.make_order(parts=4, auction_details=details.encode())
    order = signed.order
    chain.approve(chain.maker.address, order.making_amount)
    fill = 30_000_000
    index = 1  # (30_000_000 - 1) * 4 // 100_000_000
    t = start + offset
    required = fill_taking_amount(order.taking_amount, order.making_amount, fill, details, t,
                                  base_fee)
    assert required >= taking_amount(order.taking_amount, details, t, base_fee) * 3 // 10
    args = (signed.as_tuple(), signed.signature,
            chain.fill_args(signed, fill, required - 1, index))
    with chain.snapshot():
        chain.expect_revert(Revert("DstAmountTooLow", (required,)), chain.factory,
                            "createSrcEscrow", *args, sender=chain.resolver.address,
                            value=order.src_safety_deposit, at=t, base_fee=base_fee)
    receipt = chain.send(chain.factory, "createSrcEscrow", signed.as_tuple(), signed.signature,
                         chain.fill_args(signed, fill, required, index),
                         sender=chain.resolver.address, value=order.src_safety_deposit,
                         at=t, base_fee=base_fee)
    block = chain.w3.eth.get_block(receipt["blockNumber"])
    assert (block["timestamp"], block["baseFeePerGas"]) == (t, base_fee)
    (event,) = chain.events(chain.factory, "SrcEscrowCreated", receipt)
    assert event["dstImmutablesComplement"]["amount"] == required
