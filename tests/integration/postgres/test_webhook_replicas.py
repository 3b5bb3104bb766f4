"""Webhooks with two ``relayer serve`` processes on one PostgreSQL and a real HTTPS receiver.

Every replica sees every event, only the leader sends: each endpoint gets each
event once, whichever replica committed it. When the leader is killed with a
delivery still failing, the survivor takes over, retries that delivery (same
id, same body) and delivers what was committed while nobody led.
"""

from __future__ import annotations

import json
import secrets
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from devnet.process import RelayerProcess, wait_until
from relayer.security.keys import NewKey, generate_key
from relayer.security.principal import Scope
from tests.integration.postgres.test_replicas import (
    TIMEOUT,
    health,
    leader_and_follower,
    order,
    replica_env,
    submit,
)
from tests.webhooks.receiver import Received, Receiver
from tests.webhooks.tls import ReceiverCertificate, make_certificate

pytestmark = pytest.mark.integration


@pytest.fixture
def certificate(tmp_path: Path) -> ReceiverCertificate:
    return make_certificate(tmp_path)


@pytest.fixture
async def receiver(certificate: ReceiverCertificate) -> AsyncIterator[Receiver]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate.cert, certificate.key)
    found = Receiver(context)
    await found.start()
    yield found
    await found.close()


@pytest.fixture
def key(tmp_path: Path) -> tuple[NewKey, Path]:
    made = generate_key(frozenset({Scope.WEBHOOKS}))
    path = tmp_path / "keys.jsonl"
    path.write_text(made.stored.to_line() + "\n")
    return made, path


@pytest.fixture
async def replicas(pg_url: str, tmp_path: Path, certificate: ReceiverCertificate,
                   receiver: Receiver, key: tuple[NewKey, Path]
                   ) -> AsyncIterator[list[RelayerProcess]]:
    """Two replicas, stopped before the receiver closes."""
    env = {
        **replica_env(pg_url),
        "RELAYER_SECURITY_API_KEYS_FILE": str(key[1]),
        "RELAYER_SECURITY_RATE_LIMIT_ENABLED": "false",
        # Every replica must open the secrets another one sealed: one key for all.
        "RELAYER_WEBHOOKS_SECRET_KEY": secrets.token_hex(32),
        "RELAYER_WEBHOOKS_CA_FILE": str(certificate.cert),
        "RELAYER_WEBHOOKS_ALLOW_PRIVATE_HOSTS": "true",
        "RELAYER_WEBHOOKS_TIMEOUT_SECONDS": "5",
        "RELAYER_WEBHOOKS_MAX_ATTEMPTS": "50",
        "RELAYER_WEBHOOKS_RETRY_INITIAL_SECONDS": "0.3",
        "RELAYER_WEBHOOKS_RETRY_MAX_SECONDS": "0.6",
        "RELAYER_WEBHOOKS_RETRY_POLL_SECONDS": "0.1",
    }
    servers = [RelayerProcess(tmp_path / name, env=env) for name in "ab"]
    try:
        for server in servers:
            await server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


async def register(server: RelayerProcess, key: NewKey, url: str) -> str:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        r = await http.post("/api/webhooks", json={"url": url, "events": ["order_created"]},
                            headers={"authorization": f"Bearer {key.api_key}"})
    assert r.status_code == 201, r.text
    webhook_id: str = r.json()["webhook"]["id"]
    return webhook_id


async def deliveries(server: RelayerProcess, key: NewKey, webhook_id: str
                     ) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        r = await http.get(f"/api/webhooks/{webhook_id}/deliveries",
                           headers={"authorization": f"Bearer {key.api_key}"})
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["deliveries"]
    return found


async def scrape(server: RelayerProcess) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        text = (await http.get("/metrics")).text
    return {sample.name: sample.value for family in text_string_to_metric_families(text)
            for sample in family.samples if not sample.labels}


def order_hashes(requests: list[Received]) -> list[str]:
    return [json.loads(r.body)["order_hash"] for r in requests]


async def test_each_event_reaches_an_endpoint_once_whichever_replica_commits_it(
        replicas: list[RelayerProcess], receiver: Receiver, key: tuple[NewKey, Path]) -> None:
    leader, follower = await leader_and_follower(replicas)
    # Registered through the follower: the leader learns of it from the log.
    webhook_id = await register(follower, key[0], receiver.url("/once"))
    created = []
    for n in range(6):
        server = follower if n % 2 else leader
        created.append((await submit(server, order(salt=str(100 + n))))["order_hash"])

    got = await receiver.wait_for(6, "/once", timeout=TIMEOUT)
    assert sorted(order_hashes(got)) == sorted(created)

    async def both_list_six_delivered() -> bool:
        for server in replicas:
            listed = await deliveries(server, key[0], webhook_id)
            if len(listed) != 6 or any(d["status"] != "delivered" for d in listed):
                return False
        return True

    # The follower lists what the leader delivered (folded from the log), so by now any
    # copy the follower would have sent has been sent too.
    await wait_until(both_list_six_delivered, timeout=TIMEOUT, what="six deliveries listed")
    requests = receiver.on("/once")
    assert len(requests) == 6, order_hashes(requests)
    assert len({r.headers["x-relayer-delivery"] for r in requests}) == 6
    assert all(r.headers["x-relayer-attempt"] == "1" for r in requests)

    async def caught_up() -> bool:
        lags = [(await scrape(server))["relayer_fanout_lag_events"] for server in replicas]
        return lags == [0, 0]

    await wait_until(caught_up, timeout=TIMEOUT, what="no fan-out lag")
    on_leader, on_follower = await scrape(leader), await scrape(follower)
    assert on_leader["relayer_replica_leader"] == 1 and on_follower["relayer_replica_leader"] == 0
    assert on_leader["relayer_replica_elections_total"] == 1
    assert on_follower["relayer_replica_elections_total"] == 0
    assert on_leader["relayer_store_schema_version"] == 1
    assert on_follower["relayer_store_schema_version"] == 1
    assert on_leader["relayer_fanout_applied_position"] == \
        on_follower["relayer_fanout_applied_position"] > 0


async def test_after_kill_9_of_the_leader_the_survivor_delivers_what_was_pending(
        replicas: list[RelayerProcess], receiver: Receiver, key: tuple[NewKey, Path]) -> None:
    leader, follower = await leader_and_follower(replicas)
    receiver.plan("/flaky", *([500] * 1000))  # fails until the plan is cleared
    webhook_id = await register(leader, key[0], receiver.url("/flaky"))
    failing = (await submit(follower, order(salt="201")))["order_hash"]
    (first,) = await receiver.wait_for(1, "/flaky", timeout=TIMEOUT)
    assert json.loads(first.body)["order_hash"] == failing

    leader.kill9()
    # Committed while nobody leads: no replica has matched it when the survivor takes over.
    unmatched = (await submit(follower, order(salt="202")))["order_hash"]
    receiver.plans["/flaky"] = []  # the endpoint recovers: every answer is 200 from now

    async def leading() -> bool:
        return (await health(follower))["replica"]["role"] == "leader"

    await wait_until(leading, timeout=TIMEOUT, what="the follower to take over")

    async def both_delivered() -> bool:
        listed = await deliveries(follower, key[0], webhook_id)
        return len(listed) == 2 and all(d["status"] == "delivered" for d in listed)

    await wait_until(both_delivered, timeout=TIMEOUT, what="both deliveries delivered")
    by_order: dict[str, list[Received]] = {}
    for request in receiver.on("/flaky"):
        by_order.setdefault(json.loads(request.body)["order_hash"], []).append(request)
    assert set(by_order) == {failing, unmatched}
    retried = by_order[failing]
    assert len(retried) >= 2, "failed on the old leader, delivered by the new one"
    assert {r.headers["x-relayer-delivery"] for r in retried} == \
        {first.headers["x-relayer-delivery"]}, "one delivery, retried: never a second one"
    assert {r.body for r in retried} == {first.body}
    assert len(by_order[unmatched]) == 1
    metrics = await scrape(follower)
    assert metrics["relayer_replica_leader"] == 1
    assert metrics["relayer_replica_elections_total"] == 1
