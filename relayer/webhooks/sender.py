"""One attempt at one delivery: sign, POST, and decide what happens next."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import structlog

from relayer.clock import Clock
from relayer.webhooks.backoff import RetryPolicy
from relayer.webhooks.model import Attempt, Delivery, DeliveryStatus, Webhook
from relayer.webhooks.signing import SIGNATURE_HEADER, signature_header
from relayer.webhooks.transport import DeliveryFailed, Transport

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    attempt: Attempt
    status: DeliveryStatus
    """delivered, pending (retry at ``next_attempt_at``) or failed (no attempts left)."""
    next_attempt_at: float | None


class Sender:
    def __init__(self, *, transport: Transport, clock: Clock, policy: RetryPolicy,
                 rng: random.Random) -> None:
        self._transport = transport
        self._clock = clock
        self._policy = policy
        self._rng = rng

    async def send(self, webhook: Webhook, delivery: Delivery) -> Outcome:
        number = len(delivery.attempts) + 1
        timestamp = int(self._clock.now())
        headers = {
            "Content-Type": "application/json",
            "X-Relayer-Event": delivery.event,
            "X-Relayer-Delivery": delivery.delivery_id,
            "X-Relayer-Webhook": webhook.webhook_id,
            "X-Relayer-Attempt": str(number),
            SIGNATURE_HEADER: signature_header(webhook.secret, timestamp, delivery.body),
        }
        started = time.perf_counter()
        status_code: int | None = None
        try:
            status_code = await self._transport.post(webhook.url, delivery.body, headers)
            error = "" if 200 <= status_code < 300 else f"HTTP {status_code}"
        except DeliveryFailed as exc:
            error = exc.message
        except Exception:
            log.exception("webhook_attempt_crashed", webhook_id=webhook.webhook_id,
                          delivery_id=delivery.delivery_id)
            error = "internal error while sending"
        attempt = Attempt(number=number, at=self._clock.now(),
                          duration_ms=int((time.perf_counter() - started) * 1000),
                          status_code=status_code, error=error)
        if not error:
            return Outcome(attempt, DeliveryStatus.DELIVERED, None)
        if self._policy.gives_up_after(number):
            return Outcome(attempt, DeliveryStatus.FAILED, None)
        return Outcome(attempt, DeliveryStatus.PENDING,
                       attempt.at + self._policy.delay(number, self._rng))

    async def aclose(self) -> None:
        await self._transport.aclose()
