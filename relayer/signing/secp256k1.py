"""Ethereum signatures over 32-byte digests (``r || s || v``), via libsecp256k1."""

from __future__ import annotations

from coincurve import PrivateKey, PublicKey

from relayer.errors import SignatureError
from relayer.signing.keccak import keccak256

_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HALF_N = _N // 2


def recover_address(digest: bytes, signature: bytes) -> bytes:
    """The 20-byte address that signed ``digest``; raises ``SignatureError`` if malformed.

    Only canonical signatures pass: ``v`` in {27, 28} (or {0, 1}) and a low ``s``
    (EIP-2), so one order has exactly one valid signature per key.
    """
    if len(signature) != 65:
        raise SignatureError("signature must be 65 bytes (r || s || v)")
    r = int.from_bytes(signature[0:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    if v >= 27:
        v -= 27
    if v not in (0, 1):
        raise SignatureError("signature v must be 27 or 28")
    if not (0 < r < _N and 0 < s <= _HALF_N):
        raise SignatureError("signature r or s out of range (s must be in the lower half)")
    try:
        public = PublicKey.from_signature_and_message(
            signature[:64] + bytes([v]), digest, hasher=None
        )
    except Exception as exc:  # coincurve raises plain Exception on bad input
        raise SignatureError("signature does not recover to a public key") from exc
    return address_of(public)


def address_of(public: PublicKey) -> bytes:
    return keccak256(public.format(compressed=False)[1:])[-20:]


def sign_digest(digest: bytes, private_key: bytes) -> bytes:
    """Sign like ``eth_signTypedData``: 65 bytes with ``v`` in {27, 28}."""
    raw = PrivateKey(private_key).sign_recoverable(digest, hasher=None)
    return raw[:64] + bytes([raw[64] + 27])


def private_key_address(private_key: bytes) -> bytes:
    return address_of(PrivateKey(private_key).public_key)
