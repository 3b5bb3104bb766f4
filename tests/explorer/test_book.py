"""The order book page lists orders with exact human amounts, and follows them live."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.explorer.amounts import human
from tests.explorer.conftest import Served
from tests.factories import NOW


async def test_the_book_lists_a_submitted_order(served: Served, page: Page) -> None:
    order_hash = await served.submit()
    await served.tick()
    await page.goto(served.url + "/")
    row = page.locator(f'tr[data-order-hash="{order_hash}"]')
    await expect(row.locator("td.status")).to_have_text("active")
    await expect(row.locator("td.pair")).to_have_text("TUSD (ethereum) → ADA (cardano)")
    await expect(row.locator("td.making")).to_have_text("100 TUSD")
    await expect(row.locator("td.floor")).to_have_text("190 ADA")


async def test_the_book_follows_new_orders_and_ticks_live(served: Served, page: Page) -> None:
    await page.goto(served.url + "/")
    await expect(page.locator("#empty")).to_be_visible()
    await expect(page.locator("#live-state")).to_have_text("live")
    # Submitted after the page loaded: it arrives over the WebSocket, not by a reload.
    order_hash = await served.submit(direction="ada_to_eth")
    row = page.locator(f'tr[data-order-hash="{order_hash}"]')
    await expect(row.locator("td.pair")).to_have_text("ADA (cardano) → TUSD (ethereum)")
    await expect(row.locator("td.making")).to_have_text("200 ADA")
    await expect(row.locator("td.price")).to_have_text("99.75 TUSD")
    await expect(page.locator("#empty")).to_be_hidden()

    await served.tick(90)
    price = await served.get(f"/api/orders/{order_hash}/auction?at={NOW + 90}")
    assert price["taking_amount"] != "99750000"
    await expect(row.locator("td.price")).to_have_text(f"{human(price['taking_amount'], 6)} TUSD")
