"""Readiness follows a real chain: 503 with a reason while anvil is gone, 200 when it is back.

The monitor here is a small test-only ``ChainMonitor`` that asks a real anvil for
``eth_blockNumber``; the readiness route, the metrics and the lifespan that
starts and stops it are the real ones.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import httpx
import pytest

from devnet.ethereum import EthereumDevnet, free_port
from devnet.process import wait_until
from relayer.api.app import create_app
from relayer.chains.status import ChainStatus
from relayer.clock import FakeClock
from tests.factories import make_settings

pytestmark = pytest.mark.integration

POLL_SECONDS = 0.05


class BlockNumberMonitor:
    """Connected while the RPC answers ``eth_blockNumber``; it processes every block at
    once, so its lag is 0 whenever it is connected."""

    def __init__(self, rpc_url: str) -> None:
        self._rpc_url = rpc_url
        self._head: int | None = None
        self._connected = False
        self._rpc_errors = 0
        self._detail = "not started"
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    @property
    def name(self) -> str:
        return "ethereum"

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=1.0)
        await self._poll_once()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._client is not None:
            await self._client.aclose()

    def status(self) -> ChainStatus:
        return ChainStatus(chain="ethereum", connected=self._connected, head=self._head,
                           processed=self._head, max_lag=2, rpc_errors=self._rpc_errors,
                           detail=self._detail)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            await self._poll_once()

    async def _poll_once(self) -> None:
        assert self._client is not None
        body = {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}
        try:
            answer = (await self._client.post(self._rpc_url, json=body)).json()
            self._head = int(answer["result"], 16)
            self._connected, self._detail = True, ""
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            self._rpc_errors += 1
            self._connected, self._detail = False, f"eth_blockNumber failed: {type(exc).__name__}"


async def test_readiness_follows_the_chain_rpc(tmp_path: Path) -> None:
    port = free_port()
    devnet = EthereumDevnet(port=port)
    await asyncio.to_thread(devnet.start)
    try:
        monitor = BlockNumberMonitor(devnet.rpc_url)
        app = create_app(make_settings(data_dir=str(tmp_path)), clock=FakeClock(),
                         monitors=[monitor], run_scheduler=False)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://relayer") as client:

            async def ready_is(status: int) -> bool:
                return (await client.get("/health/ready")).status_code == status

            await wait_until(lambda: ready_is(200), timeout=10, what="ready with anvil up")
            assert (await client.get("/health/ready")).json() == {"status": "ready",
                                                                  "reasons": []}
            health = (await client.get("/health")).json()
            assert health["ready"] is True
            assert health["chains"]["ethereum"]["connected"] is True
            assert health["chains"]["ethereum"]["lag"] == 0

            await asyncio.to_thread(devnet.stop)
            await wait_until(lambda: ready_is(503), timeout=10, what="not ready, anvil gone")
            assert (await client.get("/health/ready")).json() == {
                "status": "not_ready", "reasons": ["chain_disconnected:ethereum"]}
            health = (await client.get("/health")).json()
            assert health["ready"] is False
            assert health["chains"]["ethereum"]["detail"].startswith("eth_blockNumber failed")
            assert health["chains"]["ethereum"]["rpc_errors"] >= 1
            assert (await client.get("/health/live")).status_code == 200
            metrics = (await client.get("/metrics")).text
            assert 'relayer_chain_connected{chain="ethereum"} 0.0' in metrics

            await asyncio.to_thread(devnet.start)  # the same port again
            await wait_until(lambda: ready_is(200), timeout=10, what="ready, anvil back")
            metrics = (await client.get("/metrics")).text
            assert 'relayer_chain_connected{chain="ethereum"} 1.0' in metrics
    finally:
        await asyncio.to_thread(devnet.stop)


async def test_readiness_reports_an_unreachable_store(tmp_path: Path) -> None:
    app = create_app(make_settings(data_dir=str(tmp_path)), clock=FakeClock(),
                     run_scheduler=False)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://relayer") as client:
        assert (await client.get("/health/ready")).status_code == 200
        await app.state.relayer.store.close()
        response = await client.get("/health/ready")
        assert response.status_code == 503
        assert response.json() == {"status": "not_ready", "reasons": ["store_unreachable"]}
        assert (await client.get("/health")).json()["store_latency_ms"] is None
        assert "relayer_store_ping_seconds -1.0" in (await client.get("/metrics")).text
        await app.state.relayer.store.open()
        assert (await client.get("/health/ready")).status_code == 200
