"""Deliveries to a real HTTPS receiver: signatures, filters, retries, recording, restart, isolation.

Time moves only by ``FakeClock.advance`` plus an explicit ``run_due``; waiting
is on the receiver's condition or by polling with a deadline.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from relayer.clock import FakeClock
from relayer.config import Settings
from relayer.orders.events import OrderStatusChanged
from relayer.orders.signer import cancel_digest_of, sign_evm
from relayer.orders.status import OrderStatus
from relayer.webhooks.signing import verify
from tests.factories import (
    EVM_MAKER_KEY,
    cardano_address,
    evm_address,
    make_validator,
    submission,
    to_json,
)
from tests.webhooks.conftest import JSON, Keys, Running, running, until, webhook_settings
from tests.webhooks.receiver import HANG, Received, Receiver
from tests.webhooks.tls import ReceiverCertificate


@pytest.fixture
def settings_of(tmp_path: Path, keys: Keys, certificate: ReceiverCertificate) -> Any:
    def make(**overrides: Any) -> Settings:
        return webhook_settings(tmp_path, keys, certificate, **overrides)

    return make


async def submit(relayer: Running, direction: str = "eth_to_ada") -> str:
    response = await relayer.client.post("/api/orders", content=to_json(submission(direction)),
                                         headers=JSON)
    assert response.status_code == 201, response.text
    order_hash: str = response.json()["order_hash"]
    return order_hash


def assert_signed(request: Received, secret: str, now: float) -> dict[str, Any]:
    assert verify(secret.encode(), request.headers["x-relayer-signature"], request.body,
                  now=int(now))
    payload: dict[str, Any] = json.loads(request.body)
    assert request.headers["x-relayer-delivery"] == payload["id"]
    assert request.headers["x-relayer-event"] == payload["event"]
    assert request.headers["content-type"] == "application/json"
    return payload


async def test_signed_delivery_carries_the_public_event(
        settings_of: Any, clock: FakeClock, keys: Keys, receiver: Receiver) -> None:
    async with running(settings_of(), clock, keys) as relayer:
        created = await relayer.register(url=receiver.url("/hook"))
        webhook_id, secret = created["webhook"]["id"], created["secret"]
        order_hash = await submit(relayer)
        (request,) = await receiver.wait_for(1, "/hook")
        payload = assert_signed(request, secret, clock.now())
        assert request.headers["x-relayer-webhook"] == webhook_id
        assert request.headers["x-relayer-attempt"] == "1"
        assert request.headers["x-relayer-signature"].startswith(f"t={int(clock.now())},v1=")
        assert payload["event"] == "order_created" and payload["webhook_id"] == webhook_id
        assert payload["order_hash"] == order_hash
        order = (await relayer.client.get(f"/api/orders/{order_hash}")).json()
        assert payload["data"] == order
        assert not verify(b"whsec_wrong", request.headers["x-relayer-signature"], request.body,
                          now=int(clock.now()))

        await until(lambda: relayer.webhooks.dispatcher.stats.delivered == 1)
        (delivery,) = await relayer.deliveries(webhook_id)
        assert delivery["id"] == payload["id"] and delivery["status"] == "delivered"
        assert delivery["attempts"] == 1 and delivery["last_status_code"] == 200
        assert delivery["last_error"] == "" and delivery["next_attempt_at"] is None
        assert delivery["history"][0]["status_code"] == 200


async def test_filters_by_event_maker_and_chain(
        settings_of: Any, clock: FakeClock, keys: Keys, receiver: Receiver) -> None:
    async with running(settings_of(), clock, keys) as relayer:
        await relayer.register(url=receiver.url("/cancels"), events=["order_cancelled"])
        await relayer.register(url=receiver.url("/evm"), makers=[evm_address()])
        await relayer.register(url=receiver.url("/ada"), makers=[cardano_address()],
                               events=["order_created", "order_cancelled"])
        await relayer.register(url=receiver.url("/cardano"), chains=["cardano"])
        evm_order = await submit(relayer, "eth_to_ada")
        ada_order = await submit(relayer, "ada_to_eth")
        signature = sign_evm(cancel_digest_of(make_validator(), evm_order), EVM_MAKER_KEY)
        cancelled = await relayer.client.request(
            "DELETE", f"/api/orders/{evm_order}", content=to_json({"signature": signature}),
            headers=JSON)
        assert cancelled.status_code == 200, cancelled.text
        # Matching is synchronous on the bus: every match is counted by now.
        assert relayer.webhooks.dispatcher.stats.matched == 1 + 2 + 1 + 3
        await receiver.wait_for(7)

        def seen(path: str) -> list[tuple[str, str]]:
            return [(json.loads(r.body)["event"], json.loads(r.body)["order_hash"])
                    for r in receiver.on(path)]

        assert seen("/cancels") == [("order_cancelled", evm_order)]
        assert sorted(seen("/evm")) == [("order_cancelled", evm_order),
                                        ("order_created", evm_order)]
        assert seen("/ada") == [("order_created", ada_order)]
        assert len(seen("/cardano")) == 3


async def test_failed_attempts_are_retried_with_backoff_and_recorded(
        settings_of: Any, clock: FakeClock, keys: Keys, receiver: Receiver) -> None:
    receiver.plan("/flaky", 500, 503)
    async with running(settings_of(), clock, keys) as relayer:
        created = await relayer.register(url=receiver.url("/flaky"))
        webhook_id, secret = created["webhook"]["id"], created["secret"]
        await submit(relayer)
        dispatcher = relayer.webhooks.dispatcher
        policy = dispatcher.policy
        for attempt in (1, 2):
            await until(lambda n=attempt: dispatcher.stats.retries_scheduled == n)
            (delivery,) = await relayer.deliveries(webhook_id)
            assert delivery["status"] == "pending" and delivery["attempts"] == attempt
            last = delivery["history"][-1]
            assert last["status_code"] == (500, 503)[attempt - 1]
            assert last["error"] == f"HTTP {last['status_code']}"
            assert delivery["last_error"] == last["error"]
            delay = delivery["next_attempt_at"] - last["at"]
            nominal = policy.nominal(attempt)
            assert nominal * (1 - policy.jitter) <= delay <= nominal
            assert await relayer.webhooks.run_due() == 0, "not due before its time"
            clock.advance(delay - 0.01)
            assert await relayer.webhooks.run_due() == 0
            clock.advance(0.01)
            assert await relayer.webhooks.run_due() == 1
            await receiver.wait_for(attempt + 1, "/flaky")
        await until(lambda: dispatcher.stats.delivered == 1)
        (delivery,) = await relayer.deliveries(webhook_id)
        assert delivery["status"] == "delivered" and delivery["attempts"] == 3
        assert [h["status_code"] for h in delivery["history"]] == [500, 503, 200]
        requests = receiver.on("/flaky")
        assert [r.headers["x-relayer-attempt"] for r in requests] == ["1", "2", "3"]
        assert len({r.headers["x-relayer-delivery"] for r in requests}) == 1
        assert len({r.body for r in requests}) == 1, "every attempt sends the same body"
        stamps = [r.headers["x-relayer-signature"].split(",")[0] for r in requests]
        assert len(set(stamps)) == 3, "each attempt is signed with its own timestamp"
        assert_signed(requests[-1], secret, clock.now())


async def test_a_failing_receiver_is_marked_failed_and_others_are_unaffected(
        settings_of: Any, clock: FakeClock, keys: Keys, receiver: Receiver) -> None:
    receiver.plan("/down", 500, 500, 500, 500)
    settings = settings_of(**{"webhooks.max_attempts": 3, "webhooks.retry_jitter": 0.0})
    async with running(settings, clock, keys) as relayer:
        down = (await relayer.register(url=receiver.url("/down")))["webhook"]["id"]
        up = (await relayer.register(keys.other, url=receiver.url("/up")))["webhook"]["id"]
        await submit(relayer)
        await receiver.wait_for(1, "/up")
        dispatcher = relayer.webhooks.dispatcher
        for attempt in (1, 2):
            await until(lambda n=attempt: dispatcher.stats.retries_scheduled == n)
            clock.advance(dispatcher.policy.nominal(attempt))
            assert await relayer.webhooks.run_due() == 1
        await until(lambda: dispatcher.stats.failed == 1)
        (failed,) = await relayer.deliveries(down)
        assert failed["status"] == "failed" and failed["attempts"] == 3
        assert failed["next_attempt_at"] is None and failed["last_error"] == "HTTP 500"
        clock.advance(10_000)
        assert await relayer.webhooks.run_due() == 0
        assert len(receiver.on("/down")) == 3
        (ok,) = await relayer.deliveries(up, keys.other)
        assert ok["status"] == "delivered" and ok["attempts"] == 1
        only_failed = await relayer.deliveries(down, query="?status=failed")
        assert [d["id"] for d in only_failed] == [failed["id"]]
        assert await relayer.deliveries(down, query="?status=delivered") == []


async def test_no_answer_in_time_is_a_failed_attempt(
        settings_of: Any, clock: FakeClock, keys: Keys, receiver: Receiver) -> None:
    receiver.plan("/slow", HANG)
    async with running(settings_of(**{"webhooks.timeout_seconds": 0.3}), clock, keys) as relayer:
        webhook_id = (await relayer.register(url=receiver.url("/slow")))["webhook"]["id"]
        await submit(relayer)
        dispatcher = relayer.webhooks.dispatcher
        await until(lambda: dispatcher.stats.retries_scheduled == 1)
        (delivery,) = await relayer.deliveries(webhook_id)
        assert delivery["history"][0]["status_code"] is None
        assert delivery["last_error"].startswith("timeout")
        clock.advance(dispatcher.policy.nominal(1))
        await relayer.webhooks.run_due()
        await until(lambda: dispatcher.stats.delivered == 1)


async def test_unreachable_and_untrusted_endpoints_are_failed_attempts(
        tmp_path: Path, clock: FakeClock, keys: Keys, certificate: ReceiverCertificate,
        receiver: Receiver) -> None:
    untrusting = webhook_settings(tmp_path, keys, certificate, **{"webhooks.ca_file": ""})
    async with running(untrusting, clock, keys) as relayer:
        webhook_id = (await relayer.register(url=receiver.url("/tls")))["webhook"]["id"]
        await submit(relayer)
        await until(lambda: relayer.webhooks.dispatcher.stats.retries_scheduled == 1)
        (delivery,) = await relayer.deliveries(webhook_id)
        assert delivery["last_status_code"] is None
        assert "CERTIFICATE_VERIFY_FAILED" in delivery["last_error"]
        assert receiver.requests == [], "nothing is sent to an endpoint we cannot verify"


async def test_a_hanging_receiver_never_delays_the_bus_or_other_endpoints(
        settings_of: Any, clock: FakeClock, keys: Keys, receiver: Receiver) -> None:
    receiver.plan("/hang", *[HANG] * 100)
    async with running(settings_of(**{"webhooks.timeout_seconds": 60.0}), clock,
                       keys) as relayer:
        hang = (await relayer.register(url=receiver.url("/hang")))["webhook"]["id"]
        await relayer.register(url=receiver.url("/fast"))
        order_hash = await submit(relayer)
        await receiver.wait_hanging(1)
        bus = relayer.app.state.relayer.bus
        seen: list[object] = []
        unsubscribe = bus.subscribe(OrderStatusChanged, seen.append)
        started = time.perf_counter()
        for n in range(50):
            bus.publish(OrderStatusChanged(order_hash=order_hash, old=OrderStatus.ACTIVE,
                                           new=OrderStatus.INVALID, reason=f"test {n}",
                                           at=int(clock.now())))
        publishing = time.perf_counter() - started
        unsubscribe()
        assert len(seen) == 50, "every other subscriber got every event at once"
        assert publishing < 1.0, publishing
        await receiver.wait_for(51, "/fast")
        await receiver.wait_hanging(2)  # both of the endpoint's workers are stuck
        assert len(receiver.on("/hang")) == 2
        deliveries = await relayer.deliveries(hang, query="?limit=200")
        assert len(deliveries) == 51
        assert all(d["status"] == "pending" and d["attempts"] == 0 for d in deliveries)
        receiver.release()


async def test_overflow_is_dropped_and_counted_without_waiting(
        settings_of: Any, clock: FakeClock, keys: Keys, receiver: Receiver) -> None:
    settings = settings_of(**{"webhooks.queue_size": 5})
    async with running(settings, clock, keys) as relayer:
        await relayer.register(url=receiver.url("/q"))
        order_hash = await submit(relayer)
        await receiver.wait_for(1, "/q")
        dispatcher = relayer.webhooks.dispatcher
        bus = relayer.app.state.relayer.bus
        for n in range(20):
            bus.publish(OrderStatusChanged(order_hash=order_hash, old=OrderStatus.ACTIVE,
                                           new=OrderStatus.INVALID, reason=f"flood {n}",
                                           at=int(clock.now())))
        assert dispatcher.stats.dropped == 15
        await receiver.wait_for(1 + 5, "/q")
        await until(lambda: dispatcher.stats.delivered == 6)


async def test_an_endpoint_backlog_is_bounded(
        settings_of: Any, clock: FakeClock, keys: Keys, receiver: Receiver) -> None:
    receiver.plan("/stuck", *[HANG] * 10)
    settings = settings_of(**{"webhooks.max_pending_per_endpoint": 3,
                              "webhooks.timeout_seconds": 60.0})
    async with running(settings, clock, keys) as relayer:
        stuck = (await relayer.register(url=receiver.url("/stuck")))["webhook"]["id"]
        await relayer.register(url=receiver.url("/free"))
        order_hash = await submit(relayer)
        bus = relayer.app.state.relayer.bus
        dispatcher = relayer.webhooks.dispatcher
        await until(lambda: dispatcher.stats.delivered == 1)
        for n in range(9):
            bus.publish(OrderStatusChanged(order_hash=order_hash, old=OrderStatus.ACTIVE,
                                           new=OrderStatus.INVALID, reason=f"n {n}",
                                           at=int(clock.now())))
            await until(lambda n=n: dispatcher.stats.delivered == n + 2)
        assert dispatcher.stats.dropped == 10 - 3, "only the stuck endpoint drops"
        assert len(receiver.on("/free")) == 10
        assert len(await relayer.deliveries(stuck)) == 3
        receiver.release()


async def test_delivery_pages_newest_first(
        settings_of: Any, clock: FakeClock, keys: Keys, receiver: Receiver) -> None:
    async with running(settings_of(), clock, keys) as relayer:
        webhook_id = (await relayer.register(url=receiver.url("/p")))["webhook"]["id"]
        order_hash = await submit(relayer)
        bus = relayer.app.state.relayer.bus
        for n in range(4):
            bus.publish(OrderStatusChanged(order_hash=order_hash, old=OrderStatus.ACTIVE,
                                           new=OrderStatus.INVALID, reason=f"p {n}",
                                           at=int(clock.now())))
        await until(lambda: relayer.webhooks.dispatcher.stats.delivered == 5)
        everything = await relayer.deliveries(webhook_id)
        assert [d["event"] for d in everything] == ["order_invalid"] * 4 + ["order_created"]
        pages: list[str] = []
        cursor = ""
        while True:
            response = await relayer.client.get(
                f"/api/webhooks/{webhook_id}/deliveries?limit=2{cursor}",
                headers=keys.header(keys.hooks))
            page = response.json()
            pages.extend(d["id"] for d in page["deliveries"])
            if page["next_cursor"] is None:
                break
            cursor = f"&cursor={page['next_cursor']}"
        assert pages == [d["id"] for d in everything]


async def test_pending_retries_resume_after_a_restart(
        settings_of: Any, clock: FakeClock, keys: Keys, receiver: Receiver) -> None:
    receiver.plan("/r", 500)
    settings = settings_of()
    async with running(settings, clock, keys) as relayer:
        created = await relayer.register(url=receiver.url("/r"))
        webhook_id, secret = created["webhook"]["id"], created["secret"]
        await submit(relayer)
        await until(lambda: relayer.webhooks.dispatcher.stats.retries_scheduled == 1)
        (before,) = await relayer.deliveries(webhook_id)
    assert before["status"] == "pending"
    async with running(settings, clock, keys) as relayer:
        (after,) = await relayer.deliveries(webhook_id)
        assert after == before, "status, attempts, last error and next time come from the log"
        assert await relayer.webhooks.run_due() == 0
        clock.set(before["next_attempt_at"])
        assert await relayer.webhooks.run_due() == 1
        first, second = await receiver.wait_for(2, "/r")
        await until(lambda: relayer.webhooks.dispatcher.stats.delivered == 1)
        (done,) = await relayer.deliveries(webhook_id)
        assert done["status"] == "delivered" and done["attempts"] == 2
    assert second.body == first.body
    assert second.headers["x-relayer-delivery"] == first.headers["x-relayer-delivery"]
    assert second.headers["x-relayer-attempt"] == "2"
    assert_signed(second, secret, clock.now())


async def test_deliveries_interrupted_by_shutdown_resume_at_start(
        settings_of: Any, clock: FakeClock, keys: Keys, receiver: Receiver) -> None:
    receiver.plan("/cut", HANG)
    settings = settings_of(**{"webhooks.timeout_seconds": 60.0})
    async with running(settings, clock, keys) as relayer:
        webhook_id = (await relayer.register(url=receiver.url("/cut")))["webhook"]["id"]
        await submit(relayer)
        await receiver.wait_hanging(1)
        await relayer.webhooks.stop(timeout=0.05)  # gives up on the hanging attempt
        (cut,) = await relayer.deliveries(webhook_id)
        assert cut["status"] == "pending" and cut["attempts"] == 0
    receiver.release()
    async with running(settings, clock, keys) as relayer:
        await receiver.wait_for(2, "/cut")
        await until(lambda: relayer.webhooks.dispatcher.stats.delivered == 1)
        (done,) = await relayer.deliveries(webhook_id)
        assert done["id"] == cut["id"] and done["attempts"] == 1


async def test_deleting_a_webhook_stops_its_deliveries(
        settings_of: Any, clock: FakeClock, keys: Keys, receiver: Receiver) -> None:
    receiver.plan("/del", 500)
    async with running(settings_of(), clock, keys) as relayer:
        webhook_id = (await relayer.register(url=receiver.url("/del")))["webhook"]["id"]
        await submit(relayer)
        await until(lambda: relayer.webhooks.dispatcher.stats.retries_scheduled == 1)
        view = await relayer.client.get(f"/api/webhooks/{webhook_id}",
                                        headers=keys.header(keys.hooks))
        assert view.json()["pending_deliveries"] == 1
        response = await relayer.client.delete(f"/api/webhooks/{webhook_id}",
                                               headers=keys.header(keys.hooks))
        assert response.json()["status"] == "deleted"
        assert response.json()["pending_deliveries"] == 0
        clock.advance(600)
        assert await relayer.webhooks.run_due() == 0
        await submit(relayer, "ada_to_eth")
        assert relayer.webhooks.dispatcher.stats.matched == 1
    assert len(receiver.on("/del")) == 1
