"""Maker funds on anvil: intake refuses short balance or allowance; open orders move to
``invalid`` when the funds drop and back when they return."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from devnet.ethereum import EthereumDevnet
from devnet.process import RelayerProcess, free_port, wait_until
from relayer.api.app import create_app
from relayer.clock import FakeClock
from relayer.orders.events import OrderStatusChanged
from relayer.orders.status import OrderStatus
from tests.contracts.evm.chain import Chain
from tests.factories import NOW, make_settings, submission, to_json

JSON = {"content-type": "application/json"}
MAKING = 100_000_000  # the factories' making amount: 100 TUSD


def following(devnet_url: str, tmp_path: Path, **overrides: Any) -> Any:
    return make_settings(**{"data_dir": str(tmp_path), "chains.ethereum.follow": True,
                            "chains.ethereum.rpc_urls": [devnet_url],
                            "chains.ethereum.poll_seconds": 0.05,
                            "chains.ethereum.rpc_timeout_seconds": 2.0,
                            **overrides})


@pytest.fixture
async def app(devnet: EthereumDevnet, tmp_path: Path) -> AsyncIterator[Starlette]:
    application = create_app(following(devnet.rpc_url, tmp_path), clock=FakeClock(NOW),
                             run_scheduler=False)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://relayer") as c:
        yield c


async def test_intake_refuses_short_allowance_and_balance(
        chain: Chain, app: Starlette, client: httpx.AsyncClient) -> None:
    r = await client.post("/api/orders", content=to_json(submission(salt="1")), headers=JSON)
    assert r.status_code == 400, r.text
    assert r.json()["error_code"] == "INSUFFICIENT_ALLOWANCE"
    assert r.json()["details"]["required"] == str(MAKING)
    assert r.json()["details"]["available"] == "0"

    balance = chain.balance(chain.maker.address, chain.token)
    chain.approve(chain.maker.address, 2 * balance)
    too_much = submission(salt="2", making_amount=str(balance + 1))
    r = await client.post("/api/orders", content=to_json(too_much), headers=JSON)
    assert r.status_code == 400 and r.json()["error_code"] == "INSUFFICIENT_BALANCE"
    assert r.json()["details"]["available"] == str(balance)
    assert len(app.state.relayer.desk.book) == 0

    r = await client.post("/api/orders", content=to_json(submission(salt="3")), headers=JSON)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "active"


async def test_background_recheck_invalidates_and_restores(
        chain: Chain, app: Starlette, client: httpx.AsyncClient) -> None:
    watcher = app.state.parts.ethereum.watcher
    seen: list[OrderStatusChanged] = []
    app.state.relayer.bus.subscribe(OrderStatusChanged, seen.append)
    chain.approve(chain.maker.address, MAKING)
    r = await client.post("/api/orders", content=to_json(submission(salt="7")), headers=JSON)
    assert r.status_code == 201, r.text
    order_hash = r.json()["order_hash"]
    assert (await watcher.recheck()).invalidated == 0

    async def status() -> str:
        got = (await client.get(f"/api/orders/{order_hash}")).json()
        return str(got["status"])

    chain.approve(chain.maker.address, MAKING - 1)
    result = await watcher.recheck()
    assert (result.checked, result.invalidated) == (1, 1)
    assert (await status()) == "invalid"
    assert [(e.old, e.new, e.reason) for e in seen] == [
        (OrderStatus.ACTIVE, OrderStatus.INVALID, "insufficient_allowance")]
    assert (await watcher.recheck()).invalidated == 0  # no change, no event

    chain.approve(chain.maker.address, MAKING)
    assert (await watcher.recheck()).restored == 1
    assert (await status()) == "active"

    # The balance leaves: invalid for the balance this time; it comes back: active again.
    balance = chain.balance(chain.maker.address, chain.token)
    chain.send(chain.token, "transfer", chain.other, balance, sender=chain.maker.address)
    assert (await watcher.recheck()).invalidated == 1
    chain.send(chain.token, "transfer", chain.maker.address, balance, sender=chain.other)
    assert (await watcher.recheck()).restored == 1
    assert [(e.new, e.reason) for e in seen] == [
        (OrderStatus.INVALID, "insufficient_allowance"), (OrderStatus.ACTIVE, "funds_restored"),
        (OrderStatus.INVALID, "insufficient_balance"), (OrderStatus.ACTIVE, "funds_restored")]


async def test_intake_answers_503_when_no_rpc_answers(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    application = create_app(following(closed, tmp_path), clock=FakeClock(NOW),
                             run_scheduler=False)
    async with application.router.lifespan_context(application):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application),
                                     base_url="http://relayer") as client:
            r = await client.post("/api/orders", content=to_json(submission()), headers=JSON)
            assert r.status_code == 503, r.text
            assert r.json()["error_code"] == "CHAIN_UNAVAILABLE"
            assert len(application.state.relayer.desk.book) == 0
            # Intake is refused but the service itself stays up and says why.
            status = application.state.parts.ethereum.monitor.status()
            assert not status.connected


async def test_relayer_serve_invalidates_on_its_schedule(
        chain: Chain, devnet: EthereumDevnet, tmp_path: Path) -> None:
    """The real server: its scheduler re-checks funds every 0.2 s."""
    server = RelayerProcess(tmp_path / "relayer", env={
        "RELAYER_CHAINS_ETHEREUM_FOLLOW": "true",
        "RELAYER_CHAINS_ETHEREUM_RPC_URLS": devnet.rpc_url,
        "RELAYER_CHAINS_ETHEREUM_FUNDS_RECHECK_SECONDS": "0.2",
        "RELAYER_CHAINS_ETHEREUM_POLL_SECONDS": "0.1",
    })
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            body = to_json(submission(now=int(time.time()), salt="11"))
            r = await client.post("/api/orders", content=body, headers=JSON)
            assert r.json()["error_code"] == "INSUFFICIENT_ALLOWANCE"
            chain.approve(chain.maker.address, MAKING)
            r = await client.post("/api/orders", content=body, headers=JSON)
            assert r.status_code == 201, r.text
            order_hash = r.json()["order_hash"]

            async def status_is(expected: str) -> bool:
                got = await client.get(f"/api/orders/{order_hash}")
                return bool(got.json()["status"] == expected)

            chain.approve(chain.maker.address, 0)
            await wait_until(lambda: status_is("invalid"), timeout=15, what="invalid")
            chain.approve(chain.maker.address, MAKING)
            await wait_until(lambda: status_is("active"), timeout=15, what="active again")
    finally:
        server.stop()
