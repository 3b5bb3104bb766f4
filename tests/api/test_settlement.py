"""Settlement over HTTP: fills with reasons, posting a secret, released secrets, actions.

The chains are played by the test (logic-level): escrow events go into the
app's escrow projection and onto its bus, as a monitor does after a commit;
a stand-in monitor reports the chain tips the coordinator counts from.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from relayer.api.app import create_app
from relayer.chains.status import ChainStatus
from relayer.clock import FakeClock
from relayer.events.chain import ChainEvent, EscrowCreated
from relayer.orders.signer import make_secrets
from tests.factories import make_settings, submission, to_json
from tests.settlement.harness import Harness
from tests.settlement.scenario import RESOLVER_ADA, RESOLVER_ETH

JSON = {"content-type": "application/json"}


class Tips:
    """A monitor stand-in that only reports tips (the tests move them)."""

    def __init__(self, name: str, heights: dict[str, int]) -> None:
        self._name = name
        self._heights = heights

    @property
    def name(self) -> str:
        return self._name

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def status(self) -> ChainStatus:
        height = self._heights[self._name]
        return ChainStatus(chain=self._name, connected=True, head=height, processed=height,
                           max_lag=10)


@pytest.fixture
async def world(tmp_path: Path, clock: FakeClock) -> AsyncIterator[tuple[Starlette, Harness]]:
    helper = Harness(tmp_path / "helper", custody=False)  # builds escrows; its store unused
    helper.clock = clock
    settings = make_settings(data_dir=str(tmp_path),
                             **{"settlement.resolvers": {"r1": {"ethereum": RESOLVER_ETH,
                                                                "cardano": RESOLVER_ADA}}})
    tips = [Tips(name, helper.chains.heights) for name in ("ethereum", "cardano")]
    app = create_app(settings, clock=clock, run_scheduler=False, monitors=tips)
    async with app.router.lifespan_context(app):
        yield app, helper


async def chain(app: Starlette, event: ChainEvent) -> None:
    relayer = app.state.relayer
    relayer.escrows.apply(event)
    relayer.bus.publish(event)
    await relayer.bus.drain()


async def test_a_swap_through_the_settlement_api(world: tuple[Starlette, Harness]) -> None:
    app, h = world
    secrets = make_secrets(1)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://relayer") as client:
        r = await client.post("/api/orders", content=to_json(
            submission("eth_to_ada", secrets=secrets)), headers=JSON)
        assert r.status_code == 201, r.text
        order_hash = r.json()["order_hash"]
        h.signed = app.state.relayer.desk.get(order_hash).signed
        h.secrets = secrets
        r = await client.post(f"/api/orders/{order_hash}/secrets", headers=JSON,
                              content=to_json({"idx": 0,
                                               "secret": "0x" + secrets.secrets[0].hex()}))
        assert r.status_code == 409 and r.json()["error_code"] == "FILL_NOT_READY"
        h.clock.advance(30)
        src: EscrowCreated = h.src_escrow()
        await chain(app, src)
        await chain(app, h.dst_escrow(src))
        fills: dict[str, Any] = (await client.get(f"/api/orders/{order_hash}/fills")).json()
        (fill,) = fills["fills"]
        assert fill["status"] == "verified" and "DST_NOT_FINAL" in fill["reasons"]
        assert fill["src_escrow"]["amount"] == str(src.immutables.amount)
        assert (await client.get(
            f"/api/orders/{order_hash}/ready-to-accept-secret-fills")).json()["fills"] == []
        h.confirm()
        h.clock.advance(20)
        await app.state.settlement.coordinator.tick()
        ready = (await client.get(f"/api/orders/{order_hash}/ready-to-accept-secret-fills"))
        assert [f["idx"] for f in ready.json()["fills"]] == [0]
        r = await client.post(f"/api/orders/{order_hash}/secrets", headers=JSON,
                              content=to_json({"idx": 0, "secret": "0x" + "00" * 32}))
        assert r.status_code == 400 and r.json()["error_code"] == "SECRET_MISMATCH"
        r = await client.post(f"/api/orders/{order_hash}/secrets", headers=JSON,
                              content=b'{"idx": -1, "secret": "0x12"}')
        assert r.status_code == 400
        r = await client.post(f"/api/orders/{order_hash}/secrets", headers=JSON,
                              content=to_json({"idx": 0,
                                               "secret": "0x" + secrets.secrets[0].hex()}))
        assert r.status_code == 200, r.text
        (shown,) = r.json()["secrets"]
        assert shown["secret"] == "0x" + secrets.secrets[0].hex() and shown["source"] == "maker"
        r = await client.get(f"/api/orders/{order_hash}/secrets")
        assert r.json()["secrets"] == [shown]
        (fill,) = (await client.get(f"/api/orders/{order_hash}/fills")).json()["fills"]
        assert fill["status"] == "secret_released"
        h.clock.advance(200)
        await app.state.settlement.coordinator.tick()
        actions = (await client.get("/api/actions/public")).json()["actions"]
        assert {a["action"] for a in actions} == {"public_withdraw"}
        assert all(a["secret"] == shown["secret"] for a in actions)
        assert (await client.get(f"/api/orders/{'0x' + '00' * 32}/fills")).status_code == 404
