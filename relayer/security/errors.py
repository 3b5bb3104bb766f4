"""Refusals of the security layer, each with a stable code and its HTTP status."""

from __future__ import annotations

from typing import Any

from relayer.errors import RelayerError


class SecurityError(RelayerError):
    """Root of the refusals answered before (or instead of) a route's own work."""

    http_status = 401
    default_code = "AUTH_INVALID"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="relayer"'} if self.http_status == 401 else {}


class AuthRequired(SecurityError):
    default_code = "AUTH_REQUIRED"


class AuthInvalid(SecurityError):
    default_code = "AUTH_INVALID"


class SignatureRequired(SecurityError):
    default_code = "SIGNATURE_REQUIRED"


class SignatureInvalid(SecurityError):
    default_code = "SIGNATURE_INVALID"


class SignatureStale(SecurityError):
    default_code = "SIGNATURE_STALE"


class SignatureReplayed(SecurityError):
    default_code = "SIGNATURE_REPLAYED"


class ForbiddenScope(SecurityError):
    http_status = 403
    default_code = "FORBIDDEN_SCOPE"


class RateLimited(SecurityError):
    http_status = 429
    default_code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: int, limit: str,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details={"retry_after": retry_after, "limit": limit,
                                           **(details or {})})
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}
