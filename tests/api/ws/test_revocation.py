"""Revocation reaches open sockets: a key reload re-checks every connection."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from relayer.security.keys import NewKey, generate_key
from relayer.security.principal import Scope
from tests.api.ws.conftest import TIMEOUT, Serve, Served, WsClient


def write_keys(path: Path, *keys: NewKey) -> None:
    path.write_text("".join(k.stored.to_line() + "\n" for k in keys))


async def reload(served: Served, admin: NewKey) -> None:
    response = await served.http.post("/api/admin/keys/reload",
                                      headers={"Authorization": f"Bearer {admin.api_key}"})
    assert response.status_code == 200, response.text


async def closed_with(client: WsClient) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(TIMEOUT):
            while True:
                await client.ws.recv()
    return None if closed.value.rcvd is None else closed.value.rcvd.code


async def test_a_revoked_key_loses_its_open_sockets(serve: Serve, tmp_path: Path) -> None:
    admin = generate_key(frozenset({Scope.ADMIN}))
    holder = generate_key(frozenset({Scope.READ, Scope.SECRETS}))
    by_auth = generate_key(frozenset({Scope.SECRETS}))
    keys = tmp_path / "keys.jsonl"
    write_keys(keys, admin, holder, by_auth)
    async with serve(security={"api_keys_file": str(keys)}) as served:
        headers = {"Authorization": f"Bearer {holder.api_key}"}
        async with served.client(additional_headers=headers) as on_upgrade, \
                served.client() as after_auth, served.client() as anonymous:
            await on_upgrade.subscribe("secrets")
            assert "result" in await after_auth.call("auth", api_key=by_auth.api_key)
            await after_auth.subscribe("secrets")
            await anonymous.subscribe("orders")
            write_keys(keys, admin)  # both keys' lines removed
            await reload(served, admin)
            assert await closed_with(on_upgrade) == 4401
            assert await closed_with(after_auth) == 4401
            assert (await anonymous.call("ping"))["result"] == "pong"
            assert served.hub.stats().revoked_closed == 2
            metrics = (await served.http.get("/metrics")).text
            assert 'relayer_websocket_dropped_total{reason="revoked"} 2.0' in metrics
        # The revoked key cannot come back either way.
        async with served.client() as again:
            reply = await again.call("auth", api_key=holder.api_key)
            assert reply["error"]["code"] == "UNAUTHORIZED"


async def test_a_key_that_loses_a_scope_loses_those_subscriptions(
        serve: Serve, tmp_path: Path) -> None:
    admin = generate_key(frozenset({Scope.ADMIN}))
    holder = generate_key(frozenset({Scope.READ, Scope.SECRETS}))
    keys = tmp_path / "keys.jsonl"
    write_keys(keys, admin, holder)
    async with serve(security={"api_keys_file": str(keys)}) as served:
        headers = {"Authorization": f"Bearer {holder.api_key}"}
        async with served.client(additional_headers=headers) as client:
            await client.subscribe("secrets")
            await client.subscribe("actions")
            await client.subscribe("orders")
            # Same key, same digest, now only ``read``.
            narrowed = holder.stored.__class__(
                key_id=holder.stored.key_id, sha256=holder.stored.sha256,
                scopes=frozenset({Scope.READ}))
            keys.write_text(admin.stored.to_line() + "\n" + narrowed.to_line() + "\n")
            await reload(served, admin)
            message = await client.event()
            assert message == {"event": "unsubscribed", "channel": "secrets", "seq": None,
                               "data": {"code": "FORBIDDEN",
                                        "message": "the API key lost the secrets scope"}}
            reply = await client.call("subscribe", channel="secrets")
            assert reply["error"]["code"] == "FORBIDDEN"
            assert (await client.call("unsubscribe", channel="actions"))["result"][
                "unsubscribed"] is True  # still held
            assert served.hub.stats().subscriptions == 1  # orders


async def test_a_rotated_key_with_the_same_id_is_a_revoked_one(
        serve: Serve, tmp_path: Path) -> None:
    admin = generate_key(frozenset({Scope.ADMIN}))
    holder = generate_key(frozenset({Scope.READ}))
    keys = tmp_path / "keys.jsonl"
    write_keys(keys, admin, holder)
    async with serve(security={"api_keys_file": str(keys)}) as served:
        headers = {"X-API-Key": holder.api_key}
        async with served.client(additional_headers=headers) as client:
            await client.subscribe("fills")
            other = generate_key(frozenset({Scope.READ}))
            swapped = other.stored.__class__(key_id=holder.stored.key_id,
                                             sha256=other.stored.sha256,
                                             scopes=frozenset({Scope.READ}))
            keys.write_text(admin.stored.to_line() + "\n" + swapped.to_line() + "\n")
            await reload(served, admin)
            assert await closed_with(client) == 4401


async def test_failed_auth_counts_against_the_address(serve: Serve, tmp_path: Path) -> None:
    holder = generate_key(frozenset({Scope.READ}))
    keys = tmp_path / "keys.jsonl"
    write_keys(keys, holder)
    limits = {"api_keys_file": str(keys), "rate_limit": {"per_ip_burst": 2}}
    async with serve(security=limits) as served, served.client() as client:
        wrong = "rk_0000000000000000_" + "x" * 43
        for _ in range(2):
            assert (await client.call("auth", api_key=wrong))["error"]["code"] == "UNAUTHORIZED"
        limited = await client.call("auth", api_key=wrong)
        assert limited["error"]["code"] == "RATE_LIMITED"
        assert "retry after 1 s" in limited["error"]["message"]
        # A valid key still authenticates; the connection stays open.
        assert (await client.call("auth", api_key=holder.api_key))["result"]["key_id"]
        metrics = (await served.http.get("/metrics")).text
        assert ('relayer_auth_failures_total{throttled="true",transport="websocket"} 1.0'
                in metrics)
