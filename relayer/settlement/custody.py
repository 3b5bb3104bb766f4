"""Custody of makers' secrets: sealed to the relayer's key, opened only to release.

A maker in custody mode seals each secret to one of the relayer's X25519
public keys (a libsodium sealed box) and submits the boxes with its order.
The boxes are what is stored: at rest a secret exists only under a key the
relayer holds in memory, read from the environment or a file. The relayer
opens a box twice: at intake, to check it holds the secret of its hash, and
when the reveal policy allows the release.

Rotation: the keyring holds several private keys. The first is the active
one, published at ``GET /api/custody/keys``; the others still open boxes of
orders submitted before the rotation, and are dropped once those are settled.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

from relayer.errors import ConfigError, ValidationError
from relayer.signing.keccak import keccak256

SEALED_SECRET_BYTES = 32 + 48
"""A sealed 32-byte secret: ephemeral public key (32), MAC (16), ciphertext (32)."""

_HEX_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")


@dataclass(frozen=True, slots=True)
class CustodyKey:
    key_id: str
    """The X25519 public key, 0x-prefixed hex: what makers seal to."""
    active: bool


class CustodyKeyring:
    def __init__(self, private_keys: Sequence[bytes]) -> None:
        if not private_keys:
            raise ConfigError("the custody keyring needs at least one key")
        self._boxes: dict[str, SealedBox[PrivateKey]] = {}
        self._order: list[str] = []
        for raw in private_keys:
            private = PrivateKey(raw)
            key_id = "0x" + bytes(private.public_key).hex()
            self._boxes[key_id] = SealedBox(private)
            self._order.append(key_id)

    @classmethod
    def from_text(cls, text: str, *, source: str) -> CustodyKeyring:
        """Keys as hex, separated by commas or newlines; the first is active."""
        keys = []
        for item in re.split(r"[,\s]+", text.strip()):
            if not item:
                continue
            if not _HEX_KEY.match(item):
                raise ConfigError(f"{source}: a custody key is 64 hex digits")
            keys.append(bytes.fromhex(item.removeprefix("0x")))
        return cls(keys)

    @classmethod
    def load(cls, *, keys: str, keys_file: str, data_dir: str) -> CustodyKeyring:
        """From ``keys`` (the environment), else ``keys_file``, else a key file in
        ``data_dir`` created on first use (mode 0600)."""
        if keys:
            return cls.from_text(keys, source="settlement.custody_keys")
        path = Path(keys_file) if keys_file else Path(data_dir) / "custody-keys"
        if not keys_file and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(bytes(PrivateKey.generate()).hex() + "\n")
        try:
            text = path.read_text()
        except OSError as exc:
            raise ConfigError(f"settlement.custody_keys_file: cannot read {path}: {exc}") from exc
        return cls.from_text(text, source=f"settlement.custody_keys_file ({path})")

    def keys(self) -> list[CustodyKey]:
        return [CustodyKey(key_id, active=i == 0) for i, key_id in enumerate(self._order)]

    @property
    def active_key_id(self) -> str:
        return self._order[0]

    def knows(self, key_id: str) -> bool:
        return key_id.lower() in self._boxes

    def open(self, key_id: str, sealed: bytes, *, secret_hash: bytes, index: int) -> bytes:
        """The secret in ``sealed``; ``ValidationError`` unless it opens and hashes to
        ``secret_hash``."""
        box = self._boxes.get(key_id.lower())
        if box is None:
            raise ValidationError("custody.key_id is not one of the relayer's custody keys",
                                  code="CUSTODY_KEY_UNKNOWN",
                                  details={"field": "custody.key_id"})
        try:
            secret = box.decrypt(sealed)
        except CryptoError:
            secret = b""
        if len(secret) != 32 or keccak256(secret) != secret_hash:
            raise ValidationError(
                f"custody.sealed_secrets[{index}] does not hold the secret of"
                f" secret_hashes[{index}]",
                code="SEALED_SECRET_INVALID",
                details={"field": f"custody.sealed_secrets[{index}]"})
        return secret


def seal_secret(key_id: str, secret: bytes) -> bytes:
    """What a maker does: seal ``secret`` to the relayer's custody key ``key_id``."""
    public = PublicKey(bytes.fromhex(key_id.removeprefix("0x")))
    return bytes(SealedBox(public).encrypt(secret))
