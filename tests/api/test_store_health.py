"""Readiness tells whether the store can commit, and a write never hangs past its deadline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from relayer.api.app import create_app
from relayer.clock import FakeClock
from relayer.errors import StoreError
from relayer.store.base import Checkpoint, NewRecord, Record
from relayer.store.sqlite import SQLiteEventStore
from tests.factories import make_settings, submission, to_json

JSON = {"content-type": "application/json"}


class SickStore:
    """A real SQLite store whose writes can be made to hang (a frozen filesystem) or to
    fail (a full disk) while reads go on working."""

    def __init__(self, inner: SQLiteEventStore) -> None:
        self.inner = inner
        self.frozen = False
        self.full = False
        self._thaw = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def thaw(self) -> None:
        self.frozen = False
        self._thaw.set()

    async def append(self, records: Sequence[NewRecord], *,
                     checkpoint: Checkpoint | None = None) -> list[Record]:
        if self.full:
            raise StoreError("sqlite commit failed: database or disk is full")
        if self.frozen:
            await self._thaw.wait()
        return await self.inner.append(records, checkpoint=checkpoint)


@pytest.fixture
async def sick(tmp_path: Path, clock: FakeClock
               ) -> AsyncIterator[tuple[SickStore, httpx.AsyncClient]]:
    store = SickStore(SQLiteEventStore(tmp_path / "relayer.sqlite3"))
    app = create_app(make_settings(data_dir=str(tmp_path),
                                   **{"store.write_timeout_seconds": 0.3}),
                     store=store, clock=clock, run_scheduler=False)  # type: ignore[arg-type]
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://relayer") as client:
            yield store, client


async def test_a_frozen_store_answers_503_in_time_and_is_not_ready(
        sick: tuple[SickStore, httpx.AsyncClient]) -> None:
    store, client = sick
    ready = await client.get("/health/ready")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready", "reasons": []})
    # The probe writes as much as the largest request body may need (a full disk can
    # still take a one-page write where a submission no longer fits).
    probe = await store.inner.read_checkpoint("health:write-probe")
    assert probe is not None and len(probe.data) > 65_536
    store.frozen = True
    response = await asyncio.wait_for(
        client.post("/api/orders", content=to_json(submission()), headers=JSON), 5)
    assert response.status_code == 503
    assert response.json()["error_code"] == "STORE_TIMEOUT"
    ready = await asyncio.wait_for(client.get("/health/ready"), 5)
    assert (ready.status_code, ready.json()["reasons"]) == (503, ["store_unwritable"])
    assert (await client.get("/health/live")).status_code == 200
    assert (await client.get("/health")).json()["store_writable"] is False
    store.thaw()
    assert (await client.get("/health/ready")).status_code == 200
    created = await client.post("/api/orders", content=to_json(submission()), headers=JSON)
    assert created.status_code == 201, created.text


async def test_a_full_disk_makes_the_replica_unready(
        sick: tuple[SickStore, httpx.AsyncClient]) -> None:
    store, client = sick
    store.full = True
    response = await client.post("/api/orders", content=to_json(submission()), headers=JSON)
    assert (response.status_code, response.json()["error_code"]) == (503, "STORE_UNAVAILABLE")
    ready = await client.get("/health/ready")
    assert (ready.status_code, ready.json()["reasons"]) == (503, ["store_unwritable"])
    store.full = False
    assert (await client.get("/health/ready")).status_code == 200
