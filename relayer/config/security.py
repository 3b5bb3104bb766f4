"""Settings of who may call the relayer (API keys, signatures, CORS, rate limits) and of
the webhook endpoints it calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class CorsSettings:
    allow_origins: tuple[str, ...] = ()
    """Browser origins allowed to call the API; empty: no CORS headers at all."""
    allow_methods: tuple[str, ...] = ("GET", "POST", "DELETE")
    allow_headers: tuple[str, ...] = (
        "content-type", "authorization", "x-api-key", "x-request-id", "x-relayer-key-id",
        "x-relayer-timestamp", "x-relayer-nonce", "x-relayer-signature",
    )
    max_age: int = 600


@dataclass(frozen=True, slots=True)
class RateLimitSettings:
    enabled: bool = True
    per_ip_rate: float = 20.0
    """Requests a second refilled to each client address without an API key."""
    per_ip_burst: int = 60
    per_key_rate: float = 100.0
    """Requests a second refilled to each API key."""
    per_key_burst: int = 300
    exempt_networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    """Client networks without a per-address limit (API keys are still limited)."""


@dataclass(frozen=True, slots=True)
class SecuritySettings:
    api_keys_file: str = ""
    """JSON lines of hashed keys (``relayer keys create``); empty: no keys."""
    require_signatures: bool = False
    """Refuse plain API keys: every authenticated request must be HMAC-signed."""
    signature_window_seconds: int = 300
    """How far a signed request's timestamp may be from now; nonces are kept this long."""
    hsts_seconds: int = 0
    """``Strict-Transport-Security`` max-age; 0 leaves it to the TLS proxy."""
    cors: CorsSettings = field(default_factory=CorsSettings)
    rate_limit: RateLimitSettings = field(default_factory=RateLimitSettings)


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """Webhook endpoints and deliveries (docs/webhooks.md)."""

    secret_key: str = ""
    """64 hex digits: the AES-256-GCM key that seals signing secrets at rest
    (``RELAYER_WEBHOOKS_SECRET_KEY``); empty: read from ``secret_key_file``."""
    secret_key_file: str = ""
    """Empty: ``<data_dir>/webhook-secrets.key``, created (mode 0600) if missing."""
    allow_http_loopback: bool = False
    """Development: accept plain ``http://`` endpoints on loopback addresses."""
    allow_private_hosts: bool = False
    """Accept endpoints at loopback, private or reserved addresses (off: no SSRF into
    the relayer's own network by address literal)."""
    ca_file: str = ""
    """Extra CA certificates (PEM) trusted for endpoints, beside the system ones."""
    timeout_seconds: float = 10.0
    max_attempts: int = 10
    retry_initial_seconds: float = 2.0
    """Delay after the first failed attempt; doubled after each further one."""
    retry_max_seconds: float = 600.0
    retry_jitter: float = 0.2
    """Each delay is drawn from [(1 - jitter) * d, d]."""
    retry_poll_seconds: float = 1.0
    """How often due retries are picked up."""
    queue_size: int = 10_000
    """Matched events waiting to be recorded; beyond it an event is dropped and counted."""
    max_pending_per_endpoint: int = 1_000
    """Undelivered deliveries one endpoint may hold; beyond it new ones are dropped."""
    endpoint_concurrency: int = 2
    """Deliveries in flight at once to one endpoint."""
    max_per_key: int = 20
    """Webhooks one API key may register."""
    max_makers: int = 100
    """Makers one webhook's filter may name."""
    history_per_endpoint: int = 1_000
    """Finished deliveries kept in memory per endpoint for the deliveries API."""
