"""The JSON of the webhooks API: what a client sends and what it reads back."""

from __future__ import annotations

import msgspec


class WebhookRequest(msgspec.Struct, forbid_unknown_fields=True):
    url: str
    """``https://…``; plain ``http://`` only to loopback when ``webhooks.allow_http_loopback``."""
    events: list[str] | None = None
    """Event names to receive; omitted: every event the API key may receive."""
    chains: list[str] | None = None
    """Only orders from or to one of these chains; omitted or empty: any chain."""
    makers: list[str] | None = None
    """Only orders of these makers; omitted or empty: any maker."""
    description: str = ""


class WebhookView(msgspec.Struct):
    id: str
    url: str
    events: list[str]
    chains: list[str]
    makers: list[str]
    description: str
    created_at: int
    status: str
    """``active``, or ``deleted`` in the answer to a delete."""
    pending_deliveries: int


class WebhookCreated(msgspec.Struct):
    webhook: WebhookView
    secret: str
    """The signing secret: shown here once, never again."""


class WebhookList(msgspec.Struct):
    webhooks: list[WebhookView]


class AttemptView(msgspec.Struct):
    attempt: int
    at: float
    duration_ms: int
    status_code: int | None
    error: str


class DeliveryView(msgspec.Struct):
    id: str
    webhook_id: str
    event: str
    order_hash: str
    status: str
    """``pending``, ``delivered`` or ``failed`` (every attempt used)."""
    created_at: float
    attempts: int
    last_status_code: int | None
    last_error: str
    next_attempt_at: float | None
    history: list[AttemptView]


class DeliveryList(msgspec.Struct):
    deliveries: list[DeliveryView]
    """Newest first."""
    next_cursor: str | None


class Payload(msgspec.Struct):
    """The body of every delivery; ``data`` is the same JSON the WebSocket channels carry."""

    id: str
    """The delivery id (also in ``X-Relayer-Delivery``): the same on every retry."""
    event: str
    webhook_id: str
    order_hash: str | None
    created_at: int
    data: msgspec.Raw
