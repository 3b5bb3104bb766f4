"""The JSON views behind the explorer (tokens, curve, timeline) and its file serving,
over HTTP without a browser. The chains are played by the test: escrow events go into
the app's escrow projection and onto its bus, as a monitor does after a commit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from starlette.applications import Starlette

from relayer.api.app import create_app
from relayer.api.explorer.pages import asset_files
from relayer.api.explorer.reasons import RULES
from relayer.auction.curve import taking_amount
from relayer.chains.events import ChainEvent, EscrowCreated
from relayer.chains.status import ChainStatus
from relayer.clock import FakeClock
from relayer.orders.signer import make_secrets
from relayer.orders.timelocks import Timelocks
from relayer.settlement.policy import Withheld
from tests.factories import NOW, make_settings, submission, to_json
from tests.settlement.harness import Harness
from tests.settlement.scenario import RESOLVER_ADA, RESOLVER_ETH

JSON = {"content-type": "application/json"}


class Tips:
    """A monitor stand-in that only reports the chain tips the test moves."""

    def __init__(self, name: str, heights: dict[str, int]) -> None:
        self._name, self._heights = name, heights

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
async def world(tmp_path: Path, clock: FakeClock
                ) -> AsyncIterator[tuple[Starlette, Harness, httpx.AsyncClient]]:
    helper = Harness(tmp_path / "helper", custody=False)  # builds escrows; its store unused
    helper.clock = clock
    settings = make_settings(data_dir=str(tmp_path), **{"settlement.resolvers": {
        "r1": {"ethereum": RESOLVER_ETH, "cardano": RESOLVER_ADA}}})
    tips = [Tips(name, helper.chains.heights) for name in ("ethereum", "cardano")]
    app = create_app(settings, clock=clock, run_scheduler=False, monitors=tips)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://relayer") as client:
            yield app, helper, client


async def _chain(app: Starlette, event: ChainEvent) -> None:
    relayer = app.state.relayer
    relayer.escrows.apply(event)
    relayer.bus.publish(event)
    await relayer.bus.drain()


def _check(spec: dict[str, Any], path: str, body: Any) -> None:
    schema = spec["paths"][path]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"]
    jsonschema.Draft202012Validator({**schema, "components": spec["components"]}).validate(body)


async def test_tokens_name_every_configured_asset(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/tokens")).json()
    tokens = {(t["chain"], t["symbol"]): t for t in body["tokens"]}
    assert tokens[("cardano", "ADA")] == {"chain": "cardano", "symbol": "ADA",
                                          "id": "lovelace", "decimals": 6}
    assert tokens[("ethereum", "TUSD")]["decimals"] == 6
    _check((await client.get("/openapi.json")).json(), "/api/tokens", body)


async def test_the_curve_is_the_auction_math_sampled(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/orders", content=to_json(submission()), headers=JSON)
    order_hash = r.json()["order_hash"]
    order = (await client.get(f"/api/orders/{order_hash}")).json()
    body = (await client.get(f"/api/orders/{order_hash}/curve?samples=7")).json()
    _check((await client.get("/openapi.json")).json(), "/api/orders/{order_hash}/curve", body)
    start, end = order["auction_start"], order["auction_end"]
    times = [p["at"] for p in body["samples"]]
    assert times == sorted(set(times)) and times[0] == start and times[-1] == end
    assert start + 60 in times  # the order's point, not only the even steps
    assert len(times) == 8 + 1
    for point in body["samples"]:
        api = (await client.get(f"/api/orders/{order_hash}/auction?at={point['at']}")).json()
        assert point["taking_amount"] == api["taking_amount"]
        assert point["rate_bump"] == api["rate_bump"]
    assert body["start"]["taking_amount"] == "199500000"
    assert body["floor"]["taking_amount"] == order["order"]["taking_amount"]
    assert [p["at"] for p in body["points"]] == [start + 60]
    assert body["now"]["at"] == NOW
    r = await client.get(f"/api/orders/{order_hash}/curve?samples=0")
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER"
    r = await client.get(f"/api/orders/0x{'00' * 32}/curve")
    assert r.status_code == 404 and r.json()["error_code"] == "ORDER_NOT_FOUND"


def test_the_gas_adjustment_is_the_curves() -> None:
    from relayer.api.explorer.curve import curve_point
    from relayer.auction.details import AuctionDetails, AuctionPoint

    # ARCHITECTURE section 3's reference: 15 gwei base fee -> 350,000 and 1.035e18.
    details = AuctionDetails(start_time=0, duration=120, initial_rate_bump=1_000_000,
                             points=(AuctionPoint(rate_bump=500_000, delay=60),),
                             gas_bump_estimate=10_000, gas_price_estimate=1000)
    point = curve_point(10**18, details, 60, 15 * 10**9)
    assert (point.rate_bump, point.taking_amount) == (350_000, "1035000000000000000")
    assert point.auction_taking_amount == str(taking_amount(10**18, details, 60, 0))


async def test_the_timeline_follows_a_fill_and_never_shows_the_secret(
        world: tuple[Starlette, Harness, httpx.AsyncClient]) -> None:
    app, h, client = world
    spec = (await client.get("/openapi.json")).json()
    secrets = make_secrets(1)
    r = await client.post("/api/orders", content=to_json(
        submission("eth_to_ada", secrets=secrets)), headers=JSON)
    order_hash = r.json()["order_hash"]
    h.signed = app.state.relayer.desk.get(order_hash).signed
    h.secrets = secrets
    empty = (await client.get(f"/api/orders/{order_hash}/timeline")).json()
    assert empty["fills"] == [] and empty["status"] == "active" and empty["at"] == NOW

    h.clock.advance(30)
    src: EscrowCreated = h.src_escrow()
    await _chain(app, src)
    await _chain(app, h.dst_escrow(src))
    body = (await client.get(f"/api/orders/{order_hash}/timeline")).json()
    _check(spec, "/api/orders/{order_hash}/timeline", body)
    (fill,) = body["fills"]
    assert fill["status"] == "verified"
    reasons = {r["code"]: r for r in fill["reasons"]}
    assert reasons["DST_NOT_FINAL"]["rule"] == "rule 3"
    assert "confirmations" in reasons["DST_NOT_FINAL"]["text"]
    assert [s["status"] for s in fill["history"]] == ["src_escrow_seen", "verified"]
    source, destination = fill["escrows"]
    assert (source["role"], source["chain"], destination["role"], destination["chain"]) == (
        "src", "ethereum", "dst", "cardano")
    assert source["created"]["tx_id"] == src.point.tx_id
    assert source["confirmations"] == 1 and source["required_confirmations"] >= 1
    assert (source["symbol"], source["decimals"], source["amount"]) == ("TUSD", 6, "100000000")
    assert destination["symbol"] == "ADA"
    offsets, deployed = Timelocks.unpack(src.immutables.timelocks)
    assert [s["stage"] for s in source["stages"]] == [
        "src_withdrawal", "src_public_withdrawal", "src_cancellation",
        "src_public_cancellation"]
    assert [s["at"] for s in source["stages"]] == [deployed + o for o in offsets.offsets()[:4]]
    assert [s["stage"] for s in destination["stages"]] == [
        "dst_withdrawal", "dst_public_withdrawal", "dst_cancellation"]

    h.confirm()
    h.clock.advance(20)
    await app.state.parts.settlement.coordinator.tick()
    secret = "0x" + secrets.secrets[0].hex()
    r = await client.post(f"/api/orders/{order_hash}/secrets", headers=JSON,
                          content=to_json({"idx": 0, "secret": secret}))
    assert r.status_code == 200, r.text
    response = await client.get(f"/api/orders/{order_hash}/timeline")
    (fill,) = response.json()["fills"]
    assert fill["status"] == "secret_released" and fill["reasons"] == []
    assert fill["secret_source"] == "maker" and fill["secret_released_at"] == NOW + 50
    assert [s["status"] for s in fill["history"]][-1] == "secret_released"
    assert fill["escrows"][0]["confirmations"] == 4
    assert secrets.secrets[0].hex() not in response.text


def test_every_reason_code_is_explained() -> None:
    assert set(RULES) == set(Withheld)


async def test_only_the_explorers_own_files_are_served(client: httpx.AsyncClient,
                                                       tmp_path: Path) -> None:
    page = await client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp
    assert "http" not in csp  # nothing from another origin, no CDN
    script = await client.get("/explorer/book.js")
    assert script.headers["content-type"].startswith("text/javascript")
    for name in ("book.html", "..%2Fpages.py", "pages.py", "nope.js"):
        r = await client.get(f"/explorer/{name}")
        assert r.status_code == 404, name
    # Without node_modules the chart library is simply not served (the page says so).
    files = asset_files(node_modules=tmp_path)
    assert "uPlot.iife.min.js" not in files and "order.js" in files
