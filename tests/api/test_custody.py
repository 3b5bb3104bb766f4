"""Custody mode at intake: sealed secrets are checked, stored sealed, never shown."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import msgspec
import pytest
from nacl.public import PrivateKey
from starlette.applications import Starlette

from relayer.errors import ConfigError, ValidationError
from relayer.orders.signer import make_secrets
from relayer.orders.wire import CustodyWire
from relayer.settlement.custody import CustodyKeyring, seal_secret
from relayer.signing.keccak import keccak256
from tests.factories import submission, to_json


async def active_key(client: httpx.AsyncClient) -> str:
    response = await client.get("/api/custody/keys")
    assert response.status_code == 200
    (key,) = response.json()["keys"]
    assert key["active"] is True
    return str(key["key_id"])


async def stored_count(app: Starlette) -> int:
    return len(await app.state.relayer.store.read())


async def test_sealed_secrets_are_accepted_and_never_shown(
        client: httpx.AsyncClient, app: Starlette) -> None:
    key_id = await active_key(client)
    secrets = make_secrets(3)
    wire = submission("eth_to_ada", parts=3, secrets=secrets)
    wire.custody = CustodyWire(key_id=key_id, sealed_secrets=[
        "0x" + seal_secret(key_id, s).hex() for s in secrets.secrets])
    response = await client.post("/api/orders", content=to_json(wire))
    assert response.status_code == 201, response.text
    order_hash = response.json()["order_hash"]
    shown = (await client.get(f"/api/orders/{order_hash}")).text
    assert "custody" not in shown and "sealed" not in shown
    (record,) = await app.state.relayer.store.read()
    for secret in secrets.secrets:
        assert secret.hex() not in record.data.decode()
    assert wire.custody.sealed_secrets[0][2:] in record.data.decode()


@pytest.mark.parametrize("spoil, code", [
    ("count", "INVALID_SEALED_SECRETS"),
    ("foreign_key", "CUSTODY_KEY_UNKNOWN"),
    ("wrong_secret", "SEALED_SECRET_INVALID"),
    ("garbage", "SEALED_SECRET_INVALID"),
])
async def test_bad_custody_is_refused_and_stores_nothing(
        client: httpx.AsyncClient, app: Starlette, spoil: str, code: str) -> None:
    key_id = await active_key(client)
    secrets = make_secrets(1)
    sealed = ["0x" + seal_secret(key_id, secrets.secrets[0]).hex()]
    if spoil == "count":
        sealed = sealed * 2
    elif spoil == "foreign_key":
        key_id = "0x" + bytes(PrivateKey.generate().public_key).hex()
        sealed = ["0x" + seal_secret(key_id, secrets.secrets[0]).hex()]
    elif spoil == "wrong_secret":
        sealed = ["0x" + seal_secret(key_id, bytes(32)).hex()]
    elif spoil == "garbage":
        sealed = ["0x" + "ab" * 80]
    wire = submission("eth_to_ada", secrets=secrets)
    wire.custody = CustodyWire(key_id=key_id, sealed_secrets=sealed)
    response = await client.post("/api/orders", content=to_json(wire))
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] == code
    assert await stored_count(app) == 0


def test_rotation_opens_old_boxes_and_publishes_the_new_key() -> None:
    old, new = PrivateKey.generate(), PrivateKey.generate()
    before = CustodyKeyring([bytes(old)])
    secret = os.urandom(32)
    box = seal_secret(before.active_key_id, secret)
    after = CustodyKeyring.from_text(f"{bytes(new).hex()},\n{bytes(old).hex()}", source="t")
    assert after.active_key_id == "0x" + bytes(new.public_key).hex()
    assert [k.active for k in after.keys()] == [True, False]
    assert after.open(before.active_key_id, box, secret_hash=keccak256(secret),
                      index=0) == secret
    with pytest.raises(ValidationError):
        CustodyKeyring([bytes(new)]).open(before.active_key_id, box,
                                          secret_hash=keccak256(secret), index=0)


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    first = CustodyKeyring.load(keys="", keys_file="", data_dir=str(tmp_path))
    path = tmp_path / "custody-keys"
    assert path.stat().st_mode & 0o777 == 0o600
    again = CustodyKeyring.load(keys="", keys_file="", data_dir=str(tmp_path))
    assert again.active_key_id == first.active_key_id
    with pytest.raises(ConfigError):
        CustodyKeyring.from_text("not-hex", source="settlement.custody_keys")
    with pytest.raises(ConfigError):
        CustodyKeyring.load(keys="", keys_file=str(tmp_path / "missing"),
                            data_dir=str(tmp_path))


def test_custody_wire_rejects_malformed_boxes() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"key_id": "0x' + b"ab" * 32 + b'", "sealed_secrets": ["0x12"]}',
                            type=CustodyWire)
