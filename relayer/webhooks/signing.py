"""Delivery signatures: HMAC-SHA256 over ``timestamp + "." + body``.

The header reads ``X-Relayer-Signature: t=<unix seconds>,v1=<hex digest>``.
Each attempt is signed afresh with its own timestamp, so a receiver can
refuse anything older than a few minutes (a replay) while retries still pass.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "X-Relayer-Signature"
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A signing secret, shown once at registration; its UTF-8 bytes are the HMAC key."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(secret: bytes, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secret: bytes, header: str, body: bytes, *, now: int, tolerance: int = 300) -> bool:
    """What a receiver does (docs/webhooks.md has the same recipe to copy)."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        fields.setdefault(name, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, given) for given in fields.get("v1", []))
