"""Two apps in this process on one PostgreSQL, under a fake clock: what a follower sees of
the leader's work, and what it does itself."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from devnet.process import wait_until
from relayer.api.app import create_app
from relayer.api.context import Relayer
from relayer.clock import FakeClock
from relayer.orders.events import OrderStatusChanged, OrderSubmitted
from relayer.orders.status import OrderStatus
from relayer.pricing.component import FollowerPrices
from relayer.pricing.events import PriceUpdated
from tests.factories import NOW, make_settings, submission, to_json

pytestmark = pytest.mark.integration

TIMEOUT = 15.0


class Replica:
    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.events: list[Any] = []
        self.relayer.bus.subscribe(None, self.events.append)

    @property
    def relayer(self) -> Relayer:
        relayer: Relayer = self.app.state.relayer
        return relayer

    @property
    def leads(self) -> bool:
        assert self.relayer.replica is not None
        return self.relayer.replica.leadership.is_leader

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),
                                 base_url="http://relayer")

    def count(self, kind: type[Any], order_hash: str) -> int:
        return sum(1 for e in self.events
                   if isinstance(e, kind) and e.order_hash == order_hash)


@pytest.fixture
async def pair(pg_url: str, tmp_path: Path, clock: FakeClock
               ) -> AsyncIterator[tuple[Replica, Replica]]:
    """(leader, follower), both started and settled."""
    async with contextlib.AsyncExitStack() as stack:
        replicas = []
        for name in ("a", "b"):
            settings = make_settings(data_dir=str(tmp_path / name), **{
                "store.url": pg_url, "store.leader_takeover_seconds": 2.0,
                "store.poll_seconds": 0.2})
            app = create_app(settings, clock=clock, run_scheduler=False)
            await stack.enter_async_context(app.router.lifespan_context(app))
            replicas.append(Replica(app))

        async def one_leader() -> bool:
            return sum(r.leads for r in replicas) == 1

        await wait_until(one_leader, timeout=TIMEOUT, what="one leader")
        leader = next(r for r in replicas if r.leads)
        follower = next(r for r in replicas if not r.leads)
        yield leader, follower


async def test_the_follower_applies_and_publishes_the_leaders_work_once(
        pair: tuple[Replica, Replica], clock: FakeClock) -> None:
    leader, follower = pair
    async with follower.http() as http:
        r = await http.post("/api/orders", content=to_json(submission(now=NOW)),
                            headers={"content-type": "application/json"})
    assert r.status_code == 201, r.text
    order_hash = r.json()["order_hash"]

    async def leader_has_it() -> bool:
        return leader.relayer.desk.book.get(order_hash) is not None

    await wait_until(leader_has_it, timeout=TIMEOUT, what="the leader to apply the order")
    assert leader.count(OrderSubmitted, order_hash) == 1

    clock.advance(3_601)  # past the deadline: the leader's auction job expires it
    result = await leader.app.state.parts.decayer.tick()
    assert result.expired == 1

    async def follower_sees_expiry() -> bool:
        entry = follower.relayer.desk.book.get(order_hash)
        return entry is not None and entry.status is OrderStatus.EXPIRED

    await wait_until(follower_sees_expiry, timeout=TIMEOUT, what="the expiry on the follower")
    for replica in (leader, follower):
        assert replica.count(OrderSubmitted, order_hash) == 1
        assert replica.count(OrderStatusChanged, order_hash) == 1
    assert follower.relayer.log_position() == leader.relayer.log_position()
    assert follower.relayer.replica is not None
    status = await follower.relayer.replica.status()
    assert status["role"] == "follower" and status["fanout_lag"] == 0
    assert status["applied_from_others"] == 1


async def test_a_follower_publishes_price_ticks_to_its_own_clients(
        pair: tuple[Replica, Replica], clock: FakeClock) -> None:
    leader, follower = pair
    async with leader.http() as http:
        r = await http.post("/api/orders", content=to_json(submission(now=NOW)),
                            headers={"content-type": "application/json"})
    order_hash = r.json()["order_hash"]

    async def follower_has_it() -> bool:
        return follower.relayer.desk.book.get(order_hash) is not None

    await wait_until(follower_has_it, timeout=TIMEOUT, what="the order on the follower")
    ticks = []
    for replica in (leader, follower):
        relayer = replica.relayer
        assert relayer.replica is not None
        ticks.append(FollowerPrices(board=replica.app.state.parts.decayer.board, bus=relayer.bus,
                                    clock=clock, base_fee=relayer.base_fee,
                                    leadership=relayer.replica.leadership))
    clock.advance(30)
    assert ticks[0].tick() == 0, "the leader's auction job publishes its prices"
    assert ticks[1].tick() == 1
    (price,) = [e for e in follower.events if isinstance(e, PriceUpdated)]
    assert price.order_hash == order_hash and price.taking_amount > 0
    assert not [e for e in leader.events if isinstance(e, PriceUpdated)]
