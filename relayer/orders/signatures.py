"""Checking makers' signatures: EIP-712 + secp256k1 for Ethereum, CIP-8 for Cardano."""

from __future__ import annotations

from pycardano.cip import cip8

from relayer.errors import SignatureError
from relayer.networks.registry import ChainKind, ParsedAddress
from relayer.orders.model import CoseSignature, MakerSignature
from relayer.signing.secp256k1 import recover_address


def cip8_message(digest: bytes) -> str:
    """The text a Cardano maker signs for ``digest`` (docs/protocol.md)."""
    return "0x" + digest.hex()


def verify_signature(
    kind: ChainKind, digest: bytes, signature: MakerSignature, signer: ParsedAddress
) -> None:
    """Raise ``SignatureError`` unless ``signer`` signed ``digest``."""
    if kind is ChainKind.EVM:
        if not isinstance(signature, bytes):
            raise SignatureError("an Ethereum maker signs with a 65-byte hex signature")
        if recover_address(digest, signature) != signer.raw:
            raise SignatureError("signature was not made by the maker")
        return
    if not isinstance(signature, CoseSignature):
        raise SignatureError("a Cardano maker signs with CIP-8: {signature, key}")
    if signer.payment_key_hash is None:
        raise SignatureError("a Cardano maker needs a key-hash payment credential")
    try:
        result = cip8.verify({"signature": signature.signature, "key": signature.key})
    except Exception as exc:  # pycardano and cose raise many kinds on malformed COSE
        raise SignatureError("malformed CIP-8 signature") from exc
    if not result.get("verified"):
        raise SignatureError("CIP-8 signature does not verify")
    if result.get("message") != cip8_message(digest):
        raise SignatureError("CIP-8 payload is not this order's hash")
    address = result.get("signing_address")
    payment = getattr(address, "payment_part", None)
    if payment is None or bytes(payment.payload) != signer.payment_key_hash:
        raise SignatureError("CIP-8 signature was not made by the maker's payment key")
