from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from relayer.api.app import create_app
from relayer.clock import FakeClock
from relayer.config import Settings
from relayer.security.keys import NewKey, generate_key
from relayer.security.principal import Scope
from relayer.webhooks.component import Webhooks
from tests.factories import make_settings
from tests.webhooks.receiver import Receiver
from tests.webhooks.tls import ReceiverCertificate, make_certificate

JSON = {"content-type": "application/json"}


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> ReceiverCertificate:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
async def receiver(certificate: ReceiverCertificate) -> AsyncIterator[Receiver]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate.cert, certificate.key)
    found = Receiver(context)
    await found.start()
    yield found
    await found.close()


@dataclass
class Keys:
    hooks: NewKey
    """webhooks scope only."""
    secrets: NewKey
    """webhooks and secrets."""
    other: NewKey
    """webhooks scope, another integrator."""
    reader: NewKey
    """read scope only: no webhooks."""
    path: Path

    def header(self, key: NewKey) -> dict[str, str]:
        return {"authorization": f"Bearer {key.api_key}"}


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    found = Keys(hooks=generate_key(frozenset({Scope.WEBHOOKS})),
                 secrets=generate_key(frozenset({Scope.WEBHOOKS, Scope.SECRETS})),
                 other=generate_key(frozenset({Scope.WEBHOOKS})),
                 reader=generate_key(frozenset({Scope.READ})),
                 path=tmp_path / "keys.jsonl")
    found.path.write_text("".join(k.stored.to_line() + "\n"
                                  for k in (found.hooks, found.secrets, found.other, found.reader)))
    return found


def webhook_settings(tmp_path: Path, keys: Keys, certificate: ReceiverCertificate,
                     **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": str(tmp_path / "data"),
        "security.api_keys_file": str(keys.path),
        "security.rate_limit.enabled": False,
        "webhooks.ca_file": str(certificate.cert),
        "webhooks.allow_private_hosts": True,
        "webhooks.timeout_seconds": 5.0,
    }
    values.update(overrides)
    return make_settings(**values)


@dataclass
class Running:
    app: Starlette
    client: httpx.AsyncClient
    keys: Keys

    @property
    def webhooks(self) -> Webhooks:
        found: Webhooks = self.app.state.parts.webhooks
        return found

    async def register(self, key: NewKey | None = None, **body: Any) -> dict[str, Any]:
        response = await self.client.post("/api/webhooks", json=body,
                                          headers=self.keys.header(key or self.keys.hooks))
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def deliveries(self, webhook_id: str, key: NewKey | None = None,
                         query: str = "") -> list[dict[str, Any]]:
        response = await self.client.get(f"/api/webhooks/{webhook_id}/deliveries{query}",
                                         headers=self.keys.header(key or self.keys.hooks))
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["deliveries"]
        return found


@contextlib.asynccontextmanager
async def running(settings: Settings, clock: FakeClock, keys: Keys) -> AsyncIterator[Running]:
    app = create_app(settings, clock=clock, run_scheduler=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://relayer") as client:
            yield Running(app=app, client=client, keys=keys)


async def until(condition: Callable[[], Any], timeout: float = 10.0) -> None:
    """Poll ``condition`` (sync or async) until it is true, or fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.01)
