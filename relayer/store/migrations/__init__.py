"""Versioned PostgreSQL schema migrations: ``NNNN_name.sql`` files applied in order.

``schema_migrations`` records every version applied. ``migrate`` runs under a
session advisory lock, so replicas that start together apply each migration
once: the others wait, then find nothing left to do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import asyncpg

from relayer.errors import StoreError

MIGRATION_LOCK_KEY = 0x726C793A6D696772
"""The advisory lock key held while migrating (``b"rly:migr"``)."""

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def known_migrations() -> list[Migration]:
    """Every migration shipped with this relayer, oldest first."""
    found = []
    for entry in resources.files(__package__).iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text()))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise StoreError(f"migration files are not numbered 1..n: {versions}")
    return found


async def migrate(conn: asyncpg.Connection) -> int:
    """Apply what is missing; the schema version afterwards."""
    known = known_migrations()
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY,"
            " name TEXT NOT NULL,"
            " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        applied = {row["version"] for row in
                   await conn.fetch("SELECT version FROM schema_migrations")}
        newest = known[-1].version if known else 0
        if applied and max(applied) > newest:
            raise StoreError(
                f"the database schema is at version {max(applied)}, newer than this "
                f"relayer knows ({newest}): upgrade the relayer",
                details={"schema_version": max(applied), "known": newest})
        for migration in known:
            if migration.version in applied:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    migration.version, migration.name)
        return newest
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)


async def schema_version(conn: asyncpg.Connection) -> int:
    """The newest applied migration (0 for an empty database)."""
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return 0
    version = await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
    return int(version)
