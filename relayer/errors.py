"""The project's errors: one root and a small tree.

Every error carries a stable machine-readable ``code``; the API maps the class
to an HTTP status and answers ``{"error_code", "message", "details"}``.
"""

from __future__ import annotations

from typing import Any


class RelayerError(Exception):
    """Root of every error the relayer raises on purpose."""

    default_code = "INTERNAL_ERROR"

    def __init__(
        self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details: dict[str, Any] = details or {}


class ValidationError(RelayerError):
    """Input that can never be accepted as sent."""

    default_code = "VALIDATION_ERROR"


class SignatureError(ValidationError):
    default_code = "INVALID_SIGNATURE"


class ConfigError(RelayerError):
    """A bad configuration value; the message names the key."""

    default_code = "CONFIG_ERROR"


class NotFoundError(RelayerError):
    default_code = "NOT_FOUND"


class ConflictError(RelayerError):
    """The request clashes with what is stored (a duplicate, a stale version)."""

    default_code = "CONFLICT"


class TransitionError(ConflictError):
    """A status change the transition table does not allow."""

    default_code = "ILLEGAL_TRANSITION"


class StoreError(RelayerError):
    """The store could not durably do what was asked."""

    default_code = "STORE_UNAVAILABLE"


class ChainError(RelayerError):
    """A chain could not be reached or answered nonsense."""

    default_code = "CHAIN_UNAVAILABLE"
