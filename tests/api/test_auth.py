"""API keys and signed requests against the real app: each refusal has its stable code."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.types import Message, Receive, Scope, Send

from relayer.api.app import create_app
from relayer.api.auth import PRINCIPAL_KEY, AuthMiddleware
from relayer.clock import FakeClock
from relayer.security.keys import KeyRegistry, NewKey, generate_key, signing_secret
from relayer.security.principal import Scope as KeyScope
from relayer.security.signing import SignatureVerifier, signed_headers
from tests.factories import NOW, make_settings, submission, to_json

JSON = {"content-type": "application/json"}


@dataclass
class Keys:
    admin: NewKey
    reader: NewKey
    signer: NewKey
    path: Path


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    found = Keys(admin=generate_key(frozenset({KeyScope.ADMIN}), note="ops"),
                 reader=generate_key(frozenset({KeyScope.READ})),
                 signer=generate_key(frozenset({KeyScope.READ, KeyScope.SECRETS}), signing=True),
                 path=tmp_path / "keys.jsonl")
    found.path.write_text("".join(k.stored.to_line() + "\n"
                                  for k in (found.admin, found.reader, found.signer)))
    return found


async def client_for(tmp_path: Path, clock: FakeClock, keys: Keys,
                     **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(data_dir=str(tmp_path), **{"security.api_keys_file": str(keys.path),
                                                        **overrides})
    app = create_app(settings, clock=clock, run_scheduler=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://relayer") as c:
            yield c


@pytest.fixture
async def authed(tmp_path: Path, clock: FakeClock, keys: Keys
                 ) -> AsyncIterator[httpx.AsyncClient]:
    async for c in client_for(tmp_path, clock, keys):
        yield c


def bearer(key: NewKey) -> dict[str, str]:
    return {"authorization": f"Bearer {key.api_key}"}


def signed(key: NewKey, method: str, path: str, *, body: bytes = b"", query: str = "",
           timestamp: int = NOW, nonce: str | None = None) -> dict[str, str]:
    return signed_headers(key.stored.key_id, signing_secret(key.api_key), method, path,
                          query=query, body=body, timestamp=timestamp,
                          nonce=nonce or secrets.token_hex(16))


def assert_refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error_code"] == code


async def test_admin_route_needs_an_admin_key(authed: httpx.AsyncClient, keys: Keys) -> None:
    response = await authed.get("/api/admin/keys")
    assert_refused(response, 401, "AUTH_REQUIRED")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert_refused(await authed.get("/api/admin/keys", headers=bearer(keys.reader)),
                   403, "FORBIDDEN_SCOPE")
    response = await authed.get("/api/admin/keys", headers=bearer(keys.admin))
    assert response.status_code == 200
    listed = response.json()
    assert listed["source"] == str(keys.path)
    assert {k["key_id"] for k in listed["keys"]} == {
        keys.admin.stored.key_id, keys.reader.stored.key_id, keys.signer.stored.key_id}
    by_id = {k["key_id"]: k for k in listed["keys"]}
    assert by_id[keys.signer.stored.key_id] == {
        "key_id": keys.signer.stored.key_id, "scopes": ["read", "secrets"], "signing": True,
        "note": ""}
    assert by_id[keys.admin.stored.key_id]["note"] == "ops"
    for secret_part in (keys.admin.stored.sha256.hex(), keys.signer.api_key):
        assert secret_part not in response.text


@pytest.mark.parametrize("headers", [
    {"authorization": "Bearer rk_0123456789abcdef_" + "A" * 43},
    {"authorization": "Bearer not-a-key"},
    {"authorization": "Basic dXNlcjpwYXNz"},
    {"authorization": "Bearer "},
    {"x-api-key": "rk_0123456789abcdef_" + "A" * 43},
])
async def test_a_wrong_key_is_refused_even_on_public_routes(
        authed: httpx.AsyncClient, headers: dict[str, str]) -> None:
    assert_refused(await authed.get("/api/orders", headers=headers), 401, "AUTH_INVALID")
    assert_refused(await authed.get("/api/admin/keys", headers=headers), 401, "AUTH_INVALID")


async def test_public_routes_stay_open_and_x_api_key_works(authed: httpx.AsyncClient,
                                                           keys: Keys) -> None:
    assert (await authed.get("/api/orders")).status_code == 200
    assert (await authed.get("/api/orders", headers=bearer(keys.reader))).status_code == 200
    response = await authed.get("/api/admin/keys", headers={"x-api-key": keys.admin.api_key})
    assert response.status_code == 200


async def test_signed_requests(authed: httpx.AsyncClient, clock: FakeClock, keys: Keys) -> None:
    path = "/api/admin/keys"
    # A reader's signature is valid but its scope is not enough; the signer holds no admin.
    headers = signed(keys.signer, "GET", path)
    assert_refused(await authed.get(path, headers=headers), 403, "FORBIDDEN_SCOPE")
    # The same nonce again: a replay, even though the signature is right.
    assert_refused(await authed.get(path, headers=headers), 401, "SIGNATURE_REPLAYED")

    # A signed write: the body digest is checked and the route still reads the body.
    body = to_json(submission())
    headers = {**signed(keys.signer, "POST", "/api/orders", body=body), **JSON}
    response = await authed.post("/api/orders", content=body, headers=headers)
    assert response.status_code == 201, response.text

    # A body changed after signing, a different path or query, a wrong method.
    body2 = to_json(submission(salt="43"))
    headers = {**signed(keys.signer, "POST", "/api/orders", body=body), **JSON}
    assert_refused(await authed.post("/api/orders", content=body2, headers=headers),
                   401, "SIGNATURE_INVALID")
    headers = signed(keys.signer, "GET", "/api/orders", query="limit=1")
    assert_refused(await authed.get("/api/orders?limit=2", headers=headers),
                   401, "SIGNATURE_INVALID")
    assert (await authed.get("/api/orders?limit=1", headers=headers)).status_code == 200
    headers = signed(keys.signer, "DELETE", "/api/orders")
    assert_refused(await authed.get("/api/orders", headers=headers), 401, "SIGNATURE_INVALID")

    # Stale: signed longer ago (or further ahead) than the 300 s window.
    for timestamp in (NOW - 301, NOW + 301):
        headers = signed(keys.signer, "GET", "/api/orders", timestamp=timestamp)
        assert_refused(await authed.get("/api/orders", headers=headers), 401, "SIGNATURE_STALE")
    headers = signed(keys.signer, "GET", "/api/orders", timestamp=NOW - 300)
    assert (await authed.get("/api/orders", headers=headers)).status_code == 200
    # Once the clock moves past the window the replay is stale rather than replayed.
    clock.advance(301)
    assert_refused(await authed.get("/api/orders", headers=headers), 401, "SIGNATURE_STALE")


async def test_signature_refusals_for_bad_headers_and_keys(authed: httpx.AsyncClient,
                                                           keys: Keys) -> None:
    good = signed(keys.signer, "GET", "/api/orders")
    for name in good:
        # Any one of the four headers makes a signed request, which must be complete
        # (without the signature header it was once taken as anonymous).
        partial = {k: v for k, v in good.items() if k != name}
        response = await authed.get("/api/orders", headers=partial)
        assert_refused(response, 401, "SIGNATURE_INVALID")
        assert response.json()["details"] == {"header": name}
    for name, value in (("x-relayer-nonce", "short"), ("x-relayer-timestamp", "-5"),
                        ("x-relayer-signature", "zz")):
        headers = {**signed(keys.signer, "GET", "/api/orders"), name: value}
        assert_refused(await authed.get("/api/orders", headers=headers), 401,
                       "SIGNATURE_INVALID")
    # A key made without --signing cannot sign, even with the right derivation.
    headers = signed(keys.reader, "GET", "/api/orders")
    assert_refused(await authed.get("/api/orders", headers=headers), 401, "SIGNATURE_INVALID")
    # An unknown key id answers exactly like a bad signature.
    headers = {**signed(keys.signer, "GET", "/api/orders"),
               "x-relayer-key-id": "0123456789abcdef"}
    assert_refused(await authed.get("/api/orders", headers=headers), 401, "SIGNATURE_INVALID")


async def test_require_signatures_refuses_plain_keys(tmp_path: Path, clock: FakeClock,
                                                     keys: Keys) -> None:
    async for c in client_for(tmp_path, clock, keys, **{"security.require_signatures": True}):
        assert_refused(await c.get("/api/orders", headers=bearer(keys.reader)),
                       401, "SIGNATURE_REQUIRED")
        headers = signed(keys.signer, "GET", "/api/orders")
        assert (await c.get("/api/orders", headers=headers)).status_code == 200


async def test_reload_rotates_keys(authed: httpx.AsyncClient, keys: Keys) -> None:
    fresh = generate_key(frozenset({KeyScope.READ}))
    keys.path.write_text(keys.admin.stored.to_line() + "\n" + fresh.stored.to_line() + "\n")
    assert_refused(await authed.post("/api/admin/keys/reload", headers=bearer(keys.reader)),
                   403, "FORBIDDEN_SCOPE")
    response = await authed.post("/api/admin/keys/reload", headers=bearer(keys.admin))
    assert response.status_code == 200 and response.json() == {"keys": 2}
    assert_refused(await authed.get("/api/orders", headers=bearer(keys.reader)),
                   401, "AUTH_INVALID")
    assert (await authed.get("/api/orders", headers=bearer(fresh))).status_code == 200
    keys.path.write_text("{broken\n")
    response = await authed.post("/api/admin/keys/reload", headers=bearer(keys.admin))
    assert_refused(response, 500, "CONFIG_ERROR")
    assert (await authed.get("/api/orders", headers=bearer(fresh))).status_code == 200


async def test_websocket_handshake_carries_the_principal_or_is_closed(keys: Keys) -> None:
    registry = KeyRegistry([keys.reader.stored])
    seen: list[str | None] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        principal = scope.get(PRINCIPAL_KEY)
        seen.append(principal.key_id if principal else None)
        await send({"type": "websocket.accept"})

    wrapped = AuthMiddleware(inner, authenticator=registry,
                             verifier=SignatureVerifier(registry, window=300),
                             clock=FakeClock(NOW))

    async def handshake(headers: dict[str, str]) -> list[Message]:
        scope: Scope = {"type": "websocket", "path": "/ws", "query_string": b"",
                        "headers": [(k.encode(), v.encode()) for k, v in headers.items()]}
        sent: list[Message] = []

        async def receive() -> Message:
            return {"type": "websocket.connect"}

        async def send(message: Message) -> None:
            sent.append(message)

        await wrapped(scope, receive, send)
        return sent

    assert await handshake({}) == [{"type": "websocket.accept"}]
    assert await handshake(bearer(keys.reader)) == [{"type": "websocket.accept"}]
    assert seen == [None, keys.reader.stored.key_id]
    closed = await handshake({"x-api-key": "wrong"})
    assert closed == [{"type": "websocket.close", "code": 4401, "reason": "AUTH_INVALID"}]
    assert len(seen) == 2


async def test_every_presented_key_must_be_valid(authed: httpx.AsyncClient,
                                                 keys: Keys) -> None:
    good = keys.reader.api_key
    junk = "rk_0000000000000000_" + "x" * 43
    # A junk X-API-Key beside a valid Authorization (and the other way round) is refused.
    for headers in ({"authorization": f"Bearer {good}", "x-api-key": junk},
                    {"authorization": f"Bearer {junk}", "x-api-key": good},
                    {"authorization": f"Bearer {good}", "x-api-key": "   "}):
        assert_refused(await authed.get("/api/orders", headers=headers), 401, "AUTH_INVALID")
    # Two different valid keys are refused too; the same key twice is that key.
    two = {"authorization": f"Bearer {good}", "x-api-key": keys.admin.api_key}
    assert_refused(await authed.get("/api/orders", headers=two), 401, "AUTH_INVALID")
    same = {"authorization": f"Bearer {good}", "x-api-key": good}
    assert (await authed.get("/api/orders", headers=same)).status_code == 200
    # A second Authorization header is looked at as well.
    doubled = [("authorization", f"Bearer {good}"), ("authorization", f"Bearer {junk}")]
    assert_refused(await authed.get("/api/orders", headers=doubled), 401, "AUTH_INVALID")
    # A signed request with a junk plain key beside it, or a repeated signing header.
    headers = {**signed(keys.signer, "GET", "/api/orders"), "x-api-key": junk}
    assert_refused(await authed.get("/api/orders", headers=headers), 401, "AUTH_INVALID")
    headers = {**signed(keys.signer, "GET", "/api/orders"),
               "x-api-key": keys.signer.api_key}
    assert (await authed.get("/api/orders", headers=headers)).status_code == 200
    repeated = [*signed(keys.signer, "GET", "/api/orders").items(),
                ("x-relayer-nonce", secrets.token_hex(16))]
    assert_refused(await authed.get("/api/orders", headers=repeated), 401,
                   "SIGNATURE_INVALID")


def auth_failures(app: Starlette, transport: str, throttled: str) -> float:
    value = app.state.relayer.metrics.registry.get_sample_value(
        "relayer_auth_failures_total", {"transport": transport, "throttled": throttled})
    return 0.0 if value is None else float(value)


async def test_failed_authentication_counts_against_the_address(
        tmp_path: Path, clock: FakeClock, keys: Keys) -> None:
    settings = make_settings(data_dir=str(tmp_path), **{
        "security.api_keys_file": str(keys.path),
        "security.rate_limit.per_ip_rate": 1.0, "security.rate_limit.per_ip_burst": 5})
    app = create_app(settings, clock=clock, run_scheduler=False)
    junk = {"x-api-key": "rk_0000000000000000_" + "x" * 43}
    async with app.router.lifespan_context(app):
        # From loopback, which is exempt from the per-address request limit.
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://relayer") as c:
            for _ in range(5):
                assert_refused(await c.get("/api/orders", headers=junk), 401, "AUTH_INVALID")
            limited = await c.get("/api/orders", headers=junk)
            assert_refused(limited, 429, "RATE_LIMITED")
            assert limited.headers["retry-after"] == "1"
            assert limited.json()["details"] == {"retry_after": 1, "limit": "auth"}
            # Bad signatures count the same.
            bad = {**signed(keys.signer, "GET", "/api/orders"), "x-relayer-signature": "0" * 64}
            assert_refused(await c.get("/api/orders", headers=bad), 429, "RATE_LIMITED")
            # A valid key is not held back by its address's failures.
            assert (await c.get("/api/orders", headers=bearer(keys.reader))).status_code == 200
            clock.advance(1)
            assert_refused(await c.get("/api/orders", headers=junk), 401, "AUTH_INVALID")
            assert_refused(await c.get("/api/orders", headers=junk), 429, "RATE_LIMITED")
        assert auth_failures(app, "http", "false") == 6
        assert auth_failures(app, "http", "true") == 3
        rate_limited = app.state.relayer.metrics.registry.get_sample_value(
            "relayer_rate_limited_total", {"limit": "auth"})
        assert rate_limited == 3
