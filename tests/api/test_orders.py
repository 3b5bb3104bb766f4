from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest
from starlette.applications import Starlette

from relayer.auction import AuctionDetails, AuctionPoint, taking_amount
from relayer.clock import FakeClock
from relayer.orders.signer import cancel_digest_of, sign_cardano, sign_evm
from relayer.orders.validation import OrderValidator
from relayer.orders.wire import AuctionPointWire, AuctionWire, TimelocksWire
from tests.factories import (
    CARDANO_MAKER_KEY,
    CARDANO_OTHER_KEY,
    EVM_MAKER_KEY,
    EVM_OTHER_KEY,
    NOW,
    submission,
    to_dict,
    to_json,
)

JSON = {"content-type": "application/json"}


async def stored_records(app: Starlette) -> int:
    position: int = await app.state.relayer.store.last_position()
    return position


async def post(client: httpx.AsyncClient, body: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else to_json(body)
    return await client.post("/api/orders", content=content, headers=JSON)


@pytest.mark.parametrize("direction", ["eth_to_ada", "ada_to_eth"])
async def test_submit_read_list_and_price(client: httpx.AsyncClient, app: Starlette,
                                          clock: FakeClock, direction: str) -> None:
    sub = submission(direction)
    response = await post(client, sub)
    assert response.status_code == 201, response.text
    order_hash = response.json()["order_hash"]
    assert response.json()["status"] == "active"
    assert await stored_records(app) == 1

    clock.advance(30)
    got = (await client.get(f"/api/orders/{order_hash}")).json()
    details = AuctionDetails(start_time=NOW, duration=180, initial_rate_bump=500_000,
                             points=(AuctionPoint(250_000, 60),))
    minimum = int(sub.order.taking_amount)
    assert got["price"] == {
        "at": NOW + 30, "rate_bump": 375_000,
        "taking_amount": str(taking_amount(minimum, details, NOW + 30)), "base_fee": "0",
    }
    assert got["remaining_making_amount"] == sub.order.making_amount
    assert got["auction_start"] == NOW and got["auction_end"] == NOW + 180
    assert got["fills"] == []

    listed = (await client.get("/api/orders")).json()
    assert [o["order_hash"] for o in listed["orders"]] == [order_hash]
    assert listed["next_cursor"] is None
    # The hash is canonical from the path on: any spelling reaches every order route.
    shouted = "0x" + order_hash[2:].upper()
    assert (await client.get(f"/api/orders/{shouted}")).json()["order_hash"] == order_hash
    fills = (await client.get(f"/api/orders/{shouted}/fills")).json()
    assert fills == {"order_hash": order_hash, "fills": []}

    for at, bump in ((NOW, 500_000), (NOW + 120, 125_000), (NOW + 500, 0)):
        price = (await client.get(f"/api/orders/{order_hash}/auction?at={at}")).json()
        assert price["rate_bump"] == bump
        assert price["taking_amount"] == str(taking_amount(minimum, details, at))


async def test_pending_until_start(client: httpx.AsyncClient) -> None:
    sub = submission(auction=AuctionWire(start_time=NOW + 100, duration=60,
                                         initial_rate_bump=1000))
    response = await post(client, sub)
    assert response.json()["status"] == "pending"


async def test_partial_fill_order_with_merkle_root(client: httpx.AsyncClient) -> None:
    response = await post(client, submission(parts=4))
    assert response.status_code == 201, response.text


def _tamper(sub: Any, **changes: Any) -> dict[str, Any]:
    body = to_dict(sub)
    for path, value in changes.items():
        node = body
        *parents, last = path.split("__")
        for part in parents:
            node = node[part]
        node[last] = value
    return body


BAD_SUBMISSIONS: list[tuple[str, Any, int, str]] = [
    ("malformed json", b'{"order": ', 400, "MALFORMED_JSON"),
    ("not an object", b"[1,2]", 400, "INVALID_FIELD"),
    ("amount as number", lambda: _tamper(submission(), order__making_amount=100), 400,
     "INVALID_FIELD"),
    ("amount as float string", lambda: _tamper(submission(), order__making_amount="1.5"), 400,
     "INVALID_FIELD"),
    ("start time as string", lambda: _tamper(submission(), order__auction__start_time="1"),
     400, "INVALID_FIELD"),
    ("unknown field", lambda: _tamper(submission(), order__extra=1), 400, "INVALID_FIELD"),
    ("missing signature", lambda: {k: v for k, v in to_dict(submission()).items()
                                   if k != "signature"}, 400, "INVALID_FIELD"),
    ("signed by someone else", lambda: submission(evm_key=EVM_OTHER_KEY), 400,
     "INVALID_SIGNATURE"),
    ("cardano signed by someone else",
     lambda: submission("ada_to_eth", cardano_key=CARDANO_OTHER_KEY), 400, "INVALID_SIGNATURE"),
    ("terms changed after signing",
     lambda: _tamper(submission(), order__taking_amount="1"), 400, "INVALID_SIGNATURE"),
    ("high-s signature", lambda: _malleate(submission()), 400, "INVALID_SIGNATURE"),
    ("wrong chain", lambda: submission(dst_chain="solana"), 400, "UNKNOWN_CHAIN"),
    ("same chain twice", lambda: submission(dst_chain="ethereum",
                                            receiver="0x" + "11" * 20, taker_asset="ETH"),
     400, "INVALID_CHAINS"),
    ("unknown asset", lambda: submission(maker_asset="0x" + "12" * 20), 400, "UNKNOWN_ASSET"),
    ("bad receiver", lambda: submission(receiver="addr_test1qqq"), 400, "INVALID_ADDRESS"),
    ("mainnet receiver on testnet",
     lambda: submission(receiver="addr1vx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzers66hrl8"),
     400, "INVALID_ADDRESS"),
    ("bad checksum",
     lambda: _tamper(submission(), order__maker="0x70997970c51812dc3A010C7d01b50e0d17dc79C8"),
     400, "INVALID_ADDRESS"),
    ("bad timelocks", lambda: submission(timelocks=TimelocksWire(12, 120, 100, 720, 12, 100, 500)),
     400, "INVALID_TIMELOCKS"),
    ("dst timelocks", lambda: submission(timelocks=TimelocksWire(12, 120, 600, 720, 12, 500, 500)),
     400, "INVALID_TIMELOCKS"),
    ("zero amount", lambda: submission(making_amount="0"), 400, "INVALID_AMOUNT"),
    ("expired", lambda: submission(deadline=NOW - 1,
                                   auction=AuctionWire(start_time=NOW - 100, duration=50,
                                                       initial_rate_bump=0)),
     400, "ORDER_EXPIRED"),
    ("point past the end", lambda: submission(auction=AuctionWire(
        start_time=NOW, duration=100, initial_rate_bump=10,
        points=[AuctionPointWire(rate_bump=5, delay=101)])), 400, "INVALID_AUCTION"),
    ("wrong secret count", lambda: _tamper(submission(parts=4),
                                           secret_hashes=["0x" + "ab" * 32]),
     400, "INVALID_SECRET_HASHES"),
    ("hashlock mismatch", lambda: _tamper(submission(), secret_hashes=["0x" + "ab" * 32]),
     400, "INVALID_SECRET_HASHES"),
    ("cardano source without utxo",
     lambda: _tamper(submission("ada_to_eth"), src_order_utxo=None), 400, "MISSING_ORDER_UTXO"),
    ("body over 64 KiB", b'{"order": "' + b"x" * 70_000 + b'"}', 413, "BODY_TOO_LARGE"),
]


def _malleate(sub: Any) -> dict[str, Any]:
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    raw = bytes.fromhex(sub.signature[2:])
    s = n - int.from_bytes(raw[32:64], "big")
    v = 27 + (1 - (raw[64] - 27))
    return _tamper(sub, signature="0x" + (raw[:32] + s.to_bytes(32, "big") + bytes([v])).hex())


@pytest.mark.parametrize(("name", "body", "status", "code"), BAD_SUBMISSIONS,
                         ids=[case[0] for case in BAD_SUBMISSIONS])
async def test_bad_submissions_store_nothing(client: httpx.AsyncClient, app: Starlette,
                                             name: str, body: Any, status: int,
                                             code: str) -> None:
    payload = body() if callable(body) else body
    response = await post(client, payload)
    assert response.status_code == status, response.text
    error = response.json()
    assert error["error_code"] == code
    assert set(error) == {"error_code", "message", "details"}
    assert await stored_records(app) == 0
    assert (await client.get("/api/orders")).json()["orders"] == []


async def test_streamed_body_over_limit(client: httpx.AsyncClient, app: Starlette) -> None:
    async def chunks() -> Any:
        for _ in range(20):
            yield b"x" * 4096

    response = await client.post("/api/orders", content=chunks(), headers=JSON)
    assert response.status_code == 413
    assert response.json()["error_code"] == "BODY_TOO_LARGE"
    assert await stored_records(app) == 0


async def test_duplicate_is_rejected_and_stored_once(client: httpx.AsyncClient,
                                                      app: Starlette) -> None:
    sub = submission()
    assert (await post(client, sub)).status_code == 201
    again = await post(client, sub)
    assert again.status_code == 409
    assert again.json()["error_code"] == "DUPLICATE_ORDER"
    assert await stored_records(app) == 1


async def test_wrong_content_type_and_method(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/orders", content=b"a=b",
                          headers={"content-type": "application/x-www-form-urlencoded"})
    assert (r.status_code, r.json()["error_code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")
    r = await client.put("/api/orders")
    assert (r.status_code, r.json()["error_code"]) == (405, "METHOD_NOT_ALLOWED")
    r = await client.get("/api/orders/0x" + "00" * 32)
    assert (r.status_code, r.json()["error_code"]) == (404, "ORDER_NOT_FOUND")
    r = await client.get("/nowhere")
    assert (r.status_code, r.json()["error_code"]) == (404, "NOT_FOUND")


@pytest.mark.parametrize("direction", ["eth_to_ada", "ada_to_eth"])
async def test_cancel_by_maker_only(client: httpx.AsyncClient, app: Starlette,
                                    validator: OrderValidator, direction: str) -> None:
    order_hash = (await post(client, submission(direction))).json()["order_hash"]
    digest = cancel_digest_of(validator, order_hash)
    if direction == "eth_to_ada":
        wrong: Any = sign_evm(digest, EVM_OTHER_KEY)
        right: Any = sign_evm(digest, EVM_MAKER_KEY)
    else:
        wrong = sign_cardano(digest, CARDANO_OTHER_KEY)
        right = sign_cardano(digest, CARDANO_MAKER_KEY)
    url = f"/api/orders/{order_hash}"
    r = await client.request("DELETE", url, content=to_json({"signature": wrong}), headers=JSON)
    assert (r.status_code, r.json()["error_code"]) == (400, "INVALID_SIGNATURE")
    # a signature over the order itself is not a cancellation
    order_sig = to_dict(submission(direction))["signature"]
    r = await client.request("DELETE", url, content=to_json({"signature": order_sig}),
                             headers=JSON)
    assert r.status_code == 400
    r = await client.request("DELETE", url, content=to_json({"signature": right}), headers=JSON)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    assert (await client.get(url)).json()["status"] == "cancelled"
    r = await client.request("DELETE", url, content=to_json({"signature": right}), headers=JSON)
    assert (r.status_code, r.json()["error_code"]) == (409, "ORDER_NOT_CANCELLABLE")
    assert await stored_records(app) == 2


async def test_pagination_and_filters(client: httpx.AsyncClient) -> None:
    hashes = []
    for i in range(7):
        direction = "eth_to_ada" if i % 2 == 0 else "ada_to_eth"
        r = await post(client, submission(direction, salt=str(i)))
        hashes.append(r.json()["order_hash"])
    seen: list[str] = []
    cursor = None
    while True:
        url = "/api/orders?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(url)).json()
        seen += [o["order_hash"] for o in page["orders"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == hashes
    eth = (await client.get("/api/orders?src_chain=ethereum&status=active")).json()["orders"]
    assert [o["order_hash"] for o in eth] == hashes[0::2]
    ada = (await client.get("/api/orders?maker_asset=lovelace")).json()["orders"]
    assert [o["order_hash"] for o in ada] == hashes[1::2]
    maker = ada[0]["order"]["maker"]
    by_maker = (await client.get(f"/api/orders/maker/{maker}")).json()["orders"]
    assert [o["order_hash"] for o in by_maker] == hashes[1::2]
    none = (await client.get("/api/orders?status=cancelled")).json()["orders"]
    assert none == []
    for bad in ("limit=0", "limit=501", "status=nope", "cursor=zzz", "src_chain=x"):
        r = await client.get(f"/api/orders?{bad}")
        assert r.status_code == 400, bad


async def test_quote_then_sign_and_submit(client: httpx.AsyncClient,
                                          validator: OrderValidator) -> None:
    r = await client.get("/api/quote", params={
        "src_chain": "ethereum", "dst_chain": "cardano", "src_token": "TUSD",
        "dst_token": "ADA", "amount": "100000000"})
    assert r.status_code == 200, r.text
    quote = r.json()
    assert quote["market_taking_amount"] == "200000000"  # 100 TUSD at $1 -> 200 ADA at $0.5
    preset = quote["presets"][quote["recommended_preset"]]
    assert int(preset["taking_amount"]) < 200_000_000 < int(preset["start_taking_amount"])
    sub = submission(auction=msgspec.convert(preset["auction"], AuctionWire),
                     taking_amount=preset["taking_amount"],
                     timelocks=msgspec.convert(preset["timelocks"], TimelocksWire),
                     deadline=preset["deadline"])
    assert (await post(client, sub)).status_code == 201
    bad = await client.get("/api/quote?src_chain=ethereum&dst_chain=cardano&src_token=TUSD"
                           "&dst_token=ADA&amount=1.5")
    assert (bad.status_code, bad.json()["error_code"]) == (400, "INVALID_PARAMETER")
