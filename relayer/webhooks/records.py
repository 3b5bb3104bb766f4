"""What the webhooks part writes to the event log, and the streams it writes to.

Registrations live in one index stream (``webhooks``), so startup reads a
single stream to know every endpoint. Each endpoint's deliveries live in its
own stream (``webhook:<id>``): a ``DeliveryCreated`` when an event is matched,
then one ``DeliveryAttempted`` per attempt. Replaying a stream in version
order gives every delivery's status, attempts, last error and next attempt
time, which is how pending retries resume after a restart.

The signing secret is stored sealed (AES-256-GCM, ``sealing.py``), never in
clear.
"""

from __future__ import annotations

from dataclasses import dataclass

from relayer.events.codec import EventCodec

INDEX_STREAM = "webhooks"


def delivery_stream(webhook_id: str) -> str:
    return f"webhook:{webhook_id}"


@dataclass(frozen=True, slots=True)
class WebhookRegistered:
    webhook_id: str
    owner: str
    """The API key id that registered it; only that key sees and manages it."""
    url: str
    events: tuple[str, ...]
    chains: tuple[str, ...]
    """Empty: every chain."""
    makers: tuple[str, ...]
    """Empty: every maker. Canonical address text."""
    description: str
    sealed_secret: str
    """base64url of nonce || ciphertext || tag, bound to ``webhook_id``."""
    key_version: str
    """Fingerprint of the sealing key, so a wrong key is reported, not misused."""
    created_at: int


@dataclass(frozen=True, slots=True)
class WebhookDeleted:
    webhook_id: str
    owner: str
    deleted_at: int


@dataclass(frozen=True, slots=True)
class DeliveryCreated:
    webhook_id: str
    delivery_id: str
    event: str
    order_hash: str
    body: str
    """The exact JSON body every attempt sends (signatures cover it byte for byte),
    sealed with the webhook key when ``body_sealed_with`` is set: a ``secret_shared``
    body holds a secret, and secrets are never stored in the clear."""
    created_at: float
    body_sealed_with: str = ""
    """Fingerprint of the key ``body`` is sealed with; empty for a plain body (records
    written before bodies were sealed)."""


@dataclass(frozen=True, slots=True)
class DeliveryAttempted:
    webhook_id: str
    delivery_id: str
    attempt: int
    """1 for the first attempt."""
    at: float
    duration_ms: int
    status_code: int | None
    """The receiver's HTTP status, ``None`` when no answer came (timeout, refused, TLS)."""
    error: str
    """Empty on success; otherwise why the attempt failed."""
    outcome: str
    """The delivery status after this attempt: delivered, pending (a retry is due
    at ``next_attempt_at``) or failed (no attempts left)."""
    next_attempt_at: float | None


WebhookRecord = WebhookRegistered | WebhookDeleted | DeliveryCreated | DeliveryAttempted
WEBHOOK_RECORDS: tuple[type[WebhookRecord], ...] = (
    WebhookRegistered, WebhookDeleted, DeliveryCreated, DeliveryAttempted,
)
WEBHOOK_CODEC = EventCodec(WEBHOOK_RECORDS)
