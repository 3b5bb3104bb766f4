"""Per-key and per-address request limits: 429 with ``Retry-After`` when a bucket is empty.

A request with an API key spends from its key's bucket; an anonymous one from
its client address's bucket (unless the address is in an exempt network, such
as loopback in development). Probes and metrics are never limited.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable, Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from relayer.api.auth import PRINCIPAL_KEY, security_error_response
from relayer.clock import Clock
from relayer.config import RateLimitSettings
from relayer.security.errors import RateLimited
from relayer.security.principal import Principal
from relayer.security.ratelimit import RateLimiter

UNLIMITED_PREFIXES = ("/health", "/metrics")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, *, settings: RateLimitSettings, clock: Clock,
                 on_limited: Callable[[str], None] | None = None) -> None:
        self.app = app
        self._by_ip = RateLimiter(rate=settings.per_ip_rate, burst=settings.per_ip_burst,
                                  clock=clock)
        self._by_key = RateLimiter(rate=settings.per_key_rate, burst=settings.per_key_burst,
                                   clock=clock)
        self._exempt = _networks(settings.exempt_networks)
        self._on_limited = on_limited

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNLIMITED_PREFIXES):
            await self.app(scope, receive, send)
            return
        principal = scope.get(PRINCIPAL_KEY)
        wait = 0.0
        kind = ""
        if isinstance(principal, Principal):
            kind = "key"
            wait = self._by_key.take(principal.key_id)
        else:
            client = scope.get("client")
            host = client[0] if client else ""
            if not self._is_exempt(host):
                kind = "ip"
                wait = self._by_ip.take(host)
        if wait <= 0.0:
            await self.app(scope, receive, send)
            return
        if self._on_limited is not None:
            self._on_limited(kind)
        retry_after = max(1, math.ceil(wait))
        who = "API key" if kind == "key" else "address"
        error = RateLimited(f"too many requests for this {who}; retry after {retry_after} s",
                            retry_after=retry_after, limit=kind)
        await security_error_response(error)(scope, receive, send)

    def _is_exempt(self, host: str) -> bool:
        if not self._exempt or not host:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self._exempt)


def _networks(texts: Iterable[str]) -> list[Network]:
    return [ipaddress.ip_network(text, strict=False) for text in texts]
