"""The webhooks API: authentication, ownership, error codes, durable and sealed storage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from relayer.clock import FakeClock
from relayer.config import Settings
from relayer.errors import ConfigError
from relayer.networks.registry import checksum_address
from tests.factories import cardano_address, evm_address
from tests.webhooks.conftest import JSON, Keys, Running, running, webhook_settings
from tests.webhooks.tls import ReceiverCertificate

HOOK = "https://hooks.example.com/relayer"


@pytest.fixture
def settings(tmp_path: Path, keys: Keys, certificate: ReceiverCertificate) -> Settings:
    return webhook_settings(tmp_path, keys, certificate, **{"webhooks.max_per_key": 3})


@pytest.fixture
async def relayer(settings: Settings, clock: FakeClock, keys: Keys) -> AsyncIterator[Running]:
    async with running(settings, clock, keys) as found:
        yield found


async def stored(relayer: Running) -> int:
    position: int = await relayer.app.state.relayer.store.last_position()
    return position


def check_schema(spec: dict[str, Any], path: str, method: str, status: int, body: Any) -> None:
    schema = spec["paths"][path][method]["responses"][str(status)]["content"][
        "application/json"]["schema"]
    jsonschema.Draft202012Validator({**schema, "components": spec["components"]}).validate(body)


async def test_register_read_list_delete(relayer: Running, keys: Keys) -> None:
    spec = (await relayer.client.get("/openapi.json")).json()
    maker = checksum_address(evm_address(), field="maker")
    response = await relayer.client.post(
        "/api/webhooks", headers=keys.header(keys.hooks),
        json={"url": HOOK, "events": ["order_created", "order_filled"],
              "chains": ["cardano"], "makers": [maker.lower()], "description": "desk 1"})
    assert response.status_code == 201, response.text
    check_schema(spec, "/api/webhooks", "post", 201, response.json())
    created = response.json()
    webhook, secret = created["webhook"], created["secret"]
    assert secret.startswith("whsec_")
    assert response.headers["location"] == f"/api/webhooks/{webhook['id']}"
    assert response.headers["cache-control"] == "no-store"
    assert webhook == {"id": webhook["id"], "url": HOOK,
                       "events": ["order_created", "order_filled"], "chains": ["cardano"],
                       "makers": [maker], "description": "desk 1",
                       "created_at": webhook["created_at"], "status": "active",
                       "pending_deliveries": 0}

    got = await relayer.client.get(f"/api/webhooks/{webhook['id']}",
                                   headers=keys.header(keys.hooks))
    assert got.status_code == 200 and got.json() == webhook
    check_schema(spec, "/api/webhooks/{id}", "get", 200, got.json())
    assert secret not in got.text
    listed = await relayer.client.get("/api/webhooks", headers=keys.header(keys.hooks))
    check_schema(spec, "/api/webhooks", "get", 200, listed.json())
    assert listed.json() == {"webhooks": [webhook]}
    deliveries = await relayer.client.get(f"/api/webhooks/{webhook['id']}/deliveries",
                                          headers=keys.header(keys.hooks))
    check_schema(spec, "/api/webhooks/{id}/deliveries", "get", 200, deliveries.json())
    assert deliveries.json() == {"deliveries": [], "next_cursor": None}

    deleted = await relayer.client.delete(f"/api/webhooks/{webhook['id']}",
                                          headers=keys.header(keys.hooks))
    assert deleted.status_code == 200
    check_schema(spec, "/api/webhooks/{id}", "delete", 200, deleted.json())
    assert deleted.json()["status"] == "deleted"
    gone = await relayer.client.get(f"/api/webhooks/{webhook['id']}",
                                    headers=keys.header(keys.hooks))
    assert gone.status_code == 404 and gone.json()["error_code"] == "WEBHOOK_NOT_FOUND"
    check_schema(spec, "/api/webhooks/{id}", "get", 404, gone.json())
    again = await relayer.client.delete(f"/api/webhooks/{webhook['id']}",
                                        headers=keys.header(keys.hooks))
    assert again.status_code == 404
    assert (await relayer.client.get("/api/webhooks", headers=keys.header(keys.hooks))
            ).json() == {"webhooks": []}


async def test_routes_need_a_key_with_the_webhooks_scope(relayer: Running, keys: Keys) -> None:
    for method, path in (("POST", "/api/webhooks"), ("GET", "/api/webhooks"),
                         ("GET", "/api/webhooks/wh_x"), ("DELETE", "/api/webhooks/wh_x"),
                         ("GET", "/api/webhooks/wh_x/deliveries")):
        body = {"url": HOOK} if method == "POST" else None
        anonymous = await relayer.client.request(method, path, json=body)
        assert anonymous.status_code == 401, (method, path)
        assert anonymous.json()["error_code"] == "AUTH_REQUIRED"
        reader = await relayer.client.request(method, path, json=body,
                                              headers=keys.header(keys.reader))
        assert reader.status_code == 403, (method, path)
        assert reader.json()["error_code"] == "FORBIDDEN_SCOPE"
    bad = await relayer.client.get("/api/webhooks", headers={"authorization": "Bearer rk_nope"})
    assert bad.status_code == 401 and bad.json()["error_code"] == "AUTH_INVALID"
    assert await stored(relayer) == 0


async def test_a_key_sees_only_its_own_webhooks(relayer: Running, keys: Keys) -> None:
    mine = (await relayer.register(url=HOOK + "/mine"))["webhook"]
    theirs = (await relayer.register(keys.other, url=HOOK + "/theirs"))["webhook"]
    listed = (await relayer.client.get("/api/webhooks", headers=keys.header(keys.hooks))).json()
    assert [w["id"] for w in listed["webhooks"]] == [mine["id"]]
    for method, suffix in (("GET", ""), ("DELETE", ""), ("GET", "/deliveries")):
        response = await relayer.client.request(method, f"/api/webhooks/{theirs['id']}{suffix}",
                                                headers=keys.header(keys.hooks))
        assert response.status_code == 404
        assert response.json()["error_code"] == "WEBHOOK_NOT_FOUND"
    still = await relayer.client.get(f"/api/webhooks/{theirs['id']}",
                                     headers=keys.header(keys.other))
    assert still.status_code == 200


async def test_secret_events_need_the_secrets_scope(relayer: Running, keys: Keys) -> None:
    refused = await relayer.client.post("/api/webhooks", headers=keys.header(keys.hooks),
                                        json={"url": HOOK, "events": ["secret_shared"]})
    assert refused.status_code == 403
    assert refused.json()["error_code"] == "FORBIDDEN_SCOPE"
    assert refused.json()["details"]["event"] == "secret_shared"
    everything = (await relayer.register(url=HOOK))["webhook"]["events"]
    assert "secret_shared" not in everything and "public_action" not in everything
    assert "order_created" in everything and "price_update" not in everything
    with_secrets = (await relayer.register(keys.secrets, url=HOOK))["webhook"]["events"]
    assert "secret_shared" in with_secrets
    explicit = await relayer.register(keys.secrets, url=HOOK, events=["secret_shared"])
    assert explicit["webhook"]["events"] == ["secret_shared"]


BAD: list[tuple[str, Any, int, str]] = [
    ("plain http", {"url": "http://hooks.example.com/x"}, 400, "INSECURE_URL"),
    ("http to loopback without the dev setting", {"url": "http://127.0.0.1:9000/x"}, 400,
     "INSECURE_URL"),
    ("ftp", {"url": "ftp://hooks.example.com/x"}, 400, "INVALID_URL"),
    ("relative", {"url": "hooks.example.com/x"}, 400, "INVALID_URL"),
    ("credentials", {"url": "https://user:pw@hooks.example.com/x"}, 400, "INVALID_URL"),
    ("fragment", {"url": "https://hooks.example.com/x#top"}, 400, "INVALID_URL"),
    ("space", {"url": "https://hooks.example.com/a b"}, 400, "INVALID_URL"),
    ("bad port", {"url": "https://hooks.example.com:99999/x"}, 400, "INVALID_URL"),
    ("port zero", {"url": "https://hooks.example.com:0/x"}, 400, "INVALID_URL"),
    ("too long", {"url": "https://hooks.example.com/" + "a" * 2100}, 400, "INVALID_URL"),
    ("unknown event", {"url": HOOK, "events": ["order_exploded"]}, 400, "UNKNOWN_EVENT"),
    ("price ticks", {"url": HOOK, "events": ["order_created", "price_update"]}, 400,
     "UNSUPPORTED_EVENT"),
    ("no events", {"url": HOOK, "events": []}, 400, "INVALID_FILTER"),
    ("unknown chain", {"url": HOOK, "chains": ["solana"]}, 400, "UNKNOWN_CHAIN"),
    ("bad maker", {"url": HOOK, "makers": ["0x1234"]}, 400, "INVALID_ADDRESS"),
    ("too many makers", {"url": HOOK, "makers": [evm_address()] * 101}, 400, "INVALID_FILTER"),
    ("long description", {"url": HOOK, "description": "x" * 201}, 400, "INVALID_FIELD"),
    ("unknown field", {"url": HOOK, "secret": "mine"}, 400, "INVALID_FIELD"),
    ("no url", {"events": ["order_created"]}, 400, "INVALID_FIELD"),
    ("url not a string", {"url": 5}, 400, "INVALID_FIELD"),
    ("not json", b"{", 400, "MALFORMED_JSON"),
    ("secret events without the scope", {"url": HOOK, "events": ["secret_shared"]}, 403,
     "FORBIDDEN_SCOPE"),
]


@pytest.mark.parametrize(("body", "status", "code"), [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])
async def test_bad_registration_is_refused_and_stores_nothing(
        relayer: Running, keys: Keys, body: Any, status: int, code: str) -> None:
    content = body if isinstance(body, bytes) else httpx.Request(
        "POST", "http://x", json=body).content
    response = await relayer.client.post("/api/webhooks", content=content,
                                         headers={**JSON, **keys.header(keys.hooks)})
    assert response.status_code == status, response.text
    assert response.json()["error_code"] == code
    assert await stored(relayer) == 0
    assert (await relayer.client.get("/api/webhooks", headers=keys.header(keys.hooks))
            ).json() == {"webhooks": []}


async def test_private_addresses_need_the_setting(tmp_path: Path, clock: FakeClock,
                                                  keys: Keys,
                                                  certificate: ReceiverCertificate) -> None:
    strict = webhook_settings(tmp_path, keys, certificate,
                              **{"webhooks.allow_private_hosts": False})
    async with running(strict, clock, keys) as relayer:
        for url in ("https://127.0.0.1:8443/x", "https://localhost/x", "https://10.1.2.3/x",
                    "https://192.168.0.7/x", "https://169.254.169.254/latest",
                    "https://[::1]/x", "https://[::ffff:10.0.0.1]/x", "https://0.0.0.0/x"):
            response = await relayer.client.post("/api/webhooks", json={"url": url},
                                                 headers=keys.header(keys.hooks))
            assert response.status_code == 400, url
            assert response.json()["error_code"] == "FORBIDDEN_HOST", url
        assert await stored(relayer) == 0
        await relayer.register(url="https://8.8.8.8/hook")


async def test_plain_http_to_loopback_with_the_dev_setting(
        tmp_path: Path, clock: FakeClock, keys: Keys, certificate: ReceiverCertificate) -> None:
    dev = webhook_settings(tmp_path, keys, certificate, **{"webhooks.allow_http_loopback": True,
                                                          "webhooks.allow_private_hosts": False})
    async with running(dev, clock, keys) as relayer:
        for url in ("http://127.0.0.1:9000/x", "http://localhost:9000/x", "http://[::1]/x"):
            await relayer.register(url=url)
        for url in ("http://10.0.0.1/x", "http://hooks.example.com/x"):
            response = await relayer.client.post("/api/webhooks", json={"url": url},
                                                 headers=keys.header(keys.hooks))
            assert response.json()["error_code"] == "INSECURE_URL", url


async def test_limit_per_key(relayer: Running, keys: Keys) -> None:
    for n in range(3):
        await relayer.register(url=f"{HOOK}/{n}")
    before = await stored(relayer)
    response = await relayer.client.post("/api/webhooks", json={"url": HOOK},
                                         headers=keys.header(keys.hooks))
    assert response.status_code == 409
    assert response.json()["error_code"] == "WEBHOOK_LIMIT_REACHED"
    assert await stored(relayer) == before
    await relayer.register(keys.other, url=HOOK)


async def test_registrations_survive_a_restart_and_secrets_are_sealed_at_rest(
        settings: Settings, clock: FakeClock, keys: Keys) -> None:
    async with running(settings, clock, keys) as relayer:
        created = await relayer.register(url=HOOK, makers=[cardano_address()])
        removed = await relayer.register(url=HOOK + "/gone")
        await relayer.client.delete(f"/api/webhooks/{removed['webhook']['id']}",
                                    headers=keys.header(keys.hooks))
        records = await relayer.app.state.relayer.store.read(after=0, limit=100)
        assert [r.type for r in records] == ["WebhookRegistered", "WebhookRegistered",
                                             "WebhookDeleted"]
    secrets = [created["secret"], removed["secret"]]
    for record in records:
        for secret in secrets:
            assert secret.encode() not in record.data
    for path in Path(settings.data_dir).iterdir():
        for secret in secrets:
            assert secret.encode() not in path.read_bytes(), path
    async with running(settings, clock, keys) as relayer:
        listed = (await relayer.client.get("/api/webhooks", headers=keys.header(keys.hooks))
                  ).json()["webhooks"]
        assert listed == [created["webhook"]]
        webhook = relayer.webhooks.registry.get(keys.hooks.stored.key_id, listed[0]["id"])
        assert webhook.secret == created["secret"].encode()


async def test_a_different_sealing_key_stops_startup(settings: Settings, clock: FakeClock,
                                                     keys: Keys, tmp_path: Path) -> None:
    async with running(settings, clock, keys) as relayer:
        await relayer.register(url=HOOK)
    (Path(settings.data_dir) / "webhook-secrets.key").write_text("cd" * 32)
    with pytest.raises(ConfigError) as failed:
        async with running(settings, clock, keys):
            pass
    assert "sealed under another key" in str(failed.value)


async def test_delivery_list_parameters_are_checked(relayer: Running, keys: Keys) -> None:
    webhook = (await relayer.register(url=HOOK))["webhook"]
    base = f"/api/webhooks/{webhook['id']}/deliveries"
    for query, code in (("?status=lost", "INVALID_PARAMETER"), ("?limit=0", "INVALID_PARAMETER"),
                        ("?limit=201", "INVALID_PARAMETER"), ("?cursor=zzz", "INVALID_CURSOR")):
        response = await relayer.client.get(base + query, headers=keys.header(keys.hooks))
        assert response.status_code == 400, query
        assert response.json()["error_code"] == code, query
