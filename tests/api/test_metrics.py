"""/metrics: the documented series with sensible values, route templates, no hashes."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from relayer.api.app import create_app
from relayer.chains.status import ChainStatus
from relayer.clock import FakeClock
from relayer.metrics import Metrics, NoWebSocketStats, ReplicaReading
from relayer.orders.wire import AuctionWire
from relayer.settlement.policy import Withheld
from tests.factories import NOW, make_settings, submission, to_json

JSON = {"content-type": "application/json"}


class StaticMonitor:
    """A monitor whose status the test sets by hand (metrics only read ``status()``)."""

    def __init__(self, status: ChainStatus) -> None:
        self.current = status

    @property
    def name(self) -> str:
        return self.current.chain

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def status(self) -> ChainStatus:
        return self.current


class FixedWebSocketStats:
    def stats(self) -> NoWebSocketStats:
        return NoWebSocketStats(connections=3, subscriptions=5, accepted=9, rejected=2,
                                messages_sent=120, slow_closed=1, oversized_closed=4,
                                queued=11, max_queue=6)


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    return found[(name, frozenset(labels.items()))]


@pytest.fixture
def monitors() -> list[StaticMonitor]:
    return [
        StaticMonitor(ChainStatus(chain="ethereum", connected=True, head=120, processed=118,
                                  max_lag=5, reorgs=2, rpc_errors=4)),
        StaticMonitor(ChainStatus(chain="cardano", connected=False, head=None, processed=None,
                                  max_lag=30, detail="ogmios refused the connection")),
    ]


@pytest.fixture
async def app(tmp_path: Path, clock: FakeClock, monitors: list[StaticMonitor]
              ) -> AsyncIterator[Starlette]:
    application = create_app(make_settings(data_dir=str(tmp_path)), clock=clock,
                             monitors=monitors, run_scheduler=False)
    async with application.router.lifespan_context(application):
        yield application


async def scrape(client: httpx.AsyncClient) -> tuple[str, Samples]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return response.text, samples(response.text)


async def test_http_series_use_route_templates_and_never_hashes(
        client: httpx.AsyncClient) -> None:
    response = await client.post("/api/orders", content=to_json(submission()), headers=JSON)
    assert response.status_code == 201
    order_hash = response.json()["order_hash"]
    for _ in range(2):
        assert (await client.get(f"/api/orders/{order_hash}")).status_code == 200
    assert (await client.get("/api/orders/0x" + "ab" * 32)).status_code == 404
    assert (await client.get("/no/such/path")).status_code == 404
    assert (await client.get("/api/orders", headers={"x-api-key": "wrong"})).status_code == 401
    assert (await client.put("/api/orders")).status_code == 405

    text, found = await scrape(client)
    assert order_hash not in text and order_hash[2:] not in text
    assert "0xabab" not in text and "/no/such/path" not in text
    requests = "relayer_http_requests_total"
    assert value(found, requests, route="/api/orders", method="POST", status="201") == 1
    assert value(found, requests, route="/api/orders/{order_hash}", method="GET",
                 status="200") == 2
    assert value(found, requests, route="/api/orders/{order_hash}", method="GET",
                 status="404") == 1
    assert value(found, requests, route="<unmatched>", method="GET", status="404") == 1
    # Refused before routing, still counted under the route that would have served it.
    assert value(found, requests, route="/api/orders", method="GET", status="401") == 1
    assert value(found, requests, route="/api/orders", method="PUT", status="405") == 1
    assert value(found, "relayer_http_request_duration_seconds_count",
                 route="/api/orders/{order_hash}", method="GET") == 3
    assert value(found, "relayer_http_request_duration_seconds_bucket",
                 route="/api/orders", method="POST", le="+Inf") == 1
    assert value(found, "relayer_auth_refusals_total", code="AUTH_INVALID") == 1
    # Every label value is from a bounded set: no hex strings, no raw paths.
    for (_name, labels) in found:
        for _label, label_value in labels:
            assert not re.search(r"[0-9a-fA-F]{16}", label_value), label_value


async def test_state_series_are_read_at_scrape_time(
        client: httpx.AsyncClient, app: Starlette, clock: FakeClock,
        monitors: list[StaticMonitor]) -> None:
    later = AuctionWire(start_time=NOW + 100, duration=60, initial_rate_bump=1000)
    for sub in (submission(), submission(salt="7", auction=later)):
        assert (await client.post("/api/orders", content=to_json(sub),
                                  headers=JSON)).status_code == 201
    _, found = await scrape(client)
    assert value(found, "relayer_orders", status="active") == 1
    assert value(found, "relayer_orders", status="pending") == 1
    assert value(found, "relayer_orders", status="filled") == 0
    assert value(found, "relayer_store_operation_duration_seconds_count",
                 operation="append") == 2
    assert value(found, "relayer_store_ping_seconds") > 0

    assert value(found, "relayer_chain_head", chain="ethereum") == 120
    assert value(found, "relayer_chain_processed", chain="ethereum") == 118
    assert value(found, "relayer_chain_lag", chain="ethereum") == 2
    assert value(found, "relayer_chain_healthy", chain="ethereum") == 1
    assert value(found, "relayer_chain_reorgs_total", chain="ethereum") == 2
    assert value(found, "relayer_chain_rpc_errors_total", chain="ethereum") == 4
    assert value(found, "relayer_chain_connected", chain="cardano") == 0
    assert value(found, "relayer_chain_healthy", chain="cardano") == 0
    assert ("relayer_chain_head", frozenset({("chain", "cardano")})) not in found

    # The auction job, as the scheduler runs it: the pending order starts.
    relayer = app.state.relayer
    clock.advance(100)
    await relayer.metrics.timed_tick(app.state.parts.decayer.tick)()
    monitors[0].current = ChainStatus(chain="ethereum", connected=True, head=140,
                                      processed=120, max_lag=5, reorgs=3)
    _, found = await scrape(client)
    assert value(found, "relayer_decayer_ticks_total") == 1
    assert value(found, "relayer_decayer_tick_duration_seconds_count") == 1
    assert value(found, "relayer_decayer_transitions_total", to="active") == 1
    assert value(found, "relayer_decayer_transitions_total", to="expired") == 0
    assert value(found, "relayer_orders", status="active") == 2
    assert value(found, "relayer_chain_lag", chain="ethereum") == 20
    assert value(found, "relayer_chain_healthy", chain="ethereum") == 0
    assert value(found, "relayer_chain_reorgs_total", chain="ethereum") == 3


async def test_bus_errors_websockets_and_secret_hooks(client: httpx.AsyncClient,
                                                      app: Starlette) -> None:
    relayer = app.state.relayer
    _, found = await scrape(client)
    assert value(found, "relayer_websocket_connections") == 0  # no hub wired: zero
    for reason in Withheld:
        assert value(found, "relayer_secrets_withheld_total", reason=reason.value) == 0
    assert value(found, "relayer_secrets_released_total", source="maker") == 0

    def failing(event: object) -> None:
        raise RuntimeError("subscriber bug")

    relayer.bus.subscribe(str, failing)
    relayer.bus.publish("an event")
    relayer.metrics.watch_websockets(FixedWebSocketStats())
    relayer.metrics.secret_withheld([Withheld.DST_NOT_FINAL, Withheld.SRC_NOT_FINAL])
    relayer.metrics.secret_withheld([Withheld.DST_NOT_FINAL])
    relayer.metrics.secret_released("maker")
    _, found = await scrape(client)
    handler = "test_bus_errors_websockets_and_secret_hooks.<locals>.failing"
    assert value(found, "relayer_event_handler_errors_total", handler=handler) == 1
    assert value(found, "relayer_websocket_connections") == 3
    assert value(found, "relayer_websocket_subscriptions") == 5
    assert value(found, "relayer_websocket_accepted_total") == 9
    assert value(found, "relayer_websocket_rejected_total") == 2
    assert value(found, "relayer_websocket_messages_sent_total") == 120
    assert value(found, "relayer_websocket_dropped_total", reason="slow") == 1
    assert value(found, "relayer_websocket_dropped_total", reason="oversized") == 4
    assert value(found, "relayer_websocket_queued_messages") == 11
    assert value(found, "relayer_websocket_max_queue") == 6
    assert value(found, "relayer_secrets_withheld_total", reason="DST_NOT_FINAL") == 2
    assert value(found, "relayer_secrets_withheld_total", reason="SRC_NOT_FINAL") == 1
    assert value(found, "relayer_secrets_released_total", source="maker") == 1
    assert value(found, "relayer_build_info", version="0.1.0") == 1


def test_each_app_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.decayer_ticks.inc()
    assert "relayer_decayer_ticks_total 1.0" in first.render().decode()
    assert "relayer_decayer_ticks_total 0.0" in second.render().decode()


async def test_replica_series_of_a_sole_replica(client: httpx.AsyncClient,
                                                app: Starlette) -> None:
    assert (await client.post("/api/orders", content=to_json(submission()),
                              headers=JSON)).status_code == 201
    _, found = await scrape(client)
    relayer = app.state.relayer
    assert value(found, "relayer_replica_leader") == 1
    assert value(found, "relayer_replica_elections_total") == 1
    assert value(found, "relayer_fanout_lag_events") == 0
    assert value(found, "relayer_fanout_applied_position") == relayer.log_position() >= 1
    assert value(found, "relayer_store_schema_version") == relayer.store.schema_version >= 1


class FollowerReading:
    def reading(self) -> ReplicaReading:
        return ReplicaReading(leader=False, elections=2, schema_version=3, log_head=40,
                              applied=33)


def test_replica_series_of_a_follower_behind_the_log() -> None:
    metrics = Metrics()
    default = samples(metrics.render().decode())
    assert value(default, "relayer_replica_leader") == 1, "unwired: a sole leader"
    assert value(default, "relayer_fanout_lag_events") == 0
    metrics.watch_replica(FollowerReading())
    found = samples(metrics.render().decode())
    assert value(found, "relayer_replica_leader") == 0
    assert value(found, "relayer_replica_elections_total") == 2
    assert value(found, "relayer_fanout_lag_events") == 7
    assert value(found, "relayer_fanout_applied_position") == 33
    assert value(found, "relayer_store_schema_version") == 3
