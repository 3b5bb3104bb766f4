"""Only the leader delivers: what a lead that starts late owes, and what it must not send.

One relayer on SQLite leads from start to stop; the tests take its lead away
and give it back (``follow`` / ``lead``, what the leader election calls) to
play a failover deterministically: events committed while nobody leads are
matched by the next leader from the log, after the matched cursor.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from relayer.clock import FakeClock
from tests.factories import submission, to_json
from tests.webhooks.conftest import JSON, Keys, Running, running, until, webhook_settings
from tests.webhooks.receiver import Receiver
from tests.webhooks.tls import ReceiverCertificate


async def submit(relayer: Running, salt: str) -> str:
    response = await relayer.client.post("/api/orders", content=to_json(submission(salt=salt)),
                                         headers=JSON)
    assert response.status_code == 201, response.text
    order_hash: str = response.json()["order_hash"]
    return order_hash


def orders_seen(receiver: Receiver, path: str) -> list[str]:
    return [json.loads(r.body)["order_hash"] for r in receiver.on(path)]


async def test_a_new_lead_delivers_what_nobody_matched_and_only_that(
        tmp_path: Path, keys: Keys, certificate: ReceiverCertificate, clock: FakeClock,
        receiver: Receiver) -> None:
    settings = webhook_settings(tmp_path, keys, certificate)
    async with running(settings, clock, keys) as relayer:
        dispatcher = relayer.webhooks.dispatcher
        assert dispatcher.delivering
        one = (await relayer.register(url=receiver.url("/one")))["webhook"]["id"]
        before = await submit(relayer, "1")
        await until(lambda: dispatcher.stats.delivered == 1)

        await dispatcher.follow()  # the lead is lost: another replica would deliver now
        assert not dispatcher.leading
        unled = await submit(relayer, "2")
        assert dispatcher.stats.matched == 1, "a follower does not match logged events"
        two = (await relayer.register(url=receiver.url("/two")))["webhook"]["id"]
        after = await submit(relayer, "3")
        assert dispatcher.stats.matched == 1
        assert len(await relayer.deliveries(one)) == 1 and await relayer.deliveries(two) == []

        assert await dispatcher.lead() == 3
        assert dispatcher.caught_up == 3
        await until(lambda: dispatcher.stats.delivered == 4)
        # Two workers per endpoint: the caught-up pair may arrive in either order.
        assert sorted(orders_seen(receiver, "/one")) == sorted([before, unled, after])
        # Registered after ``unled`` was committed: only what came later.
        assert orders_seen(receiver, "/two") == [after]
        listed = await relayer.deliveries(one)
        assert len(listed) == 3 and {d["status"] for d in listed} == {"delivered"}

        # Live again: the next event is matched as it happens, once.
        latest = await submit(relayer, "4")
        await until(lambda: dispatcher.stats.delivered == 6)
        assert orders_seen(receiver, "/two") == [after, latest]
    ids = [r.headers["x-relayer-delivery"] for r in receiver.requests]
    assert len(ids) == len(set(ids)) == 6


async def test_a_restart_matches_events_its_last_run_left_unrecorded(
        tmp_path: Path, keys: Keys, certificate: ReceiverCertificate, clock: FakeClock,
        receiver: Receiver) -> None:
    settings = webhook_settings(tmp_path, keys, certificate)
    async with running(settings, clock, keys) as relayer:
        await relayer.register(url=receiver.url("/r"))
        first = await submit(relayer, "1")
        await until(lambda: relayer.webhooks.dispatcher.stats.delivered == 1)
        # Lost before its batch was recorded (a crash would lose the queue likewise).
        await relayer.webhooks.dispatcher.follow()
        missed = await submit(relayer, "2")
    async with running(settings, clock, keys) as relayer:
        dispatcher = relayer.webhooks.dispatcher
        assert dispatcher.caught_up == 1
        await until(lambda: dispatcher.stats.delivered == 1)
    assert orders_seen(receiver, "/r") == [first, missed]


async def test_followers_never_send(tmp_path: Path, keys: Keys, certificate: ReceiverCertificate,
                                    clock: FakeClock, receiver: Receiver) -> None:
    receiver.plan("/f", 500)
    settings: Any = webhook_settings(tmp_path, keys, certificate)
    async with running(settings, clock, keys) as relayer:
        dispatcher = relayer.webhooks.dispatcher
        webhook_id = (await relayer.register(url=receiver.url("/f")))["webhook"]["id"]
        await submit(relayer, "1")
        await until(lambda: dispatcher.stats.retries_scheduled == 1)
        await dispatcher.follow()
        (pending,) = await relayer.deliveries(webhook_id)
        clock.set(pending["next_attempt_at"])
        assert await relayer.webhooks.run_due() == 0, "a follower holds no retries"
        assert dispatcher.pending_count(webhook_id) == 1
        assert await dispatcher.lead() == 1  # already due: straight to the workers
        await until(lambda: dispatcher.stats.delivered == 1)
    assert len(receiver.on("/f")) == 2
