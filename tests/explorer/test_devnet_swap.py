"""``make devnet`` watched in the browser, as a person would: the demo (anvil, the
Cardano simulator, ``relayer serve``, the reference resolver and the demo maker, all
real processes) prints where the explorer is; the order book there shows the demo's
first order arrive; its page shows the fill walk through its stages to ``settled``,
the rules that held the secret back on the way, and both escrows with transactions,
confirmations and time locks.

``EXPLORER_SCREENSHOT=docs/explorer.png`` saves the order page, as it looked mid-swap.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from devnet.process import free_port
from tests.explorer.amounts import human

pytestmark = pytest.mark.integration
BANNER = re.compile(r"Explorer: (http://127\.0\.0\.1:\d+/)$")
START_SECONDS = 90
SWAP_MS = 120_000
CLOCK = re.compile(r"^\d\d:\d\d:\d\d UTC$")
RECORD_WHAT_IS_SHOWN = """() => {
    window.shown = [];
    const record = () => {
        const fill = document.querySelector(".fill");
        if (!fill) return;
        const status = fill.querySelector(".fill-status").textContent;
        const reasons = [...fill.querySelectorAll(".reason code")].map((c) => c.textContent);
        const last = window.shown[window.shown.length - 1];
        if (!last || last.status !== status || last.reasons.join() !== reasons.join()) {
            window.shown.push({ status, reasons });
        }
    };
    new MutationObserver(record).observe(document.getElementById("fill-list"),
                                         { childList: true, subtree: true });
    record();
}"""


@dataclass
class Demo:
    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    explorer: str = ""

    async def read(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            self.lines.append(raw.decode(errors="replace").rstrip())

    def output(self) -> str:
        return "\n".join(self.lines[-40:])


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Demo]:
    """``python -m devnet`` (what ``make devnet`` runs) in its own process group, so that
    every process it started ends with it."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "devnet", "--dir", str(tmp_path / "devnet"),
        "--port", str(free_port()), "--anvil-port", str(free_port()),
        "--ogmios-port", str(free_port()),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        start_new_session=True)
    running = Demo(process)
    reader = asyncio.create_task(running.read())
    try:
        deadline = time.monotonic() + START_SECONDS
        while not running.explorer:
            found = [m for line in running.lines if (m := BANNER.search(line))]
            if found:
                running.explorer = found[0].group(1)
            elif process.returncode is not None or time.monotonic() > deadline:
                pytest.fail(f"the devnet printed no explorer address:\n{running.output()}")
            else:
                await asyncio.sleep(0.1)
        yield running
    finally:
        await _stop(process)
        reader.cancel()


async def _stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM to the demo's process group (the demo, its chains, relayer and resolver);
    SIGKILL to whatever of it is still there after a grace period."""
    if process.returncode is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout=15)
        except TimeoutError:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    await process.wait()


async def test_a_devnet_swap_walks_through_its_stages_on_the_page(
        demo: Demo, page: Page, tmp_path: Path) -> None:
    await page.goto(demo.explorer)
    await expect(page.locator("#live-state")).to_have_text("live")
    row = page.locator("#book-rows tr").first
    await expect(row.locator("td.pair")).to_have_text("TUSD (ethereum) → ADA (cardano)",
                                                      timeout=SWAP_MS)
    await expect(row.locator("td.making")).to_have_text("100 TUSD")
    await row.locator("td.order a").click()
    await expect(page.locator("#live-state")).to_have_text("live")
    order_hash = page.url.rsplit("/", 1)[1]
    await page.evaluate(RECORD_WHAT_IS_SHOWN)

    # Mid-swap: both escrows verified, and a named rule still holds the secret back.
    await expect(page.locator(".fill .fill-status")).to_have_text(
        re.compile(r"^(verified|final)$"), timeout=SWAP_MS)
    await expect(page.locator(".fill .reason").first).to_be_visible()
    await page.screenshot(path=tmp_path / "mid-swap.png", full_page=True)
    shot = os.environ.get("EXPLORER_SCREENSHOT")
    if shot:
        await page.screenshot(path=shot, full_page=True)
    await expect(page.locator(".fill .fill-status")).to_have_text("settled", timeout=SWAP_MS)
    shown = await page.evaluate("() => window.shown")
    statuses = [s["status"] for s in shown]
    # The page moved by itself, through the stages, and named what held the secret back.
    assert statuses[-1] == "settled" and len(set(statuses)) >= 3, shown
    before = statuses[:statuses.index("settled")]
    assert "verified" in before or "final" in before, shown
    held = {code for s in shown for code in s["reasons"]}
    assert held & {"SRC_NOT_FINAL", "DST_NOT_FINAL", "DST_FINALITY_LOCK"}, shown

    response = await page.request.get(f"{demo.explorer}api/orders/{order_hash}/timeline")
    (fill,) = (await response.json())["fills"]
    src, dst = fill["escrows"]
    card = page.locator(f'.fill[data-fill-id="{fill["fill_id"]}"]')
    source, destination = card.locator('tr[data-role="src"]'), card.locator('tr[data-role="dst"]')
    await expect(source.locator("td.chain")).to_have_text("ethereum")
    await expect(destination.locator("td.chain")).to_have_text("cardano")
    assert await source.locator("td.tx").get_attribute("title") == src["created"]["tx_id"]
    assert await destination.locator("td.tx").get_attribute("title") == dst["created"]["tx_id"]
    for escrow in (source, destination):
        await expect(escrow.locator("td.confirmations")).to_contain_text("of 2 · final")
        await expect(escrow.locator("td.phase")).to_contain_text("withdrawn in ")
    await expect(source.locator("td.amount")).to_have_text("100 TUSD")
    await expect(destination.locator("td.amount")).to_have_text(
        f"{human(dst['amount'], 6)} ADA")
    await expect(card.locator(".released")).to_contain_text("(posted by the maker)")
    await expect(card.locator('.timelock[data-role="src"] .stages li')).to_have_count(5)
    await expect(card.locator('.timelock[data-role="dst"] .stages li')).to_have_count(4)
    # Each stage of the way with its time, from the status history in the log.
    for step in ("src_escrow_seen", "verified", "secret_released", "settled"):
        await expect(card.locator(f'.steps li[data-step="{step}"] .step-time')).to_have_text(
            CLOCK)
    await expect(card.locator(".steps li.done")).to_have_count(8)
    await expect(page.locator("#order-status")).to_have_text("executed")
    await page.screenshot(path=tmp_path / "settled.png", full_page=True)
