"""The maker's side: make secrets and sign orders and cancellations.

Used by the sample script, the reference resolver's tests and wallets written
in Python. Signing needs the same canonical terms the relayer checks, so it
goes through ``OrderValidator.order_hash``.
"""

from __future__ import annotations

import secrets as _random
from dataclasses import dataclass

from pycardano import PaymentSigningKey
from pycardano.cip import cip8
from pycardano.network import Network

from relayer.orders.merkle import merkle_root
from relayer.orders.signatures import cip8_message
from relayer.orders.validation import OrderValidator
from relayer.orders.wire import CoseSignatureWire, OrderWire
from relayer.signing.eip712 import cancel_digest
from relayer.signing.keccak import keccak256
from relayer.signing.secp256k1 import sign_digest


@dataclass(frozen=True, slots=True)
class SecretSet:
    secrets: tuple[bytes, ...]
    hashes: tuple[bytes, ...]
    hashlock: bytes


def make_secrets(parts: int = 1) -> SecretSet:
    """Fresh random secrets for an order in ``parts`` parts, and its hashlock."""
    count = 1 if parts == 1 else parts + 1
    secrets = tuple(_random.token_bytes(32) for _ in range(count))
    hashes = tuple(keccak256(s) for s in secrets)
    hashlock = hashes[0] if parts == 1 else merkle_root(hashes)
    return SecretSet(secrets=secrets, hashes=hashes, hashlock=hashlock)


def sign_evm(digest: bytes, private_key: bytes) -> str:
    return "0x" + sign_digest(digest, private_key).hex()


def sign_cardano(digest: bytes, signing_key: PaymentSigningKey,
                 network: Network = Network.TESTNET) -> CoseSignatureWire:
    signed = cip8.sign(cip8_message(digest), signing_key, attach_cose_key=True, network=network)
    assert isinstance(signed, dict)
    return CoseSignatureWire(signature=signed["signature"], key=signed["key"])


def order_digest_of(validator: OrderValidator, order: OrderWire) -> bytes:
    return bytes.fromhex(validator.order_hash(order)[2:])


def cancel_digest_of(validator: OrderValidator, order_hash: str) -> bytes:
    return cancel_digest(bytes.fromhex(order_hash[2:]), validator.domain)
