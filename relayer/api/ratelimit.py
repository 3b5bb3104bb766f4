"""Per-key and per-address request limits: 429 with ``Retry-After`` when a bucket is empty.

A request with an API key spends from its key's bucket; an anonymous one from
its client address's bucket (unless the address is in an exempt network, such
as loopback in development). Probes and metrics are never limited.

A failed authentication (a bad key or signature, over HTTP, on a WebSocket
handshake or in its ``auth`` method) spends from its address's bucket too, in
exempt networks as well: a flood of wrong keys gets 429 like any flood.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from relayer.api.auth import PRINCIPAL_KEY, client_host, security_error_response
from relayer.clock import Clock
from relayer.config import RateLimitSettings
from relayer.security.principal import Principal
from relayer.security.ratelimit import RateLimiter, rate_limited

UNLIMITED_PREFIXES = ("/health", "/metrics")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Throttle:
    """The buckets, shared by everything that spends from them: the rate-limit
    middleware (each request), the auth middleware and the WebSocket ``auth`` method
    (each failure). Disabled (``rate_limit.enabled = false``), nothing is ever limited."""

    def __init__(self, settings: RateLimitSettings, clock: Clock) -> None:
        self.enabled = settings.enabled
        self._by_ip = RateLimiter(rate=settings.per_ip_rate, burst=settings.per_ip_burst,
                                  clock=clock)
        self._by_key = RateLimiter(rate=settings.per_key_rate, burst=settings.per_key_burst,
                                   clock=clock)
        self._exempt = _networks(settings.exempt_networks)

    def request(self, principal: Principal | None, host: str) -> tuple[str, float]:
        """Spend for one request: the limit it counts against (``key``, ``ip`` or ``""``
        for none) and the seconds to wait (0: go ahead)."""
        if not self.enabled:
            return "", 0.0
        if principal is not None:
            return "key", self._by_key.take(principal.key_id)
        if self._is_exempt(host):
            return "", 0.0
        return "ip", self._by_ip.take(host)

    def failure(self, host: str) -> float:
        """Spend for one failed authentication from ``host``, exempt or not; the seconds
        to wait (0: answer the failure as it is, else 429)."""
        if not self.enabled:
            return 0.0
        return self._by_ip.take(host)

    def _is_exempt(self, host: str) -> bool:
        if not self._exempt or not host:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self._exempt)


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, *, throttle: Throttle,
                 on_limited: Callable[[str], None] | None = None) -> None:
        self.app = app
        self._throttle = throttle
        self._on_limited = on_limited

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNLIMITED_PREFIXES):
            await self.app(scope, receive, send)
            return
        principal = scope.get(PRINCIPAL_KEY)
        kind, wait = self._throttle.request(
            principal if isinstance(principal, Principal) else None, client_host(scope))
        if wait <= 0.0:
            await self.app(scope, receive, send)
            return
        if self._on_limited is not None:
            self._on_limited(kind)
        await security_error_response(rate_limited(kind, wait))(scope, receive, send)


def _networks(texts: Iterable[str]) -> list[Network]:
    return [ipaddress.ip_network(text, strict=False) for text in texts]
