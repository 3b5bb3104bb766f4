"""Pre-signed orders for the benchmarks (signing happens before any timing)."""

from __future__ import annotations

import time

import msgspec

from relayer.orders.signer import make_secrets, order_digest_of, sign_evm
from relayer.orders.validation import OrderValidator
from relayer.orders.wire import (
    AuctionPointWire,
    AuctionWire,
    OrderSubmissionWire,
    OrderWire,
    TimelocksWire,
)
from relayer.signing.secp256k1 import private_key_address

MAKER_KEY = bytes.fromhex("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
RECEIVER = "addr_test1vpt780ulj0qpqs72xwftrvkfuztqxgr43zqk3j4m3x4tndg6qr3hs"


def signed_bodies(validator: OrderValidator, count: int, *, salt_base: int) -> list[bytes]:
    """``count`` distinct Ethereum-to-Cardano submissions, already JSON-encoded."""
    now = int(time.time())
    maker = "0x" + private_key_address(MAKER_KEY).hex()
    secret = make_secrets(1)
    encoder = msgspec.json.Encoder()
    bodies = []
    for i in range(count):
        order = OrderWire(
            salt=str(salt_base + i), src_chain="ethereum", dst_chain="cardano", maker=maker,
            receiver=RECEIVER, maker_asset="TUSD", taker_asset="lovelace",
            making_amount=str(100_000_000 + i), taking_amount="190000000",
            auction=AuctionWire(start_time=now - 10, duration=3600, initial_rate_bump=500_000,
                                points=[AuctionPointWire(rate_bump=250_000, delay=600)]),
            hashlock="0x" + secret.hashlock.hex(), parts=1,
            timelocks=TimelocksWire(12, 120, 600, 720, 12, 100, 500),
            src_safety_deposit="1000000000000000", dst_safety_deposit="2000000",
            deadline=now + 7200,
        )
        signature = sign_evm(order_digest_of(validator, order), MAKER_KEY)
        bodies.append(encoder.encode(OrderSubmissionWire(
            order=order, secret_hashes=["0x" + secret.hashes[0].hex()], signature=signature)))
    return bodies
