"""The HTTP middleware stack, outermost first, in one place so its order is deliberate."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute

from relayer.api.auth import AuthMiddleware
from relayer.api.headers import SecurityHeadersMiddleware
from relayer.api.http_metrics import HttpMetricsMiddleware
from relayer.api.limits import BodyLimitMiddleware, RequestLimitsMiddleware
from relayer.api.ratelimit import RateLimitMiddleware, Throttle
from relayer.api.request_id import RequestIdMiddleware
from relayer.clock import Clock
from relayer.config import Settings
from relayer.metrics import Metrics
from relayer.security.keys import KeyRegistry
from relayer.security.signing import SignatureVerifier


def middleware_stack(settings: Settings, *, keys: KeyRegistry, clock: Clock, metrics: Metrics,
                     routes: Sequence[BaseRoute], throttle: Throttle) -> list[Middleware]:
    security = settings.security
    cors = security.cors

    def refused(limit: str) -> None:
        metrics.limit_refusals.labels(limit=limit).inc()

    stack = [
        # Outermost: every response below, refusals included, carries the request id,
        # is counted under its route template and gets the security headers.
        Middleware(RequestIdMiddleware, routes=routes,
                   quiet_reads=settings.log.access == "changes"),
        Middleware(HttpMetricsMiddleware, metrics=metrics, routes=routes),
        Middleware(SecurityHeadersMiddleware, hsts_seconds=security.hsts_seconds),
        # Before anything reads a header: a head too large is refused whole.
        Middleware(RequestLimitsMiddleware, limits=settings.limits, on_refused=refused),
    ]
    if cors.allow_origins:
        # Before auth: a browser's preflight carries no key and must still be answered.
        stack.append(Middleware(
            CORSMiddleware, allow_origins=list(cors.allow_origins),
            allow_methods=list(cors.allow_methods), allow_headers=list(cors.allow_headers),
            expose_headers=["X-Request-ID", "Retry-After"], max_age=cors.max_age))
    stack += [
        Middleware(BodyLimitMiddleware, max_bytes=settings.limits.body_bytes,
                   on_refused=refused),
        # Inside the body limit: a signed request's body is read whole to check its digest.
        # A failure spends from the address's bucket (429 once it is empty).
        Middleware(AuthMiddleware, authenticator=keys,
                   verifier=SignatureVerifier(keys, window=security.signature_window_seconds),
                   clock=clock, require_signatures=security.require_signatures,
                   on_refused=lambda code: metrics.auth_refusals.labels(code=code).inc(),
                   failures=throttle, on_failure=metrics.auth_failed),
    ]
    if security.rate_limit.enabled:
        # After auth: a key's requests count against the key, not the shared address.
        stack.append(Middleware(
            RateLimitMiddleware, throttle=throttle,
            on_limited=lambda limit: metrics.rate_limited.labels(limit=limit).inc()))
    return stack
