"""The HTTP middleware stack, outermost first, in one place so its order is deliberate."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute

from relayer.api.auth import AuthMiddleware
from relayer.api.headers import SecurityHeadersMiddleware
from relayer.api.http_metrics import HttpMetricsMiddleware
from relayer.api.limits import BodyLimitMiddleware
from relayer.api.ratelimit import RateLimitMiddleware
from relayer.api.request_id import RequestIdMiddleware
from relayer.clock import Clock
from relayer.config import Settings
from relayer.metrics import Metrics
from relayer.security.keys import KeyRegistry
from relayer.security.signing import SignatureVerifier


def middleware_stack(settings: Settings, *, keys: KeyRegistry, clock: Clock, metrics: Metrics,
                     routes: Sequence[BaseRoute]) -> list[Middleware]:
    security = settings.security
    cors = security.cors
    stack = [
        # Outermost: every response below, refusals included, carries the request id,
        # is counted under its route template and gets the security headers.
        Middleware(RequestIdMiddleware, routes=routes),
        Middleware(HttpMetricsMiddleware, metrics=metrics, routes=routes),
        Middleware(SecurityHeadersMiddleware, hsts_seconds=security.hsts_seconds),
    ]
    if cors.allow_origins:
        # Before auth: a browser's preflight carries no key and must still be answered.
        stack.append(Middleware(
            CORSMiddleware, allow_origins=list(cors.allow_origins),
            allow_methods=list(cors.allow_methods), allow_headers=list(cors.allow_headers),
            expose_headers=["X-Request-ID", "Retry-After"], max_age=cors.max_age))
    stack += [
        Middleware(BodyLimitMiddleware, max_bytes=settings.server.max_body_bytes),
        # Inside the body limit: a signed request's body is read whole to check its digest.
        Middleware(AuthMiddleware, authenticator=keys,
                   verifier=SignatureVerifier(keys, window=security.signature_window_seconds),
                   clock=clock, require_signatures=security.require_signatures,
                   on_refused=lambda code: metrics.auth_refusals.labels(code=code).inc()),
    ]
    if security.rate_limit.enabled:
        # After auth: a key's requests count against the key, not the shared address.
        stack.append(Middleware(
            RateLimitMiddleware, settings=security.rate_limit, clock=clock,
            on_limited=lambda limit: metrics.rate_limited.labels(limit=limit).inc()))
    return stack
