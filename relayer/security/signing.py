"""HMAC request signing: the key never travels, a captured request cannot be replayed.

A signed request carries four headers instead of the key:

- ``X-Relayer-Key-Id``: the key's public id;
- ``X-Relayer-Timestamp``: unix seconds when it was signed;
- ``X-Relayer-Nonce``: 16 to 64 characters ``[A-Za-z0-9_-]``, new for every request;
- ``X-Relayer-Signature``: hex HMAC-SHA256, keyed with ``signing_secret(api_key)``, of::

      v1 \\n METHOD \\n path \\n query \\n timestamp \\n nonce \\n hex(sha256(body))

The relayer refuses a timestamp further than the window from its clock
(``SIGNATURE_STALE``) and a nonce it has already seen from that key within the
window (``SIGNATURE_REPLAYED``); it remembers nonces only as long as their
timestamps could still pass, so memory is bounded by the request rate.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from relayer.security.errors import SignatureInvalid, SignatureReplayed, SignatureStale
from relayer.security.principal import Principal

HEADER_KEY_ID = "x-relayer-key-id"
HEADER_TIMESTAMP = "x-relayer-timestamp"
HEADER_NONCE = "x-relayer-nonce"
HEADER_SIGNATURE = "x-relayer-signature"
SIGNATURE_HEADERS = (HEADER_KEY_ID, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE)
VERSION = "v1"
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_SIGNATURE = re.compile(r"^[0-9a-fA-F]{64}$")


class SigningKeyring(Protocol):
    """Finds the principal and signing secret of a key id (``None``: unknown or unsigned)."""

    def signing_key(self, key_id: str) -> tuple[Principal, bytes] | None: ...


def canonical_request(method: str, path: str, query: str, timestamp: int, nonce: str,
                      body: bytes) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join((VERSION, method.upper(), path, query, str(timestamp), nonce,
                      digest)).encode()


def sign(secret: bytes, method: str, path: str, query: str, timestamp: int, nonce: str,
         body: bytes) -> str:
    message = canonical_request(method, path, query, timestamp, nonce, body)
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def signed_headers(key_id: str, secret: bytes, method: str, path: str, *, query: str = "",
                   body: bytes = b"", timestamp: int, nonce: str) -> dict[str, str]:
    """The headers a client adds to sign a request (used by resolvers and tests)."""
    return {
        HEADER_KEY_ID: key_id,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: sign(secret, method, path, query, timestamp, nonce, body),
    }


@dataclass(frozen=True, slots=True)
class SignedRequest:
    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    """Lower-case names."""
    body: bytes


class ReplayGuard:
    """Remembers (key id, nonce) pairs until their timestamps fall out of the window."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, str]] = set()
        self._expiries: list[tuple[float, str, str]] = []

    def __len__(self) -> int:
        return len(self._seen)

    def first_use(self, key_id: str, nonce: str, *, now: float, expires: float) -> bool:
        """Record the pair; ``False`` when it was already recorded and has not expired."""
        while self._expiries and self._expiries[0][0] < now:
            _, old_key, old_nonce = heapq.heappop(self._expiries)
            self._seen.discard((old_key, old_nonce))
        pair = (key_id, nonce)
        if pair in self._seen:
            return False
        self._seen.add(pair)
        heapq.heappush(self._expiries, (expires, key_id, nonce))
        return True


class SignatureVerifier:
    def __init__(self, keyring: SigningKeyring, *, window: int) -> None:
        self._keyring = keyring
        self._window = window
        self._guard = ReplayGuard()

    @property
    def remembered(self) -> int:
        return len(self._guard)

    def verify(self, request: SignedRequest, now: float) -> Principal:
        """The principal of a correctly signed, fresh, first-seen request; raises otherwise."""
        values = {}
        for name in SIGNATURE_HEADERS:
            value = request.headers.get(name)
            if value is None:
                raise SignatureInvalid(f"signed requests need the {name} header",
                                       details={"header": name})
            values[name] = value
        timestamp_text, nonce = values[HEADER_TIMESTAMP], values[HEADER_NONCE]
        if not _TIMESTAMP.match(timestamp_text):
            raise SignatureInvalid("the timestamp must be unix seconds",
                                   details={"header": HEADER_TIMESTAMP})
        if not _NONCE.match(nonce):
            raise SignatureInvalid("the nonce must be 16 to 64 characters [A-Za-z0-9_-]",
                                   details={"header": HEADER_NONCE})
        if not _SIGNATURE.match(values[HEADER_SIGNATURE]):
            raise SignatureInvalid("the signature must be 64 hex digits",
                                   details={"header": HEADER_SIGNATURE})
        found = self._keyring.signing_key(values[HEADER_KEY_ID])
        # An unknown key id and a wrong signature get the same answer.
        principal, secret = found if found is not None else (None, bytes(32))
        timestamp = int(timestamp_text)
        expected = sign(secret, request.method, request.path, request.query, timestamp, nonce,
                        request.body)
        if not hmac.compare_digest(expected, values[HEADER_SIGNATURE].lower()) \
                or principal is None:
            raise SignatureInvalid("the signature does not match the request")
        if abs(now - timestamp) > self._window:
            raise SignatureStale(
                f"the timestamp is more than {self._window} s from the relayer's clock",
                details={"server_time": int(now), "window_seconds": self._window})
        if not self._guard.first_use(principal.key_id, nonce, now=now,
                                     expires=timestamp + self._window):
            raise SignatureReplayed("this nonce was already used with this key")
        return principal
