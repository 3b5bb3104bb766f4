"""A real headless Chromium (Debian's ``chromium``, driven by Playwright) on the explorer.

``served`` runs the relayer in this test's event loop under uvicorn on a free port,
with a fake clock and no scheduler: a test moves time and ticks the decayer itself,
and the page sees the result through the real WebSocket.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, Page, async_playwright
from starlette.applications import Starlette

from devnet.process import free_port
from relayer.api.app import create_app
from relayer.api.ws.endpoint import uvicorn_options
from relayer.clock import FakeClock
from tests.factories import NOW, make_settings, submission, to_json

CHROMIUM = Path(os.environ.get("EXPLORER_CHROMIUM", "/usr/bin/chromium"))
START_TIMEOUT = 15.0


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing (make browser installs Debian's chromium)")
        pytest.skip(f"{CHROMIUM} is missing (make browser installs Debian's chromium)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                    headless=True)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def console_errors() -> list[str]:
    """What the page threw or logged as an error; a test may remove what it expects."""
    return []


@pytest.fixture
async def page(browser: Browser, console_errors: list[str]) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 1000})
    opened = await context.new_page()
    errors = console_errors
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        yield opened
    finally:
        await context.close()
    # A page that threw, or logged an error (a refused script, a failed request), fails.
    assert not errors, errors


@dataclass
class Served:
    url: str
    app: Starlette
    clock: FakeClock
    http: httpx.AsyncClient

    async def submit(self, **overrides: Any) -> str:
        response = await self.http.post(
            "/api/orders", content=to_json(submission(**overrides)),
            headers={"content-type": "application/json"})
        assert response.status_code == 201, response.text
        order_hash: str = response.json()["order_hash"]
        return order_hash

    async def tick(self, seconds: float = 0) -> None:
        """Move the fake clock, then run one decayer tick (prices, auction starts)."""
        self.clock.advance(seconds)
        await self.app.state.parts.decayer.tick()

    async def get(self, path: str) -> Any:
        response = await self.http.get(path)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    clock = FakeClock(NOW)
    settings = make_settings(data_dir=str(tmp_path))
    app = create_app(settings, clock=clock, run_scheduler=False)
    # log_config=None: uvicorn's own config would stop its loggers propagating to the
    # root for the rest of the session (tests/test_logging.py reads them there).
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning",
                            log_config=None, lifespan="on",
                            **uvicorn_options(settings.websocket))
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if task.done() or time.monotonic() > deadline:
            raise RuntimeError("the relayer did not start")
        await asyncio.sleep(0.02)
    url = f"http://127.0.0.1:{config.port}"
    async with httpx.AsyncClient(base_url=url) as http:
        try:
            yield Served(url=url, app=app, clock=clock, http=http)
        finally:
            server.should_exit = True
            await task
