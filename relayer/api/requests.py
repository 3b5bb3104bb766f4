"""Reading request bodies and query parameters into typed values, or stable errors."""

from __future__ import annotations

from typing import TypeVar

import msgspec
from starlette.requests import Request

from relayer.errors import ValidationError
from relayer.integers import U63_MAX, parse_int

T = TypeVar("T")


async def read_json(request: Request, decoder: msgspec.json.Decoder[T]) -> T:
    content_type = request.headers.get("content-type", "application/json")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise ValidationError("send the body as application/json",
                              code="UNSUPPORTED_MEDIA_TYPE")
    body = await request.body()
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise ValidationError(f"invalid field: {exc}", code="INVALID_FIELD",
                              details={"error": str(exc)}) from None
    except msgspec.DecodeError as exc:
        raise ValidationError(f"malformed JSON: {exc}", code="MALFORMED_JSON") from None


def int_param(request: Request, name: str, *, default: int | None = None,
              minimum: int = 0, maximum: int = U63_MAX) -> int:
    """A query parameter read by the one strict integer parser (``relayer.integers``)."""
    raw = request.query_params.get(name)
    if raw is None:
        if default is None:
            raise ValidationError(f"query parameter {name} is required",
                                  code="INVALID_PARAMETER", details={"parameter": name})
        return default
    return parse_int(raw, field=name, minimum=minimum, maximum=maximum)


def str_param(request: Request, name: str, *, required: bool = False) -> str | None:
    raw = request.query_params.get(name)
    if raw is None and required:
        raise ValidationError(f"query parameter {name} is required",
                              code="INVALID_PARAMETER", details={"parameter": name})
    return raw
