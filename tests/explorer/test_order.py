"""One order's page: the curve the API computes with its exact endpoints, and a price
that moves when the decayer ticks."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Page, expect

from relayer.orders.wire import AuctionPointWire, AuctionWire
from tests.explorer.amounts import human
from tests.explorer.conftest import Served
from tests.factories import NOW

ADA = 6


async def _open(page: Page, served: Served, order_hash: str) -> None:
    await page.goto(f"{served.url}/orders/{order_hash}")
    await expect(page.locator("#live-state")).to_have_text("live")


async def _plotted(page: Page) -> Any:
    """The chart's data: the x values and the first series, as uPlot holds them."""
    return await page.evaluate("() => window.explorer.chart.plot.data.slice(0, 2)")


async def test_the_curve_shows_the_apis_exact_start_and_floor(served: Served,
                                                              page: Page) -> None:
    order_hash = await served.submit()
    order = await served.get(f"/api/orders/{order_hash}")
    start, end = order["auction_start"], order["auction_end"]
    at_start = await served.get(f"/api/orders/{order_hash}/auction?at={start}")
    at_end = await served.get(f"/api/orders/{order_hash}/auction?at={end}")
    assert at_end["taking_amount"] == order["order"]["taking_amount"] == "190000000"

    await _open(page, served, order_hash)
    await expect(page.locator("#curve-start")).to_contain_text(
        f"{human(at_start['taking_amount'], ADA)} ADA at 2025-11-21 18:33:20 UTC")
    await expect(page.locator("#curve-floor")).to_contain_text(
        "190 ADA from 2025-11-21 18:36:20 UTC")
    await expect(page.locator("#floor")).to_have_text("190 ADA")
    point = await served.get(f"/api/orders/{order_hash}/auction?at={start + 60}")
    await expect(page.locator("#curve-points li")).to_have_text(
        [f"{human(point['taking_amount'], ADA)} ADA at 2025-11-21 18:34:20 UTC"
         " (rate bump 2.5 %)"])
    await expect(page.locator("#curve-gas")).to_contain_text("none")
    # The chart is drawn from the server's samples: its ends are the start and the floor.
    await expect(page.locator("#chart canvas")).to_be_visible()
    xs, ys = await _plotted(page)
    assert (xs[0], xs[-1]) == (start, end)
    assert ys[0] == float(human(at_start["taking_amount"], ADA).replace(",", ""))
    assert ys[-1] == 190.0
    curve = await served.get(f"/api/orders/{order_hash}/curve")
    assert xs == [p["at"] for p in curve["samples"]]


async def test_a_tick_moves_the_price_on_the_page(served: Served, page: Page) -> None:
    order_hash = await served.submit()
    await served.tick()
    await _open(page, served, order_hash)
    await expect(page.locator("#current-price")).to_have_text("199.5 ADA")
    # Time left runs on the relayer's clock (here a fake one) and on between its answers.
    await expect(page.locator("#time-left")).to_have_text(re.compile(r"^(3 m 00|2 m 5\d) s$"))

    await served.tick(30)
    price = await served.get(f"/api/orders/{order_hash}/auction?at={NOW + 30}")
    assert price["taking_amount"] != "199500000"
    await expect(page.locator("#current-price")).to_have_text(
        f"{human(price['taking_amount'], ADA)} ADA")
    await expect(page.locator("#rate-bump")).to_contain_text(
        f"rate bump {human(str(price['rate_bump']), 5)} %")
    await expect(page.locator("#time-left")).to_have_text(re.compile(r"^2 m (30|2\d) s$"))
    marker = await page.evaluate("() => window.explorer.chart.marker")
    assert marker == {"at": NOW + 30, "value": price["taking_amount"]}


async def test_gas_terms_are_shown_exactly(served: Served, page: Page) -> None:
    auction = AuctionWire(start_time=NOW, duration=120, initial_rate_bump=1_000_000,
                          points=[AuctionPointWire(rate_bump=500_000, delay=60)],
                          gas_bump_estimate=10_000, gas_price_estimate=1_500)
    order_hash = await served.submit(auction=auction)
    await _open(page, served, order_hash)
    await expect(page.locator("#curve-gas")).to_have_text(
        "−0 % at base fee 0 gwei (estimate: 0.1 % at 1.5 gwei)")
    await expect(page.locator("#curve-start")).to_contain_text("209 ADA")


async def test_amounts_beyond_float_precision_are_exact(served: Served, page: Page) -> None:
    floor = "9007199254740993123"  # 2**53 + 1, then 3 more digits: no float holds it
    order_hash = await served.submit(direction="ada_to_eth", taking_amount=floor)
    await _open(page, served, order_hash)
    await expect(page.locator("#floor")).to_have_text(f"{human(floor, 6)} TUSD")
    assert human(floor, 6) == "9,007,199,254,740.993123"
    price = (await served.get(f"/api/orders/{order_hash}"))["price"]["taking_amount"]
    await expect(page.locator("#current-price")).to_have_text(f"{human(price, 6)} TUSD")
    cases = [("123456789012345678901234567890", 18), ("1", 18), ("0", 6), ("1000000", 6),
             ("9007199254740993", 0), ("000120", 2)]
    shown = await page.evaluate(
        """async (cases) => {
            const { formatUnits } = await import("/explorer/amounts.js");
            return cases.map(([value, decimals]) => formatUnits(value, decimals));
        }""", cases)
    assert shown == [human(value, decimals) for value, decimals in cases]


async def test_an_unknown_order_says_so(served: Served, page: Page,
                                       console_errors: list[str]) -> None:
    missing = "0x" + "ab" * 32
    response = await page.goto(f"{served.url}/orders/{missing}")
    assert response is not None and response.status == 404
    await expect(page.locator("#notice")).to_have_text(f"No order {missing} on this relayer.")
    # The page itself and its read of the order answered 404, as they should.
    assert len(console_errors) == 2 and all("404" in e for e in console_errors)
    console_errors.clear()
