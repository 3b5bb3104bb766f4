"""The README's walkthrough order is one the devnet's resolver ``alpha`` fills.

``scripts/sample_order.py`` signs the relayer's recommended quote preset; ``alpha`` pays at
most what its devnet config values the pair at, less its margin. With the devnet's quote
presets the auction's price meets that mid-auction; with production's it never would (the
first-hour surprise this guards against)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from devnet.stack import ADA_PER_TUSD, QUOTE_PRESETS, RESOLVER_COSTS
from relayer.config import Settings, load_settings
from relayer.networks.registry import ChainRegistry
from relayer.orders.model import Order, SignedOrder
from relayer.pricing.quote import StaticPriceSource, build_quote
from resolver.pricing import Costs, Pricer, Rate

NOW = 1_800_000_000
TUSD = 10**6


def first_fill_second(settings: Settings, preset: str) -> tuple[int, int] | None:
    """Seconds after the auction's start at which ``alpha`` first finds the walkthrough's
    order (100 TUSD for ADA) profitable, and the auction's duration; None if never."""
    chains = ChainRegistry.from_settings(settings.chains)
    ethereum, cardano = chains.get("ethereum", field="src"), chains.get("cardano", field="dst")
    tusd, ada = ethereum.asset("TUSD", field="src"), cardano.asset("ADA", field="dst")
    quote = build_quote(src=ethereum, dst=cardano, src_asset=tusd, dst_asset=ada,
                        making_amount=100 * TUSD, parts=1, presets=settings.quote.presets,
                        recommended=settings.quote.recommended_preset,
                        prices=StaticPriceSource(), now=NOW)
    terms = quote.presets[preset]
    order = Order(salt=1, src_chain="ethereum", dst_chain="cardano", maker="0x" + "11" * 20,
                  receiver="addr_test", maker_asset=tusd.id, taker_asset=ada.id,
                  making_amount=100 * TUSD, taking_amount=terms.taking_amount,
                  auction=terms.auction, hashlock=bytes(32), parts=1,
                  timelocks=terms.timelocks, src_safety_deposit=terms.src_safety_deposit,
                  dst_safety_deposit=terms.dst_safety_deposit, deadline=terms.deadline)
    signed = SignedOrder(order=order, order_hash="0x" + "22" * 32, signature=b"",
                         secret_hashes=(bytes(32),))
    alpha = Pricer([Rate("ethereum", tusd.id, "cardano", ada.id, Fraction(ADA_PER_TUSD))],
                   Costs(**RESOLVER_COSTS))
    start, duration = terms.auction.start_time, terms.auction.duration
    for second in range(duration + 1):
        priced = alpha.quote(signed, 0, start + second)
        assert priced is not None
        if priced.profitable:
            return second, duration
    return None


def test_alpha_fills_the_recommended_devnet_preset_mid_auction() -> None:
    settings = load_settings(overrides={"quote.presets": QUOTE_PRESETS})
    assert settings.quote.recommended_preset == "medium"
    found = first_fill_second(settings, "medium")
    assert found is not None, "alpha never fills the walkthrough's order"
    second, duration = found
    # Not at once (the explorer shows the price falling first), well before the end.
    assert duration // 4 < second < duration * 3 // 4, found


@pytest.mark.parametrize("preset", sorted(QUOTE_PRESETS))
def test_alpha_fills_every_devnet_preset(preset: str) -> None:
    assert first_fill_second(load_settings(overrides={"quote.presets": QUOTE_PRESETS}),
                             preset) is not None


def test_production_presets_are_beyond_alpha() -> None:
    """Why the devnet has presets of its own: production's medium ends at 99.25% of the
    market, above the 99% ``alpha`` pays."""
    assert first_fill_second(load_settings(), "medium") is None
