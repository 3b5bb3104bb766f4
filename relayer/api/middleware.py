"""The HTTP middleware stack, outermost first, in one place so its order is deliberate."""

from __future__ import annotations

from starlette.middleware import Middleware

from relayer.api.auth import AuthMiddleware
from relayer.api.limits import BodyLimitMiddleware
from relayer.clock import Clock
from relayer.config import Settings
from relayer.security.keys import KeyRegistry
from relayer.security.signing import SignatureVerifier


def middleware_stack(settings: Settings, *, keys: KeyRegistry, clock: Clock) -> list[Middleware]:
    security = settings.security
    return [
        Middleware(BodyLimitMiddleware, max_bytes=settings.server.max_body_bytes),
        # Inside the body limit: a signed request's body is read whole to check its digest.
        Middleware(AuthMiddleware, authenticator=keys,
                   verifier=SignatureVerifier(keys, window=security.signature_window_seconds),
                   clock=clock, require_signatures=security.require_signatures),
    ]
