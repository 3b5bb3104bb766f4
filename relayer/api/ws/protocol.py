"""The messages of ``/ws``: requests in, replies and channel messages out.

Every outgoing message is built once as text and shared by all the clients
that receive it; data parts arrive already encoded as JSON bytes.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import msgspec
from msgspec import Meta

# Close codes (RFC 6455 section 7.4.1).
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
"""The server is shutting down."""
CLOSE_TOO_BIG = 1009
"""A client message over ``websocket.max_frame_bytes``."""
CLOSE_INTERNAL = 1011
CLOSE_TRY_AGAIN_LATER = 1013
"""The client did not keep up: its send queue filled or its socket stayed blocked."""
CLOSE_KEY_REVOKED = 4401
"""The connection's API key was revoked (the code a refused handshake key also gets)."""

# Error codes in ``{"id", "error": {"code", "message"}}`` replies.
MALFORMED_JSON = "MALFORMED_JSON"
INVALID_REQUEST = "INVALID_REQUEST"
UNKNOWN_METHOD = "UNKNOWN_METHOD"
INVALID_PARAMS = "INVALID_PARAMS"
UNKNOWN_CHANNEL = "UNKNOWN_CHANNEL"
UNAUTHORIZED = "UNAUTHORIZED"
FORBIDDEN = "FORBIDDEN"
TOO_MANY_SUBSCRIPTIONS = "TOO_MANY_SUBSCRIPTIONS"
ORDER_NOT_FOUND = "ORDER_NOT_FOUND"
INVALID_CURSOR = "INVALID_CURSOR"
INTERNAL_ERROR = "INTERNAL_ERROR"
RATE_LIMITED = "RATE_LIMITED"

# Server messages outside any request.
UNSUBSCRIBED = "unsubscribed"
"""The server ended a subscription (the key lost the channel's scope)."""

RequestId = int | str | None
T = TypeVar("T")


class RequestError(Exception):
    """A request that gets an error reply; the connection stays open."""

    def __init__(self, code: str, message: str, request_id: RequestId = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


class Request(msgspec.Struct, forbid_unknown_fields=True):
    method: str
    id: RequestId = None
    params: dict[str, Any] = {}


class ChannelParams(msgspec.Struct, forbid_unknown_fields=True):
    channel: Annotated[str, Meta(min_length=1, max_length=80)]


class PageParams(msgspec.Struct, forbid_unknown_fields=True):
    cursor: str | None = None
    limit: Annotated[int, Meta(ge=1, le=500)] = 100


class OrderParams(msgspec.Struct, forbid_unknown_fields=True):
    order_hash: Annotated[str, Meta(pattern=r"^0x[0-9a-fA-F]{64}$")]


class AuthParams(msgspec.Struct, forbid_unknown_fields=True):
    api_key: Annotated[str, Meta(min_length=1, max_length=256)]


_encode = msgspec.json.Encoder().encode
_json = msgspec.json.Decoder()


def decode_request(raw: str | bytes) -> Request:
    try:
        value = _json.decode(raw)
    except msgspec.DecodeError:
        raise RequestError(MALFORMED_JSON, "the message is not JSON") from None
    try:
        return msgspec.convert(value, Request)
    except msgspec.ValidationError as exc:
        request_id = value.get("id") if isinstance(value, dict) else None
        if not isinstance(request_id, int | str):
            request_id = None
        raise RequestError(INVALID_REQUEST, f"not a request: {exc}", request_id) from None


def params_as(request: Request, kind: type[T]) -> T:
    try:
        return msgspec.convert(request.params, kind)
    except msgspec.ValidationError as exc:
        raise RequestError(INVALID_PARAMS, f"{request.method}: {exc}", request.id) from None


def result_message(request_id: RequestId, result: bytes) -> str:
    """``{"id", "result"}`` with ``result`` already JSON."""
    return (b'{"id":' + _encode(request_id) + b',"result":' + result + b"}").decode()


def error_message(request_id: RequestId, code: str, message: str) -> str:
    return _encode({"id": request_id, "error": {"code": code, "message": message}}).decode()


def channel_message(event: str, channel: str, seq: int, data: bytes) -> str:
    """``{"event", "channel", "seq", "data"}``; ``channel`` needs no escaping (checked names)."""
    return channel_payload(event, channel, seq, data).decode()


def channel_payload(event: str, channel: str, seq: int, data: bytes) -> bytes:
    """``channel_message`` as UTF-8 bytes."""
    return (b'{"event":"' + event.encode() + b'","channel":"' + channel.encode()
            + b'","seq":' + str(seq).encode() + b',"data":' + data + b"}")


def revoked_message(event: str, channel: str, code: str, message: str) -> str:
    """``{"event", "channel", "seq": null, "data": {"code", "message"}}``: a message about
    a subscription, not one of the channel's own (so no ``seq``)."""
    return _encode({"event": event, "channel": channel, "seq": None,
                    "data": {"code": code, "message": message}}).decode()


def heartbeat_message(at: int) -> str:
    return '{"event":"heartbeat","channel":null,"seq":null,"data":{"at":' + str(at) + "}}"


def encode(value: Any) -> bytes:
    return _encode(value)
