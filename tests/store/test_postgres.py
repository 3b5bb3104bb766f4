"""The contract suite on a real PostgreSQL, plus what only a shared database can show:
two stores (two replicas) on one database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from relayer.errors import StoreError
from relayer.store import open_store
from relayer.store.base import VersionConflict
from relayer.store.migrations import known_migrations, schema_version
from relayer.store.postgres import PostgresEventStore
from tests.store.contract import StoreContract, next_record, rec


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def fresh_store(self, pg_url: str) -> PostgresEventStore:
        return PostgresEventStore(pg_url)

    @pytest.fixture
    def reopen(self, pg_url: str) -> PostgresEventStore:
        return PostgresEventStore(pg_url)


@pytest.fixture
async def replicas(pg_url: str) -> AsyncIterator[tuple[PostgresEventStore, PostgresEventStore]]:
    """Two stores opened at the same moment on one empty database."""
    one, two = PostgresEventStore(pg_url), PostgresEventStore(pg_url)
    await asyncio.gather(one.open(), two.open())
    try:
        yield one, two
    finally:
        await asyncio.gather(one.close(), two.close())


def test_open_store_selects_postgres_by_url() -> None:
    assert isinstance(open_store("postgresql://u@h/db"), PostgresEventStore)
    assert isinstance(open_store("postgres://u@h/db"), PostgresEventStore)


async def test_replicas_starting_together_migrate_once(
        pg_url: str, replicas: tuple[PostgresEventStore, PostgresEventStore]) -> None:
    newest = known_migrations()[-1].version
    assert [r.schema_version for r in replicas] == [newest, newest]
    conn = await asyncpg.connect(pg_url)
    try:
        rows = await conn.fetch("SELECT version, name FROM schema_migrations ORDER BY version")
        assert [(r["version"], r["name"]) for r in rows] == [
            (m.version, m.name) for m in known_migrations()]
        assert await schema_version(conn) == newest
    finally:
        await conn.close()


async def test_refuses_a_schema_newer_than_it_knows(pg_url: str) -> None:
    store = PostgresEventStore(pg_url)
    await store.open()
    await store.close()
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute("INSERT INTO schema_migrations (version, name) VALUES (999, 'x')")
    finally:
        await conn.close()
    with pytest.raises(StoreError, match="newer than this relayer"):
        await PostgresEventStore(pg_url).open()


async def test_unreachable_database_is_a_store_error() -> None:
    store = PostgresEventStore("postgresql://nobody@127.0.0.1:1/none", command_timeout=2)
    with pytest.raises(StoreError, match="cannot open"):
        await store.open()


async def test_two_replicas_share_one_gap_free_log(
        replicas: tuple[PostgresEventStore, PostgresEventStore]) -> None:
    one, two = replicas
    results = await asyncio.gather(
        *(store.append([rec(f"s{i % 30}", 1), rec(f"t{i}", 1)])
          for i in range(60) for store in (one, two) if i % 2 == (store is two)),
        return_exceptions=True)
    conflicts = [r for r in results if isinstance(r, BaseException)]
    assert len(conflicts) == 30 and all(isinstance(c, VersionConflict) for c in conflicts)
    positions = [r.position for r in await one.read(limit=1000)]
    assert positions == list(range(1, 61))
    assert await two.last_position() == 60


async def test_a_replica_follows_commits_of_another(
        replicas: tuple[PostgresEventStore, PostgresEventStore]) -> None:
    one, two = replicas
    await one.append([rec("before", 1)])
    feed = two.follow(after=0)
    try:
        assert (await next_record(feed)).stream == "before"
        assert two.listener_connected
        (written,) = await one.append([rec("after", 1)])
        assert await next_record(feed) == written
        assert two.signal.heard >= written.position
    finally:
        await feed.aclose()


async def test_follower_catches_up_after_its_listen_connection_is_killed(
        pg_url: str, replicas: tuple[PostgresEventStore, PostgresEventStore]) -> None:
    one, two = replicas
    feed = two.follow(after=0)
    try:
        await one.append([rec("a", 1)])
        assert (await next_record(feed)).stream == "a"
        admin = await asyncpg.connect(pg_url)
        try:
            killed = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database()"
                " AND application_name = 'relayer-listen'")
        finally:
            await admin.close()
        assert killed == 1
        await one.append([rec("b", 1)])
        await one.append([rec("c", 1)])
        assert [(await next_record(feed)).stream for _ in range(2)] == ["b", "c"]
    finally:
        await feed.aclose()
