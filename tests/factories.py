"""Factories for signed orders, with overrides, shared by the tests."""

from __future__ import annotations

from typing import Any

import msgspec
from pycardano import Address, Network, PaymentSigningKey

from relayer.config import Settings, load_settings
from relayer.errors import ValidationError
from relayer.orders.signer import SecretSet, make_secrets, order_digest_of, sign_cardano, sign_evm
from relayer.orders.validation import OrderValidator
from relayer.orders.wire import (
    AuctionPointWire,
    AuctionWire,
    OrderSubmissionWire,
    OrderWire,
    TimelocksWire,
    UtxoRefWire,
)
from relayer.signing.secp256k1 import private_key_address

NOW = 1_763_750_000
# anvil's well-known development account 1 (never holds real funds)
EVM_MAKER_KEY = bytes.fromhex("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
EVM_OTHER_KEY = bytes.fromhex("5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a")
CARDANO_MAKER_KEY = PaymentSigningKey(b"\x11" * 32)
CARDANO_OTHER_KEY = PaymentSigningKey(b"\x22" * 32)


def evm_address(key: bytes = EVM_MAKER_KEY) -> str:
    return "0x" + private_key_address(key).hex()


def cardano_address(key: PaymentSigningKey = CARDANO_MAKER_KEY) -> str:
    return str(Address(key.to_verification_key().hash(), network=Network.TESTNET))


def make_settings(**overrides: Any) -> Settings:
    """Settings for tests: no chain is followed unless a test asks for it, e.g.
    ``make_settings(**{"chains.ethereum.follow": True, "chains.ethereum.rpc_urls": [url]})``."""
    return load_settings(overrides={"chains.ethereum.follow": False,
                                    "chains.cardano.follow": False, **overrides})


def make_validator(settings: Settings | None = None) -> OrderValidator:
    return OrderValidator.from_settings(settings or make_settings())


def default_timelocks() -> TimelocksWire:
    return TimelocksWire(src_withdrawal=12, src_public_withdrawal=120, src_cancellation=600,
                         src_public_cancellation=720, dst_withdrawal=12,
                         dst_public_withdrawal=100, dst_cancellation=500)


def default_auction(now: int = NOW) -> AuctionWire:
    return AuctionWire(start_time=now, duration=180, initial_rate_bump=500_000,
                       points=[AuctionPointWire(rate_bump=250_000, delay=60)])


def order_wire(direction: str = "eth_to_ada", *, now: int = NOW,
               secrets: SecretSet | None = None, **overrides: Any) -> OrderWire:
    secrets = secrets or make_secrets(overrides.get("parts", 1))
    if direction == "eth_to_ada":
        base = dict(src_chain="ethereum", dst_chain="cardano", maker=evm_address(),
                    receiver=cardano_address(), maker_asset="TUSD", taker_asset="lovelace",
                    making_amount="100000000", taking_amount="190000000",
                    src_safety_deposit="1000000000000000", dst_safety_deposit="2000000")
    else:
        base = dict(src_chain="cardano", dst_chain="ethereum", maker=cardano_address(),
                    receiver=evm_address(), maker_asset="lovelace", taker_asset="TUSD",
                    making_amount="200000000", taking_amount="95000000",
                    src_safety_deposit="2000000", dst_safety_deposit="1000000000000000")
    fields: dict[str, Any] = dict(
        salt="42", **base, auction=default_auction(now), hashlock="0x" + secrets.hashlock.hex(),
        parts=1, timelocks=default_timelocks(), deadline=now + 3600,
    )
    fields.update(overrides)
    return OrderWire(**fields)


def submission(
    direction: str = "eth_to_ada",
    *,
    validator: OrderValidator | None = None,
    now: int = NOW,
    parts: int = 1,
    secrets: SecretSet | None = None,
    evm_key: bytes = EVM_MAKER_KEY,
    cardano_key: PaymentSigningKey = CARDANO_MAKER_KEY,
    **overrides: Any,
) -> OrderSubmissionWire:
    """A correctly signed submission; ``overrides`` replace order fields before signing."""
    validator = validator or make_validator()
    secrets = secrets or make_secrets(parts)
    order = order_wire(direction, now=now, secrets=secrets, parts=parts, **overrides)
    try:
        digest = order_digest_of(validator, order)
    except ValidationError:
        digest = bytes(32)  # terms the relayer rejects anyway: any well-formed signature
    signature: Any = (sign_evm(digest, evm_key) if order.src_chain == "ethereum"
                      else sign_cardano(digest, cardano_key))
    return OrderSubmissionWire(
        order=order,
        secret_hashes=["0x" + h.hex() for h in secrets.hashes],
        signature=signature,
        src_order_utxo=(UtxoRefWire(tx_id="ab" * 32, index=0)
                        if order.src_chain == "cardano" else None),
    )


def to_json(value: Any) -> bytes:
    return msgspec.json.encode(value)


def to_dict(value: Any) -> dict[str, Any]:
    result: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(value))
    return result
