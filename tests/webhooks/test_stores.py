"""Registrations and deliveries through the store contract, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from relayer.clock import FakeClock
from relayer.errors import ConflictError, StoreError
from relayer.store import EventStore, open_store
from relayer.webhooks.journal import DeliveryJournal, LostLead, MatchedCursor
from relayer.webhooks.model import Attempt, Delivery, DeliveryStatus, Filters
from relayer.webhooks.registry import WebhookRegistry
from relayer.webhooks.sealing import SecretBox
from relayer.webhooks.validation import Registration
from tests.factories import submission, to_json
from tests.webhooks.conftest import JSON, Keys, running, until, webhook_settings
from tests.webhooks.receiver import Receiver
from tests.webhooks.tls import ReceiverCertificate

KEY = bytes(range(32))


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[EventStore]:
    opened = open_store(store_url)
    await opened.open()
    yield opened
    await opened.close()


def registration(url: str) -> Registration:
    return Registration(url=url, filters=Filters(frozenset({"order_created"}), frozenset(),
                                                 frozenset()), description="")


def delivery(webhook_id: str, n: int) -> Delivery:
    return Delivery(webhook_id=webhook_id, delivery_id=f"dlv_{n}", event="order_created",
                    order_hash=f"0x{n:064x}", body=json.dumps({"n": n}).encode(),
                    created_at=100.0 + n, next_attempt_at=100.0 + n)


async def test_registrations_and_deliveries_rebuild_from_the_store(
        store: EventStore, store_url: str, clock: FakeClock) -> None:
    registry = WebhookRegistry(store=store, box=SecretBox(KEY), clock=clock, max_per_key=5)
    kept, secret = await registry.register("k1", registration("https://a.example/h"))
    dropped, _ = await registry.register("k1", registration("https://b.example/h"))
    await registry.delete("k1", dropped.webhook_id)
    journal = DeliveryJournal(store)
    first, second, third = (delivery(kept.webhook_id, n) for n in range(3))
    await journal.created([first, second])
    await journal.created([third])
    failed = Attempt(number=1, at=200.0, duration_ms=12, status_code=502, error="HTTP 502")
    await journal.attempted(first, failed, DeliveryStatus.PENDING, 202.5)
    ok = Attempt(number=1, at=201.0, duration_ms=3, status_code=200, error="")
    await journal.attempted(second, ok, DeliveryStatus.DELIVERED, None)

    reopened = open_store(store_url)
    await reopened.open()
    try:
        again = WebhookRegistry(store=reopened, box=SecretBox(KEY), clock=clock, max_per_key=5)
        assert await again.rebuild() == 3
        (found,) = again.active()
        assert found.webhook_id == kept.webhook_id and found.secret == secret.encode()
        loaded = {d.delivery_id: d for d in await DeliveryJournal(reopened).load(
            kept.webhook_id)}
    finally:
        await reopened.close()
    assert loaded["dlv_0"].status is DeliveryStatus.PENDING
    assert loaded["dlv_0"].next_attempt_at == 202.5
    assert loaded["dlv_0"].attempts == [failed]
    assert loaded["dlv_1"].status is DeliveryStatus.DELIVERED
    assert loaded["dlv_2"].status is DeliveryStatus.PENDING and loaded["dlv_2"].attempts == []
    assert loaded["dlv_2"].next_attempt_at == 102.0
    assert loaded["dlv_0"].body == first.body


async def test_two_writers_never_lose_a_record(store: EventStore, store_url: str,
                                               clock: FakeClock) -> None:
    registry = WebhookRegistry(store=store, box=SecretBox(KEY), clock=clock, max_per_key=5)
    webhook, _ = await registry.register("k1", registration("https://a.example/h"))
    one, two = DeliveryJournal(store), DeliveryJournal(store)
    await one.created([delivery(webhook.webhook_id, 1)])
    await two.created([delivery(webhook.webhook_id, 2)])  # conflicts, catches up, retries
    await one.created([delivery(webhook.webhook_id, 3)])
    loaded = await DeliveryJournal(store).load(webhook.webhook_id)
    assert sorted(d.delivery_id for d in loaded) == ["dlv_1", "dlv_2", "dlv_3"]

    stale = WebhookRegistry(store=store, box=SecretBox(KEY), clock=clock, max_per_key=5)
    await stale.rebuild()
    await registry.register("k1", registration("https://b.example/h"))
    with pytest.raises(ConflictError) as conflict:
        await stale.register("k1", registration("https://c.example/h"))
    assert conflict.value.code == "CONCURRENT_UPDATE"
    assert len(stale) == 2, "it caught up with the other writer"
    await stale.register("k1", registration("https://c.example/h"))
    assert len(stale) == 3


async def test_restart_resumes_a_retry_on_each_backend(
        store_url: str, tmp_path: Path, clock: FakeClock, keys: Keys,
        certificate: ReceiverCertificate, receiver: Receiver) -> None:
    receiver.plan("/r", 500)
    settings = webhook_settings(tmp_path, keys, certificate, **{"store.url": store_url})
    async with running(settings, clock, keys) as relayer:
        webhook_id = (await relayer.register(url=receiver.url("/r")))["webhook"]["id"]
        response = await relayer.client.post("/api/orders", content=to_json(submission()),
                                             headers=JSON)
        assert response.status_code == 201
        await until(lambda: relayer.webhooks.dispatcher.stats.retries_scheduled == 1)
        (pending,) = await relayer.deliveries(webhook_id)
    async with running(settings, clock, keys) as relayer:
        (resumed,) = await relayer.deliveries(webhook_id)
        assert resumed == pending
        # On PostgreSQL only the leader delivers, once it holds the advisory lock.
        await until(lambda: relayer.webhooks.dispatcher.delivering)
        clock.set(pending["next_attempt_at"])
        assert await relayer.webhooks.run_due() == 1
        await until(lambda: relayer.webhooks.dispatcher.stats.delivered == 1)
        (done,) = await relayer.deliveries(webhook_id)
        assert done["status"] == "delivered"
    bodies: list[Any] = [r.body for r in receiver.on("/r")]
    assert len(bodies) == 2 and bodies[0] == bodies[1]


async def test_the_matched_cursor_fences_a_deposed_leader(store: EventStore) -> None:
    old, new = DeliveryJournal(store), DeliveryJournal(store)
    assert await old.cursor() is None
    stale = MatchedCursor(position=0, version=0)
    await new.advance(stale.advanced(5))  # the new leader moves it first
    with pytest.raises(LostLead):
        await old.created([delivery("wh_1", 1)], cursor=stale.advanced(7))
    assert await old.cursor() == MatchedCursor(position=5, version=1)
    assert await store.read_stream("webhook:wh_1") == [], "nothing of the refused batch"
    await new.created([delivery("wh_1", 2)], cursor=MatchedCursor(5, 1).advanced(9))
    assert await new.cursor() == MatchedCursor(position=9, version=2)


async def test_delivery_bodies_are_sealed_at_rest(store: EventStore, store_url: str,
                                                  clock: FakeClock) -> None:
    """A ``secret_shared`` body carries a released secret: the log never holds it in the
    clear, and it opens again (byte for byte, for the signature) with the key."""
    secret = "0x" + "5e" * 32
    body = json.dumps({"event": "secret_shared", "data": {"secret": secret}}).encode()
    shared = Delivery(webhook_id="wh_1", delivery_id="dlv_s", event="secret_shared",
                      order_hash="0x" + "01" * 32, body=body, created_at=100.0,
                      next_attempt_at=100.0)
    await DeliveryJournal(store, SecretBox(KEY)).created([shared])
    raw = b"".join(r.data for r in await store.read(limit=1_000))
    assert secret[2:].encode() not in raw
    (loaded,) = await DeliveryJournal(store, SecretBox(KEY)).load("wh_1")
    assert loaded.body == body
    with pytest.raises(StoreError):
        await DeliveryJournal(store).load("wh_1")
