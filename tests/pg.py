"""A real PostgreSQL server for the tests: Debian's binaries in a temporary directory.

``postgres_server`` (one per test session) runs ``initdb`` and ``pg_ctl`` on a
free loopback port. PostgreSQL refuses to run as root, so under root the
server runs as the ``postgres`` user (``setpriv``). ``pg_url`` gives each test
a fresh, empty database on that server. Tests skip only when the binaries are
not installed (``.ci/run`` and ``make test`` install Debian's ``postgresql``;
with ``REQUIRE_POSTGRES`` set, as ``.ci/run`` does, they fail instead).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from devnet.process import free_port


def find_bindir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``, newest version first."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                        key=lambda p: int(Path(p).parent.name), reverse=True)
    for found in (*candidates, *(str(Path(w).parent) for w in (shutil.which("initdb"),) if w)):
        if (Path(found) / "initdb").exists() and (Path(found) / "pg_ctl").exists():
            return Path(found)
    return None


@dataclass
class PostgresServer:
    bindir: Path
    root: Path
    port: int
    user: str | None
    """The system user the server runs as (``None``: the current user)."""

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        prefix: list[str] = []
        if self.user is not None:
            prefix = ["setpriv", f"--reuid={self.user}", f"--regid={self.user}",
                      "--init-groups", "--"]
        result = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed: {result.stdout}{result.stderr}")

    def start(self) -> None:
        data = self.root / "data"
        self._run(str(self.bindir / "initdb"), "-D", str(data), "-U", "postgres",
                  "--auth=trust", "-E", "UTF8", "--no-sync")
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} "
                   f"-c unix_socket_directories={self.root} -c max_connections=300 "
                   "-c shared_buffers=64MB")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-l",
                  str(self.root / "server.log"), "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast",
                  "-w", "stop")


def start_server() -> PostgresServer:
    """Start a throwaway server (the caller stops it and removes ``root``)."""
    bindir = find_bindir()
    if bindir is None:
        reason = "PostgreSQL binaries not installed (apt-get install postgresql)"
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail(reason + "; REQUIRE_POSTGRES is set (CI)")
        pytest.skip(reason)
    user = None
    root = Path(tempfile.mkdtemp(prefix="relayer-pg-"))
    if os.geteuid() == 0:
        user = "postgres"
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            user = "nobody"
            entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    server = PostgresServer(bindir=bindir, root=root, port=free_port(), user=user)
    server.start()
    return server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = start_server()
    try:
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
async def pg_url(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """A fresh database for one test, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(postgres_server.admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield postgres_server.url(name)
    admin = await asyncpg.connect(postgres_server.admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
