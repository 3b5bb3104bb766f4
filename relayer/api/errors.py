"""Every error answers ``{"error_code", "message", "details"}`` with a stable code."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
import structlog
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope

from relayer.errors import (
    ChainError,
    ConfigError,
    ConflictError,
    NotFoundError,
    RelayerError,
    StoreError,
    ValidationError,
)

log = structlog.get_logger(__name__)

_STATUS_BY_CLASS: list[tuple[type[RelayerError], int]] = [
    (NotFoundError, 404),
    (ConflictError, 409),
    (ValidationError, 400),
    (StoreError, 503),
    (ChainError, 503),
    (ConfigError, 500),
]
_STATUS_BY_CODE = {"BODY_TOO_LARGE": 413, "UNSUPPORTED_MEDIA_TYPE": 415}
_HTTP_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "BODY_TOO_LARGE"}


class ErrorBody(msgspec.Struct):
    error_code: str
    message: str
    details: dict[str, Any]


def status_for(error: RelayerError) -> int:
    if error.code in _STATUS_BY_CODE:
        return _STATUS_BY_CODE[error.code]
    for cls, status in _STATUS_BY_CLASS:
        if isinstance(error, cls):
            return status
    return 500


def error_response(status: int, code: str, message: str,
                   details: dict[str, Any] | None = None,
                   headers: Mapping[str, str] | None = None) -> Response:
    body = msgspec.json.encode(ErrorBody(error_code=code, message=message, details=details or {}))
    return Response(body, status_code=status, media_type="application/json", headers=headers)


async def on_relayer_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RelayerError)
    status = status_for(exc)
    if status >= 500:
        log.error("request_failed", error_code=exc.code, message=exc.message)
    return error_response(status, exc.code, exc.message, exc.details)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"HTTP_{exc.status_code}")
    headers = exc.headers
    if exc.status_code == 405:
        # Starlette names only the methods of the first route whose path matched; a path
        # served by several routes (GET and POST /api/orders) answers with all of them.
        methods = allowed_methods(request.scope, request.app.routes)
        headers = {**(headers or {}), "Allow": ", ".join(methods)}
        return error_response(405, code, str(exc.detail), {"allowed": methods}, headers)
    return error_response(exc.status_code, code, str(exc.detail), headers=headers)


def allowed_methods(scope: Scope, routes: Iterable[BaseRoute]) -> list[str]:
    """Every method some route serves at the request's path (``HEAD`` only implied by
    ``GET``, as in the OpenAPI document)."""
    methods: set[str] = set()
    for route in routes:
        if isinstance(route, Route) and route.methods:
            match, _ = route.matches(scope)
            if match is not Match.NONE:
                methods.update(route.methods)
    methods.discard("HEAD")
    return sorted(methods)


async def on_unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled_error", path=request.url.path)
    return error_response(500, "INTERNAL_ERROR", "internal error")
