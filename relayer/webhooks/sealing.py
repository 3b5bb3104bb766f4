"""Signing secrets at rest: AES-256-GCM under a key from the configuration.

A sealed secret is ``nonce (12) || ciphertext || tag (16)`` in base64url, with
the webhook id as associated data, so a sealed value copied onto another
webhook does not open. The key's fingerprint is stored beside it: starting
with a different key is reported as a configuration error instead of
silently failing every delivery.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path

from Crypto.Cipher import AES

from relayer.errors import ConfigError, StoreError

KEY_BYTES = 32
_NONCE = 12
_TAG = 16


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ConfigError("webhooks.secret_key must be 32 bytes (64 hex digits)",
                              details={"key": "webhooks.secret_key"})
        self._key = key
        self.fingerprint = hashlib.sha256(b"relayer/webhook-secrets/v1" + key).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"SecretBox(fingerprint={self.fingerprint!r})"

    def seal(self, plaintext: bytes, *, context: str) -> str:
        nonce = secrets.token_bytes(_NONCE)
        cipher = AES.new(self._key, AES.MODE_GCM, nonce=nonce, mac_len=_TAG)
        cipher.update(context.encode())
        ciphertext, tag = cipher.encrypt_and_digest(plaintext)
        return base64.urlsafe_b64encode(nonce + ciphertext + tag).decode()

    def open(self, sealed: str, *, context: str, fingerprint: str) -> bytes:
        if fingerprint != self.fingerprint:
            raise ConfigError(
                "a webhook secret was sealed under another key than webhooks.secret_key",
                details={"key": "webhooks.secret_key", "stored_fingerprint": fingerprint})
        try:
            raw = base64.urlsafe_b64decode(sealed)
            nonce, body = raw[:_NONCE], raw[_NONCE:]
            cipher = AES.new(self._key, AES.MODE_GCM, nonce=nonce, mac_len=_TAG)
            cipher.update(context.encode())
            plaintext: bytes = cipher.decrypt_and_verify(body[:-_TAG], body[-_TAG:])
        except ValueError as exc:
            raise StoreError(f"sealed webhook secret for {context} does not open") from exc
        return plaintext


def load_key(secret_key: str, key_file: str, data_dir: str) -> bytes:
    """The sealing key: ``secret_key`` (hex) if set, else the key file, created if missing.

    A created file holds 32 random bytes as hex and is readable by its owner only.
    """
    if secret_key:
        try:
            key = bytes.fromhex(secret_key)
        except ValueError:
            key = b""
        if len(key) != KEY_BYTES:
            raise ConfigError("webhooks.secret_key must be 64 hex digits",
                              details={"key": "webhooks.secret_key"})
        return key
    path = Path(key_file) if key_file else Path(data_dir) / "webhook-secrets.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(KEY_BYTES) + "\n")
                out.flush()
                os.fsync(out.fileno())
    try:
        key = bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"webhooks.secret_key_file {path} is unreadable or not hex",
                          details={"key": "webhooks.secret_key_file"}) from exc
    if len(key) != KEY_BYTES:
        raise ConfigError(f"webhooks.secret_key_file {path} must hold 64 hex digits",
                          details={"key": "webhooks.secret_key_file"})
    return key
