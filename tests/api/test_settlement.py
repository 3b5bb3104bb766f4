"""Settlement over HTTP: fills with reasons, posting a secret, released secrets, actions.

The chains are played by the test (logic-level): escrow events go into the
app's escrow projection and onto its bus, as a monitor does after a commit;
a stand-in monitor reports the chain tips the coordinator counts from.
Released secrets are read with an API key holding the ``secrets`` scope.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from relayer.api.app import create_app
from relayer.api.errors import on_relayer_error
from relayer.api.settlement import SettlementRoutes
from relayer.chains.events import ChainEvent, EscrowCreated
from relayer.chains.status import ChainStatus
from relayer.clock import FakeClock
from relayer.errors import RelayerError
from relayer.orders.desk import OrderDesk
from relayer.orders.signer import make_secrets
from relayer.security.keys import NewKey, generate_key
from relayer.security.principal import Scope
from relayer.settlement.coordinator import Coordinator
from relayer.settlement.events import SecretReleased
from tests.factories import make_settings, submission, to_json
from tests.settlement.harness import Harness
from tests.settlement.scenario import RESOLVER_ADA, RESOLVER_ETH

JSON = {"content-type": "application/json"}


@dataclass
class Keys:
    resolver: NewKey
    """read and secrets, as the devnet gives its resolvers."""
    reader: NewKey
    """read only."""
    admin: NewKey
    path: Path


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    found = Keys(resolver=generate_key(frozenset({Scope.READ, Scope.SECRETS})),
                 reader=generate_key(frozenset({Scope.READ})),
                 admin=generate_key(frozenset({Scope.ADMIN})),
                 path=tmp_path / "api-keys.jsonl")
    found.path.write_text("".join(k.stored.to_line() + "\n"
                                  for k in (found.resolver, found.reader, found.admin)))
    return found


def bearer(key: NewKey) -> dict[str, str]:
    return {"authorization": f"Bearer {key.api_key}"}


def assert_refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error_code"] == code


class Tips:
    """A monitor stand-in that only reports tips (the tests move them)."""

    def __init__(self, name: str, heights: dict[str, int]) -> None:
        self._name = name
        self._heights = heights

    @property
    def name(self) -> str:
        return self._name

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def status(self) -> ChainStatus:
        height = self._heights[self._name]
        return ChainStatus(chain=self._name, connected=True, head=height, processed=height,
                           max_lag=10)


@pytest.fixture
async def world(tmp_path: Path, clock: FakeClock,
                keys: Keys) -> AsyncIterator[tuple[Starlette, Harness]]:
    helper = Harness(tmp_path / "helper", custody=False)  # builds escrows; its store unused
    helper.clock = clock
    settings = make_settings(data_dir=str(tmp_path),
                             **{"settlement.resolvers": {"r1": {"ethereum": RESOLVER_ETH,
                                                                "cardano": RESOLVER_ADA}},
                                "security.api_keys_file": str(keys.path)})
    tips = [Tips(name, helper.chains.heights) for name in ("ethereum", "cardano")]
    app = create_app(settings, clock=clock, run_scheduler=False, monitors=tips)
    async with app.router.lifespan_context(app):
        yield app, helper


@pytest.fixture
async def http(world: tuple[Starlette, Harness]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=world[0])
    async with httpx.AsyncClient(transport=transport, base_url="http://relayer") as client:
        yield client


async def chain(app: Starlette, event: ChainEvent) -> None:
    relayer = app.state.relayer
    relayer.escrows.apply(event)
    relayer.bus.publish(event)
    await relayer.bus.drain()


async def test_a_swap_through_the_settlement_api(world: tuple[Starlette, Harness],
                                                 keys: Keys) -> None:
    app, h = world
    secrets = make_secrets(1)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://relayer") as client:
        r = await client.post("/api/orders", content=to_json(
            submission("eth_to_ada", secrets=secrets)), headers=JSON)
        assert r.status_code == 201, r.text
        order_hash = r.json()["order_hash"]
        h.signed = app.state.relayer.desk.get(order_hash).signed
        h.secrets = secrets
        r = await client.post(f"/api/orders/{order_hash}/secrets", headers=JSON,
                              content=to_json({"idx": 0,
                                               "secret": "0x" + secrets.secrets[0].hex()}))
        assert r.status_code == 409 and r.json()["error_code"] == "FILL_NOT_READY"
        h.clock.advance(30)
        src: EscrowCreated = h.src_escrow()
        await chain(app, src)
        await chain(app, h.dst_escrow(src))
        fills: dict[str, Any] = (await client.get(f"/api/orders/{order_hash}/fills")).json()
        (fill,) = fills["fills"]
        assert fill["status"] == "verified" and "DST_NOT_FINAL" in fill["reasons"]
        assert fill["src_escrow"]["amount"] == str(src.immutables.amount)
        assert (await client.get(
            f"/api/orders/{order_hash}/ready-to-accept-secret-fills")).json()["fills"] == []
        h.confirm()
        h.clock.advance(20)
        await app.state.parts.settlement.coordinator.tick()
        ready = (await client.get(f"/api/orders/{order_hash}/ready-to-accept-secret-fills"))
        assert [f["idx"] for f in ready.json()["fills"]] == [0]
        r = await client.post(f"/api/orders/{order_hash}/secrets", headers=JSON,
                              content=to_json({"idx": 0, "secret": "0x" + "00" * 32}))
        assert r.status_code == 400 and r.json()["error_code"] == "SECRET_MISMATCH"
        r = await client.post(f"/api/orders/{order_hash}/secrets", headers=JSON,
                              content=b'{"idx": -1, "secret": "0x12"}')
        assert r.status_code == 400
        r = await client.post(f"/api/orders/{order_hash}/secrets", headers=JSON,
                              content=to_json({"idx": 0,
                                               "secret": "0x" + secrets.secrets[0].hex()}))
        assert r.status_code == 200, r.text
        (shown,) = r.json()["secrets"]
        assert shown["secret"] == "0x" + secrets.secrets[0].hex() and shown["source"] == "maker"
        r = await client.get(f"/api/orders/{order_hash}/secrets", headers=bearer(keys.resolver))
        assert r.json()["secrets"] == [shown]
        (fill,) = (await client.get(f"/api/orders/{order_hash}/fills")).json()["fills"]
        assert fill["status"] == "secret_released"
        h.clock.advance(200)
        await app.state.parts.settlement.coordinator.tick()
        actions = (await client.get("/api/actions/public",
                                    headers=bearer(keys.resolver))).json()["actions"]
        assert {a["action"] for a in actions} == {"public_withdraw"}
        assert all(a["secret"] == shown["secret"] for a in actions)
        assert (await client.get(f"/api/orders/{'0x' + '00' * 32}/fills")).status_code == 404


async def released(world: tuple[Starlette, Harness], client: httpx.AsyncClient
                   ) -> tuple[str, str]:
    """An order whose maker posted its one secret for a ready fill: (order hash, secret)."""
    app, h = world
    h.secrets = make_secrets(1)
    r = await client.post("/api/orders", headers=JSON, content=to_json(
        submission("eth_to_ada", secrets=h.secrets)))
    order_hash = r.json()["order_hash"]
    h.signed = app.state.relayer.desk.get(order_hash).signed
    h.clock.advance(30)
    src = h.src_escrow()
    await chain(app, src)
    await chain(app, h.dst_escrow(src))
    h.finalize()
    await app.state.parts.settlement.coordinator.tick()
    secret = "0x" + h.secrets.secrets[0].hex()
    r = await client.post(f"/api/orders/{order_hash}/secrets", headers=JSON,
                          content=to_json({"idx": 0, "secret": secret}))
    assert r.status_code == 200, r.text
    return order_hash, secret


async def test_reading_released_secrets_needs_the_secrets_scope(
        world: tuple[Starlette, Harness], http: httpx.AsyncClient, keys: Keys) -> None:
    order_hash, secret = await released(world, http)
    path = f"/api/orders/{order_hash}/secrets"
    r = await http.get(path)
    assert_refused(r, 401, "AUTH_REQUIRED")
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["details"] == {"scope": "secrets"}
    r = await http.get(path, headers=bearer(keys.reader))
    assert_refused(r, 403, "FORBIDDEN_SCOPE")
    assert r.json()["details"] == {"scope": "secrets", "key_id": keys.reader.stored.key_id}
    assert_refused(await http.get(path, headers={"authorization": "Bearer rk_nope"}),
                   401, "AUTH_INVALID")
    for headers in (None, bearer(keys.reader)):
        assert secret[2:] not in (await http.get(path, headers=headers)).text
    # Asking without a key says nothing about which orders exist either.
    assert_refused(await http.get(f"/api/orders/{'0x' + '00' * 32}/secrets"),
                   401, "AUTH_REQUIRED")
    for allowed in (bearer(keys.resolver), {"x-api-key": keys.resolver.api_key},
                    bearer(keys.admin)):
        r = await http.get(path, headers=allowed)
        assert r.status_code == 200, r.text
        assert [(s["idx"], s["secret"]) for s in r.json()["secrets"]] == [(0, secret)]


async def test_a_revoked_key_or_scope_reads_no_secret(
        world: tuple[Starlette, Harness], http: httpx.AsyncClient, keys: Keys) -> None:
    order_hash, secret = await released(world, http)
    world[1].clock.advance(200)
    await world[0].state.parts.settlement.coordinator.tick()
    path = f"/api/orders/{order_hash}/secrets"
    assert (await http.get(path, headers=bearer(keys.resolver))).status_code == 200

    async def reload(*lines: str) -> None:
        keys.path.write_text("".join(line + "\n" for line in lines))
        r = await http.post("/api/admin/keys/reload", headers=bearer(keys.admin))
        assert r.status_code == 200, r.text

    narrowed = replace(keys.resolver.stored, scopes=frozenset({Scope.READ}))
    await reload(keys.admin.stored.to_line(), narrowed.to_line())
    assert_refused(await http.get(path, headers=bearer(keys.resolver)), 403, "FORBIDDEN_SCOPE")
    r = await http.get("/api/actions/public", headers=bearer(keys.resolver))
    assert r.status_code == 200 and r.json()["actions"]
    assert all(a["secret"] is None for a in r.json()["actions"])
    await reload(keys.admin.stored.to_line())
    for route in (path, "/api/actions/public"):
        r = await http.get(route, headers=bearer(keys.resolver))
        assert_refused(r, 401, "AUTH_INVALID")
        assert secret[2:] not in r.text


async def test_public_actions_carry_the_secret_only_for_the_secrets_scope(
        world: tuple[Starlette, Harness], http: httpx.AsyncClient, keys: Keys) -> None:
    order_hash, secret = await released(world, http)
    world[1].clock.advance(200)
    await world[0].state.parts.settlement.coordinator.tick()
    for headers in (None, bearer(keys.reader)):
        r = await http.get("/api/actions/public", headers=headers)
        assert r.status_code == 200, r.text
        actions = r.json()["actions"]
        assert actions and {a["action"] for a in actions} == {"public_withdraw"}
        assert all(a["order_hash"] == order_hash and a["secret"] is None for a in actions)
        assert secret[2:] not in r.text
    for headers in (bearer(keys.resolver), bearer(keys.admin)):
        actions = (await http.get("/api/actions/public", headers=headers)).json()["actions"]
        assert actions and all(a["secret"] == secret for a in actions)


class TwoReleased:
    """A coordinator stand-in that released secrets 0 and 1 of one order."""

    def __init__(self, order_hash: str) -> None:
        self.events = [SecretReleased(
            order_hash=order_hash, fill_id=f"ethereum:0x{idx:040x}", secret_index=idx,
            secret_hash="0x" + "00" * 32, sealed_secret="", sealed_to="", source="maker",
            at=1) for idx in (0, 1)]

    async def accept_secret(self, order_hash: str, index: int, secret: bytes
                            ) -> SecretReleased:
        return self.events[index]

    def released_secrets(self, order_hash: str) -> list[tuple[SecretReleased, bytes]]:
        return [(e, bytes([e.secret_index + 1]) * 32) for e in self.events]


async def test_posting_a_secret_answers_that_secret_only() -> None:
    """Posting needs no key, so its answer must not hand out the order's other secrets:
    whoever knows secret 0 (it may be on chain already) must not learn secret 1."""
    order_hash = "0x" + "ab" * 32
    desk = SimpleNamespace(get=lambda _h: SimpleNamespace(order_hash=order_hash))
    routes = SettlementRoutes(cast(Coordinator, TwoReleased(order_hash)), cast(OrderDesk, desk))
    app = Starlette(routes=[Route("/api/orders/{order_hash}/secrets", routes.submit_secret,
                                  methods=["POST"])],
                    exception_handlers={RelayerError: on_relayer_error})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://relayer") as client:
        r = await client.post(f"/api/orders/{order_hash}/secrets", headers=JSON,
                              content=to_json({"idx": 0, "secret": "0x" + "01" * 32}))
    assert r.status_code == 200, r.text
    assert [(s["idx"], s["secret"]) for s in r.json()["secrets"]] == [(0, "0x" + "01" * 32)]
    assert "02" * 32 not in r.text
